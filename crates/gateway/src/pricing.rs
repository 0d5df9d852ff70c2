//! Itemized prices: how a call's price divides, exactly as settlement will divide it.
//!
//! For a call of price `P` on a model with royalty `r` the parts are those of
//! [`verity_ledger::settlement::split`] (royalty, verifier fee, protocol fee rounded down, the
//! node gets the rest), so `node + royalty + verifier + protocol == P` always. The
//! `mode_surcharge` is what the node charges for the mode above its `signed` price,
//! `price(mode) − price(signed)`, 0 when the node has no `signed` price, and never more than `P`.

use verity_api::PriceBreakdown;
use verity_ledger::{Amount, Bps, Mode, Params, settlement, state::Node};

/// The breakdown of a call at `price` served by `node` in `mode` of a model with royalty
/// `royalty_bps`.
pub fn breakdown(
    price: Amount,
    node: &Node,
    mode: Mode,
    royalty_bps: Bps,
    params: &Params,
) -> PriceBreakdown {
    let split = settlement::split(price, royalty_bps, params);
    let mode_surcharge = match (node.price(mode), node.price(Mode::Signed)) {
        (Some(listed), Some(signed)) => listed.saturating_sub(signed).min(price),
        _ => 0,
    };
    PriceBreakdown {
        price,
        node: split.node,
        royalty: split.royalty,
        verifier: split.verifier,
        protocol: split.protocol,
        mode_surcharge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_ledger::{Address, HardwareProfile, ModePrice};

    fn node(prices: &[(Mode, Amount)]) -> Node {
        Node {
            operator: Address::of_label("n"),
            endpoint: "http://n".into(),
            hardware: HardwareProfile {
                gpu: "cpu".into(),
                watts: 1,
                cost_usd_cents: 0,
                capacity: 1,
            },
            models: vec![],
            prices: prices
                .iter()
                .map(|&(mode, price)| ModePrice { mode, price })
                .collect(),
            stake: 0,
            unbonding: vec![],
            registered_height: 1,
            served: 0,
            probation_until: 0,
            faults: 0,
            jailed_until_ms: 0,
            enclave_key: None,
            record: Default::default(),
        }
    }

    #[test]
    fn parts_sum_to_the_price_and_surcharge_is_relative_to_signed() {
        let params = Params::default();
        let n = node(&[(Mode::Signed, 1_000), (Mode::Audited, 1_300)]);
        let b = breakdown(1_300, &n, Mode::Audited, 1_000, &params);
        assert_eq!(b.node + b.royalty + b.verifier + b.protocol, 1_300);
        assert_eq!((b.royalty, b.verifier, b.protocol), (130, 26, 65));
        assert_eq!(b.mode_surcharge, 300);
        assert_eq!(
            breakdown(1_000, &n, Mode::Signed, 0, &params).mode_surcharge,
            0
        );
        let no_signed = node(&[(Mode::Zk, 5_000)]);
        assert_eq!(
            breakdown(5_000, &no_signed, Mode::Zk, 0, &params).mode_surcharge,
            0
        );
        let cheaper = node(&[(Mode::Signed, 900), (Mode::Tee, 500)]);
        assert_eq!(
            breakdown(500, &cheaper, Mode::Tee, 0, &params).mode_surcharge,
            0
        );
    }
}
