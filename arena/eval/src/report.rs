//! The human-readable scorecard: a Markdown table (pastes into a paper, a README or an issue)
//! of every row's mean and 95% bootstrap CI per metric, every mean as a fraction of the way from
//! the best baseline to the noise ceiling, the primary metric per subgroup, and the audit's flags.

use std::fmt::Write;

use metrics::Interval;
use tasks::ModelKind;
use tasks::scorecard::{ScoreRow, Scorecard};

pub fn render(card: &Scorecard) -> String {
    let mut out = String::new();
    let short = |s: &str| s.chars().take(12).collect::<String>();
    let _ = writeln!(
        out,
        "Task {} v{} ({}) on {} [sha256 {}], seed {}: {} test / {} train perturbations",
        card.task.id,
        card.task.version,
        card.task.family,
        card.dataset.id,
        short(&card.dataset.sha256),
        card.task.seed,
        card.task.n_test_conditions,
        card.task.n_train_conditions
    );
    let level = (card.bootstrap.level * 100.0).round();
    let _ = writeln!(
        out,
        "Mean over test perturbations [{level}% bootstrap CI, {} resamples]; ranked by {}; ↑ higher is better, ↓ lower is better.\n",
        card.bootstrap.resamples, card.primary_metric
    );
    // The metric columns come from the first ranked row (the ceiling may lack some metrics).
    let Some(first) = card.rows.iter().find(|r| r.kind != ModelKind::Ceiling).or(card.rows.first()) else {
        let _ = writeln!(out, "(no rows)");
        return out;
    };
    let ranks = card.rank_confidence.as_ref();
    let headers: Vec<String> = std::iter::once("row".to_string())
        .chain(ranks.map(|_| "rank".to_string()))
        .chain(first.metrics.iter().map(|m| format!("{} {}", m.metric, m.better.arrow())))
        .collect();
    let body: Vec<Vec<String>> = card
        .rows
        .iter()
        .map(|row| {
            let rank = |r| match row.kind {
                ModelKind::Ceiling => "reference, not ranked".to_string(),
                _ => crate::audit::rank::rank_cell(r, &row.name),
            };
            std::iter::once(row_label(row, card))
                .chain(ranks.map(rank))
                .chain(first.metrics.iter().map(|m| match row.metric(&m.metric) {
                    Some(m) => cell(&m.overall),
                    None if row.kind == ModelKind::Ceiling => "no ceiling".to_string(),
                    None => String::new(),
                }))
                .collect()
        })
        .collect();
    table(&mut out, &headers, &body);
    if let Some(r) = ranks {
        let _ = writeln!(
            out,
            "\nrank: on {} (paired bootstrap over the resampling units, {} resamples, seed {}): rank (its {}% interval), \
             tie group (rows that Holm-adjusted paired bootstrap-t tests at {}% cannot separate from the group's best \
             row; means equal up to {:e} relative are ties).",
            r.metric,
            r.resamples,
            r.seed,
            (r.level * 100.0).round(),
            (100.0 - r.level * 100.0).round(),
            metrics::ranking::TIE_TOLERANCE
        );
    }
    if let Some(note) = &card.resampling {
        let _ = writeln!(out, "\nCIs: {note}.");
    }
    if card.rows.iter().any(|r| r.kind == ModelKind::Ceiling && r.name == "noise-ceiling") {
        let _ = writeln!(
            out,
            "\nnoise ceiling: the estimated score of each test item's population mean against its real test cells \
             (for correlations the index of reliability √ρ, ρ = 1 − sampling variance of the mean / spread of the \
             delta over genes, the Spearman–Brown value without the noise of a split; the sampling variance of the mean \
             for mse; the resampled absolute error of the mean for mae); a reference line, never ranked."
        );
    }
    toward_ceiling_table(&mut out, card);

    let subgroups: Vec<_> = first
        .metrics
        .iter()
        .find(|m| m.metric == card.primary_metric)
        .map(|m| m.by_subgroup.iter().map(|(g, _)| *g).collect())
        .unwrap_or_default();
    if subgroups.len() > 1 {
        let _ = writeln!(out, "\n{} by subgroup:\n", card.primary_metric);
        let headers: Vec<String> =
            std::iter::once("row".to_string()).chain(subgroups.iter().map(|g| g.name().to_string())).collect();
        let body: Vec<Vec<String>> = card
            .rows
            .iter()
            .map(|row| {
                let m = row.metric(&card.primary_metric);
                std::iter::once(row_label(row, card))
                    .chain(subgroups.iter().map(|g| {
                        m.and_then(|m| m.by_subgroup.iter().find(|(s, _)| s == g))
                            .map(|(_, ci)| cell(ci))
                            .unwrap_or_default()
                    }))
                    .collect()
            })
            .collect();
        table(&mut out, &headers, &body);
        if subgroups.iter().any(|g| !g.in_headline()) {
            let _ = writeln!(
                out,
                "\nstep_1 items (one action from control: conditions also in training) are reported here only; the overall means and ranks leave them out."
            );
        }
        if subgroups.contains(&tasks::Subgroup::RegulatorTarget) {
            let _ = writeln!(
                out,
                "regulator_target / non_regulator_target: items perturbing a gene that regulates others / only genes that regulate nothing (the simulator's network)."
            );
        }
    }
    audit_flags(&mut out, card);
    for note in &card.notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    if card.rows.iter().any(|r| r.metrics.iter().any(|m| m.overall.n_undefined > 0)) {
        let _ = writeln!(
            out,
            "\nn/a: undefined for every perturbation (e.g. a Pearson correlation of a constant prediction); \
             values with undefined perturbations average the defined ones (counts in scorecard.json)."
        );
    }
    out
}

