//! The remembered sign-in: the companion server's session token kept in the OS keychain (`keyring`: Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows), one entry per server.
//!
//! Contract: a sign-in saves the token; the next start resumes with it (the server confirms it with
//! `GET /v1/me`, and a refused token is forgotten); signing out forgets it, quitting does not. The keychain
//! is a convenience: when it is missing or locked, the agent simply signs in with the password each time and
//! the reason is logged and sent to the window on [`KEYCHAIN_EVENT_NAME`]. The token is never logged.
//!
//! The server has no refresh token: its session token (TTL `server.session_ttl_secs`) is what is stored.

use serde::{Serialize, Serializer};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tsunagi_twilio::Pii;

use crate::agent::{self, AgentHost};
use crate::error::AppError;

/// The Tauri event telling the window the sign-in cannot be remembered (`{ kind, message }`).
pub const KEYCHAIN_EVENT_NAME: &str = "tsunagi:keychain";

/// The keychain service name: the app identifier.
const SERVICE: &str = "jp.tsunagi.desktop";

/// Why the sign-in cannot be remembered or recalled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// No keychain service to talk to (on Linux: no Secret Service on the session bus).
    #[error(
        "no keychain is available, so Tsunagi cannot remember your sign-in (on Linux a Secret Service such as \
         GNOME Keyring or KWallet must be running and unlocked): {0}"
    )]
    Unavailable(String),
    /// The keychain is there but locked, or refused access.
    #[error("the keychain is locked or refused access; unlock it to stay signed in: {0}")]
    Locked(String),
    /// Anything else the keychain reported.
    #[error("the keychain failed: {0}")]
    Failed(String),
}

impl KeychainError {
    /// A stable machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            KeychainError::Unavailable(_) => "keychainUnavailable",
            KeychainError::Locked(_) => "keychainLocked",
            KeychainError::Failed(_) => "keychainFailed",
        }
    }
}

impl From<keyring::Error> for KeychainError {
    fn from(e: keyring::Error) -> Self {
        match e {
            keyring::Error::NoDefaultStore | keyring::Error::PlatformFailure(_) => {
                KeychainError::Unavailable(e.to_string())
            }
            keyring::Error::NoStorageAccess(_) => KeychainError::Locked(e.to_string()),
            other => KeychainError::Failed(other.to_string()),
        }
    }
}

