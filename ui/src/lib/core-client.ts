/**
 * The one typed client between the UI and the Rust side: every command and event the screens use goes through
 * here, never through `invoke` directly. A `Transport` carries it: Tauri IPC in the app; the loopback WebSocket
 * transport for Chromium joins later with the same JSON (DESIGN.md §5).
 */
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Lang } from './i18n.svelte';

export type Presence = 'available' | 'away' | 'break' | 'offline';
export const PRESENCES: readonly Presence[] = ['available', 'away', 'break', 'offline'];

export interface Snapshot {
  presence: Presence;
}

export interface AppInfo {
  version: string;
  tauriVersion: string;
  os: string;
}

export type ChangeSource = 'window' | 'tray';

/** Mirrors `AppEvent` in src-tauri/src/events.rs (serde tag `type`, camelCase). */
export type AppEvent = { type: 'presence'; presence: Presence; source: ChangeSource };

/** The Rust event channel every `AppEvent` arrives on (`EVENT_NAME` in events.rs). */
export const EVENT_NAME = 'tsunagi:event';

/** Commands by name: their arguments and results (mirrors src-tauri/src/commands.rs). */
interface Commands {
  app_info: { args: Record<string, never>; result: AppInfo };
  get_state: { args: Record<string, never>; result: Snapshot };
  set_presence: { args: { presence: Presence }; result: Snapshot };
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

function isAppEvent(payload: unknown): payload is AppEvent {
  if (typeof payload !== 'object' || payload === null) return false;
  const p = payload as Record<string, unknown>;
  return p.type === 'presence' && PRESENCES.includes(p.presence as Presence);
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

  setPresence(presence: Presence): Promise<Snapshot> {
    return this.call('set_presence', { presence });
  }

  /** Tells the Rust side the UI's language, so the tray menu speaks it too. */
  async setLanguage(lang: Lang): Promise<void> {
    await this.call('set_language', { lang });
  }

  /** Calls `onEvent` for every well-formed event; anything else is dropped with a console warning. */
  onEvent(onEvent: (event: AppEvent) => void): Promise<() => void> {
    return this.transport.listen((payload) => {
      if (isAppEvent(payload)) onEvent(payload);
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
