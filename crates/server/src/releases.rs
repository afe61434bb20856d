//! Desktop releases, update channels and the update decision (spec §8.3–8.4).
//!
//! [`decide`] is pure: channel + policy + current version + install key → no update, or the release to offer
//! (upgrade, pinned rollback, or a forced move off a blocked version). Staged rollout buckets installs with
//! `u32_be(sha256("rollout|channel|target|install")[0..4]) % 10000`, stable per (install, release), so raising the
//! percentage only adds installs. Storage helpers below are what the admin CLI and the endpoint use.

use std::collections::BTreeMap;

use semver::Version;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::db::{now_unix, Db};
use crate::policy::{parse_list, ClientPolicy};

/// Errors of the release store.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Invalid input from the admin.
    #[error("{0}")]
    Invalid(String),
}

/// An update channel's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Channel {
    /// `stable`, `beta`, …
    pub name: String,
    /// Release being rolled out.
    pub target: Option<Version>,
    /// Share of installs offered `target`, in basis points (0..=10000).
    pub rollout_bp: u32,
    /// What everyone else is offered.
    pub fallback: Option<Version>,
    /// Versions being rolled back.
    pub rollback_from: Vec<Version>,
    /// Where they go.
    pub rollback_to: Option<Version>,
    /// Rollout paused: only installs already on `target` stay there.
    pub paused: bool,
}

/// What the update endpoint should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `204`.
    NoUpdate,
    /// Offer `version`.
    Offer {
        /// The release.
        version: Version,
        /// A downgrade ordered by a rollback or a block.
        rollback: bool,
        /// The current version may no longer run (below the floor or blocked).
        mandatory: bool,
    },
}

/// The rollout bucket of an install for a release (0..10000).
pub fn bucket(channel: &str, target: &Version, install: &str) -> u32 {
    let digest = Sha256::digest(format!("rollout|{channel}|{target}|{install}").as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 10_000
}

/// The update decision (spec §8.4).
pub fn decide(
    channel: &Channel,
    policy: &ClientPolicy,
    current: &Version,
    install: Option<&str>,
) -> Decision {
    let blocked = policy.blocked.contains(current);
    let mandatory = blocked || *current < policy.min_supported;
    let mut eligible = match (&channel.target, install) {
        (Some(t), _) if channel.paused => {
            if current == t {
                Some(t.clone())
            } else {
                channel.fallback.clone()
            }
        }
        (Some(t), Some(i)) if bucket(&channel.name, t, i) < channel.rollout_bp => Some(t.clone()),
        _ => channel.fallback.clone(),
    };
    let rolling_back = channel.rollback_from.contains(current) && channel.rollback_to.is_some();
    if rolling_back {
        eligible = channel.rollback_to.clone();
    }
    let Some(eligible) = eligible else {
        return Decision::NoUpdate;
    };
    // Never offer a release the policy refuses (security floor, blocked list).
    if eligible < policy.min_supported || policy.blocked.contains(&eligible) {
        return Decision::NoUpdate;
    }
    match eligible.cmp(current) {
        std::cmp::Ordering::Equal => Decision::NoUpdate,
        std::cmp::Ordering::Greater => Decision::Offer {
            version: eligible,
            rollback: false,
            mandatory,
        },
        std::cmp::Ordering::Less if blocked || rolling_back => Decision::Offer {
            version: eligible,
            rollback: true,
            mandatory,
        },
        std::cmp::Ordering::Less => Decision::NoUpdate,
    }
}

/// A release with its artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// Version.
    pub version: String,
    /// Release notes.
    pub notes: String,
    /// RFC 3339.
    pub pub_date: String,
    /// platform key (`linux-x86_64`) → (url, signature).
    pub artifacts: BTreeMap<String, (String, String)>,
}

