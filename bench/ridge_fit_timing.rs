//! Wall time of the ridge baseline's fit against the number of training perturbations (run by
//! hand; prints a Markdown table): `cargo run --release --example ridge_fit_timing [N...]`
//! (default 500 1000 2000 3570, the last CCL_1's training perturbations). Each training
//! condition is a distinct single, as in an unseen-single task, so the kernel is n x n; the
//! effects are 200 genes of seeded uniform noise. The fit's cost is the eigendecomposition of
//! that kernel (`arena_models::baselines::linalg`), cubic in n.

use arena_models::baselines::Ridge;
use ndarray::Array2;
use tasks::{Direction, Perturbation};

const GENES: usize = 200;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![500, 1000, 2000, 3570] } else { sizes };
    println!("| training perturbations | genes | fit wall time (s) | λ chosen |");
    println!("|---|---|---|---|");
    for n in sizes {
        let conditions: Vec<Perturbation> =
            (0..n).map(|k| Perturbation::from_genes([(format!("G{k}"), Direction::Activation)])).collect();
        let refs: Vec<&Perturbation> = conditions.iter().collect();
        let mut rng = metrics::rng::seeded(n as u64);
        let y = Array2::from_shape_fn((n, GENES), |_| {
            metrics::rng::index(&mut rng, 1 << 20) as f64 / f64::from(1 << 20) - 0.5
        });
        let start = std::time::Instant::now();
        let model = Ridge::fit_effects(&refs, y);
        println!("| {n} | {GENES} | {:.2} | {:.3e} |", start.elapsed().as_secs_f64(), model.lambda());
    }
}
