import { afterEach, describe, expect, it, vi } from 'vitest';
import { invoke } from '@tauri-apps/api/core';
import { rms, testMicrophone } from './mic';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  Channel: class {
    constructor(public onmessage: (message: unknown) => void) {}
  },
}));

const flag = globalThis as { __TSUNAGI_NATIVE_AUDIO__?: unknown };

describe('microphone test', () => {
  afterEach(() => {
    delete flag.__TSUNAGI_NATIVE_AUDIO__;
    vi.mocked(invoke).mockReset();
  });

  it('measures silence as 0 and a full-scale square wave as 1', () => {
    expect(rms(new Uint8Array(64).fill(128))).toBe(0);
    expect(rms(Uint8Array.from({ length: 64 }, (_, i) => (i % 2 ? 0 : 255)))).toBeCloseTo(1, 1);
    expect(rms(new Uint8Array())).toBe(0);
  });

  it('says when this engine cannot open a microphone at all', async () => {
    await expect(testMicrophone('', 100, () => {})).rejects.toBe('unsupported');
    expect(invoke).not.toHaveBeenCalled();
  });

  it('keeps the WebAudio route where the shim is not in use (native audio off)', async () => {
    flag.__TSUNAGI_NATIVE_AUDIO__ = false;
    await expect(testMicrophone('mic-1', 100, () => {})).rejects.toBe('unsupported');
    expect(invoke).not.toHaveBeenCalled();
  });

  it('opens the microphone natively where the shim is in use, with its levels and peak', async () => {
    flag.__TSUNAGI_NATIVE_AUDIO__ = true;
    vi.mocked(invoke).mockImplementation(async (_cmd, args) => {
      const { onLevel } = args as { onLevel: { onmessage: (l: number) => void } };
      for (const l of [0.2, 0.5, 0.3]) onLevel.onmessage(l);
      return 0.5;
    });
    const levels: number[] = [];
    await expect(testMicrophone('pulseaudio:agent_mic', 5000, (l) => levels.push(l))).resolves.toBe(0.5);
    expect(levels).toEqual([0.2, 0.5, 0.3]);
    expect(invoke).toHaveBeenCalledWith('media_mic_test', expect.objectContaining({ input: 'pulseaudio:agent_mic', ms: 5000 }));

    // The system default is asked as no device.
    await testMicrophone('', 100, () => {});
    expect(invoke).toHaveBeenLastCalledWith('media_mic_test', expect.objectContaining({ input: null }));
  });

  it('turns native failures into the same names the screen words', async () => {
    flag.__TSUNAGI_NATIVE_AUDIO__ = true;
    vi.mocked(invoke).mockRejectedValueOnce({ kind: 'NotFoundError', message: 'audio device: no microphone is connected' });
    await expect(testMicrophone('', 100, () => {})).rejects.toBe('NotFoundError');
    vi.mocked(invoke).mockRejectedValueOnce({ kind: 'NotReadableError', message: 'cannot open the microphone: busy' });
    await expect(testMicrophone('x', 100, () => {})).rejects.toBe('NotReadableError');
  });
});
