//! Multi-step order consistency (norman2019-order-consistency) and stability (sim-stability):
//! the metrics' end-to-end behaviour with the baselines, with test models that must score best or
//! worst, and the CLI runs.

mod common;

use std::collections::BTreeMap;

use arena_data::Registry;
use arena_eval::{EvalOptions, evaluate};
use arena_models::baselines;
use arena_sim::load::{LoadOptions, load_dataset};
use arena_sim::{SimConfig, export::snapshot_dataset, simulate};
use ndarray::{Array1, Array2};
use tasks::scorecard::{BootstrapSettings, ScoreRow, Scorecard};
use tasks::{Dataset, Model, ModelKind, Perturbation, QueryBatch, Subgroup, TaskError, TaskInstance, find_spec};

fn options() -> EvalOptions {
    EvalOptions { bootstrap: BootstrapSettings { resamples: 100, level: 0.95, seed: 0 }, ..EvalOptions::default() }
}

fn norman() -> Dataset {
    let registry = Registry::embedded().unwrap();
    let options = LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() };
    load_dataset("norman2019-pseudobulk", &registry, &options).unwrap().dataset
}

fn simulator() -> Dataset {
    snapshot_dataset(&simulate(&SimConfig::default()).unwrap()).unwrap()
}

fn mean(row: &ScoreRow, metric: &str) -> f64 {
    row.metric(metric).unwrap_or_else(|| panic!("{}: no {metric}", row.name)).overall.mean
}

fn subgroup_mean(row: &ScoreRow, metric: &str, group: Subgroup) -> f64 {
    let m = row.metric(metric).unwrap();
    m.by_subgroup.iter().find(|(g, _)| *g == group).map(|(_, ci)| ci.mean).unwrap()
}

fn rows_by_name(card: &Scorecard) -> BTreeMap<String, ScoreRow> {
    card.rows.iter().map(|r| (r.name.clone(), r.clone())).collect()
}

/// "Last action wins": x' = μ_ctrl + Δ(a) whatever x is, with the additive baseline's Δ. Its two
/// orders end at Δ(b) and Δ(a): maximally order-dependent for distinct effects.
struct LastActionWins {
    additive: Box<dyn Model>,
    control: Array1<f64>,
}

impl Model for LastActionWins {
    fn name(&self) -> &str {
        "last-action-wins"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Reference
    }
    fn fingerprint(&self) -> String {
        "last-action-wins".into()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut start = batch.start.to_owned();
        for mut row in start.rows_mut() {
            row.iter_mut().zip(&self.control).for_each(|(x, c)| *x = *c as f32);
        }
        self.additive.predict(&QueryBatch { start: start.view(), ..*batch })
    }
}

#[test]
fn order_consistency_items_metric_and_baselines() {
    let ds = norman();
    let spec = find_spec("order-consistency", Some("norman2019-pseudobulk")).unwrap();
    let instance = TaskInstance::build(spec, &ds).unwrap();
    // Same split as norman2019-combinatorial: every held-out double, queried in both orders.
    let comb = TaskInstance::build(find_spec("combinatorial", Some("norman2019-pseudobulk")).unwrap(), &ds).unwrap();
    assert_eq!(comb.split, instance.split);
    let doubles: Vec<&tasks::TestCondition> =
        instance.test_conditions().iter().filter(|t| ds.condition(t.condition).order() == 2).collect();
    let items = instance.eval_items();
    assert_eq!(items.len(), 2 * doubles.len());
    for (d, t) in doubles.iter().enumerate() {
        let (ab, ba) = (&items[2 * d], &items[2 * d + 1]);
        let [a, b] = ds.condition(t.condition).components().try_into().unwrap();
        assert_eq!(ab.label, format!("{a}>{b}"));
        assert_eq!((ab.actions.clone(), ba.actions.clone()), (vec![a.clone(), b.clone()], vec![b, a]));
        assert_eq!(ab.rows, ba.rows);
        assert_eq!((ab.subgroup, ba.subgroup), (t.subgroup, t.subgroup));
    }

    let lastwins = LastActionWins {
        additive: baselines::fit("additive", &instance).unwrap(),
        control: instance.control_mean.clone(),
    };
    let card = evaluate(&instance, Some(&lastwins), "test", &options()).unwrap();
    let rows = rows_by_name(&card);
    assert_eq!(card.primary_metric, "pearson_delta_pert");
    // Mean-shift baselines commute: exactly order-independent.
    for name in baselines::BASELINES {
        assert_eq!(mean(&rows[*name], "order_inconsistency"), 0.0, "{name}");
    }
    let oc = &rows["last-action-wins"];
    assert!(mean(oc, "order_inconsistency") > 0.5, "{}", mean(oc, "order_inconsistency"));
    // The per-double value is on both of its items; the summary counts each double once.
    let m = oc.metric("order_inconsistency").unwrap();
    assert_eq!(m.overall.n, doubles.len());
    let k = card.rows[0].metrics.iter().position(|m| m.metric == "order_inconsistency").unwrap();
    assert_eq!(k, 4, "spec order");
    for pair in oc.per_perturbation.chunks(2) {
        assert_eq!(pair[0].values[k], pair[1].values[k]);
        assert_eq!(pair[0].values.len(), 7);
    }
    // The profile metrics see both orders: additive (which composes) fits a+b better than a model
    // that forgets the first action.
    assert!(mean(&rows["additive"], "pearson_delta") > mean(oc, "pearson_delta"));
    assert!(mean(&rows["additive"], "mse") < mean(oc, "mse"));
}

