//! `tsunagi-server`: reads the configuration, opens the database, binds and serves until SIGINT/SIGTERM.
//! Admin subcommands operate on the same database.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tsunagi_server::{app, AppState, Config, Db};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .init();
    let cli = Cli::parse();
    let config =
        Config::load(&cli.config).with_context(|| format!("loading {}", cli.config.display()))?;
    let db = Db::connect(
        &config.database.effective_url(),
        config.database.max_connections,
    )
    .await
    .context("opening the database")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, db).await,
    }
}

async fn serve(config: Config, db: Db) -> anyhow::Result<()> {
    let listen = config.server.listen;
    let state = AppState::new(config, db).context("building the Twilio client")?;
    state
        .hub
        .listen_postgres()
        .await
        .context("starting LISTEN on PostgreSQL")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, backend = ?state.db.backend, "tsunagi-server listening");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
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
