//! One port, both schemes: plain `http`/`ws` and `https`/`wss` with a self-signed certificate.
//!
//! The Voice SDK builds `wss://<chunderw>/signal` and cannot be told to use `ws://` (spec §1.2), while the rest
//! of the stand-in and its tests speak plain HTTP. [`serve`] therefore peeks at the first byte of each
//! connection: `0x16` (a TLS handshake record) is handed to rustls, anything else is served as plain HTTP/1.1.
//! Both run the same router with WebSocket upgrades, so one base URL serves everything and
//! `chunderw: "127.0.0.1:PORT"` works with no page shim. Browsers must accept the self-signed certificate
//! (Chromium `--ignore-certificate-errors`; WebKitGTK a TLS-errors policy); [`TlsIdentity::cert_pem`] gives the
//! certificate to clients that can trust it instead. Only HTTP/1.1 is served (WebSockets need nothing more).
//!
//! A connection that sends nothing, or fails its handshake, within [`HANDSHAKE_TIMEOUT`] is closed; no
//! connection can stop the accept loop.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// How long a new connection may take to send its first byte and finish a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// First byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE: u8 = 0x16;

/// Why the TLS identity could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("cannot generate a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("invalid TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A self-signed certificate for `127.0.0.1`, `::1` and `localhost`, and the rustls config using it.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    cert_pem: String,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Generates a fresh key pair and certificate.
    pub fn self_signed() -> Result<Self, TlsError> {
        let names = vec![
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
            "localhost".to_owned(),
        ];
        let certified = rcgen::generate_simple_self_signed(names)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            cert_pem: certified.cert.pem(),
            cert_der: certified.cert.der().to_vec(),
        })
    }

    /// The certificate, PEM-encoded.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate, DER-encoded (for a client's root store).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }
}

/// Serves `app` on `listener`, plain and TLS on the same port, until the task is dropped.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    let identity = TlsIdentity::self_signed().map_err(std::io::Error::other)?;
    serve_with(listener, app, identity).await
}

/// [`serve`] with a given identity.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    identity: TlsIdentity,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(identity.config);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tokio::spawn(connection(stream, app.clone(), acceptor.clone()));
    }
}

async fn connection(stream: TcpStream, app: Router, acceptor: TlsAcceptor) {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    let service = TowerToHyperService::new(app);
    let http = hyper::server::conn::http1::Builder::new();
    let result = if first[0] == TLS_HANDSHAKE {
        let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
        else {
            return;
        };
        http.serve_connection(TokioIo::new(tls), service)
            .with_upgrades()
            .await
    } else {
        http.serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
