//! The update channel (spec §8, scenario 11): 204 when nothing to do, staged rollout 10 % → 100 %, immediate
//! rollback, the security floor, and the `release` admin CLI driving it all through the real binary.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::Value;
use tsunagi_server::releases;

async fn check(t: &TestApp, path: &str, install: &str) -> (StatusCode, Value) {
    let req = Request::get(path)
        .header("x-install-id", install)
        .body(Body::empty())
        .unwrap();
    t.json(req).await
}

async fn publish(t: &TestApp, version: &str) {
    releases::add(
        &t.state.db,
        version,
        &format!("notes {version}"),
        Some("2026-11-20T09:00:00+09:00"),
    )
    .await
    .unwrap();
    let url = format!("https://updates.example.co.jp/tsunagi_{version}_amd64.AppImage");
    releases::add_artifact(
        &t.state.db,
        version,
        "linux-x86_64",
        &url,
        &format!("c2lnLXt7{version}"),
    )
    .await
    .unwrap();
}

fn offered(status: StatusCode, body: &Value) -> Option<String> {
    (status == StatusCode::OK).then(|| body["version"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn staged_rollout_then_full_then_rollback() {
    let t = test_app().await;
    publish(&t, "1.1.0").await;
    publish(&t, "1.2.0").await;
    releases::promote(&t.state.db, "stable", "1.1.0", 10_000)
        .await
        .unwrap();

    // On the current release: nothing to do (204, never 404).
    let (status, _) = check(&t, "/v1/updates/stable/linux/x86_64/1.1.0", "i-0").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // An older install gets 1.1.0 in the dynamic manifest format.
    let (status, body) = check(&t, "/v1/updates/stable/linux/x86_64/1.0.0", "i-0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], "1.1.0");
    assert_eq!(
        body["url"],
        "https://updates.example.co.jp/tsunagi_1.1.0_amd64.AppImage"
    );
    assert_eq!(body["signature"], "c2lnLXt71.1.0");
    assert_eq!(body["pub_date"], "2026-11-20T09:00:00+09:00");
    assert_eq!(
        (body["rollback"].clone(), body["mandatory"].clone()),
        (Value::Bool(false), Value::Bool(false))
    );

    // 10 %: roughly a tenth of 400 installs see 1.2.0, the rest stay (204).
    releases::promote(&t.state.db, "stable", "1.2.0", 1000)
        .await
        .unwrap();
    let mut ten = Vec::new();
    for i in 0..400 {
        let (status, body) = check(
            &t,
            "/v1/updates/stable/linux/x86_64/1.1.0",
            &format!("install-{i}"),
        )
        .await;
        if offered(status, &body).as_deref() == Some("1.2.0") {
            ten.push(i);
        } else {
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
    }
    assert!(
        (20..=65).contains(&ten.len()),
        "10 % rollout offered {} of 400",
        ten.len()
    );
    // 100 %: everyone, including the first tenth.
    releases::promote(&t.state.db, "stable", "1.2.0", 10_000)
        .await
        .unwrap();
    for i in 0..400 {
        let (status, body) = check(
            &t,
            "/v1/updates/stable/linux/x86_64/1.1.0",
            &format!("install-{i}"),
        )
        .await;
        assert_eq!(offered(status, &body).as_deref(), Some("1.2.0"));
    }
    // Every install that asked is counted on the version it reported last.
    let seen = releases::version_distribution(&t.state.db, "stable", 0)
        .await
        .unwrap();
    assert_eq!(
        seen,
        vec![("1.1.0".to_owned(), 400), ("1.0.0".to_owned(), 1)],
        "i-0 last asked from 1.0.0"
    );

    // Rollback 1.2.0 → 1.1.0: installs on 1.2.0 are told to go back at once.
    releases::rollback(&t.state.db, "stable", &["1.2.0".into()], "1.1.0")
        .await
        .unwrap();
    let (status, body) = check(&t, "/v1/updates/stable/linux/x86_64/1.2.0", "install-1").await;
    assert_eq!(offered(status, &body).as_deref(), Some("1.1.0"));
    assert_eq!(body["rollback"], true);
    // Beta builds newer than stable are never downgraded by the stable channel.
    let (status, _) = check(
        &t,
        "/v1/updates/stable/linux/x86_64/1.3.0-beta.1",
        "install-1",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn invalid_versions_unknown_channels_and_missing_platforms_are_204() {
    let t = test_app().await;
    publish(&t, "1.1.0").await;
    releases::promote(&t.state.db, "stable", "1.1.0", 10_000)
        .await
        .unwrap();
    for path in [
        "/v1/updates/stable/linux/x86_64/not-a-version",
        "/v1/updates/nightly/linux/x86_64/1.0.0",
        "/v1/updates/stable/windows/x86_64/1.0.0",
    ] {
        let (status, _) = check(&t, path, "i").await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
    }
    // The three-segment form uses the stable channel without a session; `+` arrives percent-encoded.
    let (status, body) = check(&t, "/v1/updates/linux/x86_64/1.0.0%2Bbuild.7", "i").await;
    assert_eq!(offered(status, &body).as_deref(), Some("1.1.0"));
}

#[tokio::test]
async fn below_the_floor_the_update_is_mandatory_and_policy_stays_reachable() {
    let t = test_app().await;
    publish(&t, "1.6.0").await;
    releases::promote(&t.state.db, "stable", "1.6.0", 10_000)
        .await
        .unwrap();
    tsunagi_server::admin::set_policy(&t.state.db, Some("1.6.0"), Some("1.5.5"))
        .await
        .unwrap();
    let (status, body) = check(&t, "/v1/updates/stable/linux/x86_64/1.5.0", "i").await;
    assert_eq!(offered(status, &body).as_deref(), Some("1.6.0"));
    assert_eq!(body["mandatory"], true);
    assert_eq!(body["min_supported"], "1.6.0");
    let (status, body) = t
        .json(
            Request::get("/v1/client/policy")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["min_supported"], "1.6.0");
    assert_eq!(body["blocked"], serde_json::json!(["1.5.5"]));
    assert_eq!(
        body["update_endpoint"],
        format!(
            "{PUBLIC}/v1/updates/stable/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}?bundle_type={{{{bundle_type}}}}"
        )
    );
}

#[tokio::test]
async fn release_cli_drives_the_channel() {
    let t = test_app().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n[twilio]\naccount_sid = \"{ACCOUNT}\"\napi_key_sid = \"SK11111111111111111111111111111111\"\n\
             workspace_sid = \"{WORKSPACE}\"\nworkflow_sid = \"WW66666666666666666666666666666666\"\n",
            t.state.db.url()
        ),
    )
    .unwrap();
    let sig = dir.path().join("app.sig");
    std::fs::write(&sig, "dW50cnVzdGVkIGNvbW1lbnQ=\n").unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tsunagi-server"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("TSUNAGI_TWILIO_API_KEY_SECRET")
            .env_remove("TSUNAGI_TWILIO_AUTH_TOKEN")
            .output()
            .expect("run tsunagi-server");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["release", "add", "2.0.0", "--notes", "新しい着信画面"]);
    run(&[
        "release",
        "artifact",
        "2.0.0",
        "--platform",
        "linux-x86_64",
        "--url",
        "https://u.example/a.AppImage",
        "--signature-file",
        sig.to_str().unwrap(),
    ]);
    let shown = run(&[
        "release",
        "promote",
        "2.0.0",
        "--channel",
        "beta",
        "--percent",
        "100",
    ]);
    assert!(shown.contains("beta: target 2.0.0 at 100.00 %"), "{shown}");
    assert!(shown.contains("installs seen in 7 days: []"), "{shown}");
    let (status, body) = check(&t, "/v1/updates/beta/linux/x86_64/1.0.0", "i").await;
    assert_eq!(offered(status, &body).as_deref(), Some("2.0.0"));
    assert_eq!(body["notes"], "新しい着信画面");
    assert_eq!(body["signature"], "dW50cnVzdGVkIGNvbW1lbnQ=");
    run(&["release", "policy", "--min-supported", "1.5.0"]);
    let (_, policy) = t
        .json(
            Request::get("/v1/client/policy")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(policy["min_supported"], "1.5.0");

    // Bad input fails with a message and a non-zero status.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tsunagi-server"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "release",
            "promote",
            "9.9.9",
        ])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("release 9.9.9 does not exist"));
}

/// What tauri-plugin-updater 2.14 does with an endpoint before requesting it (`Updater::check`): replaces the
/// variables, the bundle type with its installer name (`deb`, `rpm`, …, `unknown` when it cannot tell).
fn as_the_plugin_would(endpoint: &str, bundle: &str) -> String {
    endpoint
        .replace("{{current_version}}", "1.0.0")
        .replace("{{target}}", "linux")
        .replace("{{arch}}", "x86_64")
        .replace("{{bundle_type}}", bundle)
        .trim_start_matches(PUBLIC)
        .to_owned()
}

#[tokio::test]
async fn the_bundle_types_artifact_is_served_and_the_plain_one_is_the_fallback() {
    let t = test_app().await;
    publish(&t, "1.2.0").await;
    let deb = "https://updates.example.co.jp/tsunagi_1.2.0_amd64.deb";
    releases::add_artifact(
        &t.state.db,
        "1.2.0",
        "linux-x86_64-deb",
        deb,
        "c2lnLWRlYg==",
    )
    .await
    .unwrap();
    releases::promote(&t.state.db, "stable", "1.2.0", 10_000)
        .await
        .unwrap();
    let (_, policy) = t
        .json(
            Request::get("/v1/client/policy")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let endpoint = policy["update_endpoint"].as_str().unwrap();
    let plain = "https://updates.example.co.jp/tsunagi_1.2.0_amd64.AppImage";
    for (bundle, url, sig) in [
        ("deb", deb, "c2lnLWRlYg=="),
        ("rpm", plain, "c2lnLXt71.2.0"),
        ("appimage", plain, "c2lnLXt71.2.0"),
        ("unknown", plain, "c2lnLXt71.2.0"),
    ] {
        let (status, body) = check(&t, &as_the_plugin_would(endpoint, bundle), "i-1").await;
        assert_eq!(status, StatusCode::OK, "{bundle}: {body}");
        assert_eq!(
            (body["url"].as_str(), body["signature"].as_str()),
            (Some(url), Some(sig)),
            "{bundle}"
        );
    }
    // Old clients (no query at all) and the legacy route get the plain artifact.
    for path in [
        "/v1/updates/stable/linux/x86_64/1.0.0",
        "/v1/updates/linux/x86_64/1.0.0?bundle_type=deb",
    ] {
        let (status, body) = check(&t, path, "i-1").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let want = if path.contains("deb") { deb } else { plain };
        assert_eq!(body["url"], want, "{path}");
    }

    // A release with only a .deb: an rpm install gets 204 (no artifact for it), a deb install the .deb.
    releases::add(&t.state.db, "1.3.0", "deb only", None)
        .await
        .unwrap();
    releases::add_artifact(&t.state.db, "1.3.0", "linux-x86_64-deb", deb, "c2ln")
        .await
        .unwrap();
    releases::promote(&t.state.db, "stable", "1.3.0", 10_000)
        .await
        .unwrap();
    let (status, _) = check(&t, &as_the_plugin_would(endpoint, "rpm"), "i-1").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = check(&t, &as_the_plugin_would(endpoint, "deb"), "i-1").await;
    assert_eq!(
        (status, body["version"].as_str()),
        (StatusCode::OK, Some("1.3.0"))
    );
}
