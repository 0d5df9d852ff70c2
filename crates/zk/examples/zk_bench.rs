//! Proving benchmark: for each ONNX model given, compiles it with verity-quant's default
//! options, sets up Groth16 keys, proves one input, verifies the proof, and prints one JSON line:
//!
//! ```text
//! {"model": "<file stem>", "constraints": N, "setup_s": f, "prove_s": f, "verify_ms": f,
//!  "proof_bytes": N, "peak_rss_mb": f, "threads": N}
//! ```
//!
//! ```sh
//! cargo run --release -p verity-zk --example zk_bench -- models/digits/mlp.onnx models/digits/cnn.onnx
//! ```
//!
//! The input is the first image of a `test-split.json` beside the model (pixels / scale, as
//! the digits and LeNet28 splits store them) when there is one of the right size, otherwise a
//! fixed pattern of the right length. `prove_s` is the median of `--prove-runs` proofs (default
//! 3) and `verify_ms` the median of `--verify-runs` verifications (default 20) of the same
//! statement; `peak_rss_mb` is the process's peak resident memory (VmHWM) while proving, with
//! the proving key loaded: the peak is reset (`/proc/self/clear_refs`) after setup. `threads`
//! is the size of the rayon pool that proving uses (one per core unless `RAYON_NUM_THREADS`
//! says otherwise). Progress goes to stderr, with each proof's phases and CPU time and, when
//! the split has labels, the integer program's accuracy on it.
//!
//! `--weight-frac-bits`, `--act-frac-bits` and `--act-bits` change the compile options (default
//! 8, 8, 16, what verifiable calls serve), to see what a coarser program would cost.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::rngs::OsRng;
use verity_quant::{CompileOptions, Program, compile};
use verity_zk::groth16;

fn main() {
    let mut models = Vec::new();
    let mut prove_runs = 3usize;
    let mut verify_runs = 20usize;
    let mut options = CompileOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--prove-runs" => prove_runs = parse(args.next(), "--prove-runs"),
            "--verify-runs" => verify_runs = parse(args.next(), "--verify-runs"),
            "--weight-frac-bits" => {
                options.weight_frac_bits = parse(args.next(), "--weight-frac-bits") as u32
            }
            "--act-frac-bits" => {
                options.act_frac_bits = parse(args.next(), "--act-frac-bits") as u32
            }
            "--act-bits" => options.act_bits = parse(args.next(), "--act-bits") as u32,
            "-h" | "--help" => {
                eprintln!(
                    "usage: zk_bench [--prove-runs N] [--verify-runs N] [--weight-frac-bits N] \
                     [--act-frac-bits N] [--act-bits N] MODEL.onnx [MODEL.onnx ...]"
                );
                return;
            }
            _ => models.push(PathBuf::from(arg)),
        }
    }
    if models.is_empty() {
        eprintln!("zk_bench: give at least one ONNX model (see --help)");
        std::process::exit(2);
    }
    let threads = rayon::current_num_threads();
    eprintln!("zk_bench: {threads} rayon threads");
    for path in &models {
        bench(
            path,
            &options,
            prove_runs.max(1),
            verify_runs.max(1),
            threads,
        );
    }
}

fn parse(value: Option<String>, flag: &str) -> usize {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail(&format!("{flag} takes a positive integer")))
}

fn fail(message: &str) -> ! {
    eprintln!("zk_bench: {message}");
    std::process::exit(1);
}

