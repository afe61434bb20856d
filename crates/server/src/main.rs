//! `tsunagi-server`: reads the configuration, opens the database, binds and serves until SIGINT/SIGTERM.
//! Admin subcommands (`release …`, `agent add`, `seed`) operate on the same database and need no Twilio secrets;
//! `twilio sync-workflow` and `recordings reconcile` also talk to Twilio.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tsunagi_server::{admin, app, releases, AppState, Config, Db};

#[derive(Debug, Parser)]
#[command(name = "tsunagi-server", version, about = "Tsunagi companion server")]
struct Cli {
    /// Configuration file (TOML); `TSUNAGI__SECTION__KEY` env vars override it.
    #[arg(long, env = "TSUNAGI_CONFIG", default_value = "server.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Desktop releases, update channels and the client version policy.
    #[command(subcommand)]
    Release(ReleaseCmd),
    /// Local agent accounts.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Runs a seed SQL file (departments, customers, …) in one transaction.
    Seed {
        /// The SQL file.
        file: PathBuf,
    },
    /// Configures Twilio (or the stand-in) for this server.
    #[command(subcommand)]
    Twilio(TwilioCmd),
    /// The recording archive.
    #[command(subcommand)]
    Recordings(RecordingsCmd),
}

#[derive(Debug, Subcommand)]
enum RecordingsCmd {
    /// Lists Twilio's recordings of the last `recordings.reconcile_window_secs`, queues the archive job of every
    /// completed one whose callback never arrived, and runs the due jobs (what the worker does nightly).
    Reconcile,
}

#[derive(Debug, Subcommand)]
enum TwilioCmd {
    /// Writes the routing workflow (owner 10 s → department → anyone), its assignment callback and the workspace
    /// event callback, all pointing at `server.public_base_url`.
    SyncWorkflow {
        /// The TaskQueue every agent belongs to (`WQ…`).
        #[arg(long)]
        queue: String,
    },
}

#[derive(Debug, Subcommand)]
enum ReleaseCmd {
    /// Registers a release.
    Add {
        /// Semver version, e.g. 1.2.0.
        version: String,
        /// Release notes.
        #[arg(long, default_value = "")]
        notes: String,
        /// RFC 3339 publication date (default: now).
        #[arg(long)]
        pub_date: Option<String>,
    },
    /// Adds a platform artifact (URL + minisign signature) to a release.
    Artifact {
        /// Release version.
        version: String,
        /// Platform key `{target}-{arch}`, e.g. linux-x86_64, windows-x86_64, darwin-aarch64.
        #[arg(long)]
        platform: String,
        /// Download URL.
        #[arg(long)]
        url: String,
        /// The `.sig` file produced by `tauri signer sign` (its content is the signature).
        #[arg(long, conflicts_with = "signature")]
        signature_file: Option<PathBuf>,
        /// The signature text itself.
        #[arg(long)]
        signature: Option<String>,
    },
    /// Rolls a release out on a channel to a percentage of installs.
    Promote {
        /// Release version.
        version: String,
        /// Channel.
        #[arg(long, default_value = "stable")]
        channel: String,
        /// Share of installs, 0–100.
        #[arg(long, default_value_t = 100.0)]
        percent: f64,
    },
    /// Sends installs on the given versions back to an earlier release, at once.
    Rollback {
        /// Channel.
        #[arg(long, default_value = "stable")]
        channel: String,
        /// Versions to roll back (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        from: Vec<String>,
        /// Release to go back to.
        #[arg(long)]
        to: String,
    },
    /// Pauses a channel's rollout.
    Pause {
        /// Channel.
        #[arg(long, default_value = "stable")]
        channel: String,
    },
    /// Resumes a channel's rollout.
    Resume {
        /// Channel.
        #[arg(long, default_value = "stable")]
        channel: String,
    },
    /// Sets the minimum supported client version and/or the blocked versions.
    Policy {
        /// Oldest client version allowed to get tokens.
        #[arg(long)]
        min_supported: Option<String>,
        /// Comma-separated blocked versions ("" clears).
        #[arg(long)]
        blocked: Option<String>,
    },
    /// Shows a channel.
    Show {
        /// Channel.
        #[arg(long, default_value = "stable")]
        channel: String,
    },
}

