//! Service records, linkage, declared capacity and the registration burn. Every block checks the
//! supply (burned tokens included) is conserved.

mod common;
use common::*;
use verity_ledger::{
    records::linked,
    state::{self, Model, ModelRecord, ServiceRecord},
    *,
};

fn model(chain: &TestChain, id: &ModelId) -> Model {
    state::read(&chain.state, &state::model_key(id)).unwrap()
}

fn applied(o: TxOutcome) {
    assert_eq!(o.status, TxStatus::Applied, "{o:?}");
}

/// `from` creates `to` with a transfer of `amount`; `to` then deposits half of it in escrow.
fn fund(chain: &mut TestChain, from: &Keypair, to: &Keypair, amount: Amount) {
    applied(chain.run(
        from,
        Payload::Transfer {
            to: to.address(),
            amount,
        },
    ));
    applied(chain.run(to, Payload::EscrowDeposit { amount: amount / 2 }));
}

#[test]
fn paid_calls_count_as_independent_only_when_the_caller_is_not_linked() {
    let mut m = Market::new(1_000_000);
    let (node, owner, caller) = (m.node.clone(), m.owner.clone(), m.caller.clone());
    // The operator pays its own node; a key the operator funded; a key the model owner funded.
    applied(
        m.chain
            .run(&node, Payload::EscrowDeposit { amount: 1_000_000 }),
    );
    let (sock, fan) = (key(20), key(21));
    fund(&mut m.chain, &node, &sock, 2_000_000);
    fund(&mut m.chain, &owner, &fan, 2_000_000);
    assert_eq!(
        m.chain.account(&sock.address()).funded_by,
        Some(node.address())
    );
    assert_eq!(
        m.chain.account(&fan.address()).funded_by,
        Some(owner.address())
    );

    let calls = [&caller, &node, &sock, &fan]
        .iter()
        .map(|who| CallSpec::new(&m.chain, 1).sign(&m.chain, who, &node))
        .collect();
    let out = m.submit(calls);
    assert!(out.calls.iter().all(|c| c.refused.is_none()), "{out:?}");
    // Accepted, not yet paid: nothing counts.
    let n = m.chain.node(&node.address()).unwrap();
    assert_eq!(n.record, ServiceRecord::default());
    assert_eq!(n.served, 4);

    let window = m.chain.params.challenge_window_ms;
    m.chain.block(&[], window);
    let settled = m
        .chain
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::CallSettled { .. }))
        .count();
    assert_eq!(settled, 4);
    // Node: the caller and the owner's fan are independent of the operator; the self-call and
    // the operator's sock are linked.
    assert_eq!(
        m.chain.node(&node.address()).unwrap().record,
        ServiceRecord {
            independent_calls: 2,
            linked_calls: 2,
            audits_passed: 0,
            audits_failed: 0,
            refunded_calls: 0,
        }
    );
    // Model: only the caller is independent of both the owner and the operator.
    assert_eq!(
        model(&m.chain, &model_id(1)).record,
        ModelRecord {
            independent_calls: 1,
            linked_calls: 3,
        }
    );
}

#[test]
fn a_self_call_settles_as_linked_and_pays_like_any_other() {
    let mut m = Market::new(1_000_000);
    let node = m.node.clone();
    applied(
        m.chain
            .run(&node, Payload::EscrowDeposit { amount: 1_000_000 }),
    );
    let call = CallSpec::new(&m.chain, 1).sign(&m.chain, &node, &node);
    let id = call.ticket.id();
    assert!(m.submit(vec![call]).calls[0].refused.is_none());
    m.chain.block(&[], m.chain.params.challenge_window_ms);
    assert!(matches!(
        m.chain.call(&id).unwrap().status,
        state::CallStatus::Settled { .. }
    ));
    let record = m.chain.node(&node.address()).unwrap().record;
    assert_eq!((record.independent_calls, record.linked_calls), (0, 1));
    let record = model(&m.chain, &model_id(1)).record;
    assert_eq!((record.independent_calls, record.linked_calls), (0, 1));
}

#[test]
fn linkage_is_the_direct_funding_edge_and_is_set_once() {
    let mut m = Market::new(1_000_000);
    let (node, caller, owner) = (m.node.clone(), m.caller.clone(), m.owner.clone());
    let (a, b, c, d) = (key(20), key(21), key(22), key(23));
    fund(&mut m.chain, &node, &a, 20_000_000);
    fund(&mut m.chain, &a, &b, 2_000_000);
    fund(&mut m.chain, &caller, &c, 2_000_000);
    fund(&mut m.chain, &caller, &d, 2_000_000);
    // A later transfer to an existing account does not re-link it.
    applied(m.chain.run(
        &owner,
        Payload::Transfer {
            to: a.address(),
            amount: 5,
        },
    ));
    let s = &m.chain.state;
    assert_eq!(
        m.chain.account(&a.address()).funded_by,
        Some(node.address())
    );
    assert_eq!(m.chain.account(&node.address()).funded_by, None, "genesis");
    assert!(linked(s, &node.address(), &node.address()));
    assert!(linked(s, &node.address(), &a.address()));
    assert!(linked(s, &a.address(), &node.address()));
    assert!(linked(s, &a.address(), &b.address()));
    assert!(!linked(s, &node.address(), &b.address()), "two hops");
    assert!(!linked(s, &c.address(), &d.address()), "siblings");
    assert!(linked(s, &caller.address(), &d.address()));
    assert!(
        !linked(s, &owner.address(), &a.address()),
        "a later transfer"
    );
    assert!(!linked(s, &node.address(), &caller.address()));
}

