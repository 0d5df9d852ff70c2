//! End-to-end flows through the ledger and one negative test per way a transaction can be
//! refused.

mod common;
use common::*;
use verity_ledger::{state::CallStatus, *};

#[test]
fn a_paid_call_settles_into_four_balances() {
    let mut m = Market::new(1_000_000);
    let treasury = m.chain.chain_info().treasury;
    let pool = m.chain.chain_info().verifier_pool;
    let before = |c: &TestChain, a: &Address| c.account(a).balance;
    let (node0, owner0, pool0, treasury0) = (
        before(&m.chain, &m.node.address()),
        before(&m.chain, &m.owner.address()),
        before(&m.chain, &pool),
        before(&m.chain, &treasury),
    );
    let call = m.call(1);
    let id = call.ticket.id();
    let out = m.submit(vec![call]);
    assert_eq!(out.status, TxStatus::Applied);
    assert_eq!(out.calls[0].refused, None);
    let fee = m.chain.params.required_fee(1);
    assert_eq!(
        m.chain.account(&m.caller.address()).escrow,
        1_000_000 - 1_000
    );
    assert_eq!(m.chain.call(&id).unwrap().status, CallStatus::Pending);

    // Not yet: the window is still open.
    m.chain.block(&[], 1_000);
    assert_eq!(m.chain.call(&id).unwrap().status, CallStatus::Pending);
    // Past the window.
    let out = m.chain.block(&[], m.chain.params.challenge_window_ms);
    let settled = &out.events[0].event;
    assert!(matches!(settled, Event::CallSettled { call, .. } if *call == id));
    let call = m.chain.call(&id).unwrap();
    assert!(matches!(call.status, CallStatus::Settled { .. }));
    // 1000 at royalty 10 %, verifier 2 %, protocol 5 %.
    assert_eq!(before(&m.chain, &m.node.address()), node0 - fee + 830);
    assert_eq!(before(&m.chain, &m.owner.address()), owner0 + 100);
    assert_eq!(before(&m.chain, &pool), pool0 + 20);
    assert_eq!(before(&m.chain, &treasury), treasury0 + fee + 50);
}

#[test]
fn refusals_in_a_batch_are_one_by_one() {
    let mut m = Market::new(1_000_000);
    let good = m.call(1);
    let mut over_cap = CallSpec::new(&m.chain, 2);
    over_cap.price = 2_000;
    let over_cap = over_cap.sign(&m.chain, &m.caller, &m.node);
    let mut expired = CallSpec::new(&m.chain, 3);
    expired.expiry_ms = m.chain.time_ms + 500;
    let expired = expired.sign(&m.chain, &m.caller, &m.node);
    let other_node = key(50);
    let wrong_node = CallSpec::new(&m.chain, 4).sign(&m.chain, &m.caller, &other_node);
    let mut forged = m.call(5);
    forged.ticket_signature.0[0] ^= 1;
    let mut forged_receipt = m.call(6);
    forged_receipt.receipt.price -= 1;
    let duplicate = good.clone();
    let mut too_long = CallSpec::new(&m.chain, 7);
    too_long.expiry_ms = m.chain.time_ms + 10 * m.chain.params.max_ticket_lifetime_ms;
    let too_long = too_long.sign(&m.chain, &m.caller, &m.node);
    let mut unknown_model = CallSpec::new(&m.chain, 8);
    unknown_model.model = model_id(9);
    let unknown_model = unknown_model.sign(&m.chain, &m.caller, &m.node);
    let mut zk = CallSpec::new(&m.chain, 9);
    zk.mode = Mode::Zk;
    let zk = zk.sign(&m.chain, &m.caller, &m.node);
    let stranger = key(77);
    let unknown_caller = CallSpec::new(&m.chain, 10).sign(&m.chain, &stranger, &m.node);

    let escrow_before = m.chain.account(&m.caller.address()).escrow;
    let out = m.submit(vec![
        good,
        over_cap,
        expired,
        wrong_node,
        forged,
        forged_receipt,
        duplicate,
        too_long,
        unknown_model,
        zk,
        unknown_caller,
    ]);
    assert_eq!(out.status, TxStatus::Applied);
    let codes: Vec<_> = (0..out.calls.len()).map(|i| refusal(&out, i)).collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("price_above_cap"),
            Some("expired"),
            Some("wrong_node"),
            Some("bad_ticket_signature"),
            Some("bad_receipt_signature"),
            Some("duplicate"),
            Some("lifetime_too_long"),
            Some("unknown_model"),
            Some("mode_not_supported"),
            Some("unknown_caller"),
        ]
    );
    assert_eq!(
        m.chain.account(&m.caller.address()).escrow,
        escrow_before - 1_000,
        "only the good call is charged"
    );
}

