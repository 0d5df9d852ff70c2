//! Refunds and slashes: what a confirmed offence costs (see [`crate::params::SlashingSchedule`]).
//!
//! # Rules
//! - The affected caller is refunded first and in full: a faulty call's price is still held
//!   (calls under audit or awaiting a proof are never paid out), so the refund returns it to the
//!   caller's escrow and no one else's funds are needed.
//! - The offender loses `slash_bps` of its bonded stake, doubled for each earlier confirmed
//!   offence, at most all of it. Stake already unbonding is not touched: the unbonding period is
//!   at least the challenge window, so calls served before unbonding are judged first.
//! - Of the slashed amount, `reporter_bps` goes to the auditor whose report proved the offence
//!   (none when the offence needs no report: silence, a missed or invalid proof); the rest goes to
//!   the treasury. Nothing of a slash is burned.
//! - The offender is jailed for `jail_ms` (no receipts accepted, no audits reported) and is on
//!   probation for its next `probation_calls` calls.
//! - A node that answers "cannot serve" issues no receipt; it is never sampled, never slashed.

use crate::{
    StateRead,
    events::{Event, EventRecord},
    execute::Ctx,
    handlers::credit,
    records,
    state::*,
    types::*,
};

/// Largest doubling applied for repeat offences (2^8 = 256×).
const MAX_DOUBLINGS: u32 = 8;

/// The stake `node` would lose for `offence` now.
pub fn slash_amount(
    schedule: &crate::params::SlashingSchedule,
    node: &Node,
    offence: Offence,
) -> Amount {
    let rule = schedule.rule(offence);
    let base = u128::from(node.stake) * u128::from(rule.slash_bps) / u128::from(BPS_DENOMINATOR);
    let amount = base << node.faults.min(MAX_DOUBLINGS);
    amount.min(u128::from(node.stake)) as Amount
}

/// Return a held call's price to its caller's escrow and mark it refunded for `offence`.
pub(crate) fn refund<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    call: &mut Call,
    offence: Offence,
    events: &mut Vec<EventRecord>,
) {
    debug_assert!(call.status.holds_price());
    let key = account_key(&call.caller);
    let mut caller: Account = ov.get(&key).unwrap_or_default();
    caller.escrow = caller
        .escrow
        .checked_add(call.price)
        .expect("a refund returns tokens taken from this escrow");
    ov.put(&key, &caller);
    call.status = CallStatus::Refunded {
        height: ctx.height,
        offence,
    };
    ov.put(&call_key(&call.id), call);
    records::refunded(ov, call);
    events.push(ctx.record(Event::CallRefunded {
        call: call.id,
        caller: call.caller,
        node: call.node,
        price: call.price,
        offence,
    }));
}

/// Take the stake `offender` owes for `offence`, pay the reporter's share, jail it.
/// Returns the amount slashed (0 if `offender` is not a node).
pub(crate) fn slash<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    offender: Address,
    offence: Offence,
    reporter: Option<Address>,
    events: &mut Vec<EventRecord>,
) -> Amount {
    let key = node_key(&offender);
    let Some(mut node) = ov.get::<Node>(&key) else {
        return 0;
    };
    let schedule = &ctx.params.slashing;
    let amount = slash_amount(schedule, &node, offence);
    let to_reporter = match reporter {
        Some(_) => {
            (u128::from(amount) * u128::from(schedule.reporter_bps) / u128::from(BPS_DENOMINATOR))
                as Amount
        }
        None => 0,
    };
    let to_treasury = amount - to_reporter;
    node.stake -= amount;
    node.faults = node.faults.saturating_add(1);
    let jail = schedule.rule(offence).jail_ms;
    node.jailed_until_ms = node.jailed_until_ms.max(ctx.time_ms.saturating_add(jail));
    node.probation_until = node.served.saturating_add(ctx.params.audit.probation_calls);
    ov.put(&key, &node);
    if let Some(r) = reporter.filter(|_| to_reporter > 0) {
        credit(ov, &r, to_reporter).expect("slashed stake comes from the fixed supply");
    }
    if to_treasury > 0 {
        credit(ov, &ctx.chain.treasury, to_treasury)
            .expect("slashed stake comes from the fixed supply");
    }
    events.push(ctx.record(Event::Slashed {
        node: offender,
        offence,
        amount,
        reporter,
        to_reporter,
        to_treasury,
        jailed_until_ms: node.jailed_until_ms,
    }));
    amount
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::SlashingSchedule;

    fn node(stake: Amount, faults: u32) -> Node {
        Node {
            operator: Address([1; 20]),
            endpoint: String::new(),
            hardware: HardwareProfile {
                gpu: String::new(),
                watts: 0,
                cost_usd_cents: 0,
                capacity: 1,
            },
            models: vec![],
            prices: vec![],
            stake,
            unbonding: vec![],
            registered_height: 0,
            served: 0,
            probation_until: 0,
            faults,
            jailed_until_ms: 0,
            enclave_key: None,
            record: ServiceRecord::default(),
        }
    }

    #[test]
    fn repeat_offences_double_the_slash_up_to_the_whole_stake() {
        let s = SlashingSchedule::default();
        let o = Offence::AuditMismatch; // 10 %
        assert_eq!(slash_amount(&s, &node(1_000_000, 0), o), 100_000);
        assert_eq!(slash_amount(&s, &node(1_000_000, 1), o), 200_000);
        assert_eq!(slash_amount(&s, &node(1_000_000, 3), o), 800_000);
        assert_eq!(slash_amount(&s, &node(1_000_000, 4), o), 1_000_000);
        assert_eq!(slash_amount(&s, &node(1_000_000, 40), o), 1_000_000);
        assert_eq!(slash_amount(&s, &node(0, 0), o), 0);
    }
}
