//! An in-memory chain for driving the ledger in tests.
#![allow(dead_code)]

use commonware_cryptography::lthash::LtHash;
use std::collections::BTreeMap;
use verity_ledger::{
    state::{self, Account, Call, Node},
    *,
};

pub const CHAIN: &str = "test-chain";
/// The genesis stake of the test chain's validator (key 999).
pub const VALIDATOR_STAKE: Amount = 5_000_000_000;
pub const T0: TimeMs = 1_700_000_000_000;

pub struct TestChain {
    pub ledger: Ledger,
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
    pub commitment: LtHash,
    pub height: u64,
    pub time_ms: TimeMs,
    pub params: Params,
    pub supply: Amount,
    pub events: Vec<EventRecord>,
}

pub fn key(seed: u64) -> Keypair {
    Keypair::from_seed(seed)
}

impl TestChain {
    pub fn new(funded: &[(&Keypair, Amount)]) -> Self {
        Self::with_params(funded, Params::default())
    }

    pub fn with_params(funded: &[(&Keypair, Amount)], params: Params) -> Self {
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: T0,
            params: params.clone(),
            accounts: funded
                .iter()
                .map(|(k, b)| GenesisAccount {
                    address: k.address(),
                    balance: *b,
                })
                .collect(),
            validators: vec![GenesisValidator {
                public_key: key(999).public(),
                p2p: "127.0.0.1:1".into(),
                stake: VALIDATOR_STAKE,
            }],
        };
        let out = Ledger::genesis(&genesis).unwrap();
        let mut chain = Self {
            ledger: Ledger::new(CHAIN),
            state: BTreeMap::new(),
            commitment: out.commitment.clone(),
            height: 0,
            time_ms: T0,
            params,
            supply: genesis.total_supply(),
            events: Vec::new(),
        };
        chain.apply(out.changes);
        chain
    }

    fn apply(&mut self, changes: state::ChangeSet) {
        for (k, v) in changes {
            match v {
                Some(v) => self.state.insert(k, v),
                None => self.state.remove(&k),
            };
        }
    }

    /// Execute a block `advance_ms` after the previous one.
    pub fn block(&mut self, txs: &[Vec<u8>], advance_ms: TimeMs) -> BlockOutput {
        let time = self.time_ms + advance_ms;
        let out = self
            .ledger
            .execute_block(&self.state, &self.commitment, self.height + 1, time, txs)
            .unwrap();
        self.height += 1;
        self.time_ms = time;
        self.commitment = out.commitment.clone();
        self.events.extend(out.events.iter().cloned());
        self.apply(out.changes.clone());
        assert_eq!(
            self.total(),
            self.supply,
            "supply changed at height {}",
            self.height
        );
        out
    }

    /// One transaction in its own block; returns its outcome.
    pub fn run(&mut self, signer: &Keypair, payload: Payload) -> TxOutcome {
        let tx = self.sign(signer, payload);
        self.block(&[tx], 1_000).outcomes.remove(0)
    }

    pub fn sign(&self, signer: &Keypair, payload: Payload) -> Vec<u8> {
        let nonce = self.account(&signer.address()).nonce;
        self.sign_with(signer, payload, nonce)
    }

    pub fn sign_with(&self, signer: &Keypair, payload: Payload, nonce: u64) -> Vec<u8> {
        let calls = payload.call_count();
        Transaction {
            signer: signer.public(),
            nonce,
            fee: self.params.required_fee(calls),
            payload,
        }
        .sign(signer, self.ledger.namespaces())
        .encode()
    }

    pub fn account(&self, a: &Address) -> Account {
        state::read(&self.state, &state::account_key(a)).unwrap_or_default()
    }

    pub fn node(&self, a: &Address) -> Option<Node> {
        state::read(&self.state, &state::node_key(a))
    }

    pub fn call(&self, id: &CallId) -> Option<Call> {
        state::read(&self.state, &state::call_key(id))
    }

    pub fn chain_info(&self) -> state::ChainInfo {
        state::read(&self.state, state::CHAIN_KEY).unwrap()
    }

    /// Sum of every token wherever it is held, plus the tokens burned.
    pub fn total(&self) -> Amount {
        state::held_supply(&self.state) as Amount
    }

    pub fn root(&self) -> Hash32 {
        state::state_root(&self.commitment)
    }
}

pub fn model_id(n: u8) -> ModelId {
    Hash32([n; 32])
}

