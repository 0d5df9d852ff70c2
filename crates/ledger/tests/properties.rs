//! Property tests: random transaction sequences never break the ledger's invariants.
//!
//! - total supply is conserved by every block, burned tokens included (checked inside
//!   `TestChain::block`); every registration burns exactly `registration_burn`;
//! - every paid call counts once in its node's and its model's records, as independent exactly
//!   when its caller is not linked to the operator (and, for the model, to the owner);
//! - a call is accepted at most once and settled at most once;
//! - a replayed ticket is refused as a duplicate; a replayed transaction is rejected;
//! - the same blocks give the same state root.

mod common;
use common::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use verity_ledger::{state, *};

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        from: usize,
        to: usize,
        amount: u64,
    },
    Deposit {
        who: usize,
        amount: u64,
    },
    EscrowWithdraw {
        who: usize,
        amount: u64,
    },
    Withdraw {
        who: usize,
    },
    Register {
        who: usize,
        stake: u64,
    },
    Bond {
        amount: u64,
    },
    Unbond {
        amount: u64,
    },
    Calls {
        caller: usize,
        count: usize,
        price: u64,
        cap: u64,
    },
    ReplayTicket {
        index: usize,
    },
    ReplayTx {
        index: usize,
    },
    Wait {
        ms: u64,
    },
}

/// The callers: the market's caller, two keys it funded, the model owner, and a key the node
/// operator funded (the only one linked to the node).
const USERS: usize = 5;

/// Stake and burn small enough for every user to register a node.
fn params() -> Params {
    Params {
        min_stake: 10_000_000,
        registration_burn: 1_000_000,
        ..Params::default()
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..USERS, 0..USERS, 0..2_000_000u64).prop_map(|(from, to, amount)| Op::Transfer {
            from,
            to,
            amount
        }),
        (0..USERS, 0..5_000_000u64).prop_map(|(who, amount)| Op::Deposit { who, amount }),
        (0..USERS, 0..5_000_000u64).prop_map(|(who, amount)| Op::EscrowWithdraw { who, amount }),
        (0..USERS).prop_map(|who| Op::Withdraw { who }),
        (0..USERS, 0..30_000_000u64).prop_map(|(who, stake)| Op::Register { who, stake }),
        (0..1_000_000u64).prop_map(|amount| Op::Bond { amount }),
        (0..2_000_000u64).prop_map(|amount| Op::Unbond { amount }),
        (0..USERS, 1..6usize, 0..3_000u64, 0..3_000u64).prop_map(|(caller, count, price, cap)| {
            Op::Calls {
                caller,
                count,
                price,
                cap,
            }
        }),
        any::<usize>().prop_map(|index| Op::ReplayTicket { index }),
        any::<usize>().prop_map(|index| Op::ReplayTx { index }),
        (0..40_000u64).prop_map(|ms| Op::Wait { ms }),
    ]
}

struct Run {
    m: Market,
    users: Vec<Keypair>,
    tickets: Vec<PaidCall>,
    applied_txs: Vec<Vec<u8>>,
    next_nonce: u64,
}

impl Run {
    fn new() -> Self {
        let mut m = Market::with_params(3_000_000, params());
        let users = vec![m.caller.clone(), key(10), key(11), m.owner.clone(), key(12)];
        for (from, to) in [(&m.caller, 1), (&m.caller, 2), (&m.node, 4)] {
            let from = from.clone();
            m.chain.run(
                &from,
                Payload::Transfer {
                    to: users[to].address(),
                    amount: 50_000_000,
                },
            );
        }
        // Every user but the market's caller (which has its escrow) can pay for calls at once.
        for u in &users[1..] {
            m.chain.run(u, Payload::EscrowDeposit { amount: 3_000_000 });
        }
        Self {
            m,
            users,
            tickets: Vec::new(),
            applied_txs: Vec::new(),
            next_nonce: 1,
        }
    }

    fn send(&mut self, signer: &Keypair, payload: Payload) -> TxOutcome {
        let tx = self.m.chain.sign(signer, payload);
        let out = self
            .m
            .chain
            .block(std::slice::from_ref(&tx), 700)
            .outcomes
            .remove(0);
        if !matches!(out.status, TxStatus::Rejected { .. }) {
            self.applied_txs.push(tx);
        }
        out
    }

