//! End-to-end tests of the engine: deterministic simulation with `p2p::simulated`, restart on the
//! same storage, replay determinism, and a real-socket smoke test on tokio.

use bytes::Bytes;
use commonware_codec::{DecodeExt, Encode};
use commonware_consensus::simplex::types::{Notarize, Proposal, Vote};
use commonware_cryptography::{
    Digestible, Hasher, Sha256, Signer,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_p2p::{Receiver as _, Recipients, Sender as _};
use commonware_runtime::Spawner as _;
use commonware_runtime::{Clock, Runner as _, Supervisor as _, deterministic};
use commonware_utils::ordered::Set;
use commonware_utils::{NZUsize, probability};
use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use verity_chain::{
    Application, BACKFILL, BROADCAST, Block, CERTIFICATES, CHANNEL_QUOTA, Config, Digest, Engine,
    EquivocationKind, RESOLVER, Scheme, Transport, VOTES, verify_equivocation,
};

const NAMESPACE: &[u8] = b"verity-test";
const GENESIS_ROOT: [u8; 32] = [7; 32];
const BLOCK_INTERVAL_MS: u64 = verity_chain::DEFAULT_BLOCK_INTERVAL.as_millis() as u64;

/// In-memory application: applied blocks and a fake state root `sha256(prev_root || digest)`.
#[derive(Clone)]
struct TestApp {
    state: Arc<Mutex<State>>,
    /// A height whose execution fails.
    fail_at: Option<u64>,
}

struct State {
    /// Executed blocks (not ignored repeats) with their digests; `applied[i]` is height `i + 1`.
    applied: Vec<(Block, [u8; 32])>,
    /// State root after each height; `roots[0]` is the genesis root.
    roots: Vec<[u8; 32]>,
    /// Heights passed to `apply`, including ignored repeats.
    apply_calls: Vec<u64>,
    /// Evidence of equivocation consensus reported.
    equivocations: Vec<Bytes>,
}

impl TestApp {
    fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                applied: Vec::new(),
                roots: vec![GENESIS_ROOT],
                apply_calls: Vec::new(),
                equivocations: Vec::new(),
            })),
            fail_at: None,
        }
    }

    fn failing_at(height: u64) -> Self {
        Self {
            fail_at: Some(height),
            ..Self::new()
        }
    }

    fn height(&self) -> u64 {
        self.last_applied().0
    }

    fn applied(&self) -> Vec<(Block, [u8; 32])> {
        self.state.lock().unwrap().applied.clone()
    }

    fn apply_calls(&self) -> Vec<u64> {
        self.state.lock().unwrap().apply_calls.clone()
    }

    fn equivocations(&self) -> Vec<Bytes> {
        self.state.lock().unwrap().equivocations.clone()
    }
}

impl Application for TestApp {
    fn payload(&self, height: u64, max_txs: usize, _max_bytes: usize) -> Vec<Bytes> {
        let count = (height % 3) as usize;
        (0..count.min(max_txs))
            .map(|i| Bytes::from(format!("tx-{height}-{i}")))
            .collect()
    }

    fn check_payload(&self, txs: &[Bytes]) -> bool {
        txs.iter().all(|tx| tx.starts_with(b"tx-"))
    }

    fn last_applied(&self) -> (u64, [u8; 32]) {
        let state = self.state.lock().unwrap();
        (state.applied.len() as u64, *state.roots.last().unwrap())
    }

    fn state_root(&self, height: u64) -> Option<[u8; 32]> {
        let index = usize::try_from(height).ok()?;
        self.state.lock().unwrap().roots.get(index).copied()
    }

    fn apply(&self, block: &Block, digest: [u8; 32]) -> anyhow::Result<()> {
        let mut state = self.state.lock().unwrap();
        state.apply_calls.push(block.height);
        let applied = state.applied.len() as u64;
        if block.height <= applied {
            return Ok(());
        }
        anyhow::ensure!(block.height == applied + 1, "gap at {}", block.height);
        anyhow::ensure!(self.fail_at != Some(block.height), "disk full");
        let root = Sha256::hash(&[state.roots.last().unwrap(), &digest]).0;
        state.applied.push((block.clone(), digest));
        state.roots.push(root);
        Ok(())
    }

