//! Deterministic random streams: every random draw of the simulator comes from a
//! `ChaCha8Rng` keyed by (master seed, domain, index) through a fixed mixing function, so the
//! output never depends on thread count or scheduling. Never use a thread-local RNG here.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Domains of randomness, so that e.g. changing the number of cells leaves the network alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Domain {
    Network = 1,
    Kinetics = 2,
    Design = 3,
    Cell = 4,
    /// Cells the closed-loop laboratory measures for a pick (`oracle::lab_cells`).
    Lab = 5,
    /// The drug mode's compounds and cells (`drugs.rs`).
    Drug = 6,
}

/// SplitMix64 finalizer: a bijective, well-mixing function of a u64.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG of one (seed, domain, index) stream; the 256-bit key is four mixed words.
pub fn stream(seed: u64, domain: Domain, index: u64) -> ChaCha8Rng {
    let a = mix64(seed);
    let b = mix64(a ^ (domain as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let c = mix64(b ^ index);
    let d = mix64(c ^ 0xA076_1D64_78BD_642F);
    let mut key = [0u8; 32];
    for (i, w) in [a, b, c, d].iter().enumerate() {
        key[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}
