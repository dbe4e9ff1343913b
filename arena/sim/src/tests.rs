//! Tests of the simulator as a whole: determinism, perturbation effects in the direction of the
//! network, protein lag, count properties, CollecTRI seeding, convergence and the design.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use tasks::{DEFAULT_CONTROL_LABELS, Direction, Perturbation};

use super::*;

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        n_control_cells: 120,
        cells_per_condition: 30,
        n_single_targets: 24,
        n_doubles: 8,
        n_sequences: 6,
        ..SimConfig::default()
    }
}

/// log1p(normalize_total 1e4), as the rest of the arena.
fn log_norm(counts: &Array2<f32>) -> Array2<f64> {
    let mut out = counts.mapv(|c| c as f64);
    for mut row in out.rows_mut() {
        let total: f64 = row.sum().max(1.0);
        row.mapv_inplace(|c| (c / total * 1e4).ln_1p());
    }
    out
}

fn mean_of(x: &Array2<f64>, rows: &[usize], gene: usize) -> f64 {
    rows.iter().map(|&r| x[[r, gene]]).sum::<f64>() / rows.len() as f64
}

/// The non-regulator target of `reg` with the strongest edge of the given sign.
fn strongest_target(grn: &Grn, reg: usize, activating: bool) -> Option<(usize, f64)> {
    grn.targets_of(reg)
        .into_iter()
        .filter(|&(t, w)| t >= grn.n_regulators && (w > 0.0) == activating)
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
}

#[test]
fn same_seed_gives_identical_output_on_any_thread_count() {
    let config = small(11);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let a = one.install(|| simulate(&config)).unwrap();
    let b = simulate(&config).unwrap();
    assert_eq!(a.counts, b.counts);
    assert_eq!(a.protein_counts, b.protein_counts);
    assert_eq!(a.sequence, b.sequence);
    assert_eq!(a.trajectory, b.trajectory);
    assert_eq!(a.grn, b.grn);
}

#[test]
fn different_seeds_give_different_data() {
    let a = simulate(&small(1)).unwrap();
    let b = simulate(&small(2)).unwrap();
    assert_eq!(a.counts.dim(), b.counts.dim());
    assert_ne!(a.counts, b.counts);
    assert_ne!(a.grn, b.grn);
}

#[test]
fn knockdown_lowers_the_regulator_and_its_activated_target() {
    let sim = simulate(&small(3)).unwrap();
    let x = log_norm(&sim.counts);
    let rows = sim.rows_by_sequence();
    let ctrl = &rows["ctrl"];
    let mut checked_targets = 0;
    for p in sim.singles.iter().filter(|p| sim.grn.index_of(p.genes().next().unwrap()).unwrap() < sim.grn.n_regulators)
    {
        let gene = p.genes().next().unwrap();
        let r = sim.grn.index_of(gene).unwrap();
        let cells = &rows[gene];
        let drop = mean_of(&x, ctrl, r) - mean_of(&x, cells, r);
        assert!(drop > 1.0, "{gene}: knockdown lowers its own mean log expression by only {drop}");
        if let Some((t, w)) = strongest_target(&sim.grn, r, true).filter(|&(_, w)| w > 0.8) {
            let delta = mean_of(&x, cells, t) - mean_of(&x, ctrl, t);
            assert!(delta < -0.1, "{gene} -| activated target {} (w = {w}): change {delta}", sim.genes[t]);
            checked_targets += 1;
        }
    }
    assert!(checked_targets >= 3, "only {checked_targets} strong activating edges checked");
}

#[test]
fn knockdown_of_a_repressor_raises_its_target() {
    let sim = simulate(&small(4)).unwrap();
    let rows = sim.rows_by_sequence();
    let truth = sim.true_condition_means();
    let mut checked = 0;
    for p in &sim.singles {
        let gene = p.genes().next().unwrap();
        let r = sim.grn.index_of(gene).unwrap();
        if let Some((t, w)) = strongest_target(&sim.grn, r, false).filter(|&(_, w)| w < -0.6) {
            assert!(
                truth[gene][t] > truth["ctrl"][t] * 1.1,
                "{gene} repressor knockdown (w = {w}) should raise {}",
                sim.genes[t]
            );
            checked += 1;
        }
        assert!(rows.contains_key(gene));
    }
    assert!(checked >= 1);
}

