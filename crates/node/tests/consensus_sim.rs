//! Deterministic simulation of four validators running the real ledger under faults.
//!
//! # Harness
//!
//! Four validators (ed25519 keys from fixed seeds) run the real application — [`ChainApp`]: the
//! ledger, a redb [`Store`] in a temporary directory of its own, and the mempool — under
//! [`verity_chain::start`], over commonware's simulated p2p network (`p2p::simulated`), all in
//! ONE deterministic runtime (`commonware_runtime::deterministic`) driven by a seed. The genesis
//! funds eight accounts. A traffic task, drawing from the runtime's seeded RNG, submits signed
//! `Transfer` transactions into random validators' mempools throughout, each checked first the
//! way the node's `POST /v1/txs` checks it (`Ledger::check_tx` against the committed state),
//! with the nonce a client would use (the sender's committed nonce plus what it has in flight,
//! starting again from the committed nonce when the in-flight ones seem lost). The block
//! interval is the node's default (250 ms); links have 20 ms ± 5 ms latency. The mempool reads
//! the runtime's virtual clock ([`ChainApp::open_with_clock`]), so nothing depends on wall time.
//!
//! # Scenarios (each a test with a fixed seed, and part of the sweep)
//!
//! 1. **Lossy links** ([`lossy`]): every link drops 20 % of messages; 90 simulated seconds.
//! 2. **One crashed** ([`one_crashed`]): after 10 s validator 3's engine is aborted (a crash,
//!    its store left as it was); the other three keep finalizing for 30 s more, at least 20
//!    blocks beyond where the crashed one stopped.
//! 3. **Partition that heals** ([`partition`]): after 10 s the links between {0, 1} and {2, 3}
//!    are cut. Neither half has a quorum: after 5 s for messages in flight, no validator's
//!    head moves for 20 s. Then the links are restored, and within 30 s every validator is at
//!    least 20 blocks past the partition.
//! 4. **All crash and restart** ([`crash_all`]): the runtime is stopped at an arbitrary time
//!    (15–25 s, drawn from the seed) — every task dropped mid-flight, the runtime's storage
//!    crashed uncleanly (unsynced writes lost) — and recovered from its checkpoint: each
//!    validator reopens its redb file and restarts consensus on the recovered storage. Within
//!    30 s each is at least 20 blocks past its head before the crash. (The redb handles are
//!    dropped, not torn mid-write: every redb commit is durable when it returns, and a torn redb
//!    commit is the subject of `verity-storage`'s own crash tests.)
//! 5. **Byzantine equivocator** ([`byzantine`]): validator 3 runs no engine; it signs, for every
//!    notarize and finalize vote it receives, one vote for a random digest and one for the
//!    received proposal, and sends both to everyone (the behaviour of commonware's
//!    `simplex::mocks::conflicter`). The honest validators catch it (it ends up blocked on the
//!    network) and report the conflicting votes on-chain, which slashes its stake; the three
//!    finalize at least 20 blocks in 40 s and agree.
//!
//! # Invariants, checked after each scenario (and before the crash in scenario 4)
//!
//! - **Agreement**: every honest validator's store holds a chain linked from the genesis block,
//!   and at every height any two validators have the same block digest.
//! - **Nothing lost or rewritten**: every (height → digest) observed earlier in the run,
//!   including before a crash, is still what every validator holds at that height, and no
//!   validator's head is below a head it had before.
//! - **State roots match** at every common height, and re-executing the stored chain from
//!   genesis with the pure ledger reproduces the stored state root at every height — so each
//!   block was applied exactly once, in order.
//! - **Supply is conserved**: on the re-executed state at every height (balances, escrow,
//!   stake, unbonding, prices held by calls and burned tokens, over every key of the state), and
//!   on every validator's store (every account the traffic touches, treasury and verifier pool,
//!   plus burned) the total equals the genesis supply.
//! - **Progress**: the scenario's minimum number of finalized blocks, and transfers executed.
//!
//! # Replay
//!
//! A scenario returns the runtime's auditor digest (every task poll, message, RNG draw and
//! storage operation of the run) and a digest of the finalized chain and its state roots. The
//! same seed gives the same pair; a different seed gives a different one.
//!
//! # Sweep (not run in CI)
//!
//! ```text
//! VERITY_SIM_SEEDS=0..200 cargo test --release -p verity-node --test consensus_sim -- --ignored sweep --nocapture
//! ```
//!
//! runs every scenario for each seed of the range (default `0..200`), printing one line per run;
//! the first failing seed stops it with the seed and scenario in the message. The redb files go
//! to the temporary directory: `TMPDIR=/dev/shm` spares the disk the fsyncs. A debug build
//! (drop `--release`) takes about 10 s per seed on one core.

