import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import { CoreClient, type CoreCommand, type Transport } from './lib/core-client';
import { i18n } from './lib/i18n.svelte';

const task = { kind: 'task', sid: 'WT00000000000000000000000000000001' } as const;
const attempt = { kind: 'outgoing', sid: '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab' } as const;

/** An in-memory Rust side for the screens: records commands, answers the server-backed ones. */
function fakeShell(role = 'agent') {
  let listener: (payload: unknown) => void = () => {};
  const sent: CoreCommand[] = [];
  const calls: { command: string; args: Record<string, unknown> }[] = [];
  let autostart = false;
  const transport: Transport = {
    async invoke(command, args) {
      calls.push({ command, args });
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
        case 'login':
          return { id: role === 'agent' ? 'agent_1024' : 'agent_9001', displayName: role === 'agent' ? '田中 太郎' : '山本 美咲', role };
        case 'core_command':
          sent.push((args as { command: CoreCommand }).command);
          return null;
        case 'roster':
          if (role === 'agent') throw { kind: 'forbidden', message: 'the server does not allow this for your account' };
          return [
            { agentId: 'agent_1024', displayName: '田中 太郎', departmentId: 'sales', workerSid: 'WK01', activity: 'Available', sinceMs: 0 },
            { agentId: 'agent_2048', displayName: '佐藤 花子', departmentId: 'sales', workerSid: 'WK02', activity: 'Break', sinceMs: 0 },
          ];
        case 'call_history':
          if (role === 'agent') throw { kind: 'forbidden', message: 'the server does not allow this for your account' };
          return [
            { taskSid: 'WT09', createdAt: '2026-11-26T01:00:00Z', customerId: 'C-000123', agentId: 'agent_1024', status: 'connected', answered: true, handleSecs: null },
            { taskSid: 'WT08', createdAt: '2026-11-26T00:00:00Z', customerId: null, agentId: 'agent_2048', status: 'abandoned', answered: false, handleSecs: null },
          ];
        case 'update_status':
          return { state: 'ready', version: '0.2.0', notes: '通話画面の改善', mandatory: false };
        case 'autostart_enabled':
          return autostart;
        case 'set_autostart':
          autostart = (args as { enabled: boolean }).enabled;
          return null;
        case 'install_update':
          throw { kind: 'busy', message: 'updates are not installed during a ring, a call or wrap-up' };
        case 'diagnose':
          return {
            checks: [
              { service: 'server', url: 'http://127.0.0.1:8080/healthz', outcome: 'reached', latencyMs: 3, status: 200 },
              { service: 'taskRouter', url: 'http://127.0.0.1:8090/v1/wschannels', outcome: 'failed', error: 'connection refused' },
              { service: 'voice', url: 'http://127.0.0.1:8090/signal', outcome: 'reached', latencyMs: 4, status: 400 },
              { service: 'sync', url: null, outcome: 'notUsed' },
            ],
            token: {
              account: 'AC01',
              apiKey: 'SK02',
              identity: 'agent_1024',
              expiresUnix: 1_800_000_000,
              voiceIncoming: true,
              outgoingApplication: null,
              workspace: 'WS01',
              worker: 'WK01',
            },
          };
        default:
          return null;
      }
    },
    async listen(channel, onEvent) {
      if (channel === 'event') listener = onEvent;
      return () => {};
    },
  };
  return { transport, sent, calls, push: (payload: unknown) => listener(payload) };
}

async function settle() {
  for (let i = 0; i < 8; i++) await tick();
  flushSync();
}

const $ = (css: string) => document.querySelector(css);
const text = (css: string) => $(css)?.textContent?.trim();
const click = (css: string) => ($(css) as HTMLElement).click();
function type(css: string, value: string) {
  const input = $(css) as HTMLInputElement;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

let app: ReturnType<typeof mount> | undefined;
vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue();
vi.spyOn(HTMLMediaElement.prototype, 'pause').mockImplementation(() => {});
beforeEach(() => {
  i18n.set('en');
  localStorage.clear();
});
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  vi.useRealTimers();
});

async function signedIn(role = 'agent') {
  const shell = fakeShell(role);
  app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
  await settle();
  type('#login-name', 'x');
  type('#login-password', 'y');
  ($('#login') as HTMLFormElement).requestSubmit();
  await settle();
  return shell;
}