#[test]
fn activation_raises_the_regulator_and_its_activated_target() {
    let config = SimConfig { direction: Direction::Activation, ..small(5) };
    let sim = simulate(&config).unwrap();
    let x = log_norm(&sim.counts);
    let rows = sim.rows_by_sequence();
    let ctrl = &rows["ctrl"];
    let mut checked = 0;
    for p in &sim.singles {
        assert_eq!(p.targets().next().unwrap().1, Direction::Activation);
        let gene = p.genes().next().unwrap();
        let r = sim.grn.index_of(gene).unwrap();
        let rise = mean_of(&x, &rows[gene], r) - mean_of(&x, ctrl, r);
        assert!(rise > 0.7, "{gene}: activation raises its mean log expression by only {rise}");
        if r < sim.grn.n_regulators
            && let Some((t, w)) = strongest_target(&sim.grn, r, true).filter(|&(_, w)| w > 0.8)
        {
            let delta = mean_of(&x, &rows[gene], t) - mean_of(&x, ctrl, t);
            assert!(delta > 0.1, "{gene} -> activated target {} (w = {w}): change {delta}", sim.genes[t]);
            checked += 1;
        }
    }
    assert!(checked >= 3);
}

#[test]
fn proteins_follow_mrna_with_lag() {
    let config = small(6);
    let (_, world) = build_world(&config).unwrap();
    let cell = world.nominal_cell();
    let mut state = world.steady_state(&cell);
    let (m0, p0) = (state.mrna[0], state.protein.level[0]);
    let action = Perturbation::single(world.dynamics.genes[0].clone(), Direction::Knockdown);
    let mut mrna = vec![1.0];
    let mut protein = vec![1.0];
    for _ in 0..30 {
        world.advance(&mut state, &action, 1, &cell);
        mrna.push(state.mrna[0] / m0);
        protein.push(state.protein.level[0] / p0);
    }
    // translation reads mRNA `lag` steps back: nothing moves before lag + 1 steps
    for (t, p) in protein.iter().enumerate().take(config.protein_lag + 2) {
        assert!((p - 1.0).abs() < 1e-9, "protein moved at step {t}: {p}");
    }
    for t in 1..=30 {
        assert!(protein[t] > mrna[t], "step {t}: protein {} should lag mRNA {}", protein[t], mrna[t]);
    }
    assert!(mrna[12] < 0.35 && protein[30] < 0.6, "mRNA {} protein {}", mrna[12], protein[30]);
    // the same through the public step/rollout of the mRNA dynamics
    let x0 = world.steady_state(&cell).mrna;
    let roll = world.dynamics.rollout(&x0, &action, 3, &cell);
    assert_eq!(roll[1], world.dynamics.step(&x0, &action, &cell));
    assert_eq!(roll.len(), 4);
}

#[test]
fn counts_are_non_negative_integers_and_library_sizes_vary() {
    let sim = simulate(&small(7)).unwrap();
    for c in sim.counts.iter().chain(sim.protein_counts.iter()) {
        assert!(*c >= 0.0 && c.fract() == 0.0, "count {c}");
    }
    let totals: Vec<f64> = sim.counts.rows().into_iter().map(|r| r.sum() as f64).collect();
    let mean = totals.iter().sum::<f64>() / totals.len() as f64;
    let sd = (totals.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / totals.len() as f64).sqrt();
    assert!((mean - 5000.0).abs() < 500.0, "mean library size {mean}");
    assert!(sd / mean > 0.15, "library sizes barely vary: cv {}", sd / mean);
    assert!(sim.protein_counts.iter().any(|&c| c > 0.0));
    // overdispersion: the control cells' variance of a gene exceeds its Poisson variance
    let ctrl = &sim.rows_by_sequence()["ctrl"];
    let g = (0..sim.genes.len()).max_by(|&a, &b| sim.counts[[0, a]].total_cmp(&sim.counts[[0, b]])).unwrap();
    let v: Vec<f64> = ctrl.iter().map(|&r| sim.counts[[r, g]] as f64).collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    assert!(var > 2.0 * m, "variance {var} vs mean {m}");
}

