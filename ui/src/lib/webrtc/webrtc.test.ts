import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeBackend, REMOTE_ANSWER, REMOTE_OFFER, stats } from './fake-backend';
import { installShim, nativeLevels, needsShim, ShimMediaStream, ShimMediaStreamTrack, type DeviceProblem } from './index';
import { candidatesOf, remoteAddressOf, statsReport, type ShimRTCPeerConnection } from './peerconnection';
import { requestedDevice, requestedProcessing, toDeviceInfos } from './media';

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const backend = new FakeBackend();
  const problems: DeviceProblem[] = [];
  const shim = installShim({ backend, onDeviceProblem: (p) => problems.push(p) });
  return { backend, problems, shim, ...shim.overrides };
}

async function withTrack(s: ReturnType<typeof setup>, constraints: MediaStreamConstraints = { audio: true }) {
  const stream = await s.getUserMedia(constraints);
  const pc = new s.RTCPeerConnection({ iceServers: [] });
  pc.addTrack(stream.getAudioTracks()[0]);
  return { pc, stream, track: stream.getAudioTracks()[0] };
}

function events(pc: ShimRTCPeerConnection) {
  const seen: string[] = [];
  for (const type of ['signalingstatechange', 'iceconnectionstatechange', 'connectionstatechange', 'icegatheringstatechange', 'track', 'icecandidate']) {
    pc.addEventListener(type, () => {
      const state = { signalingstatechange: pc.signalingState, iceconnectionstatechange: pc.iceConnectionState, connectionstatechange: pc.connectionState, icegatheringstatechange: pc.iceGatheringState }[type as 'signalingstatechange'];
      seen.push(state ? `${type}:${state}` : type);
    });
  }
  return seen;
}

afterEach(() => {
  delete (globalThis as { __TSUNAGI_NATIVE_AUDIO__?: unknown }).__TSUNAGI_NATIVE_AUDIO__;
});

describe('installShim', () => {
  it('is needed only in the app without WebRTC', () => {
    expect(needsShim()).toBe(false); // jsdom: not the app
    (globalThis as { __TSUNAGI_NATIVE_AUDIO__?: unknown }).__TSUNAGI_NATIVE_AUDIO__ = false;
    expect(needsShim()).toBe(false); // the app, with native audio turned off
    (globalThis as { __TSUNAGI_NATIVE_AUDIO__?: unknown }).__TSUNAGI_NATIVE_AUDIO__ = true;
    expect(needsShim()).toBe(typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'undefined');
  });

  it('installs only the globals that are missing', () => {
    setup();
    const g = globalThis as unknown as { RTCSessionDescription: new (i: object) => { type: string; sdp: string }; RTCRtpReceiver: { getCapabilities(k: string): { codecs: { mimeType: string }[] } | null } };
    expect(new g.RTCSessionDescription({ type: 'offer', sdp: 'v=0' })).toMatchObject({ type: 'offer', sdp: 'v=0' });
    expect(g.RTCRtpReceiver.getCapabilities('audio')?.codecs.map((c) => c.mimeType)).toEqual(['audio/PCMU', 'audio/opus']);
    expect(g.RTCRtpReceiver.getCapabilities('video')).toBeNull();
    const Before = g.RTCSessionDescription;
    setup();
    expect(g.RTCSessionDescription).toBe(Before);
  });
});

