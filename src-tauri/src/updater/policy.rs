//! The server side of an update check: the client policy (`GET /v1/client/policy`: channel, floor, blocked
//! versions and the channel's update endpoint, backend-spec §8.3) and this install's random id, sent as
//! `X-Install-Id` so staged rollouts bucket the install rather than the agent.

use std::path::Path;

use serde::Deserialize;
use tsunagi_twilio::Pii;

use super::UpdateError;
use crate::server::CLIENT_VERSION;

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

impl ClientPolicy {
    /// The endpoint as a URL the updater accepts.
    pub fn endpoint(&self) -> Result<url::Url, UpdateError> {
        url::Url::parse(&self.update_endpoint)
            .map_err(|e| UpdateError::Policy(format!("update_endpoint: {e}")))
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
        .header("X-Client-Version", CLIENT_VERSION);
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
        let bad = ClientPolicy {
            update_endpoint: "not a url".into(),
            ..policy
        };
        assert!(matches!(bad.endpoint(), Err(UpdateError::Policy(_))));
    }
}
