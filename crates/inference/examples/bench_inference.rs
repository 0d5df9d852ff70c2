//! Latency and throughput of the digits models on the float path (tract) and the integer path
//! (verity-quant), to set beside `scripts/onnxruntime_bench.py`.
//!
//! ```sh
//! cargo run --release -p verity-inference --example bench_inference [-- --iters 2000]
//! ```
//!
//! Like the Python script: the inputs are the committed test split (`pixels / 16`), taken in
//! order and wrapping around; batches are built before timing; 20 untimed warm-up runs come
//! first; each timed iteration is one run of one batch on the calling thread. Prints one JSON
//! line per (model, path, batch):
//!
//! ```text
//! {"runtime":"tract-float"|"verity-integer","model":..,"batch":..,"median_us":..,"p99_us":..,"per_sec":..}
//! ```
//!
//! `median_us` and `p99_us` are per-run latencies in microseconds (p99 by nearest rank);
//! `per_sec` is inferences (images) per second over the whole timed loop. Batch 1 goes through
//! `LoadedModel::run` (what a node serves); batch 32 on the integer path through
//! `Program::run_batch` on pre-quantized inputs.

use std::{hint::black_box, path::Path, time::Instant};

use serde::Deserialize;
use verity_api::ExecPath;
use verity_inference::LoadedModel;

/// Untimed runs before timing.
const WARMUP: usize = 20;
/// Images per batch of the batched integer run.
const BATCH: usize = 32;

#[derive(Deserialize)]
struct Split {
    pixels: Vec<Vec<u32>>,
    scale: u32,
}

fn main() {
    let iters = parse_iters();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let split: Split = serde_json::from_slice(
        &std::fs::read(root.join("models/digits/test-split.json")).expect("test split"),
    )
    .expect("test split JSON");
    let inputs: Vec<Vec<f32>> = split
        .pixels
        .iter()
        .map(|p| p.iter().map(|&v| v as f32 / split.scale as f32).collect())
        .collect();
    let n = inputs.len();

    for name in ["mlp", "cnn"] {
        let file = format!("models/digits/{name}.onnx");
        let model = LoadedModel::load(&std::fs::read(root.join(&file)).expect("model file"))
            .expect("model loads");

        let stats = measure(iters, 1, |i| {
            black_box(model.run(&inputs[i % n], ExecPath::Float).unwrap());
        });
        report("tract-float", &file, 1, stats);

        let Some(program) = model.program() else {
            eprintln!(
                "{file}: no integer program ({})",
                model.integer_unavailable().unwrap_or_default()
            );
            continue;
        };
        let stats = measure(iters, 1, |i| {
            black_box(model.run(&inputs[i % n], ExecPath::Integer).unwrap());
        });
        report("verity-integer", &file, 1, stats);

        let distinct = iters.min(n / gcd(n, BATCH)).max(1);
        let batches: Vec<Vec<i32>> = (0..distinct)
            .map(|b| {
                (0..BATCH)
                    .flat_map(|i| {
                        program
                            .quantize_input(&inputs[(b * BATCH + i) % n])
                            .unwrap()
                    })
                    .collect()
            })
            .collect();
        let stats = measure(iters, BATCH, |i| {
            black_box(program.run_batch(&batches[i % distinct], BATCH).unwrap());
        });
        report("verity-integer", &file, BATCH, stats);
    }
}

/// `--iters N` from the command line; 2000 by default.
fn parse_iters() -> usize {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 2000,
        [flag, n] if flag == "--iters" => n.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| {
            eprintln!("--iters takes a positive integer");
            std::process::exit(2)
        }),
        _ => {
            eprintln!("usage: bench_inference [--iters N]");
            std::process::exit(2)
        }
    }
}

/// Latencies of one batch run, in microseconds.
struct Stats {
    median_us: f64,
    p99_us: f64,
    per_sec: f64,
}

/// Run `run(i)` for `WARMUP` untimed and `iters` timed iterations of `batch` images each.
fn measure(iters: usize, batch: usize, mut run: impl FnMut(usize)) -> Stats {
    for i in 0..WARMUP {
        run(i);
    }
    let mut times = Vec::with_capacity(iters);
    let start = Instant::now();
    for i in 0..iters {
        let t0 = Instant::now();
        run(i);
        times.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let total = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median_us = if times.len() % 2 == 0 {
        (times[mid - 1] + times[mid]) / 2.0
    } else {
        times[mid]
    };
    let p99_us = times[(times.len() * 99).div_ceil(100).max(1) - 1];
    Stats {
        median_us,
        p99_us,
        per_sec: (batch * iters) as f64 / total,
    }
}

/// Print one JSON line in the shape of `scripts/onnxruntime_bench.py`.
fn report(runtime: &str, model: &str, batch: usize, s: Stats) {
    let round = |v: f64, places: i32| (v * 10f64.powi(places)).round() / 10f64.powi(places);
    println!(
        "{}",
        serde_json::json!({
            "runtime": runtime,
            "model": model,
            "batch": batch,
            "median_us": round(s.median_us, 2),
            "p99_us": round(s.p99_us, 2),
            "per_sec": round(s.per_sec, 1),
        })
    );
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
