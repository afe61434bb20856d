import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import { CoreClient, type CoreCommand, type Transport } from './lib/core-client';
import { i18n } from './lib/i18n.svelte';

const task = { kind: 'task', sid: 'WT00000000000000000000000000000001' } as const;

/** The SDK's Device: every instance is recorded (created with which token, destroyed or not). */
const sdk = vi.hoisted(() => {
  class FakeDevice {
    static made: FakeDevice[] = [];
    destroyed = false;
    audio = null;
    private readonly handlers = new Map<string, ((...args: unknown[]) => void)[]>();
    constructor(readonly token: string) {
      FakeDevice.made.push(this);
    }
    on(name: string, handler: (...args: unknown[]) => void) {
      this.handlers.set(name, [...(this.handlers.get(name) ?? []), handler]);
      return this;
    }
    /** What the edge does to this registration (e.g. `incoming` with a call). */
    emit(name: string, ...args: unknown[]) {
      for (const handler of this.handlers.get(name) ?? []) handler(...args);
    }
    updateToken() {}
    async register() {}
    destroy() {
      this.destroyed = true;
    }
  }
  return { FakeDevice };
});
vi.mock('@twilio/voice-sdk', () => ({ Device: sdk.FakeDevice }));

/** An in-memory Rust side: answers the shell's commands and pushes core events to the listener. */
function fakeShell() {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const sent: CoreCommand[] = [];
  const reports: unknown[] = [];
  let signedIn = false;
  const transport: Transport = {
    async invoke(command, args) {
      switch (command) {
        case 'get_state':
          return {
            profile: null,
            presence: 'offline',
            selected: 'offline',
            serverUrl: 'http://127.0.0.1:8080',
            voice: { edge: 'tokyo', signaling: null },
          };
        case 'app_info':
          return { version: '0.1.0', tauriVersion: '2.12.5', os: 'linux' };
        case 'login': {
          const { password } = args as { login: string; password: string };
          if (password !== 'demo-tanaka') throw { kind: 'badCredentials', message: 'wrong login or password' };
          signedIn = true;
          return { id: 'agent_1024', displayName: '田中 太郎', role: 'agent' };
        }
        case 'voice_token':
          return signedIn ? 'voice-token-1' : null;
        case 'core_command':
          sent.push((args as { command: CoreCommand }).command);
          return null;
        case 'device_event':
          reports.push((args as { report: unknown }).report);
          return null;
        default:
          return null;
      }
    },
    async listen(channel, onEvent) {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set.add(onEvent));
      return () => set.delete(onEvent);
    },
  };
  const emit = (channel: string, payload: unknown) => {
    for (const listener of listeners.get(channel) ?? []) listener(payload);
  };
  return { transport, sent, reports, push: (payload: unknown) => emit('event', payload), emit, signedIn: () => signedIn };
}

async function settle() {
  for (let i = 0; i < 5; i++) await tick();
  flushSync();
}

