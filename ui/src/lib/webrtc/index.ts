/**
 * The WebRTC shim for webviews without WebRTC (Debian's WebKitGTK, specs/tauri-platform.md §3): the objects
 * `@twilio/voice-sdk` 2.18.5 takes through its public Device options (`RTCPeerConnection`, `getUserMedia`,
 * `enumerateDevices`, `MediaStream`), plus the two globals it reaches directly (`RTCSessionDescription`,
 * `RTCRtpReceiver.getCapabilities`), installed only where they are missing. Audio runs natively in
 * `crates/media` (src-tauri/src/media.rs); the SDK is not patched. The surface it uses is listed in README.md
 * and logged by webrtc.sdk.test.ts.
 */
import { tauriBackend, type DeviceProblem, type MediaBackend } from './backend';
import { ShimMediaStream, makeEnumerateDevices, makeGetUserMedia } from './media';
import { ShimRTCPeerConnection, ShimRTCRtpReceiver, ShimRTCSessionDescription, type ShimContext } from './peerconnection';

export type { DeviceProblem, MediaBackend } from './backend';
export { ShimMediaStream, ShimMediaStreamTrack } from './media';
export { ShimRTCPeerConnection } from './peerconnection';

/**
 * Whether this webview needs the shim: no `RTCPeerConnection`, and the app says its native engine is on (its
 * init script sets `__TSUNAGI_NATIVE_AUDIO__`; `TSUNAGI_NATIVE_AUDIO=off` turns it off).
 */
export function needsShim(): boolean {
  const g = globalThis as { RTCPeerConnection?: unknown; __TSUNAGI_NATIVE_AUDIO__?: unknown };
  return typeof g.RTCPeerConnection === 'undefined' && g.__TSUNAGI_NATIVE_AUDIO__ === true;
}

/** The Voice SDK `Device` options that carry the shim. */
export interface ShimOverrides {
  RTCPeerConnection: new (configuration?: RTCConfiguration) => ShimRTCPeerConnection;
  getUserMedia: ReturnType<typeof makeGetUserMedia>;
  enumerateDevices: ReturnType<typeof makeEnumerateDevices>;
  MediaStream: typeof ShimMediaStream;
}

export interface Shim {
  overrides: ShimOverrides;
  /** Chooses the speaker, at once for running calls too (the SDK's `speakerDevices` needs `setSinkId`, absent here). */
  setOutputDevice(id: string | null): void;
}

export interface ShimOptions {
  backend?: MediaBackend;
  /** A microphone or speaker failed, fell back or came back during a call: tell the agent. */
  onDeviceProblem?: (problem: DeviceProblem) => void;
}

/** The latest installed shim's context (one `Device` at a time): where {@link nativeLevels} looks. */
let active: ShimContext | null = null;

/**
 * Microphone and speaker levels (RMS, 0..1) of the running native call, from the engine's statistics: the
 * SDK's own `volume` events read 0 under the shim (its analysers cannot take a shim stream). `null` when no
 * native call runs.
 */
export async function nativeLevels(): Promise<{ input: number; output: number } | null> {
  const pc = [...(active?.connections ?? [])].find((c) => c.nativeId !== null);
  if (!active || !pc || pc.nativeId === null) return null;
  const stats = await active.backend.stats(pc.nativeId).catch(() => null);
  return stats && { input: stats.inputLevel, output: stats.outputLevel };
}

/** Builds the overrides and installs the missing globals the SDK calls directly. */
export function installShim(options: ShimOptions = {}): Shim {
  const backend = options.backend ?? tauriBackend();
  let output: string | undefined;
  const context: ShimContext = {
    backend,
    outputDevice: () => output,
    connections: new Set(),
    onDeviceProblem: (problem) => {
      options.onDeviceProblem?.(problem);
      // The SDK re-reads the device lists on `devicechange`.
      const media = globalThis.navigator?.mediaDevices;
      if (problem.type !== 'unavailable' && typeof media?.dispatchEvent === 'function') {
        media.dispatchEvent(new Event('devicechange'));
      }
    },
  };
  active = context;
  const g = globalThis as Record<string, unknown>;
  if (typeof g.RTCSessionDescription === 'undefined') g.RTCSessionDescription = ShimRTCSessionDescription;
  if (typeof g.RTCRtpReceiver === 'undefined') g.RTCRtpReceiver = ShimRTCRtpReceiver;
  class RTCPeerConnection extends ShimRTCPeerConnection {
    constructor(configuration?: RTCConfiguration) {
      super(context, configuration);
    }
  }
  return {
    overrides: {
      RTCPeerConnection,
      getUserMedia: makeGetUserMedia(backend),
      enumerateDevices: makeEnumerateDevices(backend),
      MediaStream: ShimMediaStream,
    },
    setOutputDevice: (id) => {
      const next = id && id !== 'default' ? id : undefined;
      if (next === output) return;
      output = next;
      for (const pc of context.connections) pc.useOutput(output);
    },
  };
}

/** The native microphones and speakers, as `enumerateDevices` lists them (Settings, where the shim is used). */
export function enumerateNativeDevices(backend: MediaBackend = tauriBackend()) {
  return makeEnumerateDevices(backend)();
}
