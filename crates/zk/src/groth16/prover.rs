//! The Groth16 prover on a ready assignment: the same proof as arkworks'
//! `create_proof_with_reduction_and_matrices` with [`CosetReduction`], with the constraint rows
//! evaluated in parallel chunks, the multi-scalar multiplications of the A, B and C queries
//! split by scalar size ([`super::msm`]) and the `h` query's by batched affine buckets
//! ([`super::pippenger`]).

use ark_bn254::{Bn254, Fr};
use ark_ec::CurveGroup;
use ark_ff::PrimeField;
use ark_groth16::r1cs_to_qap::R1CSToQAP;
use ark_groth16::{Proof, ProvingKey};
use ark_poly::EvaluationDomain;
use ark_relations::r1cs::{
    ConstraintMatrices, ConstraintSystemRef, Result as R1CSResult, SynthesisError,
};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::domain::{domain, to_coset};
use super::msm::Split;

/// Rows per parallel task when evaluating the constraint matrices.
const ROWS_PER_TASK: usize = 1024;

/// `Σ coeff·z[index]` of every row of `matrix`, into `out[..rows]`.
fn evaluate<F: PrimeField>(matrix: &[Vec<(F, usize)>], z: &[F], out: &mut [F]) {
    out.par_chunks_mut(ROWS_PER_TASK)
        .zip(matrix.par_chunks(ROWS_PER_TASK))
        .for_each(|(out, rows)| {
            for (o, row) in out.iter_mut().zip(rows) {
                let mut acc = F::zero();
                for &(coeff, index) in row {
                    if coeff.is_one() {
                        acc += z[index];
                    } else {
                        acc += coeff * z[index];
                    }
                }
                *o = acc;
            }
        });
}

/// The R1CS-to-QAP reduction of libsnark (and of arkworks' `LibsnarkReduction`: the public
/// variables in the rows of A after the constraints) over the smallest domain of size
/// `3^j·2^k` ([`domain`]), with the `h` query in the Lagrange basis of the coset `g·H` (`g` the
/// field's multiplicative generator) instead of the monomial basis. The prover then needs `h`
/// only at the coset points, where it computes it, and saves the inverse FFT back to
/// coefficients: six FFTs per proof instead of seven.
pub(crate) struct CosetReduction;

impl R1CSToQAP for CosetReduction {
    /// libsnark's instance map over [`domain`]: the QAP polynomials of every variable at `t`,
    /// the public variables also in the rows after the constraints.
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> R1CSResult<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize)> {
        let matrices = cs.to_matrices().ok_or(SynthesisError::AssignmentMissing)?;
        let num_inputs = cs.num_instance_variables();
        let num_constraints = cs.num_constraints();
        let domain =
            domain(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let zt = domain.evaluate_vanishing_polynomial(*t);
        if zt.is_zero() {
            return Err(SynthesisError::UnexpectedIdentity);
        }
        let u = domain.evaluate_all_lagrange_coefficients(*t);
        let qap_num_variables = (num_inputs - 1) + cs.num_witness_variables();
        let mut a = vec![F::zero(); qap_num_variables + 1];
        let mut b = vec![F::zero(); qap_num_variables + 1];
        let mut c = vec![F::zero(); qap_num_variables + 1];
        a[..num_inputs].copy_from_slice(&u[num_constraints..num_constraints + num_inputs]);
        for (i, u_i) in u.iter().enumerate().take(num_constraints) {
            for &(coeff, index) in &matrices.a[i] {
                a[index] += *u_i * coeff;
            }
            for &(coeff, index) in &matrices.b[i] {
                b[index] += *u_i * coeff;
            }
            for &(coeff, index) in &matrices.c[i] {
                c[index] += *u_i * coeff;
            }
        }
        Ok((a, b, c, zt, qap_num_variables, domain.size()))
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &ConstraintMatrices<F>,
        _num_inputs: usize,
        _num_constraints: usize,
        full_assignment: &[F],
    ) -> R1CSResult<Vec<F>> {
        quotient_on_coset(matrices, full_assignment).ok_or(SynthesisError::PolynomialDegreeTooLarge)
    }

    /// `Z(t)/δ · L_i(t)` for the Lagrange polynomials `L_i` of the coset of the domain of size
    /// `max_power + 1`.
    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        zt: F,
        delta_inverse: F,
    ) -> R1CSResult<Vec<F>> {
        let domain = domain(max_power + 1)
            .filter(|d| d.size() == max_power + 1)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let coset = domain
            .get_coset(F::GENERATOR)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let scale = zt * delta_inverse;
        let mut scalars = coset.evaluate_all_lagrange_coefficients(t);
        scalars.par_iter_mut().for_each(|l| *l *= scale);
        Ok(scalars)
    }
}

