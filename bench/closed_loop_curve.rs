//! The closed-loop discovery curve of the README (`bench/closed_loop.sh`): scores the reference
//! model on `sim-closed-loop` beside the spec's baselines, the ceiling and the probes (the very
//! scorecard `arena eval --task sim-closed-loop --reference` writes), then writes the curves of
//! hits found after each round as an SVG line chart (`leaderboard::plots::lines`, drawn by the
//! leaderboard's template) and prints their Markdown table. Random screening appears twice: its
//! hypergeometric expectation (`metrics::discovery::expected_random_curve`) and one seeded random
//! screen (the audit's probe). Usage: `closed_loop_curve OUT.svg`.

use arena_data::Registry;
use arena_eval::families::closed_loop;
use arena_models::ModelSource;
use arena_sim::load::{LoadOptions, load_task_data};
use metrics::Interval;
use tasks::scorecard::Scorecard;
use tasks::{TaskInstance, find_spec};

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "bench/results/closed_loop_curve.svg".into());
    let spec = find_spec("sim-closed-loop", None).expect("the sim-closed-loop spec");
    let registry = Registry::embedded().expect("the embedded registry");
    let loaded = load_task_data(&spec.spec.dataset, &spec.spec, &registry, &LoadOptions::default()).expect("simulator");
    let instance = TaskInstance::build(spec, &loaded.dataset).expect("the task instance");
    let reference = ModelSource::Reference { weights: None }.open(&instance).expect("the bundled reference weights");
    let options = arena_eval::EvalOptions::default();
    let card = arena_eval::evaluate(&instance, Some(reference.as_ref()), &loaded.source, &options).expect("scoring");
    let lib = closed_loop::library(&instance).expect("the library");
    let (h, design) = (lib.hits.len(), lib.design);
    let rounds: Vec<f64> = (1..=design.rounds).map(|r| r as f64).collect();
    // Hits after round r = recall_r{r} · H.
    let from_recall = |mean: &dyn Fn(&str) -> Option<f64>| -> Vec<f64> {
        (1..=design.rounds).map(|r| mean(&format!("recall_r{r}")).map_or(f64::NAN, |v| v * h as f64)).collect()
    };
    let row_curve = |name: &str| -> Vec<f64> {
        let row = card.rows.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no row {name}"));
        from_recall(&|m| row.metric(m).map(|s| s.overall.mean))
    };
    let probe_curve = |name: &str| -> Vec<f64> {
        let audit = card.audit.as_ref().expect("the closed-loop audit section");
        let probe = audit.probes.iter().find(|p| p.probe == name).unwrap_or_else(|| panic!("no probe {name}"));
        from_recall(&|m| probe.means.iter().find(|(k, _)| k == m).and_then(|(_, v)| *v))
    };
    let expected_random = metrics::discovery::expected_random_curve(h, design);
    let series: Vec<(&str, &str, bool, Vec<f64>)> = vec![
        ("oracle (ceiling)", "#888888", true, row_curve("oracle-screen")),
        ("reference", "#c0392b", false, row_curve("reference")),
        ("additive-guided", "#2e6fb5", false, row_curve("additive")),
        ("linear-guided", "#6aa84f", false, row_curve("linear")),
        ("strongest effects", "#9b59b6", true, probe_curve("probe: strongest-effects")),
        ("random (expected)", "#333333", true, expected_random.clone()),
    ];
    let inputs: Vec<leaderboard::plots::LineInput<'_>> = series
        .iter()
        .map(|(name, colour, dashed, y)| leaderboard::plots::LineInput { name, colour, dashed: *dashed, y })
        .collect();
    let title = format!(
        "sim-closed-loop: hits found ({h} hits, {} candidates, {} per round)",
        design.n_candidates, design.batch
    );
    let chart = leaderboard::plots::lines(&title, "round", "hits found", &rounds, &inputs);
    let svg = leaderboard::plots::render_lines(&chart).expect("drawing the SVG");
    std::fs::write(&out, svg).unwrap_or_else(|e| panic!("{out}: {e}"));
    print_table(&card, &series, &probe_curve("probe: random-screen"), &options);
}

fn ci(i: &Interval) -> String {
    format!("{:.2} [{:.2}, {:.2}]", i.mean, i.lower, i.upper)
}

fn print_table(
    card: &Scorecard,
    series: &[(&str, &str, bool, Vec<f64>)],
    random_probe: &[f64],
    options: &arena_eval::EvalOptions,
) {
    let rounds = series[0].3.len();
    let header: Vec<String> = (1..=rounds).map(|r| format!("round {r}")).collect();
    println!(
        "| screen | hits after {} | discovery_auc [95% CI] | enrichment_vs_random | enrichment_vs_baseline |",
        header.join(" | ")
    );
    println!("|---|{}---|---|---|", "---|".repeat(rounds));
    let row_of = |label: &str| -> Option<&tasks::scorecard::ScoreRow> {
        let name = match label {
            "oracle (ceiling)" => "oracle-screen",
            "additive-guided" => "additive",
            "linear-guided" => "linear",
            other => other,
        };
        card.rows.iter().find(|r| r.name == name)
    };
    let mut lines: Vec<(String, Vec<f64>)> = series.iter().map(|(n, _, _, y)| (n.to_string(), y.clone())).collect();
    lines.insert(5, (format!("random (seed {})", options.shuffle_seed), random_probe.to_vec()));
    for (name, y) in lines {
        let cells: Vec<String> = y
            .iter()
            .map(|v| if (v - v.round()).abs() < 1e-9 { format!("{v:.0}") } else { format!("{v:.2}") })
            .collect();
        // Probes carry means only (the audit section keeps no intervals).
        let probe = card.audit.as_ref().and_then(|a| {
            let key = if name == "strongest effects" {
                "probe: strongest-effects".to_string()
            } else {
                name.replace("random (seed ", "probe: random-screen").replace(')', "")
            };
            a.probes.iter().find(|p| key.starts_with(&p.probe))
        });
        let metric = |m: &str| match (row_of(&name).and_then(|r| r.metric(m)), probe) {
            (Some(s), _) => ci(&s.overall),
            (None, Some(p)) => {
                p.means.iter().find(|(k, _)| k == m).and_then(|(_, v)| *v).map_or("—".into(), |v| format!("{v:.2}"))
            }
            _ => "—".to_string(),
        };
        println!(
            "| {name} | {} | {} | {} | {} |",
            cells.join(" | "),
            metric("discovery_auc"),
            metric("enrichment_vs_random"),
            metric("enrichment_vs_baseline")
        );
    }
}
