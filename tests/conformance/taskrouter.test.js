'use strict';
// The unmodified twilio-taskrouter@2.1.1 Worker SDK (and twilio@6.2.0 for the backend's REST calls) against a
// freshly started stand-in. Every step asserts what the SDK itself saw: its events, objects and statuses.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('twilio-taskrouter');
const { IDS, startSim, restClient, workerToken, sleep, once, firesWithin } = require('./lib');

const workers = [];
function connect(sim, sid, token = workerToken(sid), extra = {}) {
  const w = new Worker(token, { ebServer: `${sim.url}/v1/wschannels`, wsServer: `${sim.ws}/v1/wschannels`, logLevel: 'silent', ...extra });
  w.errors = [];
  w.initialToken = token;
  w.on('error', (e) => w.errors.push(e));
  workers.push(w);
  return w;
}
const activity = (w, name) => [...w.activities.values()].find((a) => a.name === name);
async function goAvailable(w) {
  const updated = once(w, 'activityUpdated');
  await activity(w, 'Available').setAsCurrent();
  await updated;
  assert.equal(w.activity.name, 'Available');
}
const inbound = (extra) => JSON.stringify({ type: 'inbound_call', owner_email: 'alice@example.jp', department_id: 'sales', ...extra });

test('twilio-taskrouter 2.1.1 against the stand-in', async (t) => {
  const sim = await startSim();
  const rest = restClient(sim);
  const ws = rest.taskrouter.v1.workspaces(IDS.WS);
  t.after(async () => { for (const w of workers) w.disconnect(); await sim.stop(); });

  let alice, bob, carol;

  await t.test('worker connects: init + bootstrap -> ready with the server-side identity', async () => {
    alice = connect(sim, IDS.ALICE);
    const [w] = await once(alice, 'ready');
    assert.equal(w.sid, IDS.ALICE);
    assert.equal(w.accountSid, IDS.SUB);
    assert.equal(w.workspaceSid, IDS.WS);
    assert.equal(w.activity.name, 'Offline');
    assert.equal(w.activities.size, 3);
    assert.equal(w.channels.size, 1);
    assert.equal(w.reservations.size, 0);
    assert.equal(w.attributes.email, 'alice@example.jp');
  });

  await t.test('goes Available: activityUpdated pushed, REST agrees', async () => {
    await goAvailable(alice);
    const fetched = await ws.workers(IDS.ALICE).fetch();
    assert.equal(fetched.activityName, 'Available');
    assert.equal(fetched.available, true);
  });

  let resA;
  await t.test('task for the owner is reserved to the owner', async () => {
    const created = once(alice, 'reservationCreated');
    const task = await ws.tasks.create({ workflowSid: IDS.WW, attributes: inbound({ customer_name: '山田 花子' }) });
    assert.equal(task.assignmentStatus, 'pending', 'routing is asynchronous, as on Twilio');
    [resA] = await created;
    assert.equal(resA.status, 'pending');
    assert.equal(resA.task.sid, task.sid);
    assert.equal(resA.task.status, 'reserved');
    assert.equal(resA.task.attributes.customer_name, '山田 花子');
    assert.equal(resA.task.queueSid, IDS.WQ);
    assert.equal(alice.reservations.get(resA.sid), resA);
  });

  await t.test('accepts with a conference instruction; the SDK sees accepted + assigned', async () => {
    const accepted = once(resA, 'accepted');
    await resA.conference({ from: '+815012345678', endConferenceOnExit: true, region: 'jp1', timeout: 20 });
    await accepted;
    assert.equal(resA.status, 'accepted');
    assert.equal(resA.task.status, 'assigned');
    const viaRest = await ws.tasks(resA.task.sid).reservations(resA.sid).fetch();
    assert.equal(viaRest.reservationStatus, 'accepted');
  });

  await t.test('task attributes update with multibyte text, wrap-up and complete', async () => {
    const updated = once(resA.task, 'updated');
    await resA.task.setAttributes({ ...resA.task.attributes, memo: '折り返し希望 🙏' });
    await updated;
    assert.equal(resA.task.attributes.memo, '折り返し希望 🙏');
    const fetched = await ws.tasks(resA.task.sid).fetch();
    assert.equal(JSON.parse(fetched.attributes).memo, '折り返し希望 🙏');
    const [tw, rw] = [once(resA.task, 'wrapup'), once(resA, 'wrapup')];
    await resA.task.wrapUp({ reason: 'call ended' });
    await Promise.all([tw, rw]);
    assert.equal(resA.task.status, 'wrapping');
    const [tc, rc] = [once(resA.task, 'completed'), once(resA, 'completed')];
    await resA.task.complete('resolved');
    await Promise.all([tc, rc]);
    assert.equal(resA.task.status, 'completed');
    assert.equal(resA.status, 'completed');
    assert.ok(!alice.reservations.has(resA.sid));
  });

  let taskB, resCarol;
  await t.test('owner unavailable -> department after 10 s -> anyone after a reject and 30 s', async () => {
    const off = once(alice, 'activityUpdated');
    await activity(alice, 'Break').setAsCurrent();
    await off;
    bob = connect(sim, IDS.BOB);
    carol = connect(sim, IDS.CAROL);
    await Promise.all([once(bob, 'ready'), once(carol, 'ready')]);
    await Promise.all([goAvailable(bob), goAvailable(carol)]);

    const bobGets = once(bob, 'reservationCreated');
    const carolEarly = firesWithin(carol, 'reservationCreated', 1500);
    taskB = await ws.tasks.create({ workflowSid: IDS.WW, attributes: inbound() });
    assert.equal(await carolEarly, false, 'nobody is offered the task during the owner step');
    await sim.control('clock/advance', { ms: 10000 });
    const [resBob] = await bobGets;
    assert.equal(resBob.task.sid, taskB.sid);

    const carolGets = once(carol, 'reservationCreated', 15000);
    const rejected = once(resBob, 'rejected');
    await resBob.reject();
    await rejected;
    assert.equal(resBob.status, 'rejected');
    assert.equal(await firesWithin(carol, 'reservationCreated', 800), false, 'department step still running: carol is in support');
    await sim.control('clock/advance', { ms: 30000 });
    [resCarol] = await carolGets;
    assert.equal(resCarol.task.sid, taskB.sid);
    assert.equal(resCarol.status, 'pending');
    const history = await ws.tasks(taskB.sid).reservations.list();
    assert.deepEqual(history.map((r) => [r.workerSid, r.reservationStatus]).sort(), [[IDS.BOB, 'rejected'], [IDS.CAROL, 'pending']].sort());
  });

  await t.test('survives a server-side socket drop: reconnect, ready again, the pending reservation re-fetched', async () => {
    const disc = once(carol, 'disconnected');
    const ready = once(carol, 'ready', 15000);
    const { dropped } = await sim.control('sockets/drop', { label: IDS.CAROL, code: 1011, reason: 'stand-in drop' });
    assert.equal(dropped, 1);
    const [d] = await disc;
    assert.equal(d.message, 'stand-in drop');
    await ready;
    const again = carol.reservations.get(resCarol.sid);
    assert.ok(again, 'pending reservation is back after re-bootstrap');
    assert.notEqual(again, resCarol, 'as a new object (SDK behaviour)');
    assert.equal(carol.activity.name, 'Available', 'a drop shorter than the grace period keeps the activity');
    const accepted = once(again, 'accepted');
    await again.accept();
    await accepted;
    assert.equal(again.task.status, 'assigned');
    resCarol = again;
  });

  await t.test('survives a token update: old token expired by the server, reconnect uses the new one', async () => {
    const fresh = workerToken(IDS.CAROL, { ttl: 7200, identity: 'carol-2' });
    const updated = once(carol, 'tokenUpdated');
    carol.updateToken(fresh);
    await updated;
    const [tw] = [once(resCarol.task, 'wrapup')];
    await resCarol.task.wrapUp();
    await tw;
    const disc = once(carol, 'disconnected');
    const ready = once(carol, 'ready', 15000);
    const { log: before } = await sim.control('events?kind=eventbridge.open');
    await sim.control('tokens/expire', { token: carol.initialToken });
    const [d] = await disc;
    assert.match(d.message, /^20104 /, 'the close reason carries the Twilio code');
    assert.ok(carol.errors.some((e) => e && e.code === 20104), 'worker error event with code 20104');
    await ready;
    const { log: after } = await sim.control('events?kind=eventbridge.open');
    assert.equal(after.length, before.length + 1, 'one reconnect, with the new token');
    const wrapping = carol.reservations.get(resCarol.sid);
    assert.ok(wrapping && wrapping !== resCarol, 'the wrapping reservation came back as a new object');
    assert.equal(wrapping.status, 'wrapping');
    const tc = once(wrapping.task, 'completed');
    await wrapping.task.complete('done');
    await tc;
    assert.equal(wrapping.task.status, 'completed');
  });

  await t.test('a token minted with the master key for the subaccount is refused with 20103, not a silent hangup', async () => {
    const bad = connect(sim, IDS.DAVE, workerToken(IDS.DAVE, { key: IDS.MASTER_KEY, secret: IDS.MASTER_SECRET }));
    const [d] = await once(bad, 'disconnected');
    bad.disconnect();
    assert.ok(bad.errors.some((e) => e && e.code === 20103 && /issuer\/subject/.test(e.message)), JSON.stringify(bad.errors));
    assert.match(d.message, /^20103 /);
  });

  await t.test('disconnect -> the worker moves to the disconnect activity after the grace period', async () => {
    const disc = once(bob, 'disconnected');
    bob.disconnect();
    await disc;
    await sleep(300);
    assert.equal((await ws.workers(IDS.BOB).fetch()).activityName, 'Available', 'still within the grace period');
    await sim.control('clock/advance', { ms: 3000 });
    assert.equal((await ws.workers(IDS.BOB).fetch()).activityName, 'Offline');
  });
});
