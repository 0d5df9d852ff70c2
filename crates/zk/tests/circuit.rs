//! The circuit on its own, in a constraint system over BN254's scalar field: every honest
//! assignment satisfies it, its output is `Program::run`'s, and its size is what the plan says.

mod common;

use ark_bn254::Fr;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use common::{all_ops_program, digits_program, test_inputs};
use verity_quant::Program;
use verity_zk::circuit::Circuit;

/// Synthesizes the circuit with the witness of `input` and checks it.
fn check(program: &Program, circuit: &Circuit, input: &[i32]) {
    let witness = circuit.witness::<Fr>(input).unwrap();
    assert_eq!(
        witness.output,
        program.run(input).unwrap(),
        "input {input:?}"
    );
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit
        .synthesizer(Some(&witness))
        .generate_constraints(cs.clone())
        .unwrap();
    assert_eq!(cs.num_constraints(), circuit.num_constraints());
    assert_eq!(cs.num_witness_variables(), circuit.num_witness_variables());
    assert_eq!(
        cs.num_instance_variables(),
        1 + circuit.public_layout().len()
    );
    if let Some(unsatisfied) = cs.which_is_unsatisfied().unwrap() {
        panic!("constraint {unsatisfied} fails for input {input:?}");
    }
}

#[test]
fn mlp_is_satisfied_by_honest_witnesses() {
    let program = digits_program("mlp");
    let circuit = Circuit::new(&program).unwrap();
    eprintln!(
        "mlp: {} constraints, {} witness variables",
        circuit.num_constraints(),
        circuit.num_witness_variables()
    );
    for input in test_inputs(&program, 3) {
        check(&program, &circuit, &input);
    }
    let (lo, hi) = program.act_range();
    check(&program, &circuit, &[i32::MAX; 64]);
    check(&program, &circuit, &[i32::MIN; 64]);
    check(
        &program,
        &circuit,
        &(0..64)
            .map(|i| if i % 2 == 0 { lo } else { hi })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn all_ops_program_is_satisfied_by_honest_witnesses() {
    let program = all_ops_program();
    let circuit = Circuit::new(&program).unwrap();
    let costs = circuit.layer_costs();
    eprintln!(
        "all ops: {} constraints, {costs:?}",
        circuit.num_constraints()
    );
    // Every gadget is exercised.
    for (kind, count) in [
        ("exact", costs.iter().map(|c| c.exact).sum::<usize>()),
        ("upper", costs.iter().map(|c| c.upper).sum()),
        ("lower", costs.iter().map(|c| c.lower).sum()),
        ("both", costs.iter().map(|c| c.both).sum()),
    ] {
        assert!(count > 0, "no {kind} gadget in {costs:?}");
    }
    let total: usize = costs.iter().map(|c| c.constraints).sum();
    assert_eq!(total, circuit.num_constraints());
    for seed in 0..50i64 {
        let input: Vec<i32> = (0..16)
            .map(|i| ((seed * 7919 + i * 104729) % 400 - 200) as i32)
            .collect();
        check(&program, &circuit, &input);
    }
    check(&program, &circuit, &[i32::MAX; 16]);
    check(&program, &circuit, &[i32::MIN; 16]);
}

#[test]
fn a_changed_public_output_or_witness_value_is_unsatisfied() {
    let program = digits_program("mlp");
    let circuit = Circuit::new(&program).unwrap();
    let input = test_inputs(&program, 1).remove(0);
    let honest = circuit.witness::<Fr>(&input).unwrap();
    let unsatisfied = |witness: &verity_zk::circuit::Witness<Fr>| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit
            .synthesizer(Some(witness))
            .generate_constraints(cs.clone())
            .unwrap();
        !cs.is_satisfied().unwrap()
    };
    // Output value 3 (public variable 64 + 3) one higher.
    let mut changed = honest.clone();
    changed.public[64 + 3] += Fr::from(1u64);
    assert!(unsatisfied(&changed));
    // An input value changed without recomputing the witness.
    let mut changed = honest.clone();
    changed.public[10] += Fr::from(1u64);
    assert!(unsatisfied(&changed));
    // A bit of the first requantization flipped (0 ↔ 1): the decomposition no longer adds up.
    let mut changed = honest.clone();
    changed.witness[0] = Fr::from(1u64) - changed.witness[0];
    assert!(unsatisfied(&changed));
    // The same value plus one: not a bit.
    let mut changed = honest.clone();
    changed.witness[0] += Fr::from(1u64);
    assert!(unsatisfied(&changed));
}

#[test]
fn outputs_that_are_the_input_or_an_inner_tensor_are_proved() {
    use common::{dense, layer, program};
    let weights: Vec<i32> = (0..12).map(|i| i * 3 - 17).collect();
    let layers = || {
        vec![
            layer(dense(0, 4, &weights, &[5, -5, 9]), 1, 2, true),
            layer(dense(1, 3, &weights[..6], &[0, 1]), 1, 1, false),
        ]
    };
    // Output 0: the clamped input itself. Output 1: the second layer is dead.
    for output in [0, 1, 2] {
        let program = program(&[4], 8, layers(), output);
        let circuit = Circuit::new(&program).unwrap();
        for input in [[1, -2, 300, -400], [i32::MIN, 0, i32::MAX, 127]] {
            check(&program, &circuit, &input);
        }
    }
    let inner = Circuit::new(&program(&[4], 8, layers(), 1)).unwrap();
    let whole = Circuit::new(&program(&[4], 8, layers(), 2)).unwrap();
    assert!(inner.num_constraints() < whole.num_constraints());
}

#[test]
fn a_field_too_small_for_the_range_checks_is_refused() {
    use ark_ff::{Fp64, MontBackend, MontConfig};
    #[derive(MontConfig)]
    #[modulus = "18446744069414584321"]
    #[generator = "7"]
    struct GoldilocksConfig;
    type Goldilocks = Fp64<MontBackend<GoldilocksConfig, 1>>;
    let program = digits_program("mlp");
    let circuit = Circuit::new(&program).unwrap();
    let err = circuit.witness::<Goldilocks>(&[0; 64]).unwrap_err();
    assert!(
        matches!(
            err,
            verity_zk::circuit::CircuitError::FieldTooSmall { field_bits: 64, .. }
        ),
        "{err}"
    );
}
