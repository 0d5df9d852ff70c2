//! Multi-scalar multiplication for full-size scalars on a short Weierstrass curve: the bucket
//! method with signed digits and buckets kept in affine coordinates, added in batches that share
//! one field inversion.
//!
//! Adding a point to an affine bucket costs a division; a batch of `k` additions to distinct
//! buckets shares one inversion (Montgomery's trick: three multiplications per element), so an
//! addition costs about six multiplications against eleven for a mixed Jacobian addition. This
//! is the prover's largest cost (the `h` query, one point per row of the evaluation domain).
//!
//! Per window of `c` bits, every point is added (or subtracted, for a negative digit) into
//! bucket `|digit|`; a point meeting a bucket already in the current batch waits for the next
//! batch. The window's sum is `Σ k·bucket_k`, by running sums. Windows run in parallel.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{AdditiveGroup, Field, One, PrimeField, Zero};
use rayon::prelude::*;

/// Additions per shared inversion, at most.
const BATCH: usize = 512;
/// Below this many points arkworks' MSM (Jacobian buckets) is as fast or faster.
const SMALL: usize = 1 << 13;

/// `Σ scalars[i]·bases[i]` over the common length.
pub(crate) fn msm<P: SWCurveConfig>(
    bases: &[Affine<P>],
    scalars: &[<P::ScalarField as PrimeField>::BigInt],
) -> Projective<P> {
    let n = bases.len().min(scalars.len());
    if n < SMALL {
        return Projective::<P>::msm_bigint(&bases[..n], &scalars[..n]);
    }
    let c = window_bits(n);
    let bits = P::ScalarField::MODULUS_BIT_SIZE as usize + 1;
    let windows = bits.div_ceil(c);
    let digits = signed_digits::<P::ScalarField>(&scalars[..n], c, windows);
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| window_sum(&bases[..n], &digits, windows, w, c))
        .collect();
    let mut acc = Projective::<P>::zero();
    for (w, sum) in sums.iter().enumerate().rev() {
        acc += sum;
        if w > 0 {
            for _ in 0..c {
                acc.double_in_place();
            }
        }
    }
    acc
}

/// Window width for `n` points: `log2(n) − 4`, between 4 and 16 bits.
fn window_bits(n: usize) -> usize {
    let log = (usize::BITS - n.leading_zeros()) as usize;
    log.saturating_sub(4).clamp(4, 16)
}

/// Signed base-`2^c` digits in `[−2^(c−1), 2^(c−1)]`, `windows` per scalar, scalar-major.
fn signed_digits<F: PrimeField>(scalars: &[F::BigInt], c: usize, windows: usize) -> Vec<i32> {
    let mut digits = vec![0i32; scalars.len() * windows];
    let half = 1i64 << (c - 1);
    let mask = (1u64 << c) - 1;
    digits
        .par_chunks_mut(windows)
        .zip(scalars.par_iter())
        .for_each(|(out, scalar)| {
            let limbs = scalar.as_ref();
            let mut carry = 0i64;
            for (w, digit) in out.iter_mut().enumerate() {
                let start = w * c;
                let (limb, shift) = (start / 64, start % 64);
                let mut raw = limbs.get(limb).map_or(0, |l| l >> shift);
                if let Some(next) = limbs.get(limb + 1).filter(|_| shift + c > 64) {
                    raw |= next << (64 - shift);
                }
                let mut d = (raw & mask) as i64 + carry;
                carry = 0;
                if d > half {
                    d -= 1 << c;
                    carry = 1;
                }
                *digit = d as i32;
            }
            debug_assert_eq!(carry, 0, "the top window absorbs the carry");
        });
    digits
}

/// `Σ digit_w(i)·bases[i]` for window `w`.
fn window_sum<P: SWCurveConfig>(
    bases: &[Affine<P>],
    digits: &[i32],
    windows: usize,
    w: usize,
    c: usize,
) -> Projective<P> {
    let mut buckets = Buckets::<P>::new(1 << (c - 1));
    for (i, base) in bases.iter().enumerate() {
        let d = digits[i * windows + w];
        if d != 0 {
            let point = if d > 0 { *base } else { -*base };
            buckets.add(d.unsigned_abs() as usize - 1, point);
        }
    }
    buckets.finish();
    let (mut running, mut total) = (Projective::<P>::zero(), Projective::<P>::zero());
    for (bucket, overflow) in buckets.points.iter().zip(&buckets.overflow).rev() {
        running += bucket;
        running += overflow;
        total += running;
    }
    total
}

