//! The error every command returns: serialized as `{ kind, message }` so the UI can branch on `kind` (and show
//! its own Japanese or English text for it); `message` is the English detail for logs and bug reports.

use serde::{Serialize, Serializer};

/// What went wrong in the shell, in words an agent or an operator can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The tray icon or its menu could not be updated.
    #[error("the tray icon could not be updated: {0}")]
    Tray(#[source] tauri::Error),
    /// The UI could not be told about a change.
    #[error("the window could not be notified: {0}")]
    Emit(#[source] tauri::Error),
    /// A command that needs a signed-in agent came before sign-in.
    #[error("sign in first")]
    NotSignedIn,
    /// Sign-in while already signed in.
    #[error("already signed in; sign out first")]
    AlreadySignedIn,
    /// The server refused the login and password.
    #[error("wrong login or password")]
    BadCredentials,
    /// The server could not be reached.
    #[error("cannot reach the server at {0} ({1}); check the network or ask your administrator")]
    ServerUnreachable(String, String),
    /// The server answered with an unexpected status.
    #[error("the server answered HTTP {0}; try again, and tell your administrator if it persists")]
    Server(u16),
    /// The server refused this agent the action (e.g. a supervisor endpoint for an agent).
    #[error("the server does not allow this for your account")]
    Forbidden,
    /// This version is below the server's minimum.
    #[error("this version of Tsunagi is no longer supported; update it to continue")]
    UpdateRequired,
    /// The agent core stopped unexpectedly.
    #[error("the agent session stopped; sign in again")]
    CoreStopped,
    /// The sign-in expired or was revoked (`REFRESH_INVALID`, or a remembered session the server refuses).
    #[error("your sign-in has expired; sign in again")]
    RefreshInvalid,
    /// The refresh token was used twice, so the server ended the sign-in everywhere (`REFRESH_REUSED`).
    #[error(
        "your sign-in was used from another place, so it was ended for your safety; sign in again, and tell \
         your administrator if you did not expect this"
    )]
    RefreshReused,
    /// The server refused the wrap-up notes as too long (`NOTES_TOO_LONG`); the notes stay in the window.
    #[error("the notes are too long: at most {0} characters")]
    NotesTooLong(usize),
}

impl AppError {
    /// The shell's error for a sign-in or session outcome of the core's `ServerSession` (`base` names the server).
    pub fn from_auth(failure: tsunagi_core::driver::AuthFailure, base: &str) -> Self {
        use tsunagi_core::driver::AuthFailure as F;
        match failure {
            F::BadCredentials => AppError::BadCredentials,
            F::RefreshReused => AppError::RefreshReused,
            F::UpgradeRequired => AppError::UpdateRequired,
            F::Unreachable(detail) => AppError::ServerUnreachable(base.to_owned(), detail),
            F::Server(status) => AppError::Server(status),
            // RefreshInvalid, SessionExpired and anything added later: sign in again.
            _ => AppError::RefreshInvalid,
        }
    }
}

impl AppError {
    /// A stable machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Tray(_) => "tray",
            AppError::Emit(_) => "emit",
            AppError::NotSignedIn => "notSignedIn",
            AppError::AlreadySignedIn => "alreadySignedIn",
            AppError::BadCredentials => "badCredentials",
            AppError::ServerUnreachable(..) => "serverUnreachable",
            AppError::Server(_) => "server",
            AppError::Forbidden => "forbidden",
            AppError::UpdateRequired => "updateRequired",
            AppError::CoreStopped => "coreStopped",
            AppError::RefreshInvalid => "refreshInvalid",
            AppError::RefreshReused => "refreshReused",
            AppError::NotesTooLong(_) => "notesTooLong",
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_kind_and_message() {
        let json = serde_json::to_value(AppError::ServerUnreachable(
            "http://x".into(),
            "refused".into(),
        ))
        .unwrap();
        assert_eq!(json["kind"], "serverUnreachable");
        assert_eq!(
            json["message"],
            "cannot reach the server at http://x (refused); check the network or ask your administrator"
        );
    }
}
