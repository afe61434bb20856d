import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(async () => undefined), Channel: class {} }));
/** The SDK's Device, as far as Phone.setToken uses it: every instance is recorded with its tokens. */
const sdk = vi.hoisted(() => {
  class FakeDevice {
    static made: FakeDevice[] = [];
    tokens: string[];
    destroyed = false;
    audio = null;
    constructor(token: string) {
      this.tokens = [token];
      FakeDevice.made.push(this);
    }
    on() {
      return this;
    }
    updateToken(token: string) {
      this.tokens.push(token);
    }
    async register() {}
    destroy() {
      this.destroyed = true;
    }
  }
  return { FakeDevice };
});
vi.mock('@twilio/voice-sdk', () => ({ Device: sdk.FakeDevice }));
import { Phone, configureRingtone, ringtoneDevice, signalingOptions } from './voice';
import { invoke } from '@tauri-apps/api/core';
import { DEFAULT_AUDIO } from './settings';
import type { CoreClient, DeviceReport } from './core-client';

describe('signalingOptions', () => {
  it("uses Twilio's edge when no signaling URL is configured", () => {
    expect(signalingOptions({ edge: 'tokyo', signaling: null })).toEqual({ edge: 'tokyo' });
  });

  it('maps exactly the SDK URL to a plain ws:// stand-in', () => {
    expect(signalingOptions({ edge: 'tokyo', signaling: 'ws://127.0.0.1:8090/signal' })).toEqual({
      chunderw: '127.0.0.1:8090',
      mapFrom: 'wss://127.0.0.1:8090/signal',
    });
  });

  it('needs no mapping for a wss:// endpoint', () => {
    expect(signalingOptions({ edge: 'tokyo', signaling: 'wss://voice.example.co.jp/signal' })).toEqual({
      chunderw: 'voice.example.co.jp',
    });
  });
});


/** The part of an event emitter the SDK's Call offers and Phone uses. */
class Emitter {
  private readonly handlers = new Map<string, ((...args: unknown[]) => void)[]>();
  on(name: string, handler: (...args: unknown[]) => void) {
    this.handlers.set(name, [...(this.handlers.get(name) ?? []), handler]);
    return this;
  }
  emit(name: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(name) ?? []) handler(...args);
  }
}

/** A stand-in for the SDK's Call: an event emitter with the parameters and methods Phone uses. */
function fakeCall(sid: string, acceptThrows = false) {
  const call = Object.assign(new Emitter(), {
    parameters: { CallSid: sid, From: '+81312345678' },
    customParameters: new Map([['TaskSid', 'WT1']]),
    accepted: 0,
    accept() {
      this.accepted++;
      if (acceptThrows) throw new TypeError('undefined is not a constructor');
    },
    reject() {},
    disconnect() {},
    mute() {},
    sendDigits() {},
  });
  return call;
}

function phoneWithReports() {
  const reports: DeviceReport[] = [];
  const client = { deviceEvent: async (r: DeviceReport) => void reports.push(r) } as unknown as CoreClient;
  const phone = new Phone(client, { edge: 'tokyo', signaling: null });
  const ring = (call: ReturnType<typeof fakeCall>) => (phone as unknown as { incoming(c: unknown): void }).incoming(call);
  return { phone, reports, ring };
}

describe('Phone', () => {
  it('reports an incoming call with its custom parameters', () => {
    const { reports, ring } = phoneWithReports();
    ring(fakeCall('CA1'));
    expect(reports).toEqual([
      { type: 'incoming', call: 'CA1', customParameters: { TaskSid: 'WT1' }, from: '+81312345678' },
    ]);
  });

  it('reports a call that ends during accept() as a failed accept, not a caller hang-up', () => {
    const { phone, reports, ring } = phoneWithReports();
    const call = fakeCall('CA1');
    ring(call);
    phone.handle({ type: 'accept', call: 'CA1' });
    call.emit('disconnect');
    expect(call.accepted).toBe(1);
    expect(reports.at(-1)).toEqual({ type: 'acceptFailed', call: 'CA1', reason: 'the call ended during accept (disconnected)' });
  });

  it('reports a caller who hangs up while ringing as canceled', () => {
    const { reports, ring } = phoneWithReports();
    const call = fakeCall('CA1');
    ring(call);
    call.emit('cancel');
    expect(reports.at(-1)).toEqual({ type: 'canceled', call: 'CA1' });
  });

  it('reports accept() throwing (no RTCPeerConnection) as a failed accept, once', () => {
    const { phone, reports, ring } = phoneWithReports();
    const call = fakeCall('CA1', true);
    ring(call);
    phone.handle({ type: 'accept', call: 'CA1' });
    expect(reports.filter((r) => r.type === 'acceptFailed')).toEqual([
      { type: 'acceptFailed', call: 'CA1', reason: 'accept() threw: TypeError: undefined is not a constructor' },
    ]);
  });

  it('answers an accept for a call it does not have with a failed accept', () => {
    const { phone, reports } = phoneWithReports();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    phone.handle({ type: 'accept', call: 'CA9' });
    expect(reports).toEqual([{ type: 'acceptFailed', call: 'CA9', reason: 'this Device does not have the call' }]);
    warn.mockRestore();
  });
});

