//! `verity bench settle`: settled calls per second through block execution with state
//! committed to disk, next to the raw ed25519 batch-verification rate of the same signatures
//! on the same machine in the same run.
//!
//! Both sides verify exactly the same signatures (each call's ticket and receipt) grouped the
//! same way (one batch per receipt transaction). The ledger side also decodes the transactions,
//! checks every call, moves escrow, writes call records, settles every call after its challenge
//! window (a four-way split), and commits each block, its events and indexes to redb with fsync,
//! through the same code a validator runs for a finalized block.

use super::Ctx;
use anyhow::{Context, Result};
use clap::Subcommand;
use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::{BatchEntry, BatchVerifier, Digestible, ed25519, sha256};
use commonware_parallel::Sequential;
use indicatif::{ProgressBar, ProgressStyle};
use rand_core::SeedableRng;
use std::time::{Duration, Instant};
use verity_chain::{Block, BlockLimits};
use verity_ledger::{
    Amount, Genesis, GenesisAccount, GenesisValidator, Hash32, Keypair, Mode, Namespaces, PaidCall,
    Params, Payload, PublicKeyBytes, Receipt, SignedTransaction, Ticket, Transaction, crypto,
};
use verity_node::ChainApp;

/// Benchmarks.
#[derive(Subcommand)]
pub enum Command {
    /// Settlement throughput against raw batch signature verification.
    Settle {
        /// Calls to settle.
        #[arg(long, default_value_t = 32_768)]
        calls: usize,
        /// Calls per receipt transaction (one transaction per block).
        #[arg(long, default_value_t = 4_096)]
        batch: usize,
        /// Distinct callers.
        #[arg(long, default_value_t = 64)]
        callers: usize,
    },
    /// Paid calls through gateway → node against a no-op axum server (needs a running devnet).
    Serve(super::bench_serve::ServeArgs),
    /// Blocks and settled calls per second and time to finality with 1, 4 and 7 validators.
    Validators(super::bench_validators::ValidatorsArgs),
}

/// Run a benchmark.
pub fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Settle {
            calls,
            batch,
            callers,
        } => settle(calls, batch.max(1), callers.max(1)),
        Command::Serve(args) => super::bench_serve::run(ctx, args),
        Command::Validators(args) => super::bench_validators::run(args),
    }
}

struct Chain {
    app: ChainApp,
    parent: sha256::Digest,
    time_ms: u64,
}

impl Chain {
    fn apply(&mut self, txs: Vec<Vec<u8>>, advance_ms: u64) -> Result<()> {
        let (height, root) = verity_chain::Application::last_applied(&self.app);
        self.time_ms += advance_ms;
        let block = Block {
            parent: self.parent,
            height: height + 1,
            timestamp_ms: self.time_ms,
            state_height: height,
            state_root: root,
            txs: txs.into_iter().map(Into::into).collect(),
        };
        let digest = block.digest();
        verity_chain::Application::apply(&self.app, &block, digest.0)?;
        self.parent = digest;
        Ok(())
    }
}

