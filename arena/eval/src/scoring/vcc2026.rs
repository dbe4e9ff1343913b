//! `arena score --profile vcc2026`: cell-eval2 0.20.0's VCC 2026 standard on raw counts. Loads
//! and validates both files (`vcc2026_input`), scores the six members and four diagnostics
//! (`metrics::vcc2026`), optionally computes the replicate anchor (`--anchor`: the baseline b
//! and the replicate r, and the scaled score s = (u − b)/(r − b)), and writes results.csv (long:
//! perturbation, metric, value, as cell-eval2 writes it), agg_results.csv (wide: count,
//! null_count, mean, std, min, max, median per member; the ratio of sums in the `mean` row of
//! `expr_mse_unbiased_capped_norm`), real_de.csv and pred_de.csv (cell-eval2's `--write-degenes`
//! columns), and with `--anchor` anchor.csv. With `--batch-cells N` ([`Vcc2026Options::batch_cells`])
//! the control cells of each file are read once and the perturbations in batches of at most N
//! cells (`metrics::vcc2026::score::Batched`), with the same outputs byte for byte; the anchor
//! needs every cell of the reference at once and is refused with it. No metric math lives here.

use std::path::{Path, PathBuf};

use metrics::de::CsrMatrix;
use metrics::vcc2026::score::{Batched, Vcc2026Scores, check_targets, score};
use metrics::vcc2026::{
    ANCHOR_SPLITS, ControlSource, CountsSide, DIAGNOSTICS, SCORED, de_metrics, resolve_targets, scale,
};

use super::error::ScoreError;
use super::table::csv_str;
use super::vcc2026_input::{CountsFile, CountsInput, load_counts, plan_counts};
use metrics::parity::float_format::push_float;

/// What `arena score --profile vcc2026` needs to know.
#[derive(Debug, Clone)]
pub struct Vcc2026Options {
    pub real: PathBuf,
    pub pred: PathBuf,
    pub control: String,
    pub pert_col: String,
    /// Compute the baseline and the replicate anchor and the scaled score.
    pub anchor: bool,
    /// Seed of the anchor's splits and of the baseline's emission.
    pub anchor_seed: u64,
    /// Use the reference's fixed split in this obs column ('a' / 'b'; other values unused)
    /// instead of the seeded splits (one split).
    pub anchor_split_col: Option<String>,
    /// Also write the baseline prediction (raw-count-scale cells, obs `pert_col`) to this .h5ad.
    pub baseline_out: Option<PathBuf>,
    /// Read and score the perturbations in batches of at most this many cells (both files
    /// together, the controls not counted); `None`: every cell at once. Not with `anchor`.
    pub batch_cells: Option<usize>,
}

/// One member's anchor: the user's aggregate u, the baseline b, the replicate r (mean over
/// splits, and each split's value), and the scaled score.
#[derive(Debug, Clone)]
pub struct AnchorRow {
    pub metric: &'static str,
    pub user: f64,
    pub baseline: f64,
    pub replicate: f64,
    pub splits: Vec<f64>,
    /// s with cell-eval2's clamps (the capped norm to [0, 1], lfc_nmae at −6).
    pub scaled: f64,
    /// s = (u − b)/(r − b) with no clamp at all.
    pub unclipped: f64,
}

/// The computed outputs.
pub struct Vcc2026Output {
    pub perts: Vec<String>,
    pub genes: Vec<String>,
    pub scores: Vcc2026Scores,
    pub anchor: Option<Vec<AnchorRow>>,
}

impl Vcc2026Output {
    /// The equal-weight mean of the six scaled scores (with `--anchor`).
    pub fn avg_score(&self) -> Option<f64> {
        self.anchor.as_ref().map(|rows| rows.iter().map(|r| r.scaled).sum::<f64>() / rows.len() as f64)
    }
}

fn side(f: &CountsFile) -> CountsSide<'_> {
    CountsSide { x: &f.x, groups: &f.groups, control: &f.control }
}

fn invalid(e: metrics::vcc2026::score::Vcc2026Error) -> ScoreError {
    ScoreError::Invalid(e.to_string())
}

/// Refuses the option combinations that do not go together.
fn check_options(opts: &Vcc2026Options) -> Result<(), ScoreError> {
    if !opts.anchor && (opts.anchor_split_col.is_some() || opts.baseline_out.is_some()) {
        return Err(ScoreError::Invalid(
            "--anchor-split-col and --anchor-baseline-out belong to --anchor; pass --anchor too".into(),
        ));
    }
    if opts.anchor && opts.batch_cells.is_some() {
        return Err(ScoreError::Invalid(
            "--anchor cannot be combined with --batch-cells: the replicate anchor's split halves and the \
mean-response baseline need every cell of --real at once; drop --batch-cells to compute the anchor, or drop --anchor \
to score in batches"
                .into(),
        ));
    }
    Ok(())
}

