//! Seeded, reproducible input corruptions for denoising: additive Gaussian noise and
//! salt-and-pepper, applied in the normalized pixel space.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::DataError;

/// A corruption of the inputs; the clean images stay the targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Noise {
    /// `x + factor * N(mean, std)`, optionally clipped to the valid pixel range.
    Gaussian(GaussianNoise),
    /// Each pixel, with probability `level`, becomes the darkest or the brightest value.
    SaltAndPepper(SaltAndPepperNoise),
}

/// Additive Gaussian noise, e.g. `{ kind = "gaussian", factor = 0.4 }` on standardized data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianNoise {
    /// Multiplies the drawn noise (default 1).
    pub factor: f32,
    /// Mean of the normal distribution (default 0).
    pub mean: f32,
    /// Standard deviation of the normal distribution (default 1), at least 0.
    pub std: f32,
    /// Clip the result to the valid pixel range (default false).
    pub clip: bool,
}

impl Default for GaussianNoise {
    fn default() -> Self {
        GaussianNoise { factor: 1.0, mean: 0.0, std: 1.0, clip: false }
    }
}

/// Salt-and-pepper noise, e.g. `{ kind = "salt_and_pepper", level = 0.4 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaltAndPepperNoise {
    /// Probability in [0, 1] that a pixel is replaced.
    pub level: f32,
}

/// When the noise is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoiseMode {
    /// Once per split, as the seed notebooks do.
    #[default]
    Fixed,
    /// Anew every epoch.
    Fresh,
}

fn invalid(field: &'static str, value: f32, expected: &'static str) -> DataError {
    DataError::InvalidSetting { field, value: value.to_string(), expected }
}

impl Noise {
    /// Checks the parameters; `field` prefixes come from the config section the noise sits in.
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            Noise::Gaussian(g) => {
                if !g.factor.is_finite() {
                    return Err(invalid("noise.factor", g.factor, "a finite number"));
                }
                if !g.mean.is_finite() {
                    return Err(invalid("noise.mean", g.mean, "a finite number"));
                }
                if !(g.std.is_finite() && g.std >= 0.0) {
                    return Err(invalid("noise.std", g.std, "a finite standard deviation >= 0"));
                }
            }
            Noise::SaltAndPepper(s) => {
                if !(0.0..=1.0).contains(&s.level) {
                    return Err(invalid("noise.level", s.level, "a probability in [0, 1]"));
                }
            }
        }
        Ok(())
    }

    /// Corrupts `pixels` (normalized values) in place with a generator seeded by `seed`;
    /// `range` is the normalized (darkest, brightest) pixel value.
    pub fn apply(&self, pixels: &mut [f32], range: (f32, f32), seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (low, high) = range;
        match self {
            Noise::Gaussian(g) => {
                // `validate` rejects a negative or non-finite std, the only way `new` can fail.
                let normal = Normal::new(g.mean, g.std).unwrap_or(Normal::new(0.0, 0.0).unwrap());
                for p in pixels.iter_mut() {
                    let noisy = *p + g.factor * normal.sample(&mut rng);
                    *p = if g.clip { noisy.clamp(low, high) } else { noisy };
                }
            }
            Noise::SaltAndPepper(s) => {
                for p in pixels.iter_mut() {
                    if rng.random::<f32>() < s.level {
                        *p = if rng.random::<bool>() { high } else { low };
                    }
                }
            }
        }
    }

    /// A short human description, e.g. `salt-and-pepper 0.4`.
    pub fn describe(&self) -> String {
        match self {
            Noise::Gaussian(g) => format!(
                "gaussian {} x N({}, {}){}",
                g.factor,
                g.mean,
                g.std,
                if g.clip { " clipped" } else { "" }
            ),
            Noise::SaltAndPepper(s) => format!("salt-and-pepper {}", s.level),
        }
    }
}

/// Derives an independent seed for a named random stream (`"shuffle"`, `"noise-train"`, ...) and an
/// epoch from the experiment's seed, so randomness is reproducible after a resume without saving
/// generator state.
pub fn derive_seed(seed: u64, stream: &str, epoch: u64) -> u64 {
    // SplitMix64 finalizer over the mixed inputs: cheap, well spread, stable across versions.
    let mut z = seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in stream.bytes() {
        z = (z ^ b as u64).wrapping_mul(0x100_0000_01B3);
    }
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
