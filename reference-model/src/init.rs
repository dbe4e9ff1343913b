//! Seeded parameter initialisation: every initial weight comes from one ChaCha stream, so a
//! seed fixes the starting point bit for bit on any machine.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct Init {
    rng: ChaCha8Rng,
}

impl Init {
    pub fn new(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_1417) }
    }

    /// Glorot-uniform weights of a `fan_in x fan_out` layer, multiplied by `gain`.
    pub fn glorot(&mut self, fan_in: usize, fan_out: usize, gain: f32) -> Vec<f32> {
        let limit = gain * (6.0 / (fan_in + fan_out) as f32).sqrt();
        (0..fan_in * fan_out).map(|_| self.rng.random_range(-limit..limit)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let a = Init::new(3).glorot(10, 4, 1.0);
        assert_eq!(a, Init::new(3).glorot(10, 4, 1.0));
        assert_ne!(a, Init::new(4).glorot(10, 4, 1.0));
        let limit = (6.0f32 / 14.0).sqrt();
        assert!(a.iter().all(|v| v.abs() <= limit) && a.iter().any(|v| v.abs() > limit / 2.0));
    }
}
