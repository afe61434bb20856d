//! `failover`: two `tsunagi-server` processes on one PostgreSQL database behind a load balancer
//! ([`crate::cluster`]), agents with real Devices, customers calling at a steady rate; mid-call, instance A is
//! killed (`SIGKILL`) and later restarted, then the same is done to instance B. The calls carry on (the media
//! and the conference live at Twilio, here the stand-in), and nothing may be lost:
//!
//! - every call placed is answered once and completed (`lost`, `double`: the same judgement as `call-storm`);
//! - call control works through the surviving instance: each call in progress while an instance is down is put
//!   on hold and taken off hold through the balancer (`control_failed` counts non-2xx answers);
//! - every TaskRouter event the stand-in posted has exactly one webhook receipt at the server (receipts are
//!   keyed by the event's `Sid`; a delivery cut by the kill is retried by the stand-in and lands on the other
//!   instance) (`webhooks_not_once`);
//! - every agent's `/v1/events` socket comes back after its instance died (`stuck` counts sockets down at the
//!   end, devices not registered, agents or workers not Available).
//!
//! Needs PostgreSQL: `DATABASE_URL=postgres://…` (run it under `scripts/with-postgres`) and the
//! `tsunagi-server` binary (built next to the bench binary, or `--server-bin`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{json, Value};
use sqlx::Row as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use tsunagi_core::TaskSid;

use super::call_storm::{judge, live_tasks, settled_rows, Placed, Verdict};
use super::{ms, populate_on, workers_not_in, Population};
use crate::agent::{Behaviour, Voice};
use crate::cluster::{fresh_postgres, Cluster};
use crate::device::Media;
use crate::report::{Invariants, Report};
use crate::stack::{Stack, StackConfig, CLIENT_VERSION};
use crate::stats::Summary;
use crate::BenchError;

/// Parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// Agents signed in.
    pub agents: usize,
    /// Calls per second.
    pub rate: f64,
    /// How long calls keep arriving (the kills happen at 25 % and 65 % of it).
    pub duration: Duration,
    /// How long an instance stays down.
    pub down_for: Duration,
    /// The agents' behaviour (talk long enough for calls to span a kill).
    pub behaviour: Behaviour,
    /// The `tsunagi-server` binary.
    pub server_bin: PathBuf,
    /// The PostgreSQL server to create the database on (`DATABASE_URL`).
    pub admin_url: String,
}

/// What the event sockets saw.
#[derive(Debug, Default)]
struct Sockets {
    /// Per agent: (connected at, dropped at) history.
    up: Vec<Vec<Instant>>,
    down: Vec<Vec<Instant>>,
    /// Tasks whose `call.ended` reached their agent.
    ended: HashSet<String>,
    /// Tasks whose `call.context` reached their agent.
    context: HashSet<String>,
}

/// One kill-and-restart of an instance, as measured.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct Outage {
    instance: usize,
    calls_in_progress_at_kill: usize,
    control_requests: usize,
    control_failed: usize,
    /// Failed requests by outcome (`HTTP 503`, `transport: …`).
    control_failures: HashMap<String, usize>,
    restart_to_healthy_ms: f64,
}

