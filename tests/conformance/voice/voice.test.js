'use strict';
// The unmodified @twilio/voice-sdk 2.18.5 (npm dist bundle) in Debian's Chromium against tsunagi-twilio-sim:
// register, incoming call with custom parameters, two-way audio checked by tone detection on both sides, mute, DTMF,
// hang-ups from either side, cancel, reject, outgoing calls (answered / busy / no answer), a signaling reconnect
// mid-call, unregister. The browser may contact only 127.0.0.1 (every request is checked, and a CSP backs it up).
//
// Audio: the stand-in plays 440 Hz; Chromium's fake microphone plays a 1000 Hz WAV (--use-file-for-fake-audio-capture).
// The stand-in's Goertzel detector reports what its leg hears (GET /_sim/voice/calls/{sid}); the page runs a WebAudio
// AnalyserNode on call.getRemoteStream(). The page loads the SDK's npm dist bundle as is; the stand-in serves wss:// and
// http:// on one port with a self-signed certificate, so `chunderw: '127.0.0.1:PORT'` needs no WebSocket shim.
const test = require('node:test');
const assert = require('node:assert/strict');
const twilio = require('twilio');
const { ACCOUNT, KEY, SECRET, TASK_SID, CALLER_HZ, MIC_HZ, near, until, voiceToken, setup } = require('./lib.js');

