//! The tokio driver on real UDP sockets on 127.0.0.1: two calls exchange tones both ways, mute silences one
//! direction, close ends the task.

use std::net::Ipv4Addr;
use std::time::Duration;

use tsunagi_media::driver::{Call, ToneAudio};
use tsunagi_media::tone::tone_share;
use tsunagi_media::{EndpointConfig, EndpointEvent};

async fn wait_connected(call: &mut Call) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = call.next_event().await {
            if e == EndpointEvent::Connected {
                return;
            }
        }
        panic!("call ended before connecting");
    })
    .await
    .expect("connected within 10 s");
}

fn last_second(audio: &ToneAudio) -> Vec<i16> {
    let h = audio.heard();
    h[h.len().saturating_sub(48_000)..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_exchange_tones_over_udp() {
    let ip = Ipv4Addr::LOCALHOST.into();
    let a_audio = ToneAudio::new(Some(440.0), 96_000);
    let b_audio = ToneAudio::new(Some(1_000.0), 96_000);
    let mut a = Call::start(ip, EndpointConfig::default(), Box::new(a_audio.clone()))
        .await
        .unwrap();
    let mut b = Call::start(ip, EndpointConfig::default(), Box::new(b_audio.clone()))
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    assert!(
        offer.contains(&format!("{} typ host", a.local_addr().port())),
        "{offer}"
    );
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    wait_connected(&mut a).await;
    wait_connected(&mut b).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    assert!(tone_share(&last_second(&b_audio), 440.0) > 0.8);
    assert!(tone_share(&last_second(&a_audio), 1_000.0) > 0.8);
    let s = b.stats().await.unwrap();
    assert!(s.packets_received > 50 && s.packets_lost == 0, "{s:?}");

    a.set_muted(true);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(last_second(&b_audio).iter().all(|s| s.abs() < 20), "muted");

    a.close();
    tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(e) = a.next_event().await {
            if e == EndpointEvent::Closed {
                break;
            }
        }
        while !a.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("task ends after close");
    assert!(
        a.stats().await.is_err(),
        "commands after the end fail cleanly"
    );
}