#[test]
fn alternative_tickets_sharing_a_nonce_are_paid_at_most_once() {
    let mut m = Market::new(1_000_000);
    let first = CallSpec::new(&m.chain, 9).sign(&m.chain, &m.caller, &m.node);
    let mut spec = CallSpec::new(&m.chain, 9);
    spec.cap = 2_000;
    let alternative = spec.sign(&m.chain, &m.caller, &m.node);
    assert_ne!(first.ticket.id(), alternative.ticket.id());
    let escrow = m.chain.account(&m.caller.address()).escrow;
    // In one batch and in a later batch, the second ticket with the same nonce is refused.
    let out = m.submit(vec![first, alternative.clone()]);
    assert_eq!(refusal(&out, 0), None);
    assert_eq!(refusal(&out, 1), Some("nonce_used"));
    assert_eq!(refusal(&m.submit(vec![alternative]), 0), Some("nonce_used"));
    assert_eq!(m.chain.account(&m.caller.address()).escrow, escrow - 1_000);
}

#[test]
fn a_replayed_ticket_is_refused_and_paid_once() {
    let mut m = Market::new(1_000_000);
    let call = m.call(1);
    assert_eq!(refusal(&m.submit(vec![call.clone()]), 0), None);
    let escrow = m.chain.account(&m.caller.address()).escrow;
    // Replayed in a later batch, before and after settlement.
    assert_eq!(refusal(&m.submit(vec![call.clone()]), 0), Some("duplicate"));
    m.chain.block(&[], m.chain.params.challenge_window_ms + 1);
    assert_eq!(refusal(&m.submit(vec![call]), 0), Some("duplicate"));
    assert_eq!(m.chain.account(&m.caller.address()).escrow, escrow);
    let settled = m
        .chain
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::CallSettled { .. }))
        .count();
    assert_eq!(settled, 1);
}

#[test]
fn escrow_shortfall_refuses_only_the_calls_it_cannot_cover() {
    let mut m = Market::new(2_500);
    let out = m.submit(vec![m.call(1), m.call(2), m.call(3)]);
    let codes: Vec<_> = (0..3).map(|i| refusal(&out, i)).collect();
    assert_eq!(codes, vec![None, None, Some("insufficient_escrow")]);
    assert_eq!(m.chain.account(&m.caller.address()).escrow, 500);
}

#[test]
fn replayed_transaction_is_rejected() {
    let mut m = Market::new(1_000);
    let to = key(60).address();
    let tx = m.chain.sign(&m.caller, Payload::Transfer { to, amount: 5 });
    assert_eq!(
        m.chain.block(std::slice::from_ref(&tx), 1).outcomes[0].status,
        TxStatus::Applied
    );
    let again = m.chain.block(&[tx], 1);
    assert_eq!(
        rejected_code(&again.outcomes[0]).as_deref(),
        Some("bad_nonce")
    );
    assert_eq!(m.chain.account(&to).balance, 5);
}

#[test]
fn forged_signature_is_rejected_without_any_change() {
    let mut m = Market::new(1_000);
    let to = key(60).address();
    let tx = m.chain.sign(&m.caller, Payload::Transfer { to, amount: 5 });
    let mut stx = SignedTransaction::decode(&tx, 1 << 20).unwrap();
    stx.signature.0[10] ^= 0x40;
    let before = m.chain.account(&m.caller.address());
    let out = m.chain.block(&[stx.encode()], 1);
    assert_eq!(
        rejected_code(&out.outcomes[0]).as_deref(),
        Some("invalid_signature")
    );
    assert_eq!(m.chain.account(&m.caller.address()), before);
    assert_eq!(m.chain.account(&to).balance, 0);
    // Signed for another chain.
    let other = Transaction {
        signer: m.caller.public(),
        nonce: before.nonce,
        fee: 10_000,
        payload: Payload::Transfer { to, amount: 5 },
    }
    .sign(&m.caller, &Namespaces::new("other-chain"));
    let out = m.chain.block(&[other.encode()], 1);
    assert_eq!(
        rejected_code(&out.outcomes[0]).as_deref(),
        Some("invalid_signature")
    );
}

