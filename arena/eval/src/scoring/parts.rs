//! The two halves of an `arena score` run. [`compute`] reads the inputs and works out, for every
//! perturbation of a shard (all of them when unsharded), batch by batch, what needs its cells: the
//! DE tables, the pseudobulk means, the energy distances and the audit of its predicted cells. [`finish`] turns
//! the parts of all perturbations into the metrics, several of which compare perturbations with
//! each other (discrimination scores, de_spearman_sig, Systema's μ_pert, STAMP,
//! pearson_edistance, the same-prediction flag). A single run is `finish(compute(all))`;
//! `arena merge` is `finish` of the shards' parts joined with [`ScoreParts::then`], so both give
//! the same bits.

use metrics::ControlMode;

use super::audit::{self, GroupAudit, MeanRange, ScoreAudit};
use super::de::{self, DeTable};
use super::error::ScoreError;
use super::pair::{self, Bulk, Energies};
use super::profile::Profile;
use super::progress::Progress;
use super::table::Table;
use super::{ScoreOptions, ScoreOutput, de_metrics, input, stamp, systema};
use crate::shard::Shard;

/// What the cells of some perturbations (and the control cells) contribute to a run.
pub struct ScoreParts {
    pub genes: Vec<String>,
    /// The perturbations covered, in the run's order.
    pub perts: Vec<String>,
    /// The control label.
    pub control: String,
    pub real_de: Option<DeTable>,
    pub pred_de: Option<DeTable>,
    /// Pseudobulk means of `perts` and of the controls (after the cap).
    pub bulk: Bulk,
    /// Present when the profile reports pearson_edistance.
    pub energies: Option<Energies>,
    /// The audit of each perturbation's group, in `perts` order.
    pub audit: Vec<GroupAudit>,
    pub control_audit: GroupAudit,
    /// The range of the predicted means (before the cap), for the same-prediction flag.
    pub pred_means: MeanRange,
}

impl ScoreParts {
    /// `before` (when anything came before) followed by `next`, as [`ScoreParts::then`] joins them.
    pub fn after(before: Option<ScoreParts>, next: ScoreParts) -> Result<ScoreParts, String> {
        match before {
            None => Ok(next),
            Some(before) => before.then(next),
        }
    }

    /// These parts followed by `later`'s, the next perturbations of the same run. The control
    /// side (genes, label, control means, control audit) must be the same in both, bit for bit.
    pub fn then(mut self, later: ScoreParts) -> Result<ScoreParts, String> {
        let same_control = self.genes == later.genes
            && self.control == later.control
            && bits(&self.bulk.real_control) == bits(&later.bulk.real_control)
            && bits(&self.bulk.pred_control) == bits(&later.bulk.pred_control)
            && self.control_audit.group == later.control_audit.group
            && self.control_audit.n_real == later.control_audit.n_real
            && self.control_audit.n_pred == later.control_audit.n_pred;
        if !same_control {
            return Err("their genes or control cells differ".into());
        }
        self.perts.extend(later.perts);
        self.real_de = join_de(self.real_de, later.real_de)?;
        self.pred_de = join_de(self.pred_de, later.pred_de)?;
        self.bulk.real.extend(later.bulk.real);
        self.bulk.pred.extend(later.bulk.pred);
        self.energies = match (self.energies, later.energies) {
            (Some(mut a), Some(b)) => {
                a.real.extend(b.real);
                a.pred.extend(b.pred);
                Some(a)
            }
            (None, None) => None,
            _ => return Err("one has energy distances and the other not".into()),
        };
        self.audit.extend(later.audit);
        self.pred_means = self.pred_means.then(later.pred_means);
        Ok(self)
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn join_de(a: Option<DeTable>, b: Option<DeTable>) -> Result<Option<DeTable>, String> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.groups.extend(b.groups);
            Ok(Some(a))
        }
        (None, None) => Ok(None),
        _ => Err("one has DE tables and the other not".into()),
    }
}

/// Reads both inputs and computes the parts of `shard`'s perturbations (all when `None`), in
/// batches of at most `opts.batch_cells` cells; returns every perturbation of the run beside
/// them. Batches join like shards, so the parts do not depend on the batch size.
pub fn compute(
    opts: &ScoreOptions,
    shard: Option<Shard>,
    progress: &Progress,
) -> Result<(Vec<String>, ScoreParts), ScoreError> {
    let profile = opts.profile;
    progress.phase("read labels");
    let mut plan = input::plan(&opts.real, &opts.pred, &opts.pert_col, &opts.control)?;
    let range = match shard {
        Some(shard) => shard
            .within(plan.perts.len(), || {
                format!("{} has only {} perturbation(s)", opts.real.display(), plan.perts.len())
            })
            .map_err(ScoreError::Invalid)?,
        None => 0..plan.perts.len(),
    };
    let batches = plan.batches(range.clone(), opts.batch_cells);
    // Files in any cell order: several batches group them once (or reuse the grouping); a
    // shard, one read of its cells, reuses a grouping that exists.
    if batches.len() > 1 || shard.is_some() {
        progress.phase("group cells");
        plan.group_scattered(&arena_data::cache_dir(None).join("grouped"), batches.len() > 1)?;
    }
    let edistance = profile.columns().contains(&"pearson_edistance");
    // pearson_edistance steps once per perturbation and side
    let per_pert = u64::from(profile.runs_de()) + u64::from(profile.runs_pred_de()) + 2 * u64::from(edistance);
    progress.set_total((range.len() as u64 * per_pert).max(1));
    let mut joined: Option<ScoreParts> = None;
    for batch in batches {
        progress.phase("read");
        let parts = compute_batch(plan.read(batch)?, opts, edistance, progress)?;
        joined = Some(ScoreParts::after(joined, parts).map_err(ScoreError::Invalid)?);
    }
    let parts = joined.ok_or_else(|| ScoreError::Invalid("no perturbation to score".into()))?;
    Ok((plan.perts, parts))
}

