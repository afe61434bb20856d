/**
 * The Voice SDK's `Device`, hosted in the webview: it does what the core asks (accept, reject, hang up, mute,
 * DTMF, place an outgoing call) and reports what happens to its calls. It decides nothing; which ring is shown and when a call is accepted
 * are the core's decisions (DESIGN.md §2).
 *
 * The SDK (`@twilio/voice-sdk`, pinned in package-lock.json) is loaded on first use, after the signaling mapping
 * below is in place: the SDK captures `WebSocket` when its module loads.
 */
import { invoke } from '@tauri-apps/api/core';
import type { Call, Device } from '@twilio/voice-sdk';
import type { CoreClient, DeviceCommand, VoiceSettings } from './core-client';
import { callQuality } from './quality.svelte';
import type { AudioPrefs } from './settings';
import { enumerateNativeDevices, installShim, needsShim, type DeviceProblem, type Shim } from './webrtc';

export type VoiceStatus = 'off' | 'registering' | 'registered' | 'unregistered' | 'error';

const SOUNDS = ['outgoing', 'disconnect', ...'0123456789'.split('').map((d) => `dtmf${d}`), 'dtmfs', 'dtmfh'] as const;

/**
 * The SDK only dials `wss://<chunderw>/signal`. A configured `ws://` signaling URL (the local stand-in, which has
 * no TLS) is reached by mapping exactly that URL; nothing else is touched, and without such a setting (Twilio's
 * edge) no mapping is installed.
 */
export function signalingOptions(settings: VoiceSettings): { chunderw?: string; edge?: string; mapFrom?: string } {
  if (!settings.signaling) return { edge: settings.edge };
  const url = new URL(settings.signaling);
  const chunderw = url.host;
  return url.protocol === 'ws:' ? { chunderw, mapFrom: `wss://${chunderw}/signal` } : { chunderw };
}

function mapSignaling(from: string, to: string) {
  const Native = globalThis.WebSocket;
  if ((Native as { tsunagiMapped?: boolean }).tsunagiMapped) return;
  const Mapped = class extends Native {
    static tsunagiMapped = true;
    constructor(url: string | URL, protocols?: string | string[]) {
      super(String(url) === from ? to : url, protocols);
    }
  };
  globalThis.WebSocket = Mapped;
}

export class Phone {
  private device: Device | null = null;
  private readonly calls = new Map<string, Call>();
  /** Calls whose `accept()` is under way: an error now means the accept failed. */
  private readonly accepting = new Set<string>();
  status: VoiceStatus = 'off';
  /** The newest Access Token: the Device is created with it, even if it arrived while the SDK loaded. */
  private token = '';
  /** The Device's creation, while the SDK loads. */
  private creating: Promise<void> | null = null;
  /** Signed out: no Device may be created any more. */
  private destroyed = false;
  private audio: AudioPrefs | null = null;
  /** The native-audio WebRTC shim, where the webview has no WebRTC (Debian's WebKitGTK). */
  private shim: Shim | null = null;

  constructor(
    private readonly client: CoreClient,
    private readonly settings: VoiceSettings,
    private readonly onStatus: (status: VoiceStatus, detail?: string, code?: number) => void = () => {},
  ) {}

  private setStatus(status: VoiceStatus, detail?: string, code?: number) {
    this.status = status;
    this.onStatus(status, detail, code);
  }

  /**
   * Creates and registers the Device with the first token; later tokens refresh it. Exactly one Device per
   * Phone, and none once destroyed: a token that arrives while the SDK still loads (the core's token event and
   * the window's own request can both deliver the first token) goes to the Device being created, and a Phone
   * destroyed meanwhile creates none. A second Device would register this agent again, and the stand-in (like
   * any edge that picks one registration) could ring it: its calls then reach the core, but `accept` is handled
   * by the Phone that does not have them, and the answer fails at once.
   */
  async setToken(token: string): Promise<void> {
    if (this.destroyed) return;
    this.token = token;
    if (this.device) {
      this.device.updateToken(token);
      return;
    }
    this.creating ??= this.create().finally(() => (this.creating = null));
    return this.creating;
  }