describe('devices', () => {
  it('lists native devices with a default entry per kind', async () => {
    const s = setup();
    const list = await s.enumerateDevices();
    expect(list.map((d) => [d.kind, d.deviceId, d.label])).toEqual([
      ['audioinput', 'default', 'Default - Virtual Mic'],
      ['audioinput', 'pulseaudio:vmic', 'Virtual Mic'],
      ['audioinput', 'pulseaudio:usb', 'USB Headset'],
      ['audiooutput', 'default', 'Default - Speaker'],
      ['audiooutput', 'pulseaudio:spk', 'Speaker'],
    ]);
    expect(JSON.parse(JSON.stringify(list[1]))).toEqual({ deviceId: 'pulseaudio:vmic', groupId: '', kind: 'audioinput', label: 'Virtual Mic' });
    expect(toDeviceInfos([])).toEqual([]);
  });

  it('getUserMedia picks the asked microphone, else the default, and refuses an unplugged exact one', async () => {
    const s = setup();
    const any = await s.getUserMedia({ audio: true });
    expect(any.getAudioTracks()[0]).toMatchObject({ kind: 'audio', label: 'Virtual Mic', deviceId: 'default', readyState: 'live', enabled: true });
    const usb = await s.getUserMedia({ audio: { deviceId: { exact: 'pulseaudio:usb' } } });
    expect(usb.getAudioTracks()[0]).toMatchObject({ label: 'USB Headset', deviceId: 'pulseaudio:usb' });
    await expect(s.getUserMedia({ audio: { deviceId: { exact: 'gone' } } })).rejects.toMatchObject({ name: 'OverconstrainedError' });
    expect((await s.getUserMedia({ audio: { deviceId: 'gone' } })).getAudioTracks()[0].deviceId).toBe('default');
    await expect(s.getUserMedia({ video: true })).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(s.getUserMedia({})).rejects.toBeInstanceOf(TypeError);
  });

  it('getUserMedia still gives a track with no microphone at all (the engine then reports it)', async () => {
    const s = setup();
    s.backend.list = [];
    const stream = await s.getUserMedia({ audio: true });
    expect(stream.getAudioTracks()[0].label).toBe('Default microphone');
  });

  it('reads deviceId constraints in every shape', () => {
    expect(requestedDevice(true)).toEqual({ exact: false });
    expect(requestedDevice({ deviceId: 'a' })).toEqual({ id: 'a', exact: false });
    expect(requestedDevice({ deviceId: ['b', 'c'] })).toEqual({ id: 'b', exact: false });
    expect(requestedDevice({ deviceId: { exact: ['d'] } })).toEqual({ id: 'd', exact: true });
    expect(requestedDevice({ deviceId: { ideal: 'e' } })).toEqual({ id: 'e', exact: false });
  });

  it('turns microphone processing off only when a constraint says so', async () => {
    const on = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    expect(requestedProcessing(true)).toEqual(on);
    expect(requestedProcessing({ deviceId: 'a', echoCancellation: true })).toEqual(on);
    expect(requestedProcessing({ noiseSuppression: false, autoGainControl: { exact: false }, echoCancellation: { ideal: false } })).toEqual({
      echoCancellation: false,
      noiseSuppression: false,
      autoGainControl: false,
    });
    const s = setup();
    const track = (await s.getUserMedia({ audio: { noiseSuppression: false } })).getAudioTracks()[0];
    expect(track.getSettings()).toMatchObject({ echoCancellation: true, noiseSuppression: false, autoGainControl: true });
    expect(track.clone().processing).toEqual(track.processing);
  });

  it('streams clone and collect tracks the way the SDK does', () => {
    const track = new ShimMediaStreamTrack('Mic', 'default');
    const stream = new ShimMediaStream();
    stream.addTrack(track);
    stream.addTrack(track);
    expect(stream.getTracks()).toEqual([track]);
    expect(stream.active).toBe(true);
    const clone = stream.clone();
    expect(clone.getTracks()[0]).not.toBe(track);
    track.stop();
    expect(stream.active).toBe(false);
    expect(() => stream.addTrack({} as ShimMediaStreamTrack)).toThrow(TypeError);
  });
});

