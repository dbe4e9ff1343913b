//! How far the simulator's true network departs from the prior it is seeded from (the CollecTRI
//! table every model may read): [`PriorMismatch`] drops, sign-flips and adds stated fractions of
//! the prior's edges among the simulated genes, so that a model reading the prior knows only part
//! of the truth. Its `fidelity` is the fraction of prior edges that are true with their stated sign,
//! (1 − drop) · (1 − flip).
//!
//! The fractions of the arena's fidelity levels (see `interactions.rs` for the frozen dataset)
//! follow what is known of curated TF → target networks: most error is edges that do not act in
//! the cell at hand (TF knockouts change only a small share of the genes their TF binds: ≈3–4% of
//! bound targets in yeast, Wu & Lai 2015, BMC Syst Biol 9(S6):S2; "only a small subset" of bound
//! genes in 59 knockdowns in human lymphoblastoid cells, Cusanovich et al. 2014, PLoS Genet
//! 10:e1004226), and a smaller part wrong signs (TRRUST, one of CollecTRI's sources, knows the
//! mode of regulation for 60.6% of its 8,015 interactions; CollecTRI signs the others by a
//! default). So two thirds of the missing fidelity are drops and one third flips, and as many
//! edges are added as are dropped (regulation the prior misses), keeping the network's size.

use std::collections::BTreeSet;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::rng::{Domain, stream};

/// Stream index of the mismatch draws within `Domain::Network` (0: random network, 1: magnitudes).
const STREAM: u64 = 3;

/// Fractions of the prior's edges (among the simulated genes) that the true network changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PriorMismatch {
    /// Each prior edge is absent from the true network with this probability.
    pub drop_fraction: f64,
    /// Each remaining prior edge has the opposite sign in the true network with this probability.
    pub flip_fraction: f64,
    /// round(add_fraction · prior edges) true edges that the prior lacks (a random regulator →
    /// gene pair, no self-loop, signed like the prior: repressing with the prior's repressing
    /// fraction).
    pub add_fraction: f64,
}

impl PriorMismatch {
    /// The fidelity levels of the arena's bench and datasets: fidelity 1 (the prior is the truth),
    /// 0.7 and 0.4, with drop : flip errors 2 : 1 and adds = drops.
    pub fn for_fidelity(fidelity: f64) -> Option<PriorMismatch> {
        match (fidelity * 100.0).round() as i64 {
            100 => Some(PriorMismatch::default()),
            70 => Some(PriorMismatch { drop_fraction: 0.2, flip_fraction: 0.125, add_fraction: 0.2 }),
            40 => Some(PriorMismatch { drop_fraction: 0.4, flip_fraction: 1.0 / 3.0, add_fraction: 0.4 }),
            _ => None,
        }
    }

    /// Fraction of prior edges that are true with their stated sign.
    pub fn fidelity(&self) -> f64 {
        (1.0 - self.drop_fraction) * (1.0 - self.flip_fraction)
    }

    /// No change: the true network is the prior's.
    pub fn is_none(&self) -> bool {
        self.drop_fraction == 0.0 && self.flip_fraction == 0.0 && self.add_fraction == 0.0
    }

    /// The name of the first fraction outside [0, 1], if any.
    pub fn invalid_field(&self) -> Option<(&'static str, f64)> {
        [
            ("drop_fraction", self.drop_fraction),
            ("flip_fraction", self.flip_fraction),
            ("add_fraction", self.add_fraction),
        ]
        .into_iter()
        .find(|(_, v)| !(0.0..=1.0).contains(v))
    }

    /// The true (target, source, sign) pairs from the prior's `pairs` (sorted by (target, source);
    /// sources are regulators `< n_regulators`). Deterministic in `seed`; the identity when
    /// [`PriorMismatch::is_none`].
    pub fn apply(
        &self,
        pairs: &[(usize, usize, f64)],
        n_genes: usize,
        n_regulators: usize,
        seed: u64,
    ) -> Vec<(usize, usize, f64)> {
        if self.is_none() {
            return pairs.to_vec();
        }
        let mut rng = stream(seed, Domain::Network, STREAM);
        let mut out = Vec::with_capacity(pairs.len());
        for &(t, s, sign) in pairs {
            // both draws for every edge, so one fraction's change leaves the other's draws alone
            let (drop, flip) = (rng.random_bool(self.drop_fraction), rng.random_bool(self.flip_fraction));
            if !drop {
                out.push((t, s, if flip { -sign } else { sign }));
            }
        }
        let repressing = pairs.iter().filter(|p| p.2 < 0.0).count() as f64 / pairs.len().max(1) as f64;
        let mut taken: BTreeSet<(usize, usize)> = pairs.iter().map(|&(t, s, _)| (t, s)).collect();
        let free = n_genes * n_regulators - n_regulators.min(n_genes) - taken.len();
        let n_add = ((self.add_fraction * pairs.len() as f64).round() as usize).min(free);
        let mut added = 0;
        while added < n_add {
            let (t, s) = (rng.random_range(0..n_genes), rng.random_range(0..n_regulators));
            if t == s || !taken.insert((t, s)) {
                continue;
            }
            out.push((t, s, if rng.random_bool(repressing) { -1.0 } else { 1.0 }));
            added += 1;
        }
        out.sort_by_key(|&(t, s, _)| (t, s));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior() -> Vec<(usize, usize, f64)> {
        let mut p = Vec::new();
        for t in 0..200usize {
            for s in 0..10 {
                if (t + s).is_multiple_of(3) && t != s {
                    p.push((t, s, if (t * s).is_multiple_of(4) { -1.0 } else { 1.0 }));
                }
            }
        }
        p
    }

    #[test]
    fn changes_the_stated_fractions_deterministically() {
        let p = prior();
        let m = PriorMismatch::for_fidelity(0.7).unwrap();
        assert!((m.fidelity() - 0.7).abs() < 1e-12);
        assert!((PriorMismatch::for_fidelity(0.4).unwrap().fidelity() - 0.4).abs() < 1e-12);
        let truth = m.apply(&p, 200, 10, 5);
        assert_eq!(truth, m.apply(&p, 200, 10, 5));
        assert_ne!(truth, m.apply(&p, 200, 10, 6));
        let prior_set: std::collections::BTreeMap<(usize, usize), f64> =
            p.iter().map(|&(t, s, w)| ((t, s), w)).collect();
        let (mut same, mut flipped, mut added) = (0, 0, 0);
        for &(t, s, w) in &truth {
            assert!(t != s && s < 10);
            match prior_set.get(&(t, s)) {
                Some(&pw) if pw == w => same += 1,
                Some(_) => flipped += 1,
                None => added += 1,
            }
        }
        let n = p.len() as f64;
        let fid = same as f64 / n;
        assert!((fid - 0.7).abs() < 0.06, "fidelity {fid} of {n} edges");
        assert!((flipped as f64 / n - 0.8 * 0.125).abs() < 0.04, "flipped {flipped}");
        assert_eq!(added, (0.2 * n).round() as usize);
        assert_eq!(PriorMismatch::default().apply(&p, 200, 10, 5), p, "no mismatch is the identity");
        assert!(PriorMismatch { drop_fraction: 1.5, ..Default::default() }.invalid_field().is_some());
    }
}