use bytes::Bytes;
use commonware_codec::{DecodeExt, Encode};
use commonware_consensus::simplex::types::{Finalize, Notarize, Proposal, Vote};
use commonware_cryptography::{Digestible, Hasher, Sha256, Signer, ed25519::PublicKey};
use commonware_p2p::{
    Receiver as _, Recipients, Sender as _,
    simulated::{self, Link, Network, Oracle},
};
use commonware_runtime::{Clock, Handle, Runner as _, Spawner, Supervisor as _, deterministic};
use commonware_utils::{NZUsize, probability};
use rand_core::Rng as _;
use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    ops::Range,
    sync::{Arc, Mutex},
    time::{Duration, Instant, UNIX_EPOCH},
};
use verity_chain::{
    BACKFILL, BROADCAST, Block, BlockLimits, CERTIFICATES, CHANNEL_QUOTA, Config, Digest, Engine,
    RESOLVER, Scheme, Transport, VOTES,
};
use verity_ledger::{
    Amount, Genesis, GenesisAccount, GenesisValidator, Keypair, Ledger, Params, Payload, StateRead,
    Transaction, TxStatus,
    state::{self, Account, ChainInfo},
};
use verity_node::{
    ChainApp, app::decode_block, equivocation::ConsensusEvidence, run::consensus_namespace,
};
use verity_storage::Store;

type Ctx = deterministic::Context;

const CHAIN_ID: &str = "verity-sim";
const VALIDATORS: usize = 4;
const ACCOUNTS: u64 = 8;
const BALANCE: Amount = 1_000_000_000_000;
/// Stake each validator bonds at genesis (an equivocator's is slashed).
const VALIDATOR_STAKE: Amount = 1_000_000_000;
/// The node's default block interval (`NodeSettings::block_interval_ms`).
const BLOCK_INTERVAL: Duration = Duration::from_millis(250);
/// Finalized blocks every scenario must reach in its time.
const MIN_BLOCKS: u64 = 20;
/// Transactions a sender may have in flight before the traffic assumes they were lost.
const MAX_IN_FLIGHT: u64 = 4;

/// What a scenario run produced, for replay comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    /// The deterministic runtime's auditor digest at the end of the run.
    auditor: String,
    /// sha256 over (height, digest, state root) of the chain every honest validator holds.
    chain: [u8; 32],
    /// Height every honest validator reached.
    height: u64,
    /// Transfers applied on that chain.
    transfers: usize,
}

/// Keys, genesis and data directories of one run.
struct Fixture {
    dir: tempfile::TempDir,
    genesis: Genesis,
    genesis_root: [u8; 32],
    namespace: Vec<u8>,
    validators: Vec<Keypair>,
    accounts: Vec<Keypair>,
}

impl Fixture {
    fn new() -> Self {
        let validators: Vec<Keypair> = (0..VALIDATORS as u64)
            .map(|i| Keypair::from_seed(1_000 + i))
            .collect();
        let accounts: Vec<Keypair> = (0..ACCOUNTS).map(|i| Keypair::from_seed(i + 1)).collect();
        let genesis = Genesis {
            chain_id: CHAIN_ID.into(),
            genesis_time_ms: 0,
            params: Params::default(),
            // Validators hold a balance too: a report of equivocation pays its fee up front.
            accounts: accounts
                .iter()
                .chain(&validators)
                .map(|k| GenesisAccount {
                    address: k.address(),
                    balance: BALANCE,
                })
                .collect(),
            validators: validators
                .iter()
                .map(|k| GenesisValidator {
                    public_key: k.public(),
                    p2p: "127.0.0.1:1".into(),
                    stake: VALIDATOR_STAKE,
                })
                .collect(),
        };
        let genesis_root = Ledger::genesis(&genesis).unwrap().state_root.0;
        Self {
            dir: tempfile::tempdir().unwrap(),
            namespace: consensus_namespace(CHAIN_ID),
            genesis,
            genesis_root,
            validators,
            accounts,
        }
    }