#[test]
fn malformed_bytes_are_rejected_and_the_block_goes_on() {
    let mut m = Market::new(1_000);
    let to = key(60).address();
    let good = m.chain.sign(&m.caller, Payload::Transfer { to, amount: 5 });
    let out = m.chain.block(&[vec![1, 2, 3], vec![], good], 1);
    assert_eq!(
        rejected_code(&out.outcomes[0]).as_deref(),
        Some("malformed_tx")
    );
    assert_eq!(
        rejected_code(&out.outcomes[1]).as_deref(),
        Some("malformed_tx")
    );
    assert_eq!(out.outcomes[2].status, TxStatus::Applied);
    let huge = vec![0u8; m.chain.params.max_tx_bytes as usize + 1];
    let out = m.chain.block(&[huge], 1);
    assert_eq!(
        rejected_code(&out.outcomes[0]).as_deref(),
        Some("tx_too_large")
    );
}

#[test]
fn nonce_fee_and_balance_rejections() {
    let mut m = Market::new(1_000);
    let to = key(60).address();
    let nonce = m.chain.account(&m.caller.address()).nonce;
    let ahead = m
        .chain
        .sign_with(&m.caller, Payload::Transfer { to, amount: 1 }, nonce + 1);
    let out = m.chain.block(&[ahead], 1);
    assert_eq!(
        rejected_code(&out.outcomes[0]).as_deref(),
        Some("bad_nonce")
    );

    let cheap = Transaction {
        signer: m.caller.public(),
        nonce,
        fee: m.chain.params.base_fee - 1,
        payload: Payload::Transfer { to, amount: 1 },
    }
    .sign(&m.caller, m.chain.ledger.namespaces())
    .encode();
    let out = m.chain.block(&[cheap], 1);
    assert_eq!(
        rejected_code(&out.outcomes[0]).as_deref(),
        Some("fee_too_low")
    );

    let pauper = key(61);
    let out = m.chain.run(&pauper, Payload::Transfer { to, amount: 1 });
    assert_eq!(rejected_code(&out).as_deref(), Some("insufficient_balance"));

    let out = m.chain.run(
        &m.caller.clone(),
        Payload::Transfer {
            to,
            amount: FUNDS * 2,
        },
    );
    assert_eq!(failed_code(&out).as_deref(), Some("insufficient_balance"));
    assert_eq!(
        out.fee_paid, m.chain.params.base_fee,
        "a failed payload still pays its fee"
    );
    let out = m
        .chain
        .run(&m.caller.clone(), Payload::Transfer { to, amount: 0 });
    assert_eq!(rejected_code(&out).as_deref(), Some("zero_amount"));
}

#[test]
fn model_registration_rules() {
    let (a, b) = (key(1), key(2));
    let mut c = TestChain::new(&[(&a, FUNDS), (&b, FUNDS)]);
    assert_eq!(c.run(&a, register_model(1, 500)).status, TxStatus::Applied);
    let again = c.run(&b, register_model(1, 500));
    assert_eq!(failed_code(&again).as_deref(), Some("model_exists"));
    let high = c.run(&a, register_model(2, 9_000));
    assert_eq!(rejected_code(&high).as_deref(), Some("royalty_too_high"));
    let mut bad_shape = register_model(3, 0);
    if let Payload::RegisterModel { input, .. } = &mut bad_shape {
        input.shape = vec![1, 0];
    }
    assert_eq!(
        rejected_code(&c.run(&a, bad_shape)).as_deref(),
        Some("invalid_input_spec")
    );
    let mut no_modes = register_model(4, 0);
    if let Payload::RegisterModel { modes, .. } = &mut no_modes {
        modes.clear();
    }
    assert_eq!(
        rejected_code(&c.run(&a, no_modes)).as_deref(),
        Some("invalid_modes")
    );
    let update = Payload::UpdateModel {
        model: model_id(1),
        royalty_bps: 100,
        modes: vec![Mode::Zk],
    };
    assert_eq!(
        failed_code(&c.run(&b, update.clone())).as_deref(),
        Some("not_model_owner")
    );
    assert_eq!(c.run(&a, update).status, TxStatus::Applied);
    let unknown = Payload::UpdateModel {
        model: model_id(8),
        royalty_bps: 100,
        modes: vec![Mode::Zk],
    };
    assert_eq!(
        failed_code(&c.run(&a, unknown)).as_deref(),
        Some("unknown_model")
    );
}

