import { describe, expect, it } from 'vitest';
import { rms, testMicrophone } from './mic';

describe('microphone test', () => {
  it('measures silence as 0 and a full-scale square wave as 1', () => {
    expect(rms(new Uint8Array(64).fill(128))).toBe(0);
    expect(rms(Uint8Array.from({ length: 64 }, (_, i) => (i % 2 ? 0 : 255)))).toBeCloseTo(1, 1);
    expect(rms(new Uint8Array())).toBe(0);
  });

  it('says when this engine cannot open a microphone at all', async () => {
    await expect(testMicrophone('', 100, () => {})).rejects.toBe('unsupported');
  });
});