fn bench(
    path: &Path,
    options: &CompileOptions,
    prove_runs: usize,
    verify_runs: usize,
    threads: usize,
) {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| fail(&format!("reading {}: {e}", path.display())));
    let program = compile(&bytes, options)
        .unwrap_or_else(|e| fail(&format!("compiling {}: {e}", path.display())));
    let input = input_for(path, &program);
    if let Some((correct, total)) = accuracy(path, &program) {
        eprintln!(
            "{name}: integer accuracy {:.2} % ({correct}/{total}) with {options:?}",
            100.0 * correct as f64 / total as f64
        );
    }
    let stats = program.stats();
    eprintln!(
        "{name}: {} layers, {} activations, {} multiply-adds",
        stats.layers, stats.activations, stats.macs
    );

    let start = Instant::now();
    let (pk, vk) = groth16::setup(&program, seed(&bytes))
        .unwrap_or_else(|e| fail(&format!("setup of {name}: {e}")));
    let setup_s = start.elapsed().as_secs_f64();
    let constraints = pk.circuit().num_constraints();
    eprintln!("{name}: {constraints} constraints, setup {setup_s:.2} s");
    for cost in pk.circuit().layer_costs() {
        eprintln!(
            "{name}:   layer {}: {} activations, {} constraints (gadgets: {} exact, {} upper, \
             {} lower, {} both)",
            cost.layer,
            cost.activations,
            cost.constraints,
            cost.exact,
            cost.upper,
            cost.lower,
            cost.both
        );
    }

    let peak_reset = reset_peak_rss();
    let mut prove_times = Vec::with_capacity(prove_runs);
    let mut result = None;
    for run in 0..prove_runs {
        let mut timings = groth16::ProveTimings::default();
        let cpu = cpu_seconds();
        let start = Instant::now();
        let proved = groth16::prove_timed(&pk, &program, &input, &mut OsRng, &mut timings)
            .unwrap_or_else(|e| fail(&format!("proving {name}: {e}")));
        let wall = start.elapsed().as_secs_f64();
        prove_times.push(wall);
        eprintln!(
            "{name}: proof {run}: {wall:.3} s wall, {:.2} s CPU (witness {:.3}, quotient/FFT {:.3}, \
             h MSM {:.3}, A/B/C MSM {:.3})",
            cpu_seconds() - cpu,
            timings.witness.as_secs_f64(),
            timings.quotient.as_secs_f64(),
            timings.h_msm.as_secs_f64(),
            timings.abc_msm.as_secs_f64(),
        );
        result = Some(proved);
    }
    let peak_rss_mb = peak_rss_mb();
    let (output, proof) = result.expect("at least one proof");
    let expected = program.run(&input).expect("input of the program's length");
    if output != expected {
        fail(&format!("{name}: proved output differs from Program::run"));
    }
    let prove_s = median(&mut prove_times);
    eprintln!(
        "{name}: prove {prove_s:.3} s (runs {prove_times:.3?}), peak RSS {peak_rss_mb:.0} MB{}",
        if peak_reset {
            ""
        } else {
            " (since start: could not reset the peak)"
        }
    );

    let proof_bytes = proof.to_bytes();
    let mut verify_times = Vec::with_capacity(verify_runs);
    for _ in 0..verify_runs {
        let start = Instant::now();
        groth16::verify(&vk, &input, &output, &proof_bytes)
            .unwrap_or_else(|e| fail(&format!("verifying {name}: {e}")));
        verify_times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let verify_ms = median(&mut verify_times);
    eprintln!("{name}: verify {verify_ms:.2} ms");
    println!(
        "{{\"model\": \"{name}\", \"constraints\": {constraints}, \"setup_s\": {setup_s:.3}, \
         \"prove_s\": {prove_s:.4}, \"verify_ms\": {verify_ms:.3}, \"proof_bytes\": {}, \
         \"peak_rss_mb\": {peak_rss_mb:.1}, \"threads\": {threads}}}",
        proof_bytes.len()
    );
}

/// The first image of `test-split.json` beside the model, or a fixed pattern.
fn input_for(path: &Path, program: &Program) -> Vec<i32> {
    let split = path.with_file_name("test-split.json");
    if let Some(x) = first_image(&split).filter(|x| x.len() == program.input_len()) {
        eprintln!("input: first image of {}", split.display());
        return program.quantize_input(&x).expect("finite values");
    }
    eprintln!("input: fixed pattern of {} values", program.input_len());
    let x: Vec<f32> = (0..program.input_len())
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    program.quantize_input(&x).expect("finite values")
}

/// Correct arg-maxes of the program over a labelled `test-split.json` beside the model.
fn accuracy(path: &Path, program: &Program) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(path.with_file_name("test-split.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let scale = json["scale"].as_f64()?;
    let labels = json["labels"].as_array()?;
    let mut correct = 0;
    for (row, label) in json["pixels"].as_array()?.iter().zip(labels) {
        let x: Vec<f32> = row
            .as_array()?
            .iter()
            .map(|v| v.as_f64().map(|p| (p / scale) as f32))
            .collect::<Option<_>>()?;
        let logits = program.run_f32(&x).ok()?;
        let best = (0..logits.len()).max_by_key(|&i| (logits[i], std::cmp::Reverse(i)))?;
        correct += usize::from(Some(best as u64) == label.as_u64());
    }
    Some((correct, labels.len()))
}

fn first_image(split: &Path) -> Option<Vec<f32>> {
    let text = std::fs::read_to_string(split).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let scale = json["scale"].as_f64()?;
    json["pixels"][0]
        .as_array()?
        .iter()
        .map(|v| v.as_f64().map(|p| (p / scale) as f32))
        .collect()
}

/// The setup seed: SHA-256 of the model file, so runs are repeatable. A benchmark only; real
/// keys come from a secret seed or a ceremony.
fn seed(model: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(model).into()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Resets the kernel's peak-RSS counter of this process; false if it could not.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// User plus system CPU time of this process so far, from /proc/self/stat (clock ticks of
/// 1/100 s).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// VmHWM from /proc/self/status, in MB (10^6 bytes).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb * 1024.0 / 1e6)
}
