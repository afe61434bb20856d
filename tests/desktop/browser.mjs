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
import { waitFor } from './wait.mjs';

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

/** A WAV of a `hz` tone (48 kHz, 16-bit mono, 2 s; Chromium loops it) for a party's microphone. */
function toneWav(hz) {
  const file = join(shots, '..', `mic-${hz}hz.wav`);
  const rate = 48000, n = rate * 2, data = Buffer.alloc(44 + n * 2);
  data.write('RIFF', 0); data.writeUInt32LE(36 + n * 2, 4); data.write('WAVEfmt ', 8); data.writeUInt32LE(16, 16);
  data.writeUInt16LE(1, 20); data.writeUInt16LE(1, 22); data.writeUInt32LE(rate, 24); data.writeUInt32LE(rate * 2, 28);
  data.writeUInt16LE(2, 32); data.writeUInt16LE(16, 34); data.write('data', 36); data.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  writeFileSync(file, data);
  return file;
}

/** In the page: the spectrum (dB per bin, and Hz per bin) of the newest live remote audio track (one
 *  analyser per remote track, kept between calls). */
const remoteSpectrum = async () => {
  const track = (window.__testPeerConnections ?? [])
    .filter((c) => c.signalingState !== 'closed')
    .flatMap((c) => c.getReceivers().map((r) => r.track))
    .filter((t) => t?.kind === 'audio' && t.readyState === 'live')
    .at(-1);
  if (!track) return null;
  let probe = window.__testProbe;
  if (probe?.track !== track) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    probe = window.__testProbe = { track, context, analyser };
    await new Promise((r) => setTimeout(r, 600));
  }
  await probe.context.resume();
  const bins = new Float32Array(probe.analyser.frequencyBinCount);
  probe.analyser.getFloatFrequencyData(bins);
  return { bins: [...bins], hzPerBin: probe.context.sampleRate / probe.analyser.fftSize };
};
const dominantHz = (s) => {
  if (!s) return null;
  let best = 1;
  for (let i = 2; i < s.bins.length; i++) if (s.bins[i] > s.bins[best]) best = i;
  return s.bins[best] > -90 ? best * s.hzPerBin : null;
};

/** One party: a Chromium with a `hz` tone as microphone, showing the UI of the app whose loopback URL is in `file`. */
async function party(file, hz) {
  const loopback = (await waitFor(`the app wrote ${file}`, () => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')))).url;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${toneWav(hz)}`, '--autoplay-policy=no-user-gesture-required'],
  });
  const page = await (await browser.newContext({ viewport: { width: 420, height: 760 }, locale: 'en-US' })).newPage();
  page.on('pageerror', (e) => console.error('# page error:', e.message));
  page.on('console', (m) => ['warning', 'error'].includes(m.type()) && console.error(`# page ${m.type()}: ${m.text()}`));
  // Test-only: remember the page's peer connections, to listen to the remote audio (no product code involved).
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.__testPeerConnections = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        window.__testPeerConnections.push(this);
      }
    };
  });
  await page.goto(`http://127.0.0.1:${web.address().port}/?loopback=${encodeURIComponent(loopback)}`);
  await page.click('button.lang[data-lang="en"]');
  return { browser, page };
}
async function signIn(page, login) {
  await page.fill('#login-name', login);
  await page.fill('#login-password', `demo-${login}`);
  await page.click('#sign-in');
  await page.waitForSelector('#agent-name');
  await waitFor(`${login} Available`, async () => (await page.textContent('#presence'))?.trim() === 'Available');
  await waitFor(`${login}'s Device registered`, async () => (await page.textContent('#voice-status'))?.trim() === 'Phone: ready');
}

