'use strict';
// twilio@6.2.0 (the backend's REST client) against a freshly started stand-in: TaskRouter resources, paging,
// Twilio's error shape as RestException, Basic auth with keys and auth tokens, and webhooks whose
// X-Twilio-Signature the official `twilio.validateRequest` accepts, including the assignment callback's
// conference instruction.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const twilio = require('twilio');
const { Worker } = require('twilio-taskrouter');
const { IDS, startSim, restClient, workerToken, once } = require('./lib');

async function rejects(promise, status, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    assert.equal(e.moreInfo, `https://www.twilio.com/docs/errors/${code}`);
    return true;
  });
}

/** A local webhook receiver that validates signatures with twilio.validateRequest. */
async function receiver(reply) {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const url = `http://127.0.0.1:${server.address().port}${req.url}`;
      const valid = twilio.validateRequest(IDS.SUB_TOKEN, req.headers['x-twilio-signature'] || '', url, params);
      hits.push({ path: req.url, params, valid });
      const [status, json] = reply(req.url, params, hits.length);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(json ? JSON.stringify(json) : '');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { hits, base: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) };
}

test('twilio 6.2.0 REST against the stand-in', async (t) => {
  const sim = await startSim();
  const rest = restClient(sim);
  const ws = rest.taskrouter.v1.workspaces(IDS.WS);
  const cleanup = [];
  t.after(async () => { for (const c of cleanup) await c(); await sim.stop(); });

  await t.test('auth: API key, parent account token; wrong secret -> 401/20003', async () => {
    assert.equal((await ws.fetch()).friendlyName, 'Tsunagi support');
    const master = restClient(sim, IDS.MASTER, IDS.MASTER_TOKEN, IDS.MASTER);
    assert.equal((await master.taskrouter.v1.workspaces(IDS.WS).fetch()).accountSid, IDS.SUB, 'a parent may act on its subaccount');
    await rejects(restClient(sim, IDS.SUB_KEY, 'wrong').taskrouter.v1.workspaces(IDS.WS).fetch(), 401, 20003);
  });

  await t.test('lists page through next_page_url', async () => {
    const all = await ws.workers.list({ pageSize: 3 });
    assert.deepEqual(all.map((w) => w.friendlyName), ['alice', 'bob', 'carol', 'dave']);
    const page = await ws.workers.page({ pageSize: 3 });
    assert.equal(page.instances.length, 3);
    assert.ok(page.nextPageUrl);
    const activities = await ws.activities.list();
    assert.deepEqual(activities.map((a) => [a.friendlyName, a.available]), [['Offline', false], ['Available', true], ['Break', false]]);
  });

  let available;
  await t.test('workers: create, attributes, activity, filters; delete refused while Available', async () => {
    available = (await ws.activities.list()).find((a) => a.available).sid;
    const w = await ws.workers.create({ friendlyName: 'eve', attributes: JSON.stringify({ email: 'eve@example.jp', name: '佐藤 恵' }) });
    assert.match(w.sid, /^WK[0-9a-f]{32}$/);
    assert.equal(w.activityName, 'Offline');
    const up = await ws.workers(w.sid).update({ activitySid: available, attributes: JSON.stringify({ email: 'eve@example.jp', name: '佐藤 恵', level: 3 }) });
    assert.equal(up.available, true);
    assert.equal(JSON.parse(up.attributes).name, '佐藤 恵');
    const filtered = await ws.workers.list({ targetWorkersExpression: 'level >= 3' });
    assert.deepEqual(filtered.map((x) => x.sid), [w.sid]);
    assert.deepEqual((await ws.workers.list({ available: 'true' })).map((x) => x.sid), [w.sid]);
    await rejects(ws.workers(w.sid).remove(), 400, 20001);
    await ws.workers(w.sid).update({ activitySid: (await ws.activities.list()).find((a) => a.friendlyName === 'Offline').sid });
    assert.equal(await ws.workers(w.sid).remove(), true);
    await rejects(ws.workers(w.sid).fetch(), 404, 20404);
  });

  await t.test('task queues and workflows: create, update, delete (refused while referenced)', async () => {
    const q = await ws.taskQueues.create({ friendlyName: 'Overflow', targetWorkers: "department_id == 'support'" });
    assert.match(q.sid, /^WQ[0-9a-f]{32}$/);
    const upd = await ws.taskQueues(q.sid).update({ targetWorkers: '1 == 1', friendlyName: 'Overflow (all)' });
    assert.equal(upd.targetWorkers, '1 == 1');
    assert.equal(upd.friendlyName, 'Overflow (all)');
    const wf = await ws.workflows.create({ friendlyName: 'overflow', configuration: JSON.stringify({ task_routing: { default_filter: { queue: q.sid } } }) });
    await rejects(ws.taskQueues(q.sid).remove(), 400, 20001);
    assert.equal(await ws.workflows(wf.sid).remove(), true);
    assert.equal(await ws.taskQueues(q.sid).remove(), true);
    await rejects(ws.taskQueues(q.sid).fetch(), 404, 20404);
  });

  await t.test('bad input: Twilio error shape, nothing changes', async () => {
    await rejects(ws.tasks.create({ workflowSid: IDS.WW, attributes: '{broken' }), 400, 20001);
    await rejects(ws.workers(IDS.ALICE).update({ activitySid: 'WA000000000000000000000000000000ff' }), 404, 20404);
    await rejects(ws.workflows.create({ friendlyName: 'x', configuration: '{"task_routing":{"filters":[{"expression":"a ==","targets":[{"queue":"Everyone"}]}]}}' }), 400, 20001);
    await rejects(ws.tasks('WT00000000000000000000000000000000').fetch(), 404, 20404);
    assert.equal((await ws.tasks.list()).length, 0);
    assert.equal((await ws.workers(IDS.ALICE).fetch()).activityName, 'Offline');
  });

  await t.test('tasks: create (multibyte), update attributes, cancel; queue statistics', async () => {
    const task = await ws.tasks.create({ workflowSid: IDS.WW, attributes: JSON.stringify({ type: 'inbound_call', customer_name: '山田 花子', department_id: 'none' }), priority: 5 });
    assert.equal(task.assignmentStatus, 'pending');
    assert.equal(JSON.parse(task.attributes).customer_name, '山田 花子');
    const updated = await ws.tasks(task.sid).update({ attributes: JSON.stringify({ type: 'inbound_call', customer_name: '山田 花子', note: 'VIP' }) });
    assert.equal(JSON.parse(updated.attributes).note, 'VIP');
    await rejects(ws.tasks(task.sid).update({ assignmentStatus: 'completed', reason: 'x' }), 400, 20001);
    const stats = await ws.taskQueues(IDS.WQ).realTimeStatistics().fetch();
    assert.equal(stats.tasksByStatus.pending, 1);
    const canceled = await ws.tasks(task.sid).update({ assignmentStatus: 'canceled', reason: 'caller hung up' });
    assert.equal(canceled.assignmentStatus, 'canceled');
    assert.equal(canceled.reason, 'caller hung up');
    const cumulative = await ws.taskQueues(IDS.WQ).cumulativeStatistics().fetch();
    assert.equal(cumulative.tasksCanceled, 1);
  });

  await t.test('signed assignment callback -> conference instruction; signed workspace events', async () => {
    const hook = await receiver((path, params) => {
      if (path.startsWith('/assign')) return [200, { instruction: 'conference', from: '+815012345678', post_work_activity_sid: available, end_conference_on_exit: true, region: 'jp1' }];
      return [204, null];
    });
    cleanup.push(hook.close);
    await ws.update({ eventCallbackUrl: `${hook.base}/events` });
    const wf = await ws.workflows.create({
      friendlyName: 'with-callback',
      assignmentCallbackUrl: `${hook.base}/assign?src=sim`,
      taskReservationTimeout: 20,
      configuration: JSON.stringify({ task_routing: { filters: [{ expression: "type == 'callback'", targets: [{ queue: IDS.WQ }] }], default_filter: { queue: IDS.WQ } } }),
    });
    const worker = new Worker(workerToken(IDS.DAVE), { ebServer: `${sim.url}/v1/wschannels`, wsServer: `${sim.ws}/v1/wschannels`, logLevel: 'silent' });
    worker.on('error', () => {});
    cleanup.push(async () => worker.disconnect());
    await once(worker, 'ready');
    const up = once(worker, 'activityUpdated');
    await [...worker.activities.values()].find((a) => a.name === 'Available').setAsCurrent();
    await up;
    // The callback's instruction can be applied before this test gets control back, so listen from creation on.
    const accepted = new Promise((resolve) => worker.once('reservationCreated', (r) => r.once('accepted', () => resolve(r))));
    const task = await ws.tasks.create({ workflowSid: wf.sid, attributes: JSON.stringify({ type: 'callback' }) });
    const res = await Promise.race([accepted, new Promise((_, rej) => setTimeout(() => rej(new Error('no accepted event')), 10000))]);
    assert.equal(res.task.status, 'assigned');
    const assign = hook.hits.find((h) => h.path.startsWith('/assign'));
    assert.ok(assign.valid, 'twilio.validateRequest accepts the assignment callback signature');
    assert.equal(assign.params.TaskSid, task.sid);
    assert.equal(assign.params.WorkerSid, IDS.DAVE);
    assert.equal(assign.params.ReservationSid, res.sid);
    const fetched = await ws.tasks(task.sid).reservations(res.sid).fetch();
    assert.equal(fetched.reservationStatus, 'accepted');
    // Event callbacks are delivered asynchronously (and, as on Twilio, not necessarily in order): wait for them.
    const want = ['task.created', 'reservation.created', 'reservation.accepted'];
    const types = () => hook.hits.filter((h) => h.path === '/events').map((h) => h.params.EventType);
    for (let i = 0; i < 100 && !want.every((e) => types().includes(e)); i++) await new Promise((r) => setTimeout(r, 50));
    for (const e of want) assert.ok(types().includes(e), `${e} in ${types()}`);
    assert.ok(hook.hits.filter((h) => h.path === '/events').every((h) => h.valid), 'every workspace event is validly signed');
    const listed = await ws.events.list({ eventType: 'reservation.accepted' });
    assert.ok(listed.some((e) => e.resourceSid === res.sid));
  });
});
