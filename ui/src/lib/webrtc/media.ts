/**
 * `MediaStream`, `MediaStreamTrack`, `getUserMedia` and `enumerateDevices` for the shim: a track names a native
 * device (its `deviceId`); no audio flows through JS. The native engine opens the device when a call starts
 * and falls back to the default one (with a message) when it cannot.
 */
import type { MediaBackend, NativeDevice, Processing } from './backend';

let nextId = 1;
const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(nextId++).toString(36)}`;

/** A `DOMException` where the environment has one (browsers), else an `Error` with the same `name`. */
export function domError(name: string, message: string): Error {
  if (typeof DOMException === 'function') return new DOMException(message, name) as unknown as Error;
  return Object.assign(new Error(message), { name });
}

/** An audio track standing for a native device. Setting `enabled` mutes the calls that send it. */
export class ShimMediaStreamTrack extends EventTarget {
  readonly kind = 'audio';
  readonly id = newId('track');
  readonly contentHint = '';
  readonly muted = false;
  readyState: 'live' | 'ended' = 'live';
  onended: ((event: Event) => void) | null = null;
  onmute: ((event: Event) => void) | null = null;
  onunmute: ((event: Event) => void) | null = null;
  private _enabled = true;
  private readonly watchers = new Set<(enabled: boolean) => void>();

  constructor(
    readonly label: string,
    readonly deviceId: string,
    /** The microphone processing the native call runs (the `getUserMedia` constraints of the same names). */
    readonly processing: Processing = DEFAULT_PROCESSING,
  ) {
    super();
  }

  get enabled() {
    return this._enabled;
  }

  set enabled(value: boolean) {
    const enabled = !!value;
    if (enabled === this._enabled) return;
    this._enabled = enabled;
    for (const watch of this.watchers) watch(enabled);
  }

  /** Called with `enabled` on every change (the peer connections sending this track). */
  watch(onChange: (enabled: boolean) => void): () => void {
    this.watchers.add(onChange);
    return () => this.watchers.delete(onChange);
  }

  stop() {
    this.readyState = 'ended';
  }

  /** Ends the track from the outside (the device went away), with the `ended` event. */
  end() {
    if (this.readyState === 'ended') return;
    this.readyState = 'ended';
    const event = new Event('ended');
    this.dispatchEvent(event);
    this.onended?.(event);
  }

  clone(): ShimMediaStreamTrack {
    const copy = new ShimMediaStreamTrack(this.label, this.deviceId, this.processing);
    copy.enabled = this.enabled;
    return copy;
  }

  getSettings() {
    return { deviceId: this.deviceId, groupId: '', sampleRate: 48000, channelCount: 1, ...this.processing };
  }

  getConstraints() {
    return { deviceId: this.deviceId };
  }

  getCapabilities() {
    return { deviceId: this.deviceId, echoCancellation: [true, false], noiseSuppression: [true, false], autoGainControl: [true, false] };
  }

  applyConstraints() {
    return Promise.resolve();
  }
}

/** A stream of shim tracks (the SDK clones streams with `new MediaStream()` + `addTrack`). */
export class ShimMediaStream extends EventTarget {
  readonly id = newId('stream');
  onaddtrack: ((event: Event) => void) | null = null;
  onremovetrack: ((event: Event) => void) | null = null;
  private readonly tracks: ShimMediaStreamTrack[];

  constructor(tracks?: ShimMediaStreamTrack[] | ShimMediaStream) {
    super();
    this.tracks = tracks instanceof ShimMediaStream ? tracks.getTracks() : [...(tracks ?? [])];
  }

  get active() {
    return this.tracks.some((t) => t.readyState === 'live');
  }

  getTracks() {
    return [...this.tracks];
  }

  getAudioTracks() {
    return this.getTracks();
  }

  getVideoTracks(): ShimMediaStreamTrack[] {
    return [];
  }

  getTrackById(id: string) {
    return this.tracks.find((t) => t.id === id) ?? null;
  }

  addTrack(track: ShimMediaStreamTrack) {
    if (!(track instanceof ShimMediaStreamTrack)) throw new TypeError('not a track of this media engine');
    if (!this.tracks.includes(track)) this.tracks.push(track);
  }

  removeTrack(track: ShimMediaStreamTrack) {
    const at = this.tracks.indexOf(track);
    if (at >= 0) this.tracks.splice(at, 1);
  }

  clone() {
    return new ShimMediaStream(this.tracks.map((t) => t.clone()));
  }
}

/** `MediaDeviceInfo` for a native device. */
export interface ShimDeviceInfo {
  deviceId: string;
  groupId: string;
  kind: 'audioinput' | 'audiooutput';
  label: string;
  toJSON(): Omit<ShimDeviceInfo, 'toJSON'>;
}

function info(deviceId: string, kind: ShimDeviceInfo['kind'], label: string): ShimDeviceInfo {
  return {
    deviceId,
    groupId: '',
    kind,
    label,
    toJSON() {
      return { deviceId, groupId: '', kind, label };
    },
  };
}

/** Native devices as `enumerateDevices` lists them, each kind led by Chrome-style `default` entry. */
export function toDeviceInfos(devices: NativeDevice[]): ShimDeviceInfo[] {
  const out: ShimDeviceInfo[] = [];
  for (const [kind, native] of [
    ['audioinput', 'input'],
    ['audiooutput', 'output'],
  ] as const) {
    const list = devices.filter((d) => d.kind === native);
    if (!list.length) continue;
    const current = list.find((d) => d.isDefault) ?? list[0];
    out.push(info('default', kind, `Default - ${current.label}`));
    for (const d of list) out.push(info(d.id, kind, d.label));
  }
  return out;
}

/** The device id a `getUserMedia` audio constraint asks for (`undefined`: any). */
export function requestedDevice(audio: unknown): { id?: string; exact: boolean } {
  if (!audio || typeof audio !== 'object') return { exact: false };
  const deviceId = (audio as { deviceId?: unknown }).deviceId;
  const pick = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  if (typeof deviceId === 'string') return { id: deviceId, exact: false };
  if (Array.isArray(deviceId)) return { id: pick(deviceId), exact: false };
  if (deviceId && typeof deviceId === 'object') {
    const c = deviceId as { exact?: unknown; ideal?: unknown };
    if (c.exact !== undefined) return { id: String(pick(c.exact)), exact: true };
    if (c.ideal !== undefined) return { id: String(pick(c.ideal)), exact: false };
  }
  return { exact: false };
}

/** Echo cancellation, noise suppression and gain control: all on unless a constraint turns them off. */
export const DEFAULT_PROCESSING: Processing = Object.freeze({ echoCancellation: true, noiseSuppression: true, autoGainControl: true });

/** The processing a `getUserMedia` audio constraint asks for (`false`, `{exact:false}` or `{ideal:false}` turn a stage off). */
export function requestedProcessing(audio: unknown): Processing {
  const out = { ...DEFAULT_PROCESSING };
  if (!audio || typeof audio !== 'object') return out;
  for (const key of Object.keys(out) as (keyof Processing)[]) {
    const v = (audio as Record<string, unknown>)[key];
    const c = v && typeof v === 'object' ? (v as { exact?: unknown; ideal?: unknown }) : undefined;
    const wanted = c ? (c.exact ?? c.ideal) : v;
    if (typeof wanted === 'boolean') out[key] = wanted;
  }
  return out;
}

/** `navigator.mediaDevices.getUserMedia`, audio only, on the native devices. */
export function makeGetUserMedia(backend: MediaBackend) {
  return async (constraints?: { audio?: unknown; video?: unknown }): Promise<ShimMediaStream> => {
    if (!constraints || (!constraints.audio && !constraints.video)) {
      throw new TypeError('getUserMedia: audio or video must be requested');
    }
    if (constraints.video) throw domError('NotFoundError', 'this media engine has no camera');
    const wanted = requestedDevice(constraints.audio);
    const inputs = (await backend.devices().catch(() => [] as NativeDevice[])).filter((d) => d.kind === 'input');
    const chosen = wanted.id && wanted.id !== 'default' ? inputs.find((d) => d.id === wanted.id) : undefined;
    if (wanted.exact && wanted.id && wanted.id !== 'default' && !chosen) {
      throw domError('OverconstrainedError', `microphone ${wanted.id} is not connected`);
    }
    // With no microphone at all the call still starts: the engine reports "no microphone" to the agent and
    // picks one up when it appears (never a silent failure to answer).
    const device = chosen ?? inputs.find((d) => d.isDefault) ?? inputs[0];
    const label = device?.label ?? 'Default microphone';
    return new ShimMediaStream([new ShimMediaStreamTrack(label, chosen ? chosen.id : 'default', requestedProcessing(constraints.audio))]);
  };
}

/** `navigator.mediaDevices.enumerateDevices` on the native devices. */
export function makeEnumerateDevices(backend: MediaBackend) {
  return async (): Promise<ShimDeviceInfo[]> => toDeviceInfos(await backend.devices());
}
