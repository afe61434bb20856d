/**
 * What this computer remembers for the agent, in localStorage: audio device choices and ringtone volume, the
 * recently dialled numbers, and wrap-up notes per task (the server has no notes field yet, so notes stay here and
 * show in the call history). Every read tolerates missing or corrupt storage.
 */

export interface AudioPrefs {
  /** `deviceId` of the microphone; empty = the system default. */
  microphone: string;
  /** `deviceId` of the call audio output; empty = the system default. */
  speaker: string;
  /** `deviceId` of the ringtone output; empty = the system default. */
  ringtone: string;
  /** Ringtone volume, 0..1. */
  ringtoneVolume: number;
}

export const DEFAULT_AUDIO: AudioPrefs = { microphone: '', speaker: '', ringtone: '', ringtoneVolume: 0.8 };

const KEYS = { audio: 'tsunagi.audio', recent: 'tsunagi.recent', notes: 'tsunagi.notes' } as const;
export const MAX_RECENT = 8;
const MAX_NOTES = 200;

function read<T>(key: string): T | null {
  try {
    const raw = globalThis.localStorage?.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, value: unknown) {
  try {
    globalThis.localStorage?.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: the choice holds for this session only
  }
}

export function loadAudio(): AudioPrefs {
  const stored = read<Partial<AudioPrefs>>(KEYS.audio) ?? {};
  const volume = Number(stored.ringtoneVolume);
  return {
    microphone: typeof stored.microphone === 'string' ? stored.microphone : '',
    speaker: typeof stored.speaker === 'string' ? stored.speaker : '',
    ringtone: typeof stored.ringtone === 'string' ? stored.ringtone : '',
    ringtoneVolume: Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : DEFAULT_AUDIO.ringtoneVolume,
  };
}

export const saveAudio = (prefs: AudioPrefs) => write(KEYS.audio, prefs);

/**
 * A typed number as E.164, or null: spaces, hyphens, dots and brackets are dropped; a Japanese national number
 * (leading 0) becomes +81 without the 0; `00` becomes `+`. The core validates again.
 */
export function toE164(typed: string): string | null {
  let n = typed.trim().replace(/[\s\-().]/g, '');
  if (n.startsWith('00')) n = `+${n.slice(2)}`;
  else if (/^0\d/.test(n)) n = `+81${n.slice(1)}`;
  return /^\+[1-9]\d{1,14}$/.test(n) ? n : null;
}

export function loadRecent(): string[] {
  const stored = read<unknown>(KEYS.recent);
  return Array.isArray(stored) ? stored.filter((n): n is string => typeof n === 'string').slice(0, MAX_RECENT) : [];
}

/** Puts `number` first (once) and keeps the newest {@link MAX_RECENT}. */
export function rememberNumber(number: string): string[] {
  const recent = [number, ...loadRecent().filter((n) => n !== number)].slice(0, MAX_RECENT);
  write(KEYS.recent, recent);
  return recent;
}

type Notes = Record<string, { text: string; at: number }>;

export function loadNotes(): Notes {
  const stored = read<Notes>(KEYS.notes);
  return stored && typeof stored === 'object' ? stored : {};
}

/** Keeps the wrap-up notes of `task` (the newest {@link MAX_NOTES} tasks). */
export function saveNote(task: string, text: string, at = Date.now()) {
  const notes = loadNotes();
  if (text.trim()) notes[task] = { text: text.trim(), at };
  else delete notes[task];
  const newest = Object.entries(notes)
    .sort(([, a], [, b]) => b.at - a.at)
    .slice(0, MAX_NOTES);
  write(KEYS.notes, Object.fromEntries(newest));
}