/// Runs the scenario.
pub async fn run(p: Params) -> Result<Report, BenchError> {
    let started = Instant::now();
    let db_url = fresh_postgres(&p.admin_url).await?;
    let mut cluster = Cluster::bind(2, &p.server_bin, &db_url).await?;
    let cfg = StackConfig {
        agents: p.agents,
        roster_interval_ms: 1000,
        voice: Voice::Device(Media::Signaling),
    };
    let stack = Stack::start_external(cfg, &cluster.url(), &db_url).await?;
    cluster.start_all(&stack.sim.base_url(), 1000).await?;
    // Whatever the stand-in posted before any instance was up is not the scenario's business.
    let baseline = Baseline::now(&stack).await?;
    let pop = populate_on(stack, cfg, p.behaviour).await?;
    let (stack, recorder) = (&pop.stack, &pop.recorder);
    let allowance = stack.allowance(Duration::from_secs(10));
    let t_reg = Instant::now();
    while pop.agents.iter().any(|a| !registered(a)) && t_reg.elapsed() < allowance {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unregistered = pop.agents.iter().filter(|a| !registered(a)).count();

    let stop = Arc::new(AtomicBool::new(false));
    let sockets = Arc::new(Mutex::new(Sockets {
        up: vec![Vec::new(); p.agents],
        down: vec![Vec::new(); p.agents],
        ..Sockets::default()
    }));
    let watchers: Vec<_> = pop
        .agents
        .iter()
        .map(|a| {
            tokio::spawn(events_socket(
                stack.server_url.clone(),
                a.session.clone(),
                a.index,
                sockets.clone(),
                stop.clone(),
            ))
        })
        .collect();

    let total = (p.rate * p.duration.as_secs_f64()).round() as usize;
    let stall = p.behaviour.answer_after
        + p.behaviour.talk_for
        + p.behaviour.wrap_for
        + Duration::from_secs(30);
    let mut placed: Vec<Placed> = Vec::with_capacity(total);
    let mut place_errors = 0usize;
    let mut outages: Vec<Outage> = Vec::new();
    let plan = [
        (p.duration.mul_f64(0.25), 0usize),
        (p.duration.mul_f64(0.65), 1usize),
    ];
    let placing = Instant::now();
    let mut step = 0usize;
    let mut down: Option<(usize, Instant, Outage)> = None;
    for n in 0..total {
        let due = placing + Duration::from_secs_f64(n as f64 / p.rate);
        tokio::time::sleep_until(due.into()).await;
        // Kill, probe call control while down, restart: between two placements.
        if let Some((i, killed, mut o)) = down.take() {
            if o.control_requests == 0 && killed.elapsed() >= Duration::from_secs(1) {
                let (req, failures) = control_round(&pop).await;
                o.control_requests = req;
                o.control_failed = failures.values().sum();
                o.control_failures = failures;
            }
            if killed.elapsed() >= p.down_for {
                o.restart_to_healthy_ms = ms(cluster.start(i).await?);
                outages.push(o);
            } else {
                down = Some((i, killed, o));
            }
        } else if let Some(&(at, i)) = plan.get(step) {
            if placing.elapsed() >= at {
                step += 1;
                let in_progress = in_progress(&pop).len();
                cluster.kill(i).await;
                down = Some((
                    i,
                    Instant::now(),
                    Outage {
                        instance: i,
                        calls_in_progress_at_kill: in_progress,
                        ..Outage::default()
                    },
                ));
            }
        }
        match stack.place_call(&format!("+8190{:08}", n)).await {
            Ok(sid) => placed.push(Placed {
                sid,
                at: Instant::now(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "placing a call failed");
                place_errors += 1;
            }
        }
    }
    if let Some((i, _, o)) = down.take() {
        cluster.start(i).await?;
        outages.push(o);
    }
    let count = placed.len();
    let drained = recorder
        .wait_for(stall, |log| log.ended.len() >= count)
        .await
        .is_ok();
    let _ = recorder
        .wait_for(Duration::from_secs(10), |log| log.not_available() == 0)
        .await;
    // Give the event sockets a moment to be back on their feet, then stop them.
    let t_sock = Instant::now();
    while t_sock.elapsed() < Duration::from_secs(10) && sockets_down(&sockets) > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sockets_down_at_end = sockets_down(&sockets);
    stop.store(true, Ordering::Relaxed);
    for w in watchers {
        w.abort();
    }

    // Judge every call, as in the call storm.
    let rows = settled_rows(stack, &placed).await?;
    let by_call: HashMap<&str, &super::call_storm::Row> = rows
        .iter()
        .filter_map(|(call, row)| Some((call.as_deref()?, row)))
        .collect();
    let seen = stack.sim_calls().await?;
    let (mut lost, mut double) = (place_errors, 0usize);
    let mut lost_why: HashMap<&'static str, usize> = HashMap::new();
    let mut lost_detail: Vec<Value> = Vec::new();
    let mut recovered: Vec<Value> = Vec::new();
    let stuck_agents = {
        let log = recorder.lock();
        for c in &placed {
            match judge(
                c,
                by_call.get(c.sid.as_str()).copied(),
                seen.get(&c.sid),
                &log,
            ) {
                Verdict::Ok { .. } => {}
                Verdict::Recovered { errors, .. } => recovered.push(json!({
                    "placed_at_s": ms(c.at.saturating_duration_since(placing)) / 1000.0,
                    "twilio_errors": errors,
                })),
                Verdict::Double => double += 1,
                Verdict::Lost(why) => {
                    lost += 1;
                    *lost_why.entry(why).or_default() += 1;
                    let row = by_call.get(c.sid.as_str());
                    lost_detail.push(json!({
                        "why": why,
                        "placed_at_s": ms(c.at.saturating_duration_since(placing)) / 1000.0,
                        "task": row.map(|r| r.task.clone()),
                        "server_status": row.map(|r| r.status.clone()),
                        "server_agent": row.map(|r| r.agent.is_some()),
                        "server_conference": row.map(|r| r.conference.is_some()),
                        "customer_leg": seen.get(&c.sid).map(|v| json!({"status": v["status"], "errors": v["errors"]})),
                    }));
                }
            }
        }
        log.not_available()
    };
    let completed_tasks: Vec<&str> = placed
        .iter()
        .filter_map(|c| by_call.get(c.sid.as_str()).map(|r| r.task.as_str()))
        .collect();

    let hooks = webhooks(stack, &baseline).await?;
    let live = live_tasks(stack).await?;
    let stuck_workers = workers_not_in(stack, "Available").await?;
    let mut duplicates_ignored = 0;
    for i in 0..cluster.instances.len() {
        duplicates_ignored += cluster
            .metric(i, "tsunagi_webhooks_duplicate_total")
            .await
            .unwrap_or(0);
    }
    let (reconnects, ended_missing, context_missing) = {
        let s = sockets.lock().unwrap_or_else(|e| e.into_inner());
        let mut gaps = Vec::new();
        for (downs, ups) in s.down.iter().zip(&s.up) {
            for d in downs {
                if let Some(u) = ups.iter().find(|u| *u > d) {
                    gaps.push(u.saturating_duration_since(*d));
                }
            }
        }
        (
            Summary::of(&gaps),
            completed_tasks
                .iter()
                .filter(|t| !s.ended.contains(**t))
                .count(),
            completed_tasks
                .iter()
                .filter(|t| !s.context.contains(**t))
                .count(),
        )
    };
    let control_failed: usize = outages.iter().map(|o| o.control_failed).sum();
    let invariants = Invariants {
        lost,
        double,
        stuck: pop.sign_in_stuck.len()
            + unregistered
            + stuck_agents
            + stuck_workers
            + sockets_down_at_end,
        stuck_wrapping: live.get("wrapping").copied().unwrap_or(0),
        control_failed,
        webhooks_not_once: hooks.missing + hooks.gave_up,
        ..Invariants::default()
    };
    let lb = &cluster.balancer.stats;
    Ok(Report::new(
        "failover",
        json!({
            "agents": p.agents,
            "instances": cluster.instances.len(),
            "database": "postgresql",
            "rate_per_s": p.rate,
            "duration_s": p.duration.as_secs_f64(),
            "down_for_s": p.down_for.as_secs_f64(),
            "answer_after_ms": ms(p.behaviour.answer_after),
            "talk_ms": ms(p.behaviour.talk_for),
            "wrap_ms": ms(p.behaviour.wrap_for),
            "kill": "SIGKILL",
        }),
        json!({
            "calls_placed": placed.len(),
            "place_errors": place_errors,
            "lost_by_reason": lost_by(&lost_why),
            "lost_detail": lost_detail,
            "answered_and_completed_after_a_failed_webhook": recovered,
            "kills_at_s": plan.iter().map(|(at, i)| json!({"instance": i, "at_s": at.as_secs_f64()})).collect::<Vec<_>>(),
            "all_ended": drained,
            "outages": outages,
            "taskrouter_events": hooks.events,
            "webhook_receipts_tr": hooks.receipts,
            "webhook_deliveries_retried_ok": hooks.retried_ok,
            "webhook_deliveries_given_up": hooks.gave_up,
            "webhook_events_without_receipt": hooks.missing,
            "webhook_duplicates_ignored_by_live_instances": duplicates_ignored,
            "events_socket_reconnect": reconnects,
            "events_sockets_down_at_end": sockets_down_at_end,
            "call_ended_push_missed": ended_missing,
            "call_context_push_missed": context_missing,
            "balancer": {
                "forwarded": lb.forwarded.iter().map(|c| c.load(Ordering::Relaxed)).collect::<Vec<_>>(),
                "skipped_dead_backend": lb.skipped.load(Ordering::Relaxed),
                "refused": lb.refused.load(Ordering::Relaxed),
            },
            "live_tasks_at_end": live,
            "devices_unregistered": unregistered,
            "sign_in_stuck": pop.sign_in_stuck,
        }),
        invariants,
        json!({
            "calls_continue_and_nothing_lost": invariants.hold(),
            "note": "call.ended / call.context pushes published while an agent's socket was down are not replayed \
                     (the client resyncs over REST after reconnecting); they are reported, not counted",
        }),
        started,
    ))
}

fn lost_by(m: &HashMap<&'static str, usize>) -> Value {
    json!(m)
}

fn registered(a: &crate::agent::LoadAgent) -> bool {
    a.device.as_ref().is_some_and(|d| d.is_registered())
}

/// Tasks connected and not hung up yet, with the agent holding them.
fn in_progress(pop: &Population) -> Vec<(TaskSid, usize)> {
    let log = pop.recorder.lock();
    log.connected
        .keys()
        .filter(|t| !log.wrapping.contains_key(*t) && !log.ended.contains_key(*t))
        .filter_map(|t| Some((*t, log.rings.get(t)?.first()?.agent)))
        .collect()
}

/// Puts every call in progress on hold and back through the balancer with its agent's session, as the app
/// does (a `409 CONFERENCE_NOT_READY` is retried after 500 ms, spec §5.1); returns the requests made and the
/// failures by outcome. A `409 CALL_ENDED` for a call its agent hung up meanwhile is not a failure.
async fn control_round(pop: &Population) -> (usize, HashMap<String, usize>) {
    let (mut requests, mut failed) = (0, HashMap::new());
    for (task, agent) in in_progress(pop) {
        let Some(a) = pop.agents.get(agent) else {
            continue;
        };
        for op in ["hold", "unhold"] {
            requests += 1;
            if let Some(outcome) = control(pop, &a.session, task, op).await {
                tracing::warn!(%task, outcome, "call control failed during the outage");
                *failed.entry(outcome).or_insert(0) += 1;
            }
        }
    }
    (requests, failed)
}

/// One control request (with the not-ready retries); `None` when it succeeded or the call had ended.
async fn control(pop: &Population, session: &str, task: TaskSid, op: &str) -> Option<String> {
    for _ in 0..4 {
        let sent = pop
            .stack
            .http
            .post(format!("{}/v1/calls/{task}/{op}", pop.stack.server_url))
            .bearer_auth(session)
            .header("X-Client-Version", CLIENT_VERSION)
            .json(&json!({}))
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Some(format!("{op}: transport: {}", transport_kind(&e))),
        };
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return None;
        }
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let code = body["code"].as_str().unwrap_or("").to_owned();
        let hung_up = {
            let log = pop.recorder.lock();
            log.wrapping.contains_key(&task) || log.ended.contains_key(&task)
        };
        match (status, code.as_str()) {
            (409, "CONFERENCE_NOT_READY") => tokio::time::sleep(Duration::from_millis(500)).await,
            (409 | 404, _) if hung_up => return None,
            _ => return Some(format!("{op}: HTTP {status} {code}")),
        }
    }
    Some(format!("{op}: HTTP 409 CONFERENCE_NOT_READY after 4 tries"))
}