test('voice-sdk 2.18.5 against the stand-in', { timeout: 180000 }, async (t) => {
  const { sim, page, requests, consoleErrors, events, waitEvent, call, remoteTone, ringAlice } = await setup(t);
  {

    await t.test('bad tokens are refused with the SDK\'s access-token errors', async () => {
      const chunderw = `127.0.0.1:${sim.port}`;
      assert.equal(await page.evaluate(([c]) => window.tryToken('not.a.jwt', c), [chunderw]), 20101);
      const { AccessToken } = twilio.jwt;
      const expired = new AccessToken(ACCOUNT, KEY, SECRET, { identity: 'alice', ttl: 60 });
      expired.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
      const past = Math.floor(Date.now() / 1000) - 3600;
      const realNow = Date.now;
      Date.now = () => past * 1000; // twilio-node stamps iat/exp from Date.now
      let jwt;
      try { jwt = expired.toJwt(); } finally { Date.now = realNow; }
      assert.equal(await page.evaluate(([tok, c]) => window.tryToken(tok, c), [jwt, chunderw]), 20104);
      const forged = new AccessToken(ACCOUNT, KEY, 'not-the-secret', { identity: 'alice' });
      forged.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
      assert.equal(await page.evaluate(([tok, c]) => window.tryToken(tok, c), [forged.toJwt(), chunderw]), 20101);
    });

    await t.test('registers with a twilio-node Access Token and refreshes it before expiry', async () => {
      // 12 s token: the SDK warns 10 s before expiry (tokenRefreshMs) and the page calls updateToken.
      assert.equal(await page.evaluate(([tok, c]) => window.setupDevice(tok, c), [voiceToken('alice', 12), `127.0.0.1:${sim.port}`]), 'ok');
      const reg = await waitEvent('registered');
      assert.equal(reg.data.identity, 'alice');
      assert.deepEqual((await sim.api('clients')).registered, ['alice']);
      await waitEvent('tokenWillExpire', 8000);
      await until('the refreshed token at the stand-in', async () => {
        const r = await fetch(`http://127.0.0.1:${sim.port}/_sim/events?kind=voice.listen`);
        const { log } = await r.json();
        return log.some((e) => e.kind === 'voice.listen' && e.data.ttl > 3000);
      });
    });

    let sid;
    await t.test('incoming call rings with custom parameters', async () => {
      sid = await ringAlice();
      const incoming = (await events()).find((e) => e.name === 'incoming' && e.data.callSid === sid);
      assert.equal(incoming.data.from, '+815012345678');
      assert.deepEqual(incoming.data.custom, { task_sid: TASK_SID, caller_name: 'Yamada Taro' });
      assert.equal((await call(sid)).state, 'ringing');
    });

    await t.test('accept: two-way audio, each side hears the other\'s tone', async () => {
      await page.evaluate(() => window.call.accept());
      await waitEvent('accept');
      const heard = await until('the stand-in to hear the fake mic', async () => {
        const c = await call(sid);
        return c.state === 'in_progress' && c.media_connected && near(c.audio?.dominant_hz, MIC_HZ) && c;
      });
      assert.ok(heard.audio.rms > 1000, `level ${heard.audio.rms}`);
      const tone = await until('the page to hear the caller', async () => {
        const r = await remoteTone();
        return r && near(r.hz, CALLER_HZ) && r;
      });
      assert.ok(tone.db > -50, `remote level ${tone.db} dB`);
      // PCMU, or Opus when the stand-in is built with `--features opus` (the SDK prefers Opus).
      assert.ok(['PCMU', 'opus'].includes(heard.codec), `codec ${heard.codec}`);
      t.diagnostic(`stand-in heard ${heard.audio.dominant_hz.toFixed(1)} Hz (${heard.codec}) at rms ${heard.audio.rms.toFixed(0)}; `
        + `page heard ${tone.hz.toFixed(1)} Hz at ${tone.db.toFixed(1)} dB`);
    });

    await t.test('mute silences the agent at the stand-in; unmute restores it', async () => {
      await page.evaluate(() => window.call.mute(true));
      const before = (await call(sid)).audio.packets;
      await until('silence at the stand-in', async () => {
        const c = await call(sid);
        return c.audio.rms < 1 && c.audio.dominant_hz === null && c.audio.packets > before + 10;
      });
      await page.evaluate(() => window.call.mute(false));
      await until('the tone back', async () => near((await call(sid)).audio.dominant_hz, MIC_HZ));
    });

    await t.test('DTMF reaches the stand-in (in-band RFC 4733: the stand-in offers telephone-event/8000)', async () => {
      // One string per sendDigits: RTCDTMFSender.insertDTMF replaces the tones still queued, so a second call
      // made before the first finished would drop digits (browser behaviour, as with Twilio).
      const digits = async (want) => until(`digits ${want}`, async () => (await call(sid)).dtmf === want).catch(async (e) => {
        throw new Error(`${e.message}: stand-in has ${JSON.stringify((await call(sid)).dtmf)}`);
      });
      await page.evaluate(() => window.call.sendDigits('12#'));
      await digits('12#');
      await page.evaluate(() => window.call.sendDigits('9'));
      await digits('12#9');
    });

    await t.test('the caller hangs up', async () => {
      await sim.api(`calls/${sid}/hangup`, {});
      await waitEvent('disconnect');
      const c = await call(sid);
      assert.equal(c.state, 'completed');
      assert.equal(c.ended_by, 'sim');
    });

    await t.test('the agent hangs up', async () => {
      const s = await ringAlice();
      await page.evaluate(() => window.call.accept());
      await waitEvent('accept');
      await until('media', async () => (await call(s)).media_connected);
      await page.evaluate(() => window.call.disconnect());
      await waitEvent('disconnect');
      await until('completed by the client', async () => {
        const c = await call(s);
        return c.state === 'completed' && c.ended_by === 'client';
      });
    });

    await t.test('the caller gives up while it rings (cancel); the agent rejects', async () => {
      const s1 = await ringAlice();
      await sim.api(`calls/${s1}/hangup`, {});
      await waitEvent('cancel');
      assert.equal((await call(s1)).state, 'canceled');
      const s2 = await ringAlice();
      await page.evaluate(() => window.call.reject());
      await waitEvent('reject');
      await until('rejected', async () => (await call(s2)).state === 'rejected');
    });

    await t.test('the signaling socket drops mid-call and the call reconnects', async () => {
      const s = await ringAlice();
      await page.evaluate(() => window.call.accept());
      await waitEvent('accept');
      await until('media', async () => near((await call(s)).audio?.dominant_hz, MIC_HZ));
      assert.equal((await sim.api('sockets/drop', {})).dropped, 1);
      await waitEvent('reconnecting');
      await waitEvent('reconnected');
      const c = await until('rebound', async () => { const v = await call(s); return v.reconnects === 1 && v; });
      assert.equal(c.state, 'in_progress');
      await until('registered again', async () => (await sim.api('clients')).registered.includes('alice'));
      const before = c.audio.packets;
      await until('media still flowing', async () => (await call(s)).audio.packets > before + 25);
      await page.evaluate(() => window.call.disconnect());
      await waitEvent('disconnect');
    });

    await t.test('outgoing call: ringing, answer, two-way audio, hang up', async () => {
      await page.evaluate(() => window.dial({ To: '+815098765432', agent: 'alice' }));
      await waitEvent('ringing');
      await waitEvent('accept');
      const out = await until('the outgoing call', async () => (await sim.api('calls')).find((c) => c.direction === 'outgoing' && c.state === 'in_progress'));
      assert.equal(out.to, '+815098765432');
      assert.deepEqual(out.params, [['To', '+815098765432'], ['agent', 'alice']]);
      await until('the stand-in to hear the agent', async () => near((await call(out.sid)).audio?.dominant_hz, MIC_HZ));
      await until('the page to hear the callee', async () => near((await remoteTone())?.hz, CALLER_HZ));
      await page.evaluate(() => window.call.disconnect());
      await waitEvent('disconnect');
      await until('completed', async () => (await call(out.sid)).state === 'completed');
    });

    await t.test('outgoing call to a busy number and to one nobody answers', async () => {
      await sim.api('numbers', { number: '+815000000001', behaviour: 'busy' });
      await sim.api('numbers', { number: '+815000000002', behaviour: 'no-answer' });
      for (const [number, state] of [['+815000000001', 'busy'], ['+815000000002', 'no_answer']]) {
        await page.evaluate((to) => window.dial({ To: to }), number);
        await waitEvent('ringing');
        const err = await waitEvent('call-error');
        assert.equal(err.data.code, 31005, 'hangup.error maps to 31005 without the precision flag (spec §2.9)');
        await waitEvent('disconnect');
        const c = (await sim.api('calls')).filter((x) => x.to === number).pop();
        assert.equal(c.state, state);
      }
    });

    await t.test('unregister', async () => {
      await page.evaluate(() => window.device.unregister());
      await waitEvent('unregistered');
      assert.deepEqual((await sim.api('clients')).registered, []);
    });

    await t.test('nothing left 127.0.0.1', () => {
      const foreign = requests.filter((u) => !/^(https?|wss?):\/\/127\.0\.0\.1[:/]/.test(u));
      assert.deepEqual(foreign, []);
      assert.ok(requests.some((u) => u.startsWith(`wss://127.0.0.1:${sim.port}/signal`)));
      assert.deepEqual(consoleErrors.filter((m) => /Content Security Policy|pageerror/.test(m)), []);
    });
  }
});