    fn report_equivocation(&self, evidence: Bytes) {
        self.state.lock().unwrap().equivocations.push(evidence);
    }
}

fn test_config(signer: PrivateKey, validators: &[PublicKey]) -> Config {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    Config::new(
        "unused",
        NAMESPACE,
        signer,
        validators
            .iter()
            .map(|key| (key.clone(), address))
            .collect(),
        address,
        GENESIS_ROOT,
    )
}

/// Registers the consensus channels of `key` on the simulated network.
async fn transport(
    oracle: &Oracle<PublicKey, deterministic::Context>,
    key: &PublicKey,
) -> Transport<
    simulated::Control<PublicKey, deterministic::Context>,
    simulated::Manager<PublicKey, deterministic::Context>,
    simulated::Sender<PublicKey, deterministic::Context>,
    simulated::Receiver<PublicKey>,
> {
    let control = oracle.control(key.clone());
    let register = async |channel| control.register(channel, CHANNEL_QUOTA).await.unwrap();
    Transport {
        blocker: control.clone(),
        peers: oracle.manager(),
        votes: register(VOTES).await,
        certificates: register(CERTIFICATES).await,
        resolver: register(RESOLVER).await,
        broadcast: register(BROADCAST).await,
        backfill: register(BACKFILL).await,
    }
}

/// Starts `signers` as validators on a fully linked simulated network, each with its app.
async fn start_network(
    context: &deterministic::Context,
    signers: &[PrivateKey],
    apps: &[TestApp],
) -> Vec<Engine> {
    let keys: Vec<PublicKey> = signers.iter().map(Signer::public_key).collect();
    let oracle = linked_network(context, signers).await;
    start_validators(context, &oracle, &keys, signers, apps).await
}

/// Starts the first `apps.len()` of `signers` on `oracle`'s network, each with its app, in the
/// validator set `keys`.
async fn start_validators(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    keys: &[PublicKey],
    signers: &[PrivateKey],
    apps: &[TestApp],
) -> Vec<Engine> {
    let mut engines = Vec::new();
    for (signer, app) in signers.iter().zip(apps) {
        let transport = transport(oracle, &signer.public_key()).await;
        let config = test_config(signer.clone(), keys);
        let context = context
            .child("validator")
            .with_attribute("index", engines.len());
        engines.push(verity_chain::start(context, config, app.clone(), transport).unwrap());
    }
    engines
}

/// A fully linked simulated network of `signers`.
async fn linked_network(
    context: &deterministic::Context,
    signers: &[PrivateKey],
) -> Oracle<PublicKey, deterministic::Context> {
    let keys: Vec<PublicKey> = signers.iter().map(Signer::public_key).collect();
    let max_size = test_config(signers[0].clone(), &keys).max_message_size();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size,
            max_peers_per_set: NZUsize!(signers.len()),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        keys.clone(),
    )
    .await;
    network.start();
    let link = Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: probability!(1.0),
    };
    for a in &keys {
        for b in &keys {
            if a != b {
                oracle
                    .add_link(a.clone(), b.clone(), link.clone())
                    .await
                    .unwrap();
            }
        }
    }
    oracle
}

/// Sleeps in simulated time until every app has applied `height`.
async fn wait_for_height(context: &deterministic::Context, apps: &[TestApp], height: u64) {
    while apps.iter().any(|app| app.height() < height) {
        context.sleep(Duration::from_millis(50)).await;
    }
}

