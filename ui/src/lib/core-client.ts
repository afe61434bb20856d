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

/** A routed call (by TaskSid), a direct call (by CallSid) or an outgoing call (by the core's attempt UUID). */
export type Target = { kind: 'task'; sid: string } | { kind: 'call'; sid: string } | { kind: 'outgoing'; sid: string };
export interface Crm {
  customerId?: string;
  customerName?: string;
  /** The agent in charge of this customer (担当), from the server's call context. */
  ownerId?: string;
  ownerName?: string;
  /** The customer's department (部署). */
  departmentId?: string;
  departmentName?: string;
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
  | { type: 'dialing'; target: Target; to: string }
  | { type: 'callState'; target: Target; phase: CallPhase; muted: boolean; onHold: boolean }
  | { type: 'callContext'; target: Target; conference?: string; crm?: Crm }
  | { type: 'presence'; state: PresenceState; selected: Activity }
  | { type: 'connection'; socket: SocketKind; state: ConnectionState }
  | { type: 'updateRequired'; minSupported?: string }
  | { type: 'roster'; agents: RosterAgent[] }
  | { type: 'transfer'; target: Target; mode: TransferMode; stage: TransferStage; reason?: TransferFailure }
  | { type: 'outgoing'; target: Target; stage: OutgoingStage }
  | { type: 'error'; kind: string; messageJa: string; messageEn: string };

/** Where a transfer of the agent's call stands (the server's `transfer.*` pushes, through the core). */
export type TransferStage = 'dialing' | 'connected' | 'completed' | 'failed';
/** The customer's side of an outgoing call: their phone rings until they answer (the agent's leg connects first). */
export type OutgoingStage = 'ringing' | 'answered';
/** Why a transfer failed. */
export type TransferFailure = 'busy' | 'noAnswer' | 'unreachable' | 'canceled' | 'targetLeft' | 'other';

export type CoreCommand =
  | { command: 'logout' }
  | { command: 'setPresence'; activity: Activity }
  | { command: 'answer' | 'reject' | 'hangup' | 'hold' | 'unhold' | 'mute' | 'unmute'; target: Target }
  | { command: 'sendDigits'; target: Target; digits: string }
  | { command: 'transfer'; target: Target; to: TransferTo; mode: TransferMode }
  | { command: 'completeWrapup'; task: string }
  | { command: 'dial'; to: string };

/** Where a call is transferred to (the core's `TransferTo`). */
export type TransferTo = { kind: 'worker'; worker: string } | { kind: 'number'; number: string };
export type TransferMode = 'cold' | 'warm';
export type TransferStep = 'complete' | 'cancel';
export type SuperviseMode = 'monitor' | 'coach' | 'barge';

/** One agent of the server's roster. */
export interface RosterAgent {
  agentId: string;
  displayName: string;
  departmentId: string | null;
  workerSid: string | null;
  /** TaskRouter activity name: `Available`, `Away`, `Break`, `Offline`, … (`Unknown` before the first event). */
  activity: string;
  sinceMs: number;
  /** The call the agent is on now, as the server's roster says (absent when none, or from an older server). */
  onCall?: { direction: 'inbound' | 'outbound' | 'other'; taskSid?: string };
}

/** One agent of the transfer directory (`GET /v1/agents/directory`). */
export interface DirectoryAgent {
  agentId: string;
  displayName: string;
  departmentId: string | null;
  workerSid: string | null;
  activity: string;
  /** Takes calls now; the others are listed greyed out. */
  available: boolean;
}

/** One page of the agent's own history; `nextBefore` asks for the next (older) page, null when there is none. */
export interface HistoryPage {
  calls: CallLine[];
  nextBefore: number | null;
}

/** The longest wrap-up note the server keeps (Unicode characters). */
export const MAX_NOTES = 2000;

/** One interaction of the server's call report. */
export interface CallLine {
  taskSid: string;
  createdAt: string;
  customerId: string | null;
  agentId: string | null;
  status: 'queued' | 'reserved' | 'connected' | 'ended' | 'completed' | 'abandoned' | string;
  answered: boolean;
  handleSecs: number | null;
  /** The agent's wrap-up notes, if any. */
  notes?: string | null;
}

export type Service = 'server' | 'taskRouter' | 'sync' | 'voice';
export type Check = { service: Service; url: string | null } & (
  | { outcome: 'reached'; latencyMs: number; status: number }
  | { outcome: 'failed'; error: string }
  | { outcome: 'notUsed' }
);
export interface TokenFacts {
  account: string;
  apiKey: string;
  identity: string | null;
  expiresUnix: number;
  voiceIncoming: boolean;
  outgoingApplication: string | null;
  workspace: string | null;
  worker: string | null;
}
export interface Diagnosis {
  checks: Check[];
  token: TokenFacts | null;
}

/** Who signed in. */
/** Why the sign-in cannot be kept in the OS keychain (src-tauri/src/keychain.rs `KeychainError`). */
export interface KeychainProblem {
  kind: 'keychainUnavailable' | 'keychainLocked' | 'keychainFailed';
  message: string;
}

/** Why the server ended the sign-in (src-tauri/src/agent.rs `SESSION_ENDED_EVENT_NAME`): back to the sign-in screen. */
export interface SessionEnded {
  kind: 'refreshInvalid' | 'refreshReused';
  message: string;
}

export interface Profile {
  id: string;
  displayName: string;
  role: string;
}

/** Where the Voice `Device` signals: Twilio's edge, or a replacement URL (the local stand-in). */
export interface VoiceSettings {
  edge: string;
  signaling: string | null;
}

/** What to draw after a (re)load. */
export interface Snapshot {
  profile: Profile | null;
  presence: PresenceState;
  selected: Activity;
  serverUrl: string;
  voice: VoiceSettings;
}

/** A Voice SDK action the core asks of the webview's `Device` (mirrors `DeviceCommand` in src-tauri/src/agent.rs). */
export type DeviceCommand =
  | { type: 'accept' | 'reject' | 'disconnect'; call: string }
  | { type: 'mute'; call: string; muted: boolean }
  | { type: 'sendDigits'; call: string; digits: string }
  | { type: 'connect'; to: string; attempt: string };

/** A Voice SDK event the webview reports (mirrors `DeviceReport` in src-tauri/src/agent.rs). */
export type DeviceReport =
  | { type: 'incoming'; call: string; customParameters: Record<string, string>; from: string | null }
  | { type: 'canceled' | 'accepted' | 'disconnected'; call: string }
  /** `reason`: what failed, for the app's log (the next failure says why). */
  | { type: 'acceptFailed'; call: string; reason?: string }
  | { type: 'muted'; call: string; muted: boolean }
  | { type: 'outgoing'; call: string; attempt: string }
  | { type: 'outgoingFailed'; attempt: string }
  /** The SDK raised or cleared a call quality warning (`high-rtt`, `low-mos`…): for the app's log only. */
  | { type: 'qualityWarning'; call: string; warning: string; raised: boolean };

/**
 * The self-update's state (mirrors `UpdateView` in src-tauri/src/updater/mod.rs). `required`: the server no
 * longer supports this version (a 426, or its policy): the window shows "update required" with one button.
 */
export type UpdateStatus = (
  | { state: 'idle' | 'checking' | 'upToDate' }
  | { state: 'downloading' | 'ready'; version: string; notes: string | null; mandatory: boolean }
  | { state: 'waiting' | 'installing'; version: string }
  | { state: 'failed'; kind: string; message: string }
) & { required?: boolean };

/** Why there is no global answer/hang-up key (mirrors `Reason` in src-tauri/src/shortcut.rs). */
export type ShortcutReason = 'noDisplay' | 'noSessionBus' | 'noPortal' | 'portalWithoutShortcuts' | 'refused' | 'portalFailed' | 'grabFailed';

/** The answer/hang-up key's state (mirrors `ShortcutStatus` in src-tauri/src/shortcut.rs). */
export type ShortcutStatus =
  | { state: 'pending'; via: 'grab' | 'portal' }
  | { state: 'active'; via: 'grab' | 'portal'; trigger: string }
  | { state: 'unavailable'; reason: ShortcutReason; detail: string | null };

export interface AppInfo {
  version: string;
  tauriVersion: string;
  os: string;
}

/** The Rust event channels (src-tauri/src/events.rs, agent.rs): core events, Device commands, fresh tokens. */
export const CHANNELS = {
  event: 'tsunagi:event',
  device: 'tsunagi:device',
  voiceToken: 'tsunagi:voice-token',
  update: 'tsunagi:update',
  signedIn: 'tsunagi:signed-in',
  keychain: 'tsunagi:keychain',
  sessionEnded: 'tsunagi:session-ended',
} as const;
export type Channel = keyof typeof CHANNELS;

/** Commands by name: their arguments and results (mirrors src-tauri/src/commands.rs). */
interface Commands {
  app_info: { args: Record<string, never>; result: AppInfo };
  get_state: { args: Record<string, never>; result: Snapshot };
  login: { args: { login: string; password: string }; result: Profile };
  core_command: { args: { command: CoreCommand }; result: null };
  device_event: { args: { report: DeviceReport }; result: null };
  voice_token: { args: Record<string, never>; result: string | null };
  set_language: { args: { lang: Lang }; result: null };
  roster: { args: Record<string, never>; result: RosterAgent[] };
  supervise: { args: { task: string; mode: SuperviseMode }; result: null };
  transfer_step: { args: { task: string; step: TransferStep }; result: null };
  call_history: { args: { from: number; to: number }; result: CallLine[] };
  agents_directory: { args: Record<string, never>; result: DirectoryAgent[] };
  my_history: { args: { before: number | null }; result: HistoryPage };
  complete_wrapup: { args: { task: string; notes: string }; result: null };
  diagnose: { args: Record<string, never>; result: Diagnosis };
  take_pending_dial: { args: Record<string, never>; result: string | null };
  update_status: { args: Record<string, never>; result: UpdateStatus };
  check_update: { args: Record<string, never>; result: null };
  install_update: { args: Record<string, never>; result: null };
  update_now: { args: Record<string, never>; result: null };
  autostart_enabled: { args: Record<string, never>; result: boolean };
  set_autostart: { args: { enabled: boolean }; result: null };
  shortcut_status: { args: Record<string, never>; result: ShortcutStatus };
}

/** How commands and events travel. */
export interface Transport {
  invoke(command: string, args: Record<string, unknown>): Promise<unknown>;
  /** Subscribes to one event channel; resolves to an unsubscribe function. */
  listen(channel: Channel, onEvent: (payload: unknown) => void): Promise<() => void>;
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
  'dialing',
  'callState',
  'callContext',
  'presence',
  'connection',
  'updateRequired',
  'roster',
  'transfer',
  'outgoing',
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

