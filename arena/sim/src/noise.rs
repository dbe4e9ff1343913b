//! Measurement noise: negative-binomial UMI counts (Gamma–Poisson mixture) for mRNA, with a
//! log-normal library size per cell, and negative-binomial ADT-like counts for proteins.

use rand::Rng;
use rand_distr::{Distribution, Gamma, LogNormal, Poisson};

/// One negative-binomial draw with mean `mean` and dispersion θ (variance μ + μ²/θ):
/// λ ~ Gamma(θ, μ/θ), then Poisson(λ). A non-positive mean gives 0.
pub fn negative_binomial<R: Rng + ?Sized>(rng: &mut R, mean: f64, theta: f64) -> f64 {
    if mean.is_nan() || mean <= 0.0 {
        return 0.0;
    }
    let lambda = Gamma::new(theta, mean / theta).expect("theta and mean are positive").sample(rng);
    if lambda.is_nan() || lambda <= 0.0 {
        return 0.0;
    }
    Poisson::new(lambda.min(1e15)).expect("lambda is positive and finite").sample(rng)
}

/// A library size: log-normal with the given mean (not median) and log-sd.
pub fn library_size<R: Rng + ?Sized>(rng: &mut R, mean: f64, log_sd: f64) -> f64 {
    let mu = mean.ln() - log_sd * log_sd / 2.0;
    LogNormal::new(mu, log_sd).expect("finite parameters").sample(rng)
}

/// UMI counts of one cell: mean_g = library_size · x_g / Σx.
pub fn rna_counts<R: Rng + ?Sized>(rng: &mut R, x: &[f64], library_size: f64, theta: f64) -> Vec<f32> {
    let total: f64 = x.iter().sum();
    x.iter().map(|&xg| negative_binomial(rng, library_size * xg / total, theta) as f32).collect()
}

/// ADT counts of one cell: mean_k = size_factor · p_k.
pub fn protein_counts<R: Rng + ?Sized>(rng: &mut R, p: &[f64], size_factor: f64, theta: f64) -> Vec<f32> {
    p.iter().map(|&pk| negative_binomial(rng, size_factor * pk, theta) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Domain, stream};

    #[test]
    fn negative_binomial_has_the_asked_mean_and_variance() {
        let mut rng = stream(1, Domain::Cell, 0);
        let (mu, theta, n) = (20.0, 5.0, 40_000);
        let xs: Vec<f64> = (0..n).map(|_| negative_binomial(&mut rng, mu, theta)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!((mean - mu).abs() < 0.5, "mean {mean}");
        let expected = mu + mu * mu / theta; // 100, far above the Poisson 20
        assert!((var - expected).abs() < 10.0, "variance {var}, expected {expected}");
        assert!(xs.iter().all(|x| *x >= 0.0 && x.fract() == 0.0));
        assert_eq!(negative_binomial(&mut rng, 0.0, theta), 0.0);
    }
}
