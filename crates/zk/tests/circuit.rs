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
    eprintln!("all ops: {} constraints", circuit.num_constraints());
    for seed in 0..50i64 {
        let input: Vec<i32> = (0..16)
            .map(|i| ((seed * 7919 + i * 104729) % 400 - 200) as i32)
            .collect();
        check(&program, &circuit, &input);
    }
    check(&program, &circuit, &[i32::MAX; 16]);
    check(&program, &circuit, &[i32::MIN; 16]);
}
