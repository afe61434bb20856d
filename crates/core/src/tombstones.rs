//! A bounded set of finished identifiers, so replayed or late events about them change nothing.
//!
//! Oldest entries are forgotten first once the capacity is reached; the capacity bounds memory however long
//! the session runs.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// Remembers up to `capacity` identifiers, first in, first out.
#[derive(Clone, Debug)]
pub(crate) struct Tombstones<T> {
    order: VecDeque<T>,
    set: HashSet<T>,
    capacity: usize,
}

impl<T: Copy + Eq + Hash> Tombstones<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::new(),
            set: HashSet::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn insert(&mut self, id: T) {
        if !self.set.insert(id) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    pub(crate) fn contains(&self, id: &T) -> bool {
        self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_oldest_beyond_capacity() {
        let mut t = Tombstones::new(2);
        t.insert(1);
        t.insert(2);
        t.insert(2);
        t.insert(3);
        assert!(!t.contains(&1));
        assert!(t.contains(&2) && t.contains(&3));
    }
}
