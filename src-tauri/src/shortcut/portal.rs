//! The answer/hang-up key on Wayland, through the XDG desktop portal's `org.freedesktop.portal.GlobalShortcuts`
//! (Wayland gives no program a global key grab; the compositor owns keys and the portal hands them out).
//!
//! Contract: [`bind`] probes the interface, creates a session (`CreateSession`), asks for the one shortcut
//! (`BindShortcuts`, preferred trigger Ctrl+Alt+A; the desktop may let the agent confirm or change it) and waits
//! for each `org.freedesktop.portal.Request::Response`. [`Bound::events`] then yields each `Activated` signal of
//! that session and id, and each new trigger the agent gives it in the desktop's settings (`ShortcutsChanged`); it
//! ends when the portal leaves the bus (its sessions die with it; bind again,
//! after [`wait_for_portal`] if it is not activatable). It only moves D-Bus messages: what an activation does is
//! the caller's. The session lives as long as the connection inside [`Bound`].

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use zbus::fdo::{DBusProxy, NameOwnerChangedStream};
use zbus::names::WellKnownName;
use zbus::proxy::{Builder, CacheProperties};
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};
use zbus::{Connection, Message, Proxy};

const DESTINATION: &str = "org.freedesktop.portal.Desktop";
const PATH: &str = "/org/freedesktop/portal/desktop";
const INTERFACE: &str = "org.freedesktop.portal.GlobalShortcuts";
const REQUEST: &str = "org.freedesktop.portal.Request";

/// The shortcut's id in the portal session.
pub const SHORTCUT_ID: &str = "answer-or-hang-up";
/// The preferred trigger, in the XDG shortcuts specification's notation.
const PREFERRED_TRIGGER: &str = "CTRL+ALT+a";
/// How long the portal may take to say whether it exists (D-Bus activation of a portal included).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// `CreateSession` shows nothing to the agent, so its answer is prompt.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the portal gave no shortcut.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No D-Bus session bus to talk to the portal on.
    #[error("no D-Bus session bus: {0}")]
    NoBus(#[source] zbus::Error),
    /// No `org.freedesktop.portal.Desktop` on the session bus (xdg-desktop-portal not installed or not running).
    #[error("no desktop portal on the session bus ({0})")]
    NoPortal(String),
    /// The portal runs but its desktop implements no global shortcuts (e.g. GNOME before 48).
    #[error("the desktop portal has no GlobalShortcuts interface ({0})")]
    NoInterface(String),
    /// The portal's request ended with a non-zero response (1: the agent cancelled; 2: other).
    #[error("the desktop refused the shortcut (portal response {0})")]
    Refused(u32),
    /// The bind succeeded but the answer/hang-up shortcut is not among the bound ones.
    #[error("the desktop bound no answer/hang-up shortcut")]
    NotBound,
    /// The portal did not answer in time.
    #[error("the desktop portal did not answer within {0} s")]
    Timeout(u64),
    /// A D-Bus call failed in another way.
    #[error("desktop portal call failed: {0}")]
    Call(#[from] zbus::Error),
    /// A reply without the fields the portal specification promises.
    #[error("malformed desktop portal reply: {0}")]
    Reply(String),
}

/// What the portal says about the bound shortcut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortalEvent {
    /// The agent pressed it.
    Activated,
    /// The agent gave it another trigger (as the desktop words it), or none.
    TriggerChanged(Option<String>),
}

/// A bound shortcut: its session and the signal streams that report on it.
pub struct Bound {
    /// What the desktop says triggers it (e.g. "Ctrl+Alt+A"), when it says.
    pub trigger: Option<String>,
    /// The portal's interface version.
    pub version: u32,
    session: OwnedObjectPath,
    activated: zbus::proxy::SignalStream<'static>,
    changed: zbus::proxy::SignalStream<'static>,
    owner_changes: NameOwnerChangedStream,
    // Closing the connection closes the portal session, so it is kept with the stream.
    _connection: Connection,
}

impl Bound {
    /// The shortcut's activations and trigger changes, in order; ends when the portal's bus name changes owner
    /// (it left or restarted: the session is gone either way).
    pub fn events(self) -> impl Stream<Item = PortalEvent> + Send {
        let Bound {
            session,
            activated,
            changed,
            owner_changes,
            _connection,
            ..
        } = self;
        let ours = session.clone();
        let activations = activated.map(move |message| {
            Some(is_our_activation(&message, &ours).then_some(PortalEvent::Activated))
        });
        let changes = changed.map(move |message| Some(trigger_change(&message, &session)));
        let gone = owner_changes.map(|_| None);
        futures_util::stream::select(futures_util::stream::select(activations, changes), gone)
            .take_while(|item| std::future::ready(item.is_some()))
            .filter_map(move |item| {
                // The connection lives as long as the stream.
                let _keep = &_connection;
                std::future::ready(item.flatten())
            })
    }
}

