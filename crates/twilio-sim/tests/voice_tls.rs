//! One port, both schemes: plain HTTP and `wss://` (what the Voice SDK insists on) reach the same voice routes;
//! idle or garbage connections do not stop the server.

mod voice_support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;
use tsunagi_twilio::pstream::{Frame, ServerMessage};
use tsunagi_twilio_sim::voice::tls::{self, TlsIdentity};
use tsunagi_twilio_sim::voice::{self as voice_mod};
use voice_support::*;

#[tokio::test]
async fn plain_and_tls_on_one_port() {
    let edge = Edge::start().await;
    let identity = TlsIdentity::self_signed().unwrap();
    assert!(identity
        .cert_pem()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = voice_mod::router::<()>(edge.voice.clone());
    let server = tokio::spawn(tls::serve_with(listener, app, identity.clone()));

    // A connection that never speaks and one that sends garbage must not block others.
    let _idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut junk = tokio::net::TcpStream::connect(addr).await.unwrap();
    junk.write_all(&[0x16, 0xff, 0xff, 0, 0, 0]).await.unwrap();

    // Plain HTTP.
    let plain: serde_json::Value = reqwest::get(format!("http://{addr}/_sim/voice/clients"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(plain["registered"].as_array().unwrap().is_empty());

    // wss:// with the certificate trusted.
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(identity.cert_der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls_stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{addr}/signal"), tls_stream)
        .await
        .unwrap();
    ws.send(Message::Text(
        listen(&token("alice", voice_grant(), now(), 3600))
            .encode()
            .into(),
    ))
    .await
    .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Text(text) = reply else {
        panic!("text frame expected")
    };
    assert!(matches!(
        ServerMessage::decode(text.as_bytes()).unwrap(),
        Frame::Message(ServerMessage::Connected(_))
    ));
    server.abort();
}
