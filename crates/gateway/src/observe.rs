//! What the gateway itself sees of each node: work in flight, answer latency, SLA misses and
//! failures.
//!
//! # What is counted
//! - **In flight**: calls forwarded to the node and not yet answered, whoever the caller. The
//!   router divides it by the node's verified capacity to pick the less loaded of two draws.
//! - **Latency**: the time to a checked answer, over the node's last [`LATENCY_WINDOW`]
//!   answers; the router reads its median.
//! - **SLA misses**: checked answers slower than the gateway's `sla`.
//! - **Refusals**: attempts the node failed (unreachable, server error, a receipt the ledger
//!   would not pay). A node's 4xx is the caller's fault and is not counted.
//!
//! Latency, SLA misses and refusals are quality evidence, so they are recorded only for calls
//! whose caller is not the node's own operator: a node calling itself cannot polish its record
//! here. (Calls from other linked accounts are excluded on the ledger, whose counts the router
//! reads for settled work; the gateway cannot see account links cheaply on the request path.)
//!
//! # Bounds
//! One entry per node ever forwarded to; each holds at most [`LATENCY_WINDOW`] samples.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};
use verity_ledger::Address;

/// Answers per node whose latency is kept.
pub const LATENCY_WINDOW: usize = 256;

/// One node's observed record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeObservation {
    /// Calls forwarded and not yet answered.
    pub in_flight: u32,
    /// Median latency of the recent answers, in milliseconds.
    pub latency_p50_ms: Option<f64>,
    /// Answers slower than the SLA.
    pub sla_misses: u64,
    /// Attempts the node failed.
    pub refusals: u64,
}

#[derive(Default)]
struct Record {
    in_flight: u32,
    latencies_ms: VecDeque<f64>,
    sla_misses: u64,
    refusals: u64,
}

/// Every node's observed record. Cheap to clone; clones share the records.
#[derive(Clone)]
pub struct Observations {
    sla: Duration,
    records: Arc<Mutex<HashMap<Address, Record>>>,
}

/// How a forwarded call ended, for [`InFlight::finish`].
pub enum Finish {
    /// A checked answer, after this long.
    Answered(Duration),
    /// The node failed the attempt.
    Failed,
    /// The node refused the caller's request (4xx): not the node's fault.
    Refused,
}

/// A call in flight at one node; dropping it without [`InFlight::finish`] only ends the
/// in-flight count (the request was cancelled).
pub struct InFlight {
    observations: Observations,
    node: Address,
    counts: bool,
}

impl Observations {
    /// Empty records; answers slower than `sla` are SLA misses.
    pub fn new(sla: Duration) -> Self {
        Self {
            sla,
            records: Arc::default(),
        }
    }

    /// Start a call at `node` from `caller`.
    pub fn start(&self, node: Address, caller: Address) -> InFlight {
        self.with(node, |r| r.in_flight += 1);
        InFlight {
            observations: self.clone(),
            node,
            counts: caller != node,
        }
    }

    /// `node`'s record so far (all zero if never forwarded to).
    pub fn of(&self, node: &Address) -> NodeObservation {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records
            .get(node)
            .map_or_else(NodeObservation::default, |r| {
                let mut sorted: Vec<f64> = r.latencies_ms.iter().copied().collect();
                sorted.sort_by(f64::total_cmp);
                NodeObservation {
                    in_flight: r.in_flight,
                    latency_p50_ms: sorted.get(sorted.len() / 2).copied(),
                    sla_misses: r.sla_misses,
                    refusals: r.refusals,
                }
            })
    }

    fn with(&self, node: Address, f: impl FnOnce(&mut Record)) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        f(records.entry(node).or_default());
    }
}

impl InFlight {
    /// Record how the call ended.
    pub fn finish(self, finish: Finish) {
        if !self.counts {
            return;
        }
        let sla = self.observations.sla;
        self.observations.with(self.node, |r| match finish {
            Finish::Answered(elapsed) => {
                if r.latencies_ms.len() == LATENCY_WINDOW {
                    r.latencies_ms.pop_front();
                }
                r.latencies_ms.push_back(elapsed.as_secs_f64() * 1e3);
                if elapsed > sla {
                    r.sla_misses += 1;
                }
            }
            Finish::Failed => r.refusals += 1,
            Finish::Refused => {}
        });
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.observations
            .with(self.node, |r| r.in_flight = r.in_flight.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_answers_misses_and_failures_of_independent_callers() {
        let obs = Observations::new(Duration::from_millis(100));
        let node = Address::of_label("node");
        let caller = Address::of_label("caller");
        let a = obs.start(node, caller);
        let b = obs.start(node, caller);
        assert_eq!(obs.of(&node).in_flight, 2);
        a.finish(Finish::Answered(Duration::from_millis(40)));
        b.finish(Finish::Answered(Duration::from_millis(250)));
        obs.start(node, caller).finish(Finish::Failed);
        obs.start(node, caller).finish(Finish::Refused);
        let seen = obs.of(&node);
        assert_eq!(seen.in_flight, 0);
        assert_eq!(seen.sla_misses, 1);
        assert_eq!(seen.refusals, 1);
        assert_eq!(seen.latency_p50_ms, Some(250.0));
    }

    #[test]
    fn self_calls_change_nothing_but_load() {
        let obs = Observations::new(Duration::from_millis(100));
        let node = Address::of_label("node");
        let call = obs.start(node, node);
        assert_eq!(obs.of(&node).in_flight, 1);
        call.finish(Finish::Answered(Duration::from_millis(5)));
        obs.start(node, node).finish(Finish::Failed);
        assert_eq!(obs.of(&node), NodeObservation::default());
    }

    #[test]
    fn keeps_a_bounded_window() {
        let obs = Observations::new(Duration::from_secs(1));
        let node = Address::of_label("node");
        for ms in 0..(LATENCY_WINDOW as u64 + 100) {
            obs.start(node, Address::of_label("c"))
                .finish(Finish::Answered(Duration::from_millis(ms)));
        }
        let records = obs.records.lock().unwrap();
        assert_eq!(records[&node].latencies_ms.len(), LATENCY_WINDOW);
        assert_eq!(records[&node].latencies_ms[0], 100.0);
    }
}