async function connectedCall(shell: ReturnType<typeof fakeShell>) {
  shell.push({ type: 'ringing', target: task, caller: '+81312345678', crm: { customerName: '山田 花子', customerId: 'C-000123' } });
  shell.push({ type: 'ringStopped', target: task, reason: 'answered' });
  shell.push({ type: 'callState', target: task, phase: 'connected', muted: false, onHold: false });
  await settle();
}

describe('call screen', () => {
  it('shows the customer, runs a timer, and sends DTMF, hold and mute for this call', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const shell = await signedIn();
    await connectedCall(shell);
    expect(text('#call .crm-name')).toBe('山田 花子');
    expect(text('#call .caller')).toBe('+81312345678');
    expect(text('#call dl.crm dd')).toBe('C-000123');
    expect(text('#call-timer')).toBe('0:00');
    vi.advanceTimersByTime(65_000);
    flushSync();
    expect(text('#call-timer')).toBe('1:05');

    click('#keypad-toggle');
    await settle();
    click('#keypad [data-key="1"]');
    click('#keypad [data-key="#"]');
    await settle();
    expect(text('#keypad-digits')).toBe('1#');
    click('#hold');
    click('#mute');
    await settle();
    expect(shell.sent).toEqual([
      { command: 'sendDigits', target: task, digits: '1' },
      { command: 'sendDigits', target: task, digits: '#' },
      { command: 'hold', target: task },
      { command: 'mute', target: task },
    ]);
    shell.push({ type: 'callState', target: task, phase: 'connected', muted: true, onHold: true });
    await settle();
    expect(text('#on-hold')).toBe('Customer on hold');
    expect(text('#hold')).toBe('Resume');
  });

  it('transfers to a number (cold), and a warm transfer offers complete and cancel', async () => {
    const shell = await signedIn();
    await connectedCall(shell);
    click('#transfer-open');
    await settle();
    // Agents may not read the roster here: the dialog says so and offers the number.
    expect(text('#transfer-no-agents')).toContain('enter a number');
    expect($('input[name="transfer-kind"]')).toBeNull();
    type('#transfer-number', '06-1234-5678');
    await settle();
    ($('#transfer') as HTMLFormElement).requestSubmit();
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'transfer', target: task, to: { kind: 'number', number: '+81612345678' }, mode: 'cold' });
    expect($('#transfer')).toBeNull();

    click('#transfer-open');
    await settle();
    (document.querySelector('input[name="transfer-mode"][value="warm"]') as HTMLInputElement).click();
    type('#transfer-number', '+14155550100');
    await settle();
    ($('#transfer') as HTMLFormElement).requestSubmit();
    await settle();
    expect(shell.sent.at(-1)).toMatchObject({ command: 'transfer', mode: 'warm' });
    expect(text('#warm-transfer p')).toBe('Consulting — the customer is on hold.');
    click('#warm-complete');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'transfer_step', args: { task: task.sid, step: 'complete' } });
    expect($('#warm-transfer')).toBeNull();
  });

  it('keeps wrap-up notes on this computer, shows them in history, and completes the task', async () => {
    const shell = await signedIn('supervisor');
    await connectedCall(shell);
    shell.push({ type: 'callState', target: task, phase: 'wrapUp', muted: false, onHold: false });
    await settle();
    const notes = $('#wrapup-notes') as HTMLTextAreaElement;
    notes.value = '折り返し希望';
    notes.dispatchEvent(new Event('input', { bubbles: true }));
    click('#wrapup-done');
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'completeWrapup', task: task.sid });
    expect(JSON.parse(localStorage.getItem('tsunagi.notes') ?? '{}')[task.sid].text).toBe('折り返し希望');
  });
});

