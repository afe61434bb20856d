//! Two of our own media legs over real UDP on 127.0.0.1: ICE-lite offerer (the stand-in's role) and a full-ICE
//! answerer (the browser's role) complete ICE + DTLS-SRTP and each detects the other's tone.

use std::time::{Duration, Instant};

use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg, PendingOffer};

fn near(hz: Option<f64>, want: f64) -> bool {
    hz.is_some_and(|h| (h - want).abs() < 5.0)
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legs_connect_and_hear_each_others_tone() {
    let cfg = MediaConfig::default();
    let (pending, offer) = PendingOffer::new(
        &cfg,
        LegOptions {
            ice_lite: true,
            tone_hz: Some(440.0),
        },
    )
    .unwrap();
    assert!(
        offer.contains("\r\nm=audio "),
        "CRLF SDP with an audio line: {offer}"
    );
    assert!(offer.contains("a=ice-lite"), "{offer}");
    assert!(offer.contains("PCMU/8000"), "{offer}");
    assert!(
        offer.contains(&format!("127.0.0.1 {}", pending.local_addr().port())),
        "host candidate: {offer}"
    );

    let (browser, answer) = MediaLeg::answer(
        &cfg,
        &offer,
        LegOptions {
            ice_lite: false,
            tone_hz: Some(1000.0),
        },
    )
    .unwrap();
    let edge = pending.accept(&answer).unwrap();

    wait_for("both legs connected", || {
        edge.is_connected() && browser.is_connected()
    })
    .await;
    wait_for("edge hears 1000 Hz", || {
        near(edge.report().dominant_hz, 1000.0)
    })
    .await;
    wait_for("browser hears 440 Hz", || {
        near(browser.report().dominant_hz, 440.0)
    })
    .await;
    let r = edge.report();
    assert!(r.rms > 3_000.0, "tone level arrives: {r:?}");

    // Silence the browser side: packets keep coming, the level drops to zero.
    browser.set_tone(None);
    let before = edge.report().packets;
    wait_for("edge hears silence", || {
        let r = edge.report();
        r.rms < 1.0 && r.dominant_hz.is_none() && r.packets > before + 15
    })
    .await;

    // A different tone is told apart.
    edge.set_tone(Some(1500.0));
    wait_for("browser hears 1500 Hz", || {
        near(browser.report().dominant_hz, 1500.0)
    })
    .await;
}

#[tokio::test]
async fn garbage_sdp_is_an_error_not_a_panic() {
    let cfg = MediaConfig::default();
    assert!(MediaLeg::answer(&cfg, "not sdp", LegOptions::default()).is_err());
    let (pending, _) = PendingOffer::new(&cfg, LegOptions::default()).unwrap();
    assert!(pending.accept("v=0\r\nnonsense").is_err());
}

/// Opus only (the `opus` feature, Debian's libopus): both legs encode and decode Opus at 48 kHz and still tell
/// the tones apart at 8 kHz.
#[cfg(feature = "opus")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_only_legs_hear_each_others_tone() {
    let cfg = MediaConfig {
        pcmu: false,
        ..MediaConfig::default()
    };
    let (pending, offer) = PendingOffer::new(
        &cfg,
        LegOptions {
            ice_lite: true,
            tone_hz: Some(440.0),
        },
    )
    .unwrap();
    assert!(offer.contains("opus/48000/2"), "{offer}");
    assert!(!offer.contains("PCMU/8000"), "{offer}");
    let (browser, answer) = MediaLeg::answer(
        &cfg,
        &offer,
        LegOptions {
            ice_lite: false,
            tone_hz: Some(1000.0),
        },
    )
    .unwrap();
    let edge = pending.accept(&answer).unwrap();
    wait_for("edge hears 1000 Hz over Opus", || {
        near(edge.report().dominant_hz, 1000.0)
    })
    .await;
    wait_for("browser hears 440 Hz over Opus", || {
        near(browser.report().dominant_hz, 440.0)
    })
    .await;
    assert!(edge.report().rms > 1_000.0, "{:?}", edge.report());
}

/// With no codec to offer (PCMU off, and Opus off or not compiled into tsunagi-media) a leg cannot exist: an
/// error, not a silent leg. Whether Opus is compiled in follows tsunagi-media's feature, which a workspace build
/// unifies (the app turns it on), so the case is built from what is really available.
#[tokio::test]
async fn a_leg_without_any_codec_is_an_error() {
    let cfg = MediaConfig {
        pcmu: false,
        opus: false,
        ..MediaConfig::default()
    };
    assert!(matches!(
        PendingOffer::new(&cfg, LegOptions::default()),
        Err(tsunagi_twilio_sim::media::MediaError::NoCodec)
    ));
    if !tsunagi_media::CodecKind::Opus.is_available() {
        let opus_only = MediaConfig {
            pcmu: false,
            ..MediaConfig::default()
        };
        assert!(matches!(
            PendingOffer::new(&opus_only, LegOptions::default()),
            Err(tsunagi_twilio_sim::media::MediaError::NoCodec)
        ));
    }
}