#[test]
fn node_registration_staking_and_unbonding() {
    let (owner, n) = (key(1), key(2));
    let mut c = TestChain::new(&[(&owner, FUNDS), (&n, FUNDS)]);
    c.run(&owner, register_model(1, 0));
    let min = c.params.min_stake;
    let low = c.run(&n, register_node(vec![model_id(1)], min - 1));
    assert_eq!(failed_code(&low).as_deref(), Some("stake_below_minimum"));
    let unknown = c.run(&n, register_node(vec![model_id(5)], min));
    assert_eq!(failed_code(&unknown).as_deref(), Some("unknown_model"));
    let mut long = register_node(vec![model_id(1)], min);
    if let Payload::RegisterNode { endpoint, .. } = &mut long {
        *endpoint = "x".repeat(10_000);
    }
    assert_eq!(
        rejected_code(&c.run(&n, long)).as_deref(),
        Some("text_too_long")
    );
    assert_eq!(
        c.run(&n, register_node(vec![model_id(1)], min)).status,
        TxStatus::Applied
    );
    let twice = c.run(&n, register_node(vec![model_id(1)], min));
    assert_eq!(failed_code(&twice).as_deref(), Some("node_exists"));
    assert_eq!(c.node(&n.address()).unwrap().stake, min);

    assert_eq!(
        c.run(&n, Payload::Bond { amount: 500 }).status,
        TxStatus::Applied
    );
    let too_much = c.run(&n, Payload::Unbond { amount: min + 501 });
    assert_eq!(
        failed_code(&too_much).as_deref(),
        Some("insufficient_stake")
    );
    assert_eq!(
        c.run(&n, Payload::Unbond { amount: 700 }).status,
        TxStatus::Applied
    );
    let early = c.run(&n, Payload::Withdraw);
    assert_eq!(failed_code(&early).as_deref(), Some("nothing_to_withdraw"));
    let balance = c.account(&n.address()).balance;
    c.block(&[], c.params.unbonding_period_ms);
    assert_eq!(c.run(&n, Payload::Withdraw).status, TxStatus::Applied);
    assert_eq!(
        c.account(&n.address()).balance,
        balance + 700 - c.params.base_fee
    );
    assert_eq!(c.node(&n.address()).unwrap().stake, min - 200);

    // Below the minimum, the node's receipts are no longer accepted.
    let stranger = key(4);
    let out = c.run(&stranger, Payload::Unbond { amount: 1 });
    assert_eq!(rejected_code(&out).as_deref(), Some("insufficient_balance"));
    let batch = Payload::SubmitReceipts {
        calls: vec![CallSpec::new(&c, 1).sign(&c, &owner, &n)],
    };
    assert_eq!(
        failed_code(&c.run(&n, batch)).as_deref(),
        Some("stake_below_minimum")
    );
}

#[test]
fn escrow_withdrawal_waits_for_the_unlock_period_and_keeps_paying() {
    let mut m = Market::new(10_000);
    let caller = m.caller.clone();
    let too_much = m
        .chain
        .run(&caller, Payload::EscrowWithdraw { amount: 10_001 });
    assert_eq!(
        failed_code(&too_much).as_deref(),
        Some("insufficient_escrow")
    );
    assert_eq!(
        m.chain
            .run(&caller, Payload::EscrowWithdraw { amount: 10_000 })
            .status,
        TxStatus::Applied
    );
    // A ticket signed before the request is still paid.
    assert_eq!(refusal(&m.submit(vec![m.call(1)]), 0), None);
    let early = m.chain.run(&caller, Payload::Withdraw);
    assert_eq!(failed_code(&early).as_deref(), Some("nothing_to_withdraw"));
    m.chain.block(&[], m.chain.params.escrow_unlock_ms);
    let balance = m.chain.account(&caller.address()).balance;
    assert_eq!(
        m.chain.run(&caller, Payload::Withdraw).status,
        TxStatus::Applied
    );
    let account = m.chain.account(&caller.address());
    assert_eq!(account.escrow, 0);
    assert_eq!(account.balance, balance + 9_000 - m.chain.params.base_fee);
}

