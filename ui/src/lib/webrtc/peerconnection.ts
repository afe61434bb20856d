/**
 * `RTCPeerConnection` for the shim: the subset `@twilio/voice-sdk` 2.18.5 uses (see ./README.md), on one native
 * call per connection. Offer/answer SDP is the native engine's (no trickle: candidates are in the SDP, and are
 * also announced as `icecandidate` events because the SDK treats a gathering without candidates as a failure);
 * ICE/DTLS state and statistics come from the engine's events; `track.enabled` mutes the engine.
 */
import type { CodecKind, DeviceProblem, IceState, MediaBackend, NativeEvent, NativeStats } from './backend';
import { ShimMediaStream, ShimMediaStreamTrack, domError } from './media';

type SdpType = 'offer' | 'answer' | 'pranswer' | 'rollback';

/** `RTCSessionDescription` (missing in WebKitGTK; the SDK constructs it directly). */
export class ShimRTCSessionDescription {
  readonly type: SdpType;
  readonly sdp: string;
  constructor(init: { type: SdpType; sdp?: string }) {
    this.type = init.type;
    this.sdp = init.sdp ?? '';
  }
  toJSON() {
    return { type: this.type, sdp: this.sdp };
  }
}

interface CodecCapability {
  mimeType: string;
  clockRate: number;
  channels?: number;
  sdpFmtpLine?: string;
}

const CODECS: Record<CodecKind, CodecCapability> = {
  pcmu: { mimeType: 'audio/PCMU', clockRate: 8000, channels: 1 },
  opus: { mimeType: 'audio/opus', clockRate: 48000, channels: 2, sdpFmtpLine: 'minptime=10;useinbandfec=1' },
};

const codecOf = (mimeType: string): CodecKind | undefined =>
  (Object.keys(CODECS) as CodecKind[]).find((k) => CODECS[k].mimeType.toLowerCase() === mimeType.toLowerCase());

/** `RTCRtpReceiver`: the SDK calls `RTCRtpReceiver.getCapabilities('audio')` on the global. */
export class ShimRTCRtpReceiver {
  readonly transport = null;
  constructor(readonly track: ShimMediaStreamTrack) {}
  static getCapabilities(kind: string) {
    if (kind !== 'audio') return null;
    return { codecs: Object.values(CODECS).map((c) => ({ ...c })), headerExtensions: [] };
  }
  getContributingSources() {
    return [];
  }
  getSynchronizationSources() {
    return [];
  }
}

/** `RTCRtpSender`: no `dtmf` (the SDK then sends digits over signaling) and no transport object. */
export class ShimRTCRtpSender {
  readonly dtmf = null;
  readonly transport = null;
  constructor(
    public track: ShimMediaStreamTrack | null,
    private readonly onTrack: (track: ShimMediaStreamTrack | null) => void,
  ) {}
  async replaceTrack(track: ShimMediaStreamTrack | null) {
    this.track = track;
    this.onTrack(track);
  }
  getParameters() {
    return { transactionId: '', encodings: [], codecs: [], headerExtensions: [], rtcp: {} };
  }
  async setParameters() {}
}

/** `RTCRtpTransceiver`: its codec preferences choose the native codec order. */
export class ShimRTCRtpTransceiver {
  mid: string | null = null;
  direction: RTCRtpTransceiverDirection = 'sendrecv';
  currentDirection: RTCRtpTransceiverDirection | null = null;
  codecs: CodecKind[] = [];
  constructor(
    readonly sender: ShimRTCRtpSender,
    readonly receiver: ShimRTCRtpReceiver,
  ) {}
  setCodecPreferences(codecs: { mimeType: string }[]) {
    const kinds = codecs.map((c) => codecOf(c.mimeType)).filter((k): k is CodecKind => !!k);
    this.codecs = [...new Set(kinds)];
  }
  stop() {
    this.direction = 'stopped';
  }
}

interface Candidate {
  candidate: string;
  foundation: string;
  component: 'rtp';
  priority: number;
  address: string;
  ip: string;
  protocol: string;
  port: number;
  type: string;
  sdpMid: string | null;
  sdpMLineIndex: number;
  usernameFragment: string | null;
  toJSON(): { candidate: string; sdpMid: string | null; sdpMLineIndex: number };
}

