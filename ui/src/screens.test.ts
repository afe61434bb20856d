import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import { CoreClient, type CoreCommand, type Transport } from './lib/core-client';
import { i18n } from './lib/i18n.svelte';

const task = { kind: 'task', sid: 'WT00000000000000000000000000000001' } as const;
const attempt = { kind: 'outgoing', sid: '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab' } as const;

/** An in-memory Rust side for the screens: records commands, answers the server-backed ones. */
function fakeShell(role = 'agent', { directory = true } = {}) {
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
        case 'agents_directory':
          if (!directory) return [];
          return [
            { agentId: 'agent_3001', displayName: '鈴木 一郎', departmentId: 'support', workerSid: 'WK31', activity: 'Break', available: false },
            { agentId: 'agent_2048', displayName: '佐藤 花子', departmentId: 'sales', workerSid: 'WK02', activity: 'Available', available: true },
            { agentId: 'agent_4096', displayName: '高橋 健', departmentId: 'sales', workerSid: 'WK04', activity: 'Available', available: true },
          ];
        case 'my_history': {
          const before = (args as { before: number | null }).before;
          if (before === null) {
            return {
              calls: [
                { taskSid: 'WT09', createdAt: '2026-11-26T01:00:00Z', customerId: 'C-000123', agentId: 'agent_1024', status: 'completed', answered: true, handleSecs: 95, notes: '折り返し希望' },
                { taskSid: 'WT08', createdAt: '2026-11-26T00:00:00Z', customerId: null, agentId: 'agent_1024', status: 'abandoned', answered: false, handleSecs: null, notes: null },
              ],
              nextBefore: 1_764_115_200_000,
            };
          }
          return {
            calls: [{ taskSid: 'WT07', createdAt: '2026-11-25T09:00:00Z', customerId: 'C-000777', agentId: 'agent_1024', status: 'completed', answered: true, handleSecs: 30 }],
            nextBefore: null,
          };
        }
        case 'complete_wrapup':
          if ([...(args as { notes: string }).notes].length > 2000) throw { kind: 'notesTooLong', message: 'the notes are too long: at most 2000 characters' };
          return null;
        case 'update_status':
          return { state: 'ready', version: '0.2.0', notes: '通話画面の改善', mandatory: false };
        case 'autostart_enabled':
          return autostart;
        case 'set_autostart':
          autostart = (args as { enabled: boolean }).enabled;
          return null;
        case 'shortcut_status':
          return { state: 'unavailable', reason: 'portalWithoutShortcuts', detail: 'the desktop portal has no GlobalShortcuts interface' };
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

async function signedIn(role = 'agent', options: { directory?: boolean } = {}) {
  const shell = fakeShell(role, options);
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
  // The server's context adds the owner and department while it rings.
  shell.push({ type: 'ringUpdated', target: task, crm: { customerName: '山田 花子', customerId: 'C-000123', ownerName: '田中 太郎', departmentName: '営業一課' } });
  await settle();
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
    expect(text('#crm-owner')).toBe('Owner: 田中 太郎 / Department: 営業一課');
    i18n.set('ja');
    await settle();
    expect(text('#crm-owner')).toBe('担当: 田中 太郎 / 部署: 営業一課');
    i18n.set('en');
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

  it('the ring shows the owner and department', async () => {
    const shell = await signedIn();
    shell.push({ type: 'ringing', target: task, caller: '+81312345678', crm: { customerName: '山田 花子', ownerName: '田中 太郎', departmentName: '営業一課' } });
    await settle();
    expect(text('.ring .crm-owner')).toBe('Owner: 田中 太郎 / Department: 営業一課');
  });

  it('transfers to an agent from the directory: available first, unavailable greyed, search', async () => {
    const shell = await signedIn();
    await connectedCall(shell);
    click('#transfer-open');
    await settle();
    const rows = [...document.querySelectorAll('#transfer-agents li[data-agent]')];
    expect(rows.map((r) => r.getAttribute('data-agent'))).toEqual(['agent_2048', 'agent_4096', 'agent_3001']);
    expect(rows[2].classList.contains('unavailable')).toBe(true);
    expect(($('#transfer-agents li[data-agent="agent_3001"] input') as HTMLInputElement).disabled).toBe(true);
    expect(text('#transfer-agents li[data-agent="agent_3001"] .state')).toBe('not available');
    expect(($('#transfer-send') as HTMLButtonElement).disabled).toBe(true);
    type('#transfer-search', '高橋');
    await settle();
    expect([...document.querySelectorAll('#transfer-agents li[data-agent]')].map((r) => r.getAttribute('data-agent'))).toEqual(['agent_4096']);
    type('#transfer-search', 'nobody');
    await settle();
    expect(text('#transfer-no-match')).toBe('No agent matches.');
    type('#transfer-search', 'SALES');
    await settle();
    click('#transfer-agents li[data-agent="agent_2048"] input');
    await settle();
    ($('#transfer') as HTMLFormElement).requestSubmit();
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'transfer', target: task, to: { kind: 'worker', worker: 'WK02' }, mode: 'cold' });
    expect($('#transfer')).toBeNull();
  });

  it('transfers to a number (cold); during a warm consult the hold button is lit and the screen says who hears whom', async () => {
    const shell = await signedIn('agent', { directory: false });
    await connectedCall(shell);
    click('#transfer-open');
    await settle();
    // The server lists nobody: the dialog says so and offers the number.
    expect(text('#transfer-no-agents')).toContain('enter a number');
    expect($('input[name="transfer-kind"]')).toBeNull();
    type('#transfer-number', '06-1234-5678');
    await settle();
    ($('#transfer') as HTMLFormElement).requestSubmit();
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'transfer', target: task, to: { kind: 'number', number: '+81612345678' }, mode: 'cold' });
    expect($('#transfer')).toBeNull();
    expect($('#hold')?.getAttribute('aria-pressed')).toBe('false');

    click('#transfer-open');
    await settle();
    (document.querySelector('input[name="transfer-mode"][value="warm"]') as HTMLInputElement).click();
    type('#transfer-number', '+14155550100');
    await settle();
    ($('#transfer') as HTMLFormElement).requestSubmit();
    await settle();
    expect(shell.sent.at(-1)).toMatchObject({ command: 'transfer', mode: 'warm' });
    // The banner follows the core: the server accepted the transfer and calls the target…
    shell.push({ type: 'transfer', target: task, mode: 'warm', stage: 'dialing' });
    await settle();
    expect(text('#warm-transfer p')).toBe('Calling the transfer target — the customer is on hold.');
    expect(($('#warm-complete') as HTMLButtonElement).disabled).toBe(true);
    expect($('#transfer-open')).toBeNull();
    // …then the target joined: now the transfer can be completed.
    shell.push({ type: 'transfer', target: task, mode: 'warm', stage: 'connected' });
    await settle();
    expect(text('#warm-transfer p')).toBe('Consulting — the customer is on hold.');
    expect(($('#warm-complete') as HTMLButtonElement).disabled).toBe(false);
    expect(text('#warm-transfer .who-hears')).toContain('The customer hears hold music');
    expect($('#hold')?.getAttribute('aria-pressed')).toBe('true');
    expect(($('#hold') as HTMLButtonElement).disabled).toBe(true);
    expect(text('#on-hold')).toBe('Customer on hold');
    click('#warm-cancel');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'transfer_step', args: { task: task.sid, step: 'cancel' } });
    expect($('#warm-transfer')).toBeNull();
    expect($('#hold')?.getAttribute('aria-pressed')).toBe('false');
    expect($('#on-hold')).toBeNull();
    // Another try after the cancel: the core's new news brings the banner back.
    expect($('#transfer-open')).not.toBeNull();
    shell.push({ type: 'transfer', target: task, mode: 'warm', stage: 'dialing' });
    await settle();
    expect(text('#warm-transfer p')).toBe('Calling the transfer target — the customer is on hold.');
  });

  it('a failed warm transfer clears the consult banner and says what happened and what to do, in ja and en', async () => {
    const shell = await signedIn();
    await connectedCall(shell);
    shell.push({ type: 'transfer', target: task, mode: 'warm', stage: 'dialing' });
    await settle();
    expect($('#warm-transfer')).not.toBeNull();
    expect(text('#on-hold')).toBe('Customer on hold');
    shell.push({ type: 'transfer', target: task, mode: 'warm', stage: 'failed', reason: 'noAnswer' });
    await settle();
    expect($('#warm-transfer')).toBeNull();
    expect(text('#transfer-failed')).toBe(
      'The transfer target did not answer. The customer is off hold and back with you: carry on with the call or try another transfer.',
    );
    expect($('#on-hold')).toBeNull();
    expect(($('#hold') as HTMLButtonElement).disabled).toBe(false);
    expect($('#transfer-open')).not.toBeNull();
    i18n.set('ja');
    await settle();
    expect(text('#transfer-failed')).toBe('転送先が応答しませんでした。お客様の保留は解除され、あなたとの通話に戻っています。このまま対応するか、別の転送先をお試しください。');
    i18n.set('en');
    // A new transfer replaces the notice; a cold one that fails says the customer is still on the line.
    shell.push({ type: 'transfer', target: task, mode: 'cold', stage: 'dialing' });
    await settle();
    expect($('#transfer-failed')).toBeNull();
    expect(text('#transfer-dialing')).toContain('Transferring');
    shell.push({ type: 'transfer', target: task, mode: 'cold', stage: 'failed', reason: 'busy' });
    await settle();
    expect(text('#transfer-failed')).toBe(
      'The transfer target was busy. The customer is still on the line with you: carry on with the call or try another transfer.',
    );
  });

  it('sends wrap-up notes with Done; a refusal keeps the text and says why; the counter counts characters', async () => {
    const shell = await signedIn();
    await connectedCall(shell);
    shell.push({ type: 'callState', target: task, phase: 'wrapUp', muted: false, onHold: false });
    await settle();
    type('#wrapup-notes', 'あ'.repeat(2001));
    await settle();
    expect(text('#notes-count')).toBe('2001 / 2000');
    expect($('#notes-count')?.classList.contains('warn')).toBe(true);
    click('#wrapup-done');
    await settle();
    expect(text('#call-error')).toBe('Notes can be at most 2000 characters. Shorten them and press Done again — your text is kept.');
    expect(($('#wrapup-notes') as HTMLTextAreaElement).value.length).toBe(2001);
    expect(shell.sent.some((c) => c.command === 'completeWrapup')).toBe(false);
    // Kept on this computer too, so an automatic end of wrap-up loses nothing.
    expect(JSON.parse(localStorage.getItem('tsunagi.notes') ?? '{}')[task.sid].text).toHaveLength(2001);

    type('#wrapup-notes', '折り返し希望');
    await settle();
    expect(text('#notes-count')).toBe('6 / 2000');
    click('#wrapup-done');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'complete_wrapup', args: { task: task.sid, notes: '折り返し希望' } });
    expect($('#call-error')).toBeNull();
  });

  it('finishes wrap-up without notes through the core', async () => {
    const shell = await signedIn();
    await connectedCall(shell);
    shell.push({ type: 'callState', target: task, phase: 'wrapUp', muted: false, onHold: false });
    await settle();
    click('#wrapup-done');
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'completeWrapup', task: task.sid });
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
    // Hold works on an outgoing call (the server holds the customer by the attempt); transfer does not.
    click('#hold');
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'hold', target: attempt });
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

  it('offers Hold on an outgoing call only once the customer answered; the race gets its own message', async () => {
    const shell = await signedIn();
    shell.push({ type: 'dialing', target: attempt, to: '+81312345678' });
    shell.push({ type: 'callState', target: attempt, phase: 'connecting', muted: false, onHold: false });
    shell.push({ type: 'outgoing', target: attempt, stage: 'ringing' });
    await settle();
    const hold = () => $('#hold') as HTMLButtonElement;
    expect(hold().disabled).toBe(true);
    expect(hold().title).toBe('You can put the customer on hold once they answer.');
    // The agent's own leg is up; the customer's phone still rings.
    shell.push({ type: 'callState', target: attempt, phase: 'connected', muted: false, onHold: false });
    await settle();
    expect(hold().disabled).toBe(true);
    expect(text('#call .phase')).toBe('Outgoing call');
    shell.push({ type: 'outgoing', target: attempt, stage: 'answered' });
    await settle();
    expect(hold().disabled).toBe(false);
    expect(hold().title).toBe('');
    expect(text('#call .phase')).not.toBe('Outgoing call');
    click('#hold');
    await settle();
    expect(shell.sent.at(-1)).toEqual({ command: 'hold', target: attempt });
    // If the server still says "not yet", the core's specific message is shown, in the agent's language.
    const [messageJa, messageEn] = ['相手がまだ応答していません。保留は相手が応答してから使えます。', 'The customer has not answered yet: you can put them on hold once they answer.'];
    shell.push({ type: 'error', kind: 'customerNotAnswered', messageJa, messageEn });
    await settle();
    expect(text('#core-error p')).toBe(messageEn);
  });
});