describe('dialer', () => {
  it('dials a typed national number as E.164 and remembers it; an outgoing call shows at once', async () => {
    const shell = await signedIn();
    expect(($('#dial') as HTMLButtonElement).disabled).toBe(true);
    type('#dial-number', '03-1234-5678');
    await settle();
    ($('#dialer') as HTMLFormElement).requestSubmit();
    await settle();
    expect(shell.sent).toEqual([{ command: 'dial', to: '+81312345678' }]);
    expect(text('.recent button[data-number="+81312345678"]')).toBe('+81312345678');
    shell.push({ type: 'dialing', target: attempt, to: '+81312345678' });
    await settle();
    expect(text('#call .phase')).toBe('Outgoing call');
    expect($('#hold')).toBeNull();
    expect($('#transfer-open')).toBeNull();
    click('#hangup');
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'hangup', target: attempt });
    shell.push({ type: 'callState', target: attempt, phase: 'ended', muted: false, onHold: false });
    await settle();
    click('.recent button[data-number="+81312345678"]');
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'dial', to: '+81312345678' });
    // A number dialled from elsewhere (a tsunagi://dial/ link) joins the recent list too.
    shell.push({ type: 'dialing', target: attempt, to: '+14155550100' });
    await settle();
    shell.push({ type: 'callState', target: attempt, phase: 'ended', muted: false, onHold: false });
    await settle();
    expect(text('.recent button[data-number="+14155550100"]')).toBe('+14155550100');
  });
});

describe('tabs', () => {
  it('history explains that this server shows the report to supervisors only; agents have no Team tab', async () => {
    await signedIn();
    expect($('[data-tab="supervisor"]')).toBeNull();
    click('[data-tab="history"]');
    await settle();
    expect(text('#history-error')).toContain('supervisors only');
    i18n.set('ja');
    await settle();
    expect(text('#history-error')).toContain('スーパーバイザーのみ');
  });

  it('a supervisor sees history, the live roster, and can monitor a call on it', async () => {
    const shell = await signedIn('supervisor');
    click('[data-tab="history"]');
    await settle();
    ($('#history-mine') as HTMLInputElement).click();
    await settle();
    expect(document.querySelectorAll('#history-table tbody tr[data-task]').length).toBe(2);
    expect(text('#history-table tr[data-task="WT08"] .status')).toBe('Abandoned');

    click('[data-tab="supervisor"]');
    await settle();
    expect(text('#roster li[data-agent="agent_1024"] .state')).toBe('On a call');
    expect(text('#roster li[data-agent="agent_2048"] .state')).toBe('Break');
    expect($('#roster li[data-agent="agent_2048"] button')).toBeNull();
    click('#roster li[data-agent="agent_1024"] button[data-mode="coach"]');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'supervise', args: { task: 'WT09', mode: 'coach' } });
    expect(text('#supervise-notice')).toContain('Whisper: 田中 太郎');
  });

  it('diagnostics shows each service, the token and why there is no call audio; settings says why no devices', async () => {
    await signedIn();
    click('[data-tab="diagnostics"]');
    await settle();
    click('#diagnose');
    await settle();
    expect(text('[data-service="server"]')).toBe('3 ms (HTTP 200)');
    expect(text('[data-service="taskRouter"]')).toBe('Unreachable: connection refused');
    expect(text('[data-service="sync"]')).toBe('Not used by this version');
    expect(text('#diag-token')).toContain('AC01');
    expect(text('#diag-webrtc')).toBe('not available in this web engine');
    click('#mic-test');
    await settle();
    expect(text('#mic-result')).toBe('This web engine cannot open a microphone.');
    click('[data-tab="settings"]');
    await settle();
    expect(text('#settings-no-webrtc')).toContain('no WebRTC');
    i18n.set('ja');
    await settle();
    expect(text('[data-tab="settings"]')).toBe('設定');
    expect(text('#settings-no-webrtc')).toContain('WebRTC がない');
  });
});

describe('updates', () => {
  it('shows a ready update with what is new, and explains a refused install', async () => {
    const shell = await signedIn();
    click('[data-tab="settings"]');
    await settle();
    expect(text('#update-status')).toBe('Version 0.2.0 is ready to install.');
    expect(text('#updates')).toContain('通話画面の改善');
    click('#update-install');
    await settle();
    expect(shell.calls.at(-1)?.command).toBe('install_update');
    expect(text('#updates [role="alert"]')).toContain('not installed during a ring');
    click('#update-check');
    await settle();
    expect(shell.calls.at(-1)?.command).toBe('check_update');
    expect(($('#setting-autostart') as HTMLInputElement).checked).toBe(false);
    click('#setting-autostart');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'set_autostart', args: { enabled: true } });
    expect(($('#setting-autostart') as HTMLInputElement).checked).toBe(true);
  });
});
