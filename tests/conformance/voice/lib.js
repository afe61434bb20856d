'use strict';
// Shared by the Voice SDK conformance scripts: the stand-in process, the page server (the SDK's npm dist bundle as
// is), a fresh Chromium with a fake microphone playing MIC_HZ, tokens minted by twilio-node, and polling helpers.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const twilio = require('twilio');

const ACCOUNT = 'AC00000000000000000000000000000001';
const KEY = 'SK00000000000000000000000000000001';
const SECRET = 'voice-key-secret';
const TASK_SID = 'WT00000000000000000000000000000042';
const CALLER_HZ = 440;
const MIC_HZ = 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const near = (hz, want, tol = 15) => typeof hz === 'number' && Math.abs(hz - want) <= tol;

async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** 16-bit mono PCM WAV of a sine. */
function toneWav(hz, seconds = 4, rate = 48000, amplitude = 0.3) {
  const n = seconds * rate;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * amplitude * 32767), 44 + i * 2);
  return b;
}

function voiceToken(identity, ttl = 3600) {
  const { AccessToken } = twilio.jwt;
  const t = new AccessToken(ACCOUNT, KEY, SECRET, { identity, ttl });
  t.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true, outgoingApplicationSid: 'AP00000000000000000000000000000001' }));
  return t.toJwt();
}

/** Starts the stand-in binary with sim.toml, or with `extra` TOML appended (numbers, workspaces, …). */
async function startSim(dir, { telephoneEvent = true, extra = '' } = {}) {
  const bin = process.env.SIM_BIN;
  if (!bin) throw new Error('SIM_BIN is not set (run tests/conformance/voice/run.sh)');
  let config = fs.readFileSync(path.join(__dirname, 'sim.toml'), 'utf8') + extra;
  if (process.env.MEDIA_IP) config = config.replace('ip = "127.0.0.1"', `ip = "${process.env.MEDIA_IP}"`);
  if (!telephoneEvent) config = config.replace(/media = \{ (.*) \}/, 'media = { $1, telephone_event = false }');
  const configPath = path.join(dir, 'sim.toml');
  fs.writeFileSync(configPath, config);
  const portFile = path.join(dir, 'port');
  const child = spawn(bin, ['--config', configPath, '--listen', '127.0.0.1:0', '--port-file', portFile], {
    stdio: ['ignore', 'ignore', process.env.SIM_LOG ? 'inherit' : 'ignore'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  await until('the stand-in to start', () => {
    if (child.exitCode !== null) throw new Error(`stand-in exited with ${child.exitCode}`);
    return fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8') !== '';
  }, 20000);
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  const base = `http://127.0.0.1:${port}`;
  const api = async (p, body) => {
    const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const r = await fetch(`${base}/_sim/voice/${p}`, init);
    const json = await r.json();
    if (!r.ok) throw new Error(`/_sim/voice/${p} -> ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  return { port, api, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

/** Serves the page, the SDK's dist bundle from node_modules, and 15 silent sounds. */
function startPageServer() {
  const page = fs.readFileSync(path.join(__dirname, 'index.html'));
  const sdk = fs.readFileSync(path.join(__dirname, 'node_modules/@twilio/voice-sdk/dist/twilio.js'));
  const silence = toneWav(0, 0.1, 8000, 0);
  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    if (url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    if (url === '/twilio.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    if (url.startsWith('/sounds/')) return res.writeHead(200, { 'content-type': 'audio/wav' }).end(silence);
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`,
    stop: () => new Promise((r) => server.close(r)),
  })));
}

/**
 * A fresh stand-in, page server and Chromium (fresh profile) for one test; everything is torn down by t.after.
 * Returns the handles and helpers the steps use.
 */
async function setup(t, simOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagi-voice-'));
  const wav = path.join(dir, 'mic.wav');
  fs.writeFileSync(wav, toneWav(MIC_HZ));
  const cleanup = [];
  t.after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const sim = await startSim(dir, simOptions);
  cleanup.push(sim.stop);
  const web = await startPageServer();
  cleanup.push(web.stop);
  // A fresh profile per run; Playwright passes it as --user-data-dir.
  const browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required',
      // The stand-in's wss:// certificate is self-signed (same port as its plain HTTP).
      '--ignore-certificate-errors'],
    ignoreHTTPSErrors: true,
  });
  cleanup.push(() => browser.close());
  const page = browser.pages()[0] || await browser.newPage();
  const requests = [];
  const consoleErrors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => requests.push(ws.url()));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));

  await page.exposeFunction('freshToken', () => voiceToken('alice'));
  const events = () => page.evaluate(() => window.events);
  let seen = 0; // events before this index belong to earlier steps
  const waitEvent = async (name, ms = 15000) => until(`page event '${name}'`, async () => {
    const all = await events();
    const i = all.findIndex((e, k) => k >= seen && e.name === name);
    if (i < 0) return null;
    seen = i + 1;
    return all[i];
  }, ms);
  const call = (sid) => sim.api(`calls/${sid}`);
  const remoteTone = () => page.evaluate(() => window.remoteTone());
  const ringAlice = async () => {
    const placed = await sim.api('calls', { to: 'client:alice', from: '+815012345678', tone_hz: CALLER_HZ,
      params: [['task_sid', TASK_SID], ['caller_name', 'Yamada Taro']] });
    const incoming = await waitEvent('incoming');
    assert.equal(incoming.data.callSid, placed.sid);
    return placed.sid;
  };

  await page.goto(web.url);
  return { sim, page, requests, consoleErrors, events, waitEvent, call, remoteTone, ringAlice };
}


module.exports = {
  ACCOUNT, KEY, SECRET, TASK_SID, CALLER_HZ, MIC_HZ, sleep, near, until, toneWav, voiceToken, startSim,
  startPageServer, setup,
};