    fn step(&mut self, op: &Op) {
        let node = self.m.node.clone();
        match op.clone() {
            Op::Transfer { from, to, amount } => {
                let (f, t) = (self.users[from].clone(), self.users[to].address());
                self.send(&f, Payload::Transfer { to: t, amount });
            }
            Op::Deposit { who, amount } => {
                let u = self.users[who].clone();
                self.send(&u, Payload::EscrowDeposit { amount });
            }
            Op::EscrowWithdraw { who, amount } => {
                let u = self.users[who].clone();
                self.send(&u, Payload::EscrowWithdraw { amount });
            }
            Op::Withdraw { who } => {
                let u = self.users[who].clone();
                self.send(&u, Payload::Withdraw);
            }
            Op::Register { who, stake } => {
                let u = self.users[who].clone();
                self.send(&u, register_node(vec![model_id(1)], stake));
            }
            Op::Bond { amount } => {
                self.send(&node, Payload::Bond { amount });
            }
            Op::Unbond { amount } => {
                self.send(&node, Payload::Unbond { amount });
            }
            Op::Calls {
                caller,
                count,
                price,
                cap,
            } => {
                let caller = self.users[caller].clone();
                let calls: Vec<PaidCall> = (0..count)
                    .map(|_| {
                        let mut spec = CallSpec::new(&self.m.chain, self.next_nonce);
                        self.next_nonce += 1;
                        spec.price = price;
                        spec.cap = cap;
                        spec.sign(&self.m.chain, &caller, &node)
                    })
                    .collect();
                let out = self.send(
                    &node,
                    Payload::SubmitReceipts {
                        calls: calls.clone(),
                    },
                );
                for (call, verdict) in calls.into_iter().zip(&out.calls) {
                    if verdict.refused.is_none() {
                        self.tickets.push(call);
                    }
                }
            }
            Op::ReplayTicket { index } => {
                if self.tickets.is_empty() {
                    return;
                }
                let call = self.tickets[index % self.tickets.len()].clone();
                let out = self.send(&node, Payload::SubmitReceipts { calls: vec![call] });
                if let TxStatus::Applied = out.status {
                    // Refused as used, or as expired once its expiry has passed: never paid.
                    let code = refusal(&out, 0);
                    assert!(matches!(code, Some("duplicate" | "expired")), "{out:?}");
                }
            }
            Op::ReplayTx { index } => {
                if self.applied_txs.is_empty() {
                    return;
                }
                let tx = self.applied_txs[index % self.applied_txs.len()].clone();
                let out = self.m.chain.block(&[tx], 1).outcomes.remove(0);
                assert_eq!(rejected_code(&out).as_deref(), Some("bad_nonce"));
            }
            Op::Wait { ms } => {
                self.m.chain.block(&[], ms);
            }
        }
    }

    /// The burned total is the burn times the registrations, and the records classify every
    /// paid call by who paid it: only users[4] (funded by the operator) is linked to the node,
    /// and only it and the owner are linked for the model.
    fn check_burns_and_records(&self) {
        let chain = &self.m.chain;
        let registered = chain
            .events
            .iter()
            .filter(|e| matches!(e.event, Event::NodeRegistered { .. }))
            .count() as u64;
        assert_eq!(
            chain.chain_info().burned,
            registered * params().registration_burn
        );
        let (node, owner, sock) = (
            self.m.node.address(),
            self.m.owner.address(),
            self.users[4].address(),
        );
        assert_eq!(chain.account(&sock).funded_by, Some(node));
        let (mut node_linked, mut model_linked, mut total) = (0, 0, 0);
        for e in &chain.events {
            if let Event::CallSettled {
                caller, node: n, ..
            } = &e.event
            {
                assert_eq!(*n, node);
                total += 1;
                node_linked += u64::from(*caller == sock);
                model_linked += u64::from(*caller == sock || *caller == owner);
            }
        }
        let record = chain.node(&node).unwrap().record;
        assert_eq!(
            (record.independent_calls, record.linked_calls),
            (total - node_linked, node_linked)
        );
        assert_eq!(
            (
                record.audits_passed,
                record.audits_failed,
                record.refunded_calls
            ),
            (0, 0, 0)
        );
        let model: state::Model =
            state::read(&chain.state, &state::model_key(&model_id(1))).unwrap();
        assert_eq!(
            (model.record.independent_calls, model.record.linked_calls),
            (total - model_linked, model_linked)
        );
    }

    fn check_calls_paid_once(&self) {
        let mut accepted = BTreeSet::new();
        let mut settled = BTreeMap::new();
        for e in &self.m.chain.events {
            match &e.event {
                Event::CallAccepted { call, .. } => {
                    assert!(accepted.insert(*call), "accepted twice")
                }
                Event::CallSettled {
                    call, price, split, ..
                } => {
                    assert!(accepted.contains(call), "settled without acceptance");
                    assert!(settled.insert(*call, *price).is_none(), "settled twice");
                    assert_eq!(
                        split.node + split.royalty + split.verifier + split.protocol,
                        *price
                    );
                }
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_random_sequences(ops in proptest::collection::vec(op(), 1..40)) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op);
        }
        // Let everything settle.
        run.m.chain.block(&[], 1_000_000);
        run.check_calls_paid_once();
        run.check_burns_and_records();
        let pending = run.m.chain.events.iter().filter(|e| matches!(e.event, Event::CallAccepted { .. })).count();
        let settled = run.m.chain.events.iter().filter(|e| matches!(e.event, Event::CallSettled { .. })).count();
        prop_assert_eq!(pending, settled, "every accepted call settles once its window closes");

        let mut again = Run::new();
        for op in &ops {
            again.step(op);
        }
        again.m.chain.block(&[], 1_000_000);
        prop_assert_eq!(run.m.chain.root(), again.m.chain.root());
    }
}
