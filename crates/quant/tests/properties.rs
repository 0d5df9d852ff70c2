//! Property tests: decoders never panic on arbitrary bytes, the executor never panics on
//! arbitrary inputs, and batching never changes results.

mod common;

use std::sync::LazyLock;

use common::test_model;
use proptest::prelude::*;
use verity_quant::{CompileOptions, Program, compile};

static PROGRAMS: LazyLock<Vec<Program>> = LazyLock::new(|| {
    ["mlp_gemm.onnx", "cnn.onnx", "residual.onnx"]
        .iter()
        .map(|m| compile(&test_model(m), &CompileOptions::default()).unwrap())
        .collect()
});

/// A test program and `samples` inputs for it, with values in the clamp range and far beyond.
fn program_and_inputs(samples: usize) -> impl Strategy<Value = (&'static Program, Vec<i32>)> {
    (0..PROGRAMS.len()).prop_flat_map(move |which| {
        let program = &PROGRAMS[which];
        let values = prop_oneof![-40_000i32..40_000, any::<i32>()];
        (
            Just(program),
            prop::collection::vec(values, program.input_len() * samples),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Program::decode(&bytes);
        let _ = compile(&bytes, &CompileOptions::default());
    }

    #[test]
    fn decode_never_panics_on_mutated_encodings(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = PROGRAMS[which].encode();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(program) = Program::decode(&bytes) {
            // Whatever survives decoding is safe to run, on any input.
            for fill in [i32::MIN, 0, i32::MAX] {
                let x = vec![fill; program.input_len()];
                prop_assert_eq!(program.run(&x).unwrap().len(), program.output_len());
            }
        }
    }

    #[test]
    fn run_never_panics_and_stays_in_range((program, x) in program_and_inputs(1)) {
        let y = program.run(&x).unwrap();
        let (lo, hi) = program.act_range();
        prop_assert_eq!(y.len(), program.output_len());
        prop_assert!(y.iter().all(|v| (lo..=hi).contains(v)));
        // Clamping the input first changes nothing: run clamps it.
        let clamped: Vec<i32> = x.iter().map(|v| (*v).clamp(lo, hi)).collect();
        prop_assert_eq!(program.run(&clamped).unwrap(), y);
    }

    #[test]
    fn run_batch_equals_concatenated_runs(
        (batch, (program, xs)) in (0usize..6).prop_flat_map(|b| (Just(b), program_and_inputs(b)))
    ) {
        let expected: Vec<i32> = xs.chunks(program.input_len()).flat_map(|x| program.run(x).unwrap()).collect();
        prop_assert_eq!(program.run_batch(&xs, batch).unwrap(), expected);
    }
}
