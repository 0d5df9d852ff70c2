//! A node's report from a real in-process ledger: its sums equal what the ledger credited.

#[path = "../../ledger/tests/common/mod.rs"]
mod common;

use common::*;
use verity_earnings::{EconomicsConfig, Hardware, NodeInput, Window, day::day_of, node_report};
use verity_ledger::{TxStatus, state::CallStatus};

#[test]
fn sums_equal_the_ledger_to_the_base_unit_across_midnight() {
    let mut m = Market::new(1_000_000);
    // T0 is 22:13:20 UTC; the first batch settles before midnight, the second after.
    let first_day = day_of(m.chain.time_ms);
    let batch: Vec<_> = (1..=30).map(|n| m.call(n)).collect();
    let mut ids: Vec<_> = batch.iter().map(|c| c.ticket.id()).collect();
    assert_eq!(m.submit(batch).status, TxStatus::Applied);
    m.chain.block(&[], 20_000);
    m.chain.block(&[], 2 * 3_600_000);
    assert_eq!(day_of(m.chain.time_ms), first_day + 1);
    let batch: Vec<_> = (31..=50).map(|n| m.call(n)).collect();
    ids.extend(batch.iter().map(|c| c.ticket.id()));
    assert_eq!(m.submit(batch).status, TxStatus::Applied);
    m.chain.block(&[], 20_000);

    let node = m.node.address();
    let settled = ids
        .iter()
        .filter_map(|id| m.chain.call(id))
        .filter(|c| matches!(c.status, CallStatus::Settled { .. }))
        .count() as u64;
    let stake = m.chain.params.min_stake;
    let input = NodeInput {
        node,
        hardware: Hardware::from_profile(EconomicsConfig::default().gpu("cpu").unwrap()),
        stake_base_units: stake,
        proving_seconds: None,
    };
    let window = Window {
        last_day: first_day + 1,
        days: 3,
    };
    let report = node_report(&input, &m.chain.events, window, &EconomicsConfig::default());

    let t = &report.totals.ledger;
    assert_eq!(t.calls, settled);
    assert!(
        settled >= 40,
        "most calls settle; some are held for audit: {settled}"
    );
    // Price 1,000, royalty 10 %, protocol 5 %, verifier 2 %: the node keeps 830 a call.
    assert_eq!(t.gross_paid_base_units, 1_000 * settled);
    assert_eq!(t.royalties_base_units, 100 * settled);
    assert_eq!(t.protocol_base_units, 50 * settled);
    assert_eq!(t.verifier_fees_base_units, 20 * settled);
    assert_eq!(t.node_revenue_base_units, 830 * settled);
    // The node's balance is what it was funded with, less stake, burn and fees, plus what the
    // ledger credited it for calls.
    let balance = m.chain.account(&node).balance;
    assert_eq!(
        balance,
        FUNDS - stake - t.tx_fees_base_units + t.node_revenue_base_units
    );

    // The node registered on the window's second day: the report starts there.
    assert_eq!(report.days.len(), 2);
    let (before, after) = (&report.days[0].ledger, &report.days[1].ledger);
    assert_eq!(before.calls + after.calls, settled);
    assert!(
        before.calls >= 24 && after.calls >= 14,
        "{} / {}",
        before.calls,
        after.calls
    );
    assert_eq!(before.calls_by_mode["signed"], before.calls);
    assert_eq!(report.days[1].date, "2023-11-15");
    assert!(
        report.verdict.ends_with(
            "No hardware price is known, so there is no payback to show: pass --hardware-cost-usd."
        ),
        "{}",
        report.verdict
    );
}
