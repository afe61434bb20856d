// Native call audio in the real Tauri app (WebKitGTK has no WebRTC; the shim in ui/src/lib/webrtc/ carries the
// Voice SDK's media to crates/media over IPC). The agent's microphone and speaker are PulseAudio null sinks:
// a customer calls, the agent answers in the window, the customer's 440 Hz is heard on the agent's speaker and
// the agent's 1 kHz (played into the microphone) reaches the stand-in; mute silences it; hang-ups from both
// sides; an outgoing call; then 10 calls in a row without leaking threads, descriptors or memory. Before that,
// the ring: it sounds natively on the ringtone device chosen in Settings (a third null sink) at the chosen
// volume, never on the speaker, and stops at once when the agent answers and when the caller gives up.
// Run by tests/desktop/audio.sh.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { WebDriver, sleep } from '../webdriver.mjs';
import { dominantHz, listen, playTone, record, rms, toneShare } from './tone.mjs';
import { waitFor } from '../wait.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const app = process.env.TSUNAGI_APP;
const { SIM_URL } = process.env;
const driverUrl = process.env.WEBDRIVER_URL;
const CALLS = Number(process.env.AUDIO_CALLS ?? 10);
assert.ok(app && SIM_URL && driverUrl, 'run me through tests/desktop/audio.sh');
const shots = join(root, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });
const started = Date.now();
// Bounded: a hung step must not hold CI (the whole run takes well under a minute on an idle 2-core machine).
const WATCHDOG_S = Number(process.env.AUDIO_WATCHDOG_S ?? 300);
setTimeout(() => {
  console.error(`not ok - audio e2e still running after ${WATCHDOG_S} s: giving up`);
  process.exit(1);
}, WATCHDOG_S * 1000).unref();