#[derive(Debug, Subcommand)]
enum AgentCmd {
    /// Adds a local account. The password is read from `TSUNAGI_AGENT_PASSWORD` or the first line of stdin.
    Add {
        /// Opaque ASCII identity (also the Twilio client identity), e.g. agent_1024.
        #[arg(long)]
        id: String,
        /// Login name.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// TaskRouter worker SID.
        #[arg(long)]
        worker: Option<String>,
        /// Department id.
        #[arg(long)]
        department: Option<String>,
        /// agent | supervisor | admin.
        #[arg(long, default_value = "agent")]
        role: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let config = match command {
        Command::Serve | Command::Twilio(_) | Command::Recordings(_) => Config::load(&cli.config),
        _ => Config::load_for_admin(&cli.config),
    }
    .with_context(|| format!("loading {}", cli.config.display()))?;
    let db = Db::connect(
        &config.database.effective_url(),
        config.database.max_connections,
    )
    .await
    .context("opening the database")?;
    match command {
        Command::Serve => serve(config, db).await,
        Command::Release(cmd) => release(&db, cmd).await,
        Command::Agent(AgentCmd::Add {
            id,
            login,
            name,
            worker,
            department,
            role,
        }) => {
            let password = read_password()?;
            admin::add_agent(
                &db,
                &id,
                &login,
                &name,
                password.as_deref(),
                worker.as_deref(),
                department.as_deref(),
                &role,
            )
            .await?;
            println!("agent {id} added");
            Ok(())
        }
        Command::Twilio(TwilioCmd::SyncWorkflow { queue }) => {
            tsunagi_twilio::TaskQueueSid::parse(&queue).context("--queue")?;
            let rest = tsunagi_server::twilio_rest::TwilioRest::new(&config)?;
            tsunagi_server::workflow::sync(&config, &rest, &queue).await?;
            println!("workflow {} synced", config.twilio.workflow_sid);
            Ok(())
        }
        Command::Recordings(RecordingsCmd::Reconcile) => {
            use tsunagi_server::{db::now_unix, recordings};
            let state = AppState::new(config, db)?;
            let report = recordings::reconcile::run(&state, now_unix()).await?;
            let mut archived = 0;
            loop {
                match recordings::run_due(&state, now_unix()).await? {
                    0 => break,
                    n => archived += n,
                }
            }
            println!(
                "{}",
                serde_json::json!({"reconciled": report, "archived": archived})
            );
            Ok(())
        }
        Command::Seed { file } => {
            admin::seed(&db, &file).await?;
            println!("seeded {}", file.display());
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<Option<String>> {
    if let Ok(p) = std::env::var("TSUNAGI_AGENT_PASSWORD") {
        return Ok(Some(p));
    }
    let mut line = String::new();
    std::io::stdin().take(1024).read_to_string(&mut line)?;
    let p = line.lines().next().unwrap_or("").to_owned();
    Ok((!p.is_empty()).then_some(p))
}

async fn release(db: &Db, cmd: ReleaseCmd) -> anyhow::Result<()> {
    match cmd {
        ReleaseCmd::Add {
            version,
            notes,
            pub_date,
        } => {
            let v = releases::add(db, &version, &notes, pub_date.as_deref()).await?;
            println!("release {v} added");
        }
        ReleaseCmd::Artifact {
            version,
            platform,
            url,
            signature_file,
            signature,
        } => {
            let signature = match (signature_file, signature) {
                (Some(f), _) => std::fs::read_to_string(&f)
                    .with_context(|| format!("reading {}", f.display()))?,
                (None, Some(s)) => s,
                (None, None) => anyhow::bail!("give --signature-file or --signature"),
            };
            releases::add_artifact(db, &version, &platform, &url, &signature).await?;
            println!("artifact {platform} added to {version}");
        }
        ReleaseCmd::Promote {
            version,
            channel,
            percent,
        } => {
            releases::promote(db, &channel, &version, admin::percent_to_bp(percent)?).await?;
            println!("{}", admin::show_channel(db, &channel).await?);
        }
        ReleaseCmd::Rollback { channel, from, to } => {
            releases::rollback(db, &channel, &from, &to).await?;
            println!("{}", admin::show_channel(db, &channel).await?);
        }
        ReleaseCmd::Pause { channel } => {
            releases::set_paused(db, &channel, true).await?;
            println!("{}", admin::show_channel(db, &channel).await?);
        }
        ReleaseCmd::Resume { channel } => {
            releases::set_paused(db, &channel, false).await?;
            println!("{}", admin::show_channel(db, &channel).await?);
        }
        ReleaseCmd::Policy {
            min_supported,
            blocked,
        } => {
            let p = admin::set_policy(db, min_supported.as_deref(), blocked.as_deref()).await?;
            let blocked: Vec<String> = p.blocked.iter().map(ToString::to_string).collect();
            println!(
                "min_supported {}, blocked [{}]",
                p.min_supported,
                blocked.join(",")
            );
        }
        ReleaseCmd::Show { channel } => println!("{}", admin::show_channel(db, &channel).await?),
    }
    Ok(())
}

async fn serve(config: Config, db: Db) -> anyhow::Result<()> {
    let listen = config.server.listen;
    // SQLite: one serving process per database file (a crashed one's webhook claims are then taken over at once).
    db.own_webhook_claims()
        .context("claiming the database for this server")?;
    let state = AppState::new(config, db).context("building the Twilio client")?;
    state
        .hub
        .listen_postgres()
        .await
        .context("starting LISTEN on PostgreSQL")?;
    tsunagi_server::background::spawn(&state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, backend = ?state.db.backend, "tsunagi-server listening");
    let stopper = state.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: closing event sockets, finishing requests");
            stopper.begin_shutdown();
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