const $ = (css: string) => document.querySelector(css);
const text = (css: string) => $(css)?.textContent?.trim();
function type(css: string, value: string) {
  const input = $(css) as HTMLInputElement;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

let app: ReturnType<typeof mount> | undefined;
// jsdom has no audio: record what the ringtone element is asked to do.
const play = vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue();
const pause = vi.spyOn(HTMLMediaElement.prototype, 'pause').mockImplementation(() => {});
beforeEach(() => {
  i18n.set('en');
  play.mockClear();
  pause.mockClear();
});
afterEach(() => {
  if (app) unmount(app);
  document.body.innerHTML = '';
});

async function signedIn() {
  const shell = fakeShell();
  app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
  await settle();
  type('#login-name', 'tanaka');
  type('#login-password', 'demo-tanaka');
  ($('#login') as HTMLFormElement).requestSubmit();
  await settle();
  return shell;
}

describe('App', () => {
  it('refuses a wrong password with a clear message and stays on the sign-in screen', async () => {
    const shell = fakeShell();
    app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
    await settle();
    expect(text('#presence')).toBe('Offline');
    type('#login-name', 'tanaka');
    type('#login-password', 'nope');
    ($('#login') as HTMLFormElement).requestSubmit();
    await settle();
    expect(text('#login-error')).toBe('Wrong login or password.');
    expect($('#agent')).toBeNull();
  });

  it('shows the agent screen when the app resumes a remembered sign-in, without asking for the password', async () => {
    const shell = fakeShell();
    app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
    await settle();
    expect($('#login')).not.toBeNull();
    shell.emit('signedIn', { id: 'agent_1024', displayName: '田中 太郎', role: 'agent' });
    await settle();
    expect($('#login')).toBeNull();
    expect(text('#agent-name')).toBe('田中 太郎');
  });

  it('says why the sign-in is not remembered when the keychain is missing, and the notice can be dismissed', async () => {
    const shell = await signedIn();
    shell.emit('keychain', { kind: 'keychainUnavailable', message: 'no Secret Service' });
    await settle();
    expect(text('#keychain')).toContain('cannot be remembered');
    expect($('#agent-name')).not.toBeNull();
    ($('#keychain button') as HTMLButtonElement).click();
    await settle();
    expect($('#keychain')).toBeNull();
  });

  it('goes back to the sign-in screen with the reason when the server ends the sign-in, in both languages', async () => {
    const shell = await signedIn();
    expect($('#agent-name')).not.toBeNull();
    shell.emit('sessionEnded', { kind: 'refreshReused', message: 'your sign-in was used from another place' });
    await settle();
    expect($('#agent-name')).toBeNull();
    expect($('#login')).not.toBeNull();
    expect(text('#session-ended')).toContain('used from another place');
    i18n.set('ja');
    await settle();
    expect(text('#session-ended')).toContain('安全のため');
    shell.emit('sessionEnded', { kind: 'refreshInvalid', message: 'expired' });
    await settle();
    expect(text('#session-ended')).toContain('有効期限');
    type('#login-name', 'tanaka');
    type('#login-password', 'demo-tanaka');
    ($('#login') as HTMLFormElement).requestSubmit();
    await settle();
    expect($('#session-ended')).toBeNull();
  });

  it('shows a dial link opened before sign-in in the dialer after sign-in, without dialling it', async () => {
    const shell = fakeShell();
    const invoke = shell.transport.invoke;
    let pending: string | null = '+81312345678';
    shell.transport.invoke = async (command, args) => {
      if (command === 'take_pending_dial') {
        const number = pending;
        pending = null;
        return number;
      }
      return invoke(command, args);
    };
    app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
    await settle();
    type('#login-name', 'tanaka');
    type('#login-password', 'demo-tanaka');
    ($('#login') as HTMLFormElement).requestSubmit();
    await settle();
    expect(($('#dial-number') as HTMLInputElement).value).toBe('+81312345678');
    expect(shell.sent.some((c) => c.command === 'dial')).toBe(false);
  });

  it('signs in, then follows presence and sends the chosen activity to the core', async () => {
    const shell = await signedIn();
    expect(text('#agent-name')).toBe('田中 太郎');
    shell.push({ type: 'presence', state: 'available', selected: 'available' });
    await settle();
    expect(text('#presence')).toBe('Available');
    ($('button[data-activity="away"]') as HTMLButtonElement).click();
    await settle();
    expect(shell.sent).toEqual([{ command: 'setPresence', activity: 'away' }]);
  });

  it('rings with the caller and CRM name, answers, and shows wrap-up with a Done button', async () => {
    const shell = await signedIn();
    shell.push({ type: 'ringing', target: task, caller: '+81312345678', crm: { customerName: '山田 花子' } });
    await settle();
    expect(play).toHaveBeenCalledTimes(1);
    expect(text('.ring .crm-name')).toBe('山田 花子');
    expect(text('.ring .caller')).toBe('+81312345678');
    ($('.ring button.answer') as HTMLButtonElement).click();
    await settle();
    expect(shell.sent).toEqual([{ command: 'answer', target: task }]);

    shell.push({ type: 'ringStopped', target: task, reason: 'answered' });
    shell.push({ type: 'callState', target: task, phase: 'wrapUp', muted: false, onHold: false });
    await settle();
    expect($('.ring')).toBeNull();
    expect(pause).toHaveBeenCalled();
    expect(play).toHaveBeenCalledTimes(1);
    ($('#wrapup-done') as HTMLButtonElement).click();
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'completeWrapup', task: task.sid });
  });

  it('keeps one Voice Device across Settings changes: a change never drops the call in progress', async () => {
    sdk.FakeDevice.made = [];
    await signedIn();
    await vi.waitFor(() => expect(sdk.FakeDevice.made).toHaveLength(1));
    ($('button.tab[data-tab="settings"]') as HTMLButtonElement).click();
    await settle();
    type('#setting-volume', '0.5');
    await settle();
    await new Promise((r) => setTimeout(r, 20));
    // The same Device, still registered: a new one would have ended the call and registered the agent twice.
    expect(sdk.FakeDevice.made).toHaveLength(1);
    expect(sdk.FakeDevice.made[0].destroyed).toBe(false);
  });

  it('answers a call whichever registration rings it after Settings changes: no "accept failed" at once', async () => {
    sdk.FakeDevice.made = [];
    const shell = await signedIn();
    await vi.waitFor(() => expect(sdk.FakeDevice.made).toHaveLength(1));
    ($('button.tab[data-tab="settings"]') as HTMLButtonElement).click();
    await settle();
    // The ringtone device, then its volume, each applied on its own.
    type('#setting-volume', '0.5');
    flushSync();
    type('#setting-volume', '0.6');
    await settle();
    await new Promise((r) => setTimeout(r, 20));
    // The edge rings one registration of the agent (the stand-in: the newest; Twilio: any of them). Each one that
    // is still registered gets a call, and the core (here the test) answers it.
    const live = sdk.FakeDevice.made.filter((d) => !d.destroyed);
    live.forEach((device, i) => {
      const sid = `CA0000000000000000000000000000000${i + 1}`;
      const call = {
        parameters: { CallSid: sid, From: '+81312345678' },
        customParameters: new Map([['TaskSid', 'WT00000000000000000000000000000001']]),
        handlers: new Map<string, () => void>(),
        on(name: string, handler: () => void) {
          this.handlers.set(name, handler);
        },
        accept() {
          this.handlers.get('accept')?.();
        },
      };
      device.emit('incoming', call);
      shell.emit('device', { type: 'accept', call: sid });
    });
    await settle();
    const failed = shell.reports.filter((r) => (r as { type: string }).type === 'acceptFailed');
    expect(failed).toEqual([]);
    expect(shell.reports.filter((r) => (r as { type: string }).type === 'accepted')).toHaveLength(live.length);
  });

  it('speaks Japanese, including the core’s own error text', async () => {
    const shell = await signedIn();
    shell.push({ type: 'presence', state: 'break', selected: 'break' });
    shell.push({ type: 'error', kind: 'tokenPolicy', messageJa: 'トークンの権限がありません', messageEn: 'token policy' });
    await settle();
    ($('button[data-lang="ja"]') as HTMLButtonElement).click();
    await settle();
    expect(text('#presence')).toBe('休憩');
    expect(text('#core-error p')).toBe('トークンの権限がありません');
    expect(text('button[data-activity="available"]')).toBe('受付可');
    expect(document.documentElement.lang).toBe('ja');
  });
});