const agent = await party(LOOPBACK_FILE, 1000);
const page = agent.page;
const text = async (css) => (await page.textContent(css))?.trim();
const shoot = async (name, on = page) => {
  for (const lang of ['ja', 'en']) {
    await on.click(`button.lang[data-lang="${lang}"]`);
    await on.screenshot({ path: join(shots, `browser-${name}-${lang}.png`), fullPage: true });
  }
};
let supervisor = null;
/** 山田 花子 (+81312345678) calls the contact center; resolves once her call is queued as a task. */
async function customerCalls() {
  const res = await fetch(`${SIM_URL}/_sim/calls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: '+81312345678', to: '+81501234567', tone_hz: 440, script: [{ do: 'wait', ms: 120000 }, { do: 'hangup' }] }),
  });
  const customer = await res.json();
  const queued = await waitFor('customer queued', async () => (await getJson(`/_sim/calls/${customer.sid}`)).queued_task);
  return { customer, queued };
}

let failed = false;
try {
  // 1. Sign in over the loopback transport; the Voice Device registers from Chromium.
  await signIn(page, 'tanaka');
  console.log('ok - signed in through the loopback transport; the Device registered from Chromium');

  // 2. A customer calls; Answer connects with real media (WebRTC in Chromium).
  const { customer, queued } = await customerCalls();
  await page.waitForSelector('.ring .crm-name');
  assert.equal(await text('.ring .crm-name'), '山田 花子');
  await page.click('.ring button.answer');
  await page.waitForSelector('#call[data-phase="connected"]', { timeout: 20000 });
  await waitFor('call timer runs', async () => (await text('#call-timer')) !== '0:00', 5000);
  const leg = await waitFor('agent leg connected at the stand-in', async () =>
    (await getJson('/_sim/voice/calls')).find((l) => l.identity === 'agent_1024' && l.params.some(([k, v]) => k === 'TaskSid' && v === queued.task) && l.media_connected),
  );
  // Two-way audio, by tone: the agent's microphone (a 1 kHz WAV) reaches the stand-in and, through the
  // conference, the customer; the customer's 440 Hz reaches the agent's ear in Chromium.
  const near = (hz, want) => typeof hz === 'number' && Math.abs(hz - want) < 40;
  await waitFor('the stand-in hears the agent at 1 kHz', async () => near((await getJson(`/_sim/voice/calls/${leg.sid}`)).audio?.dominant_hz, 1000));
  await waitFor('the customer hears the agent at 1 kHz', async () => near((await getJson(`/_sim/calls/${customer.sid}`)).audio?.dominant_hz, 1000));
  const heard = await waitFor('the agent hears the customer at 440 Hz', async () => {
    const hz = dominantHz(await page.evaluate(remoteSpectrum));
    return near(hz, 440) && hz;
  });
  // The server's call context names the customer's owner and department (demo CRM: 田中 太郎, 営業部).
  await waitFor('owner and department on the call screen', async () => {
    const line = (await page.$('#crm-owner')) && (await text('#crm-owner'));
    return line?.includes('田中 太郎') && line.includes('営業部');
  });
  console.log(`ok - call screen: ${await text('#crm-owner')}`);
  console.log(`ok - answered ${queued.task}: connected with media (agent leg ${leg.sid}), timer running; two-way audio: 1 kHz agent → stand-in and customer, ${Math.round(heard)} Hz customer → agent`);

  // 3. The keypad's digits reach the stand-in on the agent's leg.
  await page.click('#keypad-toggle');
  for (const key of ['1', '2', '#']) await page.click(`#keypad [data-key="${key}"]`);
  await waitFor('DTMF 12# at the stand-in', async () => {
    const view = await getJson(`/_sim/voice/calls/${leg.sid}`);
    return view.dtmf?.includes('12#') || { dtmf: view.dtmf, state: view.state, messages: view.messages?.slice(-3) };
  });
  await shoot('call-keypad');
  console.log('ok - keypad 1 2 # reached the stand-in as DTMF on the agent leg');

  // 3b. The supervisor (山本 美咲, her own app and Chromium) sees 田中 on a call in the Team tab and whispers: the
  //     server calls her Device into the conference as a coach of the agent's leg; she answers, then leaves.
  supervisor = await party(process.env.SUPERVISOR_LOOPBACK_FILE, 1500);
  const sup = supervisor.page;
  await signIn(sup, 'yamamoto');
  await sup.click('button.tab[data-tab="supervisor"]');
  await sup.waitForSelector('#roster li[data-agent="agent_1024"] button[data-mode="coach"]', { timeout: 20000 });
  await shoot('team-live', sup);
  await sup.click('#roster li[data-agent="agent_1024"] button[data-mode="coach"]');
  await sup.waitForSelector('.ring button.answer', { timeout: 20000 });
  await sup.click('.ring button.answer');
  await sup.waitForSelector('#call[data-phase="connected"]', { timeout: 20000 });
  // The conference now has her as a coach of the agent's leg (checked at the stand-in, not by ear: two browsers'
  // media on 2 cores drop out too often for a tone check to be fair).
  const coach = await waitFor('the supervisor is a coach of the agent leg in the conference', async () =>
    (await getJson('/_sim/conferences'))
      .flatMap((c) => c.participants)
      .find((p) => p.label === 'supervisor-agent_9001' && p.coaching && p.call_sid_to_coach === leg.sid && p.status === 'connected'),
  );
  await sup.click('#hangup');
  await sup.waitForSelector('#call', { state: 'detached', timeout: 20000 });
  console.log(`ok - supervisor whisper: Team tab shows 田中 on a call → Whisper → the server called her Device (${coach.call_sid}) into the conference as coach of ${leg.sid}; she answered and left`);

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

  // 5. The transfer dialog lists the directory: available agents first (山本 美咲 is signed in), the others greyed;
  //    search narrows it. Then a cold transfer to a number: the server dials it in and the agent leaves → wrap-up.
  await page.click('#transfer-open');
  await page.waitForSelector('#transfer-agents li[data-agent]');
  const listed = await page.$$eval('#transfer-agents li[data-agent]', (lis) =>
    lis.map((li) => ({ id: li.dataset.agent, greyed: li.classList.contains('unavailable') })),
  );
  assert.ok(!listed.some((a) => a.id === 'agent_1024'), `the agent is not listed to themself: ${JSON.stringify(listed)}`);
  assert.deepEqual(listed[0], { id: 'agent_9001', greyed: false }, `available first: ${JSON.stringify(listed)}`);
  assert.ok(listed.slice(1).every((a) => a.greyed), `signed-out agents greyed: ${JSON.stringify(listed)}`);
  await shoot('transfer-directory');
  await page.fill('#transfer-search', '山本');
  await waitFor('search narrows the directory', async () => (await page.$$('#transfer-agents li[data-agent]')).length === 1);
  await page.check('input[name="transfer-kind"][value="number"]');
  await page.fill('#transfer-number', '+81612345678');
  await shoot('transfer');
  await page.click('#transfer-send');
  await page.waitForSelector('#wrapup-done', { timeout: 20000 });
  await page.fill('#wrapup-notes', '高橋様へ転送済み');
  await shoot('wrapup');
  await page.click('#wrapup-done');
  await waitFor('Available again', async () => (await text('#presence')) === 'Available', 20000);
  // The notes went to the server with Done: the agent's own history shows them.
  await page.click('button.tab[data-tab="history"]');
  await waitFor('notes in history', async () =>
    (await page.$(`#history-table tr[data-note-for="${queued.task}"]`)) &&
    (await text(`#history-table tr[data-note-for="${queued.task}"]`)).includes('高橋様へ転送済み'),
  );
  await shoot('history');
  await page.click('button.tab[data-tab="phone"]');
  console.log('ok - cold transfer to +81612345678 through the server; wrap-up notes sent with Done and shown in history; Available again');

  // 5b. Warm transfer: the customer waits on hold while the agent talks to the number, then the agent completes
  //     the hand-over (transfer/complete) and leaves → wrap-up.
  const second = await customerCalls();
  await page.waitForSelector('.ring button.answer');
  await page.click('.ring button.answer');
  await page.waitForSelector('#call[data-phase="connected"]', { timeout: 20000 });
  // First to a busy number: the server's transfer.failed clears the consult banner and the window says the
  // customer is back with the agent (off hold); the call goes on.
  const busy = await fetch(`${SIM_URL}/_sim/calls/numbers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ number: '+81398765432', answer: 'busy' }),
  });
  assert.equal(busy.status, 200, 'the stand-in takes the busy number');
  await page.click('#transfer-open');
  await page.waitForSelector('#transfer-agents li[data-agent]');
  await page.check('input[name="transfer-kind"][value="number"]');
  await page.fill('#transfer-number', '+81398765432');
  await page.check('input[name="transfer-mode"][value="warm"]');
  await page.click('#transfer-send');
  await page.waitForSelector('#transfer-failed', { timeout: 20000 });
  assert.ok(!(await page.$('#warm-transfer')), 'the consult banner is gone after transfer.failed');
  assert.match(await text('#transfer-failed'), /busy|話し中/);
  await waitFor('customer off hold after the failed transfer', async () => !(await page.$('#on-hold')));
  await shoot('transfer-failed');
  console.log('ok - warm transfer to a busy number: transfer.failed cleared the consult banner and said the customer is back');
  await page.click('#transfer-open');
  await page.waitForSelector('input[name="transfer-kind"][value="number"]');
  await page.check('input[name="transfer-kind"][value="number"]');
  await page.fill('#transfer-number', '+81612345678');
  await page.check('input[name="transfer-mode"][value="warm"]');
  await page.click('#transfer-send');
  await page.waitForSelector('#warm-transfer');
  assert.ok(!(await page.$('#transfer-failed')), 'a new transfer replaces the failure notice');
  // The customer is on hold while the agent consults: the hold button says so (lit, not pressable).
  assert.equal(await page.getAttribute('#hold', 'aria-pressed'), 'true');
  assert.ok(await page.isDisabled('#hold'));
  await page.waitForSelector('#on-hold');
  await waitFor('customer held during the consultation', async () => JSON.stringify(await getJson('/_sim/conferences')).includes('"hold":true'));
  await waitFor('the transfer target joined the conference', async () =>
    (await getJson('/_sim/conferences')).some((c) => c.participants.some((p) => p.label?.startsWith('transfer-') && p.status === 'connected')),
  );
  await shoot('warm-transfer');
  // The server learns of the join from the conference callback; the agent completes once they have talked.
  await waitFor('transfer completed', async () => {
    await (await page.$('#warm-complete'))?.click().catch(() => {});
    await sleep(300);
    return !(await page.$('#warm-transfer'));
  });
  await page.waitForSelector('#wrapup-done', { timeout: 20000 });
  await page.click('#wrapup-done');
  await waitFor('Available after the warm transfer', async () => (await text('#presence')) === 'Available', 20000);
  console.log(`ok - warm transfer of ${second.queued.task}: customer held while consulting, completed through the server, wrap-up`);

  // 6. Outbound from the dialer: Dial → the Device connects through the stand-in's TwiML application to the
  //    server's outbound webhook.
  await page.fill('#dial-number', '06-1234-5678');
  await page.click('#dial');
  await page.waitForSelector('#call[data-outgoing="true"]');
  await shoot('outgoing');
  await page.waitForSelector('#call[data-phase="connected"]', { timeout: 20000 });
  // Hold works on an outgoing call too: the server holds the customer's leg of the ob- conference. It is offered
  // only once the customer answered (the server's outbound.connected), and then it works at the first press.
  await page.waitForSelector('#hold:not([disabled])', { timeout: 20000 });
  assert.ok(
    (await getJson('/_sim/conferences')).some(
      (c) => c.friendly_name?.startsWith('ob-') && c.participants.filter((p) => p.status === 'connected').length >= 2,
    ),
    'Hold is offered only once the customer is in the ob- room',
  );
  await page.click('#hold');
  await page.waitForSelector('#on-hold', { timeout: 10000 });
  assert.ok(!(await page.$('#core-error')), 'no error on the first press');
  await waitFor('outgoing customer held at the stand-in', async () => JSON.stringify(await getJson('/_sim/conferences')).includes('"hold":true'));
  await page.click('#hold');
  await waitFor('outgoing hold released', async () => !(await page.$('#on-hold')), 10000);
  await page.click('#hangup');
  await waitFor('outgoing call over', async () => !(await page.$('#call')), 20000);
  // Hang-up went through the server too: no ob- room keeps a connected customer.
  await waitFor('the ob- conference ended at the stand-in', async () =>
    !(await getJson('/_sim/conferences')).some(
      (c) => c.friendly_name?.startsWith('ob-') && c.participants.some((p) => p.status === 'connected'),
    ),
  );
  console.log('ok - outgoing call to +81612345678 connected from the dialer, held and resumed through the server, hung up');
} catch (e) {
  failed = true;
  console.error('not ok -', e.stack ?? e);
  await page.screenshot({ path: join(shots, 'browser-e2e-failure.png') }).catch(() => {});
} finally {
  await agent.browser.close().catch(() => {});
  await supervisor?.browser.close().catch(() => {});
  web.close();
}
console.log(`# browser e2e took ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
