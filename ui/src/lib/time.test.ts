import { describe, expect, it } from 'vitest';
import { clock, dayRange } from './time';

describe('time', () => {
  it('formats the call timer', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(65.9)).toBe('1:05');
    expect(clock(3725)).toBe('1:02:05');
    expect(clock(-3)).toBe('0:00');
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
