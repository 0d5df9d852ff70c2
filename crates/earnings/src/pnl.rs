//! The daily cost model of `ECONOMICS.md` §3 for one piece of hardware, in USD per day.

use crate::config::{EconomicsConfig, GpuProfile};
use serde::{Deserialize, Serialize};
use verity_ledger::HardwareProfile;

/// Seconds in a day.
pub const SECONDS_PER_DAY: f64 = 86_400.0;

/// The hardware a P&L is computed for: a GPU class, with the operator's declared figures
/// replacing the class defaults where given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    /// GPU class (a [`GpuProfile`] name).
    pub gpu: String,
    /// Load draw of the accelerator, in watts.
    pub watts: f64,
    /// Purchase price, USD.
    pub price_usd: f64,
    /// Depreciation period, years.
    pub life_years: f64,
    /// Resale fraction at end of life.
    pub salvage: f64,
    /// Rent-out price per hour, USD (before the marketplace fee).
    pub rent_usd_per_hour: f64,
}

impl Hardware {
    /// The class defaults of `profile`.
    pub fn from_profile(profile: &GpuProfile) -> Self {
        Hardware {
            gpu: profile.name.clone(),
            watts: profile.watts,
            price_usd: profile.price_usd,
            life_years: profile.life_years,
            salvage: profile.salvage,
            rent_usd_per_hour: profile.rent_usd_per_hour,
        }
    }

    /// The hardware a node declared on the ledger, costed with `config`: the profile of its
    /// GPU name, with its declared watts and purchase price where it gave them (non-zero).
    /// `None` when `config` has no profile of that name.
    pub fn declared(config: &EconomicsConfig, declared: &HardwareProfile) -> Option<Self> {
        let mut hw = Self::from_profile(config.gpu(&declared.gpu)?);
        if declared.watts > 0 {
            hw.watts = f64::from(declared.watts);
        }
        if declared.cost_usd_cents > 0 {
            hw.price_usd = declared.cost_usd_cents as f64 / 100.0;
        }
        Some(hw)
    }
}

/// The time-based costs of running the hardware for a day, and what renting it out instead
/// would earn. All USD per day.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyCosts {
    /// `(gpu_watts + host_watts) × 24 h × utilisation_power_factor × PUE × price_kwh / 1000`.
    pub electricity_usd: f64,
    /// `price × (1 − salvage) / (365 × life_years)`.
    pub depreciation_usd: f64,
    /// `stake × yield / 365`.
    pub stake_cost_usd: f64,
    /// `rent_per_h × 24 × occupancy × (1 − marketplace_fee) − electricity`: the cash a day of
    /// renting the same hardware out brings, before depreciation.
    pub rent_out_usd: f64,
}

impl DailyCosts {
    /// The costs of `hw` with `stake_usd` bonded, under `config`.
    pub fn new(hw: &Hardware, stake_usd: f64, config: &EconomicsConfig) -> Self {
        let electricity_usd = (hw.watts + config.host_watts)
            * 24.0
            * config.utilisation_power_factor
            * config.pue
            * config.usd_per_kwh
            / 1000.0;
        let depreciation_usd = hw.price_usd * (1.0 - hw.salvage) / (365.0 * hw.life_years);
        let stake_cost_usd = stake_usd * config.stake_yield / 365.0;
        let rent_out_usd =
            hw.rent_usd_per_hour * 24.0 * config.occupancy * (1.0 - config.marketplace_fee)
                - electricity_usd;
        DailyCosts {
            electricity_usd,
            depreciation_usd,
            stake_cost_usd,
            rent_out_usd,
        }
    }

    /// What `seconds` of proving cost: electricity and depreciation per second of the day.
    pub fn proof_cost_usd(&self, seconds: f64) -> f64 {
        seconds * (self.electricity_usd + self.depreciation_usd) / SECONDS_PER_DAY
    }
}

/// Expected slashing cost of one call: `p × (f + fault_rate) × S`, with `S` the stake at risk.
pub fn slash_risk_per_call_usd(stake_usd: f64, config: &EconomicsConfig) -> f64 {
    config.audit_rate * (config.false_positive_rate + config.fault_rate) * stake_usd
}

/// Days until the hardware is paid back from a daily cash margin (`net + depreciation`);
/// `None` when the margin is not positive. Free hardware pays back at once (0 days).
pub fn payback_days(price_usd: f64, cash_margin_usd_per_day: f64) -> Option<f64> {
    if price_usd <= 0.0 {
        return Some(0.0);
    }
    (cash_margin_usd_per_day > 0.0).then(|| price_usd / cash_margin_usd_per_day)
}

/// Calls per day at which serving earns what renting out does:
/// `(rent_out + electricity + stake_cost + proof_cost) / per_call_margin`, where the margin of
/// one call is the node's share minus its expected slashing cost. Depreciation is the same
/// either way and cancels. `None` when a call earns nothing.
pub fn break_even_calls_per_day(
    costs: &DailyCosts,
    proof_cost_usd: f64,
    per_call_margin_usd: f64,
) -> Option<f64> {
    (per_call_margin_usd > 0.0).then(|| {
        ((costs.rent_out_usd + costs.electricity_usd + costs.stake_cost_usd + proof_cost_usd)
            / per_call_margin_usd)
            .max(0.0)
    })
}
