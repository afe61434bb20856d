'use strict';
// The unmodified twilio-sync@4.0.1 client (twilsock 1.0.2) and twilio@6.2.0's Sync REST against a freshly started
// stand-in: subscribe, live updates from REST and from other clients, reconnect with last_event_id replay, the
// documented limits as the SDK reports them, token lifecycle, and signed reachability webhooks.
globalThis.WebSocket = globalThis.WebSocket || require('ws'); // Node 20 has no global WebSocket; twilsock needs one
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const twilio = require('twilio');
const { SyncClient } = require('twilio-sync');
const { IDS, startSim, restClient, syncToken, once } = require('./lib');

const clients = [];
function connect(sim, identity, token = syncToken(identity, IDS.IS)) {
  const c = new SyncClient(token, { twilsock: { uri: `${sim.ws}/v3/wsconnect` }, cdsUri: sim.url, logLevel: 'error' });
  c.states = [];
  c.errors = [];
  c.on('connectionStateChanged', (s) => c.states.push(s));
  c.on('connectionError', (e) => c.errors.push(e));
  clients.push(c);
  return c;
}
async function connected(c) {
  if (c.connectionState !== 'connected') {
    await new Promise((resolve) => { const on = (s) => { if (s === 'connected') { c.removeListener('connectionStateChanged', on); resolve(); } }; c.on('connectionStateChanged', on); });
  }
}
function until(cond, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => (cond() ? resolve() : Date.now() - t0 > ms ? reject(new Error('condition not met')) : setTimeout(tick, 20));
    tick();
  });
}