describe('RTCPeerConnection', () => {
  it('answers an incoming offer on one native call, on the chosen devices and codecs', async () => {
    const s = setup();
    s.shim.setOutputDevice('pulseaudio:spk');
    const { pc } = await withTrack(s, { audio: { deviceId: { exact: 'pulseaudio:usb' } } });
    const seen = events(pc);
    const [transceiver] = pc.getTransceivers();
    transceiver.setCodecPreferences([{ mimeType: 'audio/opus' }, { mimeType: 'audio/PCMU' }, { mimeType: 'audio/G722' }]);
    const tracks: RTCTrackEvent[] = [];
    pc.ontrack = (e) => tracks.push(e as RTCTrackEvent);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    expect(s.backend.calls).toHaveLength(1);
    expect(s.backend.calls[0].options).toEqual({
      input: 'pulseaudio:usb',
      output: 'pulseaudio:spk',
      codecs: ['opus', 'pcmu'],
      remote: '127.0.0.1',
      processing: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    expect(s.backend.calls[0].offers).toEqual([REMOTE_OFFER]);
    expect(pc.signalingState).toBe('have-remote-offer');
    expect(tracks).toHaveLength(1);
    expect(tracks[0].streams[0].getAudioTracks()).toHaveLength(1);
    const answer = await pc.createAnswer();
    expect(answer.sdp).toContain('a=setup:active');
    await pc.setLocalDescription({ type: 'answer', sdp: answer.sdp.replace('a=sendrecv', 'a=sendrecv\r\nb=AS:32') });
    expect(pc.localDescription?.sdp).toBe(answer.sdp);
    expect(pc.signalingState).toBe('stable');
    await tick();
    expect(pc.iceGatheringState).toBe('complete');
    s.backend.calls[0].emit({ event: 'iceState', data: 'checking' });
    s.backend.calls[0].emit({ event: 'iceState', data: 'connected' });
    expect(pc.connectionState).toBe('connecting');
    s.backend.calls[0].emit({ event: 'connected' });
    expect(pc.connectionState).toBe('connected');
    expect(seen).toEqual([
      'signalingstatechange:have-remote-offer',
      'track',
      'signalingstatechange:stable',
      'icegatheringstatechange:gathering',
      'icecandidate',
      'icecandidate',
      'icegatheringstatechange:complete',
      'iceconnectionstatechange:checking',
      'connectionstatechange:connecting',
      'iceconnectionstatechange:connected',
      'connectionstatechange:connected',
    ]);
  });

  it('announces the local candidates, then the end of gathering', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    const candidates: (RTCIceCandidate | null)[] = [];
    pc.onicecandidate = (e) => candidates.push((e as RTCPeerConnectionIceEvent).candidate);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    await pc.setLocalDescription(await pc.createAnswer());
    await tick();
    expect(candidates).toHaveLength(2);
    expect(candidates[0]).toMatchObject({ address: '127.0.0.1', port: 50001, protocol: 'udp', type: 'host', sdpMid: '0' });
    expect(candidates[1]).toBeNull();
  });

  it('places an outgoing call: offer, then the remote answer', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    const offer = await pc.createOffer();
    expect(s.backend.calls[0].options.remote).toBeUndefined();
    await pc.setLocalDescription(new (globalThis as unknown as { RTCSessionDescription: typeof RTCSessionDescription }).RTCSessionDescription(offer));
    expect(pc.signalingState).toBe('have-local-offer');
    expect(pc.localDescription?.sdp).toBe(offer.sdp);
    await pc.setRemoteDescription({ type: 'answer', sdp: REMOTE_ANSWER });
    expect(s.backend.calls[0].answers).toEqual([REMOTE_ANSWER]);
    expect(pc.signalingState).toBe('stable');
    await expect(pc.setRemoteDescription({ type: 'answer', sdp: REMOTE_ANSWER })).rejects.toMatchObject({ name: 'InvalidStateError' });
  });

  it('mutes the native call when the track is disabled, also before the call opened', async () => {
    const s = setup();
    const { pc, track } = await withTrack(s);
    track.enabled = false;
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    await tick();
    expect(s.backend.calls[0].muted).toBe(true);
    track.enabled = true;
    await tick();
    expect(s.backend.calls[0].muted).toBe(false);
    pc.getSenders()[0].track!.enabled = false;
    await tick();
    expect(s.backend.calls[0].muted).toBe(true);
    const other = new ShimMediaStreamTrack('USB', 'pulseaudio:usb');
    await pc.getSenders()[0].replaceTrack(other);
    await tick();
    expect(s.backend.calls[0].muted).toBe(false);
  });

  it('moves a running call to a new microphone or speaker at once', async () => {
    const s = setup();
    const idle = new s.RTCPeerConnection();
    const { pc } = await withTrack(s);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    const call = s.backend.calls[0];
    // setInputDevice mid-call: the SDK replaces the sender's track with one on the new device.
    const usb = (await s.getUserMedia({ audio: { deviceId: { exact: 'pulseaudio:usb' } } })).getAudioTracks()[0];
    await pc.getSenders()[0].replaceTrack(usb);
    await pc.getSenders()[0].replaceTrack(usb.clone());
    s.shim.setOutputDevice('pulseaudio:spk');
    s.shim.setOutputDevice('pulseaudio:spk');
    s.shim.setOutputDevice('default');
    await tick();
    expect(call.switches).toEqual([{ input: 'pulseaudio:usb' }, { output: 'pulseaudio:spk' }, { output: 'default' }]);
    expect(idle.nativeId).toBeNull();
    expect(s.backend.calls).toHaveLength(1);
    pc.close();
    s.shim.setOutputDevice('pulseaudio:spk');
    await tick();
    expect(call.switches).toHaveLength(3);
  });

  it('reads the microphone level of the running call from the engine', async () => {
    const s = setup();
    expect(await nativeLevels()).toBeNull();
    const { pc } = await withTrack(s);
    expect(await nativeLevels()).toBeNull();
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    expect(await nativeLevels()).toEqual({ input: 0.2, output: 0.17 });
    pc.close();
    expect(await nativeLevels()).toBeNull();
  });

  it('reports the engine statistics in the shape getRTCStats reads', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    await pc.setLocalDescription(await pc.createAnswer());
    s.backend.calls[0].emit({ event: 'connected' });
    const report = await pc.getStats();
    const byType = (t: string) => [...report.values()].find((v) => v.type === t)!;
    expect(byType('outbound-rtp')).toMatchObject({ packetsSent: 100, bytesSent: 16000, codecId: 'COT01', remoteId: 'RI01A' });
    expect(byType('inbound-rtp')).toMatchObject({ packetsReceived: 98, packetsLost: 2, jitter: 0.004, audioLevel: 0.17 });
    expect(byType('remote-inbound-rtp')).toMatchObject({ roundTripTime: 0.012 });
    expect(byType('codec')).toMatchObject({ mimeType: 'audio/PCMU', clockRate: 8000 });
    expect(byType('transport').selectedCandidatePairId).toBe('CP01');
    expect(byType('local-candidate')).toMatchObject({ address: '127.0.0.1', port: 50001 });
    expect(byType('remote-candidate')).toMatchObject({ address: '127.0.0.1', port: 40000 });
  });

  it('keeps the last statistics once the engine is gone', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    s.backend.calls[0].emit({ event: 'stats', data: stats({ packetsSent: 7 }) });
    s.backend.calls[0].closed = true;
    const report = await pc.getStats();
    expect(report.get('OT01A')).toMatchObject({ packetsSent: 7 });
  });

  it('turns an engine that ended on its own into a failed connection', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    s.backend.calls[0].emit({ event: 'connected' });
    const states: string[] = [];
    pc.onconnectionstatechange = () => states.push(pc.connectionState);
    s.backend.calls[0].emit({ event: 'closed' });
    expect(pc.iceConnectionState).toBe('failed');
    expect(states).toEqual(['failed']);
  });

  it('passes device problems on to the agent', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    const problem: DeviceProblem = { type: 'lost', kind: 'input', label: 'USB Headset', message: '"USB Headset" was disconnected', fallback: 'Virtual Mic' };
    s.backend.calls[0].emit({ event: 'device', data: problem });
    expect(s.problems).toEqual([problem]);
  });

  it('closes its native call once, and one closed while opening never keeps one', async () => {
    const s = setup();
    const { pc } = await withTrack(s);
    await pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    const seen = events(pc);
    pc.close();
    pc.close();
    expect(s.backend.calls[0].closed).toBe(true);
    expect(pc.signalingState).toBe('closed');
    expect(seen).toEqual([]);
    s.backend.calls[0].emit({ event: 'iceState', data: 'disconnected' });
    expect(pc.iceConnectionState).toBe('closed');
    await expect(pc.createOffer()).rejects.toMatchObject({ name: 'InvalidStateError' });

    const late = await withTrack(s);
    const pending = late.pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER });
    late.pc.close();
    await expect(pending).rejects.toMatchObject({ name: 'InvalidStateError' });
    expect(s.backend.calls[1].closed).toBe(true);
  });

  it('rejects a failed negotiation with the engine message', async () => {
    const s = setup();
    s.backend.failOffer = 'no common audio codec (PCMU or Opus)';
    const { pc } = await withTrack(s);
    await expect(pc.setRemoteDescription({ type: 'offer', sdp: REMOTE_OFFER })).rejects.toThrow('no common audio codec');
    expect(pc.signalingState).toBe('stable');
  });
});

describe('SDP helpers', () => {
  it('finds candidates and the remote address', () => {
    expect(candidatesOf(REMOTE_OFFER)).toHaveLength(1);
    expect(remoteAddressOf(REMOTE_OFFER)).toBe('127.0.0.1');
    expect(remoteAddressOf('v=0\r\nc=IN IP4 0.0.0.0\r\n')).toBeUndefined();
    expect(remoteAddressOf('v=0\r\nc=IN IP4 10.1.2.3\r\n')).toBe('10.1.2.3');
  });

  it('gives zero counters before any statistics', () => {
    const report = statsReport(null);
    expect(report.get('OT01A')).toMatchObject({ packetsSent: 0, bytesSent: 0 });
    expect(report.has('T01')).toBe(false);
  });
});

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }));
