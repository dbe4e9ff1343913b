//! A reference estimated from cells that prediction and truth share: `pearson_delta` takes both
//! deltas against μ_ctrl, the mean of the training control cells, so μ_ctrl's sampling noise ε
//! enters both vectors and inflates their correlation (a no-information prediction scores > 0).
//! [`corrected_delta_correlation`] removes it by the errors-in-variables moment correction: with
//! centred sums over genes, a = p − μ, b = t − μ, A = p − μ_pop, B = t − μ_pop and
//! S = (1 − 1/G) Σ_g var(ε_g), E[Σ a b] = Σ A B + S and E[Σ b²] = Σ B² + S as long as the
//! prediction does not itself carry ε (it is not computed from those training controls). The
//! estimate is (Σab − S) / √(Σa² · (Σb² − S)). The prediction's own sum of squares is left as it
//! is (E[Σ a²] = Σ A² + S): correcting it would divide by a difference near 0 for any prediction
//! close to μ_ctrl and make the estimate unusably noisy; leaving it attenuates the estimate by
//! √(Σ A² / (Σ A² + S)), which matters only for predictions whose delta is as small as μ_ctrl's
//! noise, and whose correlation is then near 0 anyway.

/// The item's correlation of deltas against the population reference, estimated from deltas
/// against a noisy `reference` whose per-gene sampling variance is `reference_var`, scaled by
/// `noise_multiple` (1 for the observed reference; 1 + (m − 1)/m for a reference redrawn from its
/// m cells with replacement, whose noise adds to the observed one). Genes in `excluded` are left
/// out (the headline's perturbed genes). 0 where the prediction has no delta or the truth's delta
/// is no larger than the reference's noise (nothing to correlate), NaN where the truth's delta is
/// constant (as [`crate::profile::delta_correlation`]); clamped to [−1, 1].
pub fn corrected_delta_correlation(
    p: &[f64],
    t: &[f64],
    reference: &[f64],
    reference_var: &[f64],
    excluded: &[usize],
    noise_multiple: f64,
) -> f64 {
    let keep: Vec<usize> = (0..p.len().min(t.len()).min(reference.len()))
        .filter(|g| !excluded.contains(g) && reference_var.get(*g).is_some())
        .collect();
    let n = keep.len() as f64;
    if keep.len() < 2 {
        return f64::NAN;
    }
    let a: Vec<f64> = keep.iter().map(|&g| p[g] - reference[g]).collect();
    let b: Vec<f64> = keep.iter().map(|&g| t[g] - reference[g]).collect();
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(&b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if sbb == 0.0 {
        return f64::NAN;
    }
    let s = noise_multiple * (1.0 - 1.0 / n) * keep.iter().map(|&g| reference_var[g]).sum::<f64>();
    let vbb = sbb - s;
    if saa <= 0.0 || vbb <= 0.0 {
        return 0.0;
    }
    ((sab - s) / (saa * vbb).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::delta_correlation_without;
    use crate::rng::seeded;
    use rand::RngExt;

    /// A prediction unrelated to the truth, both against a control mean with noise of sd 0.3 per
    /// gene: the plain correlation is inflated far above 0 by the shared noise, the corrected one
    /// is about 0 on average; with a real signal (delta sd 0.5 against noise 0.3) the corrected
    /// one recovers the correlation against the exact reference but for the prediction side's
    /// attenuation, √(0.25 / (0.25 + 0.09)).
    #[test]
    fn shared_reference_noise_is_removed() {
        let genes = 400;
        let mut rng = seeded(5);
        // Irwin–Hall: the sum of 12 uniforms less 6 is close to a standard normal.
        let mut normal = |sd: f64| -> f64 { sd * ((0..12).map(|_| rng.random_range(0.0..1.0)).sum::<f64>() - 6.0) };
        let (sd_ref, reps) = (0.3, 60);
        let var = vec![sd_ref * sd_ref; genes];
        let (mut plain, mut corrected, mut exact, mut corrected_signal) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..reps {
            let pop = vec![0.0; genes];
            let signal: Vec<f64> = (0..genes).map(|_| normal(0.5)).collect();
            let unrelated: Vec<f64> = (0..genes).map(|_| normal(0.5)).collect();
            let truth: Vec<f64> = signal.iter().map(|s| s + normal(0.2)).collect();
            let reference: Vec<f64> = (0..genes).map(|_| normal(sd_ref)).collect();
            plain += delta_correlation_without(&unrelated, &truth, &reference, &[]) / reps as f64;
            corrected += corrected_delta_correlation(&unrelated, &truth, &reference, &var, &[], 1.0) / reps as f64;
            exact += delta_correlation_without(&signal, &truth, &pop, &[]) / reps as f64;
            corrected_signal += corrected_delta_correlation(&signal, &truth, &reference, &var, &[], 1.0) / reps as f64;
        }
        assert!(plain > 0.15, "the shared noise was expected to inflate the plain correlation: {plain}");
        assert!(corrected.abs() < 0.02, "{corrected}");
        let attenuation = (0.25f64 / 0.34).sqrt();
        assert!((corrected_signal - attenuation * exact).abs() < 0.02, "{corrected_signal} vs {exact}");
    }

    #[test]
    fn degenerate_deltas() {
        let reference = [1.0, 2.0, 3.0, 4.0];
        let var = [0.01; 4];
        // The prediction is the reference: no delta, nothing to correlate.
        assert_eq!(corrected_delta_correlation(&reference, &[2.0, 1.0, 5.0, 3.0], &reference, &var, &[], 1.0), 0.0);
        // A constant truth delta: undefined.
        assert!(
            corrected_delta_correlation(&[0.0, 1.0, 0.0, 2.0], &[2.0, 3.0, 4.0, 5.0], &reference, &var, &[], 1.0)
                .is_nan()
        );
        // Without noise it is the plain correlation (with gene 3 left out).
        let (p, t) = ([0.0, 1.0, 0.5, 9.0], [2.0, 2.5, 3.0, 0.0]);
        let plain = delta_correlation_without(&p, &t, &reference, &[3]);
        assert!((corrected_delta_correlation(&p, &t, &reference, &[0.0; 4], &[3], 1.0) - plain).abs() < 1e-12);
    }
}
