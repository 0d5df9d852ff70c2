//! `GET /v1/proving` on a provider node: the seconds it spent proving zk calls, per UTC day.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A provider node's proving seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvingView {
    /// One entry per day with proving, oldest first.
    pub days: Vec<ProvingDay>,
    /// Sum over all days.
    pub total_seconds: f64,
}

/// Proving seconds of one UTC day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvingDay {
    /// Days since 1970-01-01.
    pub day: u64,
    /// Seconds.
    pub seconds: f64,
}

impl ProvingView {
    /// Seconds by day number.
    pub fn by_day(&self) -> BTreeMap<u64, f64> {
        self.days.iter().map(|d| (d.day, d.seconds)).collect()
    }
}