#[test]
fn labels_steps_and_trajectories_are_consistent() {
    let sim = simulate(&small(8)).unwrap();
    let config = &sim.config;
    let sequence_cells: usize = sim.sequences.iter().map(Vec::len).sum();
    assert!(sim.sequences.iter().all(|s| (2..=config.max_sequence_length).contains(&s.len())));
    assert!(sim.sequences.iter().any(|s| s.len() == config.max_sequence_length));
    assert!(sim.sequences.iter().all(|s| s.windows(2).all(|w| w[0] != w[1])));
    let n = config.n_control_cells
        + config.cells_per_condition * (config.n_single_targets + config.n_doubles + sequence_cells);
    assert_eq!(sim.n_cells(), n);
    assert_eq!(sim.counts.dim(), (n, config.n_genes));
    assert_eq!(sim.protein_counts.dim(), (n, config.n_proteins));
    assert_eq!(sim.proteins, sim.genes[..config.n_proteins]);
    let controls: Vec<String> = DEFAULT_CONTROL_LABELS.iter().map(|s| s.to_string()).collect();
    for i in 0..n {
        let p = &sim.perturbation[i];
        assert_eq!(&Perturbation::parse(&p.label(), &controls, config.direction).unwrap(), p);
        match sim.step[i] {
            0 => assert!(p.is_control() && sim.sequence[i] == "ctrl"),
            1 => assert_eq!(sim.sequence[i], p.label()),
            s if s as usize <= config.max_sequence_length => {
                assert!(sim.sequence[i].ends_with(&format!(">{}", p.label())));
                assert_eq!(sim.sequence[i].matches('>').count(), s as usize - 1);
            }
            s => panic!("step {s}"),
        }
    }
    assert_eq!(sim.doubles.len(), config.n_doubles);
    assert!(sim.doubles.iter().all(|d| d.order() == 2));
    let mut by_traj: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, t) in sim.trajectory.iter().enumerate() {
        by_traj.entry(*t).or_default().push(i);
    }
    let lineages: Vec<&Vec<usize>> = by_traj.values().filter(|v| v.len() >= 2).collect();
    assert_eq!(lineages.len(), config.n_sequences * config.cells_per_condition);
    for v in lineages {
        for (k, w) in v.windows(2).enumerate() {
            assert_eq!((sim.step[w[0]], sim.step[w[1]]), (k as u32 + 1, k as u32 + 2));
            assert_eq!(sim.sequence[w[1]], format!("{}>{}", sim.sequence[w[0]], sim.perturbation[w[1]].label()));
        }
    }
}

#[test]
fn dynamics_converge_under_every_single_action() {
    for seed in 0..4 {
        for direction in [Direction::Knockdown, Direction::Activation] {
            let config = SimConfig { seed, direction, ..SimConfig::default() };
            let (_, world) = build_world(&config).unwrap();
            let d = &world.dynamics;
            let cell = d.nominal_cell(0);
            let x0 = d.steady_state(&cell, config.steps_to_steady);
            let x1 = d.step(&x0, &Perturbation::control(), &cell);
            let rel = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| ((a - b) / b).abs()).fold(0.0, f64::max);
            assert!(rel(&x1, &x0) < 1e-9, "seed {seed}: control is not at rest");
            for g in 0..config.n_regulators {
                let a = Perturbation::single(d.genes[g].clone(), direction);
                let roll = d.rollout(&x0, &a, 300, &cell);
                let change = rel(&roll[300], &roll[299]);
                assert!(change < 1e-6, "seed {seed} {direction:?} {}: still moving ({change})", d.genes[g]);
                assert!(roll[300].iter().all(|v| v.is_finite() && *v > 0.0));
            }
        }
    }
}

#[test]
fn responses_are_network_specific_and_doubles_nearly_additive() {
    let config = SimConfig::default();
    let d = build_world(&config).unwrap().1.dynamics;
    let kd = |g: usize| Perturbation::single(d.genes[g].clone(), Direction::Knockdown);
    let singles: Vec<Vec<f64>> = (0..config.n_regulators).map(|g| log_effect(&d, &config, &kd(g))).collect();
    // effects propagate: each regulator knockdown moves several other genes
    for (g, e) in singles.iter().enumerate() {
        let moved = e.iter().enumerate().filter(|&(i, v)| i != g && v.abs() > 0.05).count();
        assert!(moved >= 2, "{} knockdown moves only {moved} other genes", d.genes[g]);
    }
    // and differ between regulators
    let max_cos = (0..singles.len())
        .flat_map(|i| (i + 1..singles.len()).map(move |j| (i, j)))
        .map(|(i, j)| cosine(&singles[i], &singles[j]))
        .fold(f64::MIN, f64::max);
    assert!(max_cos < 0.95, "two regulators have near-identical responses ({max_cos})");
    // doubles: close to the sum of the singles (log space) but not exactly
    let (min_cos, gap) = double_gap(&config);
    eprintln!("doubles: min cos {min_cos:.3}, gap ratio {gap:.3}; singles max cos {max_cos:.3}");
    assert!(min_cos > 0.8, "doubles are far from additive (cos {min_cos})");
    assert!(gap > 0.01, "doubles are exactly additive ({gap})");
}

