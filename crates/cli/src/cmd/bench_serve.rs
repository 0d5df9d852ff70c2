//! `verity bench serve`: paid calls per second and latency through gateway → provider node on
//! loopback, next to the same load against a minimal axum server that does no work.
//!
//! Both sides run the same client code: per call, `GET /v1/quote`, sign one ticket per
//! candidate, `POST /v1/call` with the input, decode the answer. The baseline server answers the
//! two requests with a stored copy of a real quote and a real call answer, so request and answer
//! sizes match; what remains in the ratio is everything the real services do (registry lookup,
//! ticket and input checks, inference, receipt signing, the durable receipt queue, the extra hop
//! from gateway to node).

use super::{Ctx, call, traffic};
use crate::keyring;
use anyhow::{Context, Result};
use axum::{Json, Router, routing::get, routing::post};
use clap::Args;
use std::{
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use verity_api::{CallInput, CallResponse, Quote};
use verity_client::GatewayClient;
use verity_ledger::{Keypair, Mode, ModelId, Namespaces};

/// Options of `verity bench serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Calls per side.
    #[arg(long, default_value_t = 2_000)]
    pub calls: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Model to call (id or name).
    #[arg(long, default_value = "digits-cnn")]
    pub model: String,
    /// Gateway of a running devnet.
    #[arg(long, env = "VERITY_GATEWAY", default_value = call::DEFAULT_GATEWAY)]
    pub gateway: String,
}

/// Throughput and latency of one side.
struct Side {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Run the benchmark against the devnet at `ctx.url` / `args.gateway`.
pub fn run(ctx: &Ctx, args: ServeArgs) -> Result<()> {
    let key = keyring::load(&ctx.home, "demo")?;
    let model = call::resolve_model(ctx, &args.model)?;
    let namespaces = Namespaces::new(&ctx.client().status()?.chain_id);
    let input = CallInput::tensor(first_test_image()?);
    let gateway = GatewayClient::new(&args.gateway);

    // One real call gives the stored answers of the baseline server.
    let quote = gateway.quote(&model, Mode::Signed, None)?;
    let answer = call::call(
        &gateway,
        &key,
        &namespaces,
        model,
        Mode::Signed,
        None,
        input.clone(),
        rand::random(),
    )
    .context("a first real call failed; is `verity devnet` running?")?;
    let baseline_url = start_baseline(quote, answer)?;

    let real = drive(&args, &gateway, &key, &namespaces, model, &input)?;
    let baseline = drive(
        &args,
        &GatewayClient::new(&baseline_url),
        &key,
        &namespaces,
        model,
        &input,
    )?;
    println!("| side | calls/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, s) in [
        ("gateway → node, receipts signed and queued", &real),
        ("no-op axum handlers (ceiling)", &baseline),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} |",
            s.per_sec, s.p50_ms, s.p99_ms
        );
    }
    println!(
        "ratio: {:.1} % of the no-op ceiling's calls/s ({} calls per side, {} in flight)",
        100.0 * real.per_sec / baseline.per_sec,
        args.calls,
        args.concurrency
    );
    Ok(())
}

fn first_test_image() -> Result<Vec<f32>> {
    #[derive(serde::Deserialize)]
    struct Split {
        pixels: Vec<Vec<u8>>,
        scale: f32,
    }
    let split: Split = serde_json::from_str(traffic::TEST_SPLIT)?;
    Ok(split.pixels[0]
        .iter()
        .map(|&p| f32::from(p) / split.scale)
        .collect())
}

/// Serve the stored quote and answer on a free port; its URL.
fn start_baseline(quote: Quote, answer: CallResponse) -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route(
            "/v1/quote",
            get(move || std::future::ready(Json(quote.clone()))),
        )
        .route(
            "/v1/call",
            post(move |_: Json<serde_json::Value>| std::future::ready(Json(answer.clone()))),
        );
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            axum::serve(listener, app).await
        })
    });
    Ok(url)
}

fn drive(
    args: &ServeArgs,
    gateway: &GatewayClient,
    key: &Keypair,
    namespaces: &Namespaces,
    model: ModelId,
    input: &CallInput,
) -> Result<Side> {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(args.calls));
    let errors = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.concurrency.max(1) {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < args.calls {
                    let t = Instant::now();
                    let r = call::call(
                        gateway,
                        key,
                        namespaces,
                        model,
                        Mode::Signed,
                        None,
                        input.clone(),
                        rand::random(),
                    );
                    match r {
                        Ok(_) => latencies.lock().expect("not poisoned").push(t.elapsed()),
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let errors = errors.into_inner();
    anyhow::ensure!(
        errors == 0,
        "{errors} calls failed against {}",
        gateway.url()
    );
    let mut latencies: Vec<Duration> = latencies.into_inner().expect("not poisoned");
    latencies.sort();
    let at =
        |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    Ok(Side {
        per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    })
}