fn signers(n: u64) -> Vec<PrivateKey> {
    (0..n).map(PrivateKey::from_seed).collect()
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

/// Asserts the chain applied by `app` is well formed: contiguous heights 1..=n each applied
/// once, linked to genesis, increasing timestamps, and state commitments matching the roots the
/// app reported.
fn assert_chain(app: &TestApp, interval_ms: u64) {
    let applied = app.applied();
    let genesis = Block::genesis(NAMESPACE, GENESIS_ROOT);
    let mut parent = (genesis.clone(), genesis.digest().0);
    for (index, (block, digest)) in applied.iter().enumerate() {
        assert_eq!(block.height, index as u64 + 1, "contiguous heights");
        assert_eq!(
            block.digest().0,
            *digest,
            "digest is sha256 of the encoding"
        );
        assert_eq!(block.parent.0, parent.1, "parent link at {}", block.height);
        assert!(
            block.timestamp_ms >= parent.0.timestamp_ms + interval_ms,
            "timestamps increase by at least the block interval"
        );
        assert!(block.state_height >= parent.0.state_height);
        assert!(block.state_height < block.height);
        assert_eq!(
            Some(block.state_root),
            app.state_root(block.state_height),
            "state commitment at {}",
            block.height
        );
        parent = (block.clone(), *digest);
    }
    let heights: Vec<u64> = (1..=applied.len() as u64).collect();
    assert_eq!(
        app.apply_calls(),
        heights,
        "each height handed to the app exactly once, in order"
    );
    let committed = applied.last().map_or(0, |(block, _)| block.state_height);
    assert!(
        applied.len() < 3 || committed > 0,
        "state commitments advance with execution"
    );
}

/// One validator finalizing `blocks` blocks; returns the auditor state and the applied digests.
fn single_validator(seed: u64, blocks: u64) -> (String, Vec<[u8; 32]>) {
    runner(seed).start(|context| async move {
        let app = TestApp::new();
        let _engines = start_network(&context, &signers(1), std::slice::from_ref(&app)).await;
        wait_for_height(&context, std::slice::from_ref(&app), blocks).await;
        assert_chain(&app, BLOCK_INTERVAL_MS);
        let digests = app.applied().iter().map(|(_, digest)| *digest).collect();
        (context.auditor().state(), digests)
    })
}

#[test]
fn single_validator_finalizes_blocks() {
    let started = Instant::now();
    let (_, digests) = single_validator(1, 20);
    assert!(digests.len() >= 20);
    eprintln!(
        "single validator: {} blocks in {:?}",
        digests.len(),
        started.elapsed()
    );
}

#[test]
fn four_validators_apply_the_same_chain() {
    let started = Instant::now();
    runner(2).start(|context| async move {
        let apps: Vec<TestApp> = (0..4).map(|_| TestApp::new()).collect();
        let _engines = start_network(&context, &signers(4), &apps).await;
        wait_for_height(&context, &apps, 12).await;
        let chains: Vec<Vec<[u8; 32]>> = apps
            .iter()
            .map(|app| {
                assert_chain(app, BLOCK_INTERVAL_MS);
                app.applied().iter().map(|(_, digest)| *digest).collect()
            })
            .collect();
        let common = chains.iter().map(Vec::len).min().unwrap();
        assert!(common >= 12);
        for chain in &chains[1..] {
            assert_eq!(chain[..common], chains[0][..common]);
        }
        let with_txs = apps[0]
            .applied()
            .iter()
            .filter(|(block, _)| !block.txs.is_empty())
            .count();
        assert!(with_txs > 0, "transactions are carried");
    });
    eprintln!("four validators: {:?}", started.elapsed());
}

#[test]
fn an_equivocating_validator_is_reported_to_the_application() {
    runner(5).start(|context| async move {
        let signers = signers(4);
        let keys: Vec<PublicKey> = signers.iter().map(Signer::public_key).collect();
        let oracle = linked_network(&context, &signers).await;
        // Three honest validators (quorum 3 of 4)...
        let apps: Vec<TestApp> = (0..3).map(|_| TestApp::new()).collect();
        let _engines = start_validators(&context, &oracle, &keys, &signers, &apps).await;
        // ...and one that, for every notarize vote it sees, signs that proposal and a forged one.
        let byzantine = &signers[3];
        let votes = oracle
            .control(byzantine.public_key())
            .register(VOTES, CHANNEL_QUOTA)
            .await
            .unwrap();
        let scheme = Scheme::signer(
            NAMESPACE,
            Set::from_iter_dedup(keys.iter().cloned()),
            byzantine.clone(),
        )
        .unwrap();
        context
            .child("byzantine")
            .spawn(move |_| equivocate(scheme, votes));

        // Detection is best effort (a vote arriving after its round is certified is not
        // checked), so at least one honest validator reports, and whatever is reported verifies.
        wait_for_height(&context, &apps, 3).await;
        while apps.iter().all(|app| app.equivocations().is_empty()) {
            context.sleep(Duration::from_millis(50)).await;
        }
        for app in &apps {
            for evidence in app.equivocations() {
                let found = verify_equivocation(NAMESPACE, &keys, &evidence).unwrap();
                assert_eq!(found.offender, byzantine.public_key());
                assert_eq!(found.kind, EquivocationKind::ConflictingNotarize);
            }
        }
    });
}

/// Answers every notarize vote received on `votes` with two of its own for that round: one for
/// the same proposal and one for a forged payload.
async fn equivocate(
    scheme: Scheme,
    (mut sender, mut receiver): (
        simulated::Sender<PublicKey, deterministic::Context>,
        simulated::Receiver<PublicKey>,
    ),
) {
    while let Ok((_, message)) = receiver.recv().await {
        let Ok(Vote::Notarize(vote)) = Vote::<Scheme, Digest>::decode(message) else {
            continue;
        };
        let forged = Proposal::new(
            vote.proposal.round,
            vote.proposal.parent,
            Sha256::hash(&[b"forged"]),
        );
        for proposal in [vote.proposal.clone(), forged] {
            let own = Notarize::sign(&scheme, proposal).unwrap();
            sender.send(Recipients::All, Vote::Notarize(own).encode(), true);
        }
    }
}

#[test]
fn restart_resumes_without_reapplying() {
    let started = Instant::now();
    let app = TestApp::new();
    let first = app.clone();
    let (height, checkpoint) = runner(3).start_and_recover(|context| async move {
        let _engines = start_network(&context, &signers(1), std::slice::from_ref(&first)).await;
        wait_for_height(&context, std::slice::from_ref(&first), 10).await;
        first.height()
    });
    let calls_before = app.apply_calls().len();
    let second = app.clone();
    deterministic::Runner::from(checkpoint).start(|context| async move {
        let _engines = start_network(&context, &signers(1), std::slice::from_ref(&second)).await;
        wait_for_height(&context, std::slice::from_ref(&second), height + 10).await;
    });
    assert_chain(&app, BLOCK_INTERVAL_MS);
    let after: Vec<u64> = app.apply_calls()[calls_before..].to_vec();
    assert!(
        after.iter().filter(|&&h| h > 0).all(|&h| h > height),
        "no block at or below {height} was executed again: {after:?}"
    );
    assert!(app.height() >= height + 10);
    eprintln!("restart: {:?}", started.elapsed());
}

#[test]
fn apply_error_stops_the_validator() {
    runner(4).start(|context| async move {
        let app = TestApp::failing_at(3);
        let mut engines = start_network(&context, &signers(1), std::slice::from_ref(&app)).await;
        let error = engines.pop().unwrap().join().await;
        assert!(
            matches!(error, verity_chain::Error::Apply { height: 3, .. }),
            "{error}"
        );
        assert_eq!(app.height(), 2);
    });
}

#[test]
fn same_seed_replays_identically() {
    let started = Instant::now();
    let (state_a, digests_a) = single_validator(9, 10);
    let (state_b, digests_b) = single_validator(9, 10);
    assert_eq!(state_a, state_b);
    assert_eq!(digests_a, digests_b);
    eprintln!("replay: {:?}", started.elapsed());
}

#[test]
fn tokio_validator_on_real_sockets() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let signer = PrivateKey::from_seed(42);
    let mut config = Config::new(
        dir.path(),
        NAMESPACE,
        signer.clone(),
        vec![(signer.public_key(), address)],
        address,
        GENESIS_ROOT,
    );
    config.block_interval = Duration::from_millis(100);
    let app = TestApp::new();
    let runner = verity_chain::tokio_runner(&config, 2);
    let node_app = app.clone();
    runner.start(|context| async move {
        // tokio primitives work inside the commonware tokio runner.
        assert_eq!(tokio::spawn(async { 42 }).await.unwrap(), 42);
        let engine =
            verity_chain::start_validator(context.child("node"), config, node_app.clone()).unwrap();
        let deadline = context.current() + Duration::from_secs(30);
        while node_app.height() < 5 {
            assert!(context.current() < deadline, "no progress on real sockets");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        engine.abort();
    });
    assert_chain(&app, 100);
    eprintln!("tokio: height {} in {:?}", app.height(), started.elapsed());
}
