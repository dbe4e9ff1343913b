//! `arena score --shard K/N`: which perturbations shard K of N scores. The perturbations, in the
//! run's order (sorted by code point), are cut into N contiguous runs whose sizes differ by at
//! most one; every shard also reads all the control cells, and only those cells and its own.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::ScoreError;

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

    /// The indices of this shard's perturbations among `total`.
    pub fn range(self, total: usize) -> Range<usize> {
        total * (self.k - 1) / self.n..total * self.k / self.n
    }

    /// This shard's perturbations among the run's `total`, read from `source`; refuses more
    /// shards than perturbations.
    pub fn within(self, total: usize, source: &Path) -> Result<Range<usize>, ScoreError> {
        if self.n > total {
            return Err(ScoreError::Invalid(format!(
                "--shard {self}: {} has only {total} perturbation(s), fewer than the {} shards; use at most {total} shards",
                source.display(),
                self.n
            )));
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
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { k: 2, n: 4 }));
        assert_eq!(Shard::new(3, 3).unwrap().to_string(), "3/3");
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
