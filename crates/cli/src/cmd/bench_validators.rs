//! `verity bench validators`: finalized blocks per second, settled calls per second and time
//! to finality with validator sets of different sizes, side by side in one run on loopback.
//!
//! For each set size `n` the benchmark writes a fresh network directory, starts `n`
//! `verity validator run` processes (real consensus over authenticated p2p, redb with fsync),
//! and sets up a model, `n` provider nodes and 64 funded callers through ordinary transactions.
//! It then signs the same number of paid calls for every set (client-side, not timed), spread
//! evenly over the nodes, and submits them as receipt batches: node `k` submits only to
//! validator `k`, so every leader proposes full blocks in its turn. The clock runs from the
//! first submission until the ledger has settled every call (the challenge window is set to
//! one second, and counted in).
//!
//! - **blocks/s**: heights finalized and executed on validator 1 during that time, per second;
//! - **settled calls/s**: calls divided by that time;
//! - **time to finality**: for each block, from the proposer's timestamp to the moment validator
//!   1's API first reports it executed (polled every 5 ms; all processes share one clock), for
//!   [`IDLE_BLOCKS`] empty blocks before the load (consensus alone) and for every block made
//!   under the load (consensus plus executing full blocks, on every validator of the machine).
//!
//! The baseline is the single validator: the ratio column divides by it.

