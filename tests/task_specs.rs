//! Every embedded task spec, built on its real or simulated dataset: the leakage rules hold, the
//! split is rebuilt identically from (dataset, seed), and every baseline runs on it, printing
//! only catalogued metrics.

mod common;

use std::collections::BTreeSet;

use arena_data::Registry;
use arena_eval::{EvalOptions, evaluate};
use arena_models::baselines;
use arena_sim::load::{LoadOptions, load_dataset};
use tasks::{Dataset, SplitRule, Subgroup, TaskInstance, embedded_specs};

fn load(key: &str) -> Dataset {
    let registry = Registry::embedded().unwrap();
    let options = LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() };
    load_dataset(key, &registry, &options).unwrap_or_else(|e| panic!("loading {key}: {e}")).dataset
}

#[test]
fn every_spec_builds_without_leakage_and_rebuilds_identically() {
    let specs = embedded_specs().unwrap();
    assert!(specs.len() >= 5);
    for spec in specs {
        let dataset = load(&spec.spec.dataset);
        let instance = TaskInstance::build(spec.clone(), &dataset).unwrap();
        let id = &spec.spec.id;
        let record = instance.split_record();
        let train: BTreeSet<&String> = record.train.iter().collect();
        assert!(!record.test.is_empty(), "{id}: no test items");
        for item in &record.test {
            // A few-shot item is a training-context perturbation scored on new-context cells.
            let may_train = item.subgroup == "step_1" || item.subgroup == "new_context";
            assert!(!train.contains(&item.label) || may_train, "{id}: {} trains and tests", item.label);
            assert!(item.n_cells > 0, "{id}: {} has no cells", item.label);
        }
        // Few-shot: the shots never include a scored item; the new context's adaptation and start
        // controls are disjoint and the start cells come from the latter.
        if let Some(ctx) = &record.context {
            let tested: BTreeSet<&String> = record.test.iter().map(|i| &i.label).collect();
            assert!(ctx.shot_order.iter().all(|s| !tested.contains(s)), "{id}: a shot is scored");
            assert!(ctx.control_adapt_rows.iter().all(|r| !ctx.control_test_rows.contains(r)), "{id}");
            assert!(instance.start_rows.iter().all(|r| ctx.control_test_rows.contains(r)), "{id}: start rows");
        }
        // Held-out genes of unseen-single never appear in any training condition.
        if let SplitRule::UnseenSingle { .. } = spec.spec.split {
            let train_genes: BTreeSet<String> = instance
                .split
                .train
                .iter()
                .flat_map(|&c| dataset.condition(c).genes().map(str::to_string).collect::<Vec<_>>())
                .collect();
            for t in instance.test_conditions() {
                for g in dataset.condition(t.condition).genes() {
                    assert!(!train_genes.contains(g), "{id}: held-out gene {g} is in training");
                }
            }
        }
        // GEARS subgroups agree with the genes seen in training.
        if let SplitRule::Combinatorial { .. } = spec.spec.split {
            let seen: BTreeSet<&str> = instance.split.train_genes.iter().map(String::as_str).collect();
            for t in instance.test_conditions() {
                let n_seen = dataset.condition(t.condition).genes().filter(|g| seen.contains(g)).count();
                let expected = match (dataset.condition(t.condition).order(), n_seen) {
                    (1, _) => Subgroup::UnseenSingle,
                    (_, 0) => Subgroup::ComboSeen0,
                    (_, 1) => Subgroup::ComboSeen1,
                    _ => Subgroup::ComboSeen2,
                };
                assert_eq!(t.subgroup, expected, "{id}: {}", t.label);
            }
        }
        // Control cells are split too: disjoint, and the start states come from the test part.
        let train_ctrl: BTreeSet<usize> = record.control_train_rows.iter().copied().collect();
        assert!(record.control_test_rows.iter().all(|r| !train_ctrl.contains(r)), "{id}: control rows overlap");
        if record.context.is_none() {
            assert!(instance.start_rows.iter().all(|r| record.control_test_rows.contains(r)), "{id}: start rows");
        }
        // Rebuilding from (dataset, seed) gives a byte-identical split file.
        let again = TaskInstance::build(spec.clone(), &dataset).unwrap().split_record();
        assert_eq!(serde_json::to_vec_pretty(&again).unwrap(), serde_json::to_vec_pretty(&record).unwrap(), "{id}");
        assert_eq!(record.dataset_sha256, dataset.sha256);
    }
}

#[test]
fn every_baseline_runs_on_every_task() {
    for spec in embedded_specs().unwrap() {
        let dataset = common::task_dataset(&spec.spec.id);
        let instance = TaskInstance::build(spec.clone(), &dataset).unwrap();
        let options = EvalOptions {
            bootstrap: tasks::scorecard::BootstrapSettings { resamples: 50, level: 0.95, seed: 0 },
            ..EvalOptions::default()
        };
        // Every task lists every baseline, and one baselines-only run scores them all.
        assert_eq!(spec.spec.baselines, baselines::BASELINES, "{}", spec.spec.id);
        let card = evaluate(&instance, None, "test", &options).unwrap();
        for name in baselines::BASELINES {
            let row =
                card.rows.iter().find(|r| r.name == *name).unwrap_or_else(|| panic!("{}: no {name}", spec.spec.id));
            let primary =
                row.metric(&card.primary_metric).unwrap_or_else(|| panic!("{}: no primary metric", spec.spec.id));
            assert!(primary.overall.n > 0, "{} {name}: {:?}", spec.spec.id, primary.overall);
            assert!(primary.overall.mean.is_finite(), "{} {name}: {:?}", spec.spec.id, primary.overall);
            assert!(!row.per_perturbation.is_empty());
        }
        // Every metric a scorecard prints is in the catalog, with the direction the card states.
        for row in &card.rows {
            for m in &row.metrics {
                let info = metrics::catalog::eval(&m.metric)
                    .unwrap_or_else(|| panic!("{}: `{}` is not in metrics::catalog", spec.spec.id, m.metric));
                assert_eq!(info.better, Some(m.better), "{}: {}", spec.spec.id, m.metric);
            }
        }
    }
}

#[test]
fn tasks_show_lists_the_gene_panel_and_the_test_items_a_submission_needs() {
    let data = common::data_dir().display().to_string();
    let genes = common::run(["tasks", "show", "papalexi2021-unseen-single", "--genes", "--data-dir", &data]).ok();
    let listed: Vec<&str> = genes.stdout.lines().collect();
    let dataset = load("papalexi2021-thp1-rna");
    assert_eq!(listed, dataset.genes.names().iter().map(String::as_str).collect::<Vec<_>>());
    let items = common::run(["tasks", "show", "papalexi2021-unseen-single", "--test-items", "--data-dir", &data]).ok();
    let spec = embedded_specs().unwrap().into_iter().find(|s| s.spec.id == "papalexi2021-unseen-single").unwrap();
    let instance = TaskInstance::build(spec, &dataset).unwrap();
    let expected: Vec<String> =
        instance.eval_items().iter().map(|i| format!("{}\t{}", i.label, i.subgroup.name())).collect();
    assert!(!expected.is_empty());
    assert_eq!(items.stdout.lines().collect::<Vec<_>>(), expected.iter().map(String::as_str).collect::<Vec<_>>());
}
