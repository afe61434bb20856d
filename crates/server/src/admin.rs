//! Admin commands run by `tsunagi-server <command>` against the configured database: releases and channels
//! (`release add|artifact|promote|rollback|pause|resume|policy|show`), local accounts (`agent add`) and seed SQL.

use std::path::Path;

use crate::auth::{self, NewAgent, Role};
use crate::db::Db;
use crate::policy::{parse_list, ClientPolicy};
use crate::releases::{self, ReleaseError};

/// Errors of admin commands (printed by `main`).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Release store.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// Accounts.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// Database.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
}

/// Converts a percentage (`10`, `12.5`) into basis points.
pub fn percent_to_bp(percent: f64) -> Result<u32, AdminError> {
    if !(0.0..=100.0).contains(&percent) {
        return Err(AdminError::Invalid(
            "rollout percentage must be between 0 and 100".into(),
        ));
    }
    // In range 0..=10000 by the check above.
    Ok((percent * 100.0).round() as u32)
}

/// Sets the version floor and the blocked list (comma-separated). `None` keeps the current value.
pub async fn set_policy(
    db: &Db,
    min_supported: Option<&str>,
    blocked: Option<&str>,
) -> Result<ClientPolicy, AdminError> {
    let mut policy = ClientPolicy::load(db)
        .await
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    if let Some(m) = min_supported {
        policy.min_supported = semver::Version::parse(m)
            .map_err(|e| AdminError::Invalid(format!("min_supported {m:?}: {e}")))?;
    }
    if let Some(b) = blocked {
        let list = parse_list(b);
        if list.len() != b.split(',').filter(|s| !s.trim().is_empty()).count() {
            return Err(AdminError::Invalid(format!(
                "blocked list {b:?} has an invalid version"
            )));
        }
        policy.blocked = list;
    }
    policy.store(db).await?;
    Ok(policy)
}

/// A one-line summary of a channel.
pub async fn show_channel(db: &Db, name: &str) -> Result<String, AdminError> {
    let ch = releases::channel(db, name)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("unknown channel {name:?}")))?;
    let v = |o: &Option<semver::Version>| {
        o.as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string)
    };
    let from: Vec<String> = ch.rollback_from.iter().map(ToString::to_string).collect();
    let week_ago = crate::db::now_unix() - 7 * 86_400;
    let seen: Vec<String> = releases::version_distribution(db, name, week_ago)
        .await?
        .into_iter()
        .map(|(v, n)| format!("{v}×{n}"))
        .collect();
    Ok(format!(
        "{}: target {} at {:.2} %, fallback {}, rollback [{}] -> {}{}; installs seen in 7 days: [{}]",
        ch.name,
        v(&ch.target),
        f64::from(ch.rollout_bp) / 100.0,
        v(&ch.fallback),
        from.join(","),
        v(&ch.rollback_to),
        if ch.paused { ", PAUSED" } else { "" },
        seen.join(", ")
    ))
}

/// Creates a local account; the password comes from the caller (env or stdin), never from argv.
#[allow(clippy::too_many_arguments)]
pub async fn add_agent(
    db: &Db,
    id: &str,
    login: &str,
    name: &str,
    password: Option<&str>,
    worker_sid: Option<&str>,
    department_id: Option<&str>,
    role: &str,
) -> Result<(), AdminError> {
    let role = Role::parse(role)
        .ok_or_else(|| AdminError::Invalid(format!("role {role:?}: agent|supervisor|admin")))?;
    if let Some(w) = worker_sid {
        tsunagi_twilio::WorkerSid::parse(w)
            .map_err(|e| AdminError::Invalid(format!("worker sid: {e}")))?;
    }
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        return Err(AdminError::Invalid(
            "agent id must be ASCII letters, digits, '_', '.', '-'".into(),
        ));
    }
    auth::create_agent(
        db,
        NewAgent {
            id,
            login,
            display_name: name,
            password,
            worker_sid,
            department_id,
            role,
        },
    )
    .await?;
    Ok(())
}

/// Runs a SQL file (seed data: departments, customers, …) in one transaction.
pub async fn seed(db: &Db, file: &Path) -> Result<(), AdminError> {
    let sql = std::fs::read_to_string(file)
        .map_err(|e| AdminError::Invalid(format!("{}: {e}", file.display())))?;
    let mut tx = db.pool.begin().await?;
    for statement in split_statements(&sql) {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Splits a seed file on `;` at the end of a line, dropping `--` comment lines (seed files keep `;` out of
/// values).
fn split_statements(sql: &str) -> Vec<&str> {
    sql.split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim())
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_percentages() {
        let sql = "-- seed\nINSERT INTO a VALUES ('x');\n\n-- c\nINSERT INTO b VALUES ('田中');\n";
        assert_eq!(
            split_statements(sql),
            vec![
                "-- seed\nINSERT INTO a VALUES ('x')",
                "-- c\nINSERT INTO b VALUES ('田中')"
            ]
        );
        assert_eq!(percent_to_bp(10.0).unwrap(), 1000);
        assert_eq!(percent_to_bp(12.34).unwrap(), 1234);
        assert!(percent_to_bp(101.0).is_err());
    }
}
