//! Per-gene prior features of the reference model, defined for every gene that can be perturbed
//! (seen in training or not):
//! - co-expression in the training control cells: the gene's mean level, spread and its row of
//!   the top principal axes of the control correlation matrix (scaled loadings);
//! - how the gene responds across the training perturbations (its row of the top left singular
//!   vectors of the centred training effects, the linear baseline's gene embedding);
//! - the CollecTRI graph: the gene's signed targets and regulators within the panel, projected
//!   on both bases, and its degrees.
//!
//! Separate "observed" features hold the coordinates of the gene's own training single effect
//! (zero for a gene without one) and the effect itself (the model's additive path).

use std::collections::{BTreeSet, HashMap};

use ndarray::{Array1, Array2, Axis};
use reference_model::FeatureTable;
use tasks::{Dataset, Perturbation};

use crate::baselines::linalg::symmetric_eigen;

/// Principal axes kept from the control co-expression and from the training effects.
const CONTROL_AXES: usize = 32;
const EFFECT_AXES: usize = 16;
/// Control cells used for the co-expression (the first ones of the training controls).
const MAX_CONTROL_CELLS: usize = 600;

pub use arena_data::collectri::Edges;

/// Every gene a perturbation of the dataset targets, plus the panel: the rows of the table.
pub fn feature_genes(dataset: &Dataset) -> Vec<String> {
    let mut genes: BTreeSet<String> = dataset.genes.names().iter().cloned().collect();
    let seq_actions = dataset.sequences.iter().flat_map(|s| s.sequences.iter().flatten());
    for p in dataset.conditions().iter().chain(seq_actions) {
        genes.extend(p.genes().map(str::to_string));
    }
    let panel: BTreeSet<&String> = dataset.genes.names().iter().collect();
    // Panel genes first, in panel order, then the others sorted.
    let mut out: Vec<String> = dataset.genes.names().to_vec();
    out.extend(genes.into_iter().filter(|g| !panel.contains(g)));
    out
}

/// Builds the feature table from the training view: `controls` (training control cells, may be
/// empty), `effects` (training conditions and their mean effect vs the control centre).
pub fn build(
    genes: &[String],
    panel: &[String],
    controls: &Array2<f32>,
    effects: &[(Perturbation, Array1<f64>)],
    edges: Option<&Edges>,
) -> FeatureTable {
    let n = panel.len();
    let (control_basis, control_stats) = control_coexpression(controls);
    let effect_basis = effect_axes(n, effects);
    let bases: Vec<&Array2<f64>> = [control_basis.as_ref(), Some(&effect_basis)].into_iter().flatten().collect();
    let panel_index: HashMap<&str, usize> = panel.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let graph = edges.map(|e| graph_profiles(e, &panel_index));
    let kb: usize = bases.iter().map(|b| b.ncols()).sum();
    let n_prior = control_stats.as_ref().map_or(0, |_| 2) + kb + graph.as_ref().map_or(0, |_| 2 * kb + 2);
    let mut prior = Array2::<f32>::zeros((genes.len(), n_prior));
    for (t, gene) in genes.iter().enumerate() {
        let mut row = Vec::with_capacity(n_prior);
        let g = panel_index.get(gene.as_str()).copied();
        if let Some((mean, sd)) = &control_stats {
            row.extend(g.map_or([0.0, 0.0], |g| [mean[g], sd[g]]));
        }
        for b in &bases {
            row.extend((0..b.ncols()).map(|k| g.map_or(0.0, |g| b[[g, k]])));
        }
        if let Some((targets, regulators)) = &graph {
            for profiles in [targets, regulators] {
                let profile = profiles.get(gene.as_str());
                for b in &bases {
                    row.extend(
                        (0..b.ncols()).map(|k| profile.map_or(0.0, |p| p.iter().map(|&(i, w)| w * b[[i, k]]).sum())),
                    );
                }
            }
            let degree =
                |m: &HashMap<&str, Vec<(usize, f64)>>| m.get(gene.as_str()).map_or(0.0, |p| (p.len() as f64).ln_1p());
            row.extend([degree(targets), degree(regulators)]);
        }
        prior.row_mut(t).assign(&Array1::from(row.iter().map(|&v| v as f32).collect::<Vec<_>>()));
    }
    let singles: Vec<&(Perturbation, Array1<f64>)> =
        effects.iter().filter(|(p, _)| p.order() == 1 && p.genes().all(|g| genes.iter().any(|x| x == g))).collect();
    FeatureTable {
        genes: genes.to_vec(),
        prior,
        observed: observed_effects(genes, effects, &effect_basis),
        effect_genes: singles.iter().map(|(p, _)| p.label()).collect(),
        effects: Array2::from_shape_fn((singles.len(), n), |(i, g)| singles[i].1[g] as f32),
    }
}

