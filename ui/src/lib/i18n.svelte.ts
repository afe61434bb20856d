/**
 * Japanese and English UI text. The language follows the OS (navigator.language) until the agent picks one;
 * the pick is remembered in localStorage. Every visible string comes from here, so both languages stay complete:
 * the `Messages` type makes a missing translation a type error.
 */
import type { Presence } from './core-client';

export type Lang = 'ja' | 'en';
export const LANGS: readonly Lang[] = ['ja', 'en'];

interface Messages {
  presence: Record<Presence, string>;
  presenceGroup: string;
  youAre: (presence: string) => string;
  changedFromTray: (presence: string) => string;
  language: string;
}

const MESSAGES: Record<Lang, Messages> = {
  en: {
    presence: { available: 'Available', away: 'Away', break: 'Break', offline: 'Offline' },
    presenceGroup: 'Presence',
    youAre: (p) => `You are ${p}.`,
    changedFromTray: (p) => `Changed from the tray: ${p}.`,
    language: 'Language',
  },
  ja: {
    presence: { available: '受付可', away: '離席', break: '休憩', offline: 'オフライン' },
    presenceGroup: 'ステータス',
    youAre: (p) => `ステータスを「${p}」にしました。`,
    changedFromTray: (p) => `トレイから「${p}」に変更しました。`,
    language: '言語',
  },
};

const STORAGE_KEY = 'tsunagi.lang';

/** The language to start in: a remembered pick, else the OS language, else English. */
export function initialLang(stored: string | null, osLanguages: readonly string[]): Lang {
  if (stored === 'ja' || stored === 'en') return stored;
  for (const tag of osLanguages) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'ja' || base === 'en') return base;
  }
  return 'en';
}

function readStored(): string | null {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null; // storage disabled: follow the OS
  }
}

class I18n {
  lang = $state<Lang>(initialLang(readStored(), globalThis.navigator?.languages ?? []));

  get t(): Messages {
    return MESSAGES[this.lang];
  }

  set(lang: Lang) {
    this.lang = lang;
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, lang);
    } catch {
      // not remembered; still switched for this session
    }
    if (globalThis.document) document.documentElement.lang = lang;
  }
}

export const i18n = new I18n();
