import { describe, expect, it } from 'vitest';
import type { CoreEvent, Target } from './core-client';
import { apply, initialSession } from './session';

const task: Target = { kind: 'task', sid: 'WT00000000000000000000000000000001' };
const fold = (events: CoreEvent[], now = 1_000) => events.reduce((s, e) => apply(s, e, now), initialSession());

describe('session', () => {
  it('follows presence and the chosen activity', () => {
    const s = fold([{ type: 'presence', state: 'busy', selected: 'available' }]);
    expect([s.presence, s.selected]).toEqual(['busy', 'available']);
  });

  it('keeps one ring per target, fills it in, and turns an answered ring into the call', () => {
    const s1 = fold([
      { type: 'ringing', target: task, crm: { customerName: '山田 花子' } },
      { type: 'ringing', target: task },
      { type: 'ringUpdated', target: task, caller: '+81312345678' },
    ]);
    expect(s1.rings).toEqual([{ target: task, caller: '+81312345678', crm: { customerName: '山田 花子' } }]);
    const s2 = [
      { type: 'ringStopped', target: task, reason: 'answered' },
      { type: 'callState', target: task, phase: 'connected', muted: false, onHold: false },
    ].reduce((s, e) => apply(s, e as CoreEvent), s1);
    expect(s2.rings).toEqual([]);
    expect(s2.call).toMatchObject({ phase: 'connected', caller: '+81312345678', crm: { customerName: '山田 花子' } });
  });

  it('drops a ring that stopped for any other reason, with no call left behind', () => {
    const s = fold([
      { type: 'ringing', target: task },
      { type: 'ringStopped', target: task, reason: 'callerHungUp' },
    ]);
    expect(s.rings).toEqual([]);
    expect(s.call).toBeNull();
  });

  it('shows wrap-up, then clears the call when it ends', () => {
    const s1 = fold([{ type: 'callState', target: task, phase: 'wrapUp', muted: false, onHold: false }]);
    expect(s1.call?.phase).toBe('wrapUp');
    expect(apply(s1, { type: 'callState', target: task, phase: 'ended', muted: false, onHold: false }).call).toBeNull();
  });

  it('records errors, update requirements and the TaskRouter connection', () => {
    const s = fold([
      { type: 'error', kind: 'tokenPolicy', messageJa: 'ja', messageEn: 'en' },
      { type: 'updateRequired' },
      { type: 'connection', socket: 'taskRouter', state: { state: 'reconnecting', attempt: 2, retryInMs: 1500 } },
      { type: 'connection', socket: 'sync', state: { state: 'connected' } },
    ]);
    expect(s.error?.kind).toBe('tokenPolicy');
    expect(s.updateRequired).toBe(true);
    expect(s.taskRouter).toEqual({ state: 'reconnecting', attempt: 2, retryInMs: 1500 });
  });
});

describe('session: outgoing calls and the call timer', () => {
  const outgoing: Target = { kind: 'outgoing', sid: '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab' };

  it('shows a dialled call at once, with the number, then stamps when it connects (once)', () => {
    const dialing = fold([{ type: 'dialing', target: outgoing, to: '+81312345678' }]);
    expect(dialing.call).toEqual({ target: outgoing, phase: 'connecting', muted: false, onHold: false, caller: '+81312345678', outgoing: true });
    const connected = apply(dialing, { type: 'callState', target: outgoing, phase: 'connected', muted: false, onHold: false }, 5_000);
    expect(connected.call).toMatchObject({ caller: '+81312345678', outgoing: true, connectedAt: 5_000 });
    const muted = apply(connected, { type: 'callState', target: outgoing, phase: 'connected', muted: true, onHold: false }, 9_000);
    expect(muted.call?.connectedAt).toBe(5_000);
    const ended = apply(muted, { type: 'callState', target: outgoing, phase: 'ended', muted: false, onHold: false });
    expect(ended.call).toBeNull();
  });

  it('has no timer before the call connects', () => {
    const s = fold([{ type: 'callState', target: task, phase: 'connecting', muted: false, onHold: false }]);
    expect(s.call?.connectedAt).toBeUndefined();
  });
});

describe('session: call context from the server', () => {
  it('fills in the customer of the current call only', () => {
    const s = fold([
      { type: 'callState', target: task, phase: 'connected', muted: false, onHold: false },
      { type: 'callContext', target: task, conference: 'CF1', crm: { customerId: 'C-000123', customerName: '山田 花子' } },
      { type: 'callContext', target: { kind: 'task', sid: 'WT9' }, crm: { customerName: '別の人' } },
    ]);
    expect(s.call?.crm).toEqual({ customerId: 'C-000123', customerName: '山田 花子' });
  });
});
