//! `verity traffic` (and `verity devnet --traffic`): a load generator that pays for real calls
//! through a gateway, then checks the ledger settled every one of them exactly once.
//!
//! Inputs are the bundled digits test split; calls alternate between the bundled models, and each
//! model walks the split in order, so its accuracy is comparable with the documented one
//! (`models/README.md`, printed beside it). Each
//! worker thread makes one call at a time (quote, sign alternative tickets, call). At the end the
//! generator waits for every answered call to settle and checks, from the ledger alone:
//! - each answered call id is distinct and its record is settled, with a split that sums to its
//!   price;
//! - the caller's escrow fell by exactly the sum of the settled prices (nothing paid twice,
//!   nothing charged for a failed call).

use super::{Ctx, call, model};
use crate::keyring;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use verity_api::CallInput;
use verity_client::{Client, GatewayClient};
use verity_ledger::{
    Amount, CallId, Evidence, Keypair, Mode, ModelId, Namespaces, state::CallStatus,
};

/// The bundled test split.
pub const TEST_SPLIT: &str = include_str!("../../../../models/digits/test-split.json");

/// Documented accuracy of the bundled models on the test split (float = integer path).
const REFERENCE: &str = include_str!("../../../../models/digits/reference.json");

fn documented_accuracy(name: &str) -> Option<f64> {
    let reference: serde_json::Value = serde_json::from_str(REFERENCE).ok()?;
    reference["models"][name.strip_prefix("digits-")?]["accuracy"].as_f64()
}

/// Options of the load generator.
#[derive(Args, Clone)]
pub struct TrafficArgs {
    /// Number of calls.
    #[arg(default_value_t = 200)]
    pub calls: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Verification mode of every call.
    #[arg(long, default_value = "signed")]
    pub mode: Mode,
    /// Name of the paying key.
    #[arg(long, default_value = "demo")]
    pub from: String,
    /// Gateway to call through.
    #[arg(long, env = "VERITY_GATEWAY", default_value = call::DEFAULT_GATEWAY)]
    pub gateway: String,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Longest wait for settlement after the last call, in seconds.
    #[arg(long, default_value_t = 180)]
    pub settle_timeout_s: u64,
    /// A node is known to be faulty: refunded calls, and calls of a jailed node that the ledger
    /// no longer accepts, pass the check as long as the caller paid for exactly the settled ones.
    #[arg(long)]
    pub expect_faults: bool,
}

#[derive(Deserialize)]
struct TestSplit {
    labels: Vec<u8>,
    pixels: Vec<Vec<u8>>,
    scale: f32,
}

/// Accuracy of one model in a run.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ModelAccuracy {
    /// Registered name.
    pub name: String,
    /// Calls answered.
    pub answered: usize,
    /// Correct predictions.
    pub correct: usize,
}

/// What a traffic run did and what the ledger made of it.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Summary {
    /// Calls attempted.
    pub calls: usize,
    /// Calls answered by some node.
    pub answered: usize,
    /// Calls no node answered (the caller paid nothing for them).
    pub failed: usize,
    /// Answered calls for which the gateway retried another node first.
    pub retried: usize,
    /// Answered calls settled on the ledger.
    pub settled: usize,
    /// Answered calls refunded because an audit or proof found the node at fault.
    pub refunded: usize,
    /// Answered calls the ledger did not charge (refused or never submitted in time).
    pub not_charged: usize,
    /// Settled calls by the evidence they were paid on.
    pub evidence: std::collections::BTreeMap<String, usize>,
    /// Per model.
    pub models: Vec<ModelAccuracy>,
    /// Median latency of answered calls, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Answered calls per second.
    pub calls_per_sec: f64,
    /// Sum of settled prices.
    pub paid: Amount,
    /// How much the caller's escrow fell.
    pub escrow_spent: Amount,
    /// Every settled split sums to its price.
    pub splits_exact: bool,
    /// No call id was answered twice.
    pub ids_distinct: bool,
}

impl Summary {
    /// Whether the run met every check: all calls answered, each settled (or refunded, the
    /// node found at fault) exactly once. With `expect_faults`, calls a jailed node could not
    /// get accepted are allowed too.
    pub fn passed(&self, expect_faults: bool) -> bool {
        self.failed == 0
            && (self.settled + self.refunded == self.answered || expect_faults)
            && self.splits_exact
            && self.ids_distinct
            && self.escrow_spent == self.paid
    }
}

/// Run `verity traffic`.
pub fn run(ctx: &Ctx, args: TrafficArgs) -> Result<()> {
    let key = keyring::load(&ctx.home, &args.from)?;
    let models = bundled_models(ctx)?;
    let summary = generate(ctx, &args, &key, &models)?;
    report(&args, &summary)
}

