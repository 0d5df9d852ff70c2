//! Conversions from float constants to the integer constants of a program, used by the
//! compiler only (the executor never sees a float).
//!
//! A float `v` at `frac` fractional bits becomes `round(v × 2^frac)`, rounded half away from
//! zero. The product is computed in `f64`, where multiplying an `f32` by a power of two is exact,
//! so compiling is as deterministic as running.

use crate::error::CompileError;
use crate::program::MAX_SHIFT;

/// Largest magnitude of a quantized bias or offset; anything near it would fail the accumulator
/// bound anyway.
const MAX_CONSTANT: f64 = (1u64 << 62) as f64;

/// Quantizes weights to `i32`.
pub(crate) fn weights(
    name: &str,
    values: &[f32],
    frac_bits: u32,
) -> Result<Vec<i32>, CompileError> {
    values
        .iter()
        .map(|&v| {
            let q = scaled(name, v, frac_bits)?;
            if q.abs() > f64::from(i32::MAX) {
                return Err(CompileError::WeightOutOfRange {
                    name: name.into(),
                    value: v,
                    frac_bits,
                });
            }
            Ok(q as i32)
        })
        .collect()
}

/// Quantizes biases or offsets to `i64`.
pub(crate) fn constants(
    name: &str,
    values: &[f32],
    frac_bits: u32,
) -> Result<Vec<i64>, CompileError> {
    values
        .iter()
        .map(|&v| {
            let q = scaled(name, v, frac_bits)?;
            if q.abs() > MAX_CONSTANT {
                return Err(CompileError::WeightOutOfRange {
                    name: name.into(),
                    value: v,
                    frac_bits,
                });
            }
            Ok(q as i64)
        })
        .collect()
}

/// `round(v × 2^frac_bits)`, refusing NaN and infinities.
fn scaled(name: &str, v: f32, frac_bits: u32) -> Result<f64, CompileError> {
    if !v.is_finite() {
        return Err(CompileError::NonFiniteWeight {
            name: name.into(),
            value: v,
        });
    }
    Ok((f64::from(v) * f64::from(1u32 << frac_bits)).round())
}

/// The `(mul, shift)` that divide a sum of `window` activations by `window` in a requantization
/// (see [`crate::program`] for the rounding): `(1, m)` for `window = 2^m`, otherwise
/// `(ceil(2^p / window), p)` with `p = act_bits + 2·ceil(log2 window)`. `None` when the
/// multiplier does not fit in `u32` or the shift exceeds [`MAX_SHIFT`].
pub(crate) fn pool_divisor(window: u64, act_bits: u32) -> Option<(u32, u32)> {
    if window.is_power_of_two() {
        return Some((1, window.trailing_zeros()));
    }
    let ceil_log2 = u64::BITS - (window - 1).leading_zeros();
    let shift = act_bits + 2 * ceil_log2;
    if shift > MAX_SHIFT {
        return None;
    }
    let mul = (1u128 << shift).div_ceil(u128::from(window));
    Some((u32::try_from(mul).ok()?, shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `floor((s·mul + 2^(shift-1)) / 2^shift)`, the executor's requantization without clamp.
    fn divide(s: i64, (mul, shift): (u32, u32)) -> i64 {
        let rounding = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
        (s * i64::from(mul) + rounding) >> shift
    }

    /// Exact `s / k` rounded half up.
    fn round_half_up(s: i64, k: i64) -> i64 {
        (2 * s + k).div_euclid(2 * k)
    }

    #[test]
    fn pool_division_rounds_half_up_except_negative_half_integers() {
        let act_bits = 8;
        let act_max = 1i64 << (act_bits - 1);
        for k in 1..=40u64 {
            let divisor = pool_divisor(k, act_bits).unwrap();
            let k = k as i64;
            for s in -k * act_max..=k * (act_max - 1) {
                let exact = round_half_up(s, k);
                let negative_half = s < 0 && (2 * s) % k == 0 && (2 * s / k) % 2 != 0;
                let expected = if negative_half { exact - 1 } else { exact };
                if k.count_ones() == 1 {
                    assert_eq!(divide(s, divisor), exact, "s = {s}, k = {k}");
                } else {
                    assert_eq!(divide(s, divisor), expected, "s = {s}, k = {k}");
                }
            }
        }
    }

    #[test]
    fn pool_divisor_shapes() {
        assert_eq!(pool_divisor(4, 16), Some((1, 2)));
        assert_eq!(pool_divisor(1, 16), Some((1, 0)));
        assert_eq!(
            pool_divisor(9, 16),
            Some(((1u64 << 24).div_ceil(9) as u32, 24))
        );
        assert_eq!(pool_divisor(1 << 20 | 1, 24), None);
    }

    #[test]
    fn weights_round_half_away_from_zero() {
        assert_eq!(
            weights("w", &[0.5 / 256.0, -0.5 / 256.0, 1.0, -1.5 / 256.0], 8).unwrap(),
            vec![1, -1, 256, -2]
        );
        assert!(matches!(
            weights("w", &[f32::NAN], 8),
            Err(CompileError::NonFiniteWeight { .. })
        ));
        assert!(matches!(
            weights("w", &[1e9], 8),
            Err(CompileError::WeightOutOfRange { .. })
        ));
        assert_eq!(constants("b", &[1e9], 8).unwrap(), vec![256_000_000_000]);
    }
}