  /** Reports a Voice SDK event to the core. */
  async deviceEvent(report: DeviceReport): Promise<void> {
    await this.call('device_event', { report });
  }

  /** The current Access Token for the Voice `Device`, or null before sign-in. */
  voiceToken(): Promise<string | null> {
    return this.call('voice_token', {});
  }

  /** Calls `onCommand` for every Device action the core asks for. */
  onDeviceCommand(onCommand: (command: DeviceCommand) => void): Promise<() => void> {
    return this.transport.listen('device', (payload) => onCommand(payload as DeviceCommand));
  }

  /** Calls `onToken` with every fresh Access Token (the core refreshes it ahead of expiry). */
  onVoiceToken(onToken: (token: string) => void): Promise<() => void> {
    return this.transport.listen('voiceToken', (payload) => {
      const token = (payload as { token?: unknown } | null)?.token;
      if (typeof token === 'string') onToken(token);
    });
  }

  /** Tells the Rust side the UI's language, so the tray menu and notifications speak it too. */
  async setLanguage(lang: Lang): Promise<void> {
    await this.call('set_language', { lang });
  }

  /** The supervisor's roster (`forbidden` for agents). */
  roster(): Promise<RosterAgent[]> {
    return this.call('roster', {});
  }

  /** Monitor, whisper to (coach) or barge into the call of `task`; the supervisor's phone is called in. */
  async supervise(task: string, mode: SuperviseMode): Promise<void> {
    await this.call('supervise', { task, mode });
  }