/// Binds the answer/hang-up shortcut through the portal on the session bus; `description` is shown by the desktop.
pub async fn bind(description: &str) -> Result<Bound, PortalError> {
    let connection = Connection::session().await.map_err(PortalError::NoBus)?;
    bind_on(connection, description).await
}

/// Waits until a desktop portal owns its name on the session bus (at once if one does).
pub async fn wait_for_portal() -> Result<(), PortalError> {
    let connection = Connection::session().await.map_err(PortalError::NoBus)?;
    let bus = DBusProxy::new(&connection).await?;
    let mut changes = bus
        .receive_name_owner_changed_with_args(&[(0, DESTINATION)])
        .await?;
    let name = WellKnownName::from_static_str_unchecked(DESTINATION);
    if bus
        .name_has_owner(name.into())
        .await
        .map_err(zbus::Error::from)?
    {
        return Ok(());
    }
    while let Some(change) = changes.next().await {
        if change.args().is_ok_and(|args| args.new_owner().is_some()) {
            return Ok(());
        }
    }
    Err(PortalError::Reply("the session bus closed".into()))
}

async fn bind_on(connection: Connection, description: &str) -> Result<Bound, PortalError> {
    let version = within(PROBE_TIMEOUT, probe(&connection)).await??;
    let owner_changes = DBusProxy::new(&connection)
        .await?
        .receive_name_owner_changed_with_args(&[(0, DESTINATION)])
        .await?;
    let portal = proxy(&connection, PATH, INTERFACE).await?;
    // Subscribed before the session exists, so no activation can slip between bind and listen.
    let activated = portal.receive_signal("Activated").await?;
    let changed = portal.receive_signal("ShortcutsChanged").await?;

    let session_token = token();
    let request_token = token();
    let options = HashMap::from([
        ("handle_token", Value::from(request_token.as_str())),
        ("session_handle_token", Value::from(session_token.as_str())),
    ]);
    let results = within(
        SESSION_TIMEOUT,
        request(&connection, &request_token, |portal| async move {
            portal.call("CreateSession", &(options,)).await
        }),
    )
    .await??;
    let session = session_handle(&results)?;
    tracing::debug!(%session, "desktop portal: global shortcuts session created");

    let request_token = token();
    let shortcut = HashMap::from([
        ("description", Value::from(description)),
        ("preferred_trigger", Value::from(PREFERRED_TRIGGER)),
    ]);
    let shortcuts = vec![(SHORTCUT_ID, shortcut)];
    let options = HashMap::from([("handle_token", Value::from(request_token.as_str()))]);
    let session_path = session.clone();
    // No timeout: the desktop may be asking the agent to confirm the key.
    let results = request(&connection, &request_token, |portal| async move {
        portal
            .call(
                "BindShortcuts",
                &(session_path.as_ref(), shortcuts, "", options),
            )
            .await
    })
    .await?;
    let trigger = bound_trigger(&results)?;
    Ok(Bound {
        trigger,
        version,
        session,
        activated,
        changed,
        owner_changes,
        _connection: connection,
    })
}

