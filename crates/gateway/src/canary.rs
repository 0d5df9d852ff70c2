//! Known-answer canary calls: a node must answer one correctly, for each model it serves,
//! before the router sends it callers' traffic.
//!
//! # Protocol
//! Every `interval` the gateway looks for `(node, model)` pairs served by a bonded node that
//! have no canary result, or whose last result is older than `recheck`, and makes one canary
//! call to each (in address order, one at a time, so canaries never load a node):
//! 1. The input is a tensor of the model's registered shape with values drawn uniformly from
//!    `[0, 1)`, fresh for every canary, so a node cannot learn the canary inputs.
//! 2. When the model has an integer program on the ledger, the expected answer is the
//!    program's output on that input (the same re-execution the ledger does as referee), and
//!    the node's receipt must commit to exactly that output hash. A model without a program
//!    is served on the float path, which has no exact answer; its canary checks that the node
//!    answers with a receipt the ledger would pay.
//! 3. The call is an ordinary paid call signed by the canary key (mode: the first of signed,
//!    audited, tee, zk that both model and node allow), so the node is paid for it as for any
//!    other and cannot tell it from a caller's call by its form.
//!
//! # Outcomes
//! A correct answer is a pass. A wrong output or an unpayable receipt is a failure: the node
//! is ineligible for the model until a later canary (after `recheck`) passes. An unreachable
//! node, a 4xx refusal (for example the canary account's escrow ran low, which is logged as a
//! warning) or a failure to read the program leaves the result as it was, and the pair is
//! tried again next round.

use crate::{
    forward::{self, Forwarder, Outcome},
    registry::{Registry, View},
};
use rand::Rng;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::watch;
use verity_api::{CallInput, InferRequest};
use verity_client::Client;
use verity_ledger::{Address, Hash32, Keypair, Mode, ModelId, Ticket, crypto, state::Model};
use verity_quant::Program;

/// Longest lifetime of a canary ticket.
const TICKET_LIFETIME_MS: u64 = 60_000;

/// Settings of the canary caller.
#[derive(Clone, Debug)]
pub struct CanaryConfig {
    /// The funded account that signs canary tickets; it needs escrow for the nodes' prices.
    pub key: Keypair,
    /// Time between rounds.
    pub interval: Duration,
    /// Age after which a pair's result is checked again.
    pub recheck: Duration,
}

impl CanaryConfig {
    /// Canaries paid by `key`: a round every 2 s, each pair checked again after 10 minutes.
    pub fn new(key: Keypair) -> Self {
        Self {
            key,
            interval: Duration::from_secs(2),
            recheck: Duration::from_secs(600),
        }
    }
}

impl PartialEq for CanaryConfig {
    fn eq(&self, other: &Self) -> bool {
        self.key.address() == other.key.address()
            && self.interval == other.interval
            && self.recheck == other.recheck
    }
}

/// A `(node, model)` pair's canary record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CanaryRecord {
    /// Canaries passed.
    pub passed: u32,
    /// Canaries failed since the last pass (a pass resets it).
    pub failed_since_pass: u32,
}

#[derive(Clone, Copy)]
struct Entry {
    record: CanaryRecord,
    checked: Instant,
}

/// Every pair's canary record. Cheap to clone; clones share the records.
#[derive(Clone, Default)]
pub struct Canaries {
    entries: Arc<Mutex<HashMap<(Address, ModelId), Entry>>>,
}

impl Canaries {
    /// `node`'s record for `model` (zero if never checked).
    pub fn of(&self, node: &Address, model: &ModelId) -> CanaryRecord {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(*node, *model))
            .map(|e| e.record)
            .unwrap_or_default()
    }

    fn due(&self, node: Address, model: ModelId, recheck: Duration) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(node, model))
            .is_none_or(|e| e.checked.elapsed() >= recheck)
    }

    fn record(&self, node: Address, model: ModelId, passed: bool) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry((node, model)).or_insert(Entry {
            record: CanaryRecord::default(),
            checked: Instant::now(),
        });
        entry.checked = Instant::now();
        if passed {
            entry.record.passed += 1;
            entry.record.failed_since_pass = 0;
        } else {
            entry.record.failed_since_pass += 1;
        }
    }
}

/// The canary caller's loop state.
pub struct Canary {
    config: CanaryConfig,
    registry: Registry,
    ledger: Client,
    forwarder: Forwarder,
    canaries: Canaries,
    programs: HashMap<ModelId, Arc<(Program, Vec<u32>)>>,
    nonce: u64,
}

/// What one canary call showed.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail(String),
    Inconclusive(String),
}

impl Canary {
    /// A canary caller recording into `canaries`.
    pub fn new(
        config: CanaryConfig,
        registry: Registry,
        ledger: Client,
        forwarder: Forwarder,
        canaries: Canaries,
    ) -> Self {
        Self {
            config,
            registry,
            ledger,
            forwarder,
            canaries,
            programs: HashMap::new(),
            nonce: rand::thread_rng().r#gen(),
        }
    }