/** The `a=candidate` lines of an SDP, as `RTCIceCandidate`s. */
export function candidatesOf(sdp: string): Candidate[] {
  const mid = /^a=mid:(\S+)/m.exec(sdp)?.[1] ?? '0';
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null;
  const out: Candidate[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=(candidate:(\S+) \d+ (\S+) (\d+) (\S+) (\d+) typ (\S+).*)$/.exec(line);
    if (!m) continue;
    const [, candidate, foundation, protocol, priority, address, port, type] = m;
    out.push({
      candidate,
      foundation,
      component: 'rtp',
      priority: Number(priority),
      address,
      ip: address,
      protocol: protocol.toLowerCase(),
      port: Number(port),
      type,
      sdpMid: mid,
      sdpMLineIndex: 0,
      usernameFragment: ufrag,
      toJSON: () => ({ candidate, sdpMid: mid, sdpMLineIndex: 0 }),
    });
  }
  return out;
}

/** The remote's address in an SDP (first candidate, else a non-zero `c=` line). */
export function remoteAddressOf(sdp: string): string | undefined {
  const candidate = candidatesOf(sdp).find((c) => c.protocol === 'udp');
  if (candidate) return candidate.address;
  const c = /^c=IN IP[46] (\S+)/m.exec(sdp)?.[1];
  return c && c !== '0.0.0.0' && c !== '::' ? c : undefined;
}

/** A `getStats()` report (a `Map`, as browsers give) from the engine's numbers. */
export function statsReport(s: NativeStats | null, local?: Candidate, remote?: Candidate, now = Date.now()) {
  const report = new Map<string, Record<string, unknown>>();
  const add = (stat: Record<string, unknown>) => report.set(stat.id as string, { timestamp: now, ...stat });
  const codec = s?.codec ? CODECS[s.codec] : undefined;
  if (codec) add({ id: 'COT01', type: 'codec', mimeType: codec.mimeType, clockRate: codec.clockRate, channels: codec.channels });
  add({
    id: 'OT01A', type: 'outbound-rtp', kind: 'audio', mediaType: 'audio', codecId: codec ? 'COT01' : undefined, remoteId: 'RI01A',
    packetsSent: s?.packetsSent ?? 0, bytesSent: s?.bytesSent ?? 0,
  });
  add({
    id: 'IT01A', type: 'inbound-rtp', kind: 'audio', mediaType: 'audio', codecId: codec ? 'COT01' : undefined,
    packetsReceived: s?.packetsReceived ?? 0, bytesReceived: s?.bytesReceived ?? 0, packetsLost: s?.packetsLost ?? 0,
    jitter: (s?.jitterMs ?? 0) / 1000, audioLevel: s?.outputLevel ?? 0, concealedSamples: s?.concealed ?? 0,
    jitterBufferDelay: (s?.jitterBufferMs ?? 0) / 1000,
  });
  add({ id: 'MS01', type: 'media-source', kind: 'audio', audioLevel: s?.inputLevel ?? 0 });
  if (s?.rttMs != null) add({ id: 'RI01A', type: 'remote-inbound-rtp', kind: 'audio', localId: 'OT01A', roundTripTime: s.rttMs / 1000 });
  if (local && remote) {
    const candidate = (id: string, type: string, c: Candidate) =>
      add({ id, type, address: c.address, ip: c.address, port: c.port, protocol: c.protocol, candidateType: c.type, priority: c.priority });
    candidate('ILOCAL', 'local-candidate', local);
    candidate('IREMOTE', 'remote-candidate', remote);
    add({
      id: 'CP01', type: 'candidate-pair', localCandidateId: 'ILOCAL', remoteCandidateId: 'IREMOTE', state: 'succeeded',
      nominated: true, selected: true, currentRoundTripTime: s?.rttMs != null ? s.rttMs / 1000 : undefined,
      bytesSent: s?.bytesSent ?? 0, bytesReceived: s?.bytesReceived ?? 0,
    });
    add({ id: 'T01', type: 'transport', selectedCandidatePairId: 'CP01', dtlsState: 'connected', iceState: 'connected' });
  }
  return report;
}

