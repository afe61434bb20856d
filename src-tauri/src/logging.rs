//! Structured logs: `tracing` to stderr and to a daily-rolling file in the app's log directory.
//!
//! The filter comes from `TSUNAGI_LOG` (same syntax as `RUST_LOG`), defaulting to `info`.

use std::path::Path;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

/// Lines queued for the log file before new ones are dropped (the writer thread drains it as it goes). The
/// queue is allocated and touched up front, 32 bytes a line: tracing-appender's default of 128,000 lines kept
/// 4 MiB resident in an idle app; 8,192 lines are 256 KiB.
const BUFFERED_LINES: usize = 8_192;

/// Keeps the file writer flushing until the app exits; hold it in managed state.
pub struct LogGuard {
    _guard: Option<WorkerGuard>,
}

/// Installs the global subscriber. A log directory that cannot be created costs the file, not the app.
pub fn init(log_dir: &Path) -> LogGuard {
    let filter = EnvFilter::try_from_env("TSUNAGI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let (file_layer, guard, file_error) = match std::fs::create_dir_all(log_dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::daily(log_dir, "tsunagi.log");
            let (writer, guard) = NonBlockingBuilder::default()
                .buffered_lines_limit(BUFFERED_LINES)
                .finish(appender);
            (
                Some(fmt::layer().with_ansi(false).with_writer(writer)),
                Some(guard),
                None,
            )
        }
        Err(error) => (None, None, Some(error)),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        // No ANSI on either layer: span fields are formatted once and shared, so colour codes on stderr would
        // also land in the file.
        .with(fmt::layer().with_ansi(false).with_writer(std::io::stderr))
        .with(file_layer)
        .try_init();
    if let Err(error) = installed {
        eprintln!("tsunagi: logging was already initialised: {error}");
    }
    if let Some(error) = file_error {
        tracing::warn!(%error, dir = %log_dir.display(), "no log file: the log directory could not be created");
    }
    LogGuard { _guard: guard }
}