#[test]
fn registration_burns_from_the_balance_and_the_supply_accounts_for_it() {
    let mut chain = TestChain::new(&[(&key(1), FUNDS), (&key(2), FUNDS)]);
    applied(chain.run(&key(1), register_model(1, 1_000)));
    let (stake, burn, fee) = (
        chain.params.min_stake,
        chain.params.registration_burn,
        chain.params.required_fee(0),
    );
    assert_eq!(burn, 10_000_000);
    applied(chain.run(&key(2), register_node(vec![model_id(1)], stake)));
    assert_eq!(
        chain.account(&key(2).address()).balance,
        FUNDS - fee - stake - burn
    );
    assert_eq!(chain.chain_info().burned, burn);
    assert_eq!(chain.chain_info().total_supply, 2 * FUNDS + VALIDATOR_STAKE);
    assert_eq!(chain.total(), chain.supply);
    let node = chain.node(&key(2).address()).unwrap();
    assert_eq!((node.stake, node.hardware.capacity), (stake, 50));
    assert_eq!(node.record, ServiceRecord::default());
    assert!(chain.events.iter().any(|e| e.event
        == Event::RegistrationBurned {
            node: key(2).address(),
            amount: burn
        }));

    // A chain without a burn burns nothing and says nothing.
    let params = Params {
        registration_burn: 0,
        ..Params::default()
    };
    let mut chain = TestChain::with_params(&[(&key(2), FUNDS)], params);
    applied(chain.run(&key(2), register_node(vec![], stake)));
    assert_eq!(
        chain.account(&key(2).address()).balance,
        FUNDS - fee - stake
    );
    assert_eq!(chain.chain_info().burned, 0);
    assert!(
        !chain
            .events
            .iter()
            .any(|e| matches!(e.event, Event::RegistrationBurned { .. }))
    );
}

#[test]
fn a_registration_that_cannot_cover_the_burn_fails_and_costs_only_the_fee() {
    let params = Params::default();
    let (stake, burn, fee) = (
        params.min_stake,
        params.registration_burn,
        params.required_fee(0),
    );
    let (poor, exact) = (key(5), key(6));
    let funds = fee + stake + burn;
    let mut chain = TestChain::new(&[(&poor, funds - 1), (&exact, funds)]);

    // The mempool check refuses it with the numbers and the fix.
    let tx = chain.sign(&poor, register_node(vec![], stake));
    let err = chain
        .ledger
        .check_tx(&chain.state, &tx, chain.time_ms)
        .unwrap_err();
    assert_eq!(
        err,
        TxError::RegistrationUnfunded {
            account: poor.address(),
            stake,
            burn,
            needed: stake + burn,
            available: stake + burn - 1,
            short: 1,
        }
    );
    assert!(err.to_string().contains("verity tx transfer"), "{err}");

    // Included anyway, it fails whole: the fee is charged, nothing is bonded or burned.
    let out = chain.run(&poor, register_node(vec![], stake));
    assert_eq!(failed_code(&out).as_deref(), Some("registration_unfunded"));
    assert_eq!(chain.account(&poor.address()).balance, funds - 1 - fee);
    assert!(chain.node(&poor.address()).is_none());
    assert_eq!(chain.chain_info().burned, 0);

    // Exactly enough registers and leaves nothing.
    applied(chain.run(&exact, register_node(vec![], stake)));
    assert_eq!(chain.account(&exact.address()).balance, 0);
    assert_eq!(chain.chain_info().burned, burn);
}

#[test]
fn zero_capacity_is_refused_at_registration_and_update() {
    let mut chain = TestChain::new(&[(&key(2), FUNDS)]);
    let stake = chain.params.min_stake;
    let zero = |p: Payload| match p {
        Payload::RegisterNode {
            endpoint,
            mut hardware,
            models,
            prices,
            stake,
        } => {
            hardware.capacity = 0;
            Payload::RegisterNode {
                endpoint,
                hardware,
                models,
                prices,
                stake,
            }
        }
        _ => unreachable!(),
    };
    let out = chain.run(&key(2), zero(register_node(vec![], stake)));
    assert_eq!(rejected_code(&out).as_deref(), Some("zero_capacity"));
    assert_eq!(chain.account(&key(2).address()).balance, FUNDS, "no fee");
    assert!(TxError::ZeroCapacity.to_string().contains("--capacity"));

    applied(chain.run(&key(2), register_node(vec![], stake)));
    let Payload::RegisterNode {
        endpoint,
        hardware,
        models,
        prices,
        ..
    } = zero(register_node(vec![], stake))
    else {
        unreachable!()
    };
    let out = chain.run(
        &key(2),
        Payload::UpdateNode {
            endpoint,
            hardware,
            models,
            prices,
        },
    );
    assert_eq!(rejected_code(&out).as_deref(), Some("zero_capacity"));
    assert_eq!(chain.node(&key(2).address()).unwrap().hardware.capacity, 50);
}