/** What a connection needs besides its configuration: the engine and where device problems go. */
export interface ShimContext {
  backend: MediaBackend;
  /** The speaker calls play on (`undefined`: the system's). */
  outputDevice(): string | undefined;
  /** The open connections (a speaker change reaches them at once). */
  connections: Set<ShimRTCPeerConnection>;
  onDeviceProblem(problem: DeviceProblem): void;
}

type Handler = ((event: Event) => void) | null;

export class ShimRTCPeerConnection extends EventTarget {
  signalingState: RTCSignalingState = 'stable';
  iceConnectionState: RTCIceConnectionState = 'new';
  connectionState: RTCPeerConnectionState = 'new';
  iceGatheringState: RTCIceGatheringState = 'new';
  localDescription: ShimRTCSessionDescription | null = null;
  remoteDescription: ShimRTCSessionDescription | null = null;
  readonly canTrickleIceCandidates = false;
  ontrack: Handler = null;
  onicecandidate: Handler = null;
  onicecandidateerror: Handler = null;
  oniceconnectionstatechange: Handler = null;
  onconnectionstatechange: Handler = null;
  onsignalingstatechange: Handler = null;
  onicegatheringstatechange: Handler = null;
  onnegotiationneeded: Handler = null;
  ondatachannel: Handler = null;

  private readonly transceivers: ShimRTCRtpTransceiver[] = [];
  private readonly unwatch: (() => void)[] = [];
  private id: number | null = null;
  private opening: Promise<number> | null = null;
  private offer: string | null = null;
  private answer: string | null = null;
  private gathered = false;
  private dtlsUp = false;
  private closed = false;
  private lastStats: NativeStats | null = null;
  private readonly remoteStream = new ShimMediaStream();
  /** The microphone the native call uses (`'default'`: the system's), once open. */
  private input: string | null = null;

  constructor(
    private readonly context: ShimContext,
    private readonly configuration: RTCConfiguration = {},
  ) {
    super();
    context.connections.add(this);
  }

  /** The speaker changed in Settings: a running call moves to it at once. */
  useOutput(output: string | undefined) {
    if (this.id === null || this.closed) return;
    this.context.backend.setDevices(this.id, { output: output ?? 'default' }).catch((e) => console.warn('tsunagi: speaker change failed', e));
  }

  /** The microphone track was replaced (`setInputDevice` mid-call): a running call moves to its device. */
  private applyInput() {
    const wanted = this.transceivers[0]?.sender.track?.deviceId;
    if (this.id === null || this.closed || !wanted || wanted === this.input) return;
    this.input = wanted;
    this.context.backend.setDevices(this.id, { input: wanted }).catch((e) => console.warn('tsunagi: microphone change failed', e));
  }

  /** The native call's id, once negotiation started it. */
  get nativeId() {
    return this.id;
  }

  getConfiguration() {
    return { ...this.configuration };
  }

  setConfiguration(configuration: RTCConfiguration) {
    Object.assign(this.configuration, configuration);
  }

  private fire(type: string, extra: Record<string, unknown> = {}) {
    const event = Object.assign(new Event(type), extra);
    this.dispatchEvent(event);
    const handler = (this as unknown as Record<string, Handler>)[`on${type}`];
    handler?.call(this, event);
  }

  private checkOpen() {
    if (this.closed) throw domError('InvalidStateError', 'the RTCPeerConnection is closed');
  }

  private addTransceiverFor(track: ShimMediaStreamTrack | null) {
    const sender = new ShimRTCRtpSender(track, (t) => {
      if (t) this.unwatch.push(t.watch(() => this.applyMute()));
      this.applyMute();
      this.applyInput();
    });
    const transceiver = new ShimRTCRtpTransceiver(
      sender,
      new ShimRTCRtpReceiver(new ShimMediaStreamTrack('Remote audio', 'remote')),
    );
    this.transceivers.push(transceiver);
    if (track) this.unwatch.push(track.watch(() => this.applyMute()));
    return transceiver;
  }