fn settle(calls: usize, batch: usize, callers: usize) -> Result<()> {
    let chain_id = "bench";
    let ns = Namespaces::new(chain_id);
    let node = Keypair::from_seed(1);
    let owner = Keypair::from_seed(2);
    let payers: Vec<Keypair> = (0..callers as u64)
        .map(|i| Keypair::from_seed(100 + i))
        .collect();
    let per_caller: Amount = 1_000_000_000_000;
    let mut accounts = vec![
        GenesisAccount {
            address: node.address(),
            balance: per_caller * 10,
        },
        GenesisAccount {
            address: owner.address(),
            balance: per_caller,
        },
    ];
    accounts.extend(payers.iter().map(|k| GenesisAccount {
        address: k.address(),
        balance: per_caller,
    }));
    let params = Params {
        max_calls_per_batch: batch as u32,
        max_tx_bytes: (batch * 512 + 4096) as u32,
        ..Params::default()
    };
    let genesis = Genesis {
        chain_id: chain_id.into(),
        genesis_time_ms: 1_000,
        params: params.clone(),
        accounts,
        validators: vec![GenesisValidator {
            public_key: Keypair::from_seed(3).public(),
            p2p: "127.0.0.1:1".into(),
            stake: 0,
        }],
    };
    let dir = tempfile::tempdir()?;
    let store = verity_storage::Store::open(&dir.path().join("ledger.redb"))?;
    let limits = BlockLimits {
        max_txs: 1024,
        max_bytes: params.max_tx_bytes as usize * 4,
    };
    let namespace = b"bench".to_vec();
    let app = ChainApp::open(store, genesis, &namespace, limits, Keypair::from_seed(3))?;
    let genesis_root = Block::genesis(&namespace, app.head().state_root.0).digest();
    let mut chain = Chain {
        app,
        parent: genesis_root,
        time_ms: 1_000,
    };

    // Setup (not timed): a model, a node, escrow for every caller.
    let model = Hash32([9; 32]);
    let tx = |key: &Keypair, nonce: u64, payload: Payload| {
        sign(&ns, &params, key, nonce, payload).encode()
    };
    let mut setup = vec![
        tx(&owner, 0, register_model(model)),
        tx(
            &node,
            0,
            register_node(model, "http://127.0.0.1:1".into(), 1_000, params.min_stake),
        ),
    ];
    for p in &payers {
        setup.push(tx(
            p,
            0,
            Payload::EscrowDeposit {
                amount: per_caller / 2,
            },
        ));
    }
    chain.apply(setup, 1_000)?;

    eprintln!("signing {calls} tickets and receipts (client-side work, not timed)…");
    let expiry = chain.time_ms + params.max_ticket_lifetime_ms / 2;
    let paid: Vec<PaidCall> = (0..calls)
        .map(|i| {
            paid_call(
                &ns,
                &payers[i % callers],
                &node,
                model,
                i as u64,
                1_000,
                (chain.time_ms, expiry),
            )
        })
        .collect();
    let txs: Vec<Vec<u8>> = paid
        .chunks(batch)
        .enumerate()
        .map(|(i, c)| {
            tx(
                &node,
                1 + i as u64,
                Payload::SubmitReceipts { calls: c.to_vec() },
            )
        })
        .collect();

    // Baseline: the raw batch verification of the same signatures, in the same groups.
    let caller_keys: Vec<_> = payers.iter().map(Keypair::public).collect();
    let raw = measure_raw(&paid, batch, &ns, &caller_keys, &node.public());

    // Ours: accept every batch, then settle them all, committing each block.
    let bar = ProgressBar::new(txs.len() as u64 + 1).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} blocks")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("settling");
    let start = Instant::now();
    for t in txs {
        chain.apply(vec![t], 10)?;
        bar.inc(1);
    }
    let accepted = start.elapsed();
    chain.apply(Vec::new(), params.challenge_window_ms + 1)?;
    bar.inc(1);
    bar.finish_and_clear();
    let total = start.elapsed();
    let settled = count_settled(&chain.app)?;
    anyhow::ensure!(
        settled == calls as u64,
        "{settled} of {calls} calls settled"
    );

    let ours = calls as f64 / total.as_secs_f64();
    let raw_rate = calls as f64 / raw.as_secs_f64();
    println!(
        "| calls | per batch | settled calls/s (execute + commit) | raw ed25519 batch verify, calls/s (2 sig/call) | ratio | accept phase | settle block |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {calls} | {batch} | {ours:.0} | {raw_rate:.0} | {:.1} % | {:.0} ms | {:.0} ms |",
        100.0 * ours / raw_rate,
        accepted.as_secs_f64() * 1e3,
        (total - accepted).as_secs_f64() * 1e3
    );
    Ok(())
}

/// Sign `payload` as `key` with nonce `nonce` and the fee `params` require.
pub(super) fn sign(
    ns: &Namespaces,
    params: &Params,
    key: &Keypair,
    nonce: u64,
    payload: Payload,
) -> SignedTransaction {
    Transaction {
        signer: key.public(),
        nonce,
        fee: params.required_fee(payload.call_count()),
        payload,
    }
    .sign(key, ns)
}

/// Registration of the benchmark model `model`: a 1×64 f32 input, signed mode, 10 % royalty.
pub(super) fn register_model(model: Hash32) -> Payload {
    Payload::RegisterModel {
        model,
        name: "bench".into(),
        royalty_bps: 1_000,
        input: verity_ledger::InputSpec {
            shape: vec![1, 64],
            dtype: verity_ledger::DType::F32,
        },
        modes: vec![Mode::Signed],
    }
}

