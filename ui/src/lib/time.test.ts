import { describe, expect, it } from 'vitest';
import { clock, dayRange, shortDateTime } from './time';

describe('time', () => {
  it('formats the call timer', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(65.9)).toBe('1:05');
    expect(clock(3725)).toBe('1:02:05');
    expect(clock(-3)).toBe('0:00');
  });

  it('writes table times compactly and leaves junk alone', () => {
    const local = new Date(2026, 10, 6, 9, 5).toISOString();
    expect(shortDateTime(local)).toBe('11/06 09:05');
    expect(shortDateTime('soon')).toBe('soon');
  });

  it('spans whole local days', () => {
    const noon = new Date(2026, 10, 26, 12, 30).getTime();
    const [from, to] = dayRange(noon, 0);
    expect(new Date(from * 1000).getHours()).toBe(0);
    expect(to - from).toBe(86_400);
    const [weekFrom] = dayRange(noon, 6);
    expect(from - weekFrom).toBe(6 * 86_400);
  });
});
