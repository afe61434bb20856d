//! `tsunagi-twilio-sim --config sim.toml [--listen 127.0.0.1:0] [--port-file PATH]`: runs the stand-in until
//! Ctrl-C / SIGTERM. Prints `listening on http://ADDR` on stdout once bound (and writes the port to `--port-file`).

use std::path::PathBuf;

use anyhow_free::Result;
use tsunagi_twilio_sim::{Config, Sim};

mod anyhow_free {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

fn usage() -> ! {
    eprintln!("usage: tsunagi-twilio-sim --config sim.toml [--listen ADDR] [--port-file PATH]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config_path: Option<PathBuf> = None;
    let mut listen: Option<String> = None;
    let mut port_file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => config_path = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--listen" => listen = Some(args.next().unwrap_or_else(|| usage())),
            "--port-file" => port_file = Some(args.next().unwrap_or_else(|| usage()).into()),
            _ => usage(),
        }
    }
    let mut config = Config::from_file(&config_path.unwrap_or_else(|| usage()))?;
    if let Some(l) = listen {
        config.listen = l;
    }
    let sim = Sim::start(config).await?;
    println!("listening on {}", sim.base_url());
    if let Some(p) = port_file {
        std::fs::write(p, sim.addr().port().to_string())?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    Ok(())
}