test('twilio-sync 4.0.1 against the stand-in', async (t) => {
  const sim = await startSim();
  const rest = restClient(sim);
  const svc = rest.sync.v1.services(IDS.IS);
  const hooks = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const url = `http://127.0.0.1:${server.address().port}${req.url}`;
      hooks.push({ params, valid: twilio.validateRequest(IDS.SUB_TOKEN, req.headers['x-twilio-signature'] || '', url, params) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const c of clients) await c.shutdown().catch(() => {});
    server.closeAllConnections();
    server.close();
    await sim.stop();
  });
  await svc.update({ webhookUrl: `http://127.0.0.1:${server.address().port}/sync`, reachabilityWebhooksEnabled: true });

  let alice, bob, doc;
  await t.test('clients connect; reachability webhook is signed', async () => {
    alice = connect(sim, 'alice');
    bob = connect(sim, 'bob');
    await Promise.all([connected(alice), connected(bob)]);
    await until(() => hooks.filter((h) => h.params.EventType === 'endpoint_connected').length === 2);
    const h = hooks.find((x) => x.params.Identity === 'alice');
    assert.ok(h.valid, 'twilio.validateRequest accepts it');
    assert.equal(h.params.ServiceSid, IDS.IS);
  });

  await t.test('REST-created document opens in the SDK and REST updates arrive live', async () => {
    await svc.documents.create({ uniqueName: 'agent.alice.active', data: { status: 'idle', name: '山田 花子' } });
    doc = await alice.document('agent.alice.active');
    assert.equal(doc.data.name, '山田 花子');
    const updated = once(doc, 'updated');
    await svc.documents('agent.alice.active').update({ data: { status: 'on-call', conference_sid: 'CF' + '1'.repeat(32) } });
    const [e] = await updated;
    assert.equal(e.isLocal, false);
    assert.equal(e.data.status, 'on-call');
    assert.equal(doc.data.conference_sid, 'CF' + '1'.repeat(32));
  });

  await t.test('map items and stream messages reach the other client', async () => {
    const mapA = await alice.map('presence.alice');
    const mapB = await bob.map('presence.alice');
    const added = once(mapB, 'itemAdded');
    await mapA.set('status', { s: 'available' });
    const [e] = await added;
    assert.equal(e.item.key, 'status');
    assert.equal(e.item.data.s, 'available');
    assert.equal(e.isLocal, false);
    const streamA = await alice.stream('signals.alice');
    const streamB = await bob.stream('signals.alice');
    // Streams are fire-and-forget (no replay), so a message published before bob's subscription is established is
    // lost, as on Twilio: publish until bob's SDK reports one.
    const seen = [];
    streamB.on('messagePublished', (m) => seen.push(m));
    for (let i = 0; i < 30 && seen.length === 0; i++) {
      await streamA.publishMessage({ ring: 'WT' + '2'.repeat(32), seq: i });
      await until(() => seen.length > 0, 300).catch(() => {});
    }
    assert.ok(seen.length > 0, 'bob received a stream message');
    assert.equal(seen[0].message.data.ring, 'WT' + '2'.repeat(32));
    assert.equal(seen[0].isLocal, false);
  });

  await t.test('reconnects after a server-side drop and replays what it missed (last_event_id)', async () => {
    const left = new Promise((resolve) => { const on = (s) => { if (s !== 'connected') { alice.removeListener('connectionStateChanged', on); resolve(s); } }; alice.on('connectionStateChanged', on); });
    const { dropped } = await sim.control('sockets/drop', { kind: 'twilsock', label: 'alice', code: 1011, reason: 'stand-in drop' });
    assert.equal(dropped, 1);
    assert.notEqual(await left, 'connected');
    await svc.documents('agent.alice.active').update({ data: { status: 'missed-while-away' } });
    const updated = once(doc, 'updated', 15000);
    await connected(alice);
    const [e] = await updated;
    assert.equal(e.data.status, 'missed-while-away');
    assert.equal(doc.data.status, 'missed-while-away');
    const { log } = await sim.control('events?kind=twilsock.open');
    assert.ok(log.filter((x) => x.data.identity === 'alice').length >= 2, 'a second twilsock session for alice');
  });

  await t.test('rate limit: more than 20 writes/s on one Map fail with 429/54009, reported by the SDK', async () => {
    const hot = await alice.map('roster.hot');
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => hot.set(`agent${i}`, { s: 'on' })));
    const rejected = results.filter((r) => r.status === 'rejected');
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.ok(ok.length <= 20, `${ok.length} writes succeeded`);
    assert.ok(rejected.length >= 10, `${rejected.length} writes rejected`);
    for (const r of rejected) {
      assert.equal(r.reason.code, 54009, r.reason.message);
      assert.equal(r.reason.status, 429);
    }
    const items = await rest.sync.v1.services(IDS.IS).syncMaps('roster.hot').syncMapItems.list();
    assert.equal(items.length, ok.length, 'refused writes changed nothing');
  });

  await t.test('a document over 16 KiB is refused with 54006', async () => {
    const big = await alice.document('big.doc');
    await assert.rejects(big.set({ blob: 'x'.repeat(17 * 1024) }), (e) => e.code === 54006 && e.status === 413);
  });

  await t.test('token lifecycle: tokenAboutToExpire, then updateToken on the live socket', async () => {
    const carol = connect(sim, 'carol', syncToken('carol', IDS.IS, { ttl: 200 }));
    await Promise.all([connected(carol), once(carol, 'tokenAboutToExpire')]);
    await carol.updateToken(syncToken('carol', IDS.IS, { ttl: 3600 }));
    assert.equal(carol.connectionState, 'connected');
    const d = await carol.document('agent.alice.active');
    assert.equal(d.data.status, 'missed-while-away');
  });

  await t.test('a master-key token for the subaccount is denied with 20103', async () => {
    const bad = connect(sim, 'mallory', syncToken('mallory', IDS.IS, { key: IDS.MASTER_KEY, secret: IDS.MASTER_SECRET }));
    await until(() => bad.connectionState === 'denied' || bad.errors.length > 0);
    await until(() => bad.errors.length > 0);
    assert.equal(bad.errors[0].errorCode, 20103, JSON.stringify(bad.errors));
    assert.equal(bad.errors[0].terminal, true);
  });

  await t.test('shutdown sends endpoint_disconnected', async () => {
    await bob.shutdown();
    await until(() => hooks.some((h) => h.params.EventType === 'endpoint_disconnected' && h.params.Identity === 'bob'));
    assert.ok(hooks.every((h) => h.valid));
  });
});
