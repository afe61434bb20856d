//! `tsunagi-bench <scenario>`: runs one scenario against an in-process stand-in and server, prints its JSON
//! result on stdout (and to `--out`), and exits 1 when an invariant is violated, 2 when the scenario could not
//! run. `--quick` picks small sizes for `./scripts/test`; `./scripts/bench` runs the full sizes.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tsunagi_bench::agent::Behaviour;
use tsunagi_bench::device::Media;
use tsunagi_bench::report::Report;
use tsunagi_bench::scenarios::{
    call_storm, failover, memory, presence_fanout, reconnect_storm, ring_latency,
};

#[derive(Parser)]
#[command(
    name = "tsunagi-bench",
    about = "Tsunagi under load: load agents against the stand-in and the server"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Small sizes, for CI (overridden by explicit sizes).
    #[arg(long, global = true)]
    quick: bool,
    /// Also write the JSON result to this file.
    #[arg(long, global = true)]
    out: Option<std::path::PathBuf>,
}

#[derive(Args, Clone, Copy)]
struct AgentArgs {
    /// Ring → Answer (ms).
    #[arg(long, default_value_t = 100)]
    answer_ms: u64,
    /// Connected → hang up (ms).
    #[arg(long, default_value_t = 300)]
    talk_ms: u64,
    /// Wrap-up → complete (ms).
    #[arg(long, default_value_t = 100)]
    wrap_ms: u64,
}

impl AgentArgs {
    fn behaviour(self) -> Behaviour {
        Behaviour {
            answer_after: Duration::from_millis(self.answer_ms),
            talk_for: Duration::from_millis(self.talk_ms),
            wrap_for: Duration::from_millis(self.wrap_ms),
        }
    }
}

#[derive(Subcommand)]
enum Scenario {
    /// Calls created at the stand-in → `Ringing` in the owning agent's core (p50/p99/max).
    RingLatency {
        /// Agents (default 300; --quick 20).
        #[arg(long)]
        agents: Option<usize>,
        /// Calls (default 1000; --quick 100).
        #[arg(long)]
        calls: Option<usize>,
        /// Calls open at once (default: half the agents).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Calls placed per second (0: as fast as the concurrency allows).
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        #[command(flatten)]
        agent: AgentArgs,
    },
    /// Every EventBridge socket dropped at once while calls arrive; time to all Available again.
    ReconnectStorm {
        /// Agents (default 300; --quick 30).
        #[arg(long)]
        agents: Option<usize>,
        /// Calls placed right after the drop (default: a tenth of the agents).
        #[arg(long)]
        calls: Option<usize>,
        #[command(flatten)]
        agent: AgentArgs,
    },
    /// Presence changes → every change in the supervisor's roster (p50/p99).
    PresenceFanout {
        /// Agents (default 300; --quick 30).
        #[arg(long)]
        agents: Option<usize>,
        /// Window over which one round of changes is spread, ms.
        #[arg(long, default_value_t = 1000)]
        spread_ms: u64,
        /// The server's roster push interval, ms.
        #[arg(long, default_value_t = 250)]
        roster_interval_ms: u64,
    },
    /// Customers call the stand-in number at a steady rate; agents with real Devices take every call through
    /// the server's webhooks (Enqueue → workflow → assignment → conference).
    CallStorm {
        /// Agents (default 300; --quick 30).
        #[arg(long)]
        agents: Option<usize>,
        /// Calls per second (default 20; --quick 2).
        #[arg(long)]
        rate: Option<f64>,
        /// How long calls keep arriving, s (default 300; --quick 15).
        #[arg(long)]
        duration_s: Option<u64>,
        /// Ring → Answer, ms (default 500; --quick 200).
        #[arg(long)]
        answer_ms: Option<u64>,
        /// Connected → hang up, ms (default 8000; --quick 1000).
        #[arg(long)]
        talk_ms: Option<u64>,
        /// Wrap-up → complete, ms (default 2000; --quick 300).
        #[arg(long)]
        wrap_ms: Option<u64>,
        /// Keep a real WebRTC leg (ICE, DTLS-SRTP, RTP) per answered call instead of signaling only.
        #[arg(long)]
        rtp: bool,
        /// A pending call next to an idle Available worker for longer than this counts, ms.
        #[arg(long, default_value_t = 1000)]
        grace_ms: u64,
    },
    /// Two server processes on one PostgreSQL behind a balancer; each is killed (SIGKILL) and restarted while
    /// calls are in progress. Needs DATABASE_URL=postgres://… (scripts/with-postgres).
    Failover {
        /// Agents (default 20; --quick 8).
        #[arg(long)]
        agents: Option<usize>,
        /// Calls per second (default 2; --quick 1).
        #[arg(long)]
        rate: Option<f64>,
        /// How long calls keep arriving, s (default 60; --quick 20).
        #[arg(long)]
        duration_s: Option<u64>,
        /// How long each instance stays down, s (default 5; --quick 3).
        #[arg(long)]
        down_s: Option<u64>,
        /// Connected → hang up, ms (default 8000; --quick 3000).
        #[arg(long)]
        talk_ms: Option<u64>,
        /// The tsunagi-server binary (default: next to this binary).
        #[arg(long)]
        server_bin: Option<std::path::PathBuf>,
    },
    /// Idle RSS of the Tauri app vs the same UI in a Chromium --app= window, side by side, and install sizes.
    /// Needs a display (xvfb-run … dbus-run-session, as scripts/bench runs it).
    Memory {
        /// The app binary.
        #[arg(long, default_value = "target/release/tsunagi")]
        app: std::path::PathBuf,
        /// Chromium.
        #[arg(long, default_value = "/usr/bin/chromium")]
        chromium: std::path::PathBuf,
        /// The built UI.
        #[arg(long, default_value = "ui/dist")]
        ui: std::path::PathBuf,
        /// Where `tauri build` leaves the .deb.
        #[arg(long, default_value = "target/release/bundle/deb")]
        deb_dir: std::path::PathBuf,
        /// Seconds from start to the first sample.
        #[arg(long, default_value_t = 20)]
        settle_s: u64,
    },
}

