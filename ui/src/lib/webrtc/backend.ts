/**
 * The native side of the WebRTC shim: `crates/media` behind the app's `media_*` commands
 * (src-tauri/src/media.rs). One `open` is one native call (one shim RTCPeerConnection); its events arrive on
 * the callback given to `open`, serialized as `{ event, data }` by `tsunagi_media::EndpointEvent`.
 */
import { Channel, invoke } from '@tauri-apps/api/core';

/** A microphone or speaker as the engine lists it (`tsunagi_media::audio::DeviceInfo`). */
export interface NativeDevice {
  id: string;
  label: string;
  kind: 'input' | 'output';
  isDefault: boolean;
}

export type IceState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'closed';
export type CodecKind = 'pcmu' | 'opus';

/** `tsunagi_media::CallStats`. */
export interface NativeStats {
  codec: CodecKind | null;
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  loss: number | null;
  jitterMs: number;
  rttMs: number | null;
  mos: number | null;
  concealed: number;
  late: number;
  jitterBufferMs: number;
  inputLevel: number;
  outputLevel: number;
  warnings: string[];
}

/** A sound device problem during a call (`tsunagi_media::device::DeviceEvent`): shown to the agent. */
export type DeviceProblem =
  | { type: 'lost'; kind: 'input' | 'output'; label: string; message: string; fallback: string | null }
  | { type: 'unavailable'; kind: 'input' | 'output'; message: string }
  | { type: 'restored'; kind: 'input' | 'output'; label: string };

/** `tsunagi_media::EndpointEvent`. */
export type NativeEvent =
  | { event: 'iceState'; data: IceState }
  | { event: 'connected' }
  | { event: 'stats'; data: NativeStats }
  | { event: 'warning'; data: { warning: string; raised: boolean } }
  | { event: 'device'; data: DeviceProblem }
  | { event: 'closed' };

/** `tsunagi_media::aec::Processing`: the microphone processing of one call. */
export interface Processing {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
}

export interface OpenOptions {
  /** Microphone id (`undefined`/`'default'`: the system's). */
  input?: string;
  /** Speaker id (`undefined`/`'default'`: the system's). */
  output?: string;
  /** Codecs in preference order (from `setCodecPreferences`). */
  codecs?: CodecKind[];
  /** The remote's address, when known: the local address is the one the OS routes towards it. */
  remote?: string;
  /** Microphone processing (`undefined`: everything on). */
  processing?: Processing;
}

export interface MediaBackend {
  devices(): Promise<NativeDevice[]>;
  open(options: OpenOptions, onEvent: (event: NativeEvent) => void): Promise<number>;
  createOffer(id: number): Promise<string>;
  acceptAnswer(id: number, sdp: string): Promise<void>;
  acceptOffer(id: number, sdp: string): Promise<string>;
  setMuted(id: number, muted: boolean): Promise<void>;
  /** Moves a running call to another microphone and/or speaker (`undefined`: keep; `'default'`: the system's). */
  setDevices(id: number, devices: { input?: string; output?: string }): Promise<void>;
  stats(id: number): Promise<NativeStats>;
  close(id: number): Promise<void>;
}

/**
 * The diagnostics' microphone test on the engine (`media_mic_test`): listens to the microphone `input`
 * (empty/`undefined`: the system's) for `ms`, calls `onLevel` (RMS, 0..1) every 100 ms and resolves to the peak;
 * rejects with `{ kind, message }`, `kind` being `NotFoundError` (not connected) or `NotReadableError` (cannot be
 * opened, or stopped working).
 */
export function nativeMicTest(input: string | undefined, ms: number, onLevel: (level: number) => void): Promise<number> {
  return invoke<number>('media_mic_test', { input: input || null, ms, onLevel: new Channel<number>(onLevel) });
}

/** The backend over Tauri IPC. */
export function tauriBackend(): MediaBackend {
  return {
    devices: () => invoke<NativeDevice[]>('media_devices'),
    open: (options, onEvent) =>
      invoke<number>('media_open', {
        input: options.input ?? null,
        output: options.output ?? null,
        codecs: options.codecs ?? null,
        remote: options.remote ?? null,
        processing: options.processing ?? null,
        onEvent: new Channel<NativeEvent>(onEvent),
      }),
    createOffer: (id) => invoke<string>('media_create_offer', { id }),
    acceptAnswer: (id, sdp) => invoke<void>('media_accept_answer', { id, sdp }),
    acceptOffer: (id, sdp) => invoke<string>('media_accept_offer', { id, sdp }),
    setMuted: (id, muted) => invoke<void>('media_set_muted', { id, muted }),
    setDevices: (id, devices) => invoke<void>('media_set_devices', { id, input: devices.input ?? null, output: devices.output ?? null }),
    stats: (id) => invoke<NativeStats>('media_stats', { id }),
    close: async (id) => {
      await invoke<number>('media_close', { id });
    },
  };
}
