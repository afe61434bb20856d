//! Where the app connects: the companion server, the TaskRouter EventBridge and the Sync (Twilsock) endpoint
//! the core drives.
//!
//! The embedded defaults are the local demo (`./scripts/demo`: server on 127.0.0.1:8080, Twilio stand-in on
//! 127.0.0.1:8090). A deployment points them at the company's server and at Twilio with environment variables;
//! the code never knows which one it talks to.

/// The endpoints of one deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The companion server, e.g. `https://softphone-api.example.co.jp`.
    pub server_url: String,
    /// TaskRouter EventBridge WebSocket base, e.g. `wss://event-bridge.twilio.com/v1/wschannels`.
    pub eventbridge_ws: String,
    /// TaskRouter EventBridge REST base, e.g. `https://event-bridge.twilio.com/v1/wschannels`.
    pub eventbridge_rest: String,
    /// Where the Voice SDK signals.
    pub voice: VoiceSettings,
    /// Twilsock endpoint for Sync (the agent's presence Document), e.g. `wss://tsock.us1.twilio.com/v3/wsconnect`;
    /// `None` turns Sync off (the server's token must carry a data_sync grant for it to work).
    pub sync_ws: Option<String>,
}

/// The Voice SDK's signaling endpoint, as the webview's `Device` needs it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceSettings {
    /// Twilio edge when signaling goes to Twilio (`tokyo` for agents in Japan).
    pub edge: String,
    /// A signaling URL that replaces Twilio's (`ws://127.0.0.1:8090/signal` for the local stand-in); `None`
    /// means Twilio's edge.
    pub signaling: Option<String>,
}

const LOCAL_SERVER: &str = "http://127.0.0.1:8080";
const LOCAL_TWILIO_WS: &str = "ws://127.0.0.1:8090/v1/wschannels";
const LOCAL_TWILIO_REST: &str = "http://127.0.0.1:8090/v1/wschannels";
const LOCAL_VOICE_SIGNALING: &str = "ws://127.0.0.1:8090/signal";
const LOCAL_SYNC_WS: &str = "ws://127.0.0.1:8090/v3/wsconnect";

impl ClientConfig {
    /// The embedded defaults overridden by `TSUNAGI_SERVER_URL`, `TSUNAGI_EVENTBRIDGE_WS`,
    /// `TSUNAGI_EVENTBRIDGE_REST`, `TSUNAGI_VOICE_EDGE`, `TSUNAGI_VOICE_SIGNALING` (set it to `twilio` to signal
    /// through Twilio's edge) and `TSUNAGI_SYNC_WS` (set it to `off` to run without Sync).
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let pick = |key: &str, default: &str| {
            let value = get(key)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned());
            value.trim_end_matches('/').to_owned()
        };
        ClientConfig {
            server_url: pick("TSUNAGI_SERVER_URL", LOCAL_SERVER),
            eventbridge_ws: pick("TSUNAGI_EVENTBRIDGE_WS", LOCAL_TWILIO_WS),
            eventbridge_rest: pick("TSUNAGI_EVENTBRIDGE_REST", LOCAL_TWILIO_REST),
            voice: VoiceSettings {
                edge: pick("TSUNAGI_VOICE_EDGE", "tokyo"),
                signaling: Some(pick("TSUNAGI_VOICE_SIGNALING", LOCAL_VOICE_SIGNALING))
                    .filter(|s| s != "twilio"),
            },
            sync_ws: Some(pick("TSUNAGI_SYNC_WS", LOCAL_SYNC_WS)).filter(|s| s != "off"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_local_demo() {
        let c = ClientConfig::from_lookup(|_| None);
        assert_eq!(c.server_url, "http://127.0.0.1:8080");
        assert_eq!(c.eventbridge_ws, "ws://127.0.0.1:8090/v1/wschannels");
        assert_eq!(
            c.voice.signaling.as_deref(),
            Some("ws://127.0.0.1:8090/signal")
        );
    }

    #[test]
    fn sync_defaults_to_the_stand_in_and_can_be_turned_off() {
        let c = ClientConfig::from_lookup(|_| None);
        assert_eq!(c.sync_ws.as_deref(), Some(LOCAL_SYNC_WS));
        let c = ClientConfig::from_lookup(|k| (k == "TSUNAGI_SYNC_WS").then(|| "off".to_owned()));
        assert_eq!(c.sync_ws, None);
        let c = ClientConfig::from_lookup(|k| {
            (k == "TSUNAGI_SYNC_WS").then(|| "wss://tsock.us1.twilio.com/v3/wsconnect".to_owned())
        });
        assert_eq!(
            c.sync_ws.as_deref(),
            Some("wss://tsock.us1.twilio.com/v3/wsconnect")
        );
    }

    #[test]
    fn voice_can_signal_through_twilio() {
        let c = ClientConfig::from_lookup(|k| {
            (k == "TSUNAGI_VOICE_SIGNALING").then(|| "twilio".to_owned())
        });
        assert_eq!(
            c.voice,
            VoiceSettings {
                edge: "tokyo".into(),
                signaling: None
            }
        );
    }

    #[test]
    fn env_overrides_and_trailing_slashes_are_trimmed() {
        let c = ClientConfig::from_lookup(|k| match k {
            "TSUNAGI_SERVER_URL" => Some("https://api.example.co.jp/".into()),
            "TSUNAGI_EVENTBRIDGE_WS" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(c.server_url, "https://api.example.co.jp");
        assert_eq!(c.eventbridge_ws, LOCAL_TWILIO_WS, "blank means default");
    }
}