describe('tabs', () => {
  it('history lists this agent’s own calls with their notes, and loads older ones; agents have no Team tab', async () => {
    const shell = await signedIn();
    expect($('[data-tab="supervisor"]')).toBeNull();
    click('[data-tab="history"]');
    await settle();
    expect(shell.calls.find((c) => c.command === 'my_history')?.args).toEqual({ before: null });
    expect(document.querySelectorAll('#history-table tbody tr[data-task]').length).toBe(2);
    expect(text('#history-table tr[data-task="WT08"] .status')).toBe('Abandoned');
    expect(text('#history-table tr[data-note-for="WT09"]')).toBe('Notes折り返し希望');
    click('#history-more');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'my_history', args: { before: 1_764_115_200_000 } });
    expect(document.querySelectorAll('#history-table tbody tr[data-task]').length).toBe(3);
    expect($('#history-more')).toBeNull();
    expect(text('#history-end')).toBe('That is every call.');
    i18n.set('ja');
    await settle();
    expect(text('#history-end')).toBe('これ以上の通話はありません。');
  });

  it('a supervisor sees the roster read once, then follows the server’s pushes without polling', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'setTimeout'] });
    const shell = await signedIn('supervisor');
    click('[data-tab="supervisor"]');
    await settle();
    expect(text('#roster li[data-agent="agent_1024"] .state')).toBe('On a call');
    expect(text('#roster li[data-agent="agent_2048"] .state')).toBe('Break');
    expect($('#roster li[data-agent="agent_2048"] button')).toBeNull();
    const reads = () => shell.calls.filter((c) => c.command === 'roster').length;
    expect(reads()).toBe(1);
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(reads()).toBe(1);
    shell.push({
      type: 'roster',
      agents: [
        { agentId: 'agent_1024', displayName: '田中 太郎', departmentId: 'sales', activity: 'Available', sinceMs: 0 },
        { agentId: 'agent_2048', displayName: '佐藤 花子', departmentId: 'sales', activity: 'Available', sinceMs: 0 },
      ],
    });
    await settle();
    expect(text('#roster li[data-agent="agent_2048"] .state')).toBe('Available');
    expect(reads()).toBe(1);
    // The push socket reconnected: everything is read once again (pushes may have been missed).
    shell.push({ type: 'connection', socket: 'events', state: { state: 'connected' } });
    await settle();
    expect(reads()).toBe(2);
    click('#roster li[data-agent="agent_1024"] button[data-mode="coach"]');
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'supervise', args: { task: 'WT09', mode: 'coach' } });
    expect(text('#supervise-notice')).toContain('Whisper: 田中 太郎');
  });

  it('the Team view’s "on a call" badge follows the roster push at once: answered, then ended', async () => {
    const shell = await signedIn('supervisor');
    click('[data-tab="supervisor"]');
    await settle();
    const sato = '#roster li[data-agent="agent_2048"]';
    expect(text(`${sato} .state`)).toBe('Break');
    const line = (onCall?: { direction: 'inbound' | 'outbound'; taskSid?: string }) => ({
      type: 'roster' as const,
      agents: [{ agentId: 'agent_2048', displayName: '佐藤 花子', departmentId: 'sales', workerSid: 'WK02', activity: 'Available', sinceMs: 0, onCall }],
    });
    // She answers a routed call: the push says so (the call report does not list it yet).
    shell.push(line({ direction: 'inbound', taskSid: 'WT77' }));
    await settle();
    expect(text(`${sato} .state`)).toBe('On a call');
    expect($(sato)?.getAttribute('data-on-call')).toBe('inbound');
    click(`${sato} button[data-mode="monitor"]`);
    await settle();
    expect(shell.calls.at(-1)).toEqual({ command: 'supervise', args: { task: 'WT77', mode: 'monitor' } });
    // The call ends: the next push clears the badge.
    shell.push(line(undefined));
    await settle();
    expect(text(`${sato} .state`)).toBe('Available');
    expect($(`${sato} button`)).toBeNull();
    // An outgoing call shows the badge too, with nothing to monitor.
    shell.push(line({ direction: 'outbound' }));
    await settle();
    expect(text(`${sato} .state`)).toBe('On a call');
    expect($(`${sato} button`)).toBeNull();
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
    // No global key on this (fake) Wayland desktop: Settings says so, and why.
    expect(text('#settings-shortcut')).toContain('offers no global shortcuts');
    expect(text('#settings-shortcut')).toContain('no GlobalShortcuts interface');
    expect(text('#settings-shortcut-command')).toContain('tsunagi --answer-or-hang-up');
    i18n.set('ja');
    await settle();
    expect(text('[data-tab="settings"]')).toBe('設定');
    expect(text('#settings-no-webrtc')).toContain('WebRTC がない');
    expect(text('#settings-shortcut')).toContain('グローバルショートカットに対応していません');
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
