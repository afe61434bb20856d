/**
 * The Voice SDK's `Device`, hosted in the webview: it does what the core asks (accept, reject, hang up, mute,
 * DTMF) and reports what happens to its calls. It decides nothing; which ring is shown and when a call is accepted
 * are the core's decisions (DESIGN.md §2).
 *
 * The SDK (`@twilio/voice-sdk`, pinned in package-lock.json) is loaded on first use, after the signaling mapping
 * below is in place: the SDK captures `WebSocket` when its module loads.
 */
import type { Call, Device } from '@twilio/voice-sdk';
import type { CoreClient, DeviceCommand, VoiceSettings } from './core-client';

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

  constructor(
    private readonly client: CoreClient,
    private readonly settings: VoiceSettings,
    private readonly onStatus: (status: VoiceStatus, detail?: string) => void = () => {},
  ) {}

  private setStatus(status: VoiceStatus, detail?: string) {
    this.status = status;
    this.onStatus(status, detail);
  }

  /** Creates and registers the Device with the first token; later tokens refresh it. */
  async setToken(token: string): Promise<void> {
    if (this.device) {
      this.device.updateToken(token);
      return;
    }
    const { chunderw, edge, mapFrom } = signalingOptions(this.settings);
    if (mapFrom && this.settings.signaling) mapSignaling(mapFrom, this.settings.signaling);
    const { Device } = await import('@twilio/voice-sdk');
    const options = {
      ...(chunderw ? { chunderw, publishEvents: false } : { edge }),
      closeProtection: true,
      logLevel: 'warn',
      sounds: Object.fromEntries(SOUNDS.map((s) => [s, `/sounds/${s === 'outgoing' ? 'ringback' : s}.wav`])),
    } as Device.Options;
    const device = (this.device = new Device(token, options));
    // The ring is the core's (one per task, from the reservation or the call): no second ringtone from the SDK.
    device.audio?.incoming(false);
    device.on('registered', () => this.setStatus('registered'));
    device.on('unregistered', () => this.setStatus('unregistered'));
    device.on('error', (e: { code?: number; message?: string }) => this.setStatus('error', `${e.code ?? ''} ${e.message ?? ''}`.trim()));
    device.on('incoming', (call: Call) => this.incoming(call));
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
    call.on('error', () => {
      if (this.accepting.delete(sid)) this.report({ type: 'acceptFailed', call: sid });
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
    if (this.calls.delete(sid)) this.report(failed ? { type: 'acceptFailed', call: sid } : { type, call: sid });
  }

  /** Carries out one of the core's Device actions. */
  handle(command: DeviceCommand) {
    const call = this.calls.get(command.call);
    if (!call) {
      console.warn('tsunagi: the core asked about a call this Device does not have', command);
      if (command.type === 'accept') this.report({ type: 'acceptFailed', call: command.call });
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
          this.report({ type: 'acceptFailed', call: command.call });
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
    this.device?.destroy();
    this.device = null;
    this.calls.clear();
    this.accepting.clear();
    this.setStatus('off');
  }
}
