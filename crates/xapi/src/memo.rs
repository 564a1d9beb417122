//! Validity memos. Statements from one vendor repeat the same verbs, activity types, home pages,
//! extension keys and language tags; checking such a string once per thread instead of once per
//! statement takes IRI and language-tag validation off the intake's profile. Validity is a pure
//! function of the text, so a memo can only answer what the check would have answered.

use std::cell::RefCell;
use std::collections::HashSet;

/// How many distinct valid strings a thread remembers per rule before it starts afresh.
const CAPACITY: usize = 4096;
/// Longer strings are checked every time rather than copied into the memo.
const MAX_REMEMBERED_LENGTH: usize = 512;

/// A set of strings found valid under one rule, one per thread. foldhash rather than SipHash: the
/// keys are IRIs and tags, and hashing them must cost less than checking them.
pub(crate) struct ValidityMemo(RefCell<HashSet<Box<str>, foldhash::fast::RandomState>>);

impl ValidityMemo {
    pub(crate) fn new() -> Self {
        ValidityMemo(RefCell::new(HashSet::with_hasher(
            foldhash::fast::RandomState::default(),
        )))
    }

    /// `check(text)`, answered from the memo when `text` was found valid before.
    pub(crate) fn is_valid(&self, text: &str, check: impl FnOnce(&str) -> bool) -> bool {
        if self.0.borrow().contains(text) {
            return true;
        }
        let valid = check(text);
        if valid && text.len() <= MAX_REMEMBERED_LENGTH {
            let mut remembered = self.0.borrow_mut();
            if remembered.len() == CAPACITY {
                remembered.clear();
            }
            remembered.insert(text.into());
        }
        valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_valid_strings() {
        let memo = ValidityMemo::new();
        let mut checks = 0;
        let mut check = |text: &str| {
            checks += 1;
            text.starts_with("ok")
        };
        assert!(memo.is_valid("ok-1", &mut check));
        assert!(memo.is_valid("ok-1", &mut check));
        assert!(!memo.is_valid("bad", &mut check));
        assert!(!memo.is_valid("bad", &mut check));
        assert_eq!(
            checks, 3,
            "the second check of a valid string comes from the memo"
        );
    }

    #[test]
    fn starts_afresh_when_full() {
        let memo = ValidityMemo::new();
        for index in 0..=CAPACITY {
            assert!(memo.is_valid(&format!("ok-{index}"), |_| true));
        }
        assert_eq!(memo.0.borrow().len(), 1);
    }
}
