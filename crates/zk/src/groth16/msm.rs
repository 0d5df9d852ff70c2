//! Multi-scalar multiplication that pays for the bits the scalars have.
//!
//! Most witness values of the circuit are bits, and the rest are activations below 2^24 or
//! their negations; only a few (inverses) are full field elements. arkworks' MSM walks all
//! 254 bits of every scalar, so here scalars are split by size first: zeros are skipped, ones
//! are plain additions, small values (|v| < 2^32) go through a bucket method over their own
//! bits only, and the rest through arkworks' MSM.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField};
use rayon::prelude::*;

/// Largest magnitude treated as small.
const SMALL_BITS: u32 = 32;

/// A scalar vector split by size. Indices point into the vector that was split.
pub(crate) struct Split<F: PrimeField> {
    ones: Vec<usize>,
    minus_ones: Vec<usize>,
    /// `(index, v)` for scalars equal to `v`, `2 ≤ v < 2^32`.
    small: Vec<(usize, u64)>,
    /// `(index, v)` for scalars equal to `−v`, `2 ≤ v < 2^32`.
    negated: Vec<(usize, u64)>,
    large: Vec<(usize, F::BigInt)>,
}

enum Class<B> {
    Zero,
    One,
    MinusOne,
    Small(u64),
    Negated(u64),
    Large(B),
}

fn small_value<B: BigInteger>(b: &B) -> Option<u64> {
    let limbs = b.as_ref();
    (limbs[1..].iter().all(|&l| l == 0) && limbs[0] >> SMALL_BITS == 0).then_some(limbs[0])
}

impl<F: PrimeField> Split<F> {
    pub fn new(scalars: &[F]) -> Self {
        let classes: Vec<Class<F::BigInt>> = scalars
            .par_iter()
            .map(|s| {
                if s.is_zero() {
                    return Class::Zero;
                }
                let b = s.into_bigint();
                if let Some(v) = small_value(&b) {
                    return if v == 1 { Class::One } else { Class::Small(v) };
                }
                if let Some(v) = small_value(&(-*s).into_bigint()) {
                    return if v == 1 {
                        Class::MinusOne
                    } else {
                        Class::Negated(v)
                    };
                }
                Class::Large(b)
            })
            .collect();
        let mut split = Self {
            ones: Vec::new(),
            minus_ones: Vec::new(),
            small: Vec::new(),
            negated: Vec::new(),
            large: Vec::new(),
        };
        for (i, class) in classes.into_iter().enumerate() {
            match class {
                Class::Zero => {}
                Class::One => split.ones.push(i),
                Class::MinusOne => split.minus_ones.push(i),
                Class::Small(v) => split.small.push((i, v)),
                Class::Negated(v) => split.negated.push((i, v)),
                Class::Large(b) => split.large.push((i, b)),
            }
        }
        split
    }

    /// `Σ scalars[i]·bases[i]`.
    pub fn msm<P: SWCurveConfig<ScalarField = F>>(&self, bases: &[Affine<P>]) -> Projective<P> {
        type G<P> = Projective<P>;
        let ((ones, small), (negated, large)) = rayon::join(
            || {
                rayon::join(
                    || sum::<G<P>>(bases, &self.ones) - sum::<G<P>>(bases, &self.minus_ones),
                    || small_msm::<G<P>>(bases, &self.small),
                )
            },
            || {
                rayon::join(
                    || small_msm::<G<P>>(bases, &self.negated),
                    || {
                        let (points, scalars): (Vec<Affine<P>>, Vec<F::BigInt>) =
                            self.large.iter().map(|&(i, b)| (bases[i], b)).unzip();
                        super::pippenger::msm(&points, &scalars)
                    },
                )
            },
        );
        ones + small - negated + large
    }
}

/// `Σ bases[i]` over `indices`.
fn sum<G: CurveGroup>(bases: &[G::Affine], indices: &[usize]) -> G {
    indices
        .par_chunks(4096)
        .map(|chunk| {
            let mut acc = G::zero();
            for &i in chunk {
                acc += bases[i];
            }
            acc
        })
        .reduce(G::zero, |a, b| a + b)
}

/// `Σ v·bases[i]` over `(i, v)` with `v < 2^32`: the bucket method over the bits the values
/// have, one window of `c` bits per task.
pub(crate) fn small_msm<G: CurveGroup>(bases: &[G::Affine], items: &[(usize, u64)]) -> G {
    let Some(max) = items.iter().map(|&(_, v)| v).max() else {
        return G::zero();
    };
    let bits = 64 - max.leading_zeros() as usize;
    let c = window_bits(items.len()).min(bits);
    let windows: Vec<usize> = (0..bits).step_by(c).collect();
    let sums: Vec<G> = windows
        .par_iter()
        .map(|&start| {
            let mask = (1u64 << c) - 1;
            let mut buckets = vec![G::zero(); (1 << c) - 1];
            for &(i, v) in items {
                let digit = (v >> start) & mask;
                if digit != 0 {
                    buckets[digit as usize - 1] += bases[i];
                }
            }
            let (mut running, mut total) = (G::zero(), G::zero());
            for bucket in buckets.into_iter().rev() {
                running += bucket;
                total += running;
            }
            total
        })
        .collect();
    let mut acc = G::zero();
    for (k, sum) in sums.iter().enumerate().rev() {
        acc += sum;
        if k > 0 {
            for _ in 0..c {
                acc.double_in_place();
            }
        }
    }
    acc
}

/// Window width for `n` points: about `log2(n) − 2`, at least 2 bits.
fn window_bits(n: usize) -> usize {
    let log = usize::BITS as usize - n.leading_zeros() as usize;
    log.saturating_sub(2).clamp(2, 16)
}

/// `bases[0] + Σ values[i]·bases[i + 1]` for small non-negative `values`: the verifier's
/// combination of public inputs.
pub(crate) fn public_combination<G: CurveGroup>(bases: &[G::Affine], values: &[u64]) -> G {
    let items: Vec<(usize, u64)> = values
        .iter()
        .enumerate()
        .filter(|&(_, &v)| v != 0)
        .map(|(i, &v)| (i + 1, v))
        .collect();
    bases[0].into_group() + small_msm::<G>(bases, &items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective};
    use ark_ff::Zero;
    use ark_std::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn split_msm_equals_the_naive_sum() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
        let n = 300;
        let bases: Vec<G1Affine> = (0..n)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let scalars: Vec<Fr> = (0..n)
            .map(|i| match i % 7 {
                0 => Fr::zero(),
                1 => Fr::from(1u64),
                2 => -Fr::from(1u64),
                3 => Fr::from(i as u64 * 977),
                4 => -Fr::from(i as u64 * 31_337),
                5 => Fr::from(u64::from(u32::MAX)),
                _ => Fr::rand(&mut rng),
            })
            .collect();
        let naive: G1Projective = bases.iter().zip(&scalars).map(|(b, s)| *b * s).sum();
        assert_eq!(Split::new(&scalars).msm(&bases), naive);

        let values: Vec<u64> = (0..n as u64 - 1).map(|i| (i * 7919) % 65_536).collect();
        let expected = bases[0].into_group()
            + bases[1..]
                .iter()
                .zip(&values)
                .map(|(b, &v)| *b * Fr::from(v))
                .sum::<G1Projective>();
        assert_eq!(
            public_combination::<G1Projective>(&bases, &values),
            expected
        );
        assert_eq!(
            public_combination::<G1Projective>(&bases[..1], &[]),
            bases[0].into_group()
        );
    }
}
