/**
 * The one typed client between the UI and the Rust side: every command and event the screens use goes through
 * here, never through `invoke` directly. A `Transport` carries it: Tauri IPC in the app; the loopback WebSocket
 * transport for Chromium joins later with the same JSON (DESIGN.md §5).
 *
 * The types mirror the core's one vocabulary (crates/core/src/api.rs): commands tagged `command`, events tagged
 * `type`, camelCase. Wire names never change once released.
 */
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Lang } from './i18n.svelte';

export type Activity = 'available' | 'away' | 'break' | 'offline';
export const ACTIVITIES: readonly Activity[] = ['available', 'away', 'break', 'offline'];
export type PresenceState = Activity | 'busy' | 'wrapUp';

/** A routed call (by TaskSid) or a direct call (by CallSid). */
export type Target = { kind: 'task'; sid: string } | { kind: 'call'; sid: string };
export interface Crm {
  customerId?: string;
  customerName?: string;
}
export type RingStopReason =
  | 'answered'
  | 'rejected'
  | 'callerHungUp'
  | 'canceled'
  | 'rescinded'
  | 'timedOut'
  | 'gone'
  | 'answerFailed'
  | 'notTakingCalls';
export type CallPhase = 'connecting' | 'connected' | 'wrapUp' | 'ended';
export type SocketKind = 'taskRouter' | 'sync' | 'events';
export type ConnectionState =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'reconnecting'; attempt: number; retryInMs: number }
  | { state: 'stopped'; reason: 'loggedOut' | 'tokenExpired' | 'updateRequired' };

export type CoreEvent =
  | { type: 'ringing'; target: Target; task?: string; call?: string; caller?: string; crm?: Crm }
  | { type: 'ringUpdated'; target: Target; call?: string; caller?: string; crm?: Crm }
  | { type: 'ringStopped'; target: Target; reason: RingStopReason }
  | { type: 'callState'; target: Target; phase: CallPhase; muted: boolean; onHold: boolean }
  | { type: 'presence'; state: PresenceState; selected: Activity }
  | { type: 'connection'; socket: SocketKind; state: ConnectionState }
  | { type: 'updateRequired'; minSupported?: string }
  | { type: 'error'; kind: string; messageJa: string; messageEn: string };

export type CoreCommand =
  | { command: 'logout' }
  | { command: 'setPresence'; activity: Activity }
  | { command: 'answer' | 'reject' | 'hangup' | 'hold' | 'unhold' | 'mute' | 'unmute'; target: Target }
  | { command: 'sendDigits'; target: Target; digits: string }
  | { command: 'completeWrapup'; task: string };

/** Who signed in. */
export interface Profile {
  id: string;
  displayName: string;
  role: string;
}

/** What to draw after a (re)load. */
export interface Snapshot {
  profile: Profile | null;
  presence: PresenceState;
  selected: Activity;
  serverUrl: string;
}

export interface AppInfo {
  version: string;
  tauriVersion: string;
  os: string;
}

/** The Rust event channel every core event arrives on (`EVENT_NAME` in src-tauri/src/events.rs). */
export const EVENT_NAME = 'tsunagi:event';

/** Commands by name: their arguments and results (mirrors src-tauri/src/commands.rs). */
interface Commands {
  app_info: { args: Record<string, never>; result: AppInfo };
  get_state: { args: Record<string, never>; result: Snapshot };
  login: { args: { login: string; password: string }; result: Profile };
  core_command: { args: { command: CoreCommand }; result: null };
  set_language: { args: { lang: Lang }; result: null };
}

/** How commands and events travel. */
export interface Transport {
  invoke(command: string, args: Record<string, unknown>): Promise<unknown>;
  /** Subscribes to the event channel; resolves to an unsubscribe function. */
  listen(onEvent: (payload: unknown) => void): Promise<() => void>;
}

/** A command the Rust side refused, with its stable `kind` (see `AppError` in src-tauri/src/error.rs). */
export class CommandError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }

  /** Turns whatever a transport rejected with into a `CommandError`. */
  static from(reason: unknown): CommandError {
    if (reason instanceof CommandError) return reason;
    if (typeof reason === 'object' && reason !== null && 'kind' in reason && 'message' in reason) {
      return new CommandError(String(reason.kind), String(reason.message));
    }
    // Tauri rejects with a bare string when the arguments could not be deserialized.
    return new CommandError('ipc', reason instanceof Error ? reason.message : String(reason));
  }
}

const EVENT_TYPES = new Set([
  'ringing',
  'ringUpdated',
  'ringStopped',
  'callState',
  'presence',
  'connection',
  'updateRequired',
  'error',
]);

function isCoreEvent(payload: unknown): payload is CoreEvent {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    EVENT_TYPES.has(String((payload as { type?: unknown }).type))
  );
}

export class CoreClient {
  constructor(private readonly transport: Transport) {}

  private async call<C extends keyof Commands>(command: C, args: Commands[C]['args']): Promise<Commands[C]['result']> {
    try {
      return (await this.transport.invoke(command, args)) as Commands[C]['result'];
    } catch (reason) {
      throw CommandError.from(reason);
    }
  }

  appInfo(): Promise<AppInfo> {
    return this.call('app_info', {});
  }

  getState(): Promise<Snapshot> {
    return this.call('get_state', {});
  }

  login(login: string, password: string): Promise<Profile> {
    return this.call('login', { login, password });
  }

  async send(command: CoreCommand): Promise<void> {
    await this.call('core_command', { command });
  }

  /** Tells the Rust side the UI's language, so the tray menu and notifications speak it too. */
  async setLanguage(lang: Lang): Promise<void> {
    await this.call('set_language', { lang });
  }

  /** Calls `onEvent` for every well-formed event; anything else is dropped with a console warning. */
  onEvent(onEvent: (event: CoreEvent) => void): Promise<() => void> {
    return this.transport.listen((payload) => {
      if (isCoreEvent(payload)) onEvent(payload);
      else console.warn('tsunagi: ignoring an unknown event', payload);
    });
  }
}

/** Tauri IPC: commands via `invoke`, events via the app's one event channel. */
export function tauriTransport(): Transport {
  return {
    invoke: (command, args) => invoke(command, args),
    listen: (onEvent) => listen(EVENT_NAME, (event) => onEvent(event.payload)),
  };
}
