/**
 * Japanese and English UI text. The language follows the OS (navigator.language) until the agent picks one;
 * the pick is remembered in localStorage. Every visible string comes from here, so both languages stay complete:
 * the `Messages` type makes a missing translation a type error.
 */
import type { QualityWarning } from './quality.svelte';
import type { CallPhase, KeychainProblem, PresenceState, Service, SessionEnded, ShortcutReason, SuperviseMode, TransferFailure, TransferMode } from './core-client';

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
  /** The "update required" panel (src-tauri/src/updater: a 426, or the server's policy excludes this version). */
  required: { title: string; body: string; button: string };
  dismiss: string;
  keychain: Record<KeychainProblem['kind'], string>;
  /** Why the server ended the sign-in (src-tauri/src/agent.rs `tsunagi:session-ended`). */
  sessionEnded: Record<SessionEnded['kind'], string>;
  tabs: Record<'phone' | 'history' | 'supervisor' | 'settings' | 'diagnostics', string>;
  outgoingCall: string;
  onHoldBadge: string;
  customerId: string;
  owner: string;
  department: string;
  callTimer: string;
  micLevel: string;
  /** The call quality banner (the SDK's warnings, lib/quality.svelte.ts): what is wrong, and what the agent can do. */
  quality: { label: string; problem: Record<QualityWarning, string>; advice: Record<QualityWarning, string> };
  keypad: string;
  transfer: string;
  transferTitle: string;
  transferToAgent: string;
  transferToNumber: string;
  transferModes: Record<TransferMode, string>;
  transferSend: string;
  transferNoAgents: string;
  transferAgentBusy: string;
  transferSearch: string;
  transferLoading: string;
  transferNoMatch: string;
  warmInProgress: string;
  warmWhoHears: string;
  holdDuringConsult: string;
  warmComplete: string;
  warmCancel: string;
  /** A warm transfer's target is being called (the customer is already on hold). */
  warmDialing: string;
  /** Why "Complete transfer" waits. */
  warmCompleteWait: string;
  /** A cold transfer's target is being called. */
  coldDialing: string;
  /** A transfer did not go through: what happened and what the agent can do. */
  transferFailed: (mode: TransferMode, reason: TransferFailure | undefined) => string;
  /** Why Hold is not offered yet on an outgoing call. */
  holdWaitsForAnswer: string;
  cancel: string;
  notes: string;
  notesHint: string;
  notesCount: (n: number, max: number) => string;
  notesTooLong: (max: number) => string;
  dialTitle: string;
  numberLabel: string;
  call: string;
  recent: string;
  invalidNumber: string;
  history: {
    title: string;
    refresh: string;
    empty: string;
    loading: string;
    loadMore: string;
    end: string;
    columns: Record<'time' | 'customer' | 'agent' | 'status' | 'duration' | 'notes', string>;
    status: Record<string, string>;
  };
  supervisor: {
    title: string;
    activity: Record<string, string>;
    onCall: string;
    minutes: (n: number) => string;
    modes: Record<SuperviseMode, string>;
    sent: (mode: string, name: string) => string;
    notReady: string;
    updated: (time: string) => string;
  };
  settings: {
    title: string;
    microphone: string;
    speaker: string;
    ringtoneOutput: string;
    ringtoneVolume: string;
    systemDefault: string;
    sameAsSpeaker: string;
    testRingtone: string;
    stopRingtone: string;
    noWebRtc: string;
    noDevices: string;
    noOutputSelection: string;
    startup: string;
    autostart: string;
    shortcut: string;
    /** The answer/hang-up key's state (src-tauri/src/shortcut.rs). */
    shortcutActive: (trigger: string) => string;
    shortcutPending: string;
    shortcutUnavailable: Record<ShortcutReason, string>;
    shortcutCommand: string;
    updates: string;
    checkNow: string;
    install: string;
    whatsNew: string;
    update: {
      idle: string;
      checking: string;
      upToDate: string;
      downloading: (v: string) => string;
      ready: (v: string) => string;
      installing: (v: string) => string;
      waiting: (v: string) => string;
      failed: string;
      mandatory: string;
    };
    updateErrors: Record<string, string>;
  };
  diagnostics: {
    title: string;
    run: string;
    running: string;
    services: Record<Service, string>;
    reached: (ms: number, status: number) => string;
    failed: (error: string) => string;
    notUsed: string;
    phone: string;
    webRtc: string;
    webRtcYes: string;
    webRtcNo: string;
    token: string;
    account: string;
    apiKey: string;
    identity: string;
    expires: string;
    outgoing: string;
    notGranted: string;
    worker: string;
    version: string;
    noToken: string;
    micTest: string;
    micTesting: string;
    micPeak: (percent: number) => string;
    micSilent: string;
    micFailed: Record<string, string>;
  };
  twilioErrors: Record<number, string>;
  twilioError: (code: number, message: string) => string;
  errors: Record<string, string>;
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
    required: {
      title: 'Update required',
      body: 'This version of Tsunagi is no longer supported: it takes no calls until it is updated.',
      button: 'Update and restart',
    },
    dismiss: 'Dismiss',
    sessionEnded: {
      refreshInvalid: 'Your sign-in has expired. Sign in again to keep taking calls.',
      refreshReused:
        'Your sign-in was ended for your safety because it was used from another place. Sign in again, and tell your administrator if you did not expect this.',
    },
    keychain: {
      keychainUnavailable:
        'Your sign-in cannot be remembered on this computer (no keyring service is running). Sign in with your password after each restart, or ask IT to enable the keyring.',
      keychainLocked: 'The keyring is locked, so your sign-in was not remembered. Unlock it (your desktop password) to be signed in automatically next time.',
      keychainFailed: 'Your sign-in could not be saved in the keyring. You will need your password at the next start.',
    },
    tabs: { phone: 'Phone', history: 'History', supervisor: 'Team', settings: 'Settings', diagnostics: 'Diagnostics' },
    outgoingCall: 'Outgoing call',
    onHoldBadge: 'Customer on hold',
    customerId: 'Customer ID',
    owner: 'Owner',
    department: 'Department',
    callTimer: 'Call time',
    micLevel: 'Microphone',
    quality: {
      label: 'Call quality',
      problem: {
        connection: 'The connection to the call is interrupted: audio is not getting through',
        rtt: 'Your connection is delaying the audio (over 400 ms)',
        loss: 'Audio is breaking up: packets are being lost',
        jitter: 'Audio is choppy: it arrives unevenly (over 30 ms jitter)',
        mos: 'Call quality is low',
        mic: 'Your microphone seems silent or stuck',
        speaker: 'No sound seems to come from the caller',
      },
      advice: {
        connection: 'Check the network cable or Wi-Fi; the call may drop.',
        rtt: 'Use a wired network and stop large downloads or video.',
        loss: 'Use a wired network instead of Wi-Fi and close heavy apps.',
        jitter: 'Use a wired network and close heavy apps.',
        mos: 'Use a wired network and close heavy apps; ask the caller to repeat if needed.',
        mic: 'Check that the headset is plugged in and not muted, or pick another microphone in Settings.',
        speaker: 'Ask the caller to speak; check the headset and the speaker chosen in Settings.',
      },
    },
    keypad: 'Keypad',
    transfer: 'Transfer',
    transferTitle: 'Transfer the call',
    transferToAgent: 'Agent',
    transferToNumber: 'Number',
    transferModes: { cold: 'Cold: hand over now', warm: 'Warm: talk to them first' },
    transferSend: 'Transfer',
    transferNoAgents: 'This server lists no agents to transfer to: enter a number instead.',
    transferAgentBusy: 'not available',
    transferSearch: 'Search by name or department',
    transferLoading: 'Loading the agents…',
    transferNoMatch: 'No agent matches.',
    warmInProgress: 'Consulting — the customer is on hold.',
    warmWhoHears: 'You and the transfer target hear each other. The customer hears hold music, not you.',
    holdDuringConsult: 'The customer stays on hold until you complete or cancel the transfer.',
    warmComplete: 'Complete transfer',
    warmCancel: 'Cancel transfer',
    warmDialing: 'Calling the transfer target — the customer is on hold.',
    warmCompleteWait: 'You can complete the transfer once the target answers.',
    coldDialing: 'Transferring — calling the target. You stay with the customer until they answer.',
    transferFailed: (mode, reason) =>
      `${{
        busy: 'The transfer target was busy',
        noAnswer: 'The transfer target did not answer',
        unreachable: 'The transfer target could not be reached',
        canceled: 'The transfer was canceled',
        targetLeft: 'The transfer target hung up',
        other: 'The transfer did not go through',
      }[reason ?? 'other']}. ` +
      (mode === 'warm'
        ? 'The customer is off hold and back with you: carry on with the call or try another transfer.'
        : 'The customer is still on the line with you: carry on with the call or try another transfer.'),
    holdWaitsForAnswer: 'You can put the customer on hold once they answer.',
    cancel: 'Cancel',
    notes: 'Notes',
    notesHint: 'Saved with the call when you press Done, and shown in History.',
    notesCount: (n, max) => `${n} / ${max}`,
    notesTooLong: (max) => `Notes can be at most ${max} characters. Shorten them and press Done again — your text is kept.`,
    dialTitle: 'Call a number',
    numberLabel: 'Number',
    call: 'Call',
    recent: 'Recent',
    invalidNumber: 'Enter a number such as 03-1234-5678 or +81312345678.',
    history: {
      title: 'Call history',
      refresh: 'Refresh',
      empty: 'No calls yet.',
      loading: 'Loading…',
      loadMore: 'Load older calls',
      end: 'That is every call.',
      columns: { time: 'Time', customer: 'Customer', agent: 'Agent', status: 'Status', duration: 'Talk time', notes: 'Notes' },
      status: {
        queued: 'Waiting',
        reserved: 'Ringing',
        connected: 'On a call',
        ended: 'Ended',
        completed: 'Completed',
        abandoned: 'Abandoned',
      },
    },
    supervisor: {
      title: 'Team',
      activity: { Available: 'Available', Away: 'Away', Break: 'Break', Offline: 'Offline', Unknown: 'Unknown' },
      onCall: 'On a call',
      minutes: (n) => `${n} min`,
      modes: { monitor: 'Monitor', coach: 'Whisper', barge: 'Barge in' },
      sent: (mode, name) => `${mode}: ${name}’s call — your phone rings now; answer it to join.`,
      notReady: 'That call is not connected yet; try again in a moment.',
      updated: (time) => `Updated ${time}`,
    },
    settings: {
      title: 'Settings',
      microphone: 'Microphone',
      speaker: 'Speaker (call audio)',
      ringtoneOutput: 'Ringtone output',
      ringtoneVolume: 'Ringtone volume',
      systemDefault: 'System default',
      sameAsSpeaker: 'Same as the speaker',
      testRingtone: 'Test ringtone',
      stopRingtone: 'Stop',
      noWebRtc:
        'This window’s web engine (WebKitGTK as built by Debian) has no WebRTC: it lists no audio devices and calls cannot carry audio here. The lists fill in once native call audio is available.',
      noDevices: 'No audio devices are visible to the app. Check that a microphone is connected and allowed.',
      noOutputSelection: 'This platform cannot send audio to a chosen output: the system default is used for calls and the ringtone.',
      startup: 'Start-up and keys',
      autostart: 'Start Tsunagi when I log in to this computer',
      shortcut: 'Ctrl+Alt+A answers a ringing call or hangs up the current one, from any window (X11 desktops).',
      shortcutActive: (trigger) => `${trigger} answers a ringing call or hangs up the current one, from any window.`,
      shortcutPending: 'Setting up the answer/hang-up key (Ctrl+Alt+A); the desktop may ask you to confirm it.',
      shortcutUnavailable: {
        noDisplay: 'No global answer/hang-up key: Tsunagi found neither an X11 nor a Wayland desktop session.',
        noSessionBus: 'No global answer/hang-up key: on Wayland the key is asked of the desktop portal, and there is no D-Bus session to reach it.',
        noPortal: 'No global answer/hang-up key: on Wayland the key is asked of the desktop portal (xdg-desktop-portal), which is not running.',
        portalWithoutShortcuts:
          'No global answer/hang-up key: this Wayland desktop’s portal offers no global shortcuts (GNOME offers them from version 48). Answer and hang up from the window or the notification.',
        refused: 'No global answer/hang-up key: the desktop declined it. It is asked for again the next time Tsunagi starts.',
        portalFailed: 'No global answer/hang-up key: the desktop portal failed.',
        grabFailed: 'No global answer/hang-up key: another program already uses Ctrl+Alt+A.',
      },
      shortcutCommand: 'Instead, a keyboard shortcut added in the desktop’s own settings can run this command, which answers or hangs up the same way:',
      updates: 'Updates',
      checkNow: 'Check now',
      install: 'Install and restart',
      whatsNew: 'What’s new',
      update: {
        idle: 'Not checked yet.',
        checking: 'Checking for updates…',
        upToDate: 'Tsunagi is up to date.',
        downloading: (v) => `Downloading version ${v}…`,
        ready: (v) => `Version ${v} is ready to install.`,
        installing: (v) => `Installing version ${v}; Tsunagi restarts when you are not on a call.`,
        waiting: (v) => `Version ${v} installs as soon as the call and wrap-up end; Tsunagi then restarts.`,
        failed: 'The last update check failed; it is tried again automatically.',
        mandatory: 'This update is required.',
      },
      updateErrors: {
        busy: 'Updates are not installed during a ring, a call or wrap-up: install it when the call is done.',
        signature: 'The downloaded update was not signed by Tsunagi’s release key and was discarded.',
        unreachable: 'The update server cannot be reached.',
      },
    },
    diagnostics: {
      title: 'Diagnostics',
      run: 'Run connection test',
      running: 'Testing…',
      services: { server: 'Server', taskRouter: 'TaskRouter', sync: 'Sync', voice: 'Voice' },
      reached: (ms, status) => `${ms} ms (HTTP ${status})`,
      failed: (error) => `Unreachable: ${error}`,
      notUsed: 'Not used by this version',
      phone: 'Phone',
      webRtc: 'Call audio (WebRTC)',
      webRtcYes: 'available',
      webRtcNo: 'not available in this web engine',
      token: 'Access token',
      account: 'Account',
      apiKey: 'API key',
      identity: 'Identity',
      expires: 'Expires',
      outgoing: 'Outgoing calls',
      notGranted: 'not granted',
      worker: 'TaskRouter worker',
      version: 'Version',
      noToken: 'No token yet (sign in first).',
      micTest: 'Test microphone (5 s)',
      micTesting: 'Speak now…',
      micPeak: (p) => `The microphone works: peak level ${p}%.`,
      micSilent: 'The microphone opened but picked up no sound. Check that it is not muted.',
      micFailed: {
        unsupported: 'This web engine cannot open a microphone.',
        NotAllowedError: 'Microphone access was refused. Allow it for Tsunagi.',
        NotFoundError: 'No microphone was found.',
        NotReadableError: 'The microphone is connected but could not be opened (in use elsewhere, or failing).',
        OverconstrainedError: 'No microphone is available to this window (none found, or the chosen one is gone).',
        other: 'The microphone could not be opened.',
      },
    },
    twilioErrors: {
      20101: 'The access token is invalid. Sign out and in again; if it persists, tell your administrator.',
      20103:
        'Account mismatch (20103): the access token was signed with an API key of another Twilio account than the one it names — for example a master-account key used for a subaccount, or a phone number bought in a different account. Calls then end at once with only a HANGUP. Ask your administrator to issue tokens with the API key of the account that owns the phone number.',
      20104: 'The access token expired. Tsunagi fetches a new one automatically; if this repeats, check the computer’s clock.',
      20106: 'The access token names a TaskRouter workspace or worker that does not exist in this account. Ask your administrator.',
      31005:
        'The call was hung up by Twilio’s gateway before it rang. This usually means the caller ID number and the access token belong to different Twilio accounts (master vs subaccount). Ask your administrator to check both.',
      31401: 'The microphone is not allowed (31401). Allow microphone access for Tsunagi and try again.',
      31402:
        'The microphone could not be opened (31402). This window has no usable audio input: Debian’s WebKitGTK has no WebRTC, so calls cannot carry audio here. Elsewhere, check that a microphone is connected and allowed.',
      31480: 'Nobody answered.',
      31486: 'The number is busy.',
    },
    twilioError: (code, message) => `Twilio error ${code}: ${message}`,
    errors: {
      forbidden: 'The server does not allow this for your account.',
      serverUnreachable: 'Cannot reach the server. Check the network, or ask your administrator.',
      server: 'The server could not do this right now. Try again.',
      notSignedIn: 'Sign in first.',
    },
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
    required: {
      title: 'アップデートが必要です',
      body: 'このバージョンの Tsunagi はサポートが終了しました。更新するまで着信を受けられません。',
      button: '更新して再起動',
    },
    dismiss: '閉じる',
    sessionEnded: {
      refreshInvalid: 'サインインの有効期限が切れました。電話を受け続けるには、もう一度サインインしてください。',
      refreshReused:
        '別の場所で使われたため、安全のためサインインを終了しました。もう一度サインインしてください。心当たりがない場合は管理者に連絡してください。',
    },
    keychain: {
      keychainUnavailable:
        'このパソコンではサインイン情報を保存できません（キーリングが動いていません）。再起動のたびにパスワードでサインインするか、IT 担当にキーリングの有効化を依頼してください。',
      keychainLocked: 'キーリングがロックされているため、サインイン情報を保存できませんでした。次回自動でサインインするには、キーリングのロックを解除してください（デスクトップのパスワード）。',
      keychainFailed: 'サインイン情報をキーリングに保存できませんでした。次回の起動時はパスワードが必要です。',
    },
    tabs: { phone: '電話', history: '履歴', supervisor: 'チーム', settings: '設定', diagnostics: '診断' },
    outgoingCall: '発信中',
    onHoldBadge: 'お客様は保留中',
    customerId: '顧客ID',
    owner: '担当',
    department: '部署',
    callTimer: '通話時間',
    micLevel: 'マイク',
    quality: {
      label: '通話品質',
      problem: {
        connection: '通話の接続が途切れています: 音声が届いていません',
        rtt: '回線の遅延で音声が遅れています (400 ms 超)',
        loss: '音声が途切れています: パケットが失われています',
        jitter: '音声が不安定です: 届き方にばらつきがあります (ジッター 30 ms 超)',
        mos: '通話品質が低下しています',
        mic: 'マイクが無音か、反応していないようです',
        speaker: '相手の音声が聞こえていないようです',
      },
      advice: {
        connection: 'LAN ケーブルや Wi-Fi を確認してください。通話が切れる可能性があります。',
        rtt: '有線 LAN を使い、大きなダウンロードや動画を止めてください。',
        loss: 'Wi-Fi ではなく有線 LAN を使い、重いアプリを閉じてください。',
        jitter: '有線 LAN を使い、重いアプリを閉じてください。',
        mos: '有線 LAN を使い、重いアプリを閉じてください。必要ならお客様に聞き直してください。',
        mic: 'ヘッドセットの接続とミュートを確認するか、設定で別のマイクを選んでください。',
        speaker: 'お客様に話しかけてみて、ヘッドセットと設定のスピーカーを確認してください。',
      },
    },
    keypad: 'キーパッド',
    transfer: '転送',
    transferTitle: '通話の転送',
    transferToAgent: '担当者',
    transferToNumber: '電話番号',
    transferModes: { cold: 'ブラインド転送（すぐに引き継ぐ）', warm: 'アテンド転送（先に相談する）' },
    transferSend: '転送する',
    transferNoAgents: 'このサーバーは転送先の担当者一覧を提供していません。電話番号を入力してください。',
    transferAgentBusy: '対応不可',
    transferSearch: '名前・部署で検索',
    transferLoading: '担当者を読み込み中…',
    transferNoMatch: '該当する担当者はいません。',
    warmInProgress: '相談中 — お客様は保留中です。',
    warmWhoHears: 'あなたと転送先が話しています。お客様には保留音が流れ、会話は聞こえません。',
    holdDuringConsult: '転送を完了するか取り消すまで、お客様は保留のままです。',
    warmComplete: '転送を完了',
    warmCancel: '転送を取り消す',
    warmDialing: '転送先を呼び出し中 — お客様は保留中です。',
    warmCompleteWait: '転送先が応答すると転送を完了できます。',
    coldDialing: '転送中 — 転送先を呼び出しています。相手が出るまでお客様との通話は続きます。',
    transferFailed: (mode, reason) =>
      `${{
        busy: '転送先が話し中でした',
        noAnswer: '転送先が応答しませんでした',
        unreachable: '転送先につながりませんでした',
        canceled: '転送は取り消されました',
        targetLeft: '転送先が通話を終了しました',
        other: '転送できませんでした',
      }[reason ?? 'other']}。` +
      (mode === 'warm'
        ? 'お客様の保留は解除され、あなたとの通話に戻っています。このまま対応するか、別の転送先をお試しください。'
        : 'お客様とはこのまま通話中です。対応を続けるか、別の転送先をお試しください。'),
    holdWaitsForAnswer: '相手が応答すると保留できます。',
    cancel: 'キャンセル',
    notes: 'メモ',
    notesHint: '「完了」を押すと通話記録に保存され、履歴に表示されます。',
    notesCount: (n, max) => `${n} / ${max} 文字`,
    notesTooLong: (max) => `メモは ${max} 文字までです。短くしてから、もう一度「完了」を押してください（入力した内容は残っています）。`,
    dialTitle: '電話をかける',
    numberLabel: '電話番号',
    call: '発信',
    recent: '最近の発信',
    invalidNumber: '03-1234-5678 や +81312345678 のように入力してください。',
    history: {
      title: '通話履歴',
      refresh: '更新',
      empty: 'まだ通話はありません。',
      loading: '読み込み中…',
      loadMore: 'さらに前の通話を表示',
      end: 'これ以上の通話はありません。',
      columns: { time: '日時', customer: '顧客', agent: '担当者', status: '状態', duration: '通話時間', notes: 'メモ' },
      status: {
        queued: '待機中',
        reserved: '呼出中',
        connected: '通話中',
        ended: '終了',
        completed: '完了',
        abandoned: '放棄',
      },
    },
    supervisor: {
      title: 'チーム',
      activity: { Available: '受付可', Away: '離席', Break: '休憩', Offline: 'オフライン', Unknown: '不明' },
      onCall: '通話中',
      minutes: (n) => `${n} 分`,
      modes: { monitor: 'モニター', coach: 'ウィスパー', barge: '割り込み' },
      sent: (mode, name) => `${mode}: ${name} さんの通話 — あなたの電話が鳴ります。応答すると参加します。`,
      notReady: 'この通話はまだつながっていません。少し待ってからもう一度お試しください。',
      updated: (time) => `${time} 更新`,
    },
    settings: {
      title: '設定',
      microphone: 'マイク',
      speaker: 'スピーカー（通話音声）',
      ringtoneOutput: '着信音の出力先',
      ringtoneVolume: '着信音の音量',
      systemDefault: 'システムの既定',
      sameAsSpeaker: 'スピーカーと同じ',
      testRingtone: '着信音をテスト',
      stopRingtone: '停止',
      noWebRtc:
        'このウィンドウの Web エンジン（Debian の WebKitGTK）には WebRTC がないため、オーディオ機器が一覧に表示されず、ここでは通話音声を扱えません。ネイティブの通話音声に対応すると表示されます。',
      noDevices: 'アプリからオーディオ機器が見えません。マイクの接続と許可を確認してください。',
      noOutputSelection: 'この環境では出力先を選べません。通話音声と着信音はシステムの既定の出力を使います。',
      startup: '起動とショートカット',
      autostart: 'パソコンへのログイン時に Tsunagi を起動する',
      shortcut: 'Ctrl+Alt+A で、どのウィンドウからでも着信に応答、または通話を切断できます（X11 のデスクトップ）。',
      shortcutActive: (trigger) => `${trigger} で、どのウィンドウからでも着信に応答、または通話を切断できます。`,
      shortcutPending: '応答／切断キー（Ctrl+Alt+A）を設定しています。デスクトップが確認を求めることがあります。',
      shortcutUnavailable: {
        noDisplay: '応答／切断のグローバルキーは使えません。X11 と Wayland のどちらのデスクトップセッションも見つかりませんでした。',
        noSessionBus: '応答／切断のグローバルキーは使えません。Wayland ではデスクトップポータルに依頼しますが、D-Bus セッションがありません。',
        noPortal: '応答／切断のグローバルキーは使えません。Wayland ではデスクトップポータル（xdg-desktop-portal）に依頼しますが、動いていません。',
        portalWithoutShortcuts:
          '応答／切断のグローバルキーは使えません。この Wayland デスクトップのポータルはグローバルショートカットに対応していません（GNOME はバージョン 48 から対応）。応答と切断はウィンドウか通知から行ってください。',
        refused: '応答／切断のグローバルキーは使えません。デスクトップに拒否されました。次回の起動時にもう一度依頼します。',
        portalFailed: '応答／切断のグローバルキーは使えません。デスクトップポータルでエラーが起きました。',
        grabFailed: '応答／切断のグローバルキーは使えません。Ctrl+Alt+A は別のプログラムが使用中です。',
      },
      shortcutCommand: '代わりに、デスクトップの設定でキーボードショートカットを追加して次のコマンドを実行させると、同じように応答・切断できます:',
      updates: 'アップデート',
      checkNow: '今すぐ確認',
      install: 'インストールして再起動',
      whatsNew: '更新内容',
      update: {
        idle: 'まだ確認していません。',
        checking: 'アップデートを確認中…',
        upToDate: 'Tsunagi は最新です。',
        downloading: (v) => `バージョン ${v} をダウンロード中…`,
        ready: (v) => `バージョン ${v} をインストールできます。`,
        installing: (v) => `バージョン ${v} をインストール中です。通話中でなくなると再起動します。`,
        waiting: (v) => `通話と後処理が終わりしだいバージョン ${v} をインストールし、再起動します。`,
        failed: '前回のアップデート確認に失敗しました。自動で再試行します。',
        mandatory: 'このアップデートは必須です。',
      },
      updateErrors: {
        busy: '着信中・通話中・後処理中はアップデートをインストールしません。通話が終わってからインストールしてください。',
        signature: 'ダウンロードしたアップデートは Tsunagi のリリース鍵で署名されていないため破棄しました。',
        unreachable: 'アップデートサーバーに接続できません。',
      },
    },
    diagnostics: {
      title: '診断',
      run: '接続テストを実行',
      running: 'テスト中…',
      services: { server: 'サーバー', taskRouter: 'TaskRouter', sync: 'Sync', voice: 'Voice' },
      reached: (ms, status) => `${ms} ms（HTTP ${status}）`,
      failed: (error) => `接続できません: ${error}`,
      notUsed: 'このバージョンでは使用しません',
      phone: '電話',
      webRtc: '通話音声（WebRTC）',
      webRtcYes: '利用可能',
      webRtcNo: 'この Web エンジンでは利用できません',
      token: 'アクセストークン',
      account: 'アカウント',
      apiKey: 'API キー',
      identity: 'ID',
      expires: '有効期限',
      outgoing: '発信',
      notGranted: '権限なし',
      worker: 'TaskRouter ワーカー',
      version: 'バージョン',
      noToken: 'トークンはまだありません（先にサインインしてください）。',
      micTest: 'マイクをテスト（5 秒）',
      micTesting: '話してください…',
      micPeak: (p) => `マイクは動作しています。最大レベル ${p}%。`,
      micSilent: 'マイクは開けましたが、音を拾いませんでした。ミュートになっていないか確認してください。',
      micFailed: {
        unsupported: 'この Web エンジンではマイクを開けません。',
        NotAllowedError: 'マイクの使用が拒否されました。Tsunagi に許可してください。',
        NotFoundError: 'マイクが見つかりません。',
        NotReadableError: 'マイクは接続されていますが、開けませんでした（他で使用中か、故障しています）。',
        OverconstrainedError: 'このウィンドウで使えるマイクがありません（見つからないか、選んだマイクが外されています）。',
        other: 'マイクを開けませんでした。',
      },
    },
    twilioErrors: {
      20101: 'アクセストークンが無効です。サインインし直してください。解決しない場合は管理者に連絡してください。',
      20103:
        'アカウント不一致（20103）: アクセストークンが、トークンに書かれたアカウントとは別の Twilio アカウントの API キーで署名されています（例: サブアカウント用にマスターアカウントのキーを使った、別アカウントで購入した電話番号を使っている）。この状態では発信しても HANGUP だけで即座に切れます。電話番号を所有するアカウントの API キーでトークンを発行するよう管理者に依頼してください。',
      20104: 'アクセストークンの有効期限が切れました。自動で取り直します。繰り返す場合はパソコンの時計を確認してください。',
      20106: 'アクセストークンの TaskRouter ワークスペースまたはワーカーがこのアカウントに存在しません。管理者に連絡してください。',
      31005:
        '呼び出す前に Twilio のゲートウェイが通話を切断しました。発信者番号とアクセストークンが別の Twilio アカウント（マスターとサブアカウント）に属していることが多い原因です。管理者に両方の確認を依頼してください。',
      31401: 'マイクの使用が許可されていません（31401）。Tsunagi にマイクの使用を許可してから、もう一度お試しください。',
      31402:
        'マイクを開けませんでした（31402）。このウィンドウでは使える音声入力がありません。Debian の WebKitGTK には WebRTC がないため、ここでは通話音声を扱えません。それ以外の環境では、マイクの接続と許可を確認してください。',
      31480: '相手が応答しませんでした。',
      31486: '相手は話し中です。',
    },
    twilioError: (code, message) => `Twilio エラー ${code}: ${message}`,
    errors: {
      forbidden: 'このアカウントではこの操作は許可されていません。',
      serverUnreachable: 'サーバーに接続できません。ネットワークを確認するか、管理者に連絡してください。',
      server: 'サーバーが現在この操作を実行できません。もう一度お試しください。',
      notSignedIn: '先にサインインしてください。',
    },
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
