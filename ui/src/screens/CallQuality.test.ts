import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(async () => undefined), Channel: class {} }));
vi.mock('@twilio/voice-sdk', () => ({ Device: class {} }));
import CallPanel from './CallPanel.svelte';
import { i18n } from '../lib/i18n.svelte';
import { callQuality } from '../lib/quality.svelte';
import type { CoreClient, DeviceReport } from '../lib/core-client';
import type { Call } from '../lib/session';
import { Phone } from '../lib/voice';

/** The SDK's Call as far as Phone uses it: an event emitter with its parameters. */
class FakeSdkCall {
  private readonly handlers = new Map<string, ((...args: unknown[]) => void)[]>();
  parameters = { CallSid: 'CA1', From: '+81312345678' };
  customParameters = new Map([['TaskSid', 'WT1']]);
  on(name: string, handler: (...args: unknown[]) => void) {
    this.handlers.set(name, [...(this.handlers.get(name) ?? []), handler]);
    return this;
  }
  emit(name: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(name) ?? []) handler(...args);
  }
  accept() {}
  reject() {}
  disconnect() {}
  mute() {}
  sendDigits() {}
}

const call: Call = { target: { kind: 'task', sid: 'WT1' }, phase: 'connected', muted: false, onHold: false, connectedAt: Date.now() };

function setup() {
  const reports: DeviceReport[] = [];
  const client = { deviceEvent: async (r: DeviceReport) => void reports.push(r), send: async () => {} } as unknown as CoreClient;
  const phone = new Phone(client, { edge: 'tokyo', signaling: null });
  const sdkCall = new FakeSdkCall();
  (phone as unknown as { incoming(c: unknown): void }).incoming(sdkCall);
  const panel = mount(CallPanel, { target: document.body, props: { client, call } });
  flushSync();
  return { phone, sdkCall, panel, reports };
}

const banner = () => document.querySelector('#call-quality')?.textContent ?? null;

afterEach(() => {
  callQuality.end();
  i18n.set('en');
  document.body.innerHTML = '';
});

describe('call quality banner', () => {
  it('tells the agent what is wrong and what to do, in English and Japanese, until the SDK clears it', () => {
    i18n.set('en');
    const { sdkCall, panel, reports } = setup();
    expect(banner()).toBeNull();
    sdkCall.emit('warning', 'high-rtt', { value: 612 });
    flushSync();
    expect(banner()).toContain('Your connection is delaying the audio (over 400 ms)');
    expect(banner()).toContain('Use a wired network');
    sdkCall.emit('warning', 'high-packets-lost-fraction', {});
    sdkCall.emit('warning', 'high-packet-loss', {});
    flushSync();
    expect(document.querySelector('#call-quality')?.getAttribute('data-warnings')).toBe('rtt loss');
    expect(banner()).toContain('Audio is breaking up: packets are being lost');

    i18n.set('ja');
    flushSync();
    expect(banner()).toContain('回線の遅延で音声が遅れています (400 ms 超)');
    expect(banner()).toContain('音声が途切れています: パケットが失われています');
    expect(banner()).toContain('有線 LAN');

    sdkCall.emit('warning-cleared', 'high-rtt');
    flushSync();
    expect(banner()).not.toContain('400 ms');
    // Both loss warnings mean the same to the agent: it stays until the second clears too.
    sdkCall.emit('warning-cleared', 'high-packet-loss');
    flushSync();
    expect(banner()).toContain('パケットが失われています');
    sdkCall.emit('warning-cleared', 'high-packets-lost-fraction');
    flushSync();
    expect(banner()).toBeNull();
    // Every raise and clear reaches the app's log through the Device report path.
    expect(reports.filter((r) => r.type === 'qualityWarning')).toEqual([
      { type: 'qualityWarning', call: 'CA1', warning: 'high-rtt', raised: true },
      { type: 'qualityWarning', call: 'CA1', warning: 'high-packets-lost-fraction', raised: true },
      { type: 'qualityWarning', call: 'CA1', warning: 'high-packet-loss', raised: true },
      { type: 'qualityWarning', call: 'CA1', warning: 'high-rtt', raised: false },
      { type: 'qualityWarning', call: 'CA1', warning: 'high-packet-loss', raised: false },
      { type: 'qualityWarning', call: 'CA1', warning: 'high-packets-lost-fraction', raised: false },
    ]);
    unmount(panel);
  });

  it('names a silent microphone, and ignores warnings it does not show (and the SDK low-mos: 3.0, not 3.5)', () => {
    const { sdkCall, panel } = setup();
    sdkCall.emit('warning', 'constant-audio-input-level', {});
    sdkCall.emit('warning', 'low-mos', {});
    sdkCall.emit('warning', 'something-new', {});
    flushSync();
    expect(document.querySelector('#call-quality')?.getAttribute('data-warnings')).toBe('mic');
    expect(banner()).toContain('Your microphone seems silent or stuck');
    unmount(panel);
  });

  it('says call quality is low when 3 of the last 5 samples estimate MOS below 3.5, and clears when none does', () => {
    const { sdkCall, panel, reports } = setup();
    const sample = (mos: number | null) => {
      sdkCall.emit('sample', { mos });
      flushSync();
    };
    // 3.4 is above the SDK's own 3.0 but below the product's 3.5.
    for (const mos of [null, 4.2, 3.4, 4.1, 3.4]) sample(mos);
    expect(banner()).toBeNull();
    sample(3.4);
    expect(document.querySelector('#call-quality')?.getAttribute('data-warnings')).toBe('mos');
    expect(banner()).toContain('Call quality is low');
    // Cleared only once the last 5 samples are all good again.
    for (const mos of [4.2, 4.2, 4.2, 4.2]) sample(mos);
    expect(banner()).not.toBeNull();
    sample(4.2);
    expect(banner()).toBeNull();
    expect(reports.filter((r) => r.type === 'qualityWarning')).toEqual([
      { type: 'qualityWarning', call: 'CA1', warning: 'low-mos', raised: true },
      { type: 'qualityWarning', call: 'CA1', warning: 'low-mos', raised: false },
    ]);
    unmount(panel);
  });

  it('goes when the call ends', () => {
    const { sdkCall, panel } = setup();
    sdkCall.emit('warning', 'high-jitter', {});
    flushSync();
    expect(banner()).toContain('over 30 ms jitter');
    sdkCall.emit('disconnect');
    flushSync();
    expect(banner()).toBeNull();
    expect(callQuality.warnings).toEqual([]);
    unmount(panel);
  });

  it('keeps its room without a warning, so the call buttons never move under the pointer', () => {
    const { sdkCall, panel } = setup();
    const slot = document.querySelector('.quality-slot');
    expect(slot).not.toBeNull();
    sdkCall.emit('warning', 'high-rtt', {});
    flushSync();
    // The banner appears inside the same fixed-height slot, under the row of call buttons: nothing is inserted above them.
    expect(slot?.previousElementSibling?.contains(document.querySelector('#hangup'))).toBe(true);
    expect(document.querySelector('.quality-slot')).toBe(slot);
    expect(slot?.contains(document.querySelector('#call-quality'))).toBe(true);
    unmount(panel);
  });
});
