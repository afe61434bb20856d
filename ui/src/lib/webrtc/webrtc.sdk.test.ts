/**
 * The pinned SDK's own media code (its PeerConnection, RTCPC wrapper, AudioHelper and stats reader from
 * @twilio/voice-sdk 2.18.5) driven on the shim through a logging proxy: every constructor, method, property
 * and `in` check it uses on the shim is recorded, printed, and compared with the surface in README.md. A member
 * the SDK reads that the shim lacks shows up as "(missing)".
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
// The SDK's internals, by file: the package's `exports` only name its entry point.
import PeerConnection from '../../../node_modules/@twilio/voice-sdk/esm/twilio/rtc/peerconnection.js';
import AudioHelper from '../../../node_modules/@twilio/voice-sdk/esm/twilio/audiohelper.js';
import { AudioProcessorEventObserver } from '../../../node_modules/@twilio/voice-sdk/esm/twilio/audioprocessoreventobserver.js';
import { getRTCIceCandidateStatsReport, getRTCStats } from '../../../node_modules/@twilio/voice-sdk/esm/twilio/rtc/stats.js';
import { FakeBackend, REMOTE_ANSWER, REMOTE_OFFER } from './fake-backend';
import { installShim } from './index';
import { ShimMediaStream, ShimMediaStreamTrack } from './media';
import { ShimRTCPeerConnection, ShimRTCRtpReceiver, ShimRTCRtpSender, ShimRTCRtpTransceiver, ShimRTCSessionDescription } from './peerconnection';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }));

const surface = new Set<string>();
const INTERNAL = new Set(['watch', 'end']);
const proxies = new WeakMap<object, object>();
const NAMES: [new (...args: never[]) => object, string][] = [
  [ShimRTCPeerConnection, 'RTCPeerConnection'],
  [ShimMediaStream, 'MediaStream'],
  [ShimMediaStreamTrack, 'MediaStreamTrack'],
  [ShimRTCRtpSender, 'RTCRtpSender'],
  [ShimRTCRtpReceiver, 'RTCRtpReceiver'],
  [ShimRTCRtpTransceiver, 'RTCRtpTransceiver'],
  [ShimRTCSessionDescription, 'RTCSessionDescription'],
];

function wrap(value: unknown): unknown {
  if (value instanceof Promise) return value.then(wrap);
  if (Array.isArray(value)) return value.map(wrap);
  if (value && typeof value === 'object') {
    const name = NAMES.find(([Class]) => value instanceof Class)?.[1];
    if (name) return spy(value, name);
    if ('deviceId' in value && 'kind' in value && 'toJSON' in value) return spy(value, 'MediaDeviceInfo');
  }
  return value;
}

/** A proxy that records what is used on `target` (methods run on the target itself, as EventTarget needs). */
function spy<T extends object>(target: T, name: string): T {
  const known = proxies.get(target);
  if (known) return known as T;
  const proxy = new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      // Promise resolution probes `then`; the shim's own calls between its objects are not the SDK's.
      if (typeof prop === 'symbol' || prop === 'then' || INTERNAL.has(prop)) return typeof value === 'function' ? value.bind(t) : value;
      if (typeof value === 'function') {
        return (...args: unknown[]) => {
          surface.add(`${name}.${prop}()`);
          return wrap(value.apply(t, args));
        };
      }
      surface.add(prop in t ? `${name}.${prop}` : `${name}.${prop} (missing)`);
      return wrap(value);
    },
    set(t, prop, value) {
      surface.add(`${name}.${String(prop)} =`);
      return Reflect.set(t, prop, value, t);
    },
    has(t, prop) {
      surface.add(`'${String(prop)}' in ${name}`);
      return Reflect.has(t, prop);
    },
  });
  proxies.set(target, proxy);
  return proxy;
}

const backend = new FakeBackend();
const shim = installShim({ backend });
const g = globalThis as Record<string, unknown>;

/** The Device options, each logging its use. */
const options = {
  RTCPeerConnection: class {
    constructor(configuration?: RTCConfiguration) {
      surface.add('new RTCPeerConnection()');
      return spy(new shim.overrides.RTCPeerConnection(configuration), 'RTCPeerConnection');
    }
  },
  MediaStream: class {
    constructor(tracks?: ShimMediaStreamTrack[]) {
      surface.add('new MediaStream()');
      return spy(new ShimMediaStream(tracks), 'MediaStream');
    }
  },
  getUserMedia: (constraints: MediaStreamConstraints) => {
    surface.add(`getUserMedia(${JSON.stringify(constraints)})`);
    return wrap(shim.overrides.getUserMedia(constraints));
  },
  enumerateDevices: () => {
    surface.add('enumerateDevices()');
    return wrap(shim.overrides.enumerateDevices());
  },
};