    fn key(&self, i: usize) -> PublicKey {
        self.validators[i].to_consensus_key().public_key()
    }

    fn keys(&self) -> Vec<PublicKey> {
        (0..VALIDATORS).map(|i| self.key(i)).collect()
    }

    /// Validator `i`'s consensus configuration, as `run::chain_config` builds it.
    fn config(&self, i: usize) -> Config {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let mut config = Config::new(
            "unused",
            self.namespace.clone(),
            self.validators[i].to_consensus_key(),
            self.keys().into_iter().map(|k| (k, address)).collect(),
            address,
            self.genesis_root,
        );
        config.block_interval = BLOCK_INTERVAL;
        config.max_block_bytes = config
            .max_block_bytes
            .max(self.genesis.params.max_tx_bytes as usize * 2);
        config
    }

    fn limits(&self) -> BlockLimits {
        self.config(0).limits()
    }

    /// Opens validator `i`'s application on its redb file, its mempool on the runtime's clock.
    fn open(&self, context: &Ctx, i: usize) -> ChainApp {
        let store = Store::open(&self.dir.path().join(format!("v{i}/ledger.redb"))).unwrap();
        let clock = Mutex::new(context.child("clock"));
        ChainApp::open_with_clock(
            store,
            self.genesis.clone(),
            &self.namespace,
            self.limits(),
            self.validators[i].clone(),
            Arc::new(move || {
                let now = clock.lock().unwrap().current();
                now.duration_since(UNIX_EPOCH).unwrap_or_default()
            }),
        )
        .unwrap()
    }
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

fn link(loss: bool) -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: if loss {
            probability!(4, 5)
        } else {
            probability!(1.0)
        },
    }
}

/// A simulated network of the fixture's validators, every pair linked with `link`.
async fn network(context: &Ctx, fixture: &Fixture, link: &Link) -> Oracle<PublicKey, Ctx> {
    let keys = fixture.keys();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: fixture.config(0).max_message_size(),
            max_peers_per_set: NZUsize!(VALIDATORS),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        keys.clone(),
    )
    .await;
    network.start();
    let all: Vec<usize> = (0..VALIDATORS).collect();
    connect(&oracle, fixture, &all, &all, Some(link)).await;
    oracle
}

/// Adds (`Some`) or removes (`None`) the links between every validator of `a` and every one of
/// `b`, in both directions.
async fn connect(
    oracle: &Oracle<PublicKey, Ctx>,
    fixture: &Fixture,
    a: &[usize],
    b: &[usize],
    link: Option<&Link>,
) {
    for &i in a {
        for &j in b {
            if i == j {
                continue;
            }
            for (from, to) in [(i, j), (j, i)] {
                let (from, to) = (fixture.key(from), fixture.key(to));
                match link {
                    Some(link) => {
                        // Adding a link that exists is an error; both directions may be listed.
                        let _ = oracle.add_link(from, to, link.clone()).await;
                    }
                    None => {
                        let _ = oracle.remove_link(from, to).await;
                    }
                }
            }
        }
    }
}

/// Starts validators `0..count` in order ([`start_validator`]); their engines, and their
/// applications in the same order.
async fn start_validators(
    context: &Ctx,
    oracle: &Oracle<PublicKey, Ctx>,
    fixture: &Fixture,
    count: usize,
) -> (Vec<Engine>, Vec<ChainApp>) {
    let mut engines = Vec::with_capacity(count);
    let mut apps = Vec::with_capacity(count);
    for i in 0..count {
        let (app, engine) = start_validator(context, oracle, fixture, i).await;
        engines.push(engine);
        apps.push(app);
    }
    (engines, apps)
}

/// Opens validator `i`'s application and starts its engine on `oracle`'s network.
async fn start_validator(
    context: &Ctx,
    oracle: &Oracle<PublicKey, Ctx>,
    fixture: &Fixture,
    i: usize,
) -> (ChainApp, Engine) {
    let app = fixture.open(context, i);
    let control = oracle.control(fixture.key(i));
    let register = async |channel| control.register(channel, CHANNEL_QUOTA).await.unwrap();
    let transport = Transport {
        blocker: control.clone(),
        peers: oracle.manager(),
        votes: register(VOTES).await,
        certificates: register(CERTIFICATES).await,
        resolver: register(RESOLVER).await,
        broadcast: register(BROADCAST).await,
        backfill: register(BACKFILL).await,
    };
    let context = context.child("validator").with_attribute("index", i);
    let engine = verity_chain::start(context, fixture.config(i), app.clone(), transport).unwrap();
    (app, engine)
}