/// Registration of a node at `endpoint` serving `model` in signed mode at `price`, bonding
/// `stake`.
pub(super) fn register_node(
    model: Hash32,
    endpoint: String,
    price: Amount,
    stake: Amount,
) -> Payload {
    Payload::RegisterNode {
        endpoint,
        hardware: verity_ledger::HardwareProfile {
            gpu: "cpu".into(),
            watts: 65,
            cost_usd_cents: 0,
            capacity: verity_provider::config::DEFAULT_CAPACITY,
        },
        models: vec![model],
        prices: vec![verity_ledger::ModePrice {
            mode: Mode::Signed,
            price,
        }],
        stake,
    }
}

/// Call `i` of `caller` to `model`, served by `node` at `price`, with ticket and receipt
/// signed; `(now_ms, expiry_ms)` time the receipt and bound the ticket.
pub(super) fn paid_call(
    ns: &Namespaces,
    caller: &Keypair,
    node: &Keypair,
    model: Hash32,
    i: u64,
    price: Amount,
    (now_ms, expiry_ms): (u64, u64),
) -> PaidCall {
    let ticket = Ticket {
        caller: caller.address(),
        model,
        node: node.address(),
        input_hash: crypto::sha256(&[&i.to_le_bytes()]),
        mode: Mode::Signed,
        price_cap: price,
        nonce: i,
        expiry_ms,
    };
    let receipt = Receipt {
        ticket: ticket.id(),
        output_hash: crypto::sha256(&[b"out", &i.to_le_bytes()]),
        price,
        time_ms: now_ms,
    };
    PaidCall {
        ticket_signature: ticket.sign(caller, ns),
        receipt_signature: receipt.sign(node, ns),
        ticket,
        receipt,
    }
}

/// The physical limit: commonware's ed25519 batch verification of the same signatures in the
/// same groups, with keys and signatures decoded beforehand and nothing else done.
fn measure_raw(
    paid: &[PaidCall],
    batch: usize,
    ns: &Namespaces,
    caller_keys: &[PublicKeyBytes],
    node_key: &PublicKeyBytes,
) -> Duration {
    let decode_key =
        |k: &PublicKeyBytes| ed25519::PublicKey::decode(Copying(&k.0[..])).expect("valid key");
    let decode_sig = |s: &verity_ledger::SignatureBytes| {
        ed25519::Signature::decode(Copying(&s.0[..])).expect("valid signature")
    };
    let callers: Vec<ed25519::PublicKey> = caller_keys.iter().map(decode_key).collect();
    let node = decode_key(node_key);
    let items: Vec<(Vec<u8>, &[u8], &ed25519::PublicKey, ed25519::Signature)> = paid
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            [
                (
                    c.ticket.signing_bytes(),
                    ns.ticket.as_slice(),
                    &callers[i % callers.len()],
                    decode_sig(&c.ticket_signature),
                ),
                (
                    c.receipt.signing_bytes(),
                    ns.receipt.as_slice(),
                    &node,
                    decode_sig(&c.receipt_signature),
                ),
            ]
        })
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
    let start = Instant::now();
    for chunk in items.chunks(2 * batch) {
        let ok = ed25519::PublicKey::verify_batch(
            &mut rng,
            chunk,
            |_, (message, namespace, public_key, signature)| BatchEntry {
                namespace,
                message,
                public_key,
                signature,
            },
            &Sequential,
        );
        assert!(ok, "every benchmark signature is valid");
    }
    start.elapsed()
}

fn count_settled(app: &ChainApp) -> Result<u64> {
    let key = verity_node::app::kind_key("CallSettled");
    let mut n = 0;
    let mut after = None;
    loop {
        let page = app
            .store()
            .events_by_index(
                &key,
                verity_storage::Order::Ascending,
                after,
                verity_storage::MAX_PAGE,
            )
            .context("reading events")?;
        n += page.len() as u64;
        match page.last() {
            Some((seq, _)) if page.len() == verity_storage::MAX_PAGE => after = Some(*seq),
            _ => return Ok(n),
        }
    }
}