/// Print the summary, write it if asked, and fail unless every check passed.
pub fn report(args: &TrafficArgs, summary: &Summary) -> Result<()> {
    print_summary(summary, args.expect_faults);
    if let Some(path) = &args.summary_json {
        std::fs::write(path, serde_json::to_vec_pretty(summary)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !summary.passed(args.expect_faults) {
        bail!("the traffic run failed a check (see the summary above)");
    }
    Ok(())
}

/// The bundled models registered on the ledger, by name, as (id, name).
pub fn bundled_models(ctx: &Ctx) -> Result<Vec<(ModelId, String)>> {
    model::BUNDLED
        .iter()
        .map(|(name, _)| Ok((call::resolve_model(ctx, name)?, name.to_string())))
        .collect()
}

/// How long the generator waits for the gateway to quote every model before the first call.
pub const QUOTE_WAIT: Duration = Duration::from_secs(120);

/// Wait until `gateway` quotes at least `min_nodes` candidates for every model in `mode`.
///
/// Nodes registered a moment ago reach the gateway one finalized block and one registry refresh
/// later; calling before that would fail with `no_nodes`. On timeout the error carries the
/// gateway's last answer.
pub fn await_quotes(
    gateway: &GatewayClient,
    models: &[ModelId],
    mode: Mode,
    min_nodes: usize,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "waiting for the gateway to quote {min_nodes}+ node(s) per model in mode {mode}"
    ));
    spinner.enable_steady_tick(Duration::from_millis(200));
    let result = loop {
        let missing = models
            .iter()
            .find_map(|model| match gateway.quote(model, mode, None) {
                Ok(q) if q.candidates.len() >= min_nodes => None,
                Ok(q) => Some(format!(
                    "model {model}: {} of {min_nodes} node(s) quoted",
                    q.candidates.len()
                )),
                Err(e) => Some(format!("model {model}: {e:#}")),
            });
        match missing {
            None => break Ok(()),
            Some(why) if Instant::now() >= deadline => {
                break Err(anyhow::anyhow!(
                    "the gateway at {} did not quote {min_nodes} node(s) for every model within                      {} s ({why}); check that nodes serving the models are running and bonded                      (`verity query nodes`)",
                    gateway.url(),
                    timeout.as_secs()
                ));
            }
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    spinner.finish_and_clear();
    result
}

struct Answer {
    model: usize,
    call: CallId,
    correct: bool,
    retried: bool,
    latency: Duration,
}

/// Make `args.calls` calls, then wait for their settlement and check it.
pub fn generate(
    ctx: &Ctx,
    args: &TrafficArgs,
    key: &Keypair,
    models: &[(ModelId, String)],
) -> Result<Summary> {
    let split: TestSplit = serde_json::from_str(TEST_SPLIT)?;
    let ledger = ctx.client();
    let namespaces = Namespaces::new(&ledger.status()?.chain_id);
    let gateway = GatewayClient::new(&args.gateway);
    let ids: Vec<ModelId> = models.iter().map(|(id, _)| *id).collect();
    await_quotes(&gateway, &ids, args.mode, 1, QUOTE_WAIT)?;
    let escrow_before = ledger.account(&key.address())?.account.escrow;

    let bar = ProgressBar::new(args.calls as u64).with_style(
        ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {pos}/{len} calls · {per_sec} · eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message("calling");
    let next = AtomicUsize::new(0);
    let answers = Mutex::new(Vec::with_capacity(args.calls));
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.concurrency.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= args.calls {
                        break;
                    }
                    // Each model walks the whole split in order.
                    let which = i % models.len();
                    let sample = (i / models.len()) % split.labels.len();
                    let values = split.pixels[sample]
                        .iter()
                        .map(|&p| f32::from(p) / split.scale)
                        .collect();
                    let t = Instant::now();
                    let result = call::call(
                        &gateway,
                        key,
                        &namespaces,
                        models[which].0,
                        args.mode,
                        None,
                        CallInput::tensor(values),
                        rand::random(),
                    );
                    match result {
                        Ok(r) => answers.lock().expect("not poisoned").push(Answer {
                            model: which,
                            call: r.result.call_id,
                            correct: r.result.label == Some(u32::from(split.labels[sample])),
                            retried: !r.failed_attempts.is_empty(),
                            latency: t.elapsed(),
                        }),
                        Err(e) => failures
                            .lock()
                            .expect("not poisoned")
                            .push(format!("{e:#}")),
                    }
                    bar.inc(1);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let answers = answers.into_inner().expect("not poisoned");
    let failures = failures.into_inner().expect("not poisoned");
    for f in failures.iter().take(5) {
        eprintln!("failed call: {f}");
    }

    let Settlement {
        settled,
        refunded,
        paid,
        splits_exact,
        evidence,
    } = await_settlement(
        &ledger,
        &answers,
        Duration::from_secs(args.settle_timeout_s),
    )?;
    let escrow_after = ledger.account(&key.address())?.account.escrow;
    let ids: HashSet<CallId> = answers.iter().map(|a| a.call).collect();
    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    latencies.sort();
    let percentile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Ok(Summary {
        calls: args.calls,
        answered: answers.len(),
        failed: failures.len(),
        retried: answers.iter().filter(|a| a.retried).count(),
        settled,
        refunded,
        not_charged: answers.len() - settled - refunded,
        evidence,
        models: models
            .iter()
            .enumerate()
            .map(|(i, (_, name))| ModelAccuracy {
                name: name.clone(),
                answered: answers.iter().filter(|a| a.model == i).count(),
                correct: answers.iter().filter(|a| a.model == i && a.correct).count(),
            })
            .collect(),
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        calls_per_sec: answers.len() as f64 / elapsed.as_secs_f64(),
        paid,
        escrow_spent: escrow_before.saturating_sub(escrow_after),
        splits_exact,
        ids_distinct: ids.len() == answers.len(),
    })
}

/// How the answered calls ended on the ledger.
struct Settlement {
    settled: usize,
    refunded: usize,
    paid: Amount,
    splits_exact: bool,
    evidence: std::collections::BTreeMap<String, usize>,
}

/// Wait until every answered call is settled or refunded (or the timeout).
fn await_settlement(ledger: &Client, answers: &[Answer], timeout: Duration) -> Result<Settlement> {
    let bar = ProgressBar::new(answers.len() as u64).with_style(
        ProgressStyle::with_template("{msg:>9} [{bar:30}] {pos}/{len} calls settled")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("settling");
    let deadline = Instant::now() + timeout;
    let mut waiting: Vec<CallId> = answers.iter().map(|a| a.call).collect();
    let mut out = Settlement {
        settled: 0,
        refunded: 0,
        paid: 0,
        splits_exact: true,
        evidence: Default::default(),
    };
    while !waiting.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for id in waiting {
            match ledger.call(&id) {
                Ok(call) => match call.status {
                    CallStatus::Settled { evidence, .. } => {
                        let split = call.split.context("a settled call has a split")?;
                        out.splits_exact &=
                            split.node + split.royalty + split.verifier + split.protocol
                                == call.price;
                        out.settled += 1;
                        out.paid += call.price;
                        let kind = match evidence {
                            Evidence::ChallengeWindow => "challenge window",
                            Evidence::Audit { .. } => "audit",
                            Evidence::Referee => "referee",
                            Evidence::Proof { .. } => "zk proof",
                        };
                        *out.evidence.entry(kind.to_string()).or_default() += 1;
                        bar.inc(1);
                    }
                    CallStatus::Refunded { .. } => {
                        out.refunded += 1;
                        bar.inc(1);
                    }
                    _ => still.push(id),
                },
                Err(_) => still.push(id),
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    bar.finish_and_clear();
    Ok(out)
}

fn print_summary(s: &Summary, expect_faults: bool) {
    println!("Traffic summary");
    println!(
        "  calls      {} sent · {} answered · {} failed · {} answered after a retry",
        s.calls, s.answered, s.failed, s.retried
    );
    for m in &s.models {
        let pct = if m.answered == 0 {
            0.0
        } else {
            100.0 * m.correct as f64 / m.answered as f64
        };
        let documented = documented_accuracy(&m.name).map_or(String::new(), |a| {
            format!(", documented {:.2} %", 100.0 * a)
        });
        println!(
            "  {:<10} {}/{} correct ({pct:.2} %{documented})",
            m.name, m.correct, m.answered
        );
    }
    println!(
        "  latency    p50 {:.1} ms · p99 {:.1} ms · {:.0} calls/s",
        s.p50_ms, s.p99_ms, s.calls_per_sec
    );
    println!(
        "  ledger     {} settled · {} refunded (node at fault) · {} not charged · paid {} · escrow spent {} · splits exact: {} · ids distinct: {}",
        s.settled,
        s.refunded,
        s.not_charged,
        s.paid,
        s.escrow_spent,
        s.splits_exact,
        s.ids_distinct
    );
    let evidence: Vec<String> = s.evidence.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("  evidence   {}", evidence.join(" · "));
    println!(
        "  result     {}",
        if s.passed(expect_faults) {
            "every answered call settled (or was refunded) exactly once"
        } else {
            "CHECK FAILED"
        }
    );
}
