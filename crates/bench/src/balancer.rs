//! A TCP load balancer in front of several server instances, as a deployment puts one in front of the
//! companion server: each new connection goes to the next backend round-robin; a backend that refuses the
//! connection (its process is gone) is skipped, so new requests fail over at once. Connections already open to
//! an instance die with it (the client sees a reset, as behind a real L4 balancer): Twilio's webhook retries,
//! the core's token retries and the event socket's reconnect are what carry the product through.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// Counters of the balancer.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections forwarded, per backend.
    pub forwarded: Vec<AtomicU64>,
    /// Connections no backend accepted.
    pub refused: AtomicU64,
    /// Connect attempts that found a backend down (and moved to the next).
    pub skipped: AtomicU64,
}

/// A running balancer.
#[derive(Debug)]
pub struct Balancer {
    /// Its public address.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Balancer {
    /// Serves `listener`, forwarding to `backends`.
    pub fn spawn(listener: TcpListener, backends: Vec<SocketAddr>) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats {
            forwarded: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            ..Stats::default()
        });
        let next = Arc::new(AtomicUsize::new(0));
        let (s, backends) = (stats.clone(), Arc::new(backends));
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (s, backends, next) = (s.clone(), backends.clone(), next.clone());
                tokio::spawn(async move { forward(client, &backends, &next, &s).await });
            }
        });
        Ok(Self { addr, stats, task })
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn forward(mut client: TcpStream, backends: &[SocketAddr], next: &AtomicUsize, s: &Stats) {
    let start = next.fetch_add(1, Ordering::Relaxed);
    for k in 0..backends.len() {
        let i = (start + k) % backends.len();
        match TcpStream::connect(backends[i]).await {
            Ok(mut upstream) => {
                s.forwarded[i].fetch_add(1, Ordering::Relaxed);
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                // Ends when either side closes or resets.
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                return;
            }
            Err(_) => {
                s.skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    s.refused.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn a_dead_backend_is_skipped_and_the_live_one_answers() {
        let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        // A port nobody listens on.
        let dead_addr = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        tokio::spawn(async move {
            loop {
                let (mut c, _) = live.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4];
                    c.read_exact(&mut buf).await.unwrap();
                    c.write_all(&buf).await.unwrap();
                });
            }
        });
        let lb = Balancer::spawn(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            vec![dead_addr, live_addr],
        )
        .unwrap();
        for _ in 0..4 {
            let mut c = TcpStream::connect(lb.addr).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
        }
        assert_eq!(lb.stats.forwarded[1].load(Ordering::Relaxed), 4);
        assert_eq!(lb.stats.forwarded[0].load(Ordering::Relaxed), 0);
        assert!(lb.stats.skipped.load(Ordering::Relaxed) >= 2);
    }
}