const getJson = async (path) => (await fetch(`${SIM_URL}${path}`)).json();
const post = (path, body) =>
  fetch(`${SIM_URL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
const near = (hz, want) => typeof hz === 'number' && Math.abs(hz - want) < 40;

/** The customer dials the contact center; resolves to the caller's call and its task. */
async function customerCalls() {
  const res = await post('/_sim/calls', { from: '+81312345678', to: '+81501234567', tone_hz: 440, script: [{ do: 'wait', ms: 120000 }, { do: 'hangup' }] });
  const call = await res.json();
  assert.ok(call.sid?.startsWith('CA'), `customer call placed: ${JSON.stringify(call)}`);
  const queued = await waitFor('customer queued as a task', async () => (await getJson(`/_sim/calls/${call.sid}`)).queued_task);
  return { call: call.sid, task: queued.task };
}
const agentLeg = (task) =>
  waitFor('agent leg dialled', async () =>
    (await getJson('/_sim/voice/calls')).find((l) => l.identity === 'agent_1024' && l.params.some(([k, v]) => k === 'TaskSid' && v === task)),
  );
const leg = (sid) => getJson(`/_sim/voice/calls/${sid}`);

/** The engine's statistics of the newest call (ids count up from 0), for failure messages. */
const nativeStats = async () => {
  for (let id = 40; id >= 0; id--) {
    const r = await wd.executeAsync(
      "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('media_stats', { id: arguments[0] }).then(done, (e) => done({ rejected: e }));",
      [id],
    );
    if (r && !r.rejected) return { id, ...r };
  }
  return null;
};

/** What the agent's speaker plays now (the null sink's monitor). */
async function speaker(ms = 400) {
  const x = await record('agent_speaker.monitor', ms);
  if (process.env.AUDIO_DUMP) writeFileSync(process.env.AUDIO_DUMP, Buffer.from(x.buffer));
  // The best 100 ms: on a loaded 2-core machine the stand-in's downlink can arrive in bursts with concealment
  // between them; one clean window is proof that the customer's tone reaches the agent's speaker.
  const win = 4800;
  let best = 0;
  for (let i = 0; i + win <= x.length; i += win / 2) {
    const w = x.subarray(i, i + win);
    if (rms(w) > 500) best = Math.max(best, toneShare(w, 440));
  }
  return { rms: rms(x), share440: best, dominant: dominantHz(x) };
}

// --- the app process, for the leak check ---
const appPath = realpathSync(app);
/** This run's app (other tests may run the same binary): same executable, and our private XDG_RUNTIME_DIR. */
function appPid() {
  const mine = `XDG_RUNTIME_DIR=${process.env.XDG_RUNTIME_DIR}`;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${p}/exe`) === appPath && readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(mine)) return Number(p);
    } catch {
      /* gone or not ours */
    }
  }
  return null;
}
function usage(pid) {
  const fds = readdirSync(`/proc/${pid}/fd`);
  const sockets = fds.filter((f) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${f}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { threads: readdirSync(`/proc/${pid}/task`).length, fds: fds.length, sockets, rssMb: Math.round(rssKb / 1024) };
}

const wd = await WebDriver.start(driverUrl, app);
const mic = playTone('agent_voice', 1000);
let failed = false;
const clickWhenThere = async (css, what) => {
  await waitFor(what, () => wd.execute('return !!document.querySelector(arguments[0])', [css]));
  await wd.click(css);
};
/** Clicks the wrap-up's Done if there is one, until the agent is Available again. */
const backToAvailable = () =>
  waitFor('Available again', async () => {
    if (await wd.execute("return !!document.querySelector('#wrapup-done')")) await wd.click('#wrapup-done');
    return (await wd.text('#presence')) === 'Available';
  }, 30000);

/** One inbound call answered in the window; resolves once media flows both ways at the stand-in's leg. */
async function answerCall() {
  const customer = await customerCalls();
  await waitFor('the window rings', () => wd.execute("return !!document.querySelector('.ring button.answer')"));
  const dialled = await agentLeg(customer.task);
  await wd.click('.ring button.answer');
  await waitFor('call connected in the window', () => wd.execute(`return !!document.querySelector('#call[data-phase="connected"]')`));
  const connected = await waitFor('agent leg has media at the stand-in', async () => {
    const view = await leg(dialled.sid);
    return view.media_connected && view.audio?.packets > 0 && view;
  });
  return { customer, leg: connected };
}

try {
  // On a cold start the page may not have drawn the sign-in form yet when the WebDriver session opens.
  await waitFor('the sign-in form', () => wd.execute("return !!document.getElementById('login-name') && !!document.getElementById('login-password')"));
  await wd.click('button.lang[data-lang="en"]').catch(() => {});
  await wd.execute(
    "const set = (id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }; set('login-name', 'tanaka'); set('login-password', 'demo-tanaka');",
  );
  await wd.click('#sign-in');
  await wd.waitForText('#presence', (t) => t === 'Available', { what: 'presence after sign-in', timeoutMs: 30000 });
  await wd.waitForText('#voice-status', (t) => t === 'Phone: ready', { what: 'Voice Device registered', timeoutMs: 30000 });
  const hasWebRtc = await wd.execute('return typeof window.RTCPeerConnection');
  assert.equal(hasWebRtc, 'undefined', "WebKitGTK's own RTCPeerConnection (the shim is what carries audio here)");
  console.log('ok - signed in; the Device registered; this webview has no RTCPeerConnection of its own');

  // 0. Diagnostics' microphone test: this webview has no MediaStream to analyse, so the engine opens the
  //    microphone (the system default, AgentMic, fed 1 kHz at RMS ~0.26) for 5 s and its level shows live.
  {
    const started = Date.now();
    await wd.click('button.tab[data-tab="diagnostics"]');
    await clickWhenThere('#mic-test', 'the microphone test button');
    let live = 0;
    await waitFor('the microphone test result', async () => {
      live = Math.max(live, Number(await wd.execute("return document.getElementById('mic-level')?.value ?? 0")));
      return wd.execute("return !!document.querySelector('#mic-result')");
    }, 15000);
    const result = await wd.execute("const r = document.getElementById('mic-result'); return { text: r.textContent, why: r.dataset.why ?? null, warn: r.classList.contains('warn') };");
    assert.equal(result.why, null, `microphone test failed: ${JSON.stringify(result)}`);
    assert.ok(!result.warn, `microphone test: ${JSON.stringify(result)}`);
    const peak = Number(/(\d+)\s*%/.exec(result.text)?.[1]);
    assert.ok(live > 0.1, `live level during the test: ${live}`);
    assert.ok(peak > 10, `peak: ${result.text}`);
    await wd.click('button.tab[data-tab="phone"]');
    console.log(`ok - diagnostics' microphone test through the engine: live level up to ${live.toFixed(2)}, "${result.text}" (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  // The ringtone and speaker sinks, recorded through the ring steps below.
  const began = Date.now();
  const ring = listen('agent_ring.monitor');
  const spk = listen('agent_speaker.monitor');

  // 1. Settings lists the native devices (WebKitGTK alone lists none).
  await wd.click('button.tab[data-tab="settings"]');
  const inputs = await waitFor('microphones listed', async () => {
    const labels = await wd.execute("return [...document.querySelectorAll('#setting-microphone option')].map((o) => o.textContent)");
    if (labels.includes('AgentMic')) return labels;
    throw new Error(`microphones: ${JSON.stringify(labels)}`);
  });
  const outputs = await wd.execute("return [...document.querySelectorAll('#setting-speaker option')].map((o) => o.textContent)");
  assert.ok(outputs.includes('AgentSpeaker'), `speakers listed: ${JSON.stringify(outputs)}`);
  // The ringtone goes to its own device, at half volume.
  const ringId = await wd.execute(
    "const s = document.getElementById('setting-ringtone'); const o = [...s.options].find((o) => o.textContent === 'AgentRing'); if (!o) return null; s.value = o.value; s.dispatchEvent(new Event('change', { bubbles: true })); const v = document.getElementById('setting-volume'); v.value = '0.5'; v.dispatchEvent(new Event('input', { bubbles: true })); return o.value;",
  );
  assert.ok(ringId, 'AgentRing offered as the ringtone output');
  // Its test plays one ring cycle there.
  // A monitor starts delivering only once its null sink has settled on the recorder's format.
  await waitFor('the ringtone and speaker monitors record', () => ring.recorded() > 0 && spk.recorded() > 0, 10000);
  const tested = Date.now();
  await wd.click('#test-ringtone');
  const preview = await waitFor('the ringtone test sounds once on the ringtone sink', () => ring.bursts(400, { since: tested }).find((x) => x.end), 5000);
  assert.ok(preview.peak > 4800 && preview.peak < 7200, `ringtone test peak ${preview.peak} at 50 %`);
  await wd.click('button.tab[data-tab="phone"]');
  console.log(`ok - settings lists native devices: microphones ${JSON.stringify(inputs)}, speakers ${JSON.stringify(outputs)}; ringtone → ${ringId} at 50 %`);

  // 1b. The ring: the 400 Hz calling signal (1 s on, 2 s off) on the ringtone sink only, at the chosen volume;
  //     answering stops it at once, and so does a caller who gives up while it rings.
  {
    try {
      const calledAt = Date.now();
      const customer = await customerCalls();
      await waitFor('the window rings', () => wd.execute("return !!document.querySelector('.ring button.answer')"));
      await agentLeg(customer.task);
      const cycle = await waitFor('a full ring cycle on the ringtone sink (a burst, its pause, the next burst)', async () => {
        const b = ring.bursts(400, { since: calledAt });
        if (b.length >= 2 && b[0].end) return b;
        throw new Error(`bursts so far: ${JSON.stringify(b)}`);
      }, 15000);
      // Answer early in the burst now sounding, so the cut is not mistaken for its natural end.
      const clicked = Date.now();
      await wd.click('.ring button.answer');
      const clickDone = Date.now();
      const stopped = await waitFor('the ring stops after the answer', () => ring.bursts(400, { since: cycle[1].start - 1 }).find((x) => x.end), 5000);
      await waitFor('call connected in the window', () => wd.execute(`return !!document.querySelector('#call[data-phase="connected"]')`));
      // Past the moment the next burst would have started (1 s on, 2 s off): still silent.
      const silentUntil = (burst) => waitFor('the recording passes the next burst', () => ring.recorded() > burst.start + 3300, 8000);
      await silentUntil(stopped);
      const after = ring.bursts(400, { since: stopped.end + 200 });
      const onMs = cycle[0].end - cycle[0].start;
      const offMs = cycle[1].start - cycle[0].end;
      const answerStop = Math.round(stopped.end - clicked);
      if (process.env.AUDIO_RING_DEBUG) console.log('# ring', JSON.stringify({ cycle, clicked, clickDone, stopped }));
      assert.ok(onMs > 800 && onMs < 1200 && offMs > 1700 && offMs < 2300, `ring cadence ${Math.round(onMs)} ms on, ${Math.round(offMs)} ms off`);
      // 50 % of the calling signal's 12000 peak (null sinks pass samples through unchanged).
      assert.ok(cycle[0].peak > 4800 && cycle[0].peak < 7200, `ring peak ${cycle[0].peak} at 50 %`);
      assert.ok(stopped.end - stopped.start < 900, `the answered burst was cut (${Math.round(stopped.end - stopped.start)} ms)`);
      assert.ok(answerStop < 300, `ring stopped ${answerStop} ms after the answer click (click took ${clickDone - clicked} ms)`);
      assert.equal(after.length, 0, `no ring after the answer: ${JSON.stringify(after)}`);
      await wd.click('#hangup');
      await backToAvailable();
      const quietAgain = Date.now();

      // The caller gives up while it rings.
      const quitter = await customerCalls();
      await waitFor('the window rings again', () => wd.execute("return !!document.querySelector('.ring button.answer')"));
      const rang = await waitFor('the second caller rings on the ringtone sink', () => ring.bursts(400, { since: Date.now() - 1500 }).find((x) => !x.end), 15000);
      const hungUp = Date.now();
      await post(`/_sim/calls/${quitter.call}/hangup`);
      const quit = await waitFor('the ring stops after the caller hung up', () => ring.bursts(400, { since: rang.start - 1 }).find((x) => x.end), 5000);
      await waitFor('the window stops ringing', async () => !(await wd.execute("return !!document.querySelector('.ring button.answer')")));
      const abandonStop = Math.round(quit.end - hungUp);
      await silentUntil(quit);
      const afterQuit = ring.bursts(400, { since: quit.end + 200 });
      if (process.env.AUDIO_RING_DEBUG) console.log('# abandon', JSON.stringify({ rang, hungUp, quit, later: ring.bursts(400, { since: rang.start - 1 }) }));
      assert.ok(quit.end - quit.start < 900, `the abandoned burst was cut (${Math.round(quit.end - quit.start)} ms)`);
      assert.ok(abandonStop < 1000, `ring stopped ${abandonStop} ms after the caller hung up`);
      assert.equal(afterQuit.length, 0, `no ring after the caller hung up: ${JSON.stringify(afterQuit)}`);

      const onSpeaker = spk.bursts(400, { share: 0.3, minRms: 100 }).filter((x) => x.start < clicked || x.start > quietAgain);
      assert.equal(ring.bursts(400, { since: preview.end + 200 }).filter((x) => x.start < calledAt).length, 0, 'the test rang once');
      assert.equal(onSpeaker.length, 0, `no ring on the speaker sink: ${JSON.stringify(onSpeaker)}`);
      console.log(`ok - ring on the ringtone sink only: ${Math.round(onMs)} ms on / ${Math.round(offMs)} ms off, peak ${cycle[0].peak} at 50 % (Settings' test: one ${Math.round(preview.end - preview.start)} ms burst); stopped ${answerStop} ms after the answer click and ${abandonStop} ms after the caller hung up (sink-monitor times, ~25 ms early); speaker sink silent (${Math.round((Date.now() - began) / 1000)} s)`);
    } finally {
      ring.stop();
      spk.stop();
    }
  }

  // 2. One inbound call, tone both ways.
  const first = await answerCall();
  const heardAgent = await waitFor('the stand-in hears the agent at 1 kHz', async () => {
    const a = (await leg(first.leg.sid)).audio;
    return near(a?.dominant_hz, 1000) && a;
  });
  const heardCustomer = await waitFor('the agent hears the customer at 440 Hz on the speaker sink', async () => {
    const s = await speaker(1000);
    if (s.share440 > 0.5 && s.rms > 500) return s;
    throw new Error(`speaker: ${JSON.stringify(s)}; engine: ${JSON.stringify(await nativeStats())}`);
  });
  await waitFor('the customer hears the agent at 1 kHz', async () => near((await getJson(`/_sim/calls/${first.customer.call}`)).audio?.dominant_hz, 1000));
  console.log(`ok - inbound call answered in the window: agent 1 kHz → stand-in (${Math.round(heardAgent.dominant_hz)} Hz, rms ${Math.round(heardAgent.rms)}) and customer; customer 440 Hz → agent speaker (share ${heardCustomer.share440.toFixed(2)}, rms ${Math.round(heardCustomer.rms)}); codec ${first.leg.codec}`);

  // 3. Mute silences the agent at the stand-in; unmute brings the tone back.
  await wd.click('#mute');
  const muted = await waitFor('the stand-in hears silence while muted', async () => {
    const a = (await leg(first.leg.sid)).audio;
    return a && a.rms < 50 && a.dominant_hz == null && a;
  });
  await wd.click('#mute');
  await waitFor('the agent is back at 1 kHz after unmute', async () => near((await leg(first.leg.sid)).audio?.dominant_hz, 1000));
  console.log(`ok - mute: the stand-in hears rms ${Math.round(muted.rms)} (packets keep flowing: ${muted.packets}); unmute: 1 kHz again`);

  // 3b. The microphone is unplugged mid-call: the engine moves to another source at once and the window says
  //     which; the call never goes silent. Plugged back, it is the default again for the next call.
  const remap = execFileSync('pactl', ['list', 'short', 'modules'], { encoding: 'utf8' }).split('\n').find((l) => l.includes('source_name=agent_mic'));
  execFileSync('pactl', ['unload-module', remap.split('\t')[0]]);
  const told = await wd.waitForText('#voice-status', (t) => t.includes('now using'), { what: 'microphone fallback explained', timeoutMs: 15000 });
  if (!told.includes('AgentHeadset')) throw new Error(`the fallback should be the other microphone (AgentHeadset): "${told}"`);
  const still = await waitFor('the stand-in still hears the agent (1 kHz) through the fallback microphone', async () => {
    const a = (await leg(first.leg.sid)).audio;
    return a && a.rms > 100 && near(a.dominant_hz, 1000) && a;
  });
  execFileSync('pactl', ['load-module', 'module-remap-source', 'master=agent_voice.monitor', 'source_name=agent_mic', 'source_properties=device.description=AgentMic']);
  execFileSync('pactl', ['set-default-source', 'agent_mic']);
  console.log(`ok - microphone unplugged mid-call: "${told}"; the stand-in still hears the agent: ${Math.round(still.dominant_hz)} Hz, rms ${Math.round(still.rms)}`);

  // 4. Hang up from the app.
  await wd.click('#hangup');
  await waitFor('agent leg ended at the stand-in', async () => (await leg(first.leg.sid)).state === 'completed');
  await backToAvailable();
  const afterFirst = await waitFor('the app closed the call audio', async () => {
    const s = await speaker(200);
    return s.share440 < 0.2 && s;
  });
  console.log(`ok - hang-up from the app: the leg ended, the customer's 440 Hz left the speaker (share ${afterFirst.share440.toFixed(2)})`);

  // 5. The customer hangs up.
  const second = await answerCall();
  await waitFor('second call: the stand-in hears the agent', async () => near((await leg(second.leg.sid)).audio?.dominant_hz, 1000));
  await post(`/_sim/calls/${second.customer.call}/hangup`);
  await waitFor('the call panel closes after the customer hung up', async () => !(await wd.execute(`return !!document.querySelector('#call[data-phase="connected"]')`)));
  await backToAvailable();
  console.log('ok - hang-up from the customer: the window left the call');

  // 6. Outgoing call from the dialer.
  await wd.execute(
    "const el = document.getElementById('dial-number'); el.value = arguments[0]; el.dispatchEvent(new Event('input', { bubbles: true }));",
    ['06-1234-5678'],
  );
  const legsBefore = new Set((await getJson('/_sim/voice/calls')).map((l) => l.sid));
  await wd.click('#dial');
  await waitFor('outgoing call connected', () => wd.execute(`return !!document.querySelector('#call[data-phase="connected"]')`), 30000);
  const out = await waitFor('outgoing leg has the agent at 1 kHz', async () =>
    (await getJson('/_sim/voice/calls')).find((l) => !legsBefore.has(l.sid) && l.identity === 'agent_1024' && l.media_connected && near(l.audio?.dominant_hz, 1000)),
  );
  await wd.click('#hangup');
  await waitFor('outgoing leg ended', async () => ['completed'].includes((await leg(out.sid)).state));
  await backToAvailable();
  console.log(`ok - outgoing call: connected, the stand-in hears the agent at 1 kHz on ${out.sid}, hung up`);

  // 7. Calls in a row, alternately hung up by the agent and by the customer; nothing may pile up.
  const pid = appPid();
  assert.ok(pid, `the app process (${appPath}) is running`);
  await sleep(1000);
  const beforeLists = usage(pid);
  for (let i = 0; i < 5; i++) {
    await wd.executeAsync("const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('media_devices').then(done, done);");
  }
  await sleep(500);
  console.log(`# 5 device lists: ${JSON.stringify(beforeLists)} → ${JSON.stringify(usage(pid))}`);
  const base = usage(pid);
  const samples = [];
  for (let i = 1; i <= CALLS; i++) {
    const c = await answerCall();
    await waitFor(`call ${i}: the stand-in hears the agent`, async () => near((await leg(c.leg.sid)).audio?.dominant_hz, 1000));
    if (i % 2) await wd.click('#hangup');
    else await post(`/_sim/calls/${c.customer.call}/hangup`);
    await waitFor(`call ${i}: leg ended`, async () => ['completed'].includes((await leg(c.leg.sid)).state));
    await backToAvailable();
    samples.push({ ...usage(pid), s: Math.round((Date.now() - started) / 1000) });
  }
  // The engine frees a call's socket and devices within its 1 s close grace.
  const settled = await waitFor('threads and descriptors back to where they were', async () => {
    const u = usage(pid);
    if (u.threads <= base.threads + 2 && u.fds <= base.fds + 4 && u.sockets <= base.sockets + 2) return u;
    throw new Error(`before ${JSON.stringify(base)}, now ${JSON.stringify(u)}, after each call ${JSON.stringify(samples)}`);
  }, 15000);
  const grow = settled.rssMb - base.rssMb;
  console.log(`# usage before: ${JSON.stringify(base)}; after each call: ${samples.map((s) => `${s.threads}t/${s.fds}fd/${s.rssMb}MB`).join(' ')}; settled: ${JSON.stringify(settled)}`);
  assert.ok(grow <= 40, `RSS grew ${grow} MB over ${CALLS} calls`);
  console.log(`ok - ${CALLS} calls in a row: threads ${base.threads}→${settled.threads}, fds ${base.fds}→${settled.fds}, sockets ${base.sockets}→${settled.sockets}, RSS ${base.rssMb}→${settled.rssMb} MB`);
} catch (e) {
  failed = true;
  console.error('not ok -', e.stack ?? e);
  console.error(`# top:\n${execFileSync('top', ['-b', '-n', '1', '-w', '160'], { encoding: 'utf8' }).split('\n').slice(0, 16).join('\n')}`);
  const busy = appPid();
  if (busy) console.error(`# app threads:\n${execFileSync('top', ['-H', '-b', '-n', '1', '-w', '160', '-p', String(busy)], { encoding: 'utf8' }).split('\n').slice(6, 20).join('\n')}`);
  if (busy && process.env.AUDIO_PERF) {
    execFileSync('perf', ['record', '-F', '199', '--call-graph', 'dwarf,16384', '-p', String(busy), '-o', process.env.AUDIO_PERF, '--', 'sleep', '3'], { stdio: 'ignore' });
  }
  console.error(`# ss -uanp:\n${execFileSync('ss', ['-uanp'], { encoding: 'utf8' }).replace(/^/gm, '#   ')}`);
  for (const what of ['sink-inputs', 'source-outputs']) {
    console.error(`# pactl list ${what}:\n${execFileSync('pactl', ['list', what], { encoding: 'utf8' }).replace(/^/gm, '#   ')}`);
  }
  // WebKitWebDriver's screenshot can hang for minutes here (compositing off): give it 10 s.
  const shot = await Promise.race([wd.screenshot().catch(() => null), sleep(10000).then(() => null)]);
  if (shot) writeFileSync(join(shots, 'audio-e2e-failure.png'), shot);
} finally {
  mic.stop();
  await Promise.race([wd.quit().catch(() => {}), sleep(10000)]);
}
console.log(`# audio e2e took ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
