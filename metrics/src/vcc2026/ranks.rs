//! The per-gene rank sums of the v2 Wilcoxon test (`wilcoxon.rs`): the control cells of one gene
//! prepared once ([`RefGenes`], one [`RefGene`] each) and the rank sum R₁ and tie term Σ(t³ − t) of a group's values
//! pooled with them ([`rank_sum`]). The test ranks log1p(CPM) (cell-eval2 / pdex); log1p is
//! increasing, so the ranks are taken on the CPM values themselves, and log1p is computed for a
//! group only when two distinct pooled CPM values are so close that their log1p could round to
//! the same number ([`NEAR_ULPS`]): then that gene of that group is ranked on its log1p values, as
//! the oracle does. Either way the result is the one of ranking the log1p values.

/// Two distinct positive CPM values a < b count as near when their f64 bits differ by at most
/// NEAR_ULPS (representable doubles apart), that is (b − a)/b below about 2²² · 2⁻⁵² ≈ 9.3e-10.
/// Farther apart, (b − a)/b > 2²² · 2⁻⁵⁴ ≈ 2.3e-10 (an ulp is at least 2⁻⁵⁴ of b, across a
/// power of two too) and their computed log1p differ:
/// log1p(b) − log1p(a) ≥ (b − a)/(1 + b), above the rounding of both results (each within 2 ulp,
/// 2⁻⁵¹ · log1p(b) each, log1p(b) ≤ 710) for every b > 0 as long as (b − a)/b > 6.2e-13.
pub const NEAR_ULPS: u64 = 1 << 22;

/// One thread's buffers for [`rank_sum`]: the group's values and each one's control count below it.
#[derive(Default)]
pub struct RankScratch {
    pub values: Vec<u64>,
    lows: Vec<usize>,
}

/// t³ − t, in 64-bit arithmetic while it fits (t < 2²¹), the same value either way.
fn tie_f(t: usize) -> u128 {
    if t < 1 << 21 {
        let t = t as u64;
        u128::from(t * t * t - t)
    } else {
        let t = t as u128;
        t * t * t - t
    }
}

/// The bits of a positive finite f64 sort as the f64 do; [`rank_sum`] sorts those.
const INFINITY_BITS: u64 = 0x7ff0_0000_0000_0000;

/// The control cells of one gene, a view into [`RefGenes`]: the non-zero CPM values (as f64
/// bits; `None` unless every one is positive and finite) and their log1p, each sorted, the zero
/// count, and the tie term of the control cells alone (of the log1p values).
#[derive(Clone, Copy)]
pub struct RefGene<'a> {
    cpm: Option<&'a [u64]>,
    log1p: &'a [f64],
    zeros: usize,
    tie_term: u128,
}

/// Where one gene's values lie in the buffers of [`RefGenes`], and what [`RefGene`] adds to them.
struct GeneSpan {
    start: usize,
    len: usize,
    positive: bool,
    zeros: usize,
    tie_term: u128,
}

/// The control cells of every tested gene ([`RefGene`]), prepared once: the sorted CPM bits and
/// log1p values of all genes in one buffer each, gene after gene. A group ranks its genes in
/// that order, so the control values are read as one stream (one allocation per gene left each
/// gene's first read to miss the cache: 6% more CPU time on `bench/vcc2026.sh` at 150 x 150 cells).
pub struct RefGenes {
    cpm: Vec<u64>,
    log1p: Vec<f64>,
    genes: Vec<GeneSpan>,
}

