// Desktop end-to-end: the real Tauri app under Xvfb, driven over WebDriver, against the real companion server and
// the Twilio stand-in; its tray menu and notifications exercised over D-Bus exactly as a desktop would.
// Run by tests/desktop/run.sh (which starts Xvfb, a D-Bus session, the stack, the fakes and tauri-driver).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { WebDriver, sleep } from './webdriver.mjs';
import { Sim } from './twilio.mjs';
import { waitFor } from './wait.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const app = process.env.TSUNAGI_APP ?? join(root, 'target', 'debug', 'tsunagi');
const { TRAY_STATE, NOTIFY_LOG, SIM_URL } = process.env;
const driverUrl = process.env.WEBDRIVER_URL ?? 'http://127.0.0.1:4444';
assert.ok(TRAY_STATE && NOTIFY_LOG && SIM_URL, 'run me through tests/desktop/run.sh');
const py = process.env.TRAY_PYTHON ?? 'python3';
const shots = join(root, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });

const TANAKA = 'WK00000000000000000000000000000001';
const YAMAMOTO = 'WK00000000000000000000000000000004';
const sim = new Sim(SIM_URL);
const trayLayout = () => JSON.parse(execFileSync(py, [join(here, 'tray.py'), 'layout', TRAY_STATE], { encoding: 'utf8' }));
const trayClick = (label) => execFileSync(py, [join(here, 'tray.py'), 'click', TRAY_STATE, label]);
const notifications = () =>
  existsSync(NOTIFY_LOG) ? readFileSync(NOTIFY_LOG, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const pressNotification = (id, action) => execFileSync(py, [join(here, 'notifications.py'), 'invoke', String(id), action]);
const invoke = (wd, command, args = {}) =>
  wd.executeAsync(
    'const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(done, (e) => done({ rejected: e }));',
    [command, args],
  );

const checked = (layout) => layout.items.filter((i) => i.checked).map((i) => i.label);
// Disc colours of icons/tray-*.png (scripts/dev/make-icons.py).
const DISC = { available: [46, 160, 67], away: [230, 145, 30], offline: [120, 124, 130], ringing: [255, 23, 68] };
const near = (rgba, rgb) => rgb.every((c, i) => Math.abs(rgba[i] - c) <= 6);
const trayShows = (label, colour) =>
  waitFor(`tray shows ${label}`, () => {
    const l = trayLayout();
    return checked(l).join() === label && near(l.iconDiscRgba, colour) ? l : null;
  });
const workerActivity = async () => (await sim.worker(TANAKA)).activity_name;
const logDir = join(process.env.XDG_DATA_HOME ?? join(process.env.HOME, '.local', 'share'), 'jp.tsunagi.desktop', 'logs');
const readLog = () => (existsSync(logDir) ? readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('') : '');
/**
 * A customer (山田 花子, +81312345678, owned by tanaka in the demo CRM) dials the contact center's number: the
 * stand-in calls the server's Voice webhook, which enqueues a task; TaskRouter reserves tanaka and the server's
 * conference instruction dials tanaka's Device. Resolves to the caller's call and its task.
 */
const customerCalls = async () => {
  const res = await fetch(`${SIM_URL}/_sim/calls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: '+81312345678', to: '+81501234567', tone_hz: 440, script: [{ do: 'wait', ms: 120000 }, { do: 'hangup' }] }),
  });
  const call = await res.json();
  assert.ok(call.sid?.startsWith('CA'), `customer call placed: ${JSON.stringify(call)}`);
  const queued = await waitFor('customer queued as a task', async () => (await customerCall(call.sid)).queued_task);
  return { call: call.sid, task: queued.task };
};
const customerCall = async (sid) => (await fetch(`${SIM_URL}/_sim/calls/${sid}`)).json();
/** The agent leg the conference instruction dialled for `task` (a call to tanaka's Device carrying the TaskSid). */
const agentLeg = (task) =>
  waitFor('agent leg dialled', async () => {
    const legs = await (await fetch(`${SIM_URL}/_sim/voice/calls`)).json();
    return legs.find((l) => l.identity === 'agent_1024' && l.params.some(([k, v]) => k === 'TaskSid' && v === task));
  });

/** Types into an input the way the agent does (value + input event, so Svelte's bindings see it). */
const typeInto = (css, value) =>
  wd.execute(
    "const el = document.querySelector(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event('input', { bubbles: true }));",
    [css, value],
  );
const exists = (css) => wd.execute('return !!document.querySelector(arguments[0])', [css]);
const lang = () => wd.execute('return document.documentElement.lang');
/** Saves the window as `target/screenshots/<name>-<lang>.png`. */
const shoot = async (name) => {
  await wd.execute('window.scrollTo(0, 0)');
  writeFileSync(join(shots, `${name}-${await lang()}.png`), await wd.screenshot());
};
/** Screenshots `name` in Japanese and English (the footer's switch), then returns to `back`. */
async function shootBoth(name, back = 'en', ready = async () => {}) {
  for (const l of ['ja', 'en']) {
    await wd.click(`button.lang[data-lang="${l}"]`);
    await waitFor(`window in ${l}`, async () => (await lang()) === l);
    await ready(l);
    await shoot(name);
  }
  await wd.click(`button.lang[data-lang="${back}"]`);
  await waitFor(`window back in ${back}`, async () => (await lang()) === back);
}
const tab = async (name) => {
  await wd.click(`button.tab[data-tab="${name}"]`);
  await waitFor(`tab ${name}`, () => exists(`button.tab[data-tab="${name}"][aria-current="page"]`));
};
const started = Date.now();

const wd = await WebDriver.start(driverUrl, app);
let failed = false;
try {
  // 1. The window shows the sign-in screen (English for the assertions; the OS language may be anything).
  assert.equal(await wd.text('#title'), 'Tsunagi');
  await wd.click('button[data-lang="en"]');
  await wd.waitForText('#presence', (t) => t === 'Offline', { what: 'initial presence' });
  await wd.waitForText('#version', (t) => t.includes('Tauri 2.12.'), { what: 'version line' });
  await shootBoth('signin');
  console.log('ok - sign-in screen, presence Offline');

  // 2. Security: the CSP blocks inline script; commands outside the main capability are refused; bad input too.
  const inlineRan = await wd.execute(
    "const s = document.createElement('script'); s.textContent = 'window.__inlineRan = true'; document.head.appendChild(s); return window.__inlineRan === true;",
  );
  assert.equal(inlineRan, false, 'CSP must block inline scripts');
  const denied = await invoke(wd, 'plugin:window|close', { label: 'main' });
  assert.ok(denied && typeof denied.rejected === 'string', `window close not granted: ${JSON.stringify(denied)}`);
  const early = await invoke(wd, 'core_command', { command: { command: 'setPresence', activity: 'available' } });
  assert.equal(early?.rejected?.kind, 'notSignedIn', `presence before sign-in refused: ${JSON.stringify(early)}`);
  const bad = await invoke(wd, 'core_command', { command: { command: 'setPresence', activity: 'napping' } });
  assert.ok(typeof bad?.rejected === 'string' && bad.rejected.includes('napping'), `bad activity refused: ${JSON.stringify(bad)}`);
  console.log('ok - CSP blocks inline script; ungranted, early and malformed commands refused');

  // 3. Sign in: a wrong password is explained; the right one brings the agent online, Available at TaskRouter.
  const signIn = async (password) => {
    await wd.execute(
      "const set = (id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }; set('login-name', 'tanaka'); set('login-password', arguments[0]);",
      [password],
    );
    await wd.click('#sign-in');
  };
  await signIn('wrong');
  await wd.waitForText('#login-error', (t) => t === 'Wrong login or password.', { what: 'bad password message' });
  await signIn('demo-tanaka');
  await wd.waitForText('#agent-name', (t) => t === '田中 太郎', { what: 'agent name' });
  await wd.waitForText('#presence', (t) => t === 'Available', { what: 'presence after sign-in' });
  await wd.waitForText('#connection', (t) => t === 'Connected', { what: 'TaskRouter connection' });
  await waitFor('worker Available at TaskRouter', async () => (await workerActivity()) === 'Available');
  await trayShows('Available', DISC.available);
  console.log('ok - signed in as 田中 太郎: Available in the window, the tray and at TaskRouter');

  // 4. The tray menu changes presence through the core: window, tray and TaskRouter follow.
  trayClick('Away');
  await wd.waitForText('#presence', (t) => t === 'Away', { what: 'window after tray Away' });
  await waitFor('worker Away at TaskRouter', async () => (await workerActivity()) === 'Away');
  await trayShows('Away', DISC.away);
  // The core mirrors presence into the agent's own Sync Document over Twilsock (read back at the stand-in's REST).
  const presenceDoc = async () => (await sim.syncDocument('presence.agent_1024'))?.data ?? null;
  await waitFor('presence Document says away', async () => (await presenceDoc())?.state === 'away');
  trayClick('Available');
  await waitFor('worker Available again', async () => (await workerActivity()) === 'Available');
  await trayShows('Available', DISC.available);
  await waitFor('presence Document says available', async () => (await presenceDoc())?.state === 'available');
  console.log('ok - tray Away/Available: window, tray icon, TaskRouter activity and the Sync presence Document follow');

  // 4b. The agent's screens against the real stack. Diagnostics: every service answers, with a latency; the token
  //     names its account and worker; this web engine has no WebRTC, and the window says so.
  await wd.waitForText('#voice-status', (t) => t === 'Phone: ready', { what: 'Voice Device registered' });
  await shootBoth('phone');
  await tab('diagnostics');
  await wd.click('#diagnose');
  for (const service of ['server', 'taskRouter', 'voice']) {
    await waitFor(`${service} reached`, () => exists(`dd[data-service="${service}"][data-outcome="reached"]`));
  }
  const latencies = await wd.execute(
    "return [...document.querySelectorAll('dd[data-service]')].map((d) => d.dataset.service + ' ' + d.textContent.trim())",
  );
  assert.match(await wd.text('#diag-token'), /AC[0-9a-f]{32}/, 'token account shown');
  assert.ok((await wd.text('#diag-token')).includes(TANAKA), 'token worker shown');
  assert.equal(await wd.text('#diag-webrtc'), 'not available in this web engine');
  await wd.click('#mic-test');
  const micWhy = await waitFor('microphone test result', () =>
    wd.execute("const r = document.querySelector('#mic-result'); return r && (r.dataset.why || r.textContent.trim())"),
  );
  await shootBoth('diagnostics');
  //    Settings: no audio devices here, and the reason; the ringtone volume is remembered.
  await tab('settings');
  assert.ok((await wd.text('#settings-no-webrtc')).includes('no WebRTC'), 'settings explain the empty device lists');
  assert.equal(await wd.execute("return document.querySelector('#setting-microphone').disabled"), true);
  await wd.execute(
    "const el = document.querySelector('#setting-volume'); el.value = '0.4'; el.dispatchEvent(new Event('input', { bubbles: true }));",
  );
  await waitFor('volume remembered', async () =>
    JSON.parse((await wd.execute("return localStorage.getItem('tsunagi.audio')")) ?? '{}').ringtoneVolume === 0.4,
  );
  await waitFor('update status shown', () => exists('#update-status'));
  //    Start at login: the switch writes (and removes) the XDG autostart entry.
  const autostartDir = join(process.env.TSUNAGI_TEST_HOME ?? process.env.HOME, '.config', 'autostart');
  const autostartEntries = () => (existsSync(autostartDir) ? readdirSync(autostartDir).filter((f) => f.endsWith('.desktop')) : []);
  await waitFor('autostart switch shown', () => exists('#setting-autostart'));
  assert.equal(await wd.execute("return document.querySelector('#setting-autostart').checked"), false);
  await wd.click('#setting-autostart');
  const entry = await waitFor('autostart entry written', () => autostartEntries()[0]);
  assert.ok(readFileSync(join(autostartDir, entry), 'utf8').includes('--minimized'), 'login start comes up in the tray');
  await shootBoth('settings');
  await wd.click('#setting-autostart');
  await waitFor('autostart entry removed', () => autostartEntries().length === 0);
  //    History: every agent sees their own calls (none yet on this fresh server).
  await tab('history');
  await wd.waitForText('#history-empty', (t) => t === 'No calls yet.', { what: 'history for agents' });
  await shootBoth('history-agent');
  await tab('phone');
  console.log(`ok - diagnostics (${latencies.join(', ')}), mic test (${micWhy}), settings (no WebRTC here, explained; start at login writes and removes ${entry}), history (own calls, none yet) in ja and en`);

  // 5. A customer calls the contact center: the reservation rings first (window, ringing tray icon, one OS
  //    notification with Answer / Decline); the conference instruction's agent leg reaches the Voice Device with the
  //    task's parameters and joins the same ring.
  await wd.waitForText('#voice-status', (t) => t === 'Phone: ready', { what: 'Voice Device registered' });
  const clients = await (await fetch(`${SIM_URL}/_sim/voice/clients`)).json();
  assert.ok(JSON.stringify(clients.registered).includes('agent_1024'), `agent_1024 registered: ${JSON.stringify(clients)}`);
  const before = notifications().length;
  const first = await customerCalls();
  await wd.waitForText('.ring .crm-name', (t) => t === '山田 花子', { what: 'ring with the CRM name' });
  assert.equal(await wd.text('.ring .caller'), '+81312345678');
  const shown = await waitFor('ring notification', () => notifications().slice(before).find((n) => n.event === 'notify'));
  assert.equal(shown.summary, 'Incoming call');
  // The owner and department follow when the server's task attributes name them (the call context comes later).
  const [who, number, owner] = shown.body.split('\n');
  assert.deepEqual([who, number], ['山田 花子', '+81312345678'], shown.body);
  if (owner) assert.equal(owner, 'Owner: 田中 太郎 / Department: 営業部');
  assert.deepEqual(shown.actions, { answer: 'Answer', decline: 'Decline' });
  assert.equal(shown.urgency, 2, 'critical urgency');
  await waitFor('tray rings', () => near(trayLayout().iconDiscRgba, DISC.ringing));
  const leg = await agentLeg(first.task);
  await waitFor('the Device reported the agent leg to the core', () => readLog().includes(leg.sid), 15000);
  await sleep(500);
  assert.equal(await wd.execute("return document.querySelectorAll('.ring').length"), 1, 'one ring for both halves');
  const rang = notifications().slice(before).filter((n) => n.event === 'notify' && n.replaces === 0);
  assert.equal(rang.length, 1, `exactly one notification for the call: ${JSON.stringify(rang)}`);
  const pending = (await sim.reservations(first.task)).find((r) => r.worker_sid === TANAKA);
  assert.equal(pending?.reservation_status, 'pending', 'the reservation waits for the agent');
  writeFileSync(join(shots, 'desktop-ringing-en.png'), await wd.screenshot());
  console.log(`ok - customer call ${first.call} → task ${first.task} rings once (reservation + agent leg): window, tray, notification "${shown.body.replace('\n', ' / ')}"`);

  // 6. Answer from the notification: the core accepts the reservation, then asks the Device to accept the call.
  //    Debian's WebKitGTK has no WebRTC, so the Device cannot carry audio (crates/media will): the core says why.
  pressNotification(shown.id, 'answer');
  const accepted = await waitFor('reservation accepted by the core', async () =>
    (await sim.reservations(first.task)).find((r) => r.worker_sid === TANAKA && r.reservation_status !== 'pending'),
  );
  assert.ok(['accepted', 'wrapping', 'completed'].includes(accepted.reservation_status), `accepted: ${accepted.reservation_status}`);
  await waitFor('ring gone from the window', async () => !(await wd.execute("return !!document.querySelector('.ring')")));
  await waitFor('notification closed', () => notifications().some((n) => n.event === 'close' && n.id === shown.id));
  await wd.waitForText('#core-error p', (t) => t.startsWith('The call could not be connected'), { what: 'accept failure explained' });
  console.log(`ok - Answer from the notification: reservation ${accepted.sid} accepted, ring stopped; no WebRTC here, so: "${await wd.text('#core-error p')}"`);

  // 7. Language: the window, the tray and the next notification speak Japanese.
  await wd.click('button[data-lang="ja"]');
  await wd.waitForText('button[data-activity="available"]', (t) => t === '受付可', { what: 'Japanese labels' });
  const layout = await waitFor('tray speaks Japanese', () => {
    const l = trayLayout();
    return l.items[1].label === '離席' ? l : null;
  });
  assert.deepEqual(layout.items.map((i) => i.label), ['受付可', '離席', '休憩', 'オフライン', 'Tsunagi を開く', '終了']);
  writeFileSync(join(shots, 'desktop-call-ja.png'), await wd.screenshot());
  console.log('ok - window and tray switched to Japanese');

  // 8. Single instance: a second launch hands over to this one and exits; this one keeps its session.
  const second = spawn(app, ['--second-launch-test'], { stdio: 'ignore' });
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => (second.kill(), resolve('still running after 10 s')), 10000);
    second.on('exit', (c) => (clearTimeout(timer), resolve(c)));
  });
  assert.equal(code, 0, `second instance should exit at once, got ${code}`);
  assert.equal((await invoke(wd, 'get_state')).profile?.displayName, '田中 太郎', 'first instance still signed in');
  console.log('ok - second launch exited (code 0); the first instance kept its session');

  // 9. Logs: the rolling file in the app's log directory tells the call's story, and holds no secrets.
  await waitFor('log file records the answer', () => readLog().includes(first.task) && readLog().includes('ring notification button pressed'));
  assert.ok(!readLog().includes('demo-tanaka'), 'the password never reaches the log');
  assert.ok(!readLog().includes('+81312345678'), 'the caller number never reaches the log');
  console.log(`ok - log file in ${logDir} tells the story without secrets or numbers`);

  // 10. The first call attempt is over (wrap-up done if there was one); the agent is Available again.
  let wrapped = false;
  await waitFor('first call over', async () => {
    if (await exists('#wrapup-done')) {
      await typeInto('#wrapup-notes', '折り返し希望 15時以降');
      await shoot('wrapup');
      await wd.click('#wrapup-done');
      wrapped = true;
    }
    return (await invoke(wd, 'get_state')).presence === 'available';
  }, 60000);
  await wd.click('#core-error button');
  console.log(`ok - first call attempt over${wrapped ? ' (wrap-up notes kept, Done)' : ''}; presence Available`);

  // 10b. Outbound: a national number typed in the dialer becomes E.164 and goes to the core as Dial; the core's
  //      Connect reaches this webview's Device, which cannot place a call without WebRTC: the attempt is reported
  //      failed and the agent told why, the number is kept in the recent list, and presence is restored.
  const legsBefore = (await (await fetch(`${SIM_URL}/_sim/voice/calls`)).json()).length;
  await typeInto('#dial-number', '03-1234-5678');
  await wd.click('#dial');
  await wd.waitForText('#core-error p', (t) => t.startsWith('発信できませんでした'), { what: 'dial failure explained' });
  await waitFor('recent number kept', () => exists('.recent button[data-number="+81312345678"]'));
  await waitFor('the Device reported the failed attempt to the core', () => readLog().includes('OutgoingFailed'));
  await waitFor('presence restored after the attempt', async () => (await invoke(wd, 'get_state')).presence === 'available');
  await shootBoth('dial-failed', 'ja');
  const legsAfter = (await (await fetch(`${SIM_URL}/_sim/voice/calls`)).json()).length;
  assert.equal(legsAfter, legsBefore, 'no call left this Device (no WebRTC to place it)');
  await wd.click('#core-error button');
  console.log('ok - dialer: 03-1234-5678 → Dial +81312345678 → Connect to the Device → failed without WebRTC, explained; recent list kept');

  // 11. A second customer calls; Quit is refused while it rings (nothing is lost); Decline from the notification
  //     rejects the reservation, so TaskRouter routes the call on.
  const seen = notifications().length;
  const call2 = await customerCalls();
  const ring2 = await waitFor('second ring notification', () => notifications().slice(seen).find((n) => n.event === 'notify'));
  assert.equal(ring2.summary, '着信', 'the notification speaks the UI language');
  assert.deepEqual(ring2.actions, { answer: '応答', decline: '拒否' });
  trayClick('終了');
  await wd.waitForText('#core-error p', (t) => t === '通話中または後処理中はログアウトできません。', { what: 'quit refused while ringing' });
  assert.equal((await invoke(wd, 'get_state')).profile?.displayName, '田中 太郎', 'still signed in after a refused quit');
  pressNotification(ring2.id, 'decline');
  await waitFor('reservation rejected at TaskRouter', async () =>
    (await sim.reservations(call2.task)).some((r) => r.reservation_status === 'rejected' && r.worker_sid === TANAKA),
  );
  await waitFor('ring gone', async () => !(await wd.execute("return !!document.querySelector('.ring')")));
  console.log(`ok - quit refused while ${call2.task} rang; Decline from the notification rejected its reservation`);

  // 11a. The agent's own history comes from the server (GET /v1/calls/history); wrap-up notes sent with Done show.
  await tab('history');
  await waitFor('own history loaded', async () => (await exists('#history-table')) || (await exists('#history-empty')));
  const listedFirst = await exists(`#history-table tr[data-task="${first.task}"]`);
  if (wrapped && listedFirst) {
    assert.ok((await wd.text(`#history-table tr[data-note-for="${first.task}"]`)).includes('折り返し希望'), 'wrap-up notes in history');
  }
  await shootBoth('history', 'ja');
  await tab('phone');
  console.log(`ok - own history from the server${listedFirst ? ` lists ${first.task}${wrapped ? ' with its notes' : ''}` : ' (the unconnected first call is not this agent’s)'}`);

  // 11b. Sign out, and in as the supervisor (山本 美咲): the Team tab shows the live roster from the server with
  //      田中 太郎's state; History shows this run's calls from the server's report, with the wrap-up notes kept here;
  //      monitor goes to the server, which answers that the call has no conference yet (nothing is connected here).
  await waitFor('presence Available', async () => (await invoke(wd, 'get_state')).presence === 'available');
  await wd.click('#sign-out');
  await waitFor('back at the sign-in screen', () => exists('#login'));
  await waitFor('worker Offline at TaskRouter after sign-out', async () => (await workerActivity()) === 'Offline');
  await wd.execute(
    "const set = (id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }; set('login-name', 'yamamoto'); set('login-password', 'demo-yamamoto');",
  );
  await wd.click('#sign-in');
  await wd.waitForText('#agent-name', (t) => t === '山本 美咲 さん', { what: 'supervisor signed in' });
  await tab('supervisor');
  await wd.waitForText('#roster li[data-agent="agent_1024"] .name', (t) => t === '田中 太郎', { what: 'roster lists tanaka' });
  await waitFor('roster shows tanaka Offline', async () => (await wd.text('#roster li[data-agent="agent_1024"] .state')).startsWith('オフライン'));
  await shootBoth('team', 'ja', (l) =>
    wd.waitForText('#roster li[data-agent="agent_1024"] .state', (t) => t.startsWith(l === 'ja' ? 'オフライン' : 'Offline'), { what: `roster in ${l}` }),
  );
  const monitor = await invoke(wd, 'supervise', { task: first.task, mode: 'monitor' });
  assert.equal(monitor?.rejected?.kind, 'server', `monitor reached the server: ${JSON.stringify(monitor)}`);
  const cancel = await invoke(wd, 'transfer_step', { task: first.task, step: 'cancel' });
  // Only the agent holding the call may steer its transfer: the server refuses the supervisor (403 → forbidden).
  assert.equal(cancel?.rejected?.kind, 'forbidden', `warm-transfer cancel reached the server: ${JSON.stringify(cancel)}`);
  const badTask = await invoke(wd, 'supervise', { task: 'WT-nope', mode: 'barge' });
  assert.ok(typeof badTask?.rejected === 'string', `a malformed TaskSid is refused at the IPC edge: ${JSON.stringify(badTask)}`);
  console.log(`ok - supervisor: roster (田中 太郎 Offline), monitor and warm-transfer cancel reach the server (${monitor.rejected.message} / ${cancel.rejected.message})`);

  // 12. Quit signs out first: TaskRouter shows the worker Offline, then the app exits.
  await tab('phone');
  await waitFor('supervisor Available', async () => (await invoke(wd, 'get_state')).presence === 'available');
  trayClick('終了');
  await waitFor('supervisor Offline at TaskRouter after quit', async () => (await sim.worker(YAMAMOTO)).activity_name === 'Offline');
  await waitFor('app exited', async () => (await wd.execute('return 1').then(() => false, () => true)), 10000);
  console.log('ok - quit signed out first (worker Offline at TaskRouter) and the app exited');
} catch (e) {
  failed = true;
  console.error('not ok -', e.stack ?? e);
  try {
    writeFileSync(join(shots, 'desktop-e2e-failure.png'), await wd.screenshot());
  } catch {}
} finally {
  await wd.quit().catch(() => {});
}
console.log(`# desktop e2e took ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
