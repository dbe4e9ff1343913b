//! The public/private split of a task's test perturbations (a hidden leaderboard): each test
//! perturbation belongs to one view by a keyed hash of (task, label), about half each. The key
//! is a random server-side secret stored in the database ([`crate::Db::split_key`]), so nobody
//! outside the server can tell which perturbations are private. Before the organisers flip a
//! task's reveal switch only public-view scores leave the server; the private view (the final
//! ranking) is shown after the reveal.

use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    Public,
    Private,
}

impl View {
    pub const ALL: [View; 2] = [View::Public, View::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            View::Public => "public",
            View::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(View::Public),
            "private" => Some(View::Private),
            _ => None,
        }
    }

    /// Whether a visitor may see this view of a task.
    pub fn visible(self, revealed: bool) -> bool {
        self == View::Public || revealed
    }

    /// The view shown when none is asked for: the private (final) one once revealed.
    pub fn default_for(revealed: bool) -> Self {
        if revealed { View::Private } else { View::Public }
    }
}

/// The server's secret split key (32 random bytes); never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SplitKey(pub [u8; 32]);

impl SplitKey {
    /// The key as 64 hex digits (how the server hands it to a scoring job, in a file).
    pub fn to_hex(&self) -> String {
        crate::auth::hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut key = [0u8; 32];
        for (k, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
            *k = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(SplitKey(key))
    }
}

impl std::fmt::Debug for SplitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SplitKey(***)")
    }
}

/// The view a test perturbation of `task` belongs to: public when the first byte of
/// sha256("arena-split-v2\0" KEY "\0TASK\0LABEL") is below 128.
pub fn view_of(key: &SplitKey, task: &str, perturbation: &str) -> View {
    let mut h = Sha256::new();
    h.update(b"arena-split-v2\0");
    h.update(key.0);
    h.update(b"\0");
    h.update(task.as_bytes());
    h.update(b"\0");
    h.update(perturbation.as_bytes());
    if h.finalize()[0] < 128 { View::Public } else { View::Private }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_fixed_roughly_even_and_keyed() {
        let key = SplitKey([7; 32]);
        let labels: Vec<String> = (0..400).map(|i| format!("G{i:03}")).collect();
        let public = labels.iter().filter(|l| view_of(&key, "t", l) == View::Public).count();
        assert!((150..250).contains(&public), "{public} of 400 public");
        assert_eq!(view_of(&key, "t", "G001"), view_of(&key, "t", "G001"));
        // Another task splits differently.
        assert!(labels.iter().any(|l| view_of(&key, "t", l) != view_of(&key, "u", l)));
        // Another key splits differently: without the server's key the split cannot be computed.
        let other = SplitKey([8; 32]);
        let differ = labels.iter().filter(|l| view_of(&key, "t", l) != view_of(&other, "t", l)).count();
        assert!((150..250).contains(&differ), "{differ} of 400 change views under another key");
        // Nor is it the old unkeyed hash.
        let unkeyed = |l: &str| {
            let mut h = Sha256::new();
            h.update(format!("arena-split-v1\0t\0{l}").as_bytes());
            if h.finalize()[0] < 128 { View::Public } else { View::Private }
        };
        assert!(labels.iter().filter(|l| view_of(&key, "t", l) != unkeyed(l)).count() > 100);
        assert_eq!(format!("{key:?}"), "SplitKey(***)");
        assert_eq!(SplitKey::from_hex(&key.to_hex()), Some(key.clone()));
        assert_eq!(SplitKey::from_hex("07"), None);
        assert!(View::Public.visible(false) && !View::Private.visible(false) && View::Private.visible(true));
        assert_eq!(View::default_for(true), View::Private);
        assert_eq!(View::parse("private"), Some(View::Private));
        assert_eq!(View::parse("all"), None);
    }
}