/// `h = (A·B − C)/Z` at the points of the coset `g·H` of the domain `H` of
/// `num_constraints + num_public` rows, for assignment `z`.
fn quotient_on_coset<F: PrimeField>(matrices: &ConstraintMatrices<F>, z: &[F]) -> Option<Vec<F>> {
    let num_constraints = matrices.num_constraints;
    let num_inputs = matrices.num_instance_variables;
    let domain = domain::<F>(num_constraints + num_inputs)?;
    let size = domain.size();
    let to_coset = |v: &mut Vec<F>| to_coset(&domain, F::GENERATOR, v);
    let ((a, b), c) = rayon::join(
        || {
            rayon::join(
                || {
                    let mut a = vec![F::zero(); size];
                    evaluate(&matrices.a, z, &mut a[..num_constraints]);
                    a[num_constraints..num_constraints + num_inputs]
                        .copy_from_slice(&z[..num_inputs]);
                    to_coset(&mut a);
                    a
                },
                || {
                    let mut b = vec![F::zero(); size];
                    evaluate(&matrices.b, z, &mut b[..num_constraints]);
                    to_coset(&mut b);
                    b
                },
            )
        },
        || {
            let mut c = vec![F::zero(); size];
            evaluate(&matrices.c, z, &mut c[..num_constraints]);
            to_coset(&mut c);
            c
        },
    );
    // Z(x) = x^n − 1 is the constant g^n − 1 on the coset.
    let vanishing_inverse = domain
        .evaluate_vanishing_polynomial(F::GENERATOR)
        .inverse()?;
    let mut h = a;
    h.par_iter_mut()
        .zip(b.par_iter().zip(c.par_iter()))
        .for_each(|(h, (b, c))| *h = (*h * b - c) * vanishing_inverse);
    Some(h)
}

/// Wall-clock time of each phase of one proof.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProveTimings {
    /// Running the program and computing every variable's value.
    pub witness: Duration,
    /// Evaluating the constraint matrices and the six FFTs of the quotient `h`.
    pub quotient: Duration,
    /// The multi-scalar multiplication of the `h` query (one point per domain row).
    pub h_msm: Duration,
    /// The multi-scalar multiplications of the A, B (G1 and G2) and L queries (one point per
    /// variable), with the classification of the scalars by size.
    pub abc_msm: Duration,
}

/// A proof for the full assignment `z` (the constant one, the public values, the witness) with
/// randomness `r`, `s`. `None` only if the matrices do not fit a domain of BN254.
pub(crate) fn prove(
    pk: &ProvingKey<Bn254>,
    matrices: &ConstraintMatrices<Fr>,
    z: &[Fr],
    r: Fr,
    s: Fr,
    timings: &mut ProveTimings,
) -> Option<Proof<Bn254>> {
    let num_inputs = matrices.num_instance_variables;
    let start = Instant::now();
    let h = quotient_on_coset(matrices, z)?;
    timings.quotient = start.elapsed();

    let start = Instant::now();
    let h: Vec<_> = h.par_iter().map(|x| x.into_bigint()).collect();
    let h_acc = super::pippenger::msm(&pk.h_query, &h);
    drop(h);
    timings.h_msm = start.elapsed();

    let start = Instant::now();
    let (vars, aux) = rayon::join(|| Split::new(&z[1..]), || Split::new(&z[num_inputs..]));
    let (l_acc, (g_a, (g1_b, g2_b))) = rayon::join(
        || aux.msm(&pk.l_query),
        || {
            rayon::join(
                || pk.delta_g1 * r + pk.a_query[0] + vars.msm(&pk.a_query[1..]) + pk.vk.alpha_g1,
                || {
                    rayon::join(
                        || {
                            pk.delta_g1 * s
                                + pk.b_g1_query[0]
                                + vars.msm(&pk.b_g1_query[1..])
                                + pk.beta_g1
                        },
                        || {
                            pk.vk.delta_g2 * s
                                + pk.b_g2_query[0]
                                + vars.msm(&pk.b_g2_query[1..])
                                + pk.vk.beta_g2
                        },
                    )
                },
            )
        },
    );
    let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + l_acc + h_acc;
    let proof = Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    };
    timings.abc_msm = start.elapsed();
    Some(proof)
}
