import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import App from './App.svelte';
import { CoreClient, type Presence, type Transport } from './lib/core-client';
import { i18n } from './lib/i18n.svelte';

/** An in-memory Rust side: holds presence like the shell does and pushes events to the listener. */
function fakeShell() {
  let presence: Presence = 'offline';
  let listener: (payload: unknown) => void = () => {};
  const transport: Transport = {
    async invoke(command, args) {
      if (command === 'set_presence') presence = (args as { presence: Presence }).presence;
      if (command === 'app_info') return { version: '0.1.0', tauriVersion: '2.12.5', os: 'linux' };
      return { presence };
    },
    async listen(onEvent) {
      listener = onEvent;
      return () => {};
    },
  };
  return { transport, push: (payload: unknown) => listener(payload) };
}

async function settle() {
  for (let i = 0; i < 5; i++) await tick();
  flushSync();
}

let app: ReturnType<typeof mount> | undefined;
beforeEach(() => i18n.set('en'));
afterEach(() => {
  if (app) unmount(app);
  document.body.innerHTML = '';
});

describe('App', () => {
  it('shows the state the Rust side reports, then the one the agent picks', async () => {
    const shell = fakeShell();
    app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
    await settle();
    expect(document.querySelector('#presence')?.textContent?.trim()).toBe('Offline');
    expect(document.querySelector('#version')?.textContent).toContain('Tauri 2.12.5');

    (document.querySelector('button[data-presence="available"]') as HTMLButtonElement).click();
    await settle();
    expect(document.querySelector('#presence')?.textContent?.trim()).toBe('Available');
    expect(document.querySelector('button[data-presence="available"]')?.getAttribute('aria-pressed')).toBe('true');
  });

  it('follows a change made from the tray menu and says so', async () => {
    const shell = fakeShell();
    app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
    await settle();
    shell.push({ type: 'presence', presence: 'away', source: 'tray' });
    await settle();
    expect(document.querySelector('#presence')?.textContent?.trim()).toBe('Away');
    expect(document.querySelector('#notice')?.textContent).toBe('Changed from the tray: Away.');
  });

  it('switches to Japanese, including the last message', async () => {
    const shell = fakeShell();
    app = mount(App, { target: document.body, props: { client: new CoreClient(shell.transport) } });
    await settle();
    shell.push({ type: 'presence', presence: 'break', source: 'tray' });
    await settle();
    (document.querySelector('button[data-lang="ja"]') as HTMLButtonElement).click();
    await settle();
    expect(document.querySelector('#presence')?.textContent?.trim()).toBe('休憩');
    expect(document.querySelector('#notice')?.textContent).toBe('トレイから「休憩」に変更しました。');
    expect(document.querySelector('button[data-presence="available"]')?.textContent).toBe('受付可');
    expect(document.documentElement.lang).toBe('ja');
  });
});
