//! The public/private split of a task's test perturbations (a hidden leaderboard): each test
//! perturbation belongs to one view by a fixed hash of (task, label), about half each. Before
//! the organisers flip a task's reveal switch only public-view scores leave the server; the
//! private view (the final ranking) is shown after the reveal.

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

/// The view a test perturbation of `task` belongs to: public when the first byte of
/// sha256("arena-split-v1\0TASK\0LABEL") is below 128.
pub fn view_of(task: &str, perturbation: &str) -> View {
    let mut h = Sha256::new();
    h.update(b"arena-split-v1\0");
    h.update(task.as_bytes());
    h.update(b"\0");
    h.update(perturbation.as_bytes());
    if h.finalize()[0] < 128 { View::Public } else { View::Private }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_fixed_and_roughly_even() {
        let labels: Vec<String> = (0..400).map(|i| format!("G{i:03}")).collect();
        let public = labels.iter().filter(|l| view_of("t", l) == View::Public).count();
        assert!((150..250).contains(&public), "{public} of 400 public");
        assert_eq!(view_of("t", "G001"), view_of("t", "G001"));
        // Another task splits differently.
        assert!(labels.iter().any(|l| view_of("t", l) != view_of("u", l)));
        assert!(View::Public.visible(false) && !View::Private.visible(false) && View::Private.visible(true));
        assert_eq!(View::default_for(true), View::Private);
        assert_eq!(View::parse("private"), Some(View::Private));
        assert_eq!(View::parse("all"), None);
    }
}