/// Loads, validates and scores; with `anchor`, also the baseline and replicate anchor; with
/// `batch_cells`, in batches ([`score_batches`]).
pub fn score_vcc2026(opts: &Vcc2026Options) -> Result<Vcc2026Output, ScoreError> {
    check_options(opts)?;
    if let Some(max_cells) = opts.batch_cells {
        return score_batches(opts, max_cells);
    }
    let input = load_counts(&opts.real, &opts.pred, &opts.pert_col, &opts.control, opts.anchor_split_col.as_deref())?;
    let targets = resolve_targets(&input.perts, &input.genes);
    let scores =
        score(&side(&input.real), &side(&input.pred), &targets, &input.genes, ControlSource::Real).map_err(invalid)?;
    let anchor = if opts.anchor { Some(anchor(&input, &targets, &scores, opts)?) } else { None };
    Ok(Vcc2026Output { perts: input.perts, genes: input.genes, scores, anchor })
}

/// `--batch-cells`: reads the labels of both files, then the control cells of each file once
/// (prepared for every perturbation's DE test and effect, then dropped), then the perturbations
/// in batches of at most `max_cells` cells, keeping only each perturbation's bulks and DE rows;
/// the members are computed from those at the end. Same numbers as the unbatched run, bit for bit.
fn score_batches(opts: &Vcc2026Options, max_cells: usize) -> Result<Vcc2026Output, ScoreError> {
    let plan = plan_counts(&opts.real, &opts.pred, &opts.pert_col, &opts.control)?;
    let targets = resolve_targets(&plan.perts, &plan.genes);
    check_targets(&targets).map_err(invalid)?;
    let mut batched = {
        let (real, pred) = plan.read_controls()?;
        let all = |n: usize| (0..n).collect::<Vec<usize>>();
        Batched::new(&real, &all(real.n_rows), &pred, &all(pred.n_rows))
    };
    for range in plan.batches(max_cells) {
        let ((real_x, real_groups), (pred_x, pred_groups)) = plan.read_batch(range)?;
        batched.add((&real_x, &real_groups), (&pred_x, &pred_groups));
    }
    let scores = batched.finish(&targets, &plan.genes).map_err(invalid)?;
    Ok(Vcc2026Output { perts: plan.perts, genes: plan.genes, scores, anchor: None })
}

fn aggregate(s: &Vcc2026Scores, metric: &str) -> f64 {
    s.aggregate.iter().find(|(n, _)| *n == metric).map_or(f64::NAN, |(_, v)| *v)
}

/// The replicate value of every scored member on one split: the split-half score (half B
/// scored against half A, each with its own controls), with `de_wilcoxon_lfc_nmae` from its
/// full-gate estimator (the gate and denominator from the full reference table).
pub fn replicate_split(
    full: &CountsFile,
    half_a: (&[Vec<usize>], &[usize]),
    half_b: (&[Vec<usize>], &[usize]),
    targets: &[Option<usize>],
    genes: &[String],
    full_real_de: &metrics::vcc2026::wilcoxon::DeTable,
) -> Result<Vec<(&'static str, f64)>, ScoreError> {
    let a = CountsSide { x: &full.x, groups: half_a.0, control: half_a.1 };
    let b = CountsSide { x: &full.x, groups: half_b.0, control: half_b.1 };
    let s = score(&a, &b, targets, genes, ControlSource::Own).map_err(invalid)?;
    let dt = metrics::vcc2026::score::de_targets(full_real_de, targets);
    let nmae = de_metrics::lfc_nmae_full_gate(full_real_de, &s.real_de, &s.pred_de, &dt);
    let defined: Vec<f64> = nmae.iter().flatten().copied().filter(|v| !v.is_nan()).collect();
    let nmae_mean = if defined.is_empty() { f64::NAN } else { defined.iter().sum::<f64>() / defined.len() as f64 };
    Ok(SCORED.iter().map(|m| (*m, if *m == "de_wilcoxon_lfc_nmae" { nmae_mean } else { aggregate(&s, m) })).collect())
}