  /** `addTrack(track, ...streams)`: the streams add nothing here (one audio track per connection). */
  addTrack(track: ShimMediaStreamTrack) {
    this.checkOpen();
    if (!(track instanceof ShimMediaStreamTrack)) throw new TypeError('not a track of this media engine');
    if (this.transceivers.some((t) => t.sender.track === track)) throw domError('InvalidAccessError', 'track already added');
    const free = this.transceivers.find((t) => !t.sender.track);
    if (free) {
      free.sender.track = track;
      this.unwatch.push(track.watch(() => this.applyMute()));
      this.applyMute();
      return free.sender;
    }
    return this.addTransceiverFor(track).sender;
  }

  addTransceiver(kind: string | ShimMediaStreamTrack) {
    this.checkOpen();
    if (typeof kind === 'string' && kind !== 'audio') throw new TypeError('this media engine carries audio only');
    return this.addTransceiverFor(typeof kind === 'string' ? null : kind);
  }

  removeTrack(sender: ShimRTCRtpSender) {
    this.checkOpen();
    sender.track = null;
    this.applyMute();
  }

  getTransceivers() {
    return [...this.transceivers];
  }

  getSenders() {
    return this.transceivers.map((t) => t.sender);
  }

  getReceivers() {
    return this.transceivers.map((t) => t.receiver);
  }

  /** Muted unless the first sender has a live, enabled track. */
  private get muted() {
    const track = this.transceivers[0]?.sender.track;
    return !track || !track.enabled || track.readyState !== 'live';
  }

  private applyMute() {
    if (this.id !== null && !this.closed) {
      this.context.backend.setMuted(this.id, this.muted).catch((e) => console.warn('tsunagi: mute failed', e));
    }
  }

  private open(remote?: string): Promise<number> {
    if (this.id !== null) return Promise.resolve(this.id);
    if (!this.opening) {
      const first = this.transceivers[0];
      const track = first?.sender.track;
      const input = track?.deviceId;
      this.opening = this.context.backend
        .open(
          {
            input: input && input !== 'default' ? input : undefined,
            output: this.context.outputDevice(),
            codecs: first?.codecs.length ? first.codecs : undefined,
            remote,
            processing: track?.processing,
          },
          (event) => this.onNative(event),
        )
        .then((id) => {
          this.id = id;
          this.input = input ?? 'default';
          if (this.closed) {
            void this.context.backend.close(id);
            throw domError('InvalidStateError', 'the RTCPeerConnection was closed');
          }
          if (this.muted) this.applyMute();
          return id;
        });
    }
    return this.opening;
  }

  async createOffer() {
    this.checkOpen();
    const id = await this.open();
    const sdp = await this.context.backend.createOffer(id);
    this.offer = sdp;
    return { type: 'offer' as const, sdp };
  }

  async createAnswer() {
    this.checkOpen();
    if (this.signalingState !== 'have-remote-offer' || this.answer === null) {
      throw domError('InvalidStateError', 'createAnswer needs a remote offer');
    }
    return { type: 'answer' as const, sdp: this.answer };
  }

  private setSignaling(state: RTCSignalingState) {
    if (this.signalingState === state) return;
    this.signalingState = state;
    this.fire('signalingstatechange');
  }

  async setLocalDescription(description?: { type?: SdpType; sdp?: string }) {
    this.checkOpen();
    const type = description?.type ?? (this.signalingState === 'have-remote-offer' ? 'answer' : 'offer');
    if (type === 'offer') {
      if (this.offer === null) await this.createOffer();
      this.localDescription = new ShimRTCSessionDescription({ type, sdp: this.offer ?? '' });
      this.setSignaling('have-local-offer');
    } else if (type === 'answer') {
      if (this.signalingState !== 'have-remote-offer' || this.answer === null) {
        throw domError('InvalidStateError', 'no remote offer to answer');
      }
      // The engine's own answer is what it negotiated; SDP munging (bitrate lines) does not reach it.
      this.localDescription = new ShimRTCSessionDescription({ type, sdp: this.answer });
      this.setSignaling('stable');
    } else {
      throw domError('NotSupportedError', `${type} is not supported by this media engine`);
    }
    this.gather();
  }