/// The artifact of `release` for `{target}-{arch}` installed from `bundle_type` (tauri-plugin-updater's
/// `{{bundle_type}}`: `deb`, `rpm`, `appimage`, `msi`, `nsis`, `app`, or `unknown`): the
/// `{target}-{arch}-{bundle_type}` artifact if the release has one, else the plain `{target}-{arch}` one — the
/// order the plugin itself searches a static manifest in. Returns the platform key used, the URL and signature.
pub fn artifact_for<'a>(
    release: &'a Release,
    target: &str,
    arch: &str,
    bundle_type: Option<&str>,
) -> Option<(&'a str, &'a str, &'a str)> {
    let plain = format!("{target}-{arch}");
    let specific = bundle_type
        .filter(|b| {
            *b != "unknown"
                && (1..=16).contains(&b.len())
                && b.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        .map(|b| format!("{plain}-{b}"));
    specific
        .iter()
        .chain(std::iter::once(&plain))
        .find_map(|key| release.artifacts.get_key_value(key.as_str()))
        .map(|(key, (url, sig))| (key.as_str(), url.as_str(), sig.as_str()))
}

fn parse_version(s: &str) -> Result<Version, ReleaseError> {
    Version::parse(s.trim().trim_start_matches('v'))
        .map_err(|e| ReleaseError::Invalid(format!("version {s:?}: {e}")))
}

fn opt_version(s: Option<String>) -> Option<Version> {
    s.and_then(|v| Version::parse(&v).ok())
}

/// Reads a channel.
pub async fn channel(db: &Db, name: &str) -> Result<Option<Channel>, ReleaseError> {
    let row = sqlx::query(
        "SELECT name, target_version, rollout_bp, fallback_version, rollback_from, rollback_to, paused \
         FROM channels WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let from: String = r.try_get(4)?;
    Ok(Some(Channel {
        name: r.try_get(0)?,
        target: opt_version(r.try_get(1)?),
        rollout_bp: u32::try_from(r.try_get::<i64, _>(2)?.clamp(0, 10_000)).unwrap_or(0),
        fallback: opt_version(r.try_get(3)?),
        rollback_from: parse_list(&from),
        rollback_to: opt_version(r.try_get(5)?),
        paused: r.try_get::<i64, _>(6)? != 0,
    }))
}

/// Reads a release and its artifacts.
pub async fn release(db: &Db, version: &Version) -> Result<Option<Release>, ReleaseError> {
    let v = version.to_string();
    let row = sqlx::query("SELECT version, notes, pub_date FROM releases WHERE version = $1")
        .bind(&v)
        .fetch_optional(&db.pool)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let rows =
        sqlx::query("SELECT platform, url, signature FROM release_artifacts WHERE version = $1")
            .bind(&v)
            .fetch_all(&db.pool)
            .await?;
    let mut artifacts = BTreeMap::new();
    for a in rows {
        artifacts.insert(a.try_get(0)?, (a.try_get(1)?, a.try_get(2)?));
    }
    Ok(Some(Release {
        version: r.try_get(0)?,
        notes: r.try_get(1)?,
        pub_date: r.try_get(2)?,
        artifacts,
    }))
}

/// Adds a release (no artifacts yet). `pub_date` defaults to now.
pub async fn add(
    db: &Db,
    version: &str,
    notes: &str,
    pub_date: Option<&str>,
) -> Result<Version, ReleaseError> {
    let v = parse_version(version)?;
    let date = match pub_date {
        Some(d) if is_rfc3339(d) => d.to_owned(),
        Some(d) => {
            return Err(ReleaseError::Invalid(format!(
                "pub_date {d:?} is not RFC 3339"
            )))
        }
        None => rfc3339_utc(now_unix()),
    };
    sqlx::query(
        "INSERT INTO releases (version, notes, pub_date, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(v.to_string())
    .bind(notes)
    .bind(date)
    .bind(now_unix())
    .execute(&db.pool)
    .await?;
    Ok(v)
}

/// Adds or replaces one platform artifact of a release.
pub async fn add_artifact(
    db: &Db,
    version: &str,
    platform: &str,
    url: &str,
    signature: &str,
) -> Result<(), ReleaseError> {
    let v = parse_version(version)?;
    if release(db, &v).await?.is_none() {
        return Err(ReleaseError::Invalid(format!("release {v} does not exist")));
    }
    if !platform
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || platform.is_empty()
    {
        return Err(ReleaseError::Invalid(format!(
            "platform {platform:?} must look like linux-x86_64"
        )));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) || signature.trim().is_empty() {
        return Err(ReleaseError::Invalid(
            "an artifact needs an http(s) URL and a signature".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO release_artifacts (version, platform, url, signature) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (version, platform) DO UPDATE SET url = excluded.url, signature = excluded.signature",
    )
    .bind(v.to_string())
    .bind(platform)
    .bind(url)
    .bind(signature.trim())
    .execute(&db.pool)
    .await?;
    Ok(())
}

async fn require_channel(db: &Db, name: &str) -> Result<Channel, ReleaseError> {
    channel(db, name)
        .await?
        .ok_or_else(|| ReleaseError::Invalid(format!("unknown channel {name:?}")))
}

/// Rolls `version` out on `channel` to `rollout_bp` basis points. A new target moves the previous one to the
/// fallback; promoting clears any rollback and the pause.
pub async fn promote(
    db: &Db,
    channel_name: &str,
    version: &str,
    rollout_bp: u32,
) -> Result<(), ReleaseError> {
    let v = parse_version(version)?;
    if rollout_bp > 10_000 {
        return Err(ReleaseError::Invalid("rollout must be 0..=100 %".into()));
    }
    if release(db, &v).await?.is_none() {
        return Err(ReleaseError::Invalid(format!("release {v} does not exist")));
    }
    let ch = require_channel(db, channel_name).await?;
    let fallback = match &ch.target {
        Some(t) if *t != v => Some(t.clone()),
        _ => ch.fallback.clone(),
    };
    sqlx::query(
        "UPDATE channels SET target_version = $1, rollout_bp = $2, fallback_version = $3, rollback_from = '', \
         rollback_to = NULL, paused = 0 WHERE name = $4",
    )
    .bind(v.to_string())
    .bind(i64::from(rollout_bp))
    .bind(fallback.map(|f| f.to_string()))
    .bind(channel_name)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Rolls `from` back to `to` on `channel` at once: installs on `from` are offered `to`, and `to` becomes the
/// channel's target for everyone.
pub async fn rollback(
    db: &Db,
    channel_name: &str,
    from: &[String],
    to: &str,
) -> Result<(), ReleaseError> {
    let to_v = parse_version(to)?;
    let from_v = from
        .iter()
        .map(|f| parse_version(f))
        .collect::<Result<Vec<_>, _>>()?;
    if from_v.is_empty() {
        return Err(ReleaseError::Invalid(
            "rollback needs at least one --from version".into(),
        ));
    }
    if release(db, &to_v).await?.is_none() {
        return Err(ReleaseError::Invalid(format!(
            "release {to_v} does not exist"
        )));
    }
    require_channel(db, channel_name).await?;
    let from_text: Vec<String> = from_v.iter().map(ToString::to_string).collect();
    sqlx::query(
        "UPDATE channels SET target_version = $1, rollout_bp = 10000, fallback_version = $1, rollback_from = $2, \
         rollback_to = $1, paused = 0 WHERE name = $3",
    )
    .bind(to_v.to_string())
    .bind(from_text.join(","))
    .bind(channel_name)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Pauses or resumes the rollout on `channel`.
pub async fn set_paused(db: &Db, channel_name: &str, paused: bool) -> Result<(), ReleaseError> {
    require_channel(db, channel_name).await?;
    sqlx::query("UPDATE channels SET paused = $1 WHERE name = $2")
        .bind(i64::from(paused))
        .bind(channel_name)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records that `install_id` asked for updates while on `version`.
pub async fn record_install(
    db: &Db,
    install_id: &str,
    identity: Option<&str>,
    channel: &str,
    target: &str,
    version: &Version,
) -> Result<(), ReleaseError> {
    sqlx::query(
        "INSERT INTO installs (install_id, identity, channel, target, last_version, last_seen) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (install_id) DO UPDATE SET \
         identity = COALESCE(excluded.identity, installs.identity), channel = excluded.channel, \
         target = excluded.target, last_version = excluded.last_version, last_seen = excluded.last_seen",
    )
    .bind(install_id)
    .bind(identity)
    .bind(channel)
    .bind(target)
    .bind(version.to_string())
    .bind(now_unix())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Installs per version on `channel` seen since `since` (Unix s), most recent version first.
pub async fn version_distribution(
    db: &Db,
    channel: &str,
    since: i64,
) -> Result<Vec<(String, i64)>, ReleaseError> {
    let rows = sqlx::query(
        "SELECT last_version, COUNT(*) FROM installs WHERE channel = $1 AND last_seen >= $2 GROUP BY last_version",
    )
    .bind(channel)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    let mut out = rows
        .iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    out.sort_by(|a, b| match (Version::parse(&a.0), Version::parse(&b.0)) {
        (Ok(x), Ok(y)) => y.cmp(&x),
        _ => b.0.cmp(&a.0),
    });
    Ok(out)
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-26T08:00:00Z`).
pub fn rfc3339_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A light RFC 3339 shape check: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn policy() -> ClientPolicy {
        ClientPolicy {
            min_supported: v("1.0.0"),
            blocked: vec![],
        }
    }

    fn stable(target: &str, bp: u32, fallback: &str) -> Channel {
        Channel {
            name: "stable".into(),
            target: Some(v(target)),
            rollout_bp: bp,
            fallback: Some(v(fallback)),
            ..Channel::default()
        }
    }

    fn offered(d: &Decision) -> Option<String> {
        match d {
            Decision::Offer { version, .. } => Some(version.to_string()),
            Decision::NoUpdate => None,
        }
    }

    #[test]
    fn staged_rollout_share_matches_the_percentage_and_only_grows() {
        let installs: Vec<String> = (0..10_000).map(|i| format!("install-{i}")).collect();
        let at = |bp| {
            let ch = stable("1.2.0", bp, "1.1.0");
            installs
                .iter()
                .filter(|i| {
                    offered(&decide(&ch, &policy(), &v("1.1.0"), Some(i))).as_deref()
                        == Some("1.2.0")
                })
                .count()
        };
        let (ten, hundred) = (at(1000), at(10_000));
        assert!(
            (800..1200).contains(&ten),
            "10 % rollout offered {ten} of 10000"
        );
        assert_eq!(hundred, 10_000);
        // Raising the percentage only adds installs.
        let ch10 = stable("1.2.0", 1000, "1.1.0");
        let ch50 = stable("1.2.0", 5000, "1.1.0");
        for i in &installs {
            if offered(&decide(&ch10, &policy(), &v("1.1.0"), Some(i))).as_deref() == Some("1.2.0")
            {
                assert_eq!(
                    offered(&decide(&ch50, &policy(), &v("1.1.0"), Some(i))).as_deref(),
                    Some("1.2.0")
                );
            }
        }
        // No install id: fallback only.
        assert_eq!(
            decide(
                &stable("1.2.0", 10_000, "1.1.0"),
                &policy(),
                &v("1.1.0"),
                None
            ),
            Decision::NoUpdate
        );
    }

    #[test]
    fn rollback_downgrades_only_the_rolled_back_version_and_beta_users_are_never_downgraded() {
        let mut ch = stable("1.1.0", 10_000, "1.1.0");
        ch.rollback_from = vec![v("1.2.0")];
        ch.rollback_to = Some(v("1.1.0"));
        assert_eq!(
            decide(&ch, &policy(), &v("1.2.0"), Some("a")),
            Decision::Offer {
                version: v("1.1.0"),
                rollback: true,
                mandatory: false
            }
        );
        // A beta build newer than stable is left alone.
        assert_eq!(
            decide(&ch, &policy(), &v("1.3.0-beta.1"), Some("a")),
            Decision::NoUpdate
        );
        assert_eq!(
            decide(&ch, &policy(), &v("1.1.0"), Some("a")),
            Decision::NoUpdate
        );
    }

    #[test]
    fn blocked_and_below_floor_are_mandatory_and_nothing_below_the_floor_is_offered() {
        let p = ClientPolicy {
            min_supported: v("1.1.0"),
            blocked: vec![v("1.3.0")],
        };
        let ch = stable("1.2.0", 10_000, "1.2.0");
        assert_eq!(
            decide(&ch, &p, &v("1.0.0"), Some("a")),
            Decision::Offer {
                version: v("1.2.0"),
                rollback: false,
                mandatory: true
            }
        );
        assert_eq!(
            decide(&ch, &p, &v("1.3.0"), Some("a")),
            Decision::Offer {
                version: v("1.2.0"),
                rollback: true,
                mandatory: true
            }
        );
        let old = stable("1.0.5", 10_000, "1.0.5");
        assert_eq!(decide(&old, &p, &v("1.0.0"), Some("a")), Decision::NoUpdate);
    }

    #[test]
    fn paused_rollout_keeps_new_installs_on_the_fallback() {
        let mut ch = stable("1.2.0", 10_000, "1.1.0");
        ch.paused = true;
        assert_eq!(
            decide(&ch, &policy(), &v("1.0.0"), Some("a")).clone(),
            Decision::Offer {
                version: v("1.1.0"),
                rollback: false,
                mandatory: false
            }
        );
        assert_eq!(
            decide(&ch, &policy(), &v("1.2.0"), Some("a")),
            Decision::NoUpdate
        );
    }

    #[test]
    fn the_bundle_types_artifact_wins_and_the_plain_one_is_the_fallback() {
        let mut artifacts = BTreeMap::new();
        for key in ["linux-x86_64", "linux-x86_64-deb"] {
            artifacts.insert(
                key.to_owned(),
                (format!("https://x/{key}"), format!("sig-{key}")),
            );
        }
        let r = Release {
            version: "1.2.0".into(),
            notes: String::new(),
            pub_date: "2026-11-26T08:00:00Z".into(),
            artifacts,
        };
        let key = |b| artifact_for(&r, "linux", "x86_64", b).map(|(k, _, _)| k);
        assert_eq!(key(Some("deb")), Some("linux-x86_64-deb"));
        assert_eq!(key(Some("rpm")), Some("linux-x86_64"));
        assert_eq!(key(Some("unknown")), Some("linux-x86_64"));
        assert_eq!(key(None), Some("linux-x86_64"));
        assert_eq!(key(Some("../deb")), Some("linux-x86_64"));
        assert_eq!(
            artifact_for(&r, "linux", "x86_64", Some("deb")).map(|(_, u, s)| (u, s)),
            Some(("https://x/linux-x86_64-deb", "sig-linux-x86_64-deb"))
        );
        assert_eq!(artifact_for(&r, "windows", "x86_64", Some("nsis")), None);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert!(is_rfc3339("2026-11-26T08:00:00Z"));
        assert!(is_rfc3339("2026-11-26T08:00:00.123+09:00"));
        assert!(!is_rfc3339("2026-11-26 08:00:00"));
        assert!(!is_rfc3339("yesterday"));
    }
}