describe('Phone: one Device', () => {
  const live = () => sdk.FakeDevice.made.filter((d) => !d.destroyed);

  it('creates one Device when the first token arrives twice while the SDK loads, with the newest token', async () => {
    sdk.FakeDevice.made = [];
    const { phone } = phoneWithReports();
    // The core's token event and the window's own voice_token request both deliver the first token.
    await Promise.all([phone.setToken('token-1'), phone.setToken('token-2')]);
    expect(sdk.FakeDevice.made).toHaveLength(1);
    expect(sdk.FakeDevice.made[0].tokens).toEqual(['token-2']);
    await phone.setToken('token-3');
    expect(sdk.FakeDevice.made).toHaveLength(1);
    expect(sdk.FakeDevice.made[0].tokens).toEqual(['token-2', 'token-3']);
  });

  it('creates no Device once destroyed while the SDK was loading, so no stray registration takes calls', async () => {
    sdk.FakeDevice.made = [];
    const { phone } = phoneWithReports();
    const pending = phone.setToken('token-1');
    phone.destroy();
    await pending;
    await phone.setToken('token-2');
    expect(live()).toEqual([]);
    expect(phone.status).toBe('off');
  });
});

describe('Phone: outgoing calls', () => {
  const attempt = '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab';
  const flush = () => new Promise((r) => setTimeout(r, 0));

  /** A Phone whose Device's connect() resolves to `call` (or throws), recording the params it was given. */
  function withDevice(connect: (params: unknown) => Promise<unknown>) {
    const { phone, reports } = phoneWithReports();
    const asked: unknown[] = [];
    (phone as unknown as { device: unknown }).device = {
      connect: (options: { params: unknown }) => (asked.push(options.params), connect(options.params)),
    };
    return { phone, reports, asked };
  }

  it('dials with To and TsunagiAttempt, reports the CallSid once the SDK knows it, then accepted and disconnected', async () => {
    const call = fakeCall('');
    const { phone, reports, asked } = withDevice(async () => call);
    phone.handle({ type: 'connect', to: '+81312345678', attempt });
    await flush();
    expect(asked).toEqual([{ To: '+81312345678', TsunagiAttempt: attempt }]);
    expect(reports).toEqual([]);
    call.parameters.CallSid = 'CA7';
    call.emit('ringing');
    call.emit('accept');
    phone.handle({ type: 'sendDigits', call: 'CA7', digits: '5' });
    call.emit('disconnect');
    expect(reports).toEqual([
      { type: 'outgoing', call: 'CA7', attempt },
      { type: 'accepted', call: 'CA7' },
      { type: 'disconnected', call: 'CA7' },
    ]);
  });

  it('reports a connect() that throws (no WebRTC) or ends before a CallSid as a failed attempt', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { phone, reports } = withDevice(async () => {
      throw new TypeError('RTCPeerConnection is not defined');
    });
    phone.handle({ type: 'connect', to: '+81312345678', attempt });
    await flush();
    expect(reports).toEqual([{ type: 'outgoingFailed', attempt }]);

    const call = fakeCall('');
    const second = withDevice(async () => call);
    second.phone.handle({ type: 'connect', to: '+81312345678', attempt });
    await flush();
    call.emit('disconnect');
    expect(second.reports).toEqual([{ type: 'outgoingFailed', attempt }]);
    warn.mockRestore();
  });
});

describe('native ringtone', () => {
  it('rings on the chosen device, else on the speaker, else the system default', () => {
    expect(ringtoneDevice({ ...DEFAULT_AUDIO, ringtone: 'pulseaudio:ring', speaker: 'pulseaudio:spk' })).toBe('pulseaudio:ring');
    expect(ringtoneDevice({ ...DEFAULT_AUDIO, speaker: 'pulseaudio:spk' })).toBe('pulseaudio:spk');
    expect(ringtoneDevice(DEFAULT_AUDIO)).toBeNull();
  });

  it('hands the device and volume to the app', async () => {
    await configureRingtone({ ...DEFAULT_AUDIO, speaker: 'pulseaudio:spk', ringtoneVolume: 0.25 });
    expect(invoke).toHaveBeenCalledWith('ringtone_configure', { device: 'pulseaudio:spk', volume: 0.25 });
  });
});