    /// Run rounds every `interval` until `stop` changes or its sender is dropped.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let interval = self.config.interval;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.round().await,
                _ = stop.changed() => return,
            }
        }
    }

    async fn round(&mut self) {
        let Some(view) = self.registry.view() else {
            return;
        };
        let due: Vec<(Address, ModelId)> = view
            .nodes
            .values()
            .filter(|known| view.is_bonded(&known.node))
            .flat_map(|known| {
                known
                    .node
                    .models
                    .iter()
                    .map(move |model| (known.node.operator, *model))
            })
            .filter(|&(node, model)| self.canaries.due(node, model, self.config.recheck))
            .collect();
        for (node, model) in due {
            match self.check(&view, node, model).await {
                Verdict::Pass => {
                    tracing::info!(%node, %model, "canary passed");
                    self.canaries.record(node, model, true);
                }
                Verdict::Fail(why) => {
                    tracing::warn!(%node, %model, "canary failed: {why}");
                    self.canaries.record(node, model, false);
                }
                Verdict::Inconclusive(why) => {
                    tracing::debug!(%node, %model, "canary inconclusive: {why}");
                }
            }
        }
    }

    async fn check(&mut self, view: &View, node: Address, model_id: ModelId) -> Verdict {
        let (Some(known), Some(model)) = (view.nodes.get(&node), view.models.get(&model_id)) else {
            return Verdict::Inconclusive("no longer registered".into());
        };
        let Some((mode, price)) = [Mode::Signed, Mode::Audited, Mode::Tee, Mode::Zk]
            .into_iter()
            .filter(|m| model.modes.contains(m))
            .find_map(|m| known.node.price(m).map(|p| (m, p)))
        else {
            return Verdict::Inconclusive("the node offers no mode the model allows".into());
        };
        let receipt_key = match mode {
            Mode::Tee => known.node.enclave_key,
            _ => known.public_key,
        };
        let Some(receipt_key) = receipt_key else {
            return Verdict::Inconclusive("no receipt key for the node yet".into());
        };
        let values = random_input(model);
        let expected = match self.expected(model, &values).await {
            Ok(expected) => expected,
            Err(why) => return Verdict::Inconclusive(why),
        };
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.nonce = self.nonce.wrapping_add(1);
        let ticket = Ticket {
            caller: self.config.key.address(),
            model: model_id,
            node,
            input_hash: crypto::tensor_input_hash(&bytes),
            mode,
            price_cap: price,
            nonce: self.nonce,
            expiry_ms: view.chain_time_ms
                + TICKET_LIFETIME_MS.min(view.params.max_ticket_lifetime_ms),
        };
        let request = InferRequest {
            ticket_signature: ticket.sign(&self.config.key, &view.namespaces),
            ticket: ticket.clone(),
            caller_key: self.config.key.public(),
            input: CallInput::Tensor { values },
        };
        match self.forwarder.infer(&known.node.endpoint, &request).await {
            Outcome::Failed { code, message } => {
                Verdict::Inconclusive(format!("{code}: {message}"))
            }
            Outcome::Refused(failure) => {
                tracing::warn!(
                    %node,
                    code = %failure.error.code,
                    "a canary call was refused; check the canary account's escrow: {}",
                    failure.error.message
                );
                Verdict::Inconclusive(failure.error.message)
            }
            Outcome::Answered(answer) => {
                if let Err(why) =
                    forward::check_answer(&answer, &ticket, &receipt_key, &view.namespaces)
                {
                    return Verdict::Fail(why);
                }
                match expected {
                    Some(hash) if answer.receipt.output_hash != hash => Verdict::Fail(format!(
                        "the output hashes to {}, the model's program gives {hash}",
                        answer.receipt.output_hash
                    )),
                    _ => Verdict::Pass,
                }
            }
        }
    }

    /// The output hash `model`'s program gives for `values`; `None` for a model without one.
    async fn expected(&mut self, model: &Model, values: &[f32]) -> Result<Option<Hash32>, String> {
        if model.program.is_none() {
            return Ok(None);
        }
        let program = match self.programs.get(&model.id) {
            Some(program) => program.clone(),
            None => {
                let ledger = self.ledger.clone();
                let id = model.id;
                let record = tokio::task::spawn_blocking(move || ledger.program(&id))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("cannot read the program: {e}"))?;
                let program = Program::decode(&record.bytes.0)
                    .map_err(|e| format!("the ledger's program does not decode: {e}"))?;
                let program = Arc::new((program, record.output_shape));
                self.programs.insert(model.id, program.clone());
                program
            }
        };
        let (program, shape) = &*program;
        let output = program
            .run_f32(values)
            .map_err(|e| format!("the program does not run on the canary input: {e}"))?;
        Ok(Some(crypto::integer_output_hash(
            shape,
            program.out_frac_bits(),
            &output,
        )))
    }
}

/// A fresh input of `model`'s registered shape, values uniform in `[0, 1)`.
fn random_input(model: &Model) -> Vec<f32> {
    let len: usize = model.input.shape.iter().map(|&d| d as usize).product();
    let mut rng = rand::thread_rng();
    (0..len).map(|_| rng.r#gen::<f32>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_clears_failures_and_results_age() {
        let canaries = Canaries::default();
        let node = Address::of_label("node");
        let model = Hash32([7; 32]);
        assert!(canaries.due(node, model, Duration::from_secs(60)));
        canaries.record(node, model, false);
        canaries.record(node, model, false);
        assert_eq!(
            canaries.of(&node, &model),
            CanaryRecord {
                passed: 0,
                failed_since_pass: 2
            }
        );
        assert!(!canaries.due(node, model, Duration::from_secs(60)));
        assert!(canaries.due(node, model, Duration::ZERO));
        canaries.record(node, model, true);
        assert_eq!(
            canaries.of(&node, &model),
            CanaryRecord {
                passed: 1,
                failed_since_pass: 0
            }
        );
        assert_eq!(
            canaries.of(&Address::of_label("other"), &model),
            CanaryRecord::default()
        );
    }
}
