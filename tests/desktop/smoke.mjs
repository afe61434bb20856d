// Desktop smoke test: the real Tauri app under Xvfb, driven over WebDriver, its tray menu clicked over D-Bus.
// Run by tests/desktop/run.sh (which starts Xvfb, a D-Bus session, the fake tray watcher and tauri-driver).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { WebDriver, sleep } from './webdriver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const app = process.env.TSUNAGI_APP ?? join(root, 'target', 'debug', 'tsunagi');
const trayState = process.env.TRAY_STATE;
const driverUrl = process.env.WEBDRIVER_URL ?? 'http://127.0.0.1:4444';
assert.ok(trayState, 'TRAY_STATE must name the fake watcher state file');

const trayLayout = () => JSON.parse(execFileSync(process.env.TRAY_PYTHON ?? 'python3', [join(here, 'tray.py'), 'layout', trayState], { encoding: 'utf8' }));
const trayClick = (label) => execFileSync(process.env.TRAY_PYTHON ?? 'python3', [join(here, 'tray.py'), 'click', trayState, label]);
const invoke = (wd, command, args = {}) =>
  wd.executeAsync('const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(done, (e) => done({ rejected: e }));', [command, args]);

async function waitFor(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`${what}: gave up; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

const checked = (layout) => layout.items.filter((i) => i.checked).map((i) => i.label);
// The disc colours of icons/tray-*.png (scripts/dev/make-icons.py).
const DISC = { available: [46, 160, 67], away: [230, 145, 30], offline: [120, 124, 130] };
const near = (rgba, rgb) => rgb.every((c, i) => Math.abs(rgba[i] - c) <= 6);

const wd = await WebDriver.start(driverUrl, app);
let failed = false;
try {
  // 1. The window shows the UI (in English for the assertions; the OS language may be anything).
  assert.equal(await wd.text('#title'), 'Tsunagi');
  await wd.click('button[data-lang="en"]');
  await wd.waitForText('#presence', (t) => t === 'Offline', { what: 'initial presence' });
  await wd.waitForText('#version', (t) => t.includes('Tauri 2.12.'), { what: 'version line' });
  console.log('ok - window shows the UI, presence Offline');

  // 2. An IPC command through the UI: the button calls set_presence and shows its answer.
  await wd.click('button[data-presence="available"]');
  await wd.waitForText('#presence', (t) => t === 'Available', { what: 'presence after clicking Available' });
  assert.deepEqual(await invoke(wd, 'get_state'), { presence: 'available' });
  const bad = await invoke(wd, 'set_presence', { presence: 'napping' });
  assert.ok(bad && typeof bad.rejected === 'string' && bad.rejected.includes('napping'), `bad presence refused: ${JSON.stringify(bad)}`);
  assert.deepEqual(await invoke(wd, 'get_state'), { presence: 'available' }, 'a refused command changed nothing');
  console.log('ok - set_presence via the UI, get_state agrees, bad input refused');

  // 3. Security: the CSP blocks inline script, and commands outside the main capability are refused.
  const inlineRan = await wd.execute(
    "const s = document.createElement('script'); s.textContent = 'window.__inlineRan = true'; document.head.appendChild(s); return window.__inlineRan === true;",
  );
  assert.equal(inlineRan, false, 'CSP must block inline scripts');
  const denied = await invoke(wd, 'plugin:window|close', { label: 'main' });
  assert.ok(denied && typeof denied.rejected === 'string', `window close not granted: ${JSON.stringify(denied)}`);
  console.log('ok - CSP blocks inline script; ungranted command refused:', denied.rejected);

  // 4. The tray: registered with the watcher, menu mirrors the state, icon colour is the presence.
  let layout = await waitFor('tray shows Available', () => {
    const l = trayLayout();
    return checked(l).join() === 'Available' ? l : null;
  });
  assert.deepEqual(layout.items.map((i) => i.label), ['Available', 'Away', 'Break', 'Offline', 'Open Tsunagi', 'Quit']);
  assert.ok(near(layout.iconDiscRgba, DISC.available), `tray icon is green: ${layout.iconDiscRgba}`);
  console.log('ok - tray menu', JSON.stringify(layout.items.map((i) => i.label)));

  // 5. Click "Away" in the tray menu: the app's state, the window and the tray all follow.
  trayClick('Away');
  await wd.waitForText('#presence', (t) => t === 'Away', { what: 'window after tray click' });
  assert.equal(await wd.text('#notice'), 'Changed from the tray: Away.');
  assert.deepEqual(await invoke(wd, 'get_state'), { presence: 'away' });
  layout = await waitFor('tray shows Away', () => {
    const l = trayLayout();
    return checked(l).join() === 'Away' ? l : null;
  });
  assert.ok(near(layout.iconDiscRgba, DISC.away), `tray icon is amber: ${layout.iconDiscRgba}`);
  console.log('ok - tray "Away" changed state, window and icon');

  // 6. Single instance: a second launch hands over to this one and exits; this one keeps running.
  const second = spawn(app, ['--second-launch-test'], { stdio: 'ignore' });
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => (second.kill(), resolve('still running after 10 s')), 10000);
    second.on('exit', (c) => (clearTimeout(timer), resolve(c)));
  });
  assert.equal(code, 0, `second instance should exit at once, got ${code}`);
  assert.deepEqual(await invoke(wd, 'get_state'), { presence: 'away' }, 'first instance unaffected');
  console.log('ok - second launch exited (code 0), first instance still answers');

  // 7. Logs: the rolling file in the app's log directory tells what happened.
  const logDir = join(process.env.XDG_DATA_HOME ?? join(process.env.HOME, '.local', 'share'), 'jp.tsunagi.desktop', 'logs');
  await waitFor('log file records the tray change', () =>
    readdirSync(logDir).some((f) => /presence changed.*from="?available"? to="?away"? source=Tray/.test(readFileSync(join(logDir, f), 'utf8'))),
  );
  console.log(`ok - log file in ${logDir} records the change`);

  const shots = join(root, 'target', 'screenshots');
  mkdirSync(shots, { recursive: true });
  writeFileSync(join(shots, 'desktop-smoke-en.png'), await wd.screenshot());
  await wd.click('button[data-lang="ja"]');
  await wd.waitForText('#presence', (t) => t === '離席', { what: 'Japanese presence label' });
  writeFileSync(join(shots, 'desktop-smoke-ja.png'), await wd.screenshot());
  layout = await waitFor('tray speaks Japanese', () => {
    const l = trayLayout();
    return l.items[1].label === '離席' ? l : null;
  });
  assert.deepEqual(layout.items.map((i) => i.label), ['受付可', '離席', '休憩', 'オフライン', 'Tsunagi を開く', '終了']);
  assert.deepEqual(checked(layout), ['離席'], 'check mark survives relabelling');
  console.log(`ok - window and tray switched to Japanese; screenshots saved in ${shots}`);
} catch (e) {
  failed = true;
  console.error('not ok -', e.stack ?? e);
  try {
    const shots = join(root, 'target', 'screenshots');
    mkdirSync(shots, { recursive: true });
    writeFileSync(join(shots, 'desktop-smoke-failure.png'), await wd.screenshot());
  } catch {}
} finally {
  await wd.quit().catch(() => {});
}
process.exit(failed ? 1 : 0);
