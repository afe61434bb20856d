'use strict';
// Shared helpers for the conformance scripts: start a fresh stand-in (the Rust binary named by SIM_BIN) on a free
// loopback port, mint tokens with twilio-node's own AccessToken builder, point the twilio REST client at the
// stand-in, and wait for SDK events with a timeout. Only 127.0.0.1 is ever contacted.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const twilio = require('twilio');

const IDS = {
  MASTER: 'AC00000000000000000000000000000001', MASTER_TOKEN: 'master-auth-token',
  MASTER_KEY: 'SK00000000000000000000000000000001', MASTER_SECRET: 'master-key-secret',
  SUB: 'AC00000000000000000000000000000002', SUB_TOKEN: 'sub-auth-token',
  SUB_KEY: 'SK00000000000000000000000000000002', SUB_SECRET: 'sub-key-secret',
  WS: 'WS00000000000000000000000000000001', IS: 'IS00000000000000000000000000000001', WQ: 'WQ00000000000000000000000000000001', WW: 'WW00000000000000000000000000000001',
  ALICE: 'WK00000000000000000000000000000001', BOB: 'WK00000000000000000000000000000002',
  CAROL: 'WK00000000000000000000000000000003', DAVE: 'WK00000000000000000000000000000004',
};

/** Starts the stand-in; resolves to {url, ws, stop, control}. */
async function startSim(config = path.join(__dirname, 'sim.toml')) {
  const bin = process.env.SIM_BIN;
  if (!bin) throw new Error('SIM_BIN is not set (run tests/conformance/run.sh)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagi-sim-'));
  const portFile = path.join(dir, 'port');
  const child = spawn(bin, ['--config', config, '--listen', '127.0.0.1:0', '--port-file', portFile], {
    stdio: ['ignore', 'ignore', process.env.SIM_LOG ? 'inherit' : 'ignore'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 20000;
  while (!fs.existsSync(portFile) || fs.readFileSync(portFile, 'utf8') === '') {
    if (child.exitCode !== null) throw new Error(`stand-in exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('stand-in did not start');
    await sleep(50);
  }
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  const url = `http://127.0.0.1:${port}`;
  const control = async (p, body) => {
    const r = await fetch(`${url}/_sim/${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    const json = await r.json();
    if (!r.ok) throw new Error(`/_sim/${p} -> ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stop = async () => { child.kill('SIGTERM'); await exited; fs.rmSync(dir, { recursive: true, force: true }); };
  return { url, ws: `ws://127.0.0.1:${port}`, control, stop };
}

/** A twilio@6.2.0 REST client whose TaskRouter and Sync domains point at the stand-in (base URL only). */
function restClient(sim, user = IDS.SUB_KEY, pass = IDS.SUB_SECRET, accountSid = IDS.SUB) {
  const client = twilio(user, pass, { accountSid });
  client.taskrouter.baseUrl = sim.url;
  client.sync.baseUrl = sim.url;
  return client;
}

/** A worker Access Token minted by twilio-node's builder. */
function workerToken(workerSid, { ttl = 3600, account = IDS.SUB, key = IDS.SUB_KEY, secret = IDS.SUB_SECRET, identity } = {}) {
  const { AccessToken } = twilio.jwt;
  const t = new AccessToken(account, key, secret, { identity: identity || workerSid, ttl });
  t.addGrant(new AccessToken.TaskRouterGrant({ workspaceSid: IDS.WS, workerSid, role: 'worker' }));
  return t.toJwt();
}

/** A Sync Access Token. */
function syncToken(identity, serviceSid, { ttl = 3600, account = IDS.SUB, key = IDS.SUB_KEY, secret = IDS.SUB_SECRET } = {}) {
  const { AccessToken } = twilio.jwt;
  const t = new AccessToken(account, key, secret, { identity, ttl });
  t.addGrant(new AccessToken.SyncGrant({ serviceSid }));
  return t.toJwt();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the event's arguments, or rejects after `ms`. */
function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { emitter.removeListener(event, on); reject(new Error(`timeout waiting for '${event}'`)); }, ms);
    const on = (...args) => { clearTimeout(t); resolve(args); };
    emitter.once(event, on);
  });
}

/** Resolves true if `event` fires within `ms`, false otherwise. */
function firesWithin(emitter, event, ms) {
  return once(emitter, event, ms).then(() => true, () => false);
}

module.exports = { IDS, startSim, restClient, workerToken, syncToken, sleep, once, firesWithin };
