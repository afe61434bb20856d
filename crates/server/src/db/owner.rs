//! SQLite: whose webhook claims are alive. The counterpart of PostgreSQL's advisory locks in [`super::receipts`].
//!
//! Contract: only one process claims webhooks on a SQLite database. The first instance of a process to claim
//! takes an exclusive lock on the lock file `<database file>.lock` ([`std::fs::File::try_lock`], an OS lock that
//! the kernel drops when the process dies, SIGKILL included) and holds it while any instance of the process on
//! that database lives; a second process gets [`OwnerError::Taken`] (the server refuses to start). Admin
//! subcommands never claim, so they may still open the database beside a running server.
//!
//! Given that lock, an owner is alive exactly when it is one of this process's registered instances: a claim
//! whose `claimed_by` is anything else was left by a dead process and is taken over at once, as on PostgreSQL —
//! a server restarted after a crash redoes the crashed delivery at Twilio's first retry, not after the lease.
//! In-memory databases are private to the process: no lock file, same registry.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Why this instance cannot own claims on its SQLite database.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// Another process holds the lock file: it serves this database.
    #[error("another process serves webhooks on this SQLite database (lock file {0} is held); only one may")]
    Taken(PathBuf),
    /// The lock file cannot be opened or locked.
    #[error("SQLite lock file {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

impl From<OwnerError> for sqlx::Error {
    fn from(e: OwnerError) -> Self {
        sqlx::Error::Configuration(Box::new(e))
    }
}

/// Which database the registry entry is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Place {
    /// A database file: the lock file beside it (from the canonical path).
    File(PathBuf),
    /// An in-memory database (its URL).
    Memory(String),
}

impl Place {
    /// The place of a SQLite database opened at `url` (after the file exists).
    pub(super) fn of(url: &str, memory: bool) -> Self {
        if memory {
            return Self::Memory(url.to_owned());
        }
        let path = super::sqlite_path(url).unwrap_or_else(|| std::path::Path::new(url));
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut lock = path.into_os_string();
        lock.push(".lock");
        Self::File(PathBuf::from(lock))
    }
}

/// One database's owners in this process: the held lock file and the live instance ids.
#[derive(Debug)]
struct Owners {
    _lock: Option<File>,
    live: Mutex<HashSet<String>>,
}

impl Owners {
    fn live(&self) -> MutexGuard<'_, HashSet<String>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every database this process owns claims on.
static REGISTRY: Mutex<Option<HashMap<Place, Weak<Owners>>>> = Mutex::new(None);

/// One instance's membership (inside `receipts::Claims`); leaves the registry when dropped.
#[derive(Debug)]
pub(super) struct Owner {
    place: Place,
    instance: String,
    held: Mutex<Option<Arc<Owners>>>,
}

impl Owner {
    pub(super) fn new(place: Place, instance: String) -> Self {
        Self {
            place,
            instance,
            held: Mutex::new(None),
        }
    }

    fn held(&self) -> MutexGuard<'_, Option<Arc<Owners>>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers this instance as a live owner, taking the lock file if this process does not hold it yet.
    pub(super) fn acquire(&self) -> Result<(), OwnerError> {
        let mut held = self.held();
        if held.is_some() {
            return Ok(());
        }
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        let map = registry.get_or_insert_with(HashMap::new);
        let owners = match map.get(&self.place).and_then(Weak::upgrade) {
            Some(owners) => owners,
            None => {
                let owners = Arc::new(Owners {
                    _lock: lock_file(&self.place)?,
                    live: Mutex::default(),
                });
                map.retain(|_, w| w.strong_count() > 0);
                map.insert(self.place.clone(), Arc::downgrade(&owners));
                owners
            }
        };
        owners.live().insert(self.instance.clone());
        *held = Some(owners);
        Ok(())
    }

    /// Whether `instance` is a live owner of this database (false before [`Owner::acquire`]).
    pub(super) fn is_live(&self, instance: &str) -> bool {
        self.held()
            .as_ref()
            .is_some_and(|o| o.live().contains(instance))
    }

    /// Leaves the registry: this instance's claims count as dead; the lock file is released with the last one.
    pub(super) fn release(&self) {
        if let Some(owners) = self.held().take() {
            owners.live().remove(&self.instance);
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.release();
    }
}

fn lock_file(place: &Place) -> Result<Option<File>, OwnerError> {
    let Place::File(path) = place else {
        return Ok(None);
    };
    let io = |e| OwnerError::Io(path.clone(), e);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(OwnerError::Taken(path.clone())),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_place(dir: &tempfile::TempDir) -> Place {
        Place::File(dir.path().join("x.db.lock"))
    }

    #[test]
    fn instances_of_one_process_share_the_lock_and_are_live_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let a = Owner::new(file_place(&dir), "a".into());
        let b = Owner::new(file_place(&dir), "b".into());
        assert!(!a.is_live("a"), "not registered before acquire");
        a.acquire().unwrap();
        b.acquire().unwrap();
        assert!(a.is_live("b") && b.is_live("a") && a.is_live("a"));
        assert!(!a.is_live("crashed-process"));
        b.release();
        assert!(!a.is_live("b"), "a released instance's claims are dead");
        drop(a);
        drop(b);
        // The last instance gone, the lock is free again (a new process could take it).
        let file = std::fs::File::open(dir.path().join("x.db.lock")).unwrap();
        file.try_lock()
            .expect("lock released with the last instance");
    }

    #[test]
    fn a_lock_held_elsewhere_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db.lock");
        let other = std::fs::File::create(&path).unwrap();
        other.try_lock().unwrap(); // another open file description: what another process holds
        let a = Owner::new(file_place(&dir), "a".into());
        assert!(matches!(a.acquire(), Err(OwnerError::Taken(p)) if p == path));
        assert!(!a.is_live("a"));
    }

    #[test]
    fn place_of_a_file_url_is_the_canonical_lock_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        std::fs::write(&db, b"").unwrap();
        let canonical = std::fs::canonicalize(&db).unwrap();
        let expected = Place::File(PathBuf::from(format!("{}.lock", canonical.display())));
        assert_eq!(
            Place::of(&format!("sqlite://{}?mode=rwc", db.display()), false),
            expected
        );
        assert_eq!(
            Place::of("sqlite::memory:", true),
            Place::Memory("sqlite::memory:".into())
        );
    }
}