/// A model that returns real cells: each query row gets a real cell of its action's condition
/// (a seeded pick; control cells for the no-op), so every step is on the manifold.
struct RealCells {
    cells: BTreeMap<Perturbation, Array2<f32>>,
}

impl Model for RealCells {
    fn name(&self) -> &str {
        "real-cells"
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Reference
    }
    fn fingerprint(&self) -> String {
        "real-cells".into()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        let mut out = batch.start.to_owned();
        for (i, (mut row, p)) in out.rows_mut().into_iter().zip(batch.perturbations).enumerate() {
            let cells = &self.cells[p];
            let x: f32 = row.iter().sum();
            let pick = (i * 7919 + (x * 1000.0) as usize) % cells.nrows();
            row.assign(&cells.row(pick));
        }
        Ok(out)
    }
}

#[test]
fn stability_is_two_sided_collapse_and_doing_nothing_no_longer_win_and_real_cells_score_best() {
    let ds = simulator();
    let spec = find_spec("stability", None).unwrap();
    assert_eq!(spec.spec.id, "sim-stability");
    let instance = TaskInstance::build(spec, &ds).unwrap();
    let items = instance.eval_items();
    assert_eq!(items.len(), instance.test_conditions().len() + 1);
    assert_eq!(items.last().map(|i| i.subgroup), Some(Subgroup::NoOp));
    assert!(items.iter().all(|i| i.actions.len() == 50 && i.actions.iter().all(|a| *a == i.actions[0])));

    let by_condition = ds.rows_by_condition();
    let cells =
        ds.conditions().iter().enumerate().map(|(c, p)| (p.clone(), ds.select_rows(&by_condition[c]))).collect();
    let real = RealCells { cells };
    let card = evaluate(&instance, Some(&real), "test", &options()).unwrap();
    assert_eq!(card.primary_metric, "trajectory_energy_t50");
    // The collapse: every cell at the training-control mean, whatever was asked.
    let collapse =
        arena_eval::audit::probes::Constant::new("collapse", instance.control_mean.as_slice().unwrap_or_default());
    let collapsed = arena_eval::families::score_model(&instance, &collapse, &options()).unwrap().row;
    let mut rows = rows_by_name(&card);
    rows.insert("collapse".into(), collapsed);
    let gap = |n: &str| mean(&rows[n], "stability_gap_t50");
    let curve = |n: &str| ["stability_gap_t1", "stability_gap_t10", "stability_gap_t50"].map(|m| mean(&rows[n], m));

    // Under the one-sided ratio the collapse sat closer to the manifold than real cells do, so it
    // "won"; two-sided it pays its missing dispersion (≥ 1) and is behind real cells and behind
    // doing nothing (control-mean returns the real start cells).
    let manifold = arena_eval::families::stability::Manifold::new(&instance);
    let start = instance.start_states();
    let flat = ndarray::Array2::from_shape_fn(start.dim(), |(_, g)| instance.control_mean[g] as f32);
    let real_ratio: f64 = manifold.real_values().iter().map(|r| r.ratio).sum::<f64>() / items.len() as f64;
    assert!(manifold.ratio(&flat) < real_ratio, "{} vs {real_ratio}", manifold.ratio(&flat));
    assert!(gap("collapse") >= 1.0, "{}", gap("collapse"));
    assert!(gap("collapse") > 5.0 * gap("real-cells").max(gap("control-mean")));
    // Real cells and the split-half reference sit at the real cells' values at every t.
    let ceiling = card.rows.iter().find(|r| r.kind == ModelKind::Ceiling).unwrap();
    for v in curve(&ceiling.name).into_iter().chain(curve("real-cells")) {
        assert!((0.0..0.15).contains(&v), "real cells at {v}");
    }
    // Shift models drift, more the longer they roll out.
    for name in ["perturbed-mean", "additive", "linear"] {
        let c = curve(name);
        assert!(c[1..].windows(2).all(|w| w[1] >= w[0] - 1e-9), "{name}: {c:?}");
        assert!(gap(name) > 10.0 * gap("real-cells"), "{name}: {} vs {}", gap(name), gap("real-cells"));
    }
    // Under the no-op, additive adds nothing (stays like control-mean); perturbed-mean still shifts.
    let noop = |n: &str| subgroup_mean(&rows[n], "stability_gap_t50", Subgroup::NoOp);
    assert!((noop("additive") - noop("control-mean")).abs() < 1e-9);
    assert!(noop("perturbed-mean") > 10.0 * noop("control-mean"));

    // Doing nothing looks like real cells (they are real control cells), so only the true
    // trajectory tells it apart: on the ranking metric (energy distance to true cells after 50
    // actions) real-cell-like predictions of the right condition score best of every row, ahead
    // of doing nothing and of the collapse; the collapse is behind doing nothing there too (on the
    // mean alone, trajectory_rmse, the two are alike).
    let energy = |n: &str| mean(&rows[n], "trajectory_energy_t50");
    for (name, row) in &rows {
        if name != "real-cells" && row.kind != ModelKind::Ceiling {
            assert!(
                energy("real-cells") < energy(name),
                "real cells {} vs {name} {}",
                energy("real-cells"),
                energy(name)
            );
        }
    }
    assert!(energy("collapse") > energy("control-mean"), "{} vs {}", energy("collapse"), energy("control-mean"));
    let trajectory = |n: &str| mean(&rows[n], "trajectory_rmse_t50");
    assert!(trajectory("real-cells") < trajectory("control-mean") && trajectory("real-cells") < trajectory("collapse"));
    let rank = card.rank_confidence.as_ref().unwrap();
    assert_eq!(rank.rows.iter().find(|(_, r)| r.rank == 1).map(|(n, _)| n.as_str()), Some("real-cells"));
    // The real cells' values, the target, are in the notes.
    assert!(card.notes.iter().any(|n| n.contains("target (real held-out cells")), "{:?}", card.notes);
    // Per-rollout values follow the spec's metric order.
    let pp = &rows["perturbed-mean"].per_perturbation;
    assert_eq!(pp.len(), items.len());
    assert!(pp.iter().all(|p| p.values.len() == 9 && p.values.iter().all(Option::is_some)));
}