class Emitter {
  private readonly handlers = new Map<string, ((...a: unknown[]) => void)[]>();
  on(n: string, h: (...a: unknown[]) => void) {
    this.handlers.set(n, [...(this.handlers.get(n) ?? []), h]);
    return this;
  }
  addListener(n: string, h: (...a: unknown[]) => void) {
    return this.on(n, h);
  }
  removeListener(n: string, h: (...a: unknown[]) => void) {
    this.handlers.set(n, (this.handlers.get(n) ?? []).filter((x) => x !== h));
    return this;
  }
  emit(n: string, ...a: unknown[]) {
    for (const h of this.handlers.get(n) ?? []) h(...a);
  }
}

/** The SDK's signaling as its PeerConnection uses it. */
class PStream extends Emitter {
  status = 'connected';
  sent: { type: string; sdp: string }[] = [];
  invite(sdp: string) {
    this.sent.push({ type: 'invite', sdp });
  }
  answer(sdp: string) {
    this.sent.push({ type: 'answer', sdp });
  }
  reinvite(sdp: string) {
    this.sent.push({ type: 'reinvite', sdp });
  }
}

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!ok()) throw new Error(`gave up waiting for ${what}`);
};

/** The SDK's PeerConnection, as far as this test uses it. */
interface SdkPeerConnection {
  version: { pc: unknown };
  openDefaultDeviceWithConstraints(c: MediaStreamConstraints): Promise<unknown>;
  setInputTracksFromStream(stream: unknown): Promise<unknown>;
  answerIncomingCall(sid: string, sdp: string, config: RTCConfiguration, started: (pc: unknown) => void): void;
  makeOutgoingCall(params: string, token: null, sid: string, config: RTCConfiguration, started: () => void): void;
  mute(muted: boolean): void;
  getOrCreateDTMFSender(): unknown;
  close(): void;
  [handler: string]: unknown;
}
const SdkPeerConnection = PeerConnection as unknown as new (helper: unknown, pstream: unknown, options: object) => SdkPeerConnection;

function newHelper() {
  return new AudioHelper(async () => {}, async () => {}, {
    audioProcessorEventObserver: new AudioProcessorEventObserver(),
    enumerateDevices: options.enumerateDevices,
    getUserMedia: options.getUserMedia as (c: MediaStreamConstraints) => Promise<MediaStream>,
  });
}

function newPeerConnection(helper: unknown, pstream: PStream) {
  const pc = new SdkPeerConnection(helper, pstream, {
    MediaStream: options.MediaStream,
    RTCPeerConnection: options.RTCPeerConnection,
    codecPreferences: ['pcmu', 'opus'],
    dscp: true,
  });
  const seen: string[] = [];
  for (const h of ['onopen', 'onconnected', 'ondisconnected', 'onfailed', 'onerror', 'onicegatheringfailure', 'onclose', 'onvolume']) {
    pc[h] = (...args: unknown[]) => seen.push(`${h}${h === 'onerror' ? ` ${JSON.stringify(args[0])}` : ''}`);
  }
  pc.onicecandidate = () => seen.push('onicecandidate');
  return { pc, seen };
}

beforeAll(() => {
  // WebKitGTK has navigator.mediaDevices (an EventTarget with an empty device list) but no WebRTC.
  Object.defineProperty(navigator, 'mediaDevices', {
    configurable: true,
    value: Object.assign(new EventTarget(), { enumerateDevices: async () => [], getUserMedia: async () => Promise.reject(new Error('native')) }),
  });
  const { RTCSessionDescription: SD, RTCRtpReceiver: Receiver } = g as { RTCSessionDescription: typeof ShimRTCSessionDescription; RTCRtpReceiver: typeof ShimRTCRtpReceiver };
  g.RTCSessionDescription = class extends SD {
    constructor(init: { type: 'offer' | 'answer'; sdp?: string }) {
      super(init);
      surface.add('new RTCSessionDescription()');
    }
  };
  g.RTCRtpReceiver = {
    getCapabilities: (kind: string) => {
      surface.add(`RTCRtpReceiver.getCapabilities('${kind}')`);
      return Receiver.getCapabilities(kind);
    },
  };
});

