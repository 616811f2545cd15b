//! Deterministic randomness: every random choice of the simulation comes from a ChaCha
//! stream derived from a 32-byte seed and a domain label, so a fleet created with a seed
//! replays exactly.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// SHA-256 over length-prefixed parts: a seed derivation without ambiguity.
pub(crate) fn derive(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"witness/devices/v1/");
    h.update((label.len() as u64).to_be_bytes());
    h.update(label.as_bytes());
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// 32 bytes from the operating system.
pub(crate) fn os_seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Randomness(e.to_string()))?;
    Ok(seed)
}

/// Floating-point helpers over a ChaCha8 stream.
#[derive(Debug)]
pub(crate) struct Dice(ChaCha8Rng);

impl Dice {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Self(ChaCha8Rng::from_seed(seed))
    }

    /// The stream for `label` and `n` under `seed`.
    pub(crate) fn for_stream(seed: &[u8; 32], label: &str, n: u64) -> Self {
        Self::new(derive(label, &[seed, &n.to_be_bytes()]))
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in [lo, hi] (inclusive).
    pub(crate) fn int(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.0.next_u64() % (hi - lo + 1)
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `mean * (1 + sd * N(0,1))`, clamped to ±3 sd.
    pub(crate) fn jitter(&mut self, mean: f64, relative_sd: f64) -> f64 {
        mean * (1.0 + relative_sd * self.normal().clamp(-3.0, 3.0))
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        let i = self.int(0, items.len() as u64 - 1) as usize;
        items.get(i).copied()
    }
}
