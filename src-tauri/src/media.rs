//! Native call audio behind the webview's WebRTC shim (`ui/src/lib/webrtc/`), for webviews built without
//! WebRTC (Debian's WebKitGTK, specs/tauri-platform.md §3).
//!
//! One shim `RTCPeerConnection` is one [`tsunagi_media::driver::Call`] on the sound devices. Each call lives in
//! its own small task that owns it, forwards its events to the page over a [`Channel`] and serves the page's
//! requests (offer/answer, mute, stats, close); the commands below only find that task and wait for its
//! reply. Every call of a page is closed when the page (re)loads, and a call whose page stopped listening ends.
//! Nothing here decides anything: device fallback and quality warnings are `tsunagi-media`'s.
//!
//! `TSUNAGI_NATIVE_AUDIO=off` turns the engine off for the page (it then behaves as a webview without WebRTC:
//! calls cannot connect and the UI says why); the page learns it from [`plugin`]'s init script.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Serialize, Serializer};
use tauri::ipc::Channel;
use tauri::webview::{PageLoadEvent, PageLoadPayload};
use tauri::{Manager, Runtime, State, Webview};
use tokio::sync::{mpsc, oneshot};
use tsunagi_media::aec::{ProcessedAudio, Processing};
use tsunagi_media::audio::meter::{mic_test, MicTestError};
use tsunagi_media::audio::{AudioHost, DeviceAudio, DeviceInfo};
use tsunagi_media::driver::Call;
use tsunagi_media::{CallStats, CodecKind, EndpointConfig, EndpointEvent, MediaError};

/// How long a closing call may take to say goodbye (DTLS close) before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Why a media command failed, serialized `{ kind, message }` like the shell's other errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MediaFailure {
    /// The engine refused (bad SDP, no common codec, socket, device).
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The call id is unknown or its call has ended.
    #[error("this call's audio has ended")]
    Ended,
}

impl Serialize for MediaFailure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("MediaFailure", 2)?;
        let kind = match self {
            MediaFailure::Media(MediaError::Device(_)) => "mediaDevice",
            MediaFailure::Media(_) => "media",
            MediaFailure::Ended => "mediaEnded",
        };
        s.serialize_field("kind", kind)?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

type Reply<T> = oneshot::Sender<Result<T, MediaError>>;

enum Request {
    CreateOffer(Reply<String>),
    AcceptAnswer(String, Reply<()>),
    AcceptOffer(String, Reply<String>),
    Mute(bool),
    Devices(Option<String>, Option<String>),
    Stats(Reply<CallStats>),
    Close,
}

/// The shim's calls, by the id handed to the page.
#[derive(Default)]
pub(crate) struct MediaCalls {
    next: AtomicU32,
    calls: Mutex<HashMap<u32, mpsc::UnboundedSender<Request>>>,
    /// One audio host for device lists, made on first use: a host per list would leave a sound-server
    /// connection (socket and thread) behind each time.
    lister: Arc<Mutex<Option<AudioHost>>>,
}

impl MediaCalls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, mpsc::UnboundedSender<Request>>> {
        // The map holds plain senders: a panicking holder cannot leave it inconsistent.
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn send(&self, id: u32, request: Request) -> Result<(), MediaFailure> {
        let sender = self.lock().get(&id).cloned().ok_or(MediaFailure::Ended)?;
        sender.send(request).map_err(|_| MediaFailure::Ended)
    }