test('without telephone-event the SDK sends DTMF as signaling frames', { timeout: 120000 }, async (t) => {
  const { sim, page, waitEvent, call, ringAlice } = await setup(t, { telephoneEvent: false });
  assert.equal(await page.evaluate(([tok, c]) => window.setupDevice(tok, c), [voiceToken('alice'), `127.0.0.1:${sim.port}`]), 'ok');
  await waitEvent('registered');
  const sid = await ringAlice();
  await page.evaluate(() => window.call.accept());
  await waitEvent('accept');
  await until('media', async () => near((await call(sid)).audio?.dominant_hz, MIC_HZ));
  await page.evaluate(() => { window.call.sendDigits('12'); window.call.sendDigits('#'); });
  await until('digits 12#', async () => (await call(sid)).dtmf === '12#');
  const r = await fetch(`http://127.0.0.1:${sim.port}/_sim/events?kind=voice.call.dtmf`);
  assert.deepEqual((await r.json()).log.map((e) => e.data.digits), ['12', '#'], 'two dtmf frames');
  await page.evaluate(() => window.call.disconnect());
  await waitEvent('disconnect');
});

test('codecPreferences opus-first: Opus end to end when the stand-in has it (built with --features opus), else PCMU', { timeout: 120000 }, async (t) => {
  const { sim, page, waitEvent, call, remoteTone, ringAlice } = await setup(t);
  const { codecs } = await (await fetch(`http://127.0.0.1:${sim.port}/_sim/health`)).json();
  const want = codecs.includes('opus') ? 'opus' : 'PCMU';
  t.diagnostic(`stand-in codecs: ${codecs.join(', ')}`);
  assert.equal(await page.evaluate(([tok, c]) => window.setupDevice(tok, c, { codecPreferences: ['opus', 'pcmu'] }),
    [voiceToken('alice'), `127.0.0.1:${sim.port}`]), 'ok');
  await waitEvent('registered');
  const sid = await ringAlice();
  await page.evaluate(() => window.call.accept());
  await waitEvent('accept');
  const c = await until('the stand-in to hear the fake mic', async () => {
    const v = await call(sid);
    return near(v.audio?.dominant_hz, MIC_HZ) && v;
  });
  assert.equal(c.codec, want);
  await until('the page to hear the caller', async () => near((await remoteTone())?.hz, CALLER_HZ));
  await page.evaluate(() => window.call.disconnect());
  await waitEvent('disconnect');
});
