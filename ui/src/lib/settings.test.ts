import { beforeEach, describe, expect, it } from 'vitest';
import { loadAudio, loadNotes, loadRecent, MAX_RECENT, rememberNumber, saveAudio, saveNote, toE164 } from './settings';

beforeEach(() => localStorage.clear());

describe('settings', () => {
  it('reads typed numbers as E.164 (Japanese national numbers become +81)', () => {
    expect(toE164('+81 3-1234-5678')).toBe('+81312345678');
    expect(toE164('03-1234-5678')).toBe('+81312345678');
    expect(toE164('0081312345678')).toBe('+81312345678');
    expect(toE164('(415) 555-0100')).toBeNull();
    expect(toE164('+1 415 555 0100')).toBe('+14155550100');
    expect(toE164('call me')).toBeNull();
    expect(toE164('+0123')).toBeNull();
    expect(toE164('+1234567890123456')).toBeNull();
  });

  it('keeps the newest recent numbers first, each once', () => {
    rememberNumber('+81312345678');
    rememberNumber('+14155550100');
    expect(rememberNumber('+81312345678')).toEqual(['+81312345678', '+14155550100']);
    for (let i = 0; i < 20; i++) rememberNumber(`+8150000000${i.toString().padStart(2, '0')}`);
    expect(loadRecent()).toHaveLength(MAX_RECENT);
    expect(loadRecent()[0]).toBe('+815000000019');
  });

  it('survives corrupt storage and clamps the ringtone volume', () => {
    localStorage.setItem('tsunagi.recent', '{not json');
    localStorage.setItem('tsunagi.audio', JSON.stringify({ microphone: 7, ringtoneVolume: 3 }));
    expect(loadRecent()).toEqual([]);
    expect(loadAudio()).toEqual({ microphone: '', speaker: '', ringtone: '', ringtoneVolume: 1 });
    saveAudio({ microphone: 'mic-1', speaker: '', ringtone: 'usb', ringtoneVolume: 0.25 });
    expect(loadAudio().ringtone).toBe('usb');
  });

  it('keeps wrap-up notes per task; empty notes are dropped', () => {
    saveNote('WT1', '  折り返し希望 ', 10);
    saveNote('WT2', '', 11);
    expect(loadNotes()).toEqual({ WT1: { text: '折り返し希望', at: 10 } });
    saveNote('WT1', '');
    expect(loadNotes()).toEqual({});
  });
});