    async fn ask<T>(
        &self,
        id: u32,
        make: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<T, MediaFailure> {
        let (tx, rx) = oneshot::channel();
        self.send(id, make(tx))?;
        Ok(rx.await.map_err(|_| MediaFailure::Ended)??)
    }

    /// Closes every call (the page went away).
    pub(crate) fn close_all(&self) {
        let calls: Vec<_> = self.lock().drain().collect();
        if !calls.is_empty() {
            tracing::info!(
                calls = calls.len(),
                "page reloaded: closing its calls' audio"
            );
        }
        for (_, sender) in calls {
            let _ = sender.send(Request::Close);
        }
    }

    /// Calls running now (for diagnostics and the leak test).
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The local address to offer: the one the OS would use towards `remote` (no packet is sent), else towards a
/// public address, else loopback.
fn local_ip(remote: Option<IpAddr>) -> IpAddr {
    let towards = remote.unwrap_or(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let probe = || -> std::io::Result<IpAddr> {
        let bind: IpAddr = if towards.is_ipv4() {
            Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        };
        let socket = UdpSocket::bind((bind, 0))?;
        socket.connect((towards, 9))?;
        Ok(socket.local_addr()?.ip())
    };
    probe()
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(Ipv4Addr::LOCALHOST.into())
}

async fn serve(call: &Call, request: Request) {
    match request {
        Request::CreateOffer(tx) => drop(tx.send(call.create_offer().await)),
        Request::AcceptAnswer(sdp, tx) => drop(tx.send(call.accept_answer(&sdp).await)),
        Request::AcceptOffer(sdp, tx) => drop(tx.send(call.accept_offer(&sdp).await)),
        Request::Mute(muted) => call.set_muted(muted),
        Request::Devices(input, output) => call.set_devices(input, output),
        Request::Stats(tx) => drop(tx.send(call.stats().await)),
        Request::Close => {}
    }
}

/// Owns one call until the page closes it, the page stops listening or the engine ends it.
async fn run(
    id: u32,
    mut call: Call,
    mut requests: mpsc::UnboundedReceiver<Request>,
    events: Channel<EndpointEvent>,
) {
    loop {
        tokio::select! {
            event = call.next_event() => match event {
                Some(event) => {
                    let last = event == EndpointEvent::Closed;
                    if events.send(event).is_err() {
                        tracing::info!(call = id, "the page stopped listening: closing the call's audio");
                        break;
                    }
                    if last {
                        break;
                    }
                }
                None => break,
            },
            request = requests.recv() => match request {
                None | Some(Request::Close) => break,
                Some(request) => serve(&call, request).await,
            },
        }
    }
    call.close();
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while call.next_event().await.is_some() {}
    })
    .await;
    tracing::info!(call = id, "call audio closed");
    // Dropping the call ends its task and frees its socket and devices.
}

/// The microphones and speakers, as `enumerateDevices` lists them.
#[tauri::command]
pub(crate) async fn media_devices(
    calls: State<'_, MediaCalls>,
) -> Result<Vec<DeviceInfo>, MediaFailure> {
    let lister = Arc::clone(&calls.lister);
    let listed = tauri::async_runtime::spawn_blocking(move || {
        // The host holds no invariant a panicking lister could break.
        let mut host = lister
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        host.get_or_insert_with(AudioHost::new).devices()
    })
    .await;
    Ok(listed.map_err(|e| MediaError::Device(e.to_string()))??)
}

/// Starts one call's audio on the chosen devices (`None`/`"default"`: the system's), with the microphone
/// processing of the track's `getUserMedia` constraints (`None`: echo cancellation, noise suppression and gain
/// control all on), and returns its id.
#[tauri::command]
pub(crate) async fn media_open(
    calls: State<'_, MediaCalls>,
    input: Option<String>,
    output: Option<String>,
    codecs: Option<Vec<CodecKind>>,
    remote: Option<IpAddr>,
    processing: Option<Processing>,
    on_event: Channel<EndpointEvent>,
) -> Result<u32, MediaFailure> {
    // Opening sound devices can block for a while: not on the runtime's workers.
    let audio = tauri::async_runtime::spawn_blocking(move || {
        DeviceAudio::open(AudioHost::new(), input, output)
    })
    .await
    .map_err(|e| MediaError::Device(e.to_string()))?;
    let mut config = EndpointConfig::default();
    if let Some(codecs) = codecs.filter(|c| !c.is_empty()) {
        config.codecs = codecs;
    }
    let processing = processing.unwrap_or_default();
    let audio = ProcessedAudio::new(Box::new(audio), processing);
    let call = Call::start(local_ip(remote), config, Box::new(audio)).await?;
    let id = calls.next.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    calls.lock().insert(id, tx);
    tracing::info!(call = id, local = %call.local_addr(), ?processing, "call audio started");
    tauri::async_runtime::spawn(run(id, call, rx, on_event));
    Ok(id)
}

/// Outgoing call: our offer.
#[tauri::command]
pub(crate) async fn media_create_offer(
    calls: State<'_, MediaCalls>,
    id: u32,
) -> Result<String, MediaFailure> {
    calls.ask(id, Request::CreateOffer).await
}

/// Outgoing call: the remote answer.
#[tauri::command]
pub(crate) async fn media_accept_answer(
    calls: State<'_, MediaCalls>,
    id: u32,
    sdp: String,
) -> Result<(), MediaFailure> {
    calls.ask(id, |tx| Request::AcceptAnswer(sdp, tx)).await
}

/// Incoming call: answers the remote offer with ours.
#[tauri::command]
pub(crate) async fn media_accept_offer(
    calls: State<'_, MediaCalls>,
    id: u32,
    sdp: String,
) -> Result<String, MediaFailure> {
    calls.ask(id, |tx| Request::AcceptOffer(sdp, tx)).await
}

/// Mutes or unmutes the microphone.
#[tauri::command]
pub(crate) fn media_set_muted(
    calls: State<'_, MediaCalls>,
    id: u32,
    muted: bool,
) -> Result<(), MediaFailure> {
    calls.send(id, Request::Mute(muted))
}

/// Moves a running call to another microphone and/or speaker at once (`None`: keep; `"default"`: the
/// system's). A device that cannot be opened falls back with a device event, as an unplugged one does.
#[tauri::command]
pub(crate) fn media_set_devices(
    calls: State<'_, MediaCalls>,
    id: u32,
    input: Option<String>,
    output: Option<String>,
) -> Result<(), MediaFailure> {
    calls.send(id, Request::Devices(input, output))
}

/// The call's statistics (the shim's `getStats`).
#[tauri::command]
pub(crate) async fn media_stats(
    calls: State<'_, MediaCalls>,
    id: u32,
) -> Result<CallStats, MediaFailure> {
    calls.ask(id, Request::Stats).await
}

/// Ends the call's audio; closing an ended call is fine. Answers how many calls are still running.
#[tauri::command]
pub(crate) fn media_close(calls: State<'_, MediaCalls>, id: u32) -> usize {
    if let Some(sender) = calls.lock().remove(&id) {
        let _ = sender.send(Request::Close);
    }
    calls.len()
}

/// Why the diagnostics' microphone test failed, serialized `{ kind, message }` with the browser's error names
/// (`NotFoundError`, `NotReadableError`) so the screen words both routes alike.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct MicTestFailure(#[from] MicTestError);

impl Serialize for MicTestFailure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("MicTestFailure", 2)?;
        let kind = match self.0 {
            MicTestError::NotFound(_) => "NotFoundError",
            MicTestError::Unusable(_) => "NotReadableError",
        };
        s.serialize_field("kind", kind)?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// The longest microphone test the page may ask for.
const MIC_TEST_MAX: Duration = Duration::from_secs(30);

/// The diagnostics' microphone test where the webview cannot capture (the shim): listens to the microphone
/// `input` (`None`/`"default"`: the system's) for `ms` (at most 30 s), sends its level (0‥1) on `on_level`
/// every 100 ms and answers the peak. Ends early when the page stops listening.
#[tauri::command]
pub(crate) async fn media_mic_test(
    input: Option<String>,
    ms: u64,
    on_level: Channel<f64>,
) -> Result<f64, MicTestFailure> {
    let duration = Duration::from_millis(ms).min(MIC_TEST_MAX);
    tauri::async_runtime::spawn_blocking(move || {
        mic_test(&AudioHost::new(), input.as_deref(), duration, |level| {
            on_level.send(level).is_ok()
        })
    })
    .await
    .map_err(|e| MicTestError::Unusable(e.to_string()))?
    .map_err(MicTestFailure)
}

/// Whether the page may use the native engine (`TSUNAGI_NATIVE_AUDIO=off` turns it off).
fn enabled() -> bool {
    !matches!(
        std::env::var("TSUNAGI_NATIVE_AUDIO").as_deref(),
        Ok("off" | "0" | "false")
    )
}

/// Tells every page, before its scripts run, whether native call audio is on
/// (`window.__TSUNAGI_NATIVE_AUDIO__`, read by `ui/src/lib/webrtc/index.ts`).
pub(crate) fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    let on = enabled();
    tracing::info!(
        native_audio = on,
        "native call audio for webviews without WebRTC"
    );
    tauri::plugin::Builder::new("native-audio")
        .js_init_script(format!(
            "Object.defineProperty(window, '__TSUNAGI_NATIVE_AUDIO__', {{ value: {on} }});"
        ))
        .build()
}