use super::{
    bench::{self, sign},
    devnet::children::ChildValidator,
};
use anyhow::{Context, Result, ensure};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::{
    net::{SocketAddr, TcpListener},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use verity_client::Client;
use verity_ledger::{
    Amount, Genesis, GenesisAccount, Hash32, Keypair, Namespaces, PaidCall, Params, Payload,
    SignedTransaction,
};
use verity_node::{NodeSettings, home, network};

/// Options of `verity bench validators`.
#[derive(Args)]
pub struct ValidatorsArgs {
    /// Validator set sizes to compare, the first being the baseline.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 4, 7])]
    pub sets: Vec<usize>,
    /// Paid calls per set.
    #[arg(long, default_value_t = 24_576)]
    pub calls: usize,
    /// Calls per receipt transaction.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Shortest time between blocks, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub block_ms: u64,
    /// Also draw the comparison as an SVG chart at this path.
    #[arg(long)]
    pub chart: Option<std::path::PathBuf>,
}

/// Distinct callers paying for the calls.
const CALLERS: u64 = 64;
/// Balance of every funded account.
const FUNDS: Amount = 1_000_000_000_000;
/// Price of every call.
const PRICE: Amount = 1_000;
/// Challenge window of the benchmark chain.
const CHALLENGE_WINDOW_MS: u64 = 1_000;
/// Empty blocks timed before the load.
const IDLE_BLOCKS: u64 = 40;
/// How often validator 1 is asked for its height.
const POLL: Duration = Duration::from_millis(5);

/// What one set size measured.
struct Measured {
    validators: usize,
    blocks_per_sec: f64,
    calls_per_sec: f64,
    /// Times to finality of empty blocks before the load, sorted.
    idle_finality_ms: Vec<f64>,
    /// Times to finality of the blocks made under the load, sorted.
    finality_ms: Vec<f64>,
}

/// Run the comparison and print it as a Markdown table.
pub fn run(args: ValidatorsArgs) -> Result<()> {
    ensure!(!args.sets.is_empty(), "--sets needs at least one size");
    ensure!(
        args.sets.iter().all(|&n| (1..=50).contains(&n)),
        "validator set sizes must be between 1 and 50"
    );
    ensure!(
        args.batch > 0 && args.calls > 0,
        "--calls and --batch must be positive"
    );
    let mut results = Vec::new();
    for &n in &args.sets {
        results.push(measure(n, &args).with_context(|| format!("with {n} validators"))?);
    }
    for r in &mut results {
        r.finality_ms.sort_by(f64::total_cmp);
        r.idle_finality_ms.sort_by(f64::total_cmp);
    }
    let base = results[0].calls_per_sec;
    println!(
        "| validators | finalized blocks/s | settled calls/s | vs {} validator(s) | finality p50 / p99, idle | finality p50 / p99, under load |",
        results[0].validators
    );
    println!("|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {:.1} | {:.0} | {:.2}× | {:.0} / {:.0} ms | {:.0} / {:.0} ms |",
            r.validators,
            r.blocks_per_sec,
            r.calls_per_sec,
            r.calls_per_sec / base,
            percentile(&r.idle_finality_ms, 0.50),
            percentile(&r.idle_finality_ms, 0.99),
            percentile(&r.finality_ms, 0.50),
            percentile(&r.finality_ms, 0.99)
        );
    }
    if let Some(path) = &args.chart {
        let svg = chart_svg(&results).map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
        std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    Ok(())
}

/// Four bar panels side by side — settled calls/s, finalized blocks/s under load, and time to
/// finality p50 and p99 idle and under load — with one group of bars per validator set size,
/// each group labelled "validators: value".
fn chart_svg(results: &[Measured]) -> Result<String, Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    type Pick = fn(&Measured) -> Vec<f64>;
    let panels: [(&str, &str, Pick); 4] = [
        ("settled calls per second", "calls/s", |m| {
            vec![m.calls_per_sec]
        }),
        ("finalized blocks per second, loaded", "blocks/s", |m| {
            vec![m.blocks_per_sec]
        }),
        ("time to finality p50, p99: idle", "ms", |m| {
            vec![
                percentile(&m.idle_finality_ms, 0.50),
                percentile(&m.idle_finality_ms, 0.99),
            ]
        }),
        ("time to finality p50, p99: loaded", "ms", |m| {
            vec![
                percentile(&m.finality_ms, 0.50),
                percentile(&m.finality_ms, 0.99),
            ]
        }),
    ];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1600, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        for (area, (title, unit, pick)) in root.split_evenly((1, 4)).iter().zip(panels) {
            let values: Vec<Vec<f64>> = results.iter().map(pick).collect();
            let top = values
                .iter()
                .flatten()
                .copied()
                .fold(0.0, f64::max)
                .max(1.0)
                * 1.15;
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 18))
                .margin(14)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..results.len() as f64, 0f64..top)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .x_desc("validators in the set")
                .y_desc(unit)
                .draw()?;
            for (i, group) in values.iter().enumerate() {
                let width = 0.7 / group.len() as f64;
                for (j, value) in group.iter().enumerate() {
                    let left = i as f64 + 0.15 + j as f64 * width;
                    let color = Palette99::pick(j).filled();
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(left, 0.0), (left + width * 0.9, *value)],
                        color,
                    )))?;
                    let shown = if *value < 100.0 {
                        format!("{value:.1}")
                    } else {
                        format!("{value:.0}")
                    };
                    let label = match j {
                        0 => format!("{}: {shown}", results[i].validators),
                        _ => shown,
                    };
                    chart.draw_series(std::iter::once(Text::new(
                        label,
                        (left, *value + top * 0.02),
                        ("sans-serif", 13),
                    )))?;
                }
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// The `q`-quantile of sorted `values` (nearest rank), 0 when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A free loopback address.
fn free_addr() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The chain every set runs: defaults, with room for `batch` calls per transaction and a
/// one-second challenge window.
fn bench_params(batch: usize) -> Params {
    Params {
        challenge_window_ms: CHALLENGE_WINDOW_MS,
        max_calls_per_batch: batch as u32,
        max_tx_bytes: (batch * 512 + 4096) as u32,
        ..Params::default()
    }
}

