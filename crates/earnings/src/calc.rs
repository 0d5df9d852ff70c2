//! The what-if calculator: the same P&L lines as a ledger day, from assumed traffic instead of
//! events. No network.

use crate::{
    config::EconomicsConfig,
    pnl::{DailyCosts, Hardware, break_even_calls_per_day, payback_days, slash_risk_per_call_usd},
    report::{LedgerDay, PnlLine, Totals, verdict},
};
use serde::{Deserialize, Serialize};

/// The assumed traffic and shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalcInput {
    /// What a caller pays per call, USD.
    pub price_usd: f64,
    /// Calls served per day.
    pub calls_per_day: f64,
    /// Model royalty, basis points of the price.
    pub royalty_bps: u16,
    /// Protocol take, basis points (the ledger default is 500).
    pub protocol_fee_bps: u16,
    /// Verifier fee, basis points (the ledger default is 200).
    pub verifier_fee_bps: u16,
    /// Bonded stake, USD.
    pub stake_usd: f64,
    /// Seconds per day spent proving zk calls.
    pub proving_seconds_per_day: f64,
}

/// The calculator's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalcReport {
    /// The inputs.
    pub input: CalcInput,
    /// The hardware costed.
    pub hardware: Hardware,
    /// One day's P&L.
    #[serde(flatten)]
    pub pnl: PnlLine,
    /// The node's share of one call, USD.
    pub node_share_per_call_usd: f64,
    /// Average daily `net + depreciation − rent_out`.
    pub serving_minus_rent_out_usd_per_day: f64,
    /// Days until serving pays the hardware back; `None` when it never does.
    pub payback_days: Option<f64>,
    /// Days until renting out pays the hardware back; `None` when it never does.
    pub rent_out_payback_days: Option<f64>,
    /// Calls per day at which serving earns what renting out does.
    pub break_even_calls_per_day: Option<f64>,
    /// The comparison in plain words.
    pub verdict: String,
    /// The assumptions used.
    pub config: EconomicsConfig,
}

/// A calculator input was out of range.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalcError {
    /// Shares above 100 % of the price.
    #[error("royalty + protocol + verifier fees = {0} bps exceed 10000 (100 % of the price)")]
    Shares(u32),
    /// A negative or non-finite amount.
    #[error("{0} must be a finite number ≥ 0")]
    Negative(&'static str),
}

/// One day of serving `input` on `hw` under `config`.
pub fn calc(
    hw: &Hardware,
    input: &CalcInput,
    config: &EconomicsConfig,
) -> Result<CalcReport, CalcError> {
    let shares = u32::from(input.royalty_bps)
        + u32::from(input.protocol_fee_bps)
        + u32::from(input.verifier_fee_bps);
    if shares > 10_000 {
        return Err(CalcError::Shares(shares));
    }
    for (name, v) in [
        ("--price", input.price_usd),
        ("--calls-per-day", input.calls_per_day),
        ("--stake-usd", input.stake_usd),
        ("--proving-seconds", input.proving_seconds_per_day),
    ] {
        if !v.is_finite() || v < 0.0 {
            return Err(CalcError::Negative(name));
        }
    }
    let costs = DailyCosts::new(hw, input.stake_usd, config);
    let share = input.price_usd * f64::from(10_000 - shares) / 10_000.0;
    let slash_per_call = slash_risk_per_call_usd(input.stake_usd, config);
    let proof = costs.proof_cost_usd(input.proving_seconds_per_day);
    let slash_risk_usd = input.calls_per_day * slash_per_call;
    let revenue_usd = input.calls_per_day * share;
    let net_usd = revenue_usd
        - costs.electricity_usd
        - costs.depreciation_usd
        - costs.stake_cost_usd
        - slash_risk_usd
        - proof;
    let pnl = PnlLine {
        revenue_usd,
        tx_fees_usd: 0.0,
        slashed_usd: 0.0,
        electricity_usd: costs.electricity_usd,
        depreciation_usd: costs.depreciation_usd,
        stake_cost_usd: costs.stake_cost_usd,
        slash_risk_usd,
        proof_cost_usd: proof,
        net_usd,
        rent_out_usd: costs.rent_out_usd,
    };
    let cash = net_usd + costs.depreciation_usd;
    let totals = Totals {
        ledger: LedgerDay::default(),
        pnl,
        calls_per_day: input.calls_per_day,
        serving_minus_rent_out_usd_per_day: cash - costs.rent_out_usd,
        payback_days: payback_days(hw.price_usd, cash),
        rent_out_payback_days: payback_days(hw.price_usd, costs.rent_out_usd),
        break_even_calls_per_day: break_even_calls_per_day(&costs, proof, share - slash_per_call),
        proof_cost_known: true,
    };
    Ok(CalcReport {
        input: input.clone(),
        hardware: hw.clone(),
        pnl,
        node_share_per_call_usd: share,
        serving_minus_rent_out_usd_per_day: totals.serving_minus_rent_out_usd_per_day,
        payback_days: totals.payback_days,
        rent_out_payback_days: totals.rent_out_payback_days,
        break_even_calls_per_day: totals.break_even_calls_per_day,
        verdict: verdict(hw, &totals, config),
        config: config.clone(),
    })
}