/// The parts of the perturbations of `input`.
fn compute_batch(
    mut input: input::ScoreInput,
    opts: &ScoreOptions,
    edistance: bool,
    progress: &Progress,
) -> Result<ScoreParts, ScoreError> {
    let profile = opts.profile;
    progress.phase("audit");
    let capped = !opts.keep_all_cells;
    let (audit, control_audit) = audit::audit_groups(&input, capped);
    let pred_means = MeanRange::of(&input.pred, &input.pred.pert_rows);
    if capped {
        audit::cap_to_real(&mut input);
    }
    progress.phase("real DE");
    let real_de = if profile.runs_de() { Some(de::run_de(&input.real, &input.real, progress)?) } else { None };
    progress.phase("predicted DE");
    let pred_de = if profile.runs_pred_de() {
        let reference = match opts.mode {
            ControlMode::OwnControls => &input.pred,
            ControlMode::RealControls => &input.real,
        };
        Some(de::run_de(&input.pred, reference, progress)?)
    } else {
        None
    };
    progress.phase("pseudobulk");
    let bulk = Bulk::compute(&input, opts.mode == ControlMode::OwnControls);
    let energies = if edistance {
        progress.phase("energy distances");
        Some(pair::energies(&input, opts.mode, progress))
    } else {
        None
    };
    Ok(ScoreParts {
        genes: input.genes,
        perts: input.perts,
        control: input.control,
        real_de,
        pred_de,
        bulk,
        energies,
        audit,
        control_audit,
        pred_means,
    })
}

/// Every metric of `opts.profile` from the parts of all perturbations.
pub fn finish(parts: ScoreParts, opts: &ScoreOptions, progress: &Progress) -> Result<ScoreOutput, ScoreError> {
    let profile = opts.profile;
    let columns = profile.columns();
    let mut computed: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    let some = |v: Vec<f64>| v.into_iter().map(Some).collect::<Vec<_>>();
    let n = parts.perts.len();

    progress.phase("DE metrics");
    if let (Some(r), Some(p)) = (&parts.real_de, &parts.pred_de) {
        computed.extend(de_metrics::de_metrics(r, p, &columns));
    }
    progress.phase("profile metrics");
    for (name, v) in pair::bulk_metrics((&parts.perts, &parts.genes), &parts.bulk, opts.mode, &columns) {
        computed.push((name, some(v)));
    }
    if profile == Profile::Systema {
        let r = parts.real_de.as_ref().ok_or_else(|| ScoreError::Invalid("systema needs the real DE table".into()))?;
        let top: Vec<Vec<usize>> =
            r.groups.iter().map(|g| systema::top_de_genes(&g.p_value, &g.log2_fold_change, systema::TOP_DE)).collect();
        for (name, v) in systema::systema_metrics(&parts.bulk, &top) {
            computed.push((name, some(v)));
        }
    }
    if profile == Profile::Stamp {
        let (r, p) = parts
            .real_de
            .as_ref()
            .zip(parts.pred_de.as_ref())
            .ok_or_else(|| ScoreError::Invalid("stamp needs both DE tables".into()))?;
        for (name, v) in stamp::stamp_metrics(r, p) {
            computed.push((name, vec![Some(v); n]));
        }
    }
    if let Some(e) = &parts.energies {
        computed.push(("pearson_edistance".into(), vec![Some(pair::pearson_edistance(e)); n]));
    }
    progress.finish();

    let mut results = Table::new("perturbation", parts.perts.clone());
    for name in &columns {
        if let Some((_, v)) = computed.iter().find(|(n, _)| n == name) {
            results.push(name, v.clone());
        }
    }
    let agg = results.describe();
    let mut groups = parts.audit;
    groups.push(parts.control_audit);
    let audit = ScoreAudit {
        groups,
        same_prediction_for_every_perturbation: parts.pred_means.all_same(),
        capped: !opts.keep_all_cells,
    };
    Ok(ScoreOutput {
        results,
        agg,
        real_de: parts.real_de,
        pred_de: parts.pred_de,
        perts: parts.perts,
        genes: parts.genes,
        audit,
    })
}
