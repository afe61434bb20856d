// Tones in and out of the private PulseAudio: a generator into a sink (the agent's voice), and a detector on a
// sink's monitor (what the agent hears). Goertzel power at the wanted frequency against the total power.
import { spawn } from 'node:child_process';

const RATE = 48000;

/** Plays an endless `hz` sine into `sink` until `stop()`. */
export function playTone(sink, hz, amplitude = 12000) {
  const pacat = spawn('pacat', ['--playback', `--device=${sink}`, '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=1', '--latency-msec=40'], { stdio: ['pipe', 'ignore', 'inherit'] });
  let phase = 0;
  const chunk = () => {
    const n = RATE / 50;
    const buf = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++, phase++) buf.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * phase) / RATE)), i * 2);
    return buf;
  };
  const pump = () => {
    while (pacat.stdin.writable && pacat.stdin.write(chunk()));
  };
  pacat.stdin.on('drain', pump);
  pacat.stdin.on('error', () => {});
  pump();
  return { stop: () => pacat.kill('SIGTERM'), pid: pacat.pid };
}

/** Records `ms` of `source` (a sink's `.monitor`) as 48 kHz mono samples. */
export function record(source, ms) {
  return new Promise((resolve, reject) => {
    const parec = spawn('parec', [`--device=${source}`, '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=1', '--latency-msec=20'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks = [];
    let bytes = 0;
    const want = Math.round((RATE * ms) / 1000) * 2;
    parec.stdout.on('data', (c) => {
      chunks.push(c);
      bytes += c.length;
      if (bytes >= want) parec.kill('SIGTERM');
    });
    parec.on('error', reject);
    parec.on('close', () => {
      const buf = Buffer.concat(chunks);
      const samples = new Int16Array(Math.floor(buf.length / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(i * 2);
      resolve(samples);
    });
    setTimeout(() => parec.kill('SIGTERM'), ms + 3000);
  });
}

/** RMS of the samples. */
export const rms = (x) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length));

/** Share (0..1) of the signal's power at `hz` (Goertzel over the whole window, Hann-windowed). */
export function toneShare(x, hz) {
  const n = x.length;
  if (n < 480) return 0;
  const w = (i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / RATE);
  let s1 = 0, s2 = 0, total = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] * w(i);
    total += v * v;
    const s = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // A Hann-windowed sine of amplitude A: |X|² ≈ (A·n/4)², Σ(x·w)² ≈ 3A²n/16, so |X|²·3/(n·Σ) ≈ 1.
  return total > 0 ? Math.min(1, (3 * power) / (n * total)) : 0;
}

/** The strongest frequency between 100 Hz and 4 kHz (20 Hz steps), for diagnostics. */
export function dominantHz(x) {
  let best = 0, bestShare = 0;
  for (let hz = 100; hz <= 4000; hz += 20) {
    const s = toneShare(x, hz);
    if (s > bestShare) [best, bestShare] = [hz, s];
  }
  return { hz: best, share: bestShare };
}

/**
 * Records `source` (a sink's `.monitor`) until `stop()`, keeping each sample's wall-clock time (a chunk's
 * arrival time is taken as the time of its last sample), so a sound's start and end can be compared with the
 * moment the test did something.
 */
export function listen(source) {
  const parec = spawn('parec', [`--device=${source}`, '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=1', '--latency-msec=10'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let vals = new Int16Array(RATE * 8);
  let times = new Float64Array(RATE * 8);
  let len = 0;
  let odd = null;
  parec.stdout.on('data', (c) => {
    const at = Date.now();
    const buf = odd ? Buffer.concat([odd, c]) : c;
    const n = Math.floor(buf.length / 2);
    odd = buf.length % 2 ? buf.subarray(buf.length - 1) : null;
    if (len + n > vals.length) {
      const grow = (a, T) => {
        const b = new T(Math.max(2 * a.length, len + n));
        b.set(a.subarray(0, len));
        return b;
      };
      vals = grow(vals, Int16Array);
      times = grow(times, Float64Array);
    }
    for (let i = 0; i < n; i++) {
      vals[len + i] = buf.readInt16LE(i * 2);
      times[len + i] = at - ((n - 1 - i) * 1000) / RATE;
    }
    len += n;
  });
  parec.on('error', () => {});
  return {
    /**
     * The stretches where `hz` sounds (`win` ms windows every `win / 2` ms: power share at `hz` above `share`
     * and RMS above `minRms`), gaps up to `gapMs` bridged: `[{ start, end, peak }]` in Date.now() ms, from
     * `since` on; `end` is null while it still sounds at the end of what was recorded.
     */
    bursts(hz, { since = 0, win = 50, share = 0.5, minRms = 300, gapMs = 120 } = {}) {
      const n = Math.round((RATE * win) / 1000);
      const out = [];
      let cur = null;
      let first = 0;
      while (first < len && times[first] < since) first++;
      for (let i = first; i + n <= len; i += n / 2) {
        const x = vals.subarray(i, i + n);
        const t = times[i + n / 2];
        if (rms(x) > minRms && toneShare(x, hz) > share) {
          const peak = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          if (cur && t - cur.last <= gapMs) {
            cur.last = t;
            cur.peak = Math.max(cur.peak, peak);
          } else {
            cur = { start: t, last: t, peak };
            out.push(cur);
          }
        }
      }
      const recorded = len ? times[len - 1] : 0;
      return out.map((b) => ({ start: b.start, end: recorded - b.last > gapMs ? b.last : null, peak: b.peak }));
    },
    /** Wall-clock time of the newest sample. */
    recorded: () => (len ? times[len - 1] : 0),
    stop: () => parec.kill('SIGTERM'),
  };
}