/// The splits of the replicate anchor: the fixed one of `--anchor-split-col`, or
/// [`ANCHOR_SPLITS`] seeded disjoint halves.
#[allow(clippy::type_complexity)]
fn splits(
    input: &CountsInput,
    opts: &Vcc2026Options,
) -> Result<Vec<((Vec<Vec<usize>>, Vec<usize>), (Vec<Vec<usize>>, Vec<usize>))>, ScoreError> {
    let real = &input.real;
    if let Some(col) = &opts.anchor_split_col {
        let pick =
            |rows: &[usize], h: &str| -> Vec<usize> { rows.iter().copied().filter(|&r| real.split[r] == h).collect() };
        let half = |h: &str| (real.groups.iter().map(|g| pick(g, h)).collect::<Vec<_>>(), pick(&real.control, h));
        let (a, b) = (half("a"), half("b"));
        if a.0.iter().chain(&b.0).any(Vec::is_empty) || a.1.is_empty() || b.1.is_empty() {
            return Err(ScoreError::field(
                &real.path,
                format!("obs/{col}"),
                "every perturbation and the control need cells labelled 'a' and cells labelled 'b'",
            ));
        }
        return Ok(vec![(a, b)]);
    }
    if let Some(i) = real.groups.iter().position(|g| g.len() < 2) {
        return Err(ScoreError::field(
            &real.path,
            format!("obs/{}", opts.pert_col),
            format!(
                "perturbation '{}' has fewer than 2 cells; the replicate anchor splits every group in two",
                input.perts[i]
            ),
        ));
    }
    let mut all = real.groups.clone();
    all.push(real.control.clone());
    Ok((0..ANCHOR_SPLITS as u64)
        .map(|i| {
            let (mut a, mut b) = scale::disjoint_halves(&all, opts.anchor_seed.wrapping_mul(1000).wrapping_add(i));
            let (ca, cb) = (a.pop().unwrap_or_default(), b.pop().unwrap_or_default());
            ((a, ca), (b, cb))
        })
        .collect())
}

/// The mean-response baseline prediction (cell-eval2 `baseline`, dispersed emission): the
/// equal-weight mean over perturbations of their mean count vectors (each gene's own targeting
/// perturbation left out), emitted per perturbation as resampled real control cells scaled per
/// gene by profile/control mean; the control rows are the real control cells.
fn baseline_prediction(
    real: &CountsFile,
    targets: &[Option<usize>],
    seed: u64,
) -> (CsrMatrix, Vec<Vec<usize>>, Vec<usize>) {
    let n_genes = real.x.n_cols;
    let mean = |rows: &[usize]| -> Vec<f64> {
        let mut s = metrics::vcc2026::bulk::group_sums(&real.x, rows);
        s.iter_mut().for_each(|v| *v /= rows.len().max(1) as f64);
        s
    };
    let per: Vec<Vec<f64>> = real.groups.iter().map(|g| mean(g)).collect();
    let mut total = vec![0.0f64; n_genes];
    let mut count = vec![per.len() as f64; n_genes];
    for (i, m) in per.iter().enumerate() {
        for g in 0..n_genes {
            total[g] += m[g];
        }
        if let Some(t) = targets[i] {
            total[t] -= m[t];
            count[t] -= 1.0;
        }
    }
    let profile: Vec<f64> = total.iter().zip(&count).map(|(t, c)| if *c > 0.0 { t / c } else { 0.0 }).collect();
    let ctrl = mean(&real.control);
    let scale: Vec<f64> = profile.iter().zip(&ctrl).map(|(p, c)| if *c > 0.0 { p / c } else { 0.0 }).collect();
    let mut rng = metrics::rng::seeded(seed);
    let (mut indptr, mut indices, mut data) = (vec![0u64], Vec::new(), Vec::new());
    let mut push_row = |r: usize, scaled: bool, indptr: &mut Vec<u64>| {
        for k in real.x.indptr[r] as usize..real.x.indptr[r + 1] as usize {
            let g = real.x.indices[k] as usize;
            let v = if scaled { (f64::from(real.x.data[k]) * scale[g]) as f32 } else { real.x.data[k] };
            if v != 0.0 {
                indices.push(g as u32);
                data.push(v);
            }
        }
        indptr.push(data.len() as u64);
    };
    let mut groups = Vec::with_capacity(real.groups.len());
    let mut row = 0usize;
    for g in &real.groups {
        let mut rows = Vec::with_capacity(g.len());
        for _ in 0..g.len() {
            let src = real.control[metrics::rng::index(&mut rng, real.control.len())];
            push_row(src, true, &mut indptr);
            rows.push(row);
            row += 1;
        }
        groups.push(rows);
    }
    let mut control = Vec::with_capacity(real.control.len());
    for &c in &real.control {
        push_row(c, false, &mut indptr);
        control.push(row);
        row += 1;
    }
    (CsrMatrix { n_rows: row, n_cols: n_genes, indptr, indices, data }, groups, control)
}

