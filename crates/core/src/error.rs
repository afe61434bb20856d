//! Errors: [`CoreError`] for callers of this library (bad input at the edge), and [`UserError`], the
//! user-facing message (ja and en) the machines put in [`crate::Event::Error`].
//!
//! A [`UserError`] carries a stable [`ErrorKind`] the UI can branch on; its texts are fixed per kind, so no
//! `Debug` string, SID list or phone number ever reaches the screen.

use serde::{Deserialize, Serialize};

use crate::api::Target;

/// Bad input handed to this library by a shell or driver. The one error type of the crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A call's custom parameter holds a malformed SID.
    #[error("call parameter `{name}` is not a valid SID: {source}")]
    InvalidParameter {
        /// The parameter name, e.g. `TaskSid`.
        name: &'static str,
        /// Why the SID was refused.
        #[source]
        source: tsunagi_twilio::SidError,
    },
}

/// What went wrong, for the UI to branch on. Wire names are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ErrorKind {
    /// TaskRouter answered 403 "Policies defined such that we cannot access the given resource": the access
    /// token's TaskRouter policies do not allow this worker to update its reservations.
    TokenPolicy,
    /// The call was taken away (canceled, timed out, rescinded, or the caller hung up) while answering.
    CallNoLongerAvailable,
    /// Accepting the reservation failed for another reason (network, server).
    AnswerFailed,
    /// Answer was pressed but the other half (call or reservation) never arrived.
    AnswerTimedOut,
    /// The Device could not take the call (microphone, media).
    CallAcceptFailed,
    /// The command names a call or ring that does not exist (any more).
    NoSuchCall,
    /// Hold and transfer need a routed call; direct calls have no conference.
    NotARoutedCall,
    /// `SendDigits` got characters other than `0-9 * # w`, or too many.
    InvalidDigits,
    /// Completing the task failed; it is retried.
    CompleteFailed,
    /// Changing the activity failed.
    PresenceFailed,
    /// Hold, unhold or transfer failed.
    CallControlFailed,
    /// Sign-out is refused during a call or wrap-up.
    CallInProgress,
    /// The command needs a signed-in session.
    NotLoggedIn,
    /// No access token could be fetched; it is retried.
    TokenFetchFailed,
    /// This version is no longer supported; new calls are refused until the update.
    UpdateRequired,
    /// The number to dial is not in E.164 form (`+` and 2 to 15 digits).
    InvalidNumber,
    /// Dialling is refused while another call, a ring or a wrap-up is in progress.
    DialRefused,
    /// The outgoing call could not be placed or ended before it connected.
    DialFailed,
    /// Hold (or another call action) on an outgoing call before the customer answered.
    CustomerNotAnswered,
    /// Hold (or another call action) on a routed call whose conference the server does not have yet.
    CallNotReady,
    /// The server could not be told to end the call: the customer's side may still be connected.
    HangupFailed,
}

