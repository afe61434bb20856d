//! Webhook delivery claims (`webhook_receipts`): the storage side of `http::twilio::exactly_once`.
//!
//! A delivery key is claimed before its work runs and marked `done` after; a failed or dropped delivery deletes
//! its claim. Another delivery of the same key then finds one of three things:
//! - `done = 1`: a duplicate, answered 200 and not acted on;
//! - an undone claim whose owner is alive: [`Delivery::Busy`] (503 + Retry-After, nothing acted on);
//! - an undone claim whose owner is dead, or older than the lease: taken over by a conditional `UPDATE` on the
//!   old `(claimed_by, claimed_at)`, so exactly one delivery wins, and the work runs again.
//!
//! Whether an owner is alive: this instance knows its own claims in flight (an in-process set). On PostgreSQL
//! every claim is also held as a session-level advisory lock on one dedicated connection per instance, taken
//! *before* the row is written and released after it is finished: a killed instance's connection closes, its
//! locks vanish, and its claims are taken over at once (Twilio retries within its 15 s budget, long before any
//! lease runs out). On SQLite one process owns the claims, enforced by a lock file ([`super::owner`]): an owner
//! that is not one of this process's live instances is dead, so a crashed process's claims are taken over at
//! the first retry after the restart, again long before the lease.
//!
//! Times are inputs (`now_ms`), never read here.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Row};

use super::owner::{Owner, Place};
use super::{Backend, Db};

/// What a delivery found.
#[derive(Debug)]
pub enum Delivery {
    /// This delivery owns the key: run the work, then [`Db::finish_delivery`] or [`Db::release_delivery`].
    First(Claim),
    /// The work is done already: a duplicate.
    Done,
    /// Another delivery holds a live claim: ask the sender to retry later.
    Busy {
        /// Seconds until the claim's lease runs out (at least 1).
        retry_after_secs: u64,
    },
}

/// An owned claim. Dropping it without [`Db::finish_delivery`]/[`Db::release_delivery`] forgets it in this
/// process (so a retry here takes it over) but leaves the row until the lease ends or the lock is gone.
#[derive(Debug)]
pub struct Claim {
    key: String,
    by: String,
    at_ms: i64,
    taken_over: bool,
    lock: Option<HeldLock>,
    inflight: Inflight,
}

impl Claim {
    /// The delivery key.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// Whether this claim replaced a dead or expired one (the work runs again).
    pub fn taken_over(&self) -> bool {
        self.taken_over
    }
}

/// Per-instance claim bookkeeping, shared by the clones of one [`Db`].
#[derive(Debug)]
pub(super) struct Claims {
    /// Random per process (per [`Db::connect`]); written to `claimed_by`.
    instance: String,
    /// Keys this instance is working on now.
    active: Arc<Mutex<HashSet<String>>>,
    /// PostgreSQL only: the connection holding this instance's advisory locks (opened on first use).
    locks: tokio::sync::Mutex<Option<AnyConnection>>,
    /// SQLite only: this instance's place among the database's live owners.
    owner: Option<Owner>,
}

impl Claims {
    /// `sqlite`: the SQLite database's place (`None` on PostgreSQL).
    pub(super) fn new(sqlite: Option<Place>) -> Self {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        Self {
            owner: sqlite.map(|place| Owner::new(place, instance.clone())),
            instance,
            active: Arc::default(),
            locks: tokio::sync::Mutex::new(None),
        }
    }
}

/// Removes a key from the in-process set when the claim attempt or the claim ends.
#[derive(Debug)]
struct Inflight {
    key: String,
    active: Arc<Mutex<HashSet<String>>>,
}

impl Inflight {
    fn enter(active: &Arc<Mutex<HashSet<String>>>, key: &str) -> Option<Self> {
        let mut set = active.lock().unwrap_or_else(PoisonError::into_inner);
        set.insert(key.to_owned()).then(|| Self {
            key: key.to_owned(),
            active: active.clone(),
        })
    }
}

impl Drop for Inflight {
    fn drop(&mut self) {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// A PostgreSQL advisory lock this instance holds for a claim. Released by [`HeldLock::release`]; if the holder
/// is dropped first (a cancelled request), the release is spawned, so a lock never outlives its claim.
#[derive(Debug)]
struct HeldLock {
    db: Db,
    key: String,
    armed: bool,
}

impl HeldLock {
    async fn release(mut self) {
        self.db.unlock(&self.key).await;
        self.armed = false;
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (db, key) = (self.db.clone(), std::mem::take(&mut self.key));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { db.unlock(&key).await });
        }
    }
}

