/**
 * What the screens show, folded from the core's events: presence, the ringing calls, the current call and its
 * wrap-up, the connection and the last error. It only records what the core decided; it decides nothing.
 */
import type { Activity, CallPhase, ConnectionState, CoreEvent, Crm, OutgoingStage, PresenceState, Target, TransferFailure, TransferMode, TransferStage } from './core-client';

export interface Ring {
  target: Target;
  caller?: string;
  crm?: Crm;
}

export interface Call {
  target: Target;
  phase: CallPhase;
  muted: boolean;
  onHold: boolean;
  /** The customer's number: who called, or whom the agent dialled. */
  caller?: string;
  crm?: Crm;
  /** The agent dialled this call. */
  outgoing?: boolean;
  /** When the call connected (this computer's clock, ms), for the call timer. */
  connectedAt?: number;
  /** An outgoing call: whether the customer answered yet (Hold waits for it). */
  customer?: OutgoingStage;
  /** The latest news of a transfer of this call (a new object per event). */
  transfer?: { mode: TransferMode; stage: TransferStage; reason?: TransferFailure };
}

export interface SessionState {
  presence: PresenceState;
  selected: Activity;
  rings: Ring[];
  call: Call | null;
  taskRouter: ConnectionState | null;
  updateRequired: boolean;
  error: { kind: string; messageJa: string; messageEn: string } | null;
}

export const initialSession = (presence: PresenceState = 'offline', selected: Activity = 'offline'): SessionState => ({
  presence,
  selected,
  rings: [],
  call: null,
  taskRouter: null,
  updateRequired: false,
  error: null,
});

export const sameTarget = (a: Target, b: Target) => a.kind === b.kind && a.sid === b.sid;

/** The next state after `event`; `now` (ms) stamps when a call connects. */
export function apply(state: SessionState, event: CoreEvent, now: number = Date.now()): SessionState {
  switch (event.type) {
    case 'presence':
      return { ...state, presence: event.state, selected: event.selected };
    case 'ringing':
      if (state.rings.some((r) => sameTarget(r.target, event.target))) return state;
      return { ...state, rings: [...state.rings, { target: event.target, caller: event.caller, crm: event.crm }] };
    case 'ringUpdated':
      return {
        ...state,
        rings: state.rings.map((r) =>
          sameTarget(r.target, event.target)
            ? { ...r, caller: event.caller ?? r.caller, crm: event.crm ?? r.crm }
            : r,
        ),
      };
    case 'ringStopped': {
      const ring = state.rings.find((r) => sameTarget(r.target, event.target));
      const rings = state.rings.filter((r) => !sameTarget(r.target, event.target));
      // An answered ring becomes the call: keep who is calling for the call screen.
      const call =
        event.reason === 'answered' && ring && (!state.call || sameTarget(state.call.target, ring.target))
          ? { target: ring.target, phase: 'connecting' as const, muted: false, onHold: false, ...state.call, caller: ring.caller, crm: ring.crm }
          : state.call;
      return { ...state, rings, call };
    }
    case 'dialing':
      return {
        ...state,
        call: { target: event.target, phase: 'connecting', muted: false, onHold: false, caller: event.to, outgoing: true },
      };
    case 'callState': {
      if (event.phase === 'ended') {
        return state.call && sameTarget(state.call.target, event.target) ? { ...state, call: null } : state;
      }
      const previous = state.call && sameTarget(state.call.target, event.target) ? state.call : null;
      const connectedAt = previous?.connectedAt ?? (event.phase === 'connected' ? now : undefined);
      return {
        ...state,
        call: { ...previous, target: event.target, phase: event.phase, muted: event.muted, onHold: event.onHold, connectedAt },
      };
    }
    case 'callContext':
      // The server's word on an answered call: fills in the customer (the call screen shows it as it arrives).
      return state.call && sameTarget(state.call.target, event.target) && event.crm
        ? { ...state, call: { ...state.call, crm: { ...state.call.crm, ...event.crm } } }
        : state;
    case 'connection':
      return event.socket === 'taskRouter' ? { ...state, taskRouter: event.state } : state;
    case 'updateRequired':
      return { ...state, updateRequired: true };
    case 'transfer':
      return state.call && sameTarget(state.call.target, event.target)
        ? { ...state, call: { ...state.call, transfer: { mode: event.mode, stage: event.stage, reason: event.reason } } }
        : state;
    case 'outgoing':
      return state.call && sameTarget(state.call.target, event.target) ? { ...state, call: { ...state.call, customer: event.stage } } : state;
    case 'roster':
      // The team view's data, not this agent's session.
      return state;
    case 'error':
      return { ...state, error: { kind: event.kind, messageJa: event.messageJa, messageEn: event.messageEn } };
  }
}
