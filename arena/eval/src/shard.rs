//! `--shard K/N` of `arena score` and `arena eval`: which units shard K of N takes. The units in
//! the run's order (`arena score`: the perturbations sorted by code point; `arena eval`: the test
//! items of `TaskInstance::eval_items`) are cut into N contiguous runs whose sizes differ by at
//! most one. [`check_shards`] is the check both merges run on their partials.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Shard `k` of `n` (1 ≤ k ≤ n).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    k: usize,
    n: usize,
}

impl Shard {
    pub fn new(k: usize, n: usize) -> Result<Shard, String> {
        match (k, n) {
            (_, 0) => Err("N must be at least 1".into()),
            (k, n) if k == 0 || k > n => Err(format!("K must be in 1..={n}, got {k}")),
            _ => Ok(Shard { k, n }),
        }
    }

    pub fn k(self) -> usize {
        self.k
    }

    pub fn n(self) -> usize {
        self.n
    }

    /// The indices of this shard's units among `total`.
    pub fn range(self, total: usize) -> Range<usize> {
        total * (self.k - 1) / self.n..total * self.k / self.n
    }

    /// This shard's units among the run's `total` (`units` says what they are and where, e.g.
    /// "real.h5ad has only 7 perturbation(s)"); refuses more shards than units, so that no shard
    /// is empty.
    pub fn within(self, total: usize, units: impl FnOnce() -> String) -> Result<Range<usize>, String> {
        if self.n > total {
            return Err(format!(
                "--shard {self}: {}, fewer than the {} shards; use at most {total} shards",
                units(),
                self.n
            ));
        }
        Ok(self.range(total))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("'{s}' is not K/N (shard K of N, e.g. 2/4)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

/// A partial as a merge checks it: its folder and the file there that describes it, the arena
/// version that wrote it, the fields that must agree between the partials of one run (name, value
/// as JSON text) and its shard.
pub struct PartialId<'a> {
    pub dir: &'a Path,
    pub file: &'static str,
    pub arena_version: &'a str,
    pub identity: Vec<(&'static str, String)>,
    pub shard: Shard,
}

/// Refuses partials that are not the N shards of one run of this arena: another arena version, a
/// field that differs (named, with both values and folders), a shard given twice, a missing shard.
/// `command` writes the partials (`arena score`, `arena eval`).
pub fn check_shards(partials: &[PartialId<'_>], command: &str) -> Result<(), String> {
    let Some(first) = partials.first() else {
        return Err(format!("no partials given; pass the folders written by `{command} --shard K/N`"));
    };
    let ours = crate::provenance::SUITE_VERSION;
    if first.arena_version != ours {
        return Err(format!(
            "{}: field 'arena_version': written by arena {}, but this is arena {ours}; rerun the shards with this arena",
            first.dir.join(first.file).display(),
            first.arena_version
        ));
    }
    for other in &partials[1..] {
        for ((field, a), (_, b)) in first.identity.iter().zip(&other.identity) {
            if a != b {
                let shorten = |s: &str| {
                    if s.len() > 80 { format!("{}…", &s[..s.floor_char_boundary(80)]) } else { s.to_string() }
                };
                return Err(format!(
                    "the partials are not from one run: {field} is {} in {} but {} in {}; rerun the shards with one command",
                    shorten(a),
                    first.dir.display(),
                    shorten(b),
                    other.dir.display()
                ));
            }
        }
    }
    let mut order: Vec<usize> = (0..partials.len()).collect();
    order.sort_by_key(|&i| partials[i].shard);
    for w in order.windows(2) {
        let (a, b) = (&partials[w[0]], &partials[w[1]]);
        if a.shard == b.shard {
            return Err(format!(
                "shard {} is given twice: {} and {}; pass each shard once",
                a.shard,
                a.dir.display(),
                b.dir.display()
            ));
        }
    }
    let n = first.shard.n();
    let have: Vec<usize> = partials.iter().map(|p| p.shard.k()).collect();
    let missing: Vec<String> = (1..=n).filter(|k| !have.contains(k)).map(|k| format!("{k}/{n}")).collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shard(s) {} of {n}; run `{command} --shard K/{n}` for each and pass every folder",
            missing.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_perturbation_once_in_order() {
        for total in [1usize, 2, 7, 10, 301] {
            for n in 1..=total.min(9) {
                let ranges: Vec<Range<usize>> = (1..=n).map(|k| Shard::new(k, n).unwrap().range(total)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[n - 1].end, total);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start), "{ranges:?}");
                let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
            }
        }
    }

    #[test]
    fn check_shards_names_what_keeps_partials_apart() {
        let dirs = [Path::new("a"), Path::new("b"), Path::new("c")];
        let id = |d: usize, k: usize, n: usize, seed: &str, version: &'static str| PartialId {
            dir: dirs[d],
            file: "p.json",
            arena_version: version,
            identity: vec![("format", "1".into()), ("seed", seed.into())],
            shard: Shard::new(k, n).unwrap(),
        };
        let ours = crate::provenance::SUITE_VERSION;
        assert_eq!(
            check_shards(&[id(2, 3, 3, "0", ours), id(0, 1, 3, "0", ours), id(1, 2, 3, "0", ours)], "x"),
            Ok(())
        );
        let err = |ids: &[PartialId<'_>]| check_shards(ids, "arena x").unwrap_err();
        assert!(err(&[]).contains("`arena x --shard K/N`"));
        assert!(err(&[id(0, 1, 2, "0", "0.0.0-old")]).starts_with("a/p.json: field 'arena_version'"));
        let e = err(&[id(0, 1, 2, "0", ours), id(1, 2, 2, "7", ours)]);
        assert!(e.contains("seed is 0 in a but 7 in b"), "{e}");
        let e = err(&[id(0, 1, 2, "0", ours), id(1, 1, 2, "0", ours)]);
        assert!(e.contains("shard 1/2 is given twice: a and b"), "{e}");
        let e = err(&[id(0, 1, 3, "0", ours), id(1, 3, 3, "0", ours)]);
        assert!(e.contains("missing shard(s) 2/3 of 3; run `arena x --shard K/3`"), "{e}");
    }

    #[test]
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { k: 2, n: 4 }));
        assert_eq!(Shard::new(3, 3).unwrap().to_string(), "3/3");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