  private async create(): Promise<void> {
    const { chunderw, edge, mapFrom } = signalingOptions(this.settings);
    if (mapFrom && this.settings.signaling) mapSignaling(mapFrom, this.settings.signaling);
    const { Device } = await import('@twilio/voice-sdk');
    if (this.destroyed) return;
    if (needsShim()) this.shim ??= installShim({ onDeviceProblem: (p) => this.deviceProblem(p) });
    const options = {
      ...this.shim?.overrides,
      ...(chunderw ? { chunderw, publishEvents: false } : { edge }),
      closeProtection: true,
      logLevel: 'warn',
      sounds: Object.fromEntries(SOUNDS.map((s) => [s, `/sounds/${s === 'outgoing' ? 'ringback' : s}.wav`])),
    } as Device.Options;
    const device = (this.device = new Device(this.token, options));
    // The ring is the core's (one per task, from the reservation or the call): no second ringtone from the SDK.
    device.audio?.incoming(false);
    device.on('registered', () => this.setStatus('registered'));
    device.on('unregistered', () => this.setStatus('unregistered'));
    device.on('error', (e: { code?: number; message?: string }) =>
      this.setStatus('error', `${e.code ?? ''} ${e.message ?? ''}`.trim(), e.code),
    );
    device.on('incoming', (call: Call) => this.incoming(call));
    if (this.audio) this.applyAudio(this.audio);
    this.setStatus('registering');
    await device.register().catch((e: Error) => this.setStatus('error', e.message));
  }

  private report(report: Parameters<CoreClient['deviceEvent']>[0]) {
    this.client.deviceEvent(report).catch((e) => console.warn('tsunagi: a call event did not reach the core', e));
  }

  private incoming(call: Call) {
    const sid = call.parameters.CallSid;
    this.calls.set(sid, call);
    call.on('cancel', () => this.end(sid, 'canceled'));
    call.on('reject', () => this.calls.delete(sid));
    call.on('accept', () => {
      this.accepting.delete(sid);
      this.report({ type: 'accepted', call: sid });
    });
    call.on('disconnect', () => this.end(sid, 'disconnected'));
    call.on('mute', (muted: boolean) => this.report({ type: 'muted', call: sid, muted }));
    this.watchQuality(call, () => sid, () => sid);
    call.on('error', (e: { code?: number; message?: string }) => {
      if (this.accepting.delete(sid)) this.report({ type: 'acceptFailed', call: sid, reason: `call error ${e?.code ?? ''} ${e?.message ?? ''}`.trim() });
    });
    this.report({
      type: 'incoming',
      call: sid,
      customParameters: Object.fromEntries(call.customParameters),
      from: call.parameters.From ?? null,
    });
  }

  private end(sid: string, type: 'canceled' | 'disconnected') {
    // A call that ends while its accept() is under way did not connect: that is the accept failing (WebKitGTK's
    // missing RTCPeerConnection ends it this way), not the caller hanging up.
    const failed = this.accepting.delete(sid);
    callQuality.end(sid);
    if (this.calls.delete(sid)) {
      this.report(failed ? { type: 'acceptFailed', call: sid, reason: `the call ended during accept (${type})` } : { type, call: sid });
    }
  }

