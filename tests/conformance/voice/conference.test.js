'use strict';
// The unmodified @twilio/voice-sdk 2.18.5 in Chromium as an agent in stand-in conferences, audio checked by tone:
//
// 1. Outgoing call through a TwiML application: device.connect({params: {To, TsunagiAttempt}}) reaches the
//    application's Voice URL (signed, From=client:alice, custom parameter as a form field), whose <Dial><Conference>
//    answers the call; a PSTN customer added by Participants REST is heard (440 Hz) and hears the agent's fake mic
//    (1000 Hz); Hold=true silences the customer for the agent (the customer hears the hold source), Hold=false
//    brings it back.
// 2. TaskRouter: a customer calls, <Enqueue workflowSid> creates a task, the assignment callback answers a
//    `conference` instruction with ConferenceRecord=record-from-start; the agent accepts the incoming call in the
//    browser; both hear each other; hold/unhold by Participants REST; the customer hangs up; the task is wrapping;
//    the signed recording callback arrives and the stereo WAV has the agent (first to join) on channel 1 and the
//    customer on channel 2.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const twilio = require('twilio');
const { ACCOUNT, KEY, SECRET, MIC_HZ, near, until, voiceToken, setup } = require('./lib.js');

const AUTH_TOKEN = 'voice-auth-token';
const APP = 'AP00000000000000000000000000000001';
const WS = 'WS00000000000000000000000000000001';
const WF = 'WW00000000000000000000000000000001';
const NUMBER = '+815012345678';
const CUSTOMER = '+819055556666';
const CUSTOMER_HZ = 440;
const HOLD_HZ = 620;

/** A webhook server: answers per path, keeps every request with its verified signature. */
function startHooks(replies) {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const url = `http://127.0.0.1:${server.address().port}${req.url}`;
      const params = Object.fromEntries(new URLSearchParams(body));
      const valid = twilio.validateRequest(AUTH_TOKEN, req.headers['x-twilio-signature'] || '', url, params);
      const path = req.url.split('?')[0];
      hits.push({ path, params, valid });
      const reply = replies[path];
      if (!reply) return res.writeHead(204).end();
      const [type, text] = typeof reply === 'function' ? reply(params) : reply;
      res.writeHead(200, { 'content-type': type }).end(text);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: (p) => `http://127.0.0.1:${server.address().port}${p}`,
    hits: (p) => hits.filter((h) => h.path === p),
    stop: () => new Promise((r) => server.close(r)),
  })));
}

const xml = (s) => ['text/xml', `<?xml version="1.0" encoding="UTF-8"?><Response>${s}</Response>`];

function extraConfig(hooks) {
  return `
[[applications]]
sid = "${APP}"
voice_url = "${hooks.url('/app')}"
voice_method = "POST"

[[numbers]]
number = "${NUMBER}"
account = "${ACCOUNT}"
voice_url = "${hooks.url('/voice')}"

[[workspaces]]
account = "${ACCOUNT}"
sid = "${WS}"
friendly_name = "Support"
activities = [{ sid = "WA00000000000000000000000000000001", name = "Offline", available = false }, { sid = "WA00000000000000000000000000000002", name = "Available", available = true }]
default_activity = "Available"
queues = [{ name = "All" }]
workers = [{ sid = "WK00000000000000000000000000000001", name = "alice", attributes = { contact_uri = "client:alice" } }]

[[workspaces.workflows]]
sid = "${WF}"
name = "inbound"
task_reservation_timeout = 60
assignment_callback_url = "${hooks.url('/assign')}"
configuration = '{"task_routing":{"filters":[],"default_filter":{"queue":"All"}}}'
`;
}

/** Basic-auth REST against the stand-in. */
function restClient(port) {
  return async (method, path, form) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`,
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const buf = Buffer.from(await r.arrayBuffer());
    const type = r.headers.get('content-type') || '';
    return { status: r.status, json: type.includes('json') ? JSON.parse(buf.toString()) : null, body: buf };
  };
}

const simPost = (port) => async (p, body) => {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${p} -> ${r.status} ${JSON.stringify(json)}`);
  return json;
};