impl RefGenes {
    /// From each gene's non-zero CPM values (any order) among `n_cells` control cells.
    pub fn of(columns: &[&[f64]], n_cells: usize) -> RefGenes {
        use rayon::prelude::*;
        let sorted: Vec<(Vec<f64>, Vec<f64>)> = columns
            .par_iter()
            .map(|cpm| {
                let mut log1p: Vec<f64> = cpm.iter().map(|c| c.ln_1p()).collect();
                log1p.sort_unstable_by(f64::total_cmp);
                let mut sorted: Vec<f64> = cpm.to_vec();
                sorted.sort_unstable_by(f64::total_cmp);
                (sorted, log1p)
            })
            .collect();
        let total = sorted.iter().map(|(c, _)| c.len()).sum();
        let mut r = RefGenes { cpm: Vec::with_capacity(total), log1p: Vec::with_capacity(total), genes: vec![] };
        for (cpm, log1p) in sorted {
            let positive = cpm.first().is_none_or(|&v| v > 0.0) && cpm.last().is_none_or(|v| v.is_finite());
            let zeros = n_cells - log1p.len();
            let tie_term = tie_f(zeros) + runs(&log1p);
            r.genes.push(GeneSpan { start: r.cpm.len(), len: cpm.len(), positive, zeros, tie_term });
            r.cpm.extend(cpm.iter().map(|v| v.to_bits()));
            r.log1p.extend(log1p);
        }
        r
    }

    /// The `k`-th gene of [`RefGenes::of`]'s columns.
    pub fn gene(&self, k: usize) -> RefGene<'_> {
        let s = &self.genes[k];
        let span = s.start..s.start + s.len;
        RefGene {
            cpm: s.positive.then(|| &self.cpm[span.clone()]),
            log1p: &self.log1p[span],
            zeros: s.zeros,
            tie_term: s.tie_term,
        }
    }
}

fn runs(sorted: &[f64]) -> u128 {
    let mut t = 0u128;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        t += tie_f(j - i);
        i = j;
    }
    t
}

/// Rank sum of the group and tie term of the pooled sample for one gene, as ranks of log1p(CPM).
/// `scratch.values` holds the bits of the group's non-zero CPM values and is sorted here (its
/// order is not kept); `grp_zeros` is the group's zero count.
pub fn rank_sum(scratch: &mut RankScratch, grp_zeros: usize, r: &RefGene<'_>) -> (f64, f64) {
    let RankScratch { values: grp, lows } = scratch;
    grp.sort_unstable();
    let positive = grp.first().is_none_or(|&b| b > 0) && grp.last().is_none_or(|&b| b < INFINITY_BITS);
    if let (true, Some(cpm)) = (positive, r.cpm)
        && let Some(sums) = merge(grp, grp_zeros, cpm, r, lows, count_below_split, |a, b| b - a <= NEAR_ULPS)
    {
        return sums;
    }
    let mut logs: Vec<f64> = grp.iter().map(|&b| f64::from_bits(b).ln_1p()).collect();
    logs.sort_unstable_by(f64::total_cmp);
    // log1p of positive finite CPMs on both sides is positive and finite: totally ordered
    let count = if positive && r.cpm.is_some() { count_below_split } else { count_below };
    merge(&logs, grp_zeros, r.log1p, r, lows, count, |_, _| false).unwrap_or((f64::NAN, f64::NAN))
}

/// `lows[i]` = the number of control values below `grp[i]`, both sorted: one pass over both
/// with no data-dependent branch (the count moves on whichever side holds the smaller value).
/// (A branch-free binary search per group value measured slower on the benchmark of
/// `bench/vcc2026.sh`.)
fn count_below<T: PartialOrd + Copy>(grp: &[T], sorted: &[T], lows: &mut Vec<usize>) {
    lows.clear();
    lows.resize(grp.len(), 0);
    merge_from(grp, sorted, lows, 0, 0, 0);
}

/// The merge of [`count_below`] from group position `i` and control position `j` on, writing
/// `offset` + the count (`lows` aligned to `grp`).
fn merge_from<T: PartialOrd + Copy>(
    grp: &[T],
    sorted: &[T],
    lows: &mut [usize],
    mut i: usize,
    mut j: usize,
    offset: usize,
) {
    while i < grp.len() && j < sorted.len() {
        let control_first = sorted[j] < grp[i];
        lows[i] = offset + j;
        i += usize::from(!control_first);
        j += usize::from(control_first);
    }
    // Every control value is below the group values left (lows[i] may hold an earlier count).
    for low in &mut lows[i..] {
        *low = offset + sorted.len();
    }
}