  /** Completes or cancels a warm transfer. */
  async transferStep(task: string, step: TransferStep): Promise<void> {
    await this.call('transfer_step', { task, step });
  }

  /** The calls created between `from` and `to` (Unix seconds), from the server's report. */
  callHistory(from: number, to: number): Promise<CallLine[]> {
    return this.call('call_history', { from, to });
  }

  /** The agents a call can be transferred to (every other agent, available or not). */
  directory(): Promise<DirectoryAgent[]> {
    return this.call('agents_directory', {});
  }

  /** One page of this agent's own calls, newest first; pass the last page's `nextBefore` for older ones. */
  myHistory(before: number | null = null): Promise<HistoryPage> {
    return this.call('my_history', { before });
  }

  /** Finishes wrap-up with notes kept by the server; refused (`notesTooLong`) leaves the wrap-up open. */
  async completeWrapup(task: string, notes: string): Promise<void> {
    await this.call('complete_wrapup', { task, notes });
  }

  /** Probes the server, TaskRouter and the Voice edge, and reads the current token. */
  diagnose(): Promise<Diagnosis> {
    return this.call('diagnose', {});
  }

  /** The number of a tsunagi://dial/ link opened before sign-in (at most 10 minutes ago), once; `null` if none. */
  takePendingDial(): Promise<string | null> {
    return this.call('take_pending_dial', {});
  }

  /** Where the self-update stands. */
  updateStatus(): Promise<UpdateStatus> {
    return this.call('update_status', {});
  }

