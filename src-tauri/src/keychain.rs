//! The remembered sign-in: the companion server's **refresh token** (s14 contract §1) kept in the OS keychain
//! (`keyring`: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows), one entry per server
//! (`refresh@{server}`). The session token never reaches the keychain.
//!
//! Contract: a sign-in saves the refresh token, and every renewal saves the rotated one (the old one is spent);
//! the next start exchanges it at `POST /v1/session/refresh` and resumes; a refused one is forgotten and the
//! window says why. Signing out forgets it (after `POST /v1/logout`), quitting does not. A session token left by
//! an older version (`session@{server}`) is used until the server refuses it, then the agent signs in again and
//! the old entry is deleted. The keychain is a convenience: when it is missing or locked, the agent simply
//! signs in with the password each time and the reason is logged and sent to the window on
//! [`KEYCHAIN_EVENT_NAME`]. Tokens are never logged.

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

/// The refresh token's entry (the one this version writes).
fn entry(server: &str) -> Result<keyring::Entry, KeychainError> {
    Ok(keyring::Entry::new(SERVICE, &format!("refresh@{server}"))?)
}

/// The session token's entry written by older versions (read once, then deleted).
fn legacy_entry(server: &str) -> Result<keyring::Entry, KeychainError> {
    Ok(keyring::Entry::new(SERVICE, &format!("session@{server}"))?)
}

/// What a start finds in the keychain.
#[derive(Debug, PartialEq, Eq)]
pub enum Remembered {
    /// A refresh token (this version).
    Refresh(Pii<String>),
    /// A session token remembered by an older version: used until the server refuses it.
    Session(Pii<String>),
}

/// Saves the refresh token for `server` and drops an older version's session token (blocking: D-Bus on Linux).
pub fn save(server: &str, refresh: &Pii<String>) -> Result<(), KeychainError> {
    entry(server)?.set_password(refresh.expose())?;
    delete_entry(&legacy_entry(server)?)
}

fn read(entry: &keyring::Entry) -> Result<Option<Pii<String>>, KeychainError> {
    match entry.get_password() {
        Ok(token) => Ok(Some(Pii(token))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The sign-in remembered for `server`, if any: the refresh token, else an older version's session token
/// (blocking).
pub fn load(server: &str) -> Result<Option<Remembered>, KeychainError> {
    if let Some(token) = read(&entry(server)?)? {
        return Ok(Some(Remembered::Refresh(token)));
    }
    Ok(read(&legacy_entry(server)?)?.map(Remembered::Session))
}

fn delete_entry(entry: &keyring::Entry) -> Result<(), KeychainError> {
    match entry.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Forgets whatever is remembered for `server`; nothing saved is fine (blocking).
pub fn delete(server: &str) -> Result<(), KeychainError> {
    delete_entry(&entry(server)?)?;
    delete_entry(&legacy_entry(server)?)
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

/// After a sign-in or a renewal: remembers the (new) refresh token, off the async threads. The caller awaits each
/// save before the next (the session's rotations arrive in order), so the last rotation is the one kept.
pub async fn remember<R: Runtime>(app: &AppHandle<R>, refresh: &Pii<String>) {
    let (app, token, server) = (app.clone(), refresh.clone(), server_url(app));
    let saved = tauri::async_runtime::spawn_blocking(move || {
        let _one_at_a_time = lock_writes();
        match save(&server, &token) {
            Ok(()) => tracing::info!("sign-in remembered in the keychain (refresh token)"),
            Err(error) => report(&app, "the sign-in could not be remembered", &error),
        }
    });
    if let Err(error) = saved.await {
        tracing::warn!(%error, "the keychain task failed");
    }
}

/// Serializes keychain writes (a rotation saved while the previous save still runs must not be overtaken).
fn lock_writes() -> std::sync::MutexGuard<'static, ()> {
    static WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // Plain unit data: a poisoned lock is still a lock.
    WRITES.lock().unwrap_or_else(|p| p.into_inner())
}

/// After an explicit sign-out: forgets the session in the background.
pub fn forget<R: Runtime>(app: &AppHandle<R>) {
    let (app, server) = (app.clone(), server_url(app));
    tauri::async_runtime::spawn_blocking(move || {
        let _one_at_a_time = lock_writes();
        match delete(&server) {
            Ok(()) => tracing::info!("remembered sign-in forgotten"),
            Err(error) => report(&app, "the remembered sign-in could not be deleted", &error),
        }
    });
}

/// At start: resumes the remembered sign-in, if any. A token the server refuses is forgotten and the window is
/// told why on [`agent::SESSION_ENDED_EVENT_NAME`]; an unreachable server leaves it for the next start. The
/// window learns of the session on [`SIGNED_IN_EVENT_NAME`].
pub fn resume_at_start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let server = server_url(&app);
        let loaded = tauri::async_runtime::spawn_blocking(move || load(&server)).await;
        let remembered = match loaded {
            Ok(Ok(Some(remembered))) => remembered,
            Ok(Ok(None)) => return,
            Ok(Err(error)) => {
                return report(&app, "the remembered sign-in could not be read", &error)
            }
            Err(error) => return tracing::warn!(%error, "the keychain task failed"),
        };
        match agent::resume(&app, remembered).await {
            Ok(profile) => {
                tracing::info!(agent = %profile.id, "remembered sign-in resumed");
                if let Err(error) = app.emit(SIGNED_IN_EVENT_NAME, &profile) {
                    tracing::warn!(%error, "could not tell the window about the resumed session");
                }
            }
            Err(error @ (AppError::RefreshInvalid | AppError::RefreshReused)) => {
                tracing::info!(
                    kind = error.kind(),
                    "the remembered sign-in was refused; forgetting it"
                );
                forget(&app);
                if let Err(e) = app.emit(agent::SESSION_ENDED_EVENT_NAME, &error) {
                    tracing::warn!(error = %e, "could not tell the window the sign-in ended");
                }
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
        let token = Pii("s3cr3t-refresh-token".to_owned());
        match save(&server, &token) {
            Ok(()) => {
                assert_eq!(
                    load(&server).unwrap(),
                    Some(Remembered::Refresh(token.clone()))
                );
                // An older version's session token is read only while no refresh token is saved, and a save
                // replaces it.
                delete(&server).unwrap();
                legacy_entry(&server)
                    .unwrap()
                    .set_password("old-session-token")
                    .unwrap();
                assert_eq!(
                    load(&server).unwrap(),
                    Some(Remembered::Session(Pii("old-session-token".to_owned())))
                );
                save(&server, &token).unwrap();
                assert_eq!(read(&legacy_entry(&server).unwrap()).unwrap(), None);
                assert_eq!(
                    load(&server).unwrap(),
                    Some(Remembered::Refresh(token.clone()))
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
