//! Elementwise error between two profiles.

/// Mean absolute error (1/G) Σ |a_g − b_g| (cell-eval `mae` on pseudobulk means). NaN if empty.
pub fn mae(a: &[f64], b: &[f64]) -> f64 {
    mean_of(a, b, |d| d.abs())
}

/// Mean squared error (1/G) Σ (a_g − b_g)² (cell-eval / GEARS `mse`). NaN if empty.
pub fn mse(a: &[f64], b: &[f64]) -> f64 {
    mean_of(a, b, |d| d * d)
}

/// Euclidean distance ‖a − b‖₂.
pub fn euclidean(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

fn mean_of(a: &[f64], b: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::NAN;
    }
    a.iter().zip(b).map(|(x, y)| f(x - y)).sum::<f64>() / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        assert_eq!(mae(&[1.0, 2.0], &[2.0, 0.0]), 1.5);
        assert_eq!(mse(&[1.0, 2.0], &[2.0, 0.0]), 2.5);
        assert_eq!(euclidean(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
        assert!(mae(&[], &[]).is_nan());
    }
}
