//! Deterministic randomness: SplitMix64 and stateless hashing, stable across platforms and
//! dependency upgrades (so the same seed gives byte-identical output forever).

/// SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

/// Mixes a 64-bit value (the SplitMix64 finaliser).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes several values into one.
pub fn hash(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x243F_6A88_85A3_08D3, |acc, p| mix(acc ^ *p))
}

/// A uniform value in [0, 1) from a hash.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// An approximately standard-normal value from a hash (sum of four uniforms, rescaled).
pub fn normal(h: u64) -> f64 {
    let a = unit(mix(h));
    let b = unit(mix(h ^ 0xA5A5_A5A5));
    let c = unit(mix(h ^ 0x5A5A_5A5A));
    let d = unit(mix(h ^ 0x3C3C_3C3C));
    // Sum of 4 U(0,1): mean 2, variance 1/3.
    (a + b + c + d - 2.0) * 3f64.sqrt()
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Uniform index in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32) as usize * n) >> 32
    }

    /// Approximately standard normal.
    pub fn normal(&mut self) -> f64 {
        normal(self.next_u64())
    }
}
