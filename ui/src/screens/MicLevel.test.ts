import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import MicLevel from './MicLevel.svelte';

const g = globalThis as { __TSUNAGI_NATIVE_AUDIO__?: unknown };
afterEach(() => {
  delete g.__TSUNAGI_NATIVE_AUDIO__;
  document.body.innerHTML = '';
});

describe('MicLevel', () => {
  it('holds its row from the start where the native engine carries the call, so the buttons below never move', () => {
    g.__TSUNAGI_NATIVE_AUDIO__ = true;
    const meter = mount(MicLevel, { target: document.body });
    flushSync();
    // No level yet (no native call's statistics): the row is there, invisible.
    const row = document.querySelector('.mic-level') as HTMLElement | null;
    expect(row).not.toBeNull();
    expect(row?.style.visibility).toBe('hidden');
    unmount(meter);
  });

  it('takes no room where the webview has its own WebRTC (no native meter will come)', () => {
    const meter = mount(MicLevel, { target: document.body });
    flushSync();
    expect(document.querySelector('.mic-level')).toBeNull();
    unmount(meter);
  });
});
