import { describe, expect, it, vi } from 'vitest';
import { CommandError, CoreClient, loopbackTransport, type Transport } from './core-client';

function transport(overrides: Partial<Transport> = {}): Transport & { calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  return {
    calls,
    invoke: async (command, args) => {
      calls.push([command, args]);
      return null;
    },
    listen: async () => () => {},
    ...overrides,
  };
}

describe('CoreClient', () => {
  it('wraps a core command in the core_command IPC call, tagged as the core expects', async () => {
    const t = transport();
    await new CoreClient(t).send({ command: 'setPresence', activity: 'away' });
    await new CoreClient(t).send({ command: 'answer', target: { kind: 'task', sid: 'WT1' } });
    expect(t.calls).toEqual([
      ['core_command', { command: { command: 'setPresence', activity: 'away' } }],
      ['core_command', { command: { command: 'answer', target: { kind: 'task', sid: 'WT1' } } }],
    ]);
  });

  it('turns a serialized AppError into a CommandError with its kind', async () => {
    const t = transport({ invoke: () => Promise.reject({ kind: 'badCredentials', message: 'wrong login or password' }) });
    const error = await new CoreClient(t).login('tanaka', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ kind: 'badCredentials', message: 'wrong login or password' });
  });

  it('reports a bare string rejection (bad arguments) as kind "ipc"', async () => {
    const t = transport({ invoke: () => Promise.reject('invalid args `command` for command `core_command`') });
    await expect(new CoreClient(t).send({ command: 'logout' })).rejects.toMatchObject({ kind: 'ipc' });
  });

  it('delivers core events and drops anything else', async () => {
    let deliver: (payload: unknown) => void = () => {};
    const t = transport({
      listen: async (channel, onEvent) => {
        if (channel === 'event') deliver = onEvent;
        return () => {};
      },
    });
    const seen = vi.fn();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await new CoreClient(t).onEvent(seen);
    deliver({ type: 'presence', state: 'busy', selected: 'available' });
    deliver({ type: 'napping' });
    deliver('garbage');
    expect(seen).toHaveBeenCalledTimes(1);
    expect(seen).toHaveBeenCalledWith({ type: 'presence', state: 'busy', selected: 'available' });
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });
});

describe('loopbackTransport', () => {
  /** A WebSocket stand-in: records what is sent, lets the test deliver messages. */
  class FakeSocket extends EventTarget {
    static last: FakeSocket;
    sent: string[] = [];
    constructor(readonly url: string) {
      super();
      FakeSocket.last = this;
      queueMicrotask(() => this.dispatchEvent(new Event('open')));
    }
    send(text: string) {
      this.sent.push(text);
    }
    deliver(data: unknown) {
      this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(data) }));
    }
  }

  it('matches replies to requests by id, rejects with the app error, and fans pushes out by channel', async () => {
    const transport = loopbackTransport('ws://127.0.0.1:1/?token=t', FakeSocket as unknown as typeof WebSocket);
    const events: unknown[] = [];
    await transport.listen('event', (p) => events.push(p));
    const first = transport.invoke('get_state', {});
    const second = transport.invoke('roster', {}).catch((e: unknown) => ({ rejected: e }));
    await new Promise((r) => setTimeout(r, 0));
    const socket = FakeSocket.last;
    expect(socket.sent.map((t) => JSON.parse(t))).toEqual([
      { id: 1, command: 'get_state', args: {} },
      { id: 2, command: 'roster', args: {} },
    ]);
    socket.deliver({ id: 2, error: { kind: 'forbidden', message: 'no' } });
    socket.deliver({ id: 1, ok: { presence: 'offline' } });
    socket.deliver({ channel: 'event', payload: { type: 'presence', state: 'away', selected: 'away' } });
    socket.deliver({ channel: 'device', payload: { type: 'accept', call: 'CA1' } });
    await expect(first).resolves.toEqual({ presence: 'offline' });
    await expect(second).resolves.toEqual({ rejected: { kind: 'forbidden', message: 'no' } });
    expect(events).toEqual([{ type: 'presence', state: 'away', selected: 'away' }]);
  });
});