  /** Asks for an update check now; the result arrives through {@link onUpdate}. */
  async checkUpdate(): Promise<void> {
    await this.call('check_update', {});
  }

  /** Installs the downloaded update and restarts (refused during a ring, a call or wrap-up). */
  async installUpdate(): Promise<void> {
    await this.call('install_update', {});
  }

  /**
   * The "update required" button: download and verify (if not done yet), install as soon as no ring, call or
   * wrap-up needs the app (status `waiting` meanwhile), restart. Progress arrives through {@link onUpdate}.
   */
  async updateNow(): Promise<void> {
    await this.call('update_now', {});
  }

  /** Whether Tsunagi starts when the agent logs in to the computer. */
  autostartEnabled(): Promise<boolean> {
    return this.call('autostart_enabled', {});
  }

  /** Turns start-at-login on or off. */
  async setAutostart(enabled: boolean): Promise<void> {
    await this.call('set_autostart', { enabled });
  }

  /** Whether the global answer/hang-up key works on this desktop, and why not. */
  shortcutStatus(): Promise<ShortcutStatus> {
    return this.call('shortcut_status', {});
  }

  /** Calls `onSignedIn` when the app resumes a remembered sign-in at start (src-tauri/src/keychain.rs). */
  onSignedIn(onSignedIn: (profile: Profile) => void): Promise<() => void> {
    return this.transport.listen('signedIn', (payload) => onSignedIn(payload as Profile));
  }

  /** Calls `onProblem` when the sign-in cannot be remembered in the OS keychain (the agent signs in each time). */
  onKeychain(onProblem: (problem: KeychainProblem) => void): Promise<() => void> {
    return this.transport.listen('keychain', (payload) => onProblem(payload as KeychainProblem));
  }

  /** Calls `onEnded` when the server ends the sign-in (expired or revoked refresh token): sign in again. */
  onSessionEnded(onEnded: (ended: SessionEnded) => void): Promise<() => void> {
    return this.transport.listen('sessionEnded', (payload) => onEnded(payload as SessionEnded));
  }

  /** Calls `onStatus` whenever the self-update's state changes. */
  onUpdate(onStatus: (status: UpdateStatus) => void): Promise<() => void> {
    return this.transport.listen('update', (payload) => onStatus(payload as UpdateStatus));
  }

  /** Calls `onEvent` for every well-formed event; anything else is dropped with a console warning. */
  onEvent(onEvent: (event: CoreEvent) => void): Promise<() => void> {
    return this.transport.listen('event', (payload) => {
      if (isCoreEvent(payload)) onEvent(payload);
      else console.warn('tsunagi: ignoring an unknown event', payload);
    });
  }
}

/** Tauri IPC: commands via `invoke`, events via the app's one event channel. */
export function tauriTransport(): Transport {
  return {
    invoke: (command, args) => invoke(command, args),
    listen: (channel, onEvent) => listen(CHANNELS[channel], (event) => onEvent(event.payload)),
  };
}

/**
 * The loopback WebSocket transport (src-tauri/src/loopback.rs): the same commands and events as Tauri IPC, for
 * the UI in a browser (browser end-to-end tests with real WebRTC, `npm run dev`). `url` carries the app's token.
 */
export function loopbackTransport(url: string, Socket: typeof WebSocket = WebSocket): Transport {
  const socket = new Socket(url);
  const open = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new CommandError('ipc', 'the loopback transport could not connect')), { once: true });
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let next = 1;
  socket.addEventListener('message', (message) => {
    let data: { id?: number; ok?: unknown; error?: unknown; channel?: string; payload?: unknown };
    try {
      data = JSON.parse(String(message.data));
    } catch {
      return;
    }
    if (typeof data.channel === 'string') {
      for (const listener of listeners.get(data.channel) ?? []) listener(data.payload);
      return;
    }
    const waiting = typeof data.id === 'number' ? pending.get(data.id) : undefined;
    if (!waiting || data.id === undefined) return;
    pending.delete(data.id);
    if ('error' in data) waiting.reject(data.error);
    else waiting.resolve(data.ok ?? null);
  });
  socket.addEventListener('close', () => {
    for (const waiting of pending.values()) waiting.reject(new CommandError('ipc', 'the loopback transport closed'));
    pending.clear();
  });
  return {
    async invoke(command, args) {
      await open;
      const id = next++;
      const reply = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      socket.send(JSON.stringify({ id, command, args }));
      return reply;
    },
    async listen(channel, onEvent) {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set);
      set.add(onEvent);
      return () => set.delete(onEvent);
    },
  };
}