/// Writes the baseline prediction as .h5ad: cells in row order, labels in `pert_col`.
fn write_baseline(
    path: &Path,
    x: &CsrMatrix,
    groups: &[Vec<usize>],
    control: &[usize],
    input: &CountsInput,
    opts: &Vcc2026Options,
) -> Result<(), ScoreError> {
    use arena_data::{AnnData, Column, Frame, Matrix, SparseMatrix};
    let mut labels = vec![String::new(); x.n_rows];
    for (p, rows) in input.perts.iter().zip(groups) {
        rows.iter().for_each(|&r| labels[r] = p.clone());
    }
    control.iter().for_each(|&r| labels[r] = opts.control.clone());
    let adata = AnnData {
        x: Matrix::Csr(SparseMatrix {
            shape: (x.n_rows, x.n_cols),
            data: x.data.clone(),
            indices: x.indices.clone(),
            indptr: x.indptr.clone(),
        }),
        obs: Frame {
            index_name: "_index".into(),
            index: (0..x.n_rows).map(|i| format!("baseline{i}")).collect(),
            columns: vec![(opts.pert_col.clone(), Column::Strings(labels))],
        },
        var: Frame { index_name: "_index".into(), index: input.genes.clone(), columns: vec![] },
        layers: vec![],
        obsm: vec![],
        uns_strings: vec![],
    };
    arena_data::write_h5ad(path, &adata)
        .map_err(|e| ScoreError::Write { path: path.to_path_buf(), reason: e.to_string() })
}

fn anchor(
    input: &CountsInput,
    targets: &[Option<usize>],
    user: &Vcc2026Scores,
    opts: &Vcc2026Options,
) -> Result<Vec<AnchorRow>, ScoreError> {
    let (bx, bgroups, bcontrol) = baseline_prediction(&input.real, targets, opts.anchor_seed);
    if let Some(path) = &opts.baseline_out {
        write_baseline(path, &bx, &bgroups, &bcontrol, input, opts)?;
    }
    let base_side = CountsSide { x: &bx, groups: &bgroups, control: &bcontrol };
    let baseline =
        score(&side(&input.real), &base_side, targets, &input.genes, ControlSource::Real).map_err(invalid)?;
    let mut per_split = Vec::new();
    for ((a, ca), (b, cb)) in splits(input, opts)? {
        per_split.push(replicate_split(&input.real, (&a, &ca), (&b, &cb), targets, &input.genes, &user.real_de)?);
    }
    Ok(SCORED
        .iter()
        .map(|m| {
            let values: Vec<f64> =
                per_split.iter().map(|s| s.iter().find(|(n, _)| n == m).map_or(f64::NAN, |(_, v)| *v)).collect();
            let replicate = values.iter().sum::<f64>() / values.len() as f64;
            let (u, b) = (aggregate(user, m), aggregate(&baseline, m));
            AnchorRow {
                metric: m,
                user: u,
                baseline: b,
                replicate,
                splits: values,
                scaled: scale::scaled(m, u, b, replicate),
                unclipped: scale::unclipped(u, b, replicate),
            }
        })
        .collect())
}

/// results.csv: one row per (perturbation, member) with a value, members in cell-eval2's order.
pub fn results_csv(out: &Vcc2026Output) -> String {
    let mut s = String::from("perturbation,metric,value\n");
    for (name, values) in &out.scores.per_pert {
        for (p, v) in out.perts.iter().zip(values) {
            if let Some(v) = v {
                s.push_str(&csv_str(p));
                s.push(',');
                s.push_str(name);
                s.push(',');
                push_float(&mut s, *v);
                s.push('\n');
            }
        }
    }
    s
}

/// count, null_count, mean, std (n − 1), min, max, median of the non-NaN values (count counts
/// the rows, NaN included), as cell-eval2's `aggregate_metrics_wide`.
fn describe(values: &[Option<f64>]) -> [f64; 7] {
    let rows: Vec<f64> = values.iter().flatten().copied().collect();
    let mut v: Vec<f64> = rows.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let nan = f64::NAN;
    if v.is_empty() {
        return [rows.len() as f64, 0.0, nan, nan, nan, nan, nan];
    }
    let mean = v.iter().sum::<f64>() / n;
    let std = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { nan };
    let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
    [rows.len() as f64, 0.0, mean, std, v[0], v[v.len() - 1], median]
}

