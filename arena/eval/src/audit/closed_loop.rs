//! The audit section of a closed-loop scorecard: the screens' probes (random screening and the
//! guide baseline's strongest predicted effects, `families::closed_loop::probe_rows`) beside the
//! submission and the baselines, flagged by the audit's rules ([`super::flag_rows`]).

use tasks::scorecard::{AuditSection, ScoreRow};
use tasks::{TaskError, TaskInstance};

use super::{AuditRow, Role};
use crate::EvalOptions;
use crate::families::closed_loop;
use arena_models::baselines;

/// The audit section of a closed-loop scorecard: the probes' means, and the audit's flags
/// ([`super::flag_rows`]) of the submission's row, the baselines' and the probes'.
pub fn section(
    instance: &TaskInstance<'_>,
    submission: &ScoreRow,
    baseline_rows: &[ScoreRow],
    options: &EvalOptions,
) -> Result<AuditSection, TaskError> {
    let mut rows =
        vec![AuditRow { role: Role::Submission, description: "the model under audit".into(), row: submission.clone() }];
    for row in baseline_rows {
        let description = baselines::describe(&row.name).into();
        let row = ScoreRow { name: format!("baseline: {}", row.name), ..row.clone() };
        rows.push(AuditRow { role: Role::Baseline, description, row });
    }
    for (row, description) in closed_loop::probe_rows(instance, options)? {
        rows.push(AuditRow { role: Role::Probe, description, row });
    }
    let primary = instance.spec.spec.metrics.first().cloned().unwrap_or_default();
    let flags = super::flag_rows(&rows, &primary).1;
    let probes = rows.iter().filter(|r| r.role == Role::Probe).map(AuditRow::probe_scores).collect();
    Ok(AuditSection {
        submission: submission.name.clone(),
        shuffle_seed: options.shuffle_seed,
        inflation: super::INFLATION,
        probes,
        flags,
        notes: vec!["closed-loop tasks have no derived probes (the audit's inflation factor is unused)".into()],
        views: Vec::new(),
    })
}