/// Noise-free log effect of `p` on the nominal cell: ln(x / x0) after one action from the steady state.
fn log_effect(d: &Dynamics, config: &SimConfig, p: &Perturbation) -> Vec<f64> {
    let cell = d.nominal_cell(0);
    let x0 = d.steady_state(&cell, config.steps_to_steady);
    let x = d.rollout(&x0, p, config.steps_per_action, &cell).pop().unwrap();
    x.iter().zip(&x0).map(|(a, b)| (a / b).ln()).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f64>().sqrt() * b.iter().map(|x| x * x).sum::<f64>().sqrt())
}

/// Noise-free log effects of five regulator knockdown doubles against the sums of their singles:
/// (smallest cosine, Σ|double − sum| / Σ|double|).
fn double_gap(config: &SimConfig) -> (f64, f64) {
    let d = build_world(config).unwrap().1.dynamics;
    let kd = |g: usize| (d.genes[g].clone(), Direction::Knockdown);
    let effect = |genes: Vec<(String, Direction)>| log_effect(&d, config, &Perturbation::from_genes(genes));
    let (mut total_gap, mut total_norm, mut min_cos) = (0.0, 0.0, 1.0f64);
    for (a, b) in [(0, 1), (2, 5), (3, 7), (4, 9), (1, 6)] {
        let e = effect(vec![kd(a), kd(b)]);
        let sum: Vec<f64> = effect(vec![kd(a)]).iter().zip(&effect(vec![kd(b)])).map(|(x, y)| x + y).collect();
        min_cos = min_cos.min(cosine(&e, &sum));
        total_gap += e.iter().zip(&sum).map(|(x, y)| (x - y).abs()).sum::<f64>();
        total_norm += e.iter().map(|x| x.abs()).sum::<f64>();
    }
    (min_cos, total_gap / total_norm)
}

#[test]
fn cooperativity_adds_the_pairwise_term_and_makes_doubles_interact() {
    // The input of a gene with three regulators, against the pairwise sum written out.
    let c = 2.5;
    let config = SimConfig { cooperativity: c, ..SimConfig::default() };
    let (_, world) = build_world(&config).unwrap();
    let d = &world.dynamics;
    let g = (0..d.n_genes()).find(|&g| d.inputs[g].len() >= 3).expect("a gene with three regulators");
    let x: Vec<f64> = d.basal.iter().enumerate().map(|(j, b)| b * (0.3 + 0.1 * (j % 7) as f64)).collect();
    let l: Vec<f64> = x.iter().zip(&d.basal).map(|(x, b)| (x / b).ln()).collect();
    let inputs = &d.inputs[g];
    let mut u: f64 = inputs.iter().map(|&(j, w)| w * l[j]).sum();
    for (i, &(j, wj)) in inputs.iter().enumerate() {
        for &(k, wk) in &inputs[i + 1..] {
            u += c * wj * wk * l[j] * l[k];
        }
    }
    let cell = d.nominal_cell(0);
    let next = d.step(&x, &Perturbation::control(), &cell)[g];
    let expected = (1.0 - cell.decay[g]) * x[g] + cell.decay[g] * cell.production[g] * dynamics::hill(u);
    assert!((next - expected).abs() <= 1e-12 * expected, "{next} vs {expected}");
    // Without it the same step is the first-order one, and the default world is unchanged.
    let plain = build_world(&SimConfig::default()).unwrap().1.dynamics;
    assert_eq!(plain.cooperativity, 0.0);
    assert_ne!(plain.step(&x, &Perturbation::control(), &cell)[g], next);
    // Doubles move away from the sum of their singles.
    let (_, gap0) = double_gap(&SimConfig::default());
    let (_, gap4) = double_gap(&SimConfig { cooperativity: 4.0, ..SimConfig::default() });
    assert!(gap4 > 2.0 * gap0, "cooperativity 4 gap {gap4:.3} vs none {gap0:.3}");
    // A negative strength is refused, naming the field.
    let err = simulate(&SimConfig { cooperativity: -1.0, ..SimConfig::default() }).unwrap_err();
    assert!(err.to_string().contains("cooperativity"), "{err}");
}

fn collectri_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/collectri_tf_targets.csv")
}

