//! Coverage-guided fuzzing of the integer-program decoder: decoding arbitrary bytes never
//! panics, whatever decodes re-encodes to the same bytes, and running a decoded program on an
//! input of its size never panics (validation bounds every layer and accumulator).
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_quant::Program;

fuzz_target!(|data: &[u8]| {
    if let Ok(program) = Program::decode(data) {
        assert_eq!(program.encode(), data);
        if program.input_len() <= 1 << 16 {
            let input: Vec<i32> = (0..program.input_len()).map(|i| i as i32 - 64).collect();
            let _ = program.run(&input);
        }
    }
});