/// agg_results.csv: the wide aggregate, members in alphabetical order as cell-eval2 writes them.
pub fn agg_csv(out: &Vcc2026Output) -> String {
    let mut names: Vec<&str> = SCORED.iter().chain(&DIAGNOSTICS).copied().collect();
    names.sort_unstable();
    let stats = ["count", "null_count", "mean", "std", "min", "max", "median"];
    let cols: Vec<[f64; 7]> = names
        .iter()
        .map(|m| match out.scores.per_pert.iter().find(|(n, _)| n == m) {
            Some((_, v)) => describe(v),
            None => {
                let mut c = [f64::NAN; 7];
                c[2] = aggregate(&out.scores, m);
                c
            }
        })
        .collect();
    let mut s = format!("statistic,{}\n", names.join(","));
    for (i, st) in stats.iter().enumerate() {
        s.push_str(st);
        for c in &cols {
            s.push(',');
            push_float(&mut s, c[i]);
        }
        s.push('\n');
    }
    s
}

/// anchor.csv: per scored member u, b, r, s (cell-eval2's clamps), s unclipped, and each split's
/// r; then `avg_score`, the mean of both score columns.
pub fn anchor_csv(rows: &[AnchorRow]) -> String {
    let n_splits = rows.first().map_or(0, |r| r.splits.len());
    let mut s = String::from("metric,user,baseline,replicate,scaled,scaled_unclipped");
    for i in 0..n_splits {
        s.push_str(&format!(",replicate_split_{i}"));
    }
    s.push('\n');
    for r in rows {
        s.push_str(r.metric);
        for v in [r.user, r.baseline, r.replicate, r.scaled, r.unclipped].into_iter().chain(r.splits.iter().copied()) {
            s.push(',');
            push_float(&mut s, v);
        }
        s.push('\n');
    }
    s.push_str("avg_score,,,,");
    push_float(&mut s, rows.iter().map(|r| r.scaled).sum::<f64>() / rows.len() as f64);
    s.push(',');
    push_float(&mut s, rows.iter().map(|r| r.unclipped).sum::<f64>() / rows.len() as f64);
    s.push_str(&",".repeat(n_splits));
    s.push('\n');
    s
}

/// A DE table as CSV with cell-eval2's `--write-degenes` columns: target, feature,
/// log2_fold_change, p_value, p_adj (tested genes only), into `w` a perturbation at a time (the
/// whole text is never held).
pub fn write_de_csv(
    t: &metrics::vcc2026::wilcoxon::DeTable,
    perts: &[String],
    genes: &[String],
    w: &mut impl std::io::Write,
) -> std::io::Result<()> {
    w.write_all(b"target,feature,log2_fold_change,p_value,p_adj\n")?;
    let genes_q: Vec<String> = t.kept.iter().map(|&g| csv_str(&genes[g])).collect();
    let mut s = String::new();
    for (p, g) in perts.iter().zip(&t.groups) {
        s.clear();
        let pq = csv_str(p);
        for (i, gene) in genes_q.iter().enumerate() {
            s.push_str(&pq);
            s.push(',');
            s.push_str(gene);
            for v in [g.log2_fold_change[i], g.p_value[i], g.p_adj[i]] {
                s.push(',');
                push_float(&mut s, v);
            }
            s.push('\n');
        }
        w.write_all(s.as_bytes())?;
    }
    Ok(())
}

/// Writes results.csv, agg_results.csv, real_de.csv, pred_de.csv (and anchor.csv) into `dir`, as one
/// set of `data::output` (all in place or none).
pub fn write_vcc2026(out: &Vcc2026Output, dir: &Path) -> Result<Vec<PathBuf>, ScoreError> {
    let text = |name: &str, text: String| arena_data::output::stage_bytes(&dir.join(name), text.as_bytes());
    let mut staged = vec![text("results.csv", results_csv(out))?, text("agg_results.csv", agg_csv(out))?];
    // the DE tables are streamed into their files, a perturbation at a time, the two files at
    // once (formatting their floats is most of the writing, and it is serial within a file)
    let de = |name: &str, t| {
        arena_data::output::stage(&dir.join(name), |file| {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            write_de_csv(t, &out.perts, &out.genes, &mut w)?;
            w.into_inner().map(drop).map_err(|e| e.into_error())
        })
    };
    let (real_de, pred_de) =
        rayon::join(|| de("real_de.csv", &out.scores.real_de), || de("pred_de.csv", &out.scores.pred_de));
    staged.push(real_de?);
    staged.push(pred_de?);
    if let Some(a) = &out.anchor {
        staged.push(text("anchor.csv", anchor_csv(a))?);
    }
    Ok(arena_data::output::commit(staged)?)
}
