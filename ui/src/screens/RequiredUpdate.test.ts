import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoreClient, type Transport, type UpdateStatus } from '../lib/core-client';
import { i18n } from '../lib/i18n.svelte';
import RequiredUpdate from './RequiredUpdate.svelte';

/** A shell whose update status the test drives, as the `tsunagi:update` event does. */
function fakeShell(initial: UpdateStatus) {
  let onUpdate: (payload: unknown) => void = () => {};
  const calls: string[] = [];
  const transport: Transport = {
    async invoke(command) {
      calls.push(command);
      if (command === 'update_status') return initial;
      return null;
    },
    async listen(channel, onEvent) {
      if (channel === 'update') onUpdate = onEvent;
      return () => {};
    },
  };
  return { client: new CoreClient(transport), calls, emit: (s: UpdateStatus) => onUpdate(s) };
}

async function settle() {
  for (let i = 0; i < 8; i++) await tick();
  flushSync();
}
const $ = (css: string) => document.querySelector(css);
const text = (css: string) => $(css)?.textContent?.trim();

let view: ReturnType<typeof mount> | undefined;
beforeEach(() => i18n.set('en'));
afterEach(() => {
  if (view) unmount(view);
  view = undefined;
  document.body.innerHTML = '';
});

describe('update required', () => {
  it('stays hidden while the server supports this version', async () => {
    const shell = fakeShell({ state: 'ready', version: '0.2.0', notes: null, mandatory: false, required: false });
    view = mount(RequiredUpdate, { target: document.body, props: { client: shell.client } });
    await settle();
    expect($('#update-required')).toBeNull();
  });

  it('one button downloads, waits for the call to end, installs; in both languages', async () => {
    const shell = fakeShell({ state: 'downloading', version: '0.2.0', notes: null, mandatory: true, required: true });
    view = mount(RequiredUpdate, { target: document.body, props: { client: shell.client } });
    await settle();
    expect(text('#update-required-title')).toBe('Update required');
    expect(text('#update-required')).toContain('takes no calls until it is updated');
    expect(text('#update-required-status')).toBe('Downloading version 0.2.0…');
    expect(($('#update-now') as HTMLButtonElement).disabled).toBe(true);
    shell.emit({ state: 'ready', version: '0.2.0', notes: null, mandatory: true, required: true });
    await settle();
    const button = $('#update-now') as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.textContent).toBe('Update and restart');
    button.click();
    await settle();
    expect(shell.calls).toContain('update_now');
    expect(button.disabled).toBe(true); // pressed: no second press while it works
    // A call is in progress: the update waits for it and says so.
    shell.emit({ state: 'waiting', version: '0.2.0', required: true });
    await settle();
    expect(text('#update-required-status')).toBe('Version 0.2.0 installs as soon as the call and wrap-up end; Tsunagi then restarts.');
    i18n.set('ja');
    await settle();
    expect(text('#update-required-title')).toBe('アップデートが必要です');
    expect(text('#update-now')).toBe('更新して再起動');
    expect(text('#update-required-status')).toContain('通話と後処理が終わりしだい');
  });

  it('shows on the core’s refusal alone, and gives the button back when a signature is refused', async () => {
    const shell = fakeShell({ state: 'idle' });
    view = mount(RequiredUpdate, { target: document.body, props: { client: shell.client, refused: true } });
    await settle();
    expect(text('#update-required-title')).toBe('Update required');
    ($('#update-now') as HTMLButtonElement).click();
    await settle();
    shell.emit({ state: 'failed', kind: 'signature', message: 'bad signature', required: true });
    await settle();
    expect(text('#update-required-status')).toContain('not signed by Tsunagi’s release key');
    expect(($('#update-now') as HTMLButtonElement).disabled).toBe(false);
  });
});