/// [`count_below`] for totally ordered values (no NaN: the f64 bits of positive CPMs, their
/// log1p), as two merges
/// run in one loop: the control values split at their middle value c, the group at the first
/// value above c (no control value from c on is below a lower-half group value, every one
/// before c is below each upper-half value). Each merge step waits on the previous step's
/// loads; two independent merges interleaved take about 0.6x the time of one over both (a
/// microbenchmark on 600 control and 150 group cells per gene). The split point is searched
/// among the group values, which are in cache (a binary search over the control values, read
/// once per group, measured slower than the single merge).
fn count_below_split<T: PartialOrd + Copy>(grp: &[T], sorted: &[T], lows: &mut Vec<usize>) {
    lows.clear();
    lows.resize(grp.len(), 0);
    if grp.len() < 8 || sorted.len() < 8 {
        merge_from(grp, sorted, lows, 0, 0, 0);
        return;
    }
    let jm = sorted.len() / 2;
    let m = grp.partition_point(|&g| g <= sorted[jm]);
    let ((ga, gb), (sa, sb)) = (grp.split_at(m), sorted.split_at(jm));
    let (la, lb) = lows.split_at_mut(m);
    let (mut ia, mut ja, mut ib, mut jb) = (0, 0, 0, 0);
    while ia < ga.len() && ja < sa.len() && ib < gb.len() && jb < sb.len() {
        let (ca, cb) = (sa[ja] < ga[ia], sb[jb] < gb[ib]);
        la[ia] = ja;
        lb[ib] = jm + jb;
        ia += usize::from(!ca);
        ja += usize::from(ca);
        ib += usize::from(!cb);
        jb += usize::from(cb);
    }
    merge_from(ga, sa, la, ia, ja, 0);
    merge_from(gb, sb, lb, ib, jb, jm);
}