pub fn register_model(n: u8, royalty_bps: Bps) -> Payload {
    Payload::RegisterModel {
        model: model_id(n),
        name: format!("digits-{n}"),
        royalty_bps,
        input: InputSpec {
            shape: vec![1, 64],
            dtype: DType::F32,
        },
        modes: vec![Mode::Signed, Mode::Audited],
    }
}

pub fn register_node(models: Vec<ModelId>, stake: Amount) -> Payload {
    Payload::RegisterNode {
        endpoint: "http://127.0.0.1:9000".into(),
        hardware: HardwareProfile {
            gpu: "rtx-4090".into(),
            watts: 450,
            cost_usd_cents: 159_900,
            capacity: 50,
        },
        models,
        prices: vec![
            ModePrice {
                mode: Mode::Signed,
                price: 1_000,
            },
            ModePrice {
                mode: Mode::Audited,
                price: 1_200,
            },
        ],
        stake,
    }
}

/// A signed ticket + receipt for one call.
pub struct CallSpec {
    pub nonce: u64,
    pub price: Amount,
    pub cap: Amount,
    pub expiry_ms: TimeMs,
    pub model: ModelId,
    pub mode: Mode,
}

impl CallSpec {
    pub fn new(chain: &TestChain, nonce: u64) -> Self {
        Self {
            nonce,
            price: 1_000,
            cap: 1_500,
            expiry_ms: chain.time_ms + 60_000,
            model: model_id(1),
            mode: Mode::Signed,
        }
    }

    pub fn sign(&self, chain: &TestChain, caller: &Keypair, node: &Keypair) -> PaidCall {
        let ns = chain.ledger.namespaces();
        let ticket = Ticket {
            caller: caller.address(),
            model: self.model,
            node: node.address(),
            input_hash: Hash32([self.nonce as u8; 32]),
            mode: self.mode,
            price_cap: self.cap,
            nonce: self.nonce,
            expiry_ms: self.expiry_ms,
        };
        let receipt = Receipt {
            ticket: ticket.id(),
            output_hash: Hash32([7; 32]),
            price: self.price,
            time_ms: chain.time_ms,
        };
        PaidCall {
            ticket_signature: ticket.sign(caller, ns),
            receipt_signature: receipt.sign(node, ns),
            ticket,
            receipt,
        }
    }
}

/// A chain with model 1 (owner `owner`, royalty 10 %), node `node` serving it, and `caller`
/// holding `escrow` in escrow.
pub struct Market {
    pub chain: TestChain,
    pub owner: Keypair,
    pub node: Keypair,
    pub caller: Keypair,
}

pub const FUNDS: Amount = 10_000_000_000;

impl Market {
    pub fn new(escrow: Amount) -> Self {
        Self::with_params(escrow, Params::default())
    }

    pub fn with_params(escrow: Amount, params: Params) -> Self {
        let (owner, node, caller) = (key(1), key(2), key(3));
        let mut chain =
            TestChain::with_params(&[(&owner, FUNDS), (&node, FUNDS), (&caller, FUNDS)], params);
        assert_eq!(
            chain.run(&owner, register_model(1, 1_000)).status,
            TxStatus::Applied
        );
        let stake = chain.params.min_stake;
        assert_eq!(
            chain
                .run(&node, register_node(vec![model_id(1)], stake))
                .status,
            TxStatus::Applied
        );
        assert_eq!(
            chain
                .run(&caller, Payload::EscrowDeposit { amount: escrow })
                .status,
            TxStatus::Applied
        );
        Self {
            chain,
            owner,
            node,
            caller,
        }
    }

    pub fn submit(&mut self, calls: Vec<PaidCall>) -> TxOutcome {
        let node = self.node.clone();
        self.chain.run(&node, Payload::SubmitReceipts { calls })
    }

    pub fn call(&self, nonce: u64) -> PaidCall {
        CallSpec::new(&self.chain, nonce).sign(&self.chain, &self.caller, &self.node)
    }
}

pub fn refusal(outcome: &TxOutcome, i: usize) -> Option<&'static str> {
    outcome.calls[i].refused.as_ref().map(|r| r.code())
}

pub fn rejected_code(outcome: &TxOutcome) -> Option<String> {
    match &outcome.status {
        TxStatus::Rejected { code, .. } => Some(code.clone()),
        _ => None,
    }
}

pub fn failed_code(outcome: &TxOutcome) -> Option<String> {
    match &outcome.status {
        TxStatus::Failed { code, .. } => Some(code.clone()),
        _ => None,
    }
}