#[test]
fn collectri_network_has_real_names_and_file_signs() {
    let path = collectri_path();
    assert!(path.exists(), "{} is missing: the shared data dir must sit beside the checkout", path.display());
    let grn = Grn::from_collectri(&path, 100, 20, 0).unwrap();
    assert_eq!(grn.n_genes(), 100);
    for tf in ["SP1", "TP53", "MYC"] {
        assert!(grn.regulators().iter().any(|g| g == tf), "{tf} missing from {:?}", grn.regulators());
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let file: HashMap<(String, String), f64> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(|s| s.trim_matches('"')).collect();
            ((f[0].to_string(), f[1].to_string()), f[2].parse::<f64>().unwrap())
        })
        .collect();
    assert!(!grn.edges.is_empty());
    for e in &grn.edges {
        let key = (grn.genes[e.source].clone(), grn.genes[e.target].clone());
        let sign = file.get(&key).unwrap_or_else(|| panic!("edge {key:?} not in the file"));
        assert_eq!(e.weight.signum(), sign.signum(), "{key:?}");
    }
    assert!(grn.edges.iter().any(|e| e.weight < 0.0));
    // it simulates
    let config = SimConfig { grn: GrnSource::Collectri(path), ..small(9) };
    let sim = simulate(&config).unwrap();
    assert!(sim.genes.contains(&"MYC".to_string()));
    assert!(sim.perturbation.iter().any(|p| !p.is_control()));
}

#[test]
fn refuses_bad_configs() {
    let err = simulate(&SimConfig { n_regulators: 200, ..SimConfig::default() }).unwrap_err();
    assert!(err.to_string().contains("n_regulators"), "{err}");
    let err = simulate(&SimConfig { knockdown_factor: 0.0, ..SimConfig::default() }).unwrap_err();
    assert!(err.to_string().contains("knockdown_factor"), "{err}");
    let missing = SimConfig { grn: GrnSource::Collectri("/nonexistent/collectri.csv".into()), ..SimConfig::default() };
    assert!(simulate(&missing).unwrap_err().to_string().contains("/nonexistent/collectri.csv"));
    let d = build_world(&SimConfig::default()).unwrap().1.dynamics;
    assert!(d.checked_multipliers(&Perturbation::single("NOPE", Direction::Knockdown)).is_err());
}

#[test]
fn config_round_trips_through_toml_with_defaults() {
    let config: SimConfig = toml::from_str("seed = 5\nn_genes = 50\n").unwrap();
    assert_eq!(config, SimConfig { seed: 5, n_genes: 50, ..SimConfig::default() });
    let text = toml::to_string(&SimConfig::default()).unwrap();
    assert_eq!(toml::from_str::<SimConfig>(&text).unwrap(), SimConfig::default());
}

#[test]
fn default_simulation_is_small_and_fast() {
    let start = Instant::now();
    let sim = simulate(&SimConfig::default()).unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "default simulate: {} cells x {} genes, {} proteins in {:.2?} ({} rayon threads)",
        sim.n_cells(),
        sim.genes.len(),
        sim.proteins.len(),
        elapsed,
        rayon::current_num_threads()
    );
    // 20 sequences of 2, 3, 4, 2, 3, 4, ... actions: 7·2 + 7·3 + 6·4 = 59 observed steps per lineage set.
    assert_eq!(sim.n_cells(), 600 + 60 * (40 + 30 + 59));
}

#[test]
fn fair_interactions_network_only_partly_matches_collectri_and_v2_is_unchanged() {
    use super::interactions::{FAIR_FIDELITY, fair_interactions_config, interactions_config};
    let path = collectri_path();
    let (prior, _) = build_world(&interactions_config(path.clone())).unwrap();
    let (truth, _) = build_world(&fair_interactions_config(path.clone())).unwrap();
    // The same genes (CollecTRI's names); v2's network is exactly the table's, with or without
    // the (zero) mismatch field.
    assert_eq!(prior.genes, truth.genes);
    assert_eq!(prior, Grn::from_collectri(&path, 100, 20, 0).unwrap());
    let signs = |g: &Grn| -> HashMap<(usize, usize), f64> {
        g.edges.iter().map(|e| ((e.source, e.target), e.weight.signum())).collect()
    };
    let (p, t) = (signs(&prior), signs(&truth));
    let same = p.iter().filter(|(k, s)| t.get(k) == Some(s)).count() as f64 / p.len() as f64;
    assert!((same - FAIR_FIDELITY).abs() < 0.05, "fidelity {same:.3} of {} prior edges", p.len());
    let flipped = p.iter().filter(|(k, s)| t.get(k).is_some_and(|x| x != *s)).count();
    let added = t.keys().filter(|k| !p.contains_key(k)).count();
    assert!(flipped > 0 && added > 0, "flipped {flipped}, added {added}");
    // A mismatch on the random network (no model's prior) is refused, naming the field.
    let bad = SimConfig { prior_mismatch: super::PriorMismatch::for_fidelity(0.7).unwrap(), ..SimConfig::default() };
    assert!(simulate(&bad).unwrap_err().to_string().contains("prior_mismatch"));
}
