// Browser end-to-end: the real app hosts the agent session; the same UI runs in Debian's Chromium (which has
// WebRTC, unlike WebKitGTK) over the app's loopback WebSocket transport, with the pinned Voice SDK against the
// Twilio stand-in and the real server. A customer's call is answered with real media, DTMF from the keypad reaches
// the stand-in, hold goes through the server to the conference, the call is transferred cold to a number, wrap-up
// is done, and an outgoing call is placed from the dialer. Run by tests/desktop/browser.sh.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(join(root, 'tests', 'conformance', 'voice', 'package.json'));
const { chromium } = require('playwright-core');
const { SIM_URL, TSUNAGI_SERVER_URL, LOOPBACK_FILE } = process.env;
assert.ok(SIM_URL && TSUNAGI_SERVER_URL && LOOPBACK_FILE, 'run me through tests/desktop/browser.sh');
const shots = join(root, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });
const started = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 15000) {
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
const getJson = async (path) => (await fetch(`${SIM_URL}${path}`)).json();

// The built UI (ui/dist), served as a browser would get it.
const dist = join(root, 'ui', 'dist');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wav': 'audio/wav', '.png': 'image/png' };
const web = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(dist, path === '/' ? 'index.html' : path);
  if (!file.startsWith(dist) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((r) => web.listen(0, '127.0.0.1', r));
const loopback = (await waitFor('the app wrote its loopback URL', () => existsSync(LOOPBACK_FILE) && JSON.parse(readFileSync(LOOPBACK_FILE, 'utf8')))).url;
const pageUrl = `http://127.0.0.1:${web.address().port}/?loopback=${encodeURIComponent(loopback)}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required'],
});
const page = await (await browser.newContext({ viewport: { width: 420, height: 760 }, locale: 'en-US' })).newPage();
page.on('pageerror', (e) => console.error('# page error:', e.message));
page.on('console', (m) => ['warning', 'error'].includes(m.type()) && console.error(`# page ${m.type()}: ${m.text()}`));
const text = async (css) => (await page.textContent(css))?.trim();
const shoot = async (name) => {
  for (const lang of ['ja', 'en']) {
    await page.click(`button.lang[data-lang="${lang}"]`);
    await page.screenshot({ path: join(shots, `browser-${name}-${lang}.png`), fullPage: true });
  }
};
let failed = false;
try {
  // 1. Sign in over the loopback transport; the Voice Device registers from Chromium.
  await page.goto(pageUrl);
  await page.click('button.lang[data-lang="en"]');
  await page.fill('#login-name', 'tanaka');
  await page.fill('#login-password', 'demo-tanaka');
  await page.click('#sign-in');
  await page.waitForSelector('#agent-name');
  await waitFor('presence Available', async () => (await text('#presence')) === 'Available');
  await waitFor('Voice Device registered', async () => (await text('#voice-status')) === 'Phone: ready');
  console.log('ok - signed in through the loopback transport; the Device registered from Chromium');

  // 2. A customer calls; Answer connects with real media (WebRTC in Chromium).
  const res = await fetch(`${SIM_URL}/_sim/calls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: '+81312345678', to: '+81501234567', tone_hz: 440, script: [{ do: 'wait', ms: 120000 }, { do: 'hangup' }] }),
  });
  const customer = await res.json();
  const queued = await waitFor('customer queued', async () => (await getJson(`/_sim/calls/${customer.sid}`)).queued_task);
  await page.waitForSelector('.ring .crm-name');
  assert.equal(await text('.ring .crm-name'), '山田 花子');
  await page.click('.ring button.answer');
  await page.waitForSelector('#call[data-phase="connected"]', { timeout: 20000 });
  await waitFor('call timer runs', async () => (await text('#call-timer')) !== '0:00', 5000);
  const leg = await waitFor('agent leg connected at the stand-in', async () =>
    (await getJson('/_sim/voice/calls')).find((l) => l.identity === 'agent_1024' && l.params.some(([k, v]) => k === 'TaskSid' && v === queued.task) && l.media_connected),
  );
  console.log(`ok - answered ${queued.task}: connected with media (agent leg ${leg.sid}), timer running`);

  // 3. The keypad's digits reach the stand-in on the agent's leg.
  await page.click('#keypad-toggle');
  for (const key of ['1', '2', '#']) await page.click(`#keypad [data-key="${key}"]`);
  await waitFor('DTMF 12# at the stand-in', async () => {
    const view = await getJson(`/_sim/voice/calls/${leg.sid}`);
    return view.dtmf?.includes('12#') || { dtmf: view.dtmf, state: view.state, messages: view.messages?.slice(-3) };
  });
  await shoot('call-keypad');
  console.log('ok - keypad 1 2 # reached the stand-in as DTMF on the agent leg');

  // 4. Hold goes through the server to the conference (the customer's participant is held), then resumes.
  await page.click('#hold');
  await page.waitForSelector('#on-hold');
  const held = await waitFor('customer held in the conference', async () => {
    const conferences = await getJson('/_sim/conferences');
    return JSON.stringify(conferences).includes('"hold":true') ? conferences : null;
  });
  assert.ok(held);
  await shoot('call-hold');
  await page.click('#hold');
  await waitFor('hold released', async () => !(await page.$('#on-hold')));
  console.log('ok - hold and resume through the server: the customer participant was held at the stand-in');

  // 5. Transfer (cold) to a number: the server dials it into the conference and the agent leaves → wrap-up.
  await page.click('#transfer-open');
  await page.waitForSelector('#transfer');
  await page.fill('#transfer-number', '+81612345678');
  await shoot('transfer');
  await page.click('#transfer-send');
  await page.waitForSelector('#wrapup-done', { timeout: 20000 });
  await page.fill('#wrapup-notes', '高橋様へ転送済み');
  await shoot('wrapup');
  await page.click('#wrapup-done');
  await waitFor('Available again', async () => (await text('#presence')) === 'Available', 20000);
  console.log('ok - cold transfer to +81612345678 through the server; wrap-up with notes; Available again');

  // 6. Outbound from the dialer: Dial → the Device connects through the stand-in's TwiML application to the
  //    server's outbound webhook.
  await page.fill('#dial-number', '06-1234-5678');
  await page.click('#dial');
  await page.waitForSelector('#call[data-outgoing="true"]');
  await shoot('outgoing');
  await page.waitForSelector('#call[data-phase="connected"]', { timeout: 20000 });
  await page.click('#hangup');
  await waitFor('outgoing call over', async () => !(await page.$('#call')), 20000);
  console.log('ok - outgoing call to +81612345678 connected from the dialer and hung up');
} catch (e) {
  failed = true;
  console.error('not ok -', e.stack ?? e);
  await page.screenshot({ path: join(shots, 'browser-e2e-failure.png') }).catch(() => {});
} finally {
  await browser.close().catch(() => {});
  web.close();
}
console.log(`# browser e2e took ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
