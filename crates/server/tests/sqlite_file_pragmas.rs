//! A SQLite file database is opened in WAL mode with a busy timeout, so webhook bursts wait for the write lock
//! instead of failing with 500s, and two connections can write one after the other without "database is locked".

use sqlx::Row;
use tsunagi_server::db::Delivery;

#[tokio::test]
async fn file_database_uses_wal_and_waits_for_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/server.db?mode=rwc", dir.path().display());
    let db = tsunagi_server::Db::connect(&url, 4).await.unwrap();

    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0).to_lowercase(), "wal");
    let row = sqlx::query("PRAGMA busy_timeout")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>(0), 5000);

    // Concurrent writers (what parallel Twilio webhooks do): every delivery is claimed and finished exactly once.
    let now = tsunagi_server::db::now_unix_ms();
    let writes = (0..40).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            match db
                .claim_delivery(&format!("delivery-{i}"), now, 30_000)
                .await?
            {
                Delivery::First(claim) => db.finish_delivery(claim).await,
                other => panic!("delivery-{i} is new: {other:?}"),
            }
        })
    });
    for w in writes {
        assert!(
            w.await.unwrap().unwrap(),
            "each claim is finished by its owner"
        );
    }
    assert!(
        matches!(
            db.claim_delivery("delivery-7", now, 30_000).await.unwrap(),
            Delivery::Done
        ),
        "a retry is recognised"
    );
}