/// A page that (re)loads has no calls: close whatever its previous document left running.
pub(crate) fn on_page_load<R: Runtime>(webview: &Webview<R>, payload: &PageLoadPayload<'_>) {
    if payload.event() == PageLoadEvent::Started {
        webview.state::<MediaCalls>().close_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ip_towards_loopback_is_loopback() {
        assert_eq!(
            local_ip(Some(Ipv4Addr::LOCALHOST.into())),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
        assert!(!local_ip(None).is_unspecified());
    }

    #[test]
    fn failures_serialize_kind_and_message() {
        let json = serde_json::to_value(MediaFailure::Media(MediaError::Device(
            "no microphone is connected".into(),
        )))
        .unwrap();
        assert_eq!(json["kind"], "mediaDevice");
        assert_eq!(json["message"], "audio device: no microphone is connected");
        let json = serde_json::to_value(MediaFailure::Ended).unwrap();
        assert_eq!(json["kind"], "mediaEnded");
    }

    #[test]
    fn mic_test_failures_carry_the_browser_error_names() {
        let json = |e| serde_json::to_value(MicTestFailure(e)).unwrap();
        assert_eq!(
            json(MicTestError::NotFound("no microphone is connected".into())),
            serde_json::json!({ "kind": "NotFoundError", "message": "no microphone is connected" })
        );
        assert_eq!(
            json(MicTestError::Unusable("busy".into()))["kind"],
            "NotReadableError"
        );
    }

    #[test]
    fn unknown_calls_are_ended() {
        let calls = MediaCalls::default();
        assert!(matches!(
            calls.send(7, Request::Mute(true)),
            Err(MediaFailure::Ended)
        ));
        calls.close_all();
        assert_eq!(calls.len(), 0);
    }
}