/// Reads the interface's `version`: proves both the portal and its GlobalShortcuts interface.
async fn probe(connection: &Connection) -> Result<u32, PortalError> {
    let properties = proxy(connection, PATH, "org.freedesktop.DBus.Properties").await?;
    match properties
        .call::<_, _, OwnedValue>("Get", &(INTERFACE, "version"))
        .await
    {
        Ok(value) => u32::try_from(value).map_err(|e| PortalError::Reply(format!("version: {e}"))),
        Err(zbus::Error::MethodError(name, detail, _)) => {
            let said = detail.unwrap_or_else(|| name.to_string());
            Err(match name.as_str() {
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner" => PortalError::NoPortal(said),
                _ => PortalError::NoInterface(said),
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// Calls one portal method that answers through a `Request` object and returns the `Response` results.
async fn request<F, Fut>(
    connection: &Connection,
    handle_token: &str,
    call: F,
) -> Result<HashMap<String, OwnedValue>, PortalError>
where
    F: FnOnce(Proxy<'static>) -> Fut,
    Fut: std::future::Future<Output = zbus::Result<OwnedObjectPath>>,
{
    let sender = connection
        .unique_name()
        .ok_or_else(|| PortalError::Reply("the bus gave this connection no name".into()))?;
    let expected = request_path(sender.as_str(), handle_token);
    // Listening on the path the portal will use, before the call: the response cannot be missed.
    let mut responses = proxy(connection, &expected, REQUEST)
        .await?
        .receive_signal("Response")
        .await?;
    let handle = call(proxy(connection, PATH, INTERFACE).await?).await?;
    if handle.as_str() != expected {
        // A portal older than handle tokens (before 0.9): listen where it says.
        responses = proxy(connection, handle.as_str(), REQUEST)
            .await?
            .receive_signal("Response")
            .await?;
    }
    let message = responses
        .next()
        .await
        .ok_or_else(|| PortalError::Reply("the portal left before answering".into()))?;
    let (code, results): (u32, HashMap<String, OwnedValue>) = message
        .body()
        .deserialize()
        .map_err(|e| PortalError::Reply(format!("Response: {e}")))?;
    match code {
        0 => Ok(results),
        refused => Err(PortalError::Refused(refused)),
    }
}

async fn proxy(
    connection: &Connection,
    path: &str,
    interface: &str,
) -> Result<Proxy<'static>, PortalError> {
    Ok(Builder::new(connection)
        .destination(DESTINATION)?
        .path(path.to_owned())?
        .interface(interface.to_owned())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

async fn within<T>(
    limit: Duration,
    work: impl std::future::Future<Output = T>,
) -> Result<T, PortalError> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| PortalError::Timeout(limit.as_secs()))
}

/// A fresh handle token: a valid object path element, unique per call.
fn token() -> String {
    format!("tsunagi_{}", uuid::Uuid::new_v4().simple())
}

/// Where the portal puts the `Request` object of a call (`org.freedesktop.portal.Request`): the sender's unique
/// name without the leading ':' and with '.' as '_', then the handle token.
fn request_path(unique_name: &str, handle_token: &str) -> String {
    let sender = unique_name.trim_start_matches(':').replace('.', "_");
    format!("{PATH}/request/{sender}/{handle_token}")
}

/// `session_handle` of `CreateSession`'s results: specified as a string holding an object path (kept for
/// compatibility), which some portals send as an object path.
fn session_handle(results: &HashMap<String, OwnedValue>) -> Result<OwnedObjectPath, PortalError> {
    let value = results
        .get("session_handle")
        .ok_or_else(|| PortalError::Reply("CreateSession gave no session_handle".into()))?;
    let path = match &**value {
        Value::Str(s) => ObjectPath::try_from(s.as_str()).map(|p| p.into_owned()),
        Value::ObjectPath(p) => Ok(p.to_owned()),
        other => {
            return Err(PortalError::Reply(format!(
                "session_handle of type {}",
                other.value_signature()
            )))
        }
    };
    path.map(OwnedObjectPath::from)
        .map_err(|e| PortalError::Reply(format!("session_handle: {e}")))
}

/// The trigger the desktop reports for our shortcut in `BindShortcuts`' results (`shortcuts`: `a(sa{sv})`);
/// [`PortalError::NotBound`] when our id is not among them.
fn bound_trigger(results: &HashMap<String, OwnedValue>) -> Result<Option<String>, PortalError> {
    let Some(value) = results.get("shortcuts") else {
        return Err(PortalError::NotBound);
    };
    let shortcuts = <Vec<(String, HashMap<String, OwnedValue>)>>::try_from(
        value
            .try_clone()
            .map_err(|e| PortalError::Reply(format!("shortcuts: {e}")))?,
    )
    .map_err(|e| PortalError::Reply(format!("shortcuts: {e}")))?;
    trigger_in(shortcuts).ok_or(PortalError::NotBound)
}

/// Our shortcut's `trigger_description` in a list of `(id, properties)`; `None` when our id is not listed.
fn trigger_in(shortcuts: Vec<(String, HashMap<String, OwnedValue>)>) -> Option<Option<String>> {
    let (_, fields) = shortcuts.into_iter().find(|(id, _)| id == SHORTCUT_ID)?;
    Some(fields.get("trigger_description").and_then(|v| match &**v {
        Value::Str(s) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    }))
}

/// The new trigger from a `ShortcutsChanged(o session_handle, a(sa{sv}) shortcuts)` of our session that lists our id.
fn trigger_change(message: &Message, session: &OwnedObjectPath) -> Option<PortalEvent> {
    type Shortcuts = Vec<(String, HashMap<String, OwnedValue>)>;
    match message.body().deserialize::<(ObjectPath<'_>, Shortcuts)>() {
        Ok((handle, shortcuts)) if handle.as_str() == session.as_str() => {
            trigger_in(shortcuts).map(PortalEvent::TriggerChanged)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "desktop portal: malformed ShortcutsChanged signal ignored");
            None
        }
    }
}

/// True for an `Activated(o session_handle, s shortcut_id, t timestamp, a{sv} options)` of our session and id.
fn is_our_activation(message: &Message, session: &OwnedObjectPath) -> bool {
    match message
        .body()
        .deserialize::<(ObjectPath<'_>, &str, u64, HashMap<&str, Value<'_>>)>()
    {
        Ok((handle, id, _, _)) => handle.as_str() == session.as_str() && id == SHORTCUT_ID,
        Err(error) => {
            tracing::warn!(%error, "desktop portal: malformed Activated signal ignored");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_path_follows_the_portal_convention() {
        assert_eq!(
            request_path(":1.42", "tsunagi_ab"),
            "/org/freedesktop/portal/desktop/request/1_42/tsunagi_ab"
        );
        let t = token();
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert_ne!(t, token());
    }

    #[test]
    fn the_session_handle_is_read_as_a_string_or_an_object_path() {
        let path = "/org/freedesktop/portal/desktop/session/1_42/s";
        let as_string = HashMap::from([(
            "session_handle".to_owned(),
            OwnedValue::try_from(Value::from(path)).expect("a string converts"),
        )]);
        assert_eq!(session_handle(&as_string).expect("read").as_str(), path);
        let as_path = HashMap::from([(
            "session_handle".to_owned(),
            OwnedValue::try_from(Value::from(ObjectPath::try_from(path).expect("valid")))
                .expect("a path converts"),
        )]);
        assert_eq!(session_handle(&as_path).expect("read").as_str(), path);
        let bad = HashMap::from([(
            "session_handle".to_owned(),
            OwnedValue::try_from(Value::from("not a path")).expect("a string converts"),
        )]);
        assert!(matches!(session_handle(&bad), Err(PortalError::Reply(_))));
        assert!(matches!(
            session_handle(&HashMap::new()),
            Err(PortalError::Reply(_))
        ));
    }

    fn shortcuts(list: Vec<(&str, Option<&str>)>) -> HashMap<String, OwnedValue> {
        let list: Vec<(String, HashMap<String, OwnedValue>)> = list
            .into_iter()
            .map(|(id, trigger)| {
                let mut fields = HashMap::from([(
                    "description".to_owned(),
                    OwnedValue::try_from(Value::from("d")).expect("converts"),
                )]);
                if let Some(t) = trigger {
                    fields.insert(
                        "trigger_description".to_owned(),
                        OwnedValue::try_from(Value::from(t)).expect("converts"),
                    );
                }
                (id.to_owned(), fields)
            })
            .collect();
        HashMap::from([(
            "shortcuts".to_owned(),
            OwnedValue::try_from(Value::from(list)).expect("converts"),
        )])
    }

    #[test]
    fn a_trigger_change_of_our_session_is_read_and_others_are_ignored() {
        let ours = OwnedObjectPath::try_from("/org/freedesktop/portal/desktop/session/1_2/a")
            .expect("a valid path");
        let signal = |session: &str, id: &str| {
            let list = vec![(
                id.to_owned(),
                HashMap::from([(
                    "trigger_description".to_owned(),
                    OwnedValue::try_from(Value::from("Ctrl+F12")).expect("converts"),
                )]),
            )];
            Message::signal(PATH, INTERFACE, "ShortcutsChanged")
                .expect("a valid signal")
                .build(&(ObjectPath::try_from(session).expect("a valid path"), list))
                .expect("builds")
        };
        assert_eq!(
            trigger_change(&signal(ours.as_str(), SHORTCUT_ID), &ours),
            Some(PortalEvent::TriggerChanged(Some("Ctrl+F12".into())))
        );
        let other_session = "/org/freedesktop/portal/desktop/session/1_2/b";
        assert_eq!(
            trigger_change(&signal(other_session, SHORTCUT_ID), &ours),
            None
        );
        assert_eq!(trigger_change(&signal(ours.as_str(), "other"), &ours), None);
        let malformed = Message::signal(PATH, INTERFACE, "ShortcutsChanged")
            .expect("a valid signal")
            .build(&("not a list",))
            .expect("builds");
        assert_eq!(trigger_change(&malformed, &ours), None);
    }

    #[test]
    fn the_bound_trigger_is_ours_and_a_missing_shortcut_is_not_bound() {
        let bound = shortcuts(vec![
            ("other", Some("F1")),
            (SHORTCUT_ID, Some("Ctrl+Alt+A")),
        ]);
        assert_eq!(
            bound_trigger(&bound).expect("bound").as_deref(),
            Some("Ctrl+Alt+A")
        );
        let no_trigger = shortcuts(vec![(SHORTCUT_ID, None)]);
        assert_eq!(bound_trigger(&no_trigger).expect("bound"), None);
        assert!(matches!(
            bound_trigger(&shortcuts(vec![])),
            Err(PortalError::NotBound)
        ));
        assert!(matches!(
            bound_trigger(&HashMap::new()),
            Err(PortalError::NotBound)
        ));
    }
}
