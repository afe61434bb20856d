/**
 * An in-memory `MediaBackend` for unit tests of the shim: it answers with a real-looking str0m SDP and lets the
 * test play the engine's events. The real engine is exercised by tests/desktop/audio.sh.
 */
import type { MediaBackend, NativeDevice, NativeEvent, NativeStats, OpenOptions } from './backend';

const sdp = (type: 'offer' | 'answer', port: number) =>
  [
    'v=0',
    'o=str0m-4242 1 2 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    `m=audio ${port} UDP/TLS/RTP/SAVPF 0 111`,
    'c=IN IP4 127.0.0.1',
    'a=mid:0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:efghijklmnopqrstuvwxyz12',
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
    'a=sendrecv',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:111 opus/48000/2',
    `a=candidate:1 1 udp 2130706175 127.0.0.1 ${port} typ host`,
    'a=end-of-candidates',
    '',
  ].join('\r\n');

export const REMOTE_OFFER = sdp('offer', 40000);
export const REMOTE_ANSWER = sdp('answer', 40002);

export interface FakeCall {
  id: number;
  options: OpenOptions;
  emit: (event: NativeEvent) => void;
  muted: boolean;
  /** Every `setDevices` asked during the call, in order. */
  switches: { input?: string; output?: string }[];
  closed: boolean;
  offers: string[];
  answers: string[];
}

export const stats = (over: Partial<NativeStats> = {}): NativeStats => ({
  codec: 'pcmu',
  packetsSent: 100,
  bytesSent: 16000,
  packetsReceived: 98,
  bytesReceived: 15680,
  packetsLost: 2,
  loss: 0.02,
  jitterMs: 4,
  rttMs: 12,
  mos: 4.3,
  concealed: 1,
  late: 0,
  jitterBufferMs: 40,
  inputLevel: 0.2,
  outputLevel: 0.17,
  warnings: [],
  ...over,
});

export class FakeBackend implements MediaBackend {
  readonly calls: FakeCall[] = [];
  list: NativeDevice[] = [
    { id: 'pulseaudio:vmic', label: 'Virtual Mic', kind: 'input', isDefault: true },
    { id: 'pulseaudio:usb', label: 'USB Headset', kind: 'input', isDefault: false },
    { id: 'pulseaudio:spk', label: 'Speaker', kind: 'output', isDefault: true },
  ];
  failOffer: string | null = null;

  call(id: number) {
    const call = this.calls.find((c) => c.id === id);
    if (!call || call.closed) throw Object.assign(new Error("this call's audio has ended"), { kind: 'mediaEnded' });
    return call;
  }

  async devices() {
    return this.list.map((d) => ({ ...d }));
  }

  async open(options: OpenOptions, emit: (event: NativeEvent) => void) {
    const id = this.calls.length + 1;
    this.calls.push({ id, options, emit, muted: false, switches: [], closed: false, offers: [], answers: [] });
    return id;
  }

  async createOffer(id: number) {
    const offer = sdp('offer', 50000 + id);
    this.call(id).offers.push(offer);
    return offer;
  }

  async acceptAnswer(id: number, answer: string) {
    this.call(id).answers.push(answer);
  }

  async acceptOffer(id: number, offer: string) {
    if (this.failOffer) throw new Error(this.failOffer);
    this.call(id).offers.push(offer);
    return sdp('answer', 50000 + id);
  }

  async setMuted(id: number, muted: boolean) {
    this.call(id).muted = muted;
  }

  async setDevices(id: number, devices: { input?: string; output?: string }) {
    this.call(id).switches.push(devices);
  }

  async stats(id: number) {
    this.call(id);
    return stats();
  }

  async close(id: number) {
    const call = this.calls.find((c) => c.id === id);
    if (call) call.closed = true;
  }
}