/// Every row's means as fractions of the way from the best baseline (0) to the ceiling (1), for
/// the metrics on which the ceiling is above the best baseline.
fn toward_ceiling_table(out: &mut String, card: &Scorecard) {
    let Some(first) = card.rows.iter().find(|r| r.kind != ModelKind::Ceiling) else { return };
    let name = |k: usize| first.metrics[k].metric.as_str();
    let toward = |row: &ScoreRow, k: usize| row.metric(name(k)).and_then(|m| m.toward_ceiling);
    let defined: Vec<usize> =
        (0..first.metrics.len()).filter(|&k| card.rows.iter().any(|r| toward(r, k).is_some())).collect();
    if defined.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nToward the ceiling: each mean as a fraction of the way from the best baseline (0) to the noise ceiling (1), \
         on the metrics where the ceiling is above the best baseline:\n"
    );
    let headers: Vec<String> = std::iter::once("row".to_string())
        .chain(defined.iter().map(|&k| format!("{} {}", first.metrics[k].metric, first.metrics[k].better.arrow())))
        .collect();
    let body: Vec<Vec<String>> = card
        .rows
        .iter()
        .map(|row| {
            std::iter::once(row_label(row, card))
                .chain(defined.iter().map(|&k| match toward(row, k) {
                    Some(v) => format!("{v:.2}"),
                    None => "n/a".to_string(),
                }))
                .collect()
        })
        .collect();
    table(out, &headers, &body);
}

/// The embedded audit's verdict: which metrics a probe games (the leaderboard's warnings).
fn audit_flags(out: &mut String, card: &Scorecard) {
    let Some(a) = &card.audit else { return };
    let _ = writeln!(
        out,
        "\nAudit of {} (gaming probes: {}; `arena audit` prints their full table):",
        a.submission,
        a.probes.iter().map(|p| p.probe.trim_start_matches("probe: ")).collect::<Vec<_>>().join(", ")
    );
    if a.flags.is_empty() {
        let _ = writeln!(out, "- no flags: no probe beats the best baseline or reaches {} on any metric", a.submission);
    }
    for f in &a.flags {
        let _ = writeln!(out, "- ⚠ {}: {} = {:.3} {}", f.metric, f.probe, f.probe_value, f.reason);
    }
    for note in a.notes.iter().filter(|n| !card.notes.contains(n)) {
        let _ = writeln!(out, "- note: {note}");
    }
}

fn row_label(row: &ScoreRow, card: &Scorecard) -> String {
    match row.kind {
        ModelKind::Ceiling if row.name == "noise-ceiling" => "noise ceiling (population mean, estimated)".to_string(),
        ModelKind::Ceiling => format!("noise ceiling ({})", row.name),
        ModelKind::Baseline if card.model.as_deref() != Some(row.name.as_str()) => format!("baseline: {}", row.name),
        _ => format!("**model: {}**", row.name),
    }
}

fn cell(ci: &Interval) -> String {
    if ci.mean.is_nan() { "n/a".to_string() } else { format!("{:.3} [{:.3}, {:.3}]", ci.mean, ci.lower, ci.upper) }
}

fn table(out: &mut String, headers: &[String], body: &[Vec<String>]) {
    let width = |i: usize| {
        body.iter().map(|r| r[i].chars().count()).chain(std::iter::once(headers[i].chars().count())).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("| {} |", padded.join(" | "))
    };
    let _ = writeln!(out, "{}", line(headers));
    let _ = writeln!(out, "|{}|", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    for row in body {
        let _ = writeln!(out, "{}", line(row));
    }
}