impl Serialize for KeychainError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("KeychainError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

fn entry(server: &str) -> Result<keyring::Entry, KeychainError> {
    Ok(keyring::Entry::new(SERVICE, &format!("session@{server}"))?)
}

/// Saves the session token for `server` (blocking: D-Bus on Linux).
pub fn save(server: &str, token: &Pii<String>) -> Result<(), KeychainError> {
    Ok(entry(server)?.set_password(token.expose())?)
}

/// The session token saved for `server`, if any (blocking).
pub fn load(server: &str) -> Result<Option<Pii<String>>, KeychainError> {
    match entry(server)?.get_password() {
        Ok(token) => Ok(Some(Pii(token))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Forgets the session token saved for `server`; nothing saved is fine (blocking).
pub fn delete(server: &str) -> Result<(), KeychainError> {
    match entry(server)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn report<R: Runtime>(app: &AppHandle<R>, what: &str, error: &KeychainError) {
    tracing::warn!(kind = error.kind(), %error, "{what}");
    if let Err(e) = app.emit(KEYCHAIN_EVENT_NAME, error) {
        tracing::warn!(error = %e, "could not tell the window about the keychain");
    }
}

fn server_url<R: Runtime>(app: &AppHandle<R>) -> String {
    app.state::<AgentHost>().snapshot().server_url
}

/// After a sign-in: remembers the session in the background.
pub fn remember<R: Runtime>(app: &AppHandle<R>, token: &Pii<String>) {
    let (app, token, server) = (app.clone(), token.clone(), server_url(app));
    tauri::async_runtime::spawn_blocking(move || match save(&server, &token) {
        Ok(()) => tracing::info!("sign-in remembered in the keychain"),
        Err(error) => report(&app, "the sign-in could not be remembered", &error),
    });
}

/// After an explicit sign-out: forgets the session in the background.
pub fn forget<R: Runtime>(app: &AppHandle<R>) {
    let (app, server) = (app.clone(), server_url(app));
    tauri::async_runtime::spawn_blocking(move || match delete(&server) {
        Ok(()) => tracing::info!("remembered sign-in forgotten"),
        Err(error) => report(&app, "the remembered sign-in could not be deleted", &error),
    });
}

/// At start: resumes the remembered session, if any. A token the server refuses is forgotten; an unreachable
/// server leaves it for the next start. The window learns of the session on [`SIGNED_IN_EVENT_NAME`].
pub fn resume_at_start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let server = server_url(&app);
        let loaded = tauri::async_runtime::spawn_blocking(move || load(&server)).await;
        let token = match loaded {
            Ok(Ok(Some(token))) => token,
            Ok(Ok(None)) => return,
            Ok(Err(error)) => {
                return report(&app, "the remembered sign-in could not be read", &error)
            }
            Err(error) => return tracing::warn!(%error, "the keychain task failed"),
        };
        match agent::resume(&app, token).await {
            Ok(profile) => {
                tracing::info!(agent = %profile.id, "remembered sign-in resumed");
                if let Err(error) = app.emit(SIGNED_IN_EVENT_NAME, &profile) {
                    tracing::warn!(%error, "could not tell the window about the resumed session");
                }
            }
            Err(AppError::BadCredentials) => {
                tracing::info!("the remembered sign-in has expired; forgetting it");
                forget(&app);
            }
            Err(error) => tracing::warn!(%error, "the remembered sign-in could not be resumed"),
        }
    });
}

/// The Tauri event telling the window a remembered session was resumed at start (the agent's profile).
pub const SIGNED_IN_EVENT_NAME: &str = "tsunagi:signed-in";

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs against whatever keychain this process has. Without a Secret Service (plain `cargo test`) it
    /// proves the message says so; inside `dbus-run-session` with an unlocked gnome-keyring
    /// (tests/keychain/run.sh) it proves save → load → delete on the real Secret Service.
    #[test]
    fn saves_loads_and_forgets_or_says_why_it_cannot() {
        let server = format!("http://127.0.0.1:1/test-{}", uuid::Uuid::new_v4());
        let token = Pii("s3cr3t-session-token".to_owned());
        match save(&server, &token) {
            Ok(()) => {
                assert_eq!(
                    load(&server).unwrap().map(|t| t.expose().clone()),
                    Some(token.expose().clone())
                );
                let other = format!("{server}-other");
                assert!(load(&other).unwrap().is_none(), "entries are per server");
                delete(&server).unwrap();
                assert!(load(&server).unwrap().is_none(), "forgotten");
                delete(&server).expect("forgetting twice is fine");
                if std::env::var_os("TSUNAGI_EXPECT_KEYCHAIN").is_some() {
                    eprintln!("keychain: save/load/delete passed on the real Secret Service");
                }
            }
            Err(error) => {
                assert!(
                    std::env::var_os("TSUNAGI_EXPECT_KEYCHAIN").is_none(),
                    "a keychain was expected: {error}"
                );
                assert!(
                    matches!(
                        error,
                        KeychainError::Unavailable(_) | KeychainError::Locked(_)
                    ),
                    "{error:?}"
                );
                let json = serde_json::to_value(&error).unwrap();
                assert!(
                    json["message"].as_str().unwrap().contains("Secret Service")
                        || error.kind() == "keychainLocked"
                );
            }
        }
    }

    #[test]
    fn errors_map_to_kinds() {
        assert_eq!(
            KeychainError::from(keyring::Error::NoDefaultStore).kind(),
            "keychainUnavailable"
        );
        assert_eq!(
            KeychainError::from(keyring::Error::Invalid("user".into(), "too long".into())).kind(),
            "keychainFailed"
        );
    }
}