  /**
   * The SDK's call quality warnings (its stats monitor; under the shim too, from the native engine's getStats)
   * become the call screen's quality banner (./quality.svelte.ts) until cleared or the call ends; each raise and
   * clear goes to the app's log too (the webview's console is not in it).
   */
  private watchQuality(call: Call, key: () => string, sid: () => string | null) {
    const log = (warning: string, raised: boolean) => {
      const known = sid();
      if (known) this.report({ type: 'qualityWarning', call: known, warning, raised });
    };
    // The SDK's own low-mos (below 3.0) is left out: the MOS warning comes from its samples at 3.5 (quality.svelte.ts).
    call.on('warning', (name: string) => {
      if (name === 'low-mos') return;
      callQuality.raise(key(), name);
      log(name, true);
    });
    call.on('warning-cleared', (name: string) => {
      if (name === 'low-mos') return;
      callQuality.clear(key(), name);
      log(name, false);
    });
    call.on('sample', (sample: { mos?: number | null }) => {
      const change = callQuality.sample(key(), sample?.mos ?? null);
      if (change) log('low-mos', change === 'raised');
    });
  }

  /** A microphone or speaker problem during a call (native audio): the agent reads why, and what is used now. */
  private deviceProblem(problem: DeviceProblem) {
    const text =
      problem.type === 'restored'
        ? `${problem.kind === 'input' ? 'Microphone' : 'Speaker'}: ${problem.label}`
        : problem.type === 'lost' && problem.fallback
          ? `${problem.message}; now using ${problem.fallback}`
          : problem.message;
    console.warn('tsunagi: audio device', problem);
    this.setStatus(this.status, text);
  }

  /** Uses the chosen microphone and speaker (now, or when the Device is created); unknown ids are ignored. */
  applyAudio(prefs: AudioPrefs) {
    this.audio = prefs;
    const audio = this.device?.audio;
    if (!audio) return;
    // Under the shim "system default" is a device too ('default'), so a running call follows a change back to it.
    const microphone = prefs.microphone || (this.shim ? 'default' : '');
    if (microphone) audio.setInputDevice(microphone).catch((e) => console.warn('tsunagi: microphone not set', e));
    this.shim?.setOutputDevice(prefs.speaker || null);
    if (prefs.speaker && audio.isOutputSelectionSupported) {
      audio.speakerDevices.set(prefs.speaker).catch((e) => console.warn('tsunagi: speaker not set', e));
    }
  }

  /** `device.connect()` for the core's outgoing attempt; the CallSid is reported once the SDK knows it. */
  private async connect(to: string, attempt: string) {
    const failed = () => this.report({ type: 'outgoingFailed', attempt });
    if (!this.device) return failed();
    let call: Call;
    try {
      call = await this.device.connect({ params: { To: to, TsunagiAttempt: attempt } });
    } catch (e) {
      // WebKitGTK has no RTCPeerConnection: no call can carry audio here (crates/media will).
      console.warn('tsunagi: placing the call failed', e);
      return failed();
    }
    let sid: string | null = null;
    const learn = () => {
      const known = call.parameters?.CallSid;
      if (sid || !known) return;
      sid = known;
      this.calls.set(known, call);
      this.report({ type: 'outgoing', call: known, attempt });
    };
    call.on('ringing', learn);
    call.on('accept', () => {
      learn();
      if (sid) this.report({ type: 'accepted', call: sid });
    });
    call.on('mute', (muted: boolean) => sid && this.report({ type: 'muted', call: sid, muted }));
    this.watchQuality(call, () => sid ?? attempt, () => sid);
    const gone = () => {
      callQuality.end(attempt);
      return sid ? this.end(sid, 'disconnected') : failed();
    };
    call.on('disconnect', gone);
    call.on('cancel', gone);
    call.on('reject', gone);
    call.on('error', (e: { code?: number; message?: string }) => {
      // A call-level error (busy, no answer, the gateway's HANGUP) is shown with the Device's status.
      this.setStatus(this.status, `${e.code ?? ''} ${e.message ?? ''}`.trim(), e.code);
      if (!sid) failed();
    });
  }

