//! The S3 recording store (`recordings.store = "s3"`, feature `s3`) against a real S3-compatible server: s3s-fs
//! (the S3 API over a directory, one folder per bucket) in-process on 127.0.0.1, checking SigV4 signatures
//! against its one key. A recorded call through the stand-in is archived into the bucket (the object on the
//! server's disk is the downloaded dual-channel WAV, with the size and SHA-256 the job recorded), deleted at
//! Twilio, and read back through S3 by `GET /v1/recordings/{RE}`; a client with a wrong secret is refused, so the
//! archive really was signed. Run with `cargo test -p tsunagi-server --features s3-test --test recordings_s3`.
#![cfg(feature = "s3-test")]

mod common;

use common::live::*;
use common::sim::*;
use common::*;
use object_store::ObjectStoreExt as _;
use reqwest::Method;
use tsunagi_server::config::StoreKind;

const BUCKET: &str = "tsunagi-recordings";
const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "AKIATSUNAGITEST00001";
const SECRET_KEY: &str = "tsunagi-test-secret-0123456789";

/// Serves s3s-fs over `root` on 127.0.0.1:0 with [`BUCKET`] created; returns its endpoint URL.
async fn s3_server(root: &std::path::Path) -> String {
    std::fs::create_dir_all(root.join(BUCKET)).expect("bucket directory");
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let http =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let io = hyper_util::rt::TokioIo::new(socket);
            let conn = http.serve_connection(io, service.clone()).into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    format!("http://{addr}")
}

fn s3_client(endpoint: &str, secret: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_region(REGION)
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(secret)
        .build()
        .expect("s3 client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_is_archived_into_and_read_back_from_an_s3_compatible_server() {
    let root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(root.path()).await;
    // The server reads its S3 credentials from the standard environment (one test in this binary).
    std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    std::env::remove_var("AWS_SESSION_TOKEN");
    let s = stack_tweaked(|c| {
        let r = &mut c.recordings;
        r.store = StoreKind::S3;
        r.dir = None;
        r.bucket = Some(BUCKET.into());
        r.region = Some(REGION.into());
        r.endpoint = Some(endpoint.clone());
    })
    .await;
    let l = live_call_on(s).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await; // some audio
    let job = l.hang_up_and_get_job().await;
    let re = job.recording_sid.clone();
    let done = l.archived(&re).await;

    // The object sits in the bucket on the S3 server's disk, exactly as verified and recorded.
    let on_disk = std::fs::read(root.path().join(BUCKET).join(&done.object_key))
        .expect("the object in the S3 server's bucket");
    assert_eq!(done.size_bytes, Some(on_disk.len() as i64));
    assert_eq!(done.sha256.as_deref(), Some(hex_sha256(&on_disk).as_str()));
    assert_eq!(&on_disk[..4], b"RIFF");
    assert_eq!(
        u16::from_le_bytes([on_disk[22], on_disk[23]]),
        2,
        "dual channel"
    );
    let (status, _) =
        l.s.voice(Method::GET, &format!("Recordings/{re}.json"), &[])
            .await;
    assert_eq!(status, 404, "deleted at Twilio once stored");
    assert!(
        !l.s.app
            .state
            .config
            .recordings
            .dir
            .as_ref()
            .is_some_and(|d| d.exists()),
        "nothing written to a local directory"
    );

    // The app reads it back through S3.
    assert_eq!(l.fetched_recording(&re).await, on_disk);

    // The S3 server checks signatures: the right key reads the object, a wrong secret is refused.
    let path = object_store::path::Path::from(done.object_key.as_str());
    let meta = s3_client(&endpoint, SECRET_KEY)
        .head(&path)
        .await
        .expect("signed HEAD");
    assert_eq!(meta.size, on_disk.len() as u64);
    let refused = s3_client(&endpoint, "not-the-secret").get(&path).await;
    assert!(refused.is_err(), "a wrong secret must be refused");
}