/// Scaled loadings of the top axes of the control correlation matrix (genes x K) and each
/// gene's mean and standard deviation; `None` without enough control cells.
/// Per-gene mean and standard deviation in the control cells.
type ControlStats = (Vec<f64>, Vec<f64>);

fn control_coexpression(controls: &Array2<f32>) -> (Option<Array2<f64>>, Option<ControlStats>) {
    let m = controls.nrows().min(MAX_CONTROL_CELLS);
    if m < 10 {
        return (None, None);
    }
    let x = controls.slice(ndarray::s![..m, ..]).mapv(f64::from);
    let mean = x.mean_axis(Axis(0)).expect("rows");
    let sd = x.var_axis(Axis(0), 1.0).mapv(f64::sqrt);
    let z = (&x - &mean) / &sd.mapv(|s| if s > 1e-8 { s } else { 1.0 });
    // Eigen-decompose the smaller Gram matrix; loadings of gene g on axis k = corr-PCA coordinates.
    let (m_rows, n) = z.dim();
    let k_max = CONTROL_AXES.min(n).min(m_rows - 1);
    let basis = if n <= m_rows {
        let (values, vectors) = symmetric_eigen(&(z.t().dot(&z) / (m_rows - 1) as f64));
        let mut b = Array2::<f64>::zeros((n, k_max));
        for k in 0..k_max {
            b.column_mut(k).assign(&(&vectors.column(k) * values[k].max(0.0).sqrt()));
        }
        b
    } else {
        let (values, vectors) = symmetric_eigen(&z.dot(&z.t()));
        let mut b = Array2::<f64>::zeros((n, k_max));
        for k in 0..k_max {
            if values[k] > 1e-10 {
                b.column_mut(k).assign(&(z.t().dot(&vectors.column(k)) / ((m_rows - 1) as f64).sqrt()));
            }
        }
        b
    };
    (Some(basis), Some((mean.to_vec(), sd.to_vec())))
}

/// Top left singular vectors of the centred training effects (genes x K).
fn effect_axes(n: usize, effects: &[(Perturbation, Array1<f64>)]) -> Array2<f64> {
    let p = effects.len();
    let mut y = Array2::<f64>::zeros((n, p));
    for (j, (_, e)) in effects.iter().enumerate() {
        y.column_mut(j).assign(e);
    }
    let offset = y.mean_axis(Axis(1)).unwrap_or_else(|| Array1::zeros(n));
    let centred = &y - &offset.insert_axis(Axis(1));
    let (values, vectors) = symmetric_eigen(&centred.t().dot(&centred));
    let k =
        EFFECT_AXES.min(p.saturating_sub(1)).min(values.iter().filter(|&&v| v > 1e-10 * values[0].max(1e-300)).count());
    let mut u = Array2::<f64>::zeros((n, k));
    for c in 0..k {
        u.column_mut(c).assign(&(centred.dot(&vectors.column(c)) / values[c].sqrt()));
    }
    u
}

/// For each gene with a training single: the single's effect on the effect axes, plus a 1.
fn observed_effects(genes: &[String], effects: &[(Perturbation, Array1<f64>)], basis: &Array2<f64>) -> Array2<f32> {
    let k = basis.ncols();
    let index: HashMap<&str, usize> = genes.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let mut out = Array2::<f32>::zeros((genes.len(), k + 1));
    for (p, e) in effects.iter().filter(|(p, _)| p.order() == 1) {
        let Some(&t) = p.genes().next().and_then(|g| index.get(g)) else { continue };
        let coords = basis.t().dot(e);
        for c in 0..k {
            out[[t, c]] = coords[c] as f32;
        }
        out[[t, k]] = 1.0;
    }
    out
}

/// Gene -> its signed neighbours within the panel (panel index, weight).
type Profiles<'a> = HashMap<&'a str, Vec<(usize, f64)>>;

/// Signed targets (within the panel) of each source gene and signed regulators of each target,
/// weighted 1/√degree.
fn graph_profiles<'a>(edges: &'a Edges, panel: &HashMap<&str, usize>) -> (Profiles<'a>, Profiles<'a>) {
    let mut targets: Profiles<'a> = HashMap::new();
    let mut regulators: Profiles<'a> = HashMap::new();
    for (s, t, w) in edges {
        if let Some(&ti) = panel.get(t.as_str()) {
            targets.entry(s.as_str()).or_default().push((ti, f64::from(*w)));
        }
        if let Some(&si) = panel.get(s.as_str()) {
            regulators.entry(t.as_str()).or_default().push((si, f64::from(*w)));
        }
    }
    for m in [&mut targets, &mut regulators] {
        for p in m.values_mut() {
            let norm = (p.len() as f64).sqrt();
            p.iter_mut().for_each(|(_, w)| *w /= norm);
        }
    }
    (targets, regulators)
}
