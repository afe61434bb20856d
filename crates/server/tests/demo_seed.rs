//! The demo files stay valid: `demo/server.toml` loads, `demo/seed.sql` runs twice (idempotent) on the test
//! database, and the seeded agents can log in with their documented passwords.

mod common;

use common::*;

#[tokio::test]
async fn demo_config_loads_and_seed_is_idempotent_and_usable() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let toml = std::fs::read_to_string(format!("{dir}/demo/server.toml")).unwrap();
    let secrets = [(
        "TSUNAGI_SECRETS_FILE".to_string(),
        format!("{dir}/demo/secrets.toml"),
    )];
    let config = tsunagi_server::Config::from_parts(&toml, secrets).expect("demo config");
    assert_eq!(config.twilio.taskrouter_base, "http://127.0.0.1:8090");
    let sim = tsunagi_twilio_sim::Config::from_file(std::path::Path::new(&format!(
        "{dir}/demo/sim.toml"
    )))
    .expect("demo sim config");
    assert_eq!(
        sim.accounts[0].auth_token,
        config.secrets.auth_token.expose()
    );

    let t = test_app().await;
    let seed = std::path::PathBuf::from(format!("{dir}/demo/seed.sql"));
    for _ in 0..2 {
        tsunagi_server::admin::seed(&t.state.db, &seed)
            .await
            .expect("seed");
    }
    assert_eq!(t.count("SELECT COUNT(*) FROM customers").await, 3);
    let session = t.login("tanaka", "demo-tanaka").await;
    let (status, me) = t.json(authed("GET", "/v1/me", &session, None)).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert_eq!(me["display_name"], "田中 太郎");
    t.login("yamamoto", "demo-yamamoto").await;
}
