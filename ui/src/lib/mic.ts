/**
 * The diagnostics' microphone test: opens the chosen microphone for a few seconds and reports its level
 * (RMS of the signal, 0..1) through `onLevel`, then closes it. Where no microphone can be opened (no devices,
 * no permission, no media support) it rejects with the browser's error name, which the screen words.
 *
 * Two routes: where the WebRTC shim is in use (the Linux app: WebKitGTK has no WebRTC, so no real
 * `MediaStream` to analyse) the native engine opens the device (`media_mic_test`); elsewhere WebAudio
 * (`getUserMedia` + an `AnalyserNode`).
 */
import { needsShim } from './webrtc';
import { nativeMicTest } from './webrtc/backend';


export type MicFailure = 'unsupported' | 'NotAllowedError' | 'NotFoundError' | 'NotReadableError' | 'OverconstrainedError' | string;

/** RMS level of time-domain samples centred on 128 (an AnalyserNode's byte data), 0..1. */
export function rms(samples: Uint8Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) {
    const v = (s - 128) / 128;
    sum += v * v;
  }
  return Math.min(1, Math.sqrt(sum / samples.length));
}

/** Listens for `ms` and resolves to the peak level; rejects with a {@link MicFailure}. */
export function testMicrophone(deviceId: string, ms: number, onLevel: (level: number) => void): Promise<number> {
  return needsShim() ? testNative(deviceId, ms, onLevel) : testWebAudio(deviceId, ms, onLevel);
}

async function testNative(deviceId: string, ms: number, onLevel: (level: number) => void): Promise<number> {
  try {
    return await nativeMicTest(deviceId, ms, onLevel);
  } catch (e) {
    throw (e as { kind?: string })?.kind ?? String(e);
  }
}

async function testWebAudio(deviceId: string, ms: number, onLevel: (level: number) => void): Promise<number> {
  const media = globalThis.navigator?.mediaDevices;
  const Context = globalThis.AudioContext;
  if (!media?.getUserMedia || !Context) throw 'unsupported' satisfies MicFailure;
  let stream: MediaStream;
  try {
    stream = await media.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true });
  } catch (e) {
    throw (e as { name?: string })?.name ?? String(e);
  }
  const context = new Context();
  try {
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const buffer = new Uint8Array(analyser.fftSize);
    let peak = 0;
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      analyser.getByteTimeDomainData(buffer);
      const level = rms(buffer);
      peak = Math.max(peak, level);
      onLevel(level);
    }
    return peak;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    void context.close();
  }
}