impl ErrorKind {
    /// The fixed texts for this kind: `(ja, en)`.
    pub fn messages(self) -> (&'static str, &'static str) {
        match self {
            Self::TokenPolicy => (
                "着信を受けられませんでした。アクセストークンの TaskRouter ポリシーで予約の更新が許可されていません（403 Policies defined such that we cannot access the given resource）。管理者にトークンの権限設定を確認するよう依頼してください。着信は他の担当者に回ります。",
                "Could not take the call: the access token's TaskRouter policies do not allow updating reservations (403 \"Policies defined such that we cannot access the given resource\"). Ask your administrator to fix the token policy. The call goes to another agent.",
            ),
            Self::CallNoLongerAvailable => (
                "この着信は応答できなくなりました（発信者が切断したか、他の担当者に割り当てられました）。",
                "This call is no longer available (the caller hung up or it went to another agent).",
            ),
            Self::AnswerFailed => (
                "応答に失敗しました（ネットワークまたはサーバーのエラー）。着信は他の担当者に回ります。",
                "Answering failed (network or server error). The call goes to another agent.",
            ),
            Self::AnswerTimedOut => (
                "応答処理が時間内に完了しませんでした。着信は他の担当者に回ります。",
                "Answering did not complete in time. The call goes to another agent.",
            ),
            Self::CallAcceptFailed => (
                "通話をつなげませんでした。マイクとオーディオ設定を確認してください。",
                "The call could not be connected. Check your microphone and audio settings.",
            ),
            Self::NoSuchCall => (
                "対象の通話が見つかりません。すでに終了している可能性があります。",
                "That call was not found; it may have ended already.",
            ),
            Self::NotARoutedCall => (
                "この操作は直通の通話・発信した通話では使えません。",
                "This action is not available on a direct or outgoing call.",
            ),
            Self::InvalidDigits => (
                "送信できるのは 0-9、*、#、w（64 文字まで）です。",
                "Only 0-9, *, # and w can be sent (at most 64).",
            ),
            Self::CompleteFailed => (
                "後処理を完了できませんでした。自動で再試行します。",
                "Could not finish wrap-up; retrying automatically.",
            ),
            Self::PresenceFailed => (
                "ステータスを変更できませんでした。",
                "Could not change your status.",
            ),
            Self::CallControlFailed => (
                "通話の操作（保留・転送）に失敗しました。",
                "The call action (hold or transfer) failed.",
            ),
            Self::CallInProgress => (
                "通話中または後処理中はログアウトできません。",
                "You cannot sign out during a call or wrap-up.",
            ),
            Self::NotLoggedIn => ("ログインしていません。", "You are not signed in."),
            Self::TokenFetchFailed => (
                "サーバーから認証情報を取得できません。自動で再試行します。",
                "Could not get credentials from the server; retrying automatically.",
            ),
            Self::UpdateRequired => (
                "このバージョンはサポートが終了しました。新しい着信は受けられません。アップデートしてください。",
                "This version is no longer supported and takes no new calls. Please update.",
            ),
            Self::InvalidNumber => (
                "電話番号は国番号付きの形式（例: +81312345678）で入力してください。",
                "Enter the number in international form, e.g. +81312345678.",
            ),
            Self::DialRefused => (
                "通話中・着信中・後処理中は発信できません。",
                "You cannot place a call during another call, a ring or wrap-up.",
            ),
            Self::DialFailed => (
                "発信できませんでした。番号とネットワークを確認して、もう一度お試しください。",
                "The call could not be placed. Check the number and your network, then try again.",
            ),
            Self::CustomerNotAnswered => (
                "相手がまだ応答していません。保留は相手が応答してから使えます。",
                "The customer has not answered yet: you can put them on hold once they answer.",
            ),
            Self::CallNotReady => (
                "通話の接続処理中のため保留できませんでした。数秒後にもう一度お試しください。",
                "The call is still being connected, so it could not be put on hold. Try again in a few seconds.",
            ),
            Self::HangupFailed => (
                "通話の終了をサーバーに伝えられませんでした（ネットワークまたはサーバーのエラー）。お客様側の回線が残っている可能性があります。通話履歴を確認し、残っている場合は管理者に連絡してください。",
                "Could not tell the server to end the call (network or server error): the customer's side may still be connected. Check the call history and tell your administrator if it is.",
            ),
        }
    }
}

/// A user-facing error: a stable kind, the same message in Japanese and English, and what it is about.
///
/// JSON (inside an event): `{"type":"error","kind":"tokenPolicy","messageJa":"…","messageEn":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The message in Japanese.
    pub message_ja: String,
    /// The message in English.
    pub message_en: String,
    /// The call or ring concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

impl UserError {
    /// The error of `kind`, about `target`.
    pub fn new(kind: ErrorKind, target: Option<Target>) -> Self {
        let (ja, en) = kind.messages();
        Self {
            kind,
            message_ja: ja.to_owned(),
            message_en: en.to_owned(),
            target,
        }
    }
}
