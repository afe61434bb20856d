/**
 * Japanese and English UI text. The language follows the OS (navigator.language) until the agent picks one;
 * the pick is remembered in localStorage. Every visible string comes from here, so both languages stay complete:
 * the `Messages` type makes a missing translation a type error.
 */
import type { CallPhase, PresenceState } from './core-client';

export type Lang = 'ja' | 'en';
export const LANGS: readonly Lang[] = ['ja', 'en'];

interface Messages {
  presence: Record<PresenceState, string>;
  presenceGroup: string;
  language: string;
  signIn: string;
  signingIn: string;
  signOut: string;
  loginName: string;
  password: string;
  server: (url: string) => string;
  loginErrors: Record<string, string>;
  hello: (name: string) => string;
  connection: { connecting: string; connected: string; reconnecting: (s: number) => string; stopped: string };
  voice: Record<'off' | 'registering' | 'registered' | 'unregistered' | 'error', string>;
  incoming: string;
  unknownCaller: string;
  answer: string;
  decline: string;
  phase: Record<Exclude<CallPhase, 'ended'>, string>;
  mute: string;
  unmute: string;
  hold: string;
  unhold: string;
  hangup: string;
  wrapupDone: string;
  updateRequired: string;
  dismiss: string;
}

const MESSAGES: Record<Lang, Messages> = {
  en: {
    presence: {
      available: 'Available',
      away: 'Away',
      break: 'Break',
      offline: 'Offline',
      busy: 'On a call',
      wrapUp: 'Wrap-up',
    },
    presenceGroup: 'Presence',
    language: 'Language',
    signIn: 'Sign in',
    signingIn: 'Signing in…',
    signOut: 'Sign out',
    loginName: 'Login',
    password: 'Password',
    server: (url) => `Server: ${url}`,
    loginErrors: {
      badCredentials: 'Wrong login or password.',
      serverUnreachable: 'Cannot reach the server. Check the network, or ask your administrator.',
      updateRequired: 'This version is no longer supported. Update Tsunagi to sign in.',
      alreadySignedIn: 'Already signed in.',
    },
    hello: (name) => name,
    connection: {
      connecting: 'Connecting to TaskRouter…',
      connected: 'Connected',
      reconnecting: (s) => `Connection lost — retrying in ${s} s`,
      stopped: 'Disconnected',
    },
    voice: {
      off: 'Phone: off',
      registering: 'Phone: connecting…',
      registered: 'Phone: ready',
      unregistered: 'Phone: not registered',
      error: 'Phone: error',
    },
    incoming: 'Incoming call',
    unknownCaller: 'Unknown caller',
    answer: 'Answer',
    decline: 'Decline',
    phase: { connecting: 'Connecting…', connected: 'On the call', wrapUp: 'Wrap-up' },
    mute: 'Mute',
    unmute: 'Unmute',
    hold: 'Hold',
    unhold: 'Resume',
    hangup: 'Hang up',
    wrapupDone: 'Done',
    updateRequired: 'An update is required: Tsunagi takes no new calls until it is updated.',
    dismiss: 'Dismiss',
  },
  ja: {
    presence: {
      available: '受付可',
      away: '離席',
      break: '休憩',
      offline: 'オフライン',
      busy: '通話中',
      wrapUp: '後処理',
    },
    presenceGroup: 'ステータス',
    language: '言語',
    signIn: 'サインイン',
    signingIn: 'サインイン中…',
    signOut: 'サインアウト',
    loginName: 'ログイン名',
    password: 'パスワード',
    server: (url) => `サーバー: ${url}`,
    loginErrors: {
      badCredentials: 'ログイン名またはパスワードが違います。',
      serverUnreachable: 'サーバーに接続できません。ネットワークを確認するか、管理者に連絡してください。',
      updateRequired: 'このバージョンはサポートが終了しました。Tsunagi を更新してからサインインしてください。',
      alreadySignedIn: 'すでにサインインしています。',
    },
    hello: (name) => `${name} さん`,
    connection: {
      connecting: 'TaskRouter に接続中…',
      connected: '接続済み',
      reconnecting: (s) => `接続が切れました — ${s} 秒後に再接続します`,
      stopped: '切断',
    },
    voice: {
      off: '電話: オフ',
      registering: '電話: 接続中…',
      registered: '電話: 準備完了',
      unregistered: '電話: 未登録',
      error: '電話: エラー',
    },
    incoming: '着信',
    unknownCaller: '番号不明',
    answer: '応答',
    decline: '拒否',
    phase: { connecting: '接続中…', connected: '通話中', wrapUp: '後処理' },
    mute: 'ミュート',
    unmute: 'ミュート解除',
    hold: '保留',
    unhold: '保留解除',
    hangup: '切断',
    wrapupDone: '完了',
    updateRequired: '更新が必要です。更新するまで新しい着信は受けられません。',
    dismiss: '閉じる',
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
