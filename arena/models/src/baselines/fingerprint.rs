//! A baseline's model fingerprint: the sha256 of its name and fitted parameters.

use sha2::{Digest, Sha256};

/// sha256 of a baseline's name and fitted parameters (f64 bytes), its model fingerprint.
pub fn fingerprint(name: &str, params: &[&[f64]]) -> String {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    for p in params {
        for v in *p {
            h.update(v.to_le_bytes());
        }
    }
    hex::encode(h.finalize())
}