fn measure(n: usize, args: &ValidatorsArgs) -> Result<Measured> {
    let dir = tempfile::tempdir()?;
    let params = bench_params(args.batch);
    let ns = Namespaces::new("bench-validators");
    let owner = Keypair::from_seed(1);
    let nodes: Vec<Keypair> = (0..n as u64).map(|i| Keypair::from_seed(10 + i)).collect();
    let callers: Vec<Keypair> = (0..CALLERS)
        .map(|i| Keypair::from_seed(1_000 + i))
        .collect();
    let members = (0..n)
        .map(|_| {
            Ok((
                home::generate_key(),
                NodeSettings {
                    api: free_addr()?,
                    p2p: free_addr()?,
                    block_interval_ms: args.block_ms,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let genesis = Genesis {
        chain_id: "bench-validators".into(),
        genesis_time_ms: super::now_ms(),
        params: params.clone(),
        accounts: std::iter::once(&owner)
            .chain(&nodes)
            .chain(&callers)
            .map(|k| GenesisAccount {
                address: k.address(),
                balance: FUNDS,
            })
            .collect(),
        validators: network::genesis_validators(&members, 0),
    };
    let written = network::write_network(dir.path(), &genesis, &members)?;
    let mut processes = Vec::with_capacity(n);
    for member in &written.validators {
        processes.push(ChildValidator::start(dir.path(), member, args.block_ms)?);
    }
    let clients: Vec<Client> = written
        .validators
        .iter()
        .map(|m| Client::new(&m.api))
        .collect();
    for (process, member) in processes.iter_mut().zip(&written.validators) {
        process.wait_ready(&member.api)?;
    }
    eprintln!("{n} validator(s): timing {IDLE_BLOCKS} empty blocks…");
    let idle = AtomicBool::new(false);
    let (_, idle_finality_ms) = watch_finality(&clients[0], &idle, IDLE_BLOCKS)?;
    eprintln!("{n} validator(s): setting up a model, {n} node(s) and {CALLERS} callers…");
    let model = setup(&clients[0], &params, &ns, &owner, &nodes, &callers)?;

    // Sign every call beforehand: node k gets calls k, k + n, …
    let now = super::now_ms();
    let mut batches: Vec<Vec<SignedTransaction>> = vec![Vec::new(); n];
    let mut last_calls = Vec::new();
    for (k, node) in nodes.iter().enumerate() {
        let paid: Vec<PaidCall> = (k..args.calls)
            .step_by(n)
            .map(|i| {
                let caller = &callers[i % callers.len()];
                bench::paid_call(
                    &ns,
                    caller,
                    node,
                    model,
                    i as u64,
                    PRICE,
                    (now, now + 110_000),
                )
            })
            .collect();
        if let Some(last) = paid.last() {
            last_calls.push(last.ticket.id());
        }
        let nonce = clients[0].account(&node.address())?.next_nonce;
        for (j, chunk) in paid.chunks(args.batch).enumerate() {
            batches[k].push(sign(
                &ns,
                &params,
                node,
                nonce + j as u64,
                Payload::SubmitReceipts {
                    calls: chunk.to_vec(),
                },
            ));
        }
    }

    let bar = ProgressBar::new(args.calls as u64).with_style(
        ProgressStyle::with_template("{msg:>16} [{bar:30}] {pos}/{len} calls submitted")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{n} validator(s)"));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let client = clients[0].clone();
        let done = done.clone();
        std::thread::spawn(move || watch_finality(&client, &done, u64::MAX))
    };
    let start = Instant::now();
    let submitters: Vec<_> = batches
        .into_iter()
        .zip(clients.iter().cloned())
        .map(|(txs, client)| {
            let bar = bar.clone();
            std::thread::spawn(move || submit_all(&client, &txs, &bar))
        })
        .collect();
    for s in submitters {
        s.join()
            .map_err(|_| anyhow::anyhow!("a submitter panicked"))??;
    }
    bar.set_message(format!("{n} settling"));
    for id in &last_calls {
        wait_settled(&clients[0], id)?;
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let (blocks, finality_ms) = watcher
        .join()
        .map_err(|_| anyhow::anyhow!("the finality watcher panicked"))??;
    bar.finish_and_clear();
    let settled = clients[0].node(&nodes[0].address())?.served;
    ensure!(
        settled as usize >= args.calls / n,
        "node 1 was paid for {settled} calls, fewer than the {} it served",
        args.calls / n
    );
    drop(processes);
    Ok(Measured {
        validators: n,
        blocks_per_sec: blocks as f64 / elapsed.as_secs_f64(),
        calls_per_sec: args.calls as f64 / elapsed.as_secs_f64(),
        idle_finality_ms,
        finality_ms,
    })
}

/// Register the model and the nodes and fund every caller's escrow; returns the model.
fn setup(
    client: &Client,
    params: &Params,
    ns: &Namespaces,
    owner: &Keypair,
    nodes: &[Keypair],
    callers: &[Keypair],
) -> Result<Hash32> {
    let model = Hash32([9; 32]);
    let register_model = sign(ns, params, owner, 0, bench::register_model(model));
    // Nodes can only register for a model already on the ledger.
    execute_all(client, &[register_model])?;
    let mut txs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let endpoint = format!("http://127.0.0.1:{}", 1 + i);
        let registration = bench::register_node(model, endpoint, PRICE, params.min_stake);
        txs.push(sign(ns, params, node, 0, registration));
    }
    for caller in callers {
        txs.push(sign(
            ns,
            params,
            caller,
            0,
            Payload::EscrowDeposit { amount: FUNDS / 2 },
        ));
    }
    execute_all(client, &txs)?;
    Ok(model)
}

/// Submit every transaction, then wait until each is applied.
fn execute_all(client: &Client, txs: &[SignedTransaction]) -> Result<()> {
    let hashes = txs
        .iter()
        .map(|tx| Ok(client.submit(tx)?.hash))
        .collect::<Result<Vec<_>>>()?;
    for hash in hashes {
        let outcome = client.wait_tx(&hash, Duration::from_secs(60))?;
        ensure!(
            outcome.status == verity_ledger::TxStatus::Applied,
            "setup transaction {hash} failed: {:?}",
            outcome.status
        );
    }
    Ok(())
}

/// Submit `txs` in order, retrying while the mempool is full; counts their calls on `bar`.
fn submit_all(client: &Client, txs: &[SignedTransaction], bar: &ProgressBar) -> Result<()> {
    for tx in txs {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match client.submit(tx) {
                Ok(_) => {
                    bar.inc(tx.tx.payload.call_count() as u64);
                    break;
                }
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(%e, "resubmitting");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Wait until call `id` (possibly not yet accepted) has settled, polling every
/// four times [`POLL`]. Calls settle in acceptance order, so the last call of a node settles last.
fn wait_settled(client: &Client, id: &Hash32) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        match client.call(id) {
            Ok(call)
                if matches!(
                    call.status,
                    verity_ledger::state::CallStatus::Settled { .. }
                ) =>
            {
                return Ok(());
            }
            Ok(_) => {}
            Err(e) if e.code() == Some("not_found") => {}
            Err(e) => return Err(e.into()),
        }
        ensure!(
            Instant::now() < deadline,
            "call {id} did not settle within 600 s"
        );
        std::thread::sleep(POLL * 4);
    }
}

/// Until `done` or `blocks` new blocks, poll `client` for new heights and time each new block
/// from its proposer's timestamp; returns the number of new blocks and their times to finality
/// in milliseconds.
fn watch_finality(client: &Client, done: &AtomicBool, blocks: u64) -> Result<(u64, Vec<f64>)> {
    let first = client.status()?.height;
    let mut seen = first;
    let mut samples = Vec::new();
    while !done.load(Ordering::Relaxed) && seen - first < blocks {
        let height = client.status()?.height;
        let now = super::now_ms();
        for h in seen + 1..=height {
            let block = client.block(h)?;
            samples.push(now.saturating_sub(block.timestamp_ms) as f64);
        }
        seen = seen.max(height);
        std::thread::sleep(POLL);
    }
    Ok((seen - first, samples))
}
