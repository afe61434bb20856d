//! The server side of an update check: the client policy (`GET /v1/client/policy`: channel, floor, blocked
//! versions and the channel's update endpoint, backend-spec §8.3) and this install's random id, sent as
//! `X-Install-Id` so staged rollouts bucket the install rather than the agent.

use std::path::Path;

use serde::Deserialize;
use tsunagi_twilio::Pii;

use super::UpdateError;
use crate::server::client_version;

/// What the server says about updates for this client.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ClientPolicy {
    /// `stable` unless the agent is on another channel (needs the session token).
    pub channel: String,
    /// The oldest version the server still issues tokens to.
    pub min_supported: String,
    /// Versions refused whatever their number.
    #[serde(default)]
    pub blocked: Vec<String>,
    /// The updater endpoint with `{{target}}`, `{{arch}}` and `{{current_version}}` left for the plugin.
    pub update_endpoint: String,
}

/// The plugin's bundle-type variable (`deb`, `rpm`, `appimage`; `unknown` for a binary the Tauri CLI did not
/// patch): s14 contract §7.
const BUNDLE_TYPE: &str = "{{bundle_type}}";

impl ClientPolicy {
    /// Whether the server no longer supports `version` (below `min_supported`, or blocked) — what it answers
    /// 426 to. An unparsable version on either side is not treated as excluded (the 426 still is).
    pub fn excludes(&self, version: &str) -> bool {
        let Ok(version) = semver::Version::parse(version) else {
            return false;
        };
        let below = semver::Version::parse(&self.min_supported).is_ok_and(|min| version < min);
        below
            || self
                .blocked
                .iter()
                .any(|b| semver::Version::parse(b).is_ok_and(|b| b == version))
    }

    /// The endpoint as a URL the updater accepts, carrying the bundle type so the server can pick the matching
    /// artifact: as the server placed `{{bundle_type}}`, or else as the `bundle_type` query parameter.
    pub fn endpoint(&self) -> Result<url::Url, UpdateError> {
        let mut url = url::Url::parse(&self.update_endpoint)
            .map_err(|e| UpdateError::Policy(format!("update_endpoint: {e}")))?;
        let spelled = |s: &str| s.contains(BUNDLE_TYPE) || s.contains("%7B%7Bbundle_type%7D%7D");
        if !spelled(&self.update_endpoint) && !spelled(url.as_str()) {
            // The plugin substitutes the raw spelling in the query, so it is appended unencoded.
            let query = match url.query() {
                Some(q) if !q.is_empty() => format!("{q}&bundle_type={BUNDLE_TYPE}"),
                _ => format!("bundle_type={BUNDLE_TYPE}"),
            };
            url.set_query(Some(&query));
        }
        Ok(url)
    }
}

/// `GET {server}/v1/client/policy`, with the session token when signed in (so a beta agent gets `beta`).
pub async fn fetch(
    http: &reqwest::Client,
    server: &str,
    session: Option<&Pii<String>>,
) -> Result<ClientPolicy, UpdateError> {
    let mut request = http
        .get(format!("{server}/v1/client/policy"))
        .header("X-Client-Version", client_version());
    if let Some(token) = session {
        request = request.bearer_auth(token.expose());
    }
    let reply = request
        .send()
        .await
        .map_err(|e| UpdateError::Unreachable(e.without_url().to_string()))?;
    match reply.status().as_u16() {
        200 => {}
        status => return Err(UpdateError::Server(status)),
    }
    reply
        .json()
        .await
        .map_err(|e| UpdateError::Policy(e.without_url().to_string()))
}

/// This install's id: a random UUID made on first use and kept in `dir/install-id`. A missing or unreadable
/// file gets a new id (a fresh rollout bucket), never an error: updates must not depend on it.
pub fn install_id(dir: &Path) -> String {
    let file = dir.join("install-id");
    if let Some(id) = std::fs::read_to_string(&file)
        .ok()
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
    {
        return id.to_string();
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Err(error) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&file, &id)) {
        tracing::warn!(%error, "could not save the install id; a new one is used next start");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_id_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("tsunagi-install-id-{}", uuid::Uuid::new_v4()));
        let first = install_id(&dir);
        assert!(uuid::Uuid::parse_str(&first).is_ok());
        assert_eq!(install_id(&dir), first, "the same id on the next start");
        std::fs::write(dir.join("install-id"), "not a uuid").unwrap();
        let replaced = install_id(&dir);
        assert_ne!(replaced, first, "a damaged file gets a fresh id");
        assert_eq!(install_id(&dir), replaced);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_servers_policy_parses_and_its_endpoint_keeps_the_plugin_variables() {
        let policy: ClientPolicy = serde_json::from_str(
            r#"{"channel":"beta","min_supported":"0.1.0","blocked":["0.0.9"],
                "update_endpoint":"http://127.0.0.1:8080/v1/updates/beta/{{target}}/{{arch}}/{{current_version}}"}"#,
        )
        .unwrap();
        assert_eq!(policy.channel, "beta");
        let url = policy.endpoint().unwrap().to_string();
        // The plugin substitutes both the raw and the percent-encoded spelling of its variables.
        assert!(
            url.contains("%7B%7Btarget%7D%7D") || url.contains("{{target}}"),
            "{url}"
        );
        assert!(url.ends_with("?bundle_type={{bundle_type}}"), "{url}");
        let placed = ClientPolicy {
            update_endpoint: "http://h/v1/updates/{{bundle_type}}/{{current_version}}?x=1".into(),
            ..policy.clone()
        };
        let placed = placed.endpoint().unwrap().to_string();
        assert!(!placed.contains("bundle_type="), "already placed: {placed}");
        let query = ClientPolicy {
            update_endpoint: "http://h/v1/updates/stable?channel=beta".into(),
            ..policy.clone()
        };
        assert_eq!(
            query.endpoint().unwrap().as_str(),
            "http://h/v1/updates/stable?channel=beta&bundle_type={{bundle_type}}"
        );
        assert!(!policy.excludes("0.1.0"), "at the minimum");
        assert!(policy.excludes("0.0.9"), "blocked");
        assert!(!policy.excludes("not a version"));
        let raised = ClientPolicy {
            min_supported: "0.2.0".into(),
            ..policy.clone()
        };
        assert!(
            raised.excludes("0.1.0") && !raised.excludes("0.2.0") && !raised.excludes("0.10.0")
        );
        let bad = ClientPolicy {
            update_endpoint: "not a url".into(),
            ..policy
        };
        assert!(matches!(bad.endpoint(), Err(UpdateError::Policy(_))));
    }
}