  /** Carries out one of the core's Device actions. */
  handle(command: DeviceCommand) {
    if (command.type === 'connect') {
      void this.connect(command.to, command.attempt);
      return;
    }
    const call = this.calls.get(command.call);
    if (!call) {
      console.warn('tsunagi: the core asked about a call this Device does not have', command);
      if (command.type === 'accept') this.report({ type: 'acceptFailed', call: command.call, reason: 'this Device does not have the call' });
      return;
    }
    switch (command.type) {
      case 'accept':
        this.accepting.add(command.call);
        try {
          call.accept();
        } catch (e) {
          // WebKitGTK has no RTCPeerConnection: the call cannot carry audio here (crates/media will).
          console.warn('tsunagi: accepting the call failed', e);
          this.accepting.delete(command.call);
          this.report({ type: 'acceptFailed', call: command.call, reason: `accept() threw: ${String(e)}` });
        }
        break;
      case 'reject':
        call.reject();
        break;
      case 'disconnect':
        call.disconnect();
        break;
      case 'mute':
        call.mute(command.muted);
        break;
      case 'sendDigits':
        call.sendDigits(command.digits);
        break;
    }
  }

  /** Unregisters and forgets every call (sign-out). */
  destroy() {
    this.destroyed = true;
    this.device?.destroy();
    this.device = null;
    this.calls.clear();
    this.accepting.clear();
    callQuality.end();
    this.setStatus('off');
  }
}

/**
 * Whether this webview can carry call audio at all: its own WebRTC, or (Debian's WebKitGTK is built without
 * WebRTC) the app's native engine behind the shim in ./webrtc.
 */
export const hasWebRtc = () => typeof globalThis.RTCPeerConnection !== 'undefined' || needsShim();

/** Whether audio can be sent to a chosen output device (`HTMLMediaElement.setSinkId`). */
export const canPickOutput = () =>
  needsShim() ||
  typeof globalThis.HTMLMediaElement !== 'undefined' && 'setSinkId' in globalThis.HTMLMediaElement.prototype;

export interface AudioDevices {
  inputs: MediaDeviceInfo[];
  outputs: MediaDeviceInfo[];
}

/** The microphones and speakers the webview can see (none when media devices are unavailable). */
export async function listAudioDevices(): Promise<AudioDevices> {
  const media = globalThis.navigator?.mediaDevices;
  let all: MediaDeviceInfo[];
  // Settings offers its own "system default": the shim's Chrome-style `default` entries are left out.
  if (needsShim()) all = (await enumerateNativeDevices().catch(() => [])).filter((d) => d.deviceId !== 'default') as MediaDeviceInfo[];
  else if (media?.enumerateDevices) all = await media.enumerateDevices().catch(() => [] as MediaDeviceInfo[]);
  else return { inputs: [], outputs: [] };
  return {
    inputs: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
    outputs: all.filter((d) => d.kind === 'audiooutput' && d.deviceId),
  };
}

/**
 * The ringtone. Where the shim carries call audio (the webview cannot route audio: no `setSinkId`), the app rings
 * natively (src-tauri/src/ringtone.rs): it follows the core's ring state by itself, so the page neither starts
 * nor stops it and plays no `<audio>` ring; the page only says on which device and how loud. Elsewhere the page
 * rings with `<audio>`. Either way the SDK's own incoming sound stays off (`device.audio.incoming(false)`), so
 * exactly one ring sounds.
 */
export const nativeRing = () => needsShim();

/** The native ring's output: the chosen ringtone device, else the speaker (`''`, "default", follows the speaker). */
export const ringtoneDevice = (prefs: AudioPrefs): string | null => prefs.ringtone || prefs.speaker || null;

/** Tells the app where and how loud the native ring sounds (call again whenever the preferences change). */
export function configureRingtone(prefs: AudioPrefs): Promise<void> {
  return invoke('ringtone_configure', { device: ringtoneDevice(prefs), volume: prefs.ringtoneVolume });
}

/** Settings' test: one ring cycle (3 s) on the native ring's device, or stops it. */
export function previewRingtone(on: boolean): Promise<void> {
  return invoke('ringtone_preview', { on });
}