/// The pooled rank sum and tie term of the sorted positive values `grp` against the control
/// values `sorted` (the same scale; `count` gives each group value's control count below), zeros
/// counted apart as one tie block of rank (zeros + 1)/2. `None` when a group value is `near` a distinct group or control value (ranks of CPM might
/// then differ from ranks of log1p).
fn merge<T: PartialOrd + Copy>(
    grp: &[T],
    grp_zeros: usize,
    sorted: &[T],
    r: &RefGene<'_>,
    lows: &mut Vec<usize>,
    count: fn(&[T], &[T], &mut Vec<usize>),
    near: impl Fn(T, T) -> bool,
) -> Option<(f64, f64)> {
    count(grp, sorted, lows);
    let zeros = grp_zeros + r.zeros;
    let mut r1 = grp_zeros as f64 * (zeros + 1) as f64 / 2.0;
    let mut tie = r.tie_term - tie_f(r.zeros) + tie_f(zeros);
    let mut i = 0;
    while i < grp.len() {
        let v = grp[i];
        let mut j = i + 1;
        while j < grp.len() && grp[j] == v {
            j += 1;
        }
        let lo = lows[i];
        let mut hi = lo;
        while hi < sorted.len() && sorted[hi] == v {
            hi += 1;
        }
        if (i > 0 && near(grp[i - 1], v))
            || (lo > 0 && near(sorted[lo - 1], v))
            || (hi < sorted.len() && near(v, sorted[hi]))
        {
            return None;
        }
        let (t_c, t_g) = (hi - lo, j - i);
        let less = zeros + lo + i;
        r1 += t_g as f64 * (less as f64 + (t_c + t_g + 1) as f64 / 2.0);
        tie = tie - tie_f(t_c) + tie_f(t_c + t_g);
        i = j;
    }
    Some((r1, tie as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel against the direct ranks of log1p: pools, sorts, midranks, Σ(t³ − t).
    fn direct(grp: &[f64], grp_zeros: usize, ctrl: &[f64], ctrl_zeros: usize) -> (f64, f64) {
        let mut all: Vec<(f64, bool)> = grp
            .iter()
            .map(|v| (v.ln_1p(), true))
            .chain(std::iter::repeat_n((0.0, true), grp_zeros))
            .chain(ctrl.iter().map(|v| (v.ln_1p(), false)))
            .chain(std::iter::repeat_n((0.0, false), ctrl_zeros))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut r1, mut tie, mut i) = (0.0, 0.0, 0);
        while i < all.len() {
            let mut j = i;
            while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
                j += 1;
            }
            let t = (j - i + 1) as f64;
            tie += t * t * t - t;
            r1 += all[i..=j].iter().filter(|x| x.1).count() as f64 * ((i + j) as f64 / 2.0 + 1.0);
            i = j + 1;
        }
        (r1, tie)
    }

    /// Equal CPMs, values a few ulp apart (whose log1p may or may not coincide) and values far
    /// apart all give the ranks of log1p.
    #[test]
    fn ranks_of_cpm_equal_ranks_of_log1p() {
        let base = 3.0e5f64 / 7.0;
        let up = |x: f64, k: u64| f64::from_bits(x.to_bits() + k);
        let cases: Vec<(Vec<f64>, usize, Vec<f64>, usize)> = vec![
            (vec![1.0, 2.0, 2.0, 5.0], 3, vec![2.0, 3.0, 5.0, 5.0, 9.0], 4),
            (vec![base, up(base, 1)], 0, vec![up(base, 2), base], 1),
            (vec![up(base, 3)], 2, vec![base, up(base, 1), up(base, 2)], 0),
            (vec![up(base, 1), up(base, 1)], 1, vec![base], 2),
            (vec![7.5, up(7.5, 1)], 0, vec![], 3),
            (vec![], 5, vec![1.0, 1.0], 1),
        ];
        for (grp, gz, ctrl, cz) in cases {
            let refs = RefGenes::of(&[&ctrl], ctrl.len() + cz);
            let r = refs.gene(0);
            let mut s = RankScratch { values: grp.iter().map(|v| v.to_bits()).collect(), lows: vec![] };
            assert_eq!(rank_sum(&mut s, gz, &r), direct(&grp, gz, &ctrl, cz), "{grp:?} vs {ctrl:?}");
        }
    }

    /// Counts over library sizes in small ratios (2/4000 and 3/6000 give equal or near CPMs, whose
    /// log1p may coincide): random groups and controls against the direct ranks of log1p.
    #[test]
    fn random_groups_match_the_direct_ranks() {
        use rand::RngExt;
        let mut rng = crate::rng::seeded(11);
        let values = |n: usize, rng: &mut crate::rng::ChaCha8Rng| -> (Vec<f64>, usize) {
            let libs = [3000.0, 4000.0, 4500.0, 6000.0, 7000.0, 9000.0, 12000.0];
            let mut v = Vec::new();
            for _ in 0..n {
                let c: u32 = rng.random_range(0..7);
                if c > 0 {
                    v.push(f64::from(c) / (libs[rng.random_range(0..libs.len())] / 1e6));
                }
            }
            let zeros = n - v.len();
            (v, zeros)
        };
        let mut s = RankScratch::default();
        for round in 0..300 {
            let (ctrl, cz) = values(40, &mut rng);
            let (grp, gz) = values(12, &mut rng);
            let refs = RefGenes::of(&[&ctrl], ctrl.len() + cz);
            let r = refs.gene(0);
            s.values = grp.iter().map(|v| v.to_bits()).collect();
            assert_eq!(rank_sum(&mut s, gz, &r), direct(&grp, gz, &ctrl, cz), "round {round}");
        }
    }

    #[test]
    fn count_below_counts_the_control_values_below() {
        let sorted = [1u64, 3, 3, 3, 7, 9];
        let grp = [0u64, 1, 2, 3, 3, 8, 9, 10, 12];
        let mut lows = vec![];
        count_below(&grp, &sorted, &mut lows);
        let want: Vec<usize> = grp.iter().map(|&v| sorted.iter().filter(|&&x| x < v).count()).collect();
        assert_eq!(lows, want);
        count_below(&grp, &[], &mut lows);
        assert_eq!(lows, vec![0; grp.len()]);
    }

    /// The split merge counts like the single one (and like a direct count) on random sorted
    /// values with ties inside and across the two sides, short and empty sides included.
    #[test]
    fn split_count_equals_the_direct_count() {
        use rand::RngExt;
        let mut rng = crate::rng::seeded(5);
        let (mut lows, mut split) = (vec![], vec![]);
        for round in 0..2000 {
            let span: u64 = rng.random_range(1..60);
            let mut draw = |n: usize| {
                let mut v: Vec<u64> = (0..n).map(|_| rng.random_range(1..=span)).collect();
                v.sort_unstable();
                v
            };
            let (n_grp, n_ctrl) = (round % 40, (round * 7) % 90);
            let (grp, ctrl) = (draw(n_grp), draw(n_ctrl));
            count_below(&grp, &ctrl, &mut lows);
            count_below_split(&grp, &ctrl, &mut split);
            let want: Vec<usize> = grp.iter().map(|&v| ctrl.iter().filter(|&&c| c < v).count()).collect();
            assert_eq!(lows, want, "round {round}");
            assert_eq!(split, want, "round {round}");
            let as_f64 = |v: &[u64]| v.iter().map(|&x| x as f64 / 7.0).collect::<Vec<f64>>();
            count_below_split(&as_f64(&grp), &as_f64(&ctrl), &mut split);
            assert_eq!(split, want, "round {round} (f64)");
        }
    }

    /// Far-apart values never take the log1p path; near ones always do.
    #[test]
    fn near_values_are_detected() {
        let refs = RefGenes::of(&[&[10.0, 20.0]], 3);
        let r = refs.gene(0);
        let cpm = r.cpm.expect("positive CPMs");
        let near = |a: u64, b: u64| b - a <= NEAR_ULPS;
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        let mut lows = vec![];
        assert!(merge(&bits(&[15.0]), 0, cpm, &r, &mut lows, count_below_split, near).is_some());
        assert!(merge(&bits(&[20.0 * (1.0 + 1e-12)]), 0, cpm, &r, &mut lows, count_below_split, near).is_none());
        assert!(merge(&bits(&[10.0 * (1.0 - 1e-12)]), 0, cpm, &r, &mut lows, count_below_split, near).is_none());
        assert!(merge(&bits(&[5.0, 5.0 * (1.0 + 1e-12)]), 0, cpm, &r, &mut lows, count_below_split, near).is_none());
        assert!(merge(&bits(&[5.0, 5.0 * (1.0 + 1e-8)]), 0, cpm, &r, &mut lows, count_below_split, near).is_some());
    }

    /// Negative values (not counts) take the log1p path on either side.
    #[test]
    fn values_that_are_not_cpm_take_the_log1p_path() {
        let on_log1p = |grp: &[f64], r: &RefGene<'_>| {
            let mut logs: Vec<f64> = grp.iter().map(|v| v.ln_1p()).collect();
            logs.sort_unstable_by(f64::total_cmp);
            merge(&logs, 1, r.log1p, r, &mut vec![], count_below, |_, _| false)
        };
        for (grp, ctrl) in [([1.0f64, -0.25], [0.5, 2.0]), ([1.0, 3.0], [-0.5, 2.0])] {
            let refs = RefGenes::of(&[&ctrl], 3);
            let r = refs.gene(0);
            let mut s = RankScratch { values: grp.iter().map(|v| v.to_bits()).collect(), lows: vec![] };
            assert_eq!(Some(rank_sum(&mut s, 1, &r)), on_log1p(&grp, &r));
        }
    }
}
