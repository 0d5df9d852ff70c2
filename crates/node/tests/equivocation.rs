//! A validator that signs two conflicting notarize votes is slashed once its equivocation is
//! reported: real votes signed with commonware's ed25519 scheme, reported through the
//! application as consensus reports them, executed in a block.

use bytes::Bytes;
use commonware_codec::Encode;
use commonware_consensus::{
    simplex::types::{Activity, ConflictingNotarize, Notarize, Proposal},
    types::{Epoch, Round, View},
};
use commonware_cryptography::{Digestible, Hasher, Sha256, Signer};
use commonware_utils::ordered::Set;
use verity_chain::{Application, Block, BlockLimits, Scheme};
use verity_ledger::{
    Amount, Event, EventRecord, Genesis, GenesisAccount, GenesisValidator, Keypair, Params,
    state::{self, Account, ChainInfo, Validator},
};
use verity_node::{ChainApp, app::kind_key, run::consensus_namespace};
use verity_storage::Order;

const CHAIN: &str = "slash-test";
const STAKE: Amount = 1_000_000_000;
const FUNDS: Amount = 1_000_000;

struct Net {
    app: ChainApp,
    reporter: Keypair,
    offender: Keypair,
    parent: verity_chain::Digest,
    time_ms: u64,
}

fn net(dir: &std::path::Path) -> Net {
    let (reporter, offender) = (Keypair::from_seed(10), Keypair::from_seed(11));
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 1_000,
        params: Params::default(),
        accounts: vec![GenesisAccount {
            address: reporter.address(),
            balance: FUNDS,
        }],
        validators: [&reporter, &offender]
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator {
                public_key: k.public(),
                p2p: format!("127.0.0.1:{}", 2_000 + i),
                stake: STAKE,
            })
            .collect(),
    };
    let namespace = consensus_namespace(CHAIN);
    let store = verity_storage::Store::open(&dir.join("ledger.redb")).unwrap();
    let limits = BlockLimits {
        max_txs: 100,
        max_bytes: 1 << 22,
    };
    let app = ChainApp::open(store, genesis, &namespace, limits, reporter.clone()).unwrap();
    let parent = Block::genesis(&namespace, app.head().state_root.0).digest();
    Net {
        app,
        reporter,
        offender,
        parent,
        time_ms: 1_000,
    }
}

impl Net {
    /// The encoding of two notarize votes `signer` signs for different blocks in `view`, as
    /// consensus reports them.
    fn conflicting_notarize(&self, signer: &Keypair, view: u64) -> Bytes {
        let participants = Set::from_iter_dedup(
            [&self.reporter, &self.offender]
                .iter()
                .map(|k| k.to_consensus_key().public_key()),
        );
        let scheme = Scheme::signer(
            &consensus_namespace(CHAIN),
            participants,
            signer.to_consensus_key(),
        )
        .unwrap();
        let vote = |payload: &[u8]| {
            let round = Round::new(Epoch::zero(), View::new(view));
            let proposal = Proposal::new(round, View::new(view - 1), Sha256::hash(&[payload]));
            Notarize::sign(&scheme, proposal).unwrap()
        };
        Activity::ConflictingNotarize(ConflictingNotarize::new(vote(b"a"), vote(b"b"))).encode()
    }

    /// Propose the mempool's transactions in the next block and execute it.
    fn finalize_next(&mut self) -> usize {
        let (height, root) = self.app.last_applied();
        let txs = self.app.payload(height + 1, 100, 1 << 22);
        self.time_ms += 1_000;
        let block = Block {
            parent: self.parent,
            height: height + 1,
            timestamp_ms: self.time_ms,
            state_height: height,
            state_root: root,
            txs,
        };
        let digest = block.digest();
        self.app.apply(&block, digest.0).unwrap();
        self.parent = digest;
        block.txs.len()
    }

    fn read<T: borsh::BorshDeserialize>(&self, key: &[u8]) -> Option<T> {
        state::read(&self.app.store().snapshot().unwrap(), key)
    }

    fn stake(&self, validator: &Keypair) -> (Amount, bool) {
        let set: Vec<Validator> = self.read(state::VALIDATORS_KEY).unwrap();
        let v = set
            .iter()
            .find(|v| v.public_key == validator.public())
            .unwrap();
        (v.stake, v.slashed)
    }

    fn balance(&self, address: &verity_ledger::Address) -> Amount {
        self.read::<Account>(&state::account_key(address))
            .unwrap_or_default()
            .balance
    }
}

#[test]
fn reported_conflicting_votes_slash_the_signer_and_pay_the_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = net(dir.path());
    let evidence = net.conflicting_notarize(&net.offender, 5);

    // Consensus hands the evidence over; the validator queues its signed report.
    net.app.report_equivocation(evidence.clone());
    assert_eq!(net.app.mempool().len(), 1);
    assert_eq!(net.finalize_next(), 1);

    let params = Params::default();
    let amount = STAKE / 10;
    let to_reporter = amount / 10 + params.base_fee;
    assert_eq!(net.stake(&net.offender), (STAKE - amount, true));
    assert_eq!(net.stake(&net.reporter), (STAKE, false));
    let reporter = net.reporter.address();
    assert_eq!(
        net.balance(&reporter),
        FUNDS - params.base_fee + to_reporter
    );
    let chain: ChainInfo = net.read(state::CHAIN_KEY).unwrap();
    assert_eq!(chain.burned, amount - to_reporter);
    let events = net
        .app
        .store()
        .events_by_index(&kind_key("ValidatorSlashed"), Order::Ascending, None, 10)
        .unwrap();
    assert_eq!(events.len(), 1);
    let record: EventRecord = borsh::from_slice(&events[0].1).unwrap();
    assert_eq!(
        record.event,
        Event::ValidatorSlashed {
            validator: net.offender.public(),
            view: 5,
            amount,
            reporter,
            to_reporter,
            burned: amount - to_reporter,
        }
    );

    // Supply: the only holders are the reporter, the treasury (its fee), the validators'
    // stakes and the burned count.
    assert_eq!(chain.total_supply, FUNDS + 2 * STAKE);
    let held = net.balance(&reporter)
        + net.balance(&chain.treasury)
        + net.stake(&net.reporter).0
        + net.stake(&net.offender).0
        + chain.burned;
    assert_eq!(held, chain.total_supply);

    // The same equivocation is not reported, nor slashed, twice.
    let error = net
        .app
        .report_equivocation_evidence(evidence.to_vec())
        .unwrap_err();
    assert!(error.to_string().contains("already slashed"), "{error}");
    net.app.report_equivocation(evidence);
    assert!(net.app.mempool().is_empty());
}

#[test]
fn forged_evidence_is_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let net = net(dir.path());
    let mut evidence = net.conflicting_notarize(&net.offender, 5).to_vec();
    *evidence.last_mut().unwrap() ^= 1;
    let error = net.app.report_equivocation_evidence(evidence).unwrap_err();
    assert!(error.to_string().contains("do not both verify"), "{error}");
    assert!(net.app.mempool().is_empty());
    assert_eq!(net.stake(&net.offender), (STAKE, false));
}
