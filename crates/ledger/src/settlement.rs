//! Settlement: calls whose challenge window has closed are paid out.
//!
//! The queue holds call ids in acceptance order. Because the challenge window is one protocol
//! parameter and block times never decrease, due times are non-decreasing along the queue, so
//! settlement pops from the head while the head is due.
//!
//! A queued call that was sampled for audit, or refunded, is dropped from the queue when it
//! reaches the head: its audit pays it or refunds it.
//!
//! The price is split as: royalty = ⌊price · royalty_bps / 10⁴⌋ (rate fixed at acceptance),
//! verifier = ⌊price · verifier_fee_bps / 10⁴⌋, protocol = ⌊price · protocol_fee_bps / 10⁴⌋,
//! node = price − the other three. Parameters keep the three shares ≤ 10⁴ bps in total, so the
//! node's part is never negative and the four parts always sum to the price exactly.
//!
//! Every payout, whatever its evidence, also counts the call in its node's and model's records
//! ([`crate::records`]).

use crate::{
    StateRead,
    events::{Event, EventRecord},
    execute::{Ctx, MAX_SETTLEMENTS_PER_BLOCK},
    handlers::credit,
    params::Params,
    records,
    state::*,
    types::*,
};

/// Divide `price` between the four parties.
pub fn split(price: Amount, royalty_bps: Bps, params: &Params) -> Split {
    let part =
        |bps: Bps| (u128::from(price) * u128::from(bps) / u128::from(BPS_DENOMINATOR)) as u64;
    let royalty = part(royalty_bps);
    let verifier = part(params.verifier_fee_bps);
    let protocol = part(params.protocol_fee_bps);
    Split {
        node: price - royalty - verifier - protocol,
        royalty,
        verifier,
        protocol,
    }
}

pub(crate) fn settle_due<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    events: &mut Vec<EventRecord>,
) {
    let mut cursor: QueueCursor = ov.get(QUEUE_KEY).unwrap_or_default();
    let start = cursor.head;
    while cursor.head < cursor.tail && ((cursor.head - start) as usize) < MAX_SETTLEMENTS_PER_BLOCK
    {
        let slot = queue_key(cursor.head);
        let id: CallId = ov
            .get(&slot)
            .expect("queue slots between head and tail are filled");
        let mut call: Call = ov.get(&call_key(&id)).expect("queued calls exist");
        if call.settle_after_ms > ctx.time_ms {
            break;
        }
        ov.delete(&slot);
        cursor.head += 1;
        if call.status == CallStatus::Pending {
            pay_out(ov, ctx, &mut call, Evidence::ChallengeWindow, events);
        }
    }
    if cursor.head != start {
        ov.put(QUEUE_KEY, &cursor);
    }
}

/// Pay a call whose price is held out to the four parties, recording `evidence`.
pub(crate) fn pay_out<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    call: &mut Call,
    evidence: Evidence,
    events: &mut Vec<EventRecord>,
) {
    debug_assert!(call.status.holds_price());
    let owner = ov
        .get::<Model>(&model_key(&call.model))
        .expect("accepted calls have registered models")
        .owner;
    let s = split(call.price, call.royalty_bps, ctx.params);
    for (to, amount) in [
        (call.node, s.node),
        (owner, s.royalty),
        (ctx.chain.verifier_pool, s.verifier),
        (ctx.chain.treasury, s.protocol),
    ] {
        if amount > 0 {
            credit(ov, &to, amount).expect("settled amounts come from the fixed supply");
        }
    }
    call.status = CallStatus::Settled {
        height: ctx.height,
        evidence,
    };
    call.split = Some(s);
    ov.put(&call_key(&call.id), call);
    records::paid(ov, call);
    events.push(ctx.record(Event::CallSettled {
        call: call.id,
        caller: call.caller,
        node: call.node,
        model: call.model,
        model_owner: owner,
        mode: call.mode,
        price: call.price,
        split: s,
        evidence,
    }));
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sums_to_price_and_rounds_towards_the_node() {
        let params = Params::default();
        let s = split(1_000_003, 1_000, &params);
        assert_eq!(s.royalty, 100_000);
        assert_eq!(s.verifier, 20_000);
        assert_eq!(s.protocol, 50_000);
        assert_eq!(s.node, 830_003);
        for price in [0, 1, 7, 99, 12_345, u64::MAX / 2] {
            let s = split(price, 3_000, &params);
            assert_eq!(s.node + s.royalty + s.verifier + s.protocol, price);
        }
    }
}
