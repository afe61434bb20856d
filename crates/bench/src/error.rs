//! The bench's one error type: what stops a scenario before it can measure anything (setup, the stand-in or the
//! server refusing, a phase timing out). Violated invariants are not errors: they are results.

/// Why a scenario could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The stand-in did not start.
    #[error("stand-in: {0}")]
    Sim(#[from] tsunagi_twilio_sim::StartError),
    /// The stand-in's configuration was refused.
    #[error("stand-in config: {0}")]
    SimConfig(#[from] tsunagi_twilio_sim::ConfigError),
    /// The server's configuration was refused.
    #[error("server config: {0}")]
    ServerConfig(#[from] tsunagi_server::config::ConfigError),
    /// The server's database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// An HTTP call failed at the transport level.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// A local socket could not be bound.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A server or stand-in answered something unexpected.
    #[error("{what}: unexpected answer {status}: {body}")]
    Unexpected {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The body (no secrets are sent to the bench).
        body: String,
    },
    /// A phase did not finish in time (e.g. sign-in of every agent).
    #[error("timed out: {0}")]
    Timeout(String),
    /// Anything else during setup.
    #[error("{0}")]
    Setup(String),
}
