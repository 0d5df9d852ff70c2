//! # verity-earnings
//!
//! Operator economics from ledger data. For one node and each UTC day it sums what the ledger
//! recorded (calls by model and mode, what callers paid and how the price was split, refunds,
//! slashes, fees) and prices what the ledger cannot know from the node's declared hardware
//! and an [`EconomicsConfig`] of published defaults (electricity, depreciation, stake
//! opportunity cost, expected slashing, proof compute). The result, a [`NodeReport`], compares
//! serving with renting the same hardware out and says so in a plain-words verdict.
//! [`calc()`] answers the same question for assumed traffic, with no network.
//!
//! Invariants:
//! - Ledger amounts are exact `u64` sums in base units; `node_revenue_base_units` equals the
//!   sum of `split.node` of the node's `CallSettled` events in the window, to the base unit.
//! - A day is a UTC calendar day of block time; an event at `k·86 400 000` ms starts day `k`.
//! - USD figures are `f64` derived from those sums and the configuration; nothing in the
//!   computation reads a clock, a file or the network except the [`fetch`] module.
//!
//! Formulas and the sources of every default: `docs/economics.md`.

#![deny(missing_docs)]

pub mod calc;
pub mod config;
pub mod day;
pub mod fetch;
pub mod pnl;
pub mod render;
pub mod report;

pub use calc::{CalcInput, CalcReport, calc};
pub use config::{EconomicsConfig, GpuProfile, Region, Source};
pub use pnl::{DailyCosts, Hardware};
pub use report::{
    DayRow, ModelReport, NodeInput, NodeReport, Totals, Window, model_report, node_report,
};