/// The advisory-lock id of a delivery key (first 8 bytes of its SHA-256).
fn lock_id(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn retry_after(age_ms: i64, lease_ms: i64) -> u64 {
    let left_ms = (lease_ms - age_ms).max(1000);
    u64::try_from((left_ms + 999) / 1000).unwrap_or(1)
}

/// `$statement` restricted to the row of one claim that is still that claim: same key, owner and time, not done
/// (binds: key, owner, time).
macro_rules! still_ours {
    ($statement:literal) => {
        concat!(
            $statement,
            " WHERE dedup_key = $1 AND claimed_by = $2 AND claimed_at = $3 AND done = 0"
        )
    };
}

/// How many times a claim attempt re-reads a row that changed under it before answering busy.
const ATTEMPTS: usize = 4;

impl Db {
    /// This instance's id as written to `claimed_by`.
    pub fn instance_id(&self) -> &str {
        &self.claims.instance
    }

    /// Makes this instance an owner of webhook claims now rather than at its first claim. On SQLite this takes
    /// the database's lock file: it fails with [`super::OwnerError::Taken`] while another process serves the
    /// same file (call it before serving). Nothing to do on PostgreSQL.
    pub fn own_webhook_claims(&self) -> Result<(), sqlx::Error> {
        if let Some(owner) = &self.claims.owner {
            owner.acquire()?;
        }
        Ok(())
    }

    /// Claims delivery `key` at `now_ms` (Unix milliseconds) with a lease of `lease_ms`.
    pub async fn claim_delivery(
        &self,
        key: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Delivery, sqlx::Error> {
        let Some(inflight) = Inflight::enter(&self.claims.active, key) else {
            return Ok(Delivery::Busy {
                retry_after_secs: 1,
            });
        };
        let lock = match self.backend {
            Backend::Postgres => {
                if !self
                    .advisory(key, "SELECT pg_try_advisory_lock($1)")
                    .await?
                {
                    // A live owner holds it, or (a cancelled attempt's lock not yet released) it is done.
                    if self.is_done(key).await? {
                        return Ok(Delivery::Done);
                    }
                    return Ok(Delivery::Busy {
                        retry_after_secs: 1,
                    });
                }
                Some(HeldLock {
                    db: self.clone(),
                    key: key.to_owned(),
                    armed: true,
                })
            }
            Backend::Sqlite => {
                self.own_webhook_claims()?;
                None
            }
        };
        let found = self.claim_row(key, now_ms, lease_ms, lock.is_some()).await;
        match found {
            Ok(Some((at_ms, taken_over))) => Ok(Delivery::First(Claim {
                key: key.to_owned(),
                by: self.claims.instance.clone(),
                at_ms,
                taken_over,
                lock,
                inflight,
            })),
            other => {
                if let Some(lock) = lock {
                    lock.release().await;
                }
                other.map(|_| Delivery::Done).or_else(|e| match e {
                    ClaimError::Busy(retry_after_secs) => Ok(Delivery::Busy { retry_after_secs }),
                    ClaimError::Db(e) => Err(e),
                })
            }
        }
    }

    async fn is_done(&self, key: &str) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT done FROM webhook_receipts WHERE dedup_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>(0)? != 0,
            None => false,
        })
    }

    /// Inserts or takes over the row. `Ok(Some((claimed_at, taken_over)))` = owned, `Ok(None)` = done already.
    async fn claim_row(
        &self,
        key: &str,
        now_ms: i64,
        lease_ms: i64,
        locked: bool,
    ) -> Result<Option<(i64, bool)>, ClaimError> {
        let me = self.claims.instance.as_str();
        for _ in 0..ATTEMPTS {
            let inserted = sqlx::query(
                "INSERT INTO webhook_receipts (dedup_key, received_at, claimed_at, claimed_by, done) \
                 VALUES ($1, $2, $3, $4, 0) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(key)
            .bind(now_ms.div_euclid(1000))
            .bind(now_ms)
            .bind(me)
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(Some((now_ms, false)));
            }
            let row = sqlx::query(
                "SELECT done, claimed_at, claimed_by FROM webhook_receipts WHERE dedup_key = $1",
            )
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue }; // released meanwhile: insert again
            if row.try_get::<i64, _>(0)? != 0 {
                return Ok(None);
            }
            let at: i64 = row.try_get(1)?;
            let by: String = row.try_get(2)?;
            let age = now_ms.saturating_sub(at);
            // Our own claim not in flight here was dropped; with the advisory lock held by us, the owner's
            // session is gone; on SQLite, an owner that is not live in this process is a dead process; past the
            // lease, the owner is presumed dead.
            let gone = self.claims.owner.as_ref().is_some_and(|o| !o.is_live(&by));
            let dead = by == me || locked || gone || age >= lease_ms;
            if !dead {
                return Err(ClaimError::Busy(retry_after(age, lease_ms)));
            }
            let taken = sqlx::query(
                "UPDATE webhook_receipts SET claimed_at = $1, claimed_by = $2, received_at = $3 \
                 WHERE dedup_key = $4 AND done = 0 AND claimed_by = $5 AND claimed_at = $6",
            )
            .bind(now_ms)
            .bind(me)
            .bind(now_ms.div_euclid(1000))
            .bind(key)
            .bind(&by)
            .bind(at)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() == 1 {
                tracing::warn!(
                    key,
                    "took over an abandoned webhook claim; its work runs again"
                );
                return Ok(Some((now_ms, true)));
            }
        }
        Err(ClaimError::Busy(1))
    }

    /// Marks an owned claim done. `false` if the claim was no longer ours (taken over after its lease).
    pub async fn finish_delivery(&self, claim: Claim) -> Result<bool, sqlx::Error> {
        self.end(claim, still_ours!("UPDATE webhook_receipts SET done = 1"))
            .await
            .map(|updated| updated == 1)
    }

    /// Deletes an owned claim after a failed or dropped delivery, so the retry runs the work again.
    pub async fn release_delivery(&self, claim: Claim) -> Result<(), sqlx::Error> {
        self.end(claim, still_ours!("DELETE FROM webhook_receipts"))
            .await
            .map(drop)
    }

    /// Runs `sql` (made by `still_ours!`) on the claim's row, then lets the claim go (advisory lock, in-process
    /// entry) whatever the outcome. Returns the rows affected.
    async fn end(&self, mut claim: Claim, sql: &'static str) -> Result<u64, sqlx::Error> {
        let r = sqlx::query(sql)
            .bind(&claim.key)
            .bind(&claim.by)
            .bind(claim.at_ms)
            .execute(&self.pool)
            .await;
        if let Some(lock) = claim.lock.take() {
            lock.release().await;
        }
        drop(claim.inflight);
        Ok(r?.rows_affected())
    }

    async fn unlock(&self, key: &str) {
        if let Err(e) = self.advisory(key, "SELECT pg_advisory_unlock($1)").await {
            tracing::warn!(error = %e, "could not release a webhook claim's advisory lock");
        }
    }

    /// Runs `SELECT pg_(try_)advisory_(un)lock($1)` for `key` on the instance's lock connection, reconnecting
    /// once if it broke (a broken session has lost its locks anyway).
    async fn advisory(&self, key: &str, sql: &'static str) -> Result<bool, sqlx::Error> {
        let mut conn = self.claims.locks.lock().await;
        for attempt in 0..2 {
            if conn.is_none() {
                *conn = Some(AnyConnection::connect(&self.url).await?);
            }
            let Some(c) = conn.as_mut() else { continue };
            match sqlx::query(sql).bind(lock_id(key)).fetch_one(c).await {
                Ok(row) => return row.try_get::<bool, _>(0),
                Err(e) if attempt == 0 => {
                    tracing::warn!(error = %e, "webhook lock connection failed; reconnecting");
                    *conn = None;
                }
                Err(e) => return Err(e),
            }
        }
        Err(sqlx::Error::PoolClosed)
    }

    /// Ends this instance's ownership, as when the process dies: its claims in flight lose their owner. On
    /// PostgreSQL the lock connection closes; on SQLite the instance leaves the live owners (and the lock file
    /// is released with the last one). For tests and shutdown.
    pub async fn close_claims(&self) {
        if let Some(owner) = &self.claims.owner {
            owner.release();
        }
        if let Some(c) = self.claims.locks.lock().await.take() {
            let _ = c.close().await;
        }
    }
}

enum ClaimError {
    Busy(u64),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for ClaimError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_the_lease_left_rounded_up_and_at_least_one_second() {
        assert_eq!(retry_after(0, 30_000), 30);
        assert_eq!(retry_after(29_500, 30_000), 1);
        assert_eq!(retry_after(10_001, 30_000), 20);
        assert_eq!(retry_after(45_000, 30_000), 1);
    }

    #[test]
    fn lock_ids_are_stable_and_distinct() {
        assert_eq!(lock_id("tr:EV1"), lock_id("tr:EV1"));
        assert_ne!(lock_id("tr:EV1"), lock_id("tr:EV2"));
    }
}