/** Goertzel power of `hz` over 8 kHz samples. */
function power(x, hz) {
  const k = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let s1 = 0, s2 = 0;
  for (const v of x) { const s = v + k * s1 - s2; s2 = s1; s1 = s; }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/** The channels of a 16-bit PCM WAV. */
function wavChannels(buf) {
  assert.equal(buf.toString('ascii', 0, 4), 'RIFF');
  const channels = buf.readUInt16LE(22);
  const out = Array.from({ length: channels }, () => []);
  for (let i = 44, n = 0; i + 1 < buf.length; i += 2, n++) out[n % channels].push(buf.readInt16LE(i));
  return out;
}

test('an agent in stand-in conferences, heard and hearing by tone', { timeout: 240000 }, async (t) => {
  const replies = {
    '/app': xml('<Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false" region="jp1">ob-1</Conference></Dial>'),
    '/voice': xml(`<Enqueue workflowSid="${WF}"><Task>{"type":"inbound"}</Task></Enqueue>`),
  };
  const hooks = await startHooks(replies);
  t.after(() => hooks.stop());
  replies['/assign'] = (p) => ['application/json', JSON.stringify({
    instruction: 'conference', from: NUMBER, to: `client:alice?TaskSid=${p.TaskSid}&ReservationSid=${p.ReservationSid}`, end_conference_on_exit: true, end_conference_on_customer_exit: true,
    conference_record: 'record-from-start', conference_recording_status_callback: hooks.url('/rec'),
    conference_status_callback: hooks.url('/conf'), conference_status_callback_event: 'start end join leave',
  })];
  const { sim, page, requests, waitEvent, remoteTone } = await setup(t, { extra: extraConfig(hooks) });
  const rest = restClient(sim.port);
  const post = simPost(sim.port);
  const calls = async (sid) => (await fetch(`http://127.0.0.1:${sim.port}/_sim/calls/${sid}`)).json();
  const heardBy = async (sid) => (await calls(sid)).audio?.dominant_hz;
  const confs = `/2010-04-01/Accounts/${ACCOUNT}/Conferences`;

  assert.equal(await page.evaluate(([tok, c]) => window.setupDevice(tok, c), [voiceToken('alice'), `127.0.0.1:${sim.port}`]), 'ok');
  await waitEvent('registered');

  await t.test('outgoing call through the TwiML application ends in a conference with a PSTN customer', async () => {
    await post('/_sim/calls/numbers', { number: CUSTOMER, answer: 'answer', script: [{ do: 'tone', hz: CUSTOMER_HZ }] });
    await page.evaluate(() => window.dial({ To: '+819011112222', TsunagiAttempt: 'att-1' }));
    await waitEvent('accept');
    const hit = await until('the application webhook', async () => hooks.hits('/app')[0]);
    assert.ok(hit.valid, 'X-Twilio-Signature verifies with twilio-node');
    assert.equal(hit.params.From, 'client:alice');
    assert.equal(hit.params.To, '+819011112222');
    assert.equal(hit.params.Direction, 'inbound');
    assert.equal(hit.params.ApplicationSid, APP);
    assert.equal(hit.params.TsunagiAttempt, 'att-1');
    const agentCall = await page.evaluate(() => window.call.parameters.CallSid);
    assert.equal(hit.params.CallSid, agentCall);

    const added = await rest('POST', `${confs}/ob-1/Participants.json`, { From: NUMBER, To: CUSTOMER, Label: 'customer' });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    const customer = added.json.call_sid;
    await until('the agent to hear the customer', async () => near((await remoteTone())?.hz, CUSTOMER_HZ));
    await until('the customer to hear the agent', async () => near(await heardBy(customer), MIC_HZ));

    const cf = (await rest('GET', `${confs}.json?FriendlyName=ob-1&Status=in-progress`)).json.conferences[0].sid;
    const hold = await rest('POST', `${confs}/${cf}/Participants/customer.json`, { Hold: 'true' });
    assert.equal(hold.json.hold, true);
    await until('the agent no longer hears the customer', async () => !near((await remoteTone())?.hz, CUSTOMER_HZ));
    await until('the customer hears the hold source', async () => near(await heardBy(customer), HOLD_HZ));
    await rest('POST', `${confs}/${cf}/Participants/customer.json`, { Hold: 'false' });
    await until('the customer back for the agent', async () => near((await remoteTone())?.hz, CUSTOMER_HZ));
    await until('the customer hears the agent again', async () => near(await heardBy(customer), MIC_HZ));

    await page.evaluate(() => window.call.disconnect());
    await waitEvent('disconnect');
    await until('the customer hung up with the conference', async () => (await calls(customer)).status === 'completed');
  });

  await t.test('TaskRouter conference instruction: answer in the browser, hold/unhold by REST, recording', async () => {
    const caller = (await post('/_sim/calls', { from: '+81312345678', to: NUMBER, tone_hz: CUSTOMER_HZ })).sid;
    const incoming = await waitEvent('incoming');
    assert.match(incoming.data.custom.TaskSid || '', /^WT/);
    const task = incoming.data.custom.TaskSid;
    await page.evaluate(() => window.call.accept());
    await waitEvent('accept');
    await until('the agent to hear the customer', async () => near((await remoteTone())?.hz, CUSTOMER_HZ));
    await until('the customer to hear the agent', async () => near(await heardBy(caller), MIC_HZ));

    const list = await rest('GET', `${confs}.json?FriendlyName=${task}&Status=in-progress`);
    assert.equal(list.json.conferences.length, 1);
    const cf = list.json.conferences[0].sid;
    await rest('POST', `${confs}/${cf}/Participants/customer.json`, { Hold: 'true' });
    await until('the agent no longer hears the customer', async () => !near((await remoteTone())?.hz, CUSTOMER_HZ));
    await until('the customer hears the hold source', async () => near(await heardBy(caller), HOLD_HZ));
    await rest('POST', `${confs}/${cf}/Participants/customer.json`, { Hold: 'false' });
    await until('the customer back for the agent', async () => near((await remoteTone())?.hz, CUSTOMER_HZ));
    // Talk a moment longer so the recording (hold is never recorded) has well over a second of both voices.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await post(`/_sim/calls/${caller}/hangup`, {});
    await waitEvent('disconnect');
    await until('the task wrapping', async () => {
      const r = await rest('GET', `/v1/Workspaces/${WS}/Tasks/${task}`);
      return r.json.assignment_status === 'wrapping';
    });
    const rec = await until('the recording callback', async () => hooks.hits('/rec')[0]);
    assert.ok(rec.valid);
    assert.equal(rec.params.RecordingStatus, 'completed');
    assert.equal(rec.params.ConferenceSid, cf);
    assert.equal(rec.params.RecordingChannels, '2');
    const media = await rest('GET', `${new URL(rec.params.RecordingUrl).pathname}.wav?RequestedChannels=2`);
    assert.equal(media.status, 200);
    const [agent, others] = wavChannels(media.body);
    assert.ok(agent.length > 8000, `${agent.length} samples`);
    assert.ok(power(agent, MIC_HZ) > 10 * power(agent, CUSTOMER_HZ), 'channel 1 = the agent (first to join)');
    assert.ok(power(others, CUSTOMER_HZ) > 10 * power(others, MIC_HZ), 'channel 2 = the customer');
    assert.equal((await rest('DELETE', `/2010-04-01/Accounts/${ACCOUNT}/Recordings/${rec.params.RecordingSid}.json`)).status, 204);
  });

  await t.test('nothing left 127.0.0.1', () => {
    assert.deepEqual(requests.filter((u) => !/^(https?|wss?):\/\/127\.0\.0\.1[:/]/.test(u)), []);
  });
});
