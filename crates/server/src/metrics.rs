//! Process counters exposed at `/metrics` in the Prometheus text format. Plain atomics: no labels beyond the few
//! fixed ones below, no phone numbers, no identities.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    http_by_class: [AtomicU64; 5],
    /// Webhooks accepted and acted on.
    pub webhooks_accepted: AtomicU64,
    /// Webhook retries recognised as duplicates.
    pub webhooks_duplicate: AtomicU64,
    /// Webhooks answered 503 because another delivery of the same key was in flight.
    pub webhooks_busy: AtomicU64,
    /// Webhook claims taken over from a dead instance or after their lease (the work ran again).
    pub webhooks_taken_over: AtomicU64,
    /// Webhooks refused for a missing or bad signature.
    pub webhooks_rejected: AtomicU64,
    /// Access Tokens issued.
    pub tokens_issued: AtomicU64,
    /// Answers `426 CLIENT_UPGRADE_REQUIRED`.
    pub upgrade_required: AtomicU64,
    /// Open `/v1/events` sockets.
    pub ws_open: AtomicI64,
}

impl Metrics {
    /// Counts one response.
    pub fn count_status(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_by_class[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Renders the Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# TYPE tsunagi_http_responses_total counter\n");
        for (i, c) in self.http_by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "tsunagi_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        let counters = [
            ("tsunagi_webhooks_accepted_total", &self.webhooks_accepted),
            ("tsunagi_webhooks_duplicate_total", &self.webhooks_duplicate),
            ("tsunagi_webhooks_busy_total", &self.webhooks_busy),
            (
                "tsunagi_webhooks_taken_over_total",
                &self.webhooks_taken_over,
            ),
            ("tsunagi_webhooks_rejected_total", &self.webhooks_rejected),
            ("tsunagi_tokens_issued_total", &self.tokens_issued),
            ("tsunagi_upgrade_required_total", &self.upgrade_required),
        ];
        for (name, c) in counters {
            let _ = writeln!(
                out,
                "# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# TYPE tsunagi_events_sockets gauge\ntsunagi_events_sockets {}",
            self.ws_open.load(Ordering::Relaxed)
        );
        out
    }
}

/// Middleware counting every response by status class.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    state.metrics.count_status(resp.status().as_u16());
    resp
}
