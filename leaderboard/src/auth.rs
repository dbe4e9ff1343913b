//! Organiser tokens: `vca_<id>_<64 hex>`; only sha256(salt || secret) is stored, and the check
//! compares hashes in constant time.

use crate::db::LbError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn random_bytes(n: usize) -> Result<Vec<u8>, LbError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| format!("the system random source failed: {e}"))?;
    Ok(buf)
}

pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// `n` random bytes as lowercase hex (2n characters).
pub fn random_hex(n: usize) -> Result<String, LbError> {
    Ok(hex(&random_bytes(n)?))
}

pub fn hash_secret(salt: &[u8], secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// Constant-time equality (length is not secret: both are sha256 digests).
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn format_token(id: i64, secret: &str) -> String {
    format!("vca_{id}_{secret}")
}

/// `vca_<id>_<secret>` -> (id, secret); anything else is `None`.
pub fn parse_token(token: &str) -> Option<(i64, &str)> {
    let rest = token.trim().strip_prefix("vca_")?;
    let (id, secret) = rest.split_once('_')?;
    let id: i64 = id.parse().ok()?;
    (secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_format_round_trips() {
        let secret = random_hex(32).unwrap();
        let t = format_token(7, &secret);
        assert_eq!(parse_token(&t), Some((7, secret.as_str())));
        assert_eq!(parse_token("vca_x_ab"), None);
        assert_eq!(parse_token("nope"), None);
        let salt = random_bytes(16).unwrap();
        assert!(hashes_equal(&hash_secret(&salt, &secret), &hash_secret(&salt, &secret)));
        assert!(!hashes_equal(&hash_secret(&salt, &secret), &hash_secret(&salt, "other")));
    }
}