/// Logs go to stderr, off unless `RUST_LOG` asks (under load, the server's per-request errors would drown the
/// output; they are counted in the results as `server_5xx`).
fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tsunagi-bench: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(&cli));
    // Agents, the stand-in and the server die with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(report) => finish(&cli, &report),
        Err(e) => {
            eprintln!("tsunagi-bench: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<Report> {
    let q = |quick: usize, full: usize| if cli.quick { quick } else { full };
    Ok(match cli.scenario {
        Scenario::RingLatency {
            agents,
            calls,
            concurrency,
            rate,
            agent,
        } => {
            let agents = agents.unwrap_or(q(20, 300));
            ring_latency::run(ring_latency::Params {
                agents,
                calls: calls.unwrap_or(q(100, 1000)),
                concurrency: concurrency.unwrap_or((agents / 2).max(1)),
                rate,
                behaviour: agent.behaviour(),
            })
            .await?
        }
        Scenario::ReconnectStorm {
            agents,
            calls,
            agent,
        } => {
            let agents = agents.unwrap_or(q(30, 300));
            reconnect_storm::run(reconnect_storm::Params {
                agents,
                storm_calls: calls.unwrap_or((agents / 10).max(1)),
                behaviour: agent.behaviour(),
            })
            .await?
        }
        Scenario::PresenceFanout {
            agents,
            spread_ms,
            roster_interval_ms,
        } => {
            presence_fanout::run(presence_fanout::Params {
                agents: agents.unwrap_or(q(30, 300)),
                spread: Duration::from_millis(spread_ms),
                roster_interval_ms,
            })
            .await?
        }
        Scenario::CallStorm {
            agents,
            rate,
            duration_s,
            answer_ms,
            talk_ms,
            wrap_ms,
            rtp,
            grace_ms,
        } => {
            let ms = |v: Option<u64>, quick: u64, full: u64| {
                Duration::from_millis(v.unwrap_or(if cli.quick { quick } else { full }))
            };
            call_storm::run(call_storm::Params {
                agents: agents.unwrap_or(q(30, 300)),
                rate: rate.unwrap_or(if cli.quick { 2.0 } else { 20.0 }),
                duration: Duration::from_secs(duration_s.unwrap_or(q(15, 300) as u64)),
                behaviour: Behaviour {
                    answer_after: ms(answer_ms, 200, 500),
                    talk_for: ms(talk_ms, 1000, 8000),
                    wrap_for: ms(wrap_ms, 300, 2000),
                },
                media: if rtp { Media::Rtp } else { Media::Signaling },
                grace: Duration::from_millis(grace_ms),
            })
            .await?
        }
        Scenario::Failover {
            agents,
            rate,
            duration_s,
            down_s,
            talk_ms,
            ref server_bin,
        } => {
            let admin_url = std::env::var("DATABASE_URL")
                .ok()
                .filter(|u| u.starts_with("postgres"))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "failover needs PostgreSQL: DATABASE_URL=postgres://… (run under scripts/with-postgres)"
                    )
                })?;
            let server_bin = server_bin
                .clone()
                .or_else(tsunagi_bench::cluster::default_server_bin)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no tsunagi-server binary next to this one: cargo build -p tsunagi-server, or --server-bin"
                    )
                })?;
            failover::run(failover::Params {
                agents: agents.unwrap_or(q(8, 20)),
                rate: rate.unwrap_or(if cli.quick { 1.0 } else { 2.0 }),
                duration: Duration::from_secs(duration_s.unwrap_or(q(20, 60) as u64)),
                down_for: Duration::from_secs(down_s.unwrap_or(q(3, 5) as u64)),
                behaviour: Behaviour {
                    answer_after: Duration::from_millis(300),
                    talk_for: Duration::from_millis(talk_ms.unwrap_or(if cli.quick {
                        3000
                    } else {
                        8000
                    })),
                    wrap_for: Duration::from_millis(500),
                },
                server_bin,
                admin_url,
            })
            .await?
        }
        Scenario::Memory {
            ref app,
            ref chromium,
            ref ui,
            ref deb_dir,
            settle_s,
        } => {
            memory::run(memory::Params {
                app: app.clone(),
                chromium: chromium.clone(),
                ui: ui.clone(),
                deb_dir: deb_dir.clone(),
                settle: Duration::from_secs(settle_s),
            })
            .await?
        }
    })
}

fn finish(cli: &Cli, report: &Report) -> std::process::ExitCode {
    let text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    println!("{text}");
    if let Some(path) = &cli.out {
        if let Err(e) = std::fs::write(path, format!("{text}\n")) {
            eprintln!("tsunagi-bench: cannot write {}: {e}", path.display());
            return std::process::ExitCode::from(2);
        }
    }
    if report.ok {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!(
            "tsunagi-bench: {} invariants violated: {:?}",
            report.scenario, report.invariants
        );
        std::process::ExitCode::from(1)
    }
}
