//! Property tests: random transaction sequences never break the ledger's invariants.
//!
//! - total supply is conserved by every block (checked inside `TestChain::block`);
//! - a call is accepted at most once and settled at most once;
//! - a replayed ticket is refused as a duplicate; a replayed transaction is rejected;
//! - the same blocks give the same state root.

mod common;
use common::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use verity_ledger::*;

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

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, 0..4usize, 0..2_000_000u64).prop_map(|(from, to, amount)| Op::Transfer {
            from,
            to,
            amount
        }),
        (0..4usize, 0..5_000_000u64).prop_map(|(who, amount)| Op::Deposit { who, amount }),
        (0..4usize, 0..5_000_000u64).prop_map(|(who, amount)| Op::EscrowWithdraw { who, amount }),
        (0..4usize).prop_map(|who| Op::Withdraw { who }),
        (0..1_000_000u64).prop_map(|amount| Op::Bond { amount }),
        (0..2_000_000u64).prop_map(|amount| Op::Unbond { amount }),
        (0..4usize, 1..6usize, 0..3_000u64, 0..3_000u64).prop_map(|(caller, count, price, cap)| {
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
        let mut m = Market::new(3_000_000);
        let users = vec![m.caller.clone(), key(10), key(11), m.owner.clone()];
        for u in &users[1..3] {
            let from = m.caller.clone();
            m.chain.run(
                &from,
                Payload::Transfer {
                    to: u.address(),
                    amount: 50_000_000,
                },
            );
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