/// What kind of transport failure a request met (no URL, no body).
fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "connect"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_request() {
        "connection lost (request)"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "other"
    }
}

fn sockets_down(s: &Mutex<Sockets>) -> usize {
    let s = s.lock().unwrap_or_else(|e| e.into_inner());
    s.up.iter()
        .zip(&s.down)
        .filter(|(u, d)| u.is_empty() || d.last() > u.last())
        .count()
}

/// One agent's `/v1/events` socket through the balancer, reconnecting 100 ms after each loss, recording when
/// it was up and which call pushes it got.
async fn events_socket(
    server: String,
    session: Arc<String>,
    index: usize,
    sockets: Arc<Mutex<Sockets>>,
    stop: Arc<AtomicBool>,
) {
    let url = format!("{}/v1/events", server.replace("http://", "ws://"));
    let record =
        |f: &mut dyn FnMut(&mut Sockets)| f(&mut sockets.lock().unwrap_or_else(|e| e.into_inner()));
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut req) = url.as_str().into_client_request() else {
            return;
        };
        let h = req.headers_mut();
        if let (Ok(auth), Ok(version)) =
            (format!("Bearer {session}").parse(), CLIENT_VERSION.parse())
        {
            h.insert("authorization", auth);
            h.insert("x-client-version", version);
        }
        if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await {
            record(&mut |s| s.up[index].push(Instant::now()));
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(task) = v["task_sid"].as_str() {
                    match v["type"].as_str() {
                        Some("call.ended") => record(&mut |s| {
                            s.ended.insert(task.to_owned());
                        }),
                        Some("call.context") => record(&mut |s| {
                            s.context.insert(task.to_owned());
                        }),
                        _ => {}
                    }
                }
            }
            record(&mut |s| s.down[index].push(Instant::now()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What existed before the scenario: TaskRouter event SIDs and the last stand-in log sequence number.
struct Baseline {
    events: HashSet<String>,
    seq: u64,
}

impl Baseline {
    async fn now(stack: &Stack) -> Result<Self, BenchError> {
        let (events, attempts) = (event_sids(stack).await?, attempts(stack).await?);
        Ok(Self {
            events,
            seq: attempts
                .iter()
                .filter_map(|a| a["seq"].as_u64())
                .max()
                .unwrap_or(0),
        })
    }
}

async fn event_sids(stack: &Stack) -> Result<HashSet<String>, BenchError> {
    let mut events = HashSet::new();
    for page in 0.. {
        let page = page.to_string();
        let (_, body) = stack
            .taskrouter(
                reqwest::Method::GET,
                "Events",
                &[("PageSize", "1000"), ("Page", &page)],
            )
            .await?;
        let list = body["events"].as_array().cloned().unwrap_or_default();
        events.extend(
            list.iter()
                .filter_map(|e| e["sid"].as_str().map(str::to_owned)),
        );
        if list.len() < 1000 {
            break;
        }
    }
    Ok(events)
}

/// The stand-in's `webhook.attempt` log entries.
async fn attempts(stack: &Stack) -> Result<Vec<Value>, BenchError> {
    let resp = stack
        .http
        .get(format!("{}/_sim/events", stack.sim.base_url()))
        .query(&[("kind", "webhook.attempt")])
        .send()
        .await?;
    let log: Value = resp.json().await.unwrap_or(Value::Null);
    Ok(log["log"].as_array().cloned().unwrap_or_default())
}

/// The exactly-once check of the TaskRouter event webhooks.
struct Hooks {
    events: usize,
    receipts: usize,
    missing: usize,
    retried_ok: usize,
    gave_up: usize,
}

/// Every TaskRouter event the stand-in recorded (and posted) since `base`, against the server's `tr:{Sid}`
/// receipts, and the stand-in's delivery log (retries that succeeded, deliveries given up).
async fn webhooks(stack: &Stack, base: &Baseline) -> Result<Hooks, BenchError> {
    let mut events = event_sids(stack).await?;
    events.retain(|e| !base.events.contains(e));
    let rows = sqlx::query(
        "SELECT dedup_key FROM webhook_receipts WHERE dedup_key LIKE 'tr:%' AND done = 1",
    )
    .fetch_all(&stack.state.db.pool)
    .await?;
    let receipts: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .filter_map(|k| k.strip_prefix("tr:").map(str::to_owned))
        .collect();
    let missing = events.iter().filter(|e| !receipts.contains(*e)).count();
    let attempts: Vec<Value> = attempts(stack)
        .await?
        .into_iter()
        .filter(|a| a["seq"].as_u64() > Some(base.seq))
        .collect();
    // The bench's stand-in config retries twice (`webhook_retry_delays_ms`): the third attempt is the last.
    let last_attempt = 3;
    let retried_ok = attempts
        .iter()
        .filter(|a| a["data"]["ok"] == true && a["data"]["attempt"].as_u64() > Some(1))
        .count();
    let gave_up = attempts
        .iter()
        .filter(|a| a["data"]["ok"] == false && a["data"]["attempt"].as_u64() == Some(last_attempt))
        .count();
    Ok(Hooks {
        events: events.len(),
        receipts: receipts.len(),
        missing,
        retried_ok,
        gave_up,
    })
}
