// Waiting by condition, shared by the desktop and browser end-to-end tests (e2e.mjs, browser.mjs, audio/audio.mjs).
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `fn` every 150 ms until it returns something truthy (which is returned) or `timeoutMs` passes; a throw
 * counts as "not yet" and its message is kept. Gives up with `what`, the time waited and the last result.
 */
export async function waitFor(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`${what}: gave up after ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}