  async setRemoteDescription(description: { type: SdpType; sdp?: string }) {
    this.checkOpen();
    const sdp = description?.sdp ?? '';
    if (description?.type === 'offer') {
      if (this.signalingState !== 'stable') throw domError('InvalidStateError', `offer in state ${this.signalingState}`);
      const id = await this.open(remoteAddressOf(sdp));
      this.answer = await this.context.backend.acceptOffer(id, sdp);
      this.remoteDescription = new ShimRTCSessionDescription({ type: 'offer', sdp });
      this.setSignaling('have-remote-offer');
    } else if (description?.type === 'answer') {
      if (this.signalingState !== 'have-local-offer' || this.id === null) {
        throw domError('InvalidStateError', `answer in state ${this.signalingState}`);
      }
      await this.context.backend.acceptAnswer(this.id, sdp);
      this.remoteDescription = new ShimRTCSessionDescription({ type: 'answer', sdp });
      this.setSignaling('stable');
    } else {
      throw domError('NotSupportedError', `${description?.type} is not supported by this media engine`);
    }
    this.announceTrack();
  }

  async addIceCandidate() {
    // Candidates travel in the SDP (no trickle): nothing to add.
  }

  restartIce() {}

  private announceTrack() {
    const transceiver = this.transceivers[0];
    if (!transceiver || transceiver.mid !== null || this.closed) return;
    transceiver.mid = /^a=mid:(\S+)/m.exec(this.remoteDescription?.sdp ?? '')?.[1] ?? '0';
    transceiver.currentDirection = 'sendrecv';
    const track = transceiver.receiver.track;
    this.remoteStream.addTrack(track);
    this.fire('track', { track, streams: [this.remoteStream], receiver: transceiver.receiver, transceiver });
  }

  /** Local candidates are in the local SDP: announce them once, as a browser's gathering would. */
  private gather() {
    if (this.gathered) return;
    this.gathered = true;
    const candidates = candidatesOf(this.localDescription?.sdp ?? '');
    setTimeout(() => {
      if (this.closed) return;
      this.iceGatheringState = 'gathering';
      this.fire('icegatheringstatechange');
      for (const candidate of candidates) this.fire('icecandidate', { candidate });
      this.fire('icecandidate', { candidate: null });
      this.iceGatheringState = 'complete';
      this.fire('icegatheringstatechange');
    }, 0);
  }

  private setIce(state: RTCIceConnectionState) {
    if (this.iceConnectionState === state) return;
    this.iceConnectionState = state;
    this.fire('iceconnectionstatechange');
  }

  private setConnection(state: RTCPeerConnectionState) {
    if (this.connectionState === state) return;
    this.connectionState = state;
    this.fire('connectionstatechange');
  }

  private onNative(event: NativeEvent) {
    if (this.closed) return;
    switch (event.event) {
      case 'iceState': {
        const state: IceState = event.data;
        if (state === 'closed') return;
        this.setIce(state);
        if (state === 'checking') this.setConnection('connecting');
        else if (state === 'disconnected') this.setConnection('disconnected');
        else if (this.dtlsUp) this.setConnection('connected');
        break;
      }
      case 'connected':
        this.dtlsUp = true;
        if (this.iceConnectionState === 'new' || this.iceConnectionState === 'checking') this.setIce('connected');
        this.setConnection('connected');
        break;
      case 'stats':
        this.lastStats = event.data;
        break;
      case 'device':
        this.context.onDeviceProblem(event.data);
        break;
      case 'warning':
        // The SDK raises its own warnings from getStats.
        break;
      case 'closed':
        // The engine ended the call on its own (remote closed DTLS, fatal error): the media failed.
        this.setIce('failed');
        this.setConnection('failed');
        break;
    }
  }

  async getStats() {
    let stats = this.lastStats;
    if (this.id !== null && !this.closed) {
      stats = await this.context.backend.stats(this.id).catch(() => this.lastStats);
      this.lastStats = stats;
    }
    const connected = this.connectionState === 'connected';
    const local = connected ? candidatesOf(this.localDescription?.sdp ?? '')[0] : undefined;
    const remote = connected ? candidatesOf(this.remoteDescription?.sdp ?? '')[0] : undefined;
    return statsReport(stats, local, remote);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.context.connections.delete(this);
    this.signalingState = 'closed';
    this.iceConnectionState = 'closed';
    this.connectionState = 'closed';
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    for (const t of this.transceivers) t.receiver.track.end();
    if (this.id !== null) {
      this.context.backend.close(this.id).catch((e) => console.warn('tsunagi: closing call audio failed', e));
    }
  }
}