describe('the SDK media code on the shim', () => {
  it('answers an incoming call, reaches connected, reads stats, mutes and closes', async () => {
    const helper = newHelper();
    const pstream = new PStream();
    const { pc, seen } = newPeerConnection(helper, pstream);
    await pc.openDefaultDeviceWithConstraints({ audio: true });
    let started: unknown = null;
    pc.answerIncomingCall('CA00000000000000000000000000000001', REMOTE_OFFER, { iceServers: [] }, (native: unknown) => (started = native));
    await until('the SDK answers over signaling', () => pstream.sent.length === 1);
    expect(pstream.sent[0].type).toBe('answer');
    expect(pstream.sent[0].sdp).toContain('a=candidate:');
    expect(started).toBeTruthy();
    const call = backend.calls.at(-1)!;
    expect(call.options).toMatchObject({ codecs: ['pcmu', 'opus'], remote: '127.0.0.1' });
    await until('gathering completes', () => seen.includes('onicecandidate'));
    call.emit({ event: 'iceState', data: 'checking' });
    call.emit({ event: 'iceState', data: 'connected' });
    call.emit({ event: 'connected' });
    expect(seen).toContain('onopen');
    expect(seen).toContain('onconnected');
    expect(seen.filter((s) => s.startsWith('onerror') || s === 'onicegatheringfailure' || s === 'onfailed')).toEqual([]);

    const sample = await getRTCStats(pc.version.pc, {});
    expect(sample).toMatchObject({ packetsSent: 100, bytesSent: 16000, packetsReceived: 98, packetsLost: 2, jitter: 4, rtt: 12, codecName: 'PCMU', localAddress: '127.0.0.1', remoteAddress: '127.0.0.1' });
    const ice = await getRTCIceCandidateStatsReport(pc.version.pc);
    expect(ice.selectedIceCandidatePairStats.remoteCandidate).toMatchObject({ port: 40000 });

    pc.mute(true);
    await until('muted natively', () => call.muted);
    pc.mute(false);
    await until('unmuted natively', () => !call.muted);
    expect(pc.getOrCreateDTMFSender()).toBeNull(); // digits then go over signaling
    pc.close();
    expect(call.closed).toBe(true);
    expect(seen).toContain('onclose');
  });

  it('places an outgoing call and takes the answer from signaling', async () => {
    const helper = newHelper();
    const pstream = new PStream();
    const { pc, seen } = newPeerConnection(helper, pstream);
    await pc.openDefaultDeviceWithConstraints({ audio: true });
    let started = false;
    pc.makeOutgoingCall('To=%2B81612345678', null, 'OB1', { iceServers: [] }, () => (started = true));
    await until('the SDK invites over signaling', () => pstream.sent.length === 1);
    expect(pstream.sent[0].type).toBe('invite');
    const call = backend.calls.at(-1)!;
    expect(pstream.sent[0].sdp).toBe(call.offers[0]);
    pstream.emit('answer', { sdp: REMOTE_ANSWER });
    await until('the answer is applied', () => started);
    expect(call.answers).toEqual([REMOTE_ANSWER]);
    call.emit({ event: 'connected' });
    expect(seen).toContain('onconnected');
    pc.close();
    expect(call.closed).toBe(true);
  });

  it('takes a chosen microphone through setInputDevice and a cloned stream', async () => {
    const helper = newHelper();
    await helper._updateAvailableDevices();
    expect([...helper.availableInputDevices.keys()]).toEqual(['default', 'pulseaudio:vmic', 'pulseaudio:usb']);
    await helper.setInputDevice('pulseaudio:usb');
    const pstream = new PStream();
    const { pc } = newPeerConnection(helper, pstream);
    await pc.setInputTracksFromStream(helper.inputStream);
    pc.answerIncomingCall('CA00000000000000000000000000000002', REMOTE_OFFER, { iceServers: [] }, () => {});
    await until('answered', () => pstream.sent.length === 1);
    expect(backend.calls.at(-1)!.options.input).toBe('pulseaudio:usb');
    pc.close();
    helper._unbind();
  });

  it('prints the surface it used', () => {
    const used = [...surface].sort();
    console.log(`voice-sdk 2.18.5 used on the shim (${used.length}):\n  ${used.join('\n  ')}`);
    // Members the SDK probes for and finds absent, on purpose (feature detection with a fallback).
    expect(used.filter((u) => u.endsWith('(missing)'))).toEqual(['RTCPeerConnection.createDTMFSender (missing)']);
    for (const must of [
      'new RTCPeerConnection()',
      'RTCPeerConnection.addTrack()',
      'RTCPeerConnection.getTransceivers()',
      'RTCRtpTransceiver.setCodecPreferences()',
      "RTCRtpReceiver.getCapabilities('audio')",
      'new RTCSessionDescription()',
      'RTCPeerConnection.setRemoteDescription()',
      'RTCPeerConnection.createAnswer()',
      'RTCPeerConnection.createOffer()',
      'RTCPeerConnection.setLocalDescription()',
      'RTCPeerConnection.localDescription',
      'RTCPeerConnection.getStats()',
      'RTCPeerConnection.close()',
      'RTCPeerConnection.ontrack =',
      'RTCPeerConnection.oniceconnectionstatechange =',
      'RTCPeerConnection.onconnectionstatechange =',
      'RTCPeerConnection.iceConnectionState',
      'RTCPeerConnection.connectionState',
      'MediaStreamTrack.enabled =',
      'enumerateDevices()',
      'getUserMedia({"audio":true})',
      'new MediaStream()',
    ]) {
      expect(used).toContain(must);
    }
  });
});
