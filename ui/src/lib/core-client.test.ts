import { describe, expect, it, vi } from 'vitest';
import { CommandError, CoreClient, type Transport } from './core-client';

function transport(overrides: Partial<Transport> = {}): Transport & { calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  return {
    calls,
    invoke: async (command, args) => {
      calls.push([command, args]);
      return { presence: 'away' };
    },
    listen: async () => () => {},
    ...overrides,
  };
}

describe('CoreClient', () => {
  it('sends the command name and camelCase arguments the Rust side expects', async () => {
    const t = transport();
    const snapshot = await new CoreClient(t).setPresence('away');
    expect(t.calls).toEqual([['set_presence', { presence: 'away' }]]);
    expect(snapshot).toEqual({ presence: 'away' });
  });

  it('turns a serialized AppError into a CommandError with its kind', async () => {
    const t = transport({ invoke: () => Promise.reject({ kind: 'tray', message: 'the tray icon could not be updated' }) });
    const error = await new CoreClient(t).getState().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ kind: 'tray', message: 'the tray icon could not be updated' });
  });

  it('reports a bare string rejection (bad arguments) as kind "ipc"', async () => {
    const t = transport({ invoke: () => Promise.reject('invalid args `presence` for command `set_presence`') });
    await expect(new CoreClient(t).setPresence('away')).rejects.toMatchObject({ kind: 'ipc' });
  });

  it('delivers well-formed events and drops malformed ones', async () => {
    let deliver: (payload: unknown) => void = () => {};
    const t = transport({
      listen: async (onEvent) => {
        deliver = onEvent;
        return () => {};
      },
    });
    const seen = vi.fn();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await new CoreClient(t).onEvent(seen);
    deliver({ type: 'presence', presence: 'break', source: 'tray' });
    deliver({ type: 'presence', presence: 'napping', source: 'tray' });
    deliver('garbage');
    expect(seen).toHaveBeenCalledTimes(1);
    expect(seen).toHaveBeenCalledWith({ type: 'presence', presence: 'break', source: 'tray' });
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });
});