/// Starts validator `i` as a Byzantine equivocator: it runs no engine and, for every notarize
/// or finalize vote it receives, signs one for a random digest and one for the received
/// proposal and sends both to everyone (commonware's `simplex::mocks::conflicter`).
async fn start_equivocator(
    context: &Ctx,
    oracle: &Oracle<PublicKey, Ctx>,
    fixture: &Fixture,
    i: usize,
) -> Handle<()> {
    let config = fixture.config(i);
    let scheme = Scheme::signer(&config.namespace, config.participants(), config.signer).unwrap();
    let (mut sender, mut receiver) = oracle
        .control(fixture.key(i))
        .register(VOTES, CHANNEL_QUOTA)
        .await
        .unwrap();
    context
        .child("equivocator")
        .spawn(move |mut context| async move {
            while let Ok((_, message)) = receiver.recv().await {
                let Ok(vote) = Vote::<Scheme, Digest>::decode(message) else {
                    continue;
                };
                let mut random = [0u8; 32];
                random[..8].copy_from_slice(&context.next_u64().to_be_bytes());
                let random = Sha256::hash(&[&random]);
                match vote {
                    Vote::Notarize(vote) => {
                        let fake = Proposal::new(vote.round(), vote.proposal.parent, random);
                        for proposal in [fake, vote.proposal] {
                            let vote = Notarize::sign(&scheme, proposal).unwrap();
                            sender.send(Recipients::All, Vote::Notarize(vote).encode(), true);
                        }
                    }
                    Vote::Finalize(vote) => {
                        let fake = Proposal::new(vote.round(), vote.proposal.parent, random);
                        for proposal in [fake, vote.proposal] {
                            let vote = Finalize::sign(&scheme, proposal).unwrap();
                            sender.send(Recipients::All, Vote::Finalize(vote).encode(), true);
                        }
                    }
                    _ => {}
                }
            }
        })
}

/// Submits signed transfers into random validators' mempools, every 50–250 ms, forever.
fn spawn_traffic(context: &Ctx, fixture: &Fixture, apps: Vec<ChainApp>) -> Handle<()> {
    let accounts = fixture.accounts.clone();
    let fee = fixture.genesis.params.required_fee(0);
    let ledger = Ledger::new(CHAIN_ID);
    let max_tx_bytes = fixture.genesis.params.max_tx_bytes as usize;
    context
        .child("traffic")
        .spawn(move |mut context| async move {
            let mut next_nonce = vec![0u64; accounts.len()];
            loop {
                let pause = 50 + context.next_u64() % 200;
                context.sleep(Duration::from_millis(pause)).await;
                let app = &apps[(context.next_u64() % apps.len() as u64) as usize];
                let from = (context.next_u64() % ACCOUNTS) as usize;
                let to =
                    (from + 1 + (context.next_u64() % (ACCOUNTS - 1)) as usize) % ACCOUNTS as usize;
                let amount = 1 + context.next_u64() % 1_000;
                let sender = accounts[from].address();
                let snapshot = app.store().snapshot().unwrap();
                let committed = state::read::<Account>(&snapshot, &state::account_key(&sender))
                    .map_or(0, |a| a.nonce);
                let nonce = &mut next_nonce[from];
                if *nonce < committed || *nonce - committed >= MAX_IN_FLIGHT {
                    *nonce = committed;
                }
                let tx = Transaction {
                    signer: accounts[from].public(),
                    nonce: *nonce,
                    fee,
                    payload: Payload::Transfer {
                        to: accounts[to].address(),
                        amount,
                    },
                }
                .sign(&accounts[from], ledger.namespaces());
                let bytes = tx.encode();
                let now_ms = millis(&context);
                let Ok(preview) = ledger.check_tx(&snapshot, &bytes, now_ms) else {
                    continue;
                };
                drop(snapshot);
                assert!(bytes.len() <= max_tx_bytes);
                app.mempool()
                    .insert(preview.hash, Bytes::from(bytes), sender, tx.tx.nonce)
                    .unwrap();
                *nonce += 1;
            }
        })
}

