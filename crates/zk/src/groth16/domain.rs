//! The QAP's evaluation domain: the smallest multiplicative subgroup of size `3^j·2^k`
//! (`j ≤ 2`, BN254's scalar field has both) that holds every row, and the prover's move of a
//! vector of evaluations from the domain to its coset.
//!
//! A power-of-two domain can be almost twice the rows; allowing a factor 3 or 9 keeps the
//! domain within 4/3 of them (LeNet28: 161,759 rows, 196,608 points instead of 262,144), which
//! shrinks the FFTs and the `h` query by the same factor. arkworks' mixed-radix FFT is serial
//! per coset and slower than its radix-2 FFT, so the FFT here splits off the factors of 3 by
//! decimation in time and runs arkworks' parallel radix-2 FFT on the power-of-two parts.

use ark_ff::FftField;
use ark_poly::{
    EvaluationDomain, GeneralEvaluationDomain, MixedRadixEvaluationDomain, Radix2EvaluationDomain,
};
use rayon::prelude::*;

/// Elements per parallel task in the element-wise passes.
const CHUNK: usize = 4096;

/// The smallest domain of at least `rows` points.
pub(crate) fn domain<F: FftField>(rows: usize) -> Option<GeneralEvaluationDomain<F>> {
    let radix2 = Radix2EvaluationDomain::<F>::new(rows);
    let mixed = MixedRadixEvaluationDomain::<F>::new(rows);
    match (radix2, mixed) {
        (Some(r), Some(m)) if m.size() < r.size() => Some(GeneralEvaluationDomain::MixedRadix(m)),
        (Some(r), _) => Some(GeneralEvaluationDomain::Radix2(r)),
        (None, Some(m)) => Some(GeneralEvaluationDomain::MixedRadix(m)),
        (None, None) => None,
    }
}

/// Replaces evaluations on `domain` (of a polynomial of degree below its size) by the
/// evaluations on the coset `offset·domain`, in the same order.
pub(crate) fn to_coset<F: FftField>(
    domain: &GeneralEvaluationDomain<F>,
    offset: F,
    v: &mut Vec<F>,
) {
    let n = domain.size();
    v.resize(n, F::zero());
    // Coefficients: the inverse FFT, then c_i·offset^i, with the 1/n folded in.
    fft(v, domain.group_gen_inv());
    let scale = F::from(n as u64)
        .inverse()
        .expect("the domain size is not zero in F");
    v.par_chunks_mut(CHUNK).enumerate().for_each(|(k, chunk)| {
        let mut power = offset.pow([(k * CHUNK) as u64]) * scale;
        for x in chunk {
            *x *= power;
            power *= offset;
        }
    });
    fft(v, domain.group_gen());
}

/// In-place DFT of `v` with primitive `v.len()`-th root of unity `omega`, `v.len() = 3^j·2^k`.
fn fft<F: FftField>(v: &mut [F], omega: F) {
    let n = v.len();
    if !n.is_multiple_of(3) {
        radix2(v, omega);
        return;
    }
    // x_j = x_{3t + r}: X[k1 + m·k2] = Σ_r ζ^(r·k2)·ω^(r·k1)·Y_r[k1], ζ = ω^m a cube root of
    // unity, Y_r the DFT of x_{r::3} with root ω^3.
    let m = n / 3;
    let mut parts: Vec<Vec<F>> = (0..3)
        .map(|r| v.iter().skip(r).step_by(3).copied().collect())
        .collect();
    let omega3 = omega.pow([3]);
    parts.par_iter_mut().for_each(|p| fft(p, omega3));
    let zeta = omega.pow([m as u64]);
    let (x0, rest) = v.split_at_mut(m);
    let (x1, x2) = rest.split_at_mut(m);
    x0.par_chunks_mut(CHUNK)
        .zip(x1.par_chunks_mut(CHUNK))
        .zip(x2.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(chunk, ((x0, x1), x2))| {
            let start = chunk * CHUNK;
            let mut twiddle = omega.pow([start as u64]);
            for i in 0..x0.len() {
                let k = start + i;
                let a = parts[0][k];
                let b = parts[1][k] * twiddle;
                let c = parts[2][k] * twiddle.square();
                // ζ² = −1 − ζ.
                x0[i] = a + b + c;
                x1[i] = a - c + zeta * (b - c);
                x2[i] = a - b + zeta * (c - b);
                twiddle *= omega;
            }
        });
}

/// arkworks' (parallel) radix-2 FFT with root `omega`.
fn radix2<F: FftField>(v: &mut [F], omega: F) {
    let n = v.len();
    if n == 1 {
        return;
    }
    let size = F::from(n as u64);
    let domain = Radix2EvaluationDomain {
        size: n as u64,
        log_size_of_group: n.trailing_zeros(),
        size_as_field_element: size,
        size_inv: size.inverse().expect("the domain size is not zero in F"),
        group_gen: omega,
        group_gen_inv: omega.inverse().expect("a root of unity is not zero"),
        offset: F::one(),
        offset_inv: F::one(),
        offset_pow_size: F::one(),
    };
    let mut owned = v.to_vec();
    domain.fft_in_place(&mut owned);
    v.copy_from_slice(&owned);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use ark_std::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn smallest_domain() {
        assert_eq!(domain::<Fr>(4096).unwrap().size(), 4096);
        assert_eq!(domain::<Fr>(2369).unwrap().size(), 3072);
        assert_eq!(domain::<Fr>(161_759).unwrap().size(), 196_608);
        assert_eq!(domain::<Fr>(140_000).unwrap().size(), 147_456);
        assert_eq!(domain::<Fr>(570).unwrap().size(), 576);
        assert_eq!(domain::<Fr>(1).unwrap().size(), 1);
    }

    #[test]
    fn coset_move_equals_arkworks() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
        let g = Fr::from(5u64);
        for rows in [1usize, 2, 3, 7, 12, 64, 96, 200, 570, 2369, 5000] {
            let d = domain::<Fr>(rows).unwrap();
            let evals: Vec<Fr> = (0..d.size()).map(|_| Fr::rand(&mut rng)).collect();
            let mut expected = evals.clone();
            d.ifft_in_place(&mut expected);
            d.get_coset(g).unwrap().fft_in_place(&mut expected);
            let mut ours = evals;
            to_coset(&d, g, &mut ours);
            assert_eq!(ours, expected, "rows {rows}, size {}", d.size());
        }
    }
}