#[test]
fn stability_spec_validation() {
    let text = include_str!("../tasks/specs/sim-stability.toml");
    let err = tasks::spec::parse_spec("x.toml", &text.replace("\"stability_gap_t1\",", "\"mae\",")).unwrap_err();
    assert!(err.to_string().contains("profile metric"), "{err}");
    let err = tasks::spec::parse_spec("x.toml", &text.replace("neighbours = 5", "neighbours = 0")).unwrap_err();
    assert!(err.to_string().contains("neighbours"), "{err}");
    let err =
        tasks::spec::parse_spec("x.toml", &text.replace("\"stability_gap_t1\"", "\"stability_gap_t3\"")).unwrap_err();
    assert!(err.to_string().contains("stability_gap_t3"), "{err}");
}

#[test]
fn cli_runs_stability_and_order_consistency() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stab");
    let r = common::run(["eval", "--task", "sim-stability", "--out", out.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("trajectory_energy_t50 ↓") && r.stdout.contains("no_op"), "{}", r.stdout);
    let card = common::read_scorecard(&out);
    assert_eq!(card["primary_metric"], "trajectory_energy_t50");
    assert!(common::metric_mean(common::row(&card, "perturbed-mean"), "stability_gap_t50") > 2.0);
    assert!(common::metric_mean(common::row(&card, "control-mean"), "stability_gap_t50") < 0.25);

    let out = dir.path().join("oc");
    let r = common::run([
        "eval",
        "--baseline",
        "additive",
        "--dataset",
        "norman2019",
        "--task",
        "order-consistency",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    assert!(r.stdout.contains("order_inconsistency ↓"), "{}", r.stdout);
    let card = common::read_scorecard(&out);
    assert_eq!(card["task"]["id"], "norman2019-order-consistency");
    assert_eq!(common::metric_mean(common::row(&card, "additive"), "order_inconsistency"), 0.0);
    assert!(common::metric_mean(common::row(&card, "additive"), "pearson_delta_pert") > 0.3);

    let r = common::run(["tasks", "show", "sim-stability"]).ok();
    assert!(
        r.stdout.contains("repeated 50 times") && r.stdout.contains("two-sided") && r.stdout.contains("no_op"),
        "{}",
        r.stdout
    );
    let r = common::run(["tasks", "show", "norman2019-order-consistency"]).ok();
    assert!(r.stdout.contains("SIMULTANEOUS") && r.stdout.contains("a>b and b>a"), "{}", r.stdout);
}