fn millis(context: &Ctx) -> u64 {
    context
        .current()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Heights of the given validators' heads.
fn heads(apps: &[&ChainApp]) -> Vec<u64> {
    apps.iter().map(|app| app.head().height).collect()
}

/// What the run has observed so far: every finalized (height → digest) and each validator's
/// highest head.
#[derive(Default)]
struct History {
    finalized: BTreeMap<u64, [u8; 32]>,
    heads: BTreeMap<usize, u64>,
}

/// One stored block with its digest and the state root after it.
struct Stored {
    block: Block,
    digest: [u8; 32],
    root: [u8; 32],
}

/// The chain validator `app` holds in its store, heights `0..=head`.
fn stored_chain(app: &ChainApp, limits: &BlockLimits) -> Vec<Stored> {
    let head = app.head();
    let store = app.store();
    let chain: Vec<Stored> = (0..=head.height)
        .map(|h| {
            let bytes = store
                .block(h)
                .unwrap()
                .unwrap_or_else(|| panic!("block {h}"));
            let block = decode_block(&bytes, limits).unwrap();
            let digest = block.digest().0;
            assert_eq!(store.block_height(&digest).unwrap(), Some(h));
            Stored {
                block,
                digest,
                root: store.state_root(h).unwrap().unwrap(),
            }
        })
        .collect();
    assert_eq!(chain.last().unwrap().digest, head.digest.0, "head digest");
    assert_eq!(chain.last().unwrap().root, head.state_root.0, "head root");
    chain
}

/// Writes a block's state changes.
fn apply(state: &mut BTreeMap<Vec<u8>, Vec<u8>>, changes: state::ChangeSet) {
    for (k, v) in changes {
        match v {
            Some(v) => state.insert(k, v),
            None => state.remove(&k),
        };
    }
}

/// Stake bonded by the validators in `state`.
fn validator_stake(state: &impl StateRead) -> u128 {
    state::read::<Vec<state::Validator>>(state, state::VALIDATORS_KEY)
        .unwrap()
        .iter()
        .map(|v| u128::from(v.stake))
        .sum()
}

/// Checks the invariants over the honest validators `apps` (index, app) and records what was
/// observed in `history`; returns the digest of the common chain, its height and the number of
/// transfers applied on the longest chain.
fn check(
    fixture: &Fixture,
    apps: &[(usize, &ChainApp)],
    history: &mut History,
) -> ([u8; 32], u64, usize) {
    let limits = fixture.limits();
    let chains: Vec<Vec<Stored>> = apps
        .iter()
        .map(|(_, app)| stored_chain(app, &limits))
        .collect();
    let genesis = Block::genesis(&fixture.namespace, fixture.genesis_root);

    // Each chain is linked from genesis.
    for ((i, _), chain) in apps.iter().zip(&chains) {
        assert_eq!(
            chain[0].digest,
            genesis.digest().0,
            "validator {i}: genesis"
        );
        assert_eq!(
            chain[0].root, fixture.genesis_root,
            "validator {i}: genesis"
        );
        for (h, pair) in chain.windows(2).enumerate() {
            assert_eq!(pair[1].block.height, h as u64 + 1, "validator {i}: height");
            assert_eq!(
                pair[1].block.parent.0, pair[0].digest,
                "validator {i}: link"
            );
            assert!(pair[1].block.timestamp_ms > pair[0].block.timestamp_ms);
        }
    }

    // Agreement on digests and state roots at every common height.
    let longest = chains.iter().max_by_key(|c| c.len()).unwrap();
    for ((i, _), chain) in apps.iter().zip(&chains) {
        for (h, (ours, theirs)) in chain.iter().zip(longest).enumerate() {
            assert_eq!(ours.digest, theirs.digest, "validator {i}: digest at {h}");
            assert_eq!(ours.root, theirs.root, "validator {i}: state root at {h}");
        }
    }

    // Nothing observed earlier is lost or rewritten.
    for ((i, _), chain) in apps.iter().zip(&chains) {
        let head = chain.len() as u64 - 1;
        if let Some(&before) = history.heads.get(i) {
            assert!(head >= before, "validator {i}: head {head} below {before}");
        }
        for (&h, digest) in history.finalized.range(..=head) {
            assert_eq!(
                &chain[h as usize].digest, digest,
                "validator {i}: block at {h} rewritten"
            );
        }
        history.heads.insert(*i, head);
    }
    for (h, stored) in longest.iter().enumerate() {
        history.finalized.insert(h as u64, stored.digest);
    }

    // Re-execute the chain from genesis, with the validators' own check of equivocation
    // evidence: every stored root is reproduced, supply is conserved.
    let evidence = ConsensusEvidence::new(&fixture.namespace, &fixture.genesis).unwrap();
    let ledger = Ledger::with_equivocation_verifier(CHAIN_ID, Arc::new(evidence));
    let out = Ledger::genesis(&fixture.genesis).unwrap();
    let supply = u128::from(fixture.genesis.total_supply());
    let mut commitment = out.commitment;
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    apply(&mut state, out.changes);
    let mut transfers = 0;
    for stored in &longest[1..] {
        let block = &stored.block;
        let out = ledger
            .execute_block(
                &state,
                &commitment,
                block.height,
                block.timestamp_ms,
                &block.txs,
            )
            .unwrap();
        assert_eq!(
            out.state_root.0, stored.root,
            "re-executed root at {}",
            block.height
        );
        transfers += out
            .outcomes
            .iter()
            .filter(|o| matches!(o.status, TxStatus::Applied))
            .count();
        commitment = out.commitment;
        apply(&mut state, out.changes);
        assert_eq!(
            state::held_supply(&state),
            supply,
            "supply at {}",
            block.height
        );
    }

    // Supply on every validator's own store.
    let chain_info: ChainInfo = state::read(&state, state::CHAIN_KEY).unwrap();
    let holders: Vec<_> = fixture
        .accounts
        .iter()
        .chain(&fixture.validators)
        .map(Keypair::address)
        .chain([chain_info.treasury, chain_info.verifier_pool])
        .collect();
    for (i, app) in apps {
        let snapshot = app.store().snapshot().unwrap();
        let info: ChainInfo = state::read(&snapshot, state::CHAIN_KEY).unwrap();
        let held: u128 = holders
            .iter()
            .filter_map(|a| state::read::<Account>(&snapshot, &state::account_key(a)))
            .map(|a| u128::from(a.balance) + u128::from(a.escrow))
            .sum();
        assert_eq!(
            held + u128::from(info.burned) + validator_stake(&snapshot),
            supply,
            "validator {i}: supply"
        );
    }

    let common = chains.iter().map(Vec::len).min().unwrap();
    let mut summary = Vec::new();
    for stored in &longest[..common] {
        summary.extend_from_slice(&stored.block.height.to_be_bytes());
        summary.extend_from_slice(&stored.digest);
        summary.extend_from_slice(&stored.root);
    }
    (Sha256::hash(&[&summary]).0, common as u64 - 1, transfers)
}

/// Checks the invariants and the scenario's progress; returns the run's outcome.
fn finish(
    context: &Ctx,
    fixture: &Fixture,
    apps: &[(usize, &ChainApp)],
    history: &mut History,
    min_height: u64,
) -> Outcome {
    let (chain, height, transfers) = check(fixture, apps, history);
    assert!(
        height >= min_height,
        "finalized {height} blocks, expected at least {min_height}; heads {:?}",
        apps.iter()
            .map(|(_, app)| app.head().height)
            .collect::<Vec<_>>()
    );
    assert!(transfers > 0, "no transfer was executed");
    Outcome {
        auditor: context.auditor().state(),
        chain,
        height,
        transfers,
    }
}

/// Scenario 1: 20 % of messages lost on every link.
fn lossy(seed: u64) -> Outcome {
    let fixture = Fixture::new();
    runner(seed).start(|context| async move {
        let oracle = network(&context, &fixture, &link(true)).await;
        let (_engines, apps) = start_validators(&context, &oracle, &fixture, VALIDATORS).await;
        let _traffic = spawn_traffic(&context, &fixture, apps.clone());
        context.sleep(Duration::from_secs(90)).await;
        let honest: Vec<(usize, &ChainApp)> = apps.iter().enumerate().collect();
        finish(
            &context,
            &fixture,
            &honest,
            &mut History::default(),
            MIN_BLOCKS,
        )
    })
}

/// Scenario 2: validator 3 crashes after 10 s; the other three keep finalizing.
fn one_crashed(seed: u64) -> Outcome {
    let fixture = Fixture::new();
    runner(seed).start(|context| async move {
        let oracle = network(&context, &fixture, &link(false)).await;
        let (engines, apps) = start_validators(&context, &oracle, &fixture, VALIDATORS).await;
        let _traffic = spawn_traffic(&context, &fixture, apps.clone());
        context.sleep(Duration::from_secs(10)).await;
        engines[3].abort();
        let mut history = History::default();
        let all: Vec<(usize, &ChainApp)> = apps.iter().enumerate().collect();
        check(&fixture, &all, &mut history);
        let crashed_at = apps[3].head().height;
        context.sleep(Duration::from_secs(30)).await;
        assert_eq!(
            apps[3].head().height,
            crashed_at,
            "a crashed validator moved"
        );
        // The crashed validator's chain is a prefix of the others'.
        check(&fixture, &all, &mut history);
        let live: Vec<(usize, &ChainApp)> = apps.iter().enumerate().take(3).collect();
        finish(
            &context,
            &fixture,
            &live,
            &mut history,
            crashed_at + MIN_BLOCKS,
        )
    })
}

/// Scenario 3: a 2|2 partition stops finality; healing it resumes it.
fn partition(seed: u64) -> Outcome {
    let fixture = Fixture::new();
    runner(seed).start(|context| async move {
        let link = link(false);
        let oracle = network(&context, &fixture, &link).await;
        let (_engines, apps) = start_validators(&context, &oracle, &fixture, VALIDATORS).await;
        let refs: Vec<&ChainApp> = apps.iter().collect();
        let all: Vec<(usize, &ChainApp)> = apps.iter().enumerate().collect();
        let _traffic = spawn_traffic(&context, &fixture, apps.clone());
        let mut history = History::default();
        context.sleep(Duration::from_secs(10)).await;
        connect(&oracle, &fixture, &[0, 1], &[2, 3], None).await;
        context.sleep(Duration::from_secs(5)).await;
        let stalled = heads(&refs);
        check(&fixture, &all, &mut history);
        context.sleep(Duration::from_secs(20)).await;
        assert_eq!(heads(&refs), stalled, "finalized without a quorum");
        check(&fixture, &all, &mut history);
        connect(&oracle, &fixture, &[0, 1], &[2, 3], Some(&link)).await;
        context.sleep(Duration::from_secs(30)).await;
        let before = *stalled.iter().max().unwrap();
        finish(&context, &fixture, &all, &mut history, before + MIN_BLOCKS)
    })
}

/// Scenario 4: every validator crashes uncleanly at an arbitrary time and restarts from disk.
fn crash_all(seed: u64) -> Outcome {
    let fixture = Fixture::new();
    let fixture = &fixture;
    let (history, checkpoint) = runner(seed).start_and_recover(|mut context| async move {
        let oracle = network(&context, fixture, &link(false)).await;
        let (_engines, apps) = start_validators(&context, &oracle, fixture, VALIDATORS).await;
        let _traffic = spawn_traffic(&context, fixture, apps.clone());
        let crash = Duration::from_millis(15_000 + context.next_u64() % 10_000);
        context.sleep(crash).await;
        let mut history = History::default();
        let all: Vec<(usize, &ChainApp)> = apps.iter().enumerate().collect();
        check(fixture, &all, &mut history);
        history
        // Returning stops the runtime: every task is dropped where it stands and the storage
        // is crashed, keeping only synced writes.
    });
    let mut history = history;
    deterministic::Runner::from(checkpoint).start(|context| async move {
        let oracle = network(&context, fixture, &link(false)).await;
        let (_engines, apps) = start_validators(&context, &oracle, fixture, VALIDATORS).await;
        let _traffic = spawn_traffic(&context, fixture, apps.clone());
        context.sleep(Duration::from_secs(30)).await;
        let all: Vec<(usize, &ChainApp)> = apps.iter().enumerate().collect();
        let crashed_at = *history.heads.values().max().unwrap();
        finish(
            &context,
            fixture,
            &all,
            &mut history,
            crashed_at + MIN_BLOCKS,
        )
    })
}

/// Scenario 5: validator 3 equivocates; the three honest validators finalize and agree, and
/// its stake is slashed on the evidence they report.
fn byzantine(seed: u64) -> Outcome {
    let fixture = Fixture::new();
    runner(seed).start(|context| async move {
        let oracle = network(&context, &fixture, &link(false)).await;
        let (_engines, apps) = start_validators(&context, &oracle, &fixture, 3).await;
        let _byzantine = start_equivocator(&context, &oracle, &fixture, 3).await;
        let _traffic = spawn_traffic(&context, &fixture, apps.clone());
        context.sleep(Duration::from_secs(40)).await;
        // The equivocation was seen: honest validators blocked the equivocator.
        let equivocator = fixture.key(3);
        let blocked = oracle.blocked().await.unwrap();
        assert!(
            blocked.iter().any(|(_, peer)| *peer == equivocator),
            "no honest validator caught the equivocator: {blocked:?}"
        );
        // It was reported on-chain too: its stake was slashed, the same on every honest
        // validator (their state roots agree; `finish` checks the supply stayed whole).
        for app in &apps {
            let snapshot = app.store().snapshot().unwrap();
            let set: Vec<state::Validator> = state::read(&snapshot, state::VALIDATORS_KEY).unwrap();
            let offender = set
                .iter()
                .find(|v| v.public_key == fixture.validators[3].public())
                .unwrap();
            assert!(
                offender.slashed && offender.stake < VALIDATOR_STAKE,
                "the equivocator was not slashed: {offender:?}"
            );
        }
        let honest: Vec<(usize, &ChainApp)> = apps.iter().enumerate().collect();
        finish(
            &context,
            &fixture,
            &honest,
            &mut History::default(),
            MIN_BLOCKS,
        )
    })
}

/// A scenario: runs with a seed, checks its invariants, returns its outcome.
type Scenario = fn(u64) -> Outcome;

const SCENARIOS: [(&str, Scenario); 5] = [
    ("lossy", lossy),
    ("one_crashed", one_crashed),
    ("partition", partition),
    ("crash_all", crash_all),
    ("byzantine", byzantine),
];

fn report(name: &str, seed: u64, started: Instant, outcome: &Outcome) {
    eprintln!(
        "{name} seed {seed}: height {}, {} transfers, {:?}",
        outcome.height,
        outcome.transfers,
        started.elapsed()
    );
}

fn run(name: &str, seed: u64) -> Outcome {
    let scenario = SCENARIOS.iter().find(|(n, _)| *n == name).unwrap().1;
    let started = Instant::now();
    let outcome = scenario(seed);
    report(name, seed, started, &outcome);
    outcome
}

#[test]
fn lossy_links_still_finalize() {
    run("lossy", 1);
}

#[test]
fn three_of_four_keep_finalizing_after_a_crash() {
    run("one_crashed", 2);
}

#[test]
fn partition_stalls_then_heals() {
    run("partition", 3);
}

#[test]
fn all_crash_uncleanly_and_resume_from_disk() {
    run("crash_all", 4);
}

#[test]
fn equivocating_validator_cannot_split_the_honest_ones() {
    run("byzantine", 5);
}

#[test]
fn same_seed_replays_identically() {
    let a = run("lossy", 7);
    let b = run("lossy", 7);
    assert_eq!(a, b);
    let c = run("lossy", 8);
    assert_ne!(a.auditor, c.auditor);
    assert_ne!(a.chain, c.chain);
}

fn seeds() -> Range<u64> {
    let spec = std::env::var("VERITY_SIM_SEEDS").unwrap_or_else(|_| "0..200".into());
    let (start, end) = spec
        .split_once("..")
        .unwrap_or_else(|| panic!("VERITY_SIM_SEEDS must look like 0..200, got {spec}"));
    start.trim().parse().unwrap()..end.trim().parse().unwrap()
}

#[test]
#[ignore = "a long sweep over many seeds; run it by hand (see the module documentation)"]
fn sweep() {
    let started = Instant::now();
    let seeds = seeds();
    for seed in seeds.clone() {
        for (name, _) in SCENARIOS {
            eprintln!("{name} seed {seed}: running");
            run(name, seed);
        }
    }
    eprintln!(
        "sweep: {} seeds x {} scenarios clean in {:?}",
        seeds.end - seeds.start,
        SCENARIOS.len(),
        started.elapsed()
    );
}