#[test]
fn receipt_batch_limits() {
    let mut m = Market::new(1_000);
    let empty = m.submit(vec![]);
    assert_eq!(rejected_code(&empty).as_deref(), Some("empty_batch"));
    let params = Params {
        max_calls_per_batch: 2,
        ..Params::default()
    };
    let (owner, node, caller) = (key(1), key(2), key(3));
    let mut c =
        TestChain::with_params(&[(&owner, FUNDS), (&node, FUNDS), (&caller, FUNDS)], params);
    let calls = (0..3)
        .map(|i| CallSpec::new(&c, i).sign(&c, &caller, &node))
        .collect();
    let out = c.run(&node, Payload::SubmitReceipts { calls });
    assert_eq!(rejected_code(&out).as_deref(), Some("batch_too_large"));
    let calls = vec![CallSpec::new(&c, 1).sign(&c, &caller, &node)];
    let out = c.run(&node, Payload::SubmitReceipts { calls });
    assert_eq!(failed_code(&out).as_deref(), Some("unknown_node"));
}

#[test]
fn check_tx_explains_before_inclusion() {
    let mut m = Market::new(1_000_000);
    let call = m.call(1);
    m.submit(vec![call.clone()]);
    let replay = m
        .chain
        .sign(&m.node, Payload::SubmitReceipts { calls: vec![call] });
    let err = m
        .chain
        .ledger
        .check_tx(&m.chain.state, &replay, m.chain.time_ms)
        .unwrap_err();
    assert_eq!(err.code(), "duplicate");
    assert!(err.to_string().contains("already used"), "{err}");
    let fresh = m.chain.sign(
        &m.node,
        Payload::SubmitReceipts {
            calls: vec![m.call(2)],
        },
    );
    let ok = m
        .chain
        .ledger
        .check_tx(&m.chain.state, &fresh, m.chain.time_ms)
        .unwrap();
    assert_eq!(ok.calls.len(), 1);
    let err = m
        .chain
        .ledger
        .check_tx(&m.chain.state, b"garbage", 0)
        .unwrap_err();
    assert_eq!(err.code(), "malformed_tx");
}

#[test]
fn same_blocks_same_root() {
    let run = || {
        let mut m = Market::new(1_000_000);
        m.submit(vec![m.call(1), m.call(2)]);
        m.chain.block(&[], 20_000);
        m.chain.root()
    };
    assert_eq!(run(), run());
}

#[test]
fn node_and_escrow_operations_need_a_node_and_funds() {
    let (a, poor) = (key(1), key(2));
    let mut c = TestChain::new(&[(&a, FUNDS), (&poor, 5_000)]);
    c.run(&a, register_model(1, 0));
    let update = Payload::UpdateNode {
        endpoint: "http://x".into(),
        hardware: HardwareProfile {
            gpu: "cpu".into(),
            watts: 1,
            cost_usd_cents: 0,
            capacity: 50,
        },
        models: vec![model_id(1)],
        prices: vec![ModePrice {
            mode: Mode::Signed,
            price: 1,
        }],
    };
    assert_eq!(
        failed_code(&c.run(&a, update)).as_deref(),
        Some("unknown_node")
    );
    assert_eq!(
        failed_code(&c.run(&a, Payload::Bond { amount: 5 })).as_deref(),
        Some("unknown_node")
    );
    assert_eq!(
        failed_code(&c.run(&a, Payload::Unbond { amount: 5 })).as_deref(),
        Some("unknown_node")
    );
    let deposit = c.run(&poor, Payload::EscrowDeposit { amount: 10_000 });
    assert_eq!(
        failed_code(&deposit).as_deref(),
        Some("insufficient_balance")
    );
    assert_eq!(c.account(&poor.address()).escrow, 0);
    let mut dup_prices = register_node(vec![model_id(1)], c.params.min_stake);
    if let Payload::RegisterNode { prices, .. } = &mut dup_prices {
        prices.push(prices[0]);
    }
    assert_eq!(
        rejected_code(&c.run(&a, dup_prices)).as_deref(),
        Some("invalid_modes")
    );
    let too_many = register_node(
        (0..=c.params.max_models_per_node)
            .map(|i| Hash32([i as u8; 32]))
            .collect(),
        c.params.min_stake,
    );
    assert_eq!(
        rejected_code(&c.run(&a, too_many)).as_deref(),
        Some("too_many_models")
    );
}
