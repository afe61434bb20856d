//! `tsunagi://dial/+81…` links (a CRM's click-to-call): the number becomes the core's `Dial` command.
//!
//! Linux and Windows start a new process with the link as its only argument: the first launch reads it with
//! `get_current`, and a link opened while the app runs reaches it through single-instance (its `deep-link`
//! feature) as an `on_open_url` event. Packages register the scheme in their `.desktop` file
//! (`MimeType=x-scheme-handler/tsunagi`); an unpackaged binary registers itself at start. The core decides
//! whether the call may start (signed in, no ring, call or wrap-up); numbers are never logged.
//!
//! A link that arrives before sign-in is kept ([`PendingDial`]: one number, the latest link wins, for
//! [`PENDING_FOR`]) and handed to the dialer after sign-in (`take_pending_dial`), where the agent sees it and
//! places the call with a click: nothing is dialled that the agent did not confirm after signing in.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_deep_link::DeepLinkExt;
use tsunagi_core::{Caller, Command};
use tsunagi_twilio::Pii;
use url::Url;

use crate::agent::AgentHost;

/// The URL scheme, as configured in `tauri.conf.json` (`plugins.deep-link.desktop.schemes`).
pub const SCHEME: &str = "tsunagi";

/// How long a link that arrived before sign-in waits for the agent.
pub const PENDING_FOR: Duration = Duration::from_secs(10 * 60);

/// The number of a link that arrived before sign-in, waiting for the dialer.
#[derive(Default)]
pub struct PendingDial(Mutex<Option<(String, Instant)>>);

impl PendingDial {
    /// Keeps `number` (replacing an older one) as of `now`.
    pub fn keep(&self, number: String, now: Instant) {
        *self.slot() = Some((number, now));
    }

    /// The kept number if it is younger than [`PENDING_FOR`] at `now`; it is handed out once.
    pub fn take(&self, now: Instant) -> Option<String> {
        self.slot()
            .take()
            .filter(|(_, at)| now.saturating_duration_since(*at) < PENDING_FOR)
            .map(|(number, _)| number)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(String, Instant)>> {
        // Plain data: usable after a panic elsewhere.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The number of a `tsunagi://dial/` link that arrived before sign-in (at most 10 minutes ago), once; the dialer
/// asks after sign-in and shows it for the agent to call.
#[tauri::command]
pub(crate) fn take_pending_dial(pending: State<'_, PendingDial>) -> Option<String> {
    pending.take(Instant::now())
}

/// Why a link was not dialled.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a `tsunagi://dial/…` link.
    #[error("not a tsunagi://dial/ link")]
    NotDial,
    /// The number is not E.164 (`+` then 2 to 15 digits; spaces, dots, dashes and brackets are ignored).
    #[error("the link's number is not an international number (+ and 2 to 15 digits)")]
    BadNumber,
}

/// The E.164 number a `tsunagi://dial/<number>` link asks to call.
pub fn dial_number(url: &Url) -> Result<String, LinkError> {
    if url.scheme() != SCHEME || url.host_str() != Some("dial") {
        return Err(LinkError::NotDial);
    }
    let raw = percent_encoding::percent_decode_str(url.path().trim_matches('/'))
        .decode_utf8()
        .map_err(|_| LinkError::BadNumber)?;
    let number: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = number.strip_prefix('+').ok_or(LinkError::BadNumber)?;
    if (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(number)
    } else {
        Err(LinkError::BadNumber)
    }
}

/// At start: registers the scheme for an unpackaged binary, dials a link this launch carries, and listens for
/// links opened later.
pub fn at_start<R: Runtime>(app: &AppHandle<R>) {
    let links = app.deep_link();
    if tauri::utils::platform::bundle_type().is_none() {
        // A .deb/.rpm registers the scheme in its .desktop file; a bare binary (dev, tests) does it here.
        if let Err(error) = links.register_all() {
            tracing::warn!(%error, "could not register the tsunagi:// scheme");
        }
    }
    if let Ok(Some(urls)) = links.get_current() {
        open(app, urls);
    }
    let handle = app.clone();
    links.on_open_url(move |event| open(&handle, event.urls()));
}

fn open<R: Runtime>(app: &AppHandle<R>, urls: Vec<Url>) {
    for url in urls {
        let number = match dial_number(&url) {
            Ok(number) => number,
            Err(error) => {
                tracing::warn!(%error, "deep link ignored");
                continue;
            }
        };
        crate::window::show_main(app);
        if !app.state::<AgentHost>().signed_in() {
            app.state::<PendingDial>().keep(number, Instant::now());
            tracing::info!("deep link: kept for the dialer until sign-in");
            continue;
        }
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let command = Command::Dial {
                to: Caller(Pii(number)),
            };
            match app.state::<AgentHost>().command(command).await {
                Ok(()) => tracing::info!("deep link: dial handed to the core"),
                Err(error) => tracing::warn!(kind = error.kind(), %error, "deep link: not dialled"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_dial_is_handed_out_once_and_expires_after_ten_minutes() {
        let pending = PendingDial::default();
        let t0 = Instant::now();
        assert_eq!(pending.take(t0), None);
        pending.keep("+81312345678".into(), t0);
        pending.keep("+81312345679".into(), t0);
        assert_eq!(
            pending.take(t0 + Duration::from_secs(599)).as_deref(),
            Some("+81312345679"),
            "the latest link wins"
        );
        assert_eq!(pending.take(t0), None, "handed out once");
        pending.keep("+81312345678".into(), t0);
        assert_eq!(pending.take(t0 + PENDING_FOR), None, "expired");
        assert_eq!(pending.take(t0), None, "an expired number is dropped too");
    }

    fn dial(link: &str) -> Result<String, LinkError> {
        dial_number(&Url::parse(link).expect("a URL"))
    }

    #[test]
    fn dial_links_give_e164_numbers() {
        assert_eq!(
            dial("tsunagi://dial/+81312345678").as_deref(),
            Ok("+81312345678")
        );
        assert_eq!(
            dial("tsunagi://dial/%2B81312345678").as_deref(),
            Ok("+81312345678")
        );
        assert_eq!(
            dial("tsunagi://dial/+81%203-1234-5678").as_deref(),
            Ok("+81312345678")
        );
        assert_eq!(
            dial("tsunagi://dial/+81(3)1234.5678/").as_deref(),
            Ok("+81312345678")
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(
            dial("tsunagi://dial/0312345678"),
            Err(LinkError::BadNumber),
            "no +"
        );
        assert_eq!(
            dial("tsunagi://dial/+8"),
            Err(LinkError::BadNumber),
            "too short"
        );
        assert_eq!(
            dial("tsunagi://dial/+1234567890123456"),
            Err(LinkError::BadNumber),
            "too long"
        );
        assert_eq!(dial("tsunagi://dial/+81abc"), Err(LinkError::BadNumber));
        assert_eq!(
            dial("tsunagi://dial/%FF"),
            Err(LinkError::BadNumber),
            "not UTF-8"
        );
        assert_eq!(dial("tsunagi://call/+81312345678"), Err(LinkError::NotDial));
        assert_eq!(dial("https://dial/+81312345678"), Err(LinkError::NotDial));
    }
}