/// Affine buckets with a pending batch of additions.
struct Buckets<P: SWCurveConfig> {
    points: Vec<Affine<P>>,
    /// Batch number in which each bucket last received a pending addition.
    busy: Vec<u32>,
    batch_id: u32,
    /// Additions per batch: a small fraction of the buckets, so few meet a busy bucket.
    batch_len: usize,
    batch: Vec<(usize, Affine<P>)>,
    /// Additions that met a busy bucket, for a later batch.
    waiting: Vec<(usize, Affine<P>)>,
    /// Per bucket, the additions that met it busy while `waiting` was full, in Jacobian
    /// coordinates: a window whose digits fall in few buckets (the top window) has more such
    /// additions than batches could absorb.
    overflow: Vec<Projective<P>>,
    scratch: Vec<P::BaseField>,
}

impl<P: SWCurveConfig> Buckets<P> {
    fn new(count: usize) -> Self {
        Self {
            points: vec![Affine::identity(); count],
            busy: vec![0; count],
            batch_id: 1,
            batch_len: (count / 16).clamp(1, BATCH),
            batch: Vec::with_capacity(BATCH),
            waiting: Vec::new(),
            overflow: vec![Projective::zero(); count],
            scratch: Vec::with_capacity(BATCH),
        }
    }

    /// Schedules `points[b] += p`, performing the batch when it is full.
    fn add(&mut self, b: usize, p: Affine<P>) {
        self.schedule(b, p);
        if self.batch.len() >= self.batch_len {
            self.flush();
        }
    }

    fn schedule(&mut self, b: usize, p: Affine<P>) {
        if p.infinity {
            return;
        }
        if self.busy[b] == self.batch_id {
            if self.waiting.len() < 4 * self.batch_len {
                self.waiting.push((b, p));
            } else {
                self.overflow[b] += p;
            }
            return;
        }
        let q = self.points[b];
        if q.infinity {
            self.points[b] = p;
        } else if q.x == p.x {
            // p = ±q: a doubling or the identity. Rare; done directly.
            self.points[b] = if q.y == p.y {
                q.into_group().double().into_affine()
            } else {
                Affine::identity()
            };
        } else {
            self.busy[b] = self.batch_id;
            self.batch.push((b, p));
        }
    }

    /// Performs pending batches until fewer than a batch of additions are scheduled.
    fn flush(&mut self) {
        loop {
            self.perform();
            for (b, p) in std::mem::take(&mut self.waiting) {
                self.schedule(b, p);
            }
            if self.batch.len() < self.batch_len {
                return;
            }
        }
    }

    /// Performs the scheduled batch: every bucket in it is distinct and not the identity, and
    /// no point in it shares its bucket's x coordinate.
    fn perform(&mut self) {
        // Denominators x_p − x_q, inverted together.
        self.scratch.clear();
        let mut product = P::BaseField::one();
        for &(b, p) in &self.batch {
            self.scratch.push(product);
            product *= p.x - self.points[b].x;
        }
        let mut inverse = product.inverse().expect("denominators are not zero");
        for (k, &(b, p)) in self.batch.iter().enumerate().rev() {
            let q = self.points[b];
            let denominator_inverse = inverse * self.scratch[k];
            inverse *= p.x - q.x;
            let lambda = (p.y - q.y) * denominator_inverse;
            let x = lambda.square() - q.x - p.x;
            let y = lambda * (q.x - x) - q.y;
            self.points[b] = Affine::new_unchecked(x, y);
        }
        self.batch.clear();
        self.batch_id += 1;
    }

    /// Performs every scheduled addition.
    fn finish(&mut self) {
        while !self.batch.is_empty() {
            self.perform();
            for (b, p) in std::mem::take(&mut self.waiting) {
                self.schedule(b, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective};
    use ark_ec::VariableBaseMSM;
    use ark_std::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn equals_arkworks_msm() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
        for n in [1usize, 7, 100, 9000] {
            let mut bases: Vec<G1Affine> = (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect();
            // Repeated and opposite points exercise doubling and cancellation in a bucket.
            if n > 10 {
                bases[5] = bases[4];
                bases[6] = -bases[4];
                bases[7] = G1Affine::identity();
            }
            let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            if n > 10 {
                scalars[5] = scalars[4];
                scalars[6] = scalars[4];
                scalars[8] = -Fr::from(1u64);
                scalars[9] = Fr::zero();
            }
            let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
            assert_eq!(
                msm(&bases, &bigints),
                G1Projective::msm_bigint(&bases, &bigints),
                "n = {n}"
            );
        }
    }
}
