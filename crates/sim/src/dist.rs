//! Random streams and the few distributions the simulator draws from.
//!
//! Every random decision draws from a generator keyed by `(seed, stream, index…)`, never from a
//! shared sequence: the arrivals, a call's outcome at a given node, and the policy's draws for
//! a given call are the same in every run of a seed, whatever happened before. That is what
//! makes a counterfactual run (the Sybil as one identity, the wash trader without self-calls)
//! differ from the base run only where the attack changes something.

use rand::{Rng, SeedableRng, rngs::StdRng};

/// Arrival times and caller kinds.
pub const ARRIVALS: u64 = 1;
/// Outcome of one attempt of one call at one node.
pub const OUTCOME: u64 = 2;
/// A policy's draws for one call.
pub const POLICY: u64 = 3;
/// Incumbents' histories.
pub const HISTORY: u64 = 4;
/// Self-calls of the wash trader.
pub const SELF_CALLS: u64 = 5;
/// Canaries on joining.
pub const CANARY: u64 = 6;

/// SplitMix64 finalizer: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator for `(seed, stream, a, b)`.
pub fn stream(seed: u64, stream: u64, a: u64, b: u64) -> StdRng {
    let key = mix(mix(mix(seed ^ mix(stream)) ^ a) ^ b.rotate_left(17));
    StdRng::seed_from_u64(key)
}

/// Exponential with the given mean.
pub fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    let u: f64 = rng.r#gen();
    -mean * (1.0 - u).ln()
}

/// Standard normal (Box–Muller).
pub fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.r#gen::<f64>();
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with the given median and shape.
pub fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Gamma(shape, 1) (Marsaglia–Tsang; shape < 1 by the boost `G(a) = G(a+1)·U^(1/a)`).
pub fn gamma(rng: &mut impl Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u: f64 = 1.0 - rng.r#gen::<f64>();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = 1.0 - rng.r#gen::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Beta(a, b).
pub fn beta(rng: &mut impl Rng, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, b);
    x / (x + y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(n: usize, mut f: impl FnMut() -> f64) -> f64 {
        (0..n).map(|_| f()).sum::<f64>() / n as f64
    }

    #[test]
    fn distributions_have_their_means() {
        let mut rng = stream(1, 0, 0, 0);
        assert!((mean(200_000, || exponential(&mut rng, 3.0)) - 3.0).abs() < 0.03);
        assert!(mean(200_000, || normal(&mut rng)).abs() < 0.01);
        assert!((mean(100_000, || gamma(&mut rng, 4.5)) - 4.5).abs() < 0.03);
        assert!((mean(100_000, || gamma(&mut rng, 0.5)) - 0.5).abs() < 0.01);
        assert!((mean(100_000, || beta(&mut rng, 3.0, 1.0)) - 0.75).abs() < 0.005);
        let mut medians: Vec<f64> = (0..20_001)
            .map(|_| lognormal(&mut rng, 200.0, 0.4))
            .collect();
        medians.sort_by(f64::total_cmp);
        assert!((medians[10_000] - 200.0).abs() < 4.0);
    }

    #[test]
    fn streams_are_keyed() {
        let draw = |s, a, b| stream(7, s, a, b).r#gen::<u64>();
        assert_eq!(draw(OUTCOME, 3, 4), draw(OUTCOME, 3, 4));
        assert_ne!(draw(OUTCOME, 3, 4), draw(OUTCOME, 4, 3));
        assert_ne!(draw(OUTCOME, 3, 4), draw(POLICY, 3, 4));
    }
}
