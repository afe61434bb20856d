'use strict';
// twilio@6.2.0's Voice REST (api.twilio.com/2010-04-01) against the stand-in's call engine: Calls create / fetch /
// list / update (Twiml, Status), Conferences list / fetch / update, Participants create / update / list / remove,
// and Twilio's error shape as RestException for unknown CallSids and bad TwiML.
const test = require('node:test');
const assert = require('node:assert/strict');
const { IDS, startSim, restClient, sleep } = require('./lib');

async function until(what, fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('twilio 6.2.0 Voice REST against the stand-in', async (t) => {
  const sim = await startSim();
  const rest = restClient(sim);
  rest.api.baseUrl = sim.url;
  t.after(() => sim.stop());
  const FROM = '+81501234567';

  await t.test('calls: create with Twiml, fetch, list, redirect, hang up, errors', async () => {
    const call = await rest.calls.create({ to: '+819011112222', from: FROM, twiml: '<Response><Pause length="30"/></Response>' });
    assert.match(call.sid, /^CA[0-9a-f]{32}$/);
    assert.equal(call.accountSid, IDS.SUB);
    assert.equal(call.direction, 'outbound-api');
    assert.ok(call.dateCreated instanceof Date && !Number.isNaN(call.dateCreated.getTime()), 'RFC 2822 dates parse');
    await until('answered', async () => (await rest.calls(call.sid).fetch()).status === 'in-progress');
    const listed = await rest.calls.list({ to: '+819011112222' });
    assert.deepEqual(listed.map((c) => c.sid), [call.sid]);
    const redirected = await rest.calls(call.sid).update({ twiml: '<Response><Say>hi</Say><Pause length="30"/></Response>' });
    assert.equal(redirected.status, 'in-progress');
    const ended = await rest.calls(call.sid).update({ status: 'completed' });
    assert.equal(ended.status, 'completed');
    assert.ok(ended.endTime instanceof Date);
    await assert.rejects(rest.calls('CA0000000000000000000000000000dead').fetch(), (e) => e.status === 404 && e.code === 20404);
    await assert.rejects(rest.calls(call.sid).update({ url: 'http://127.0.0.1:9/x' }), (e) => e.status === 400 && e.code === 21220);
    await assert.rejects(
      rest.calls.create({ to: '+819011112222', from: FROM, twiml: '<Response><Nope/></Response>' }),
      (e) => e.status === 400 && e.code === 12100,
    );
  });

  await t.test('conferences and participants', async () => {
    const host = await rest.calls.create({
      to: '+819033334444',
      from: FROM,
      twiml: '<Response><Dial><Conference endConferenceOnExit="true" participantLabel="host">room-7</Conference></Dial></Response>',
    });
    const conf = await until('room-7 in progress', async () => (await rest.conferences.list({ friendlyName: 'room-7', status: 'in-progress' }))[0]);
    assert.match(conf.sid, /^CF[0-9a-f]{32}$/);
    const guest = await rest.conferences(conf.sid).participants.create({ from: FROM, to: '+819055556666', label: 'guest', muted: true });
    assert.equal(guest.label, 'guest');
    await until('two participants', async () => (await rest.conferences(conf.sid).participants.list()).length === 2);
    const held = await rest.conferences(conf.sid).participants('guest').update({ hold: true });
    assert.equal(held.hold, true);
    assert.equal(held.muted, true);
    assert.equal((await rest.conferences(conf.sid).participants(host.sid).fetch()).label, 'host');
    assert.equal(await rest.conferences(conf.sid).participants('guest').remove(), true);
    const done = await rest.conferences(conf.sid).update({ status: 'completed' });
    assert.equal(done.status, 'completed');
    assert.equal(done.reasonConferenceEnded, 'conference-ended-via-api');
    await until('the host call to end', async () => (await rest.calls(host.sid).fetch()).status === 'completed');
    await assert.rejects(rest.conferences('CF0000000000000000000000000000dead').fetch(), (e) => e.status === 404 && e.code === 20404);
  });
});
