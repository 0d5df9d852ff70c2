//! Counters exposed at `GET /metrics` in the Prometheus text format (version 0.0.4).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `verity_gateway_calls_total` | counter | `result`: `ok`, `invalid` (refused by the gateway), `refused` (a node's 4xx passed through), `all_nodes_failed`, `unavailable` (no ledger view) |
//! | `verity_gateway_retries_total` | counter | attempts after the first within one call |
//! | `verity_gateway_node_failures_total` | counter | `node`, `code` (only nodes the gateway contacted, so bounded by the registry) |
//! | `verity_gateway_upstream_latency_seconds` | histogram | time from sending a ticket to a node to having its whole answer |
//! | `verity_gateway_quotes_total` | counter | quotes answered with candidates |
//! | `verity_gateway_nodes_known` | gauge | nodes in the current view |
//! | `verity_gateway_registry_age_seconds` | gauge | time since the last successful refresh |

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use verity_ledger::Address;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How a `POST /v1/call` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallResult {
    /// A node answered with a good receipt.
    Ok,
    /// The gateway refused the request.
    Invalid,
    /// A node refused it (4xx passed through).
    Refused,
    /// Every ticket failed.
    AllNodesFailed,
    /// The gateway has no view of the ledger.
    Unavailable,
}

impl CallResult {
    fn label(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Invalid => "invalid",
            CallResult::Refused => "refused",
            CallResult::AllNodesFailed => "all_nodes_failed",
            CallResult::Unavailable => "unavailable",
        }
    }
}

/// The gateway's counters. All methods are cheap and never block for long.
#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<CallResult, u64>>,
    retries: AtomicU64,
    quotes: AtomicU64,
    node_failures: Mutex<BTreeMap<(Address, &'static str), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// Count a finished call.
    pub fn call(&self, result: CallResult) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(result)
            .or_default() += 1;
    }

    /// Count one retry.
    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one answered quote.
    pub fn quote(&self) {
        self.quotes.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a failure of a contacted node.
    pub fn node_failure(&self, node: Address, code: &'static str) {
        *self
            .node_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((node, code))
            .or_default() += 1;
    }

    /// Record the time one node took to answer (or fail).
    pub fn upstream_latency(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the registry gauges given.
    pub fn render(&self, nodes_known: usize, registry_age: Option<Duration>) -> String {
        let mut out = String::new();
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
        header(
            &mut out,
            "calls_total",
            "counter",
            "Calls by how they ended.",
        );
        for result in [
            CallResult::Ok,
            CallResult::Invalid,
            CallResult::Refused,
            CallResult::AllNodesFailed,
            CallResult::Unavailable,
        ] {
            let n = calls.get(&result).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "verity_gateway_calls_total{{result=\"{}\"}} {n}",
                result.label()
            );
        }
        header(
            &mut out,
            "retries_total",
            "counter",
            "Attempts after the first within one call.",
        );
        let _ = writeln!(
            out,
            "verity_gateway_retries_total {}",
            self.retries.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "node_failures_total",
            "counter",
            "Failed attempts by node and code.",
        );
        let failures = self
            .node_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for ((node, code), n) in failures {
            let _ = writeln!(
                out,
                "verity_gateway_node_failures_total{{node=\"{node}\",code=\"{code}\"}} {n}"
            );
        }
        header(
            &mut out,
            "upstream_latency_seconds",
            "histogram",
            "Time for a provider node to answer.",
        );
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "verity_gateway_upstream_latency_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "verity_gateway_upstream_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "verity_gateway_upstream_latency_seconds_sum {sum}");
        let _ = writeln!(out, "verity_gateway_upstream_latency_seconds_count {count}");
        header(&mut out, "quotes_total", "counter", "Quotes answered.");
        let _ = writeln!(
            out,
            "verity_gateway_quotes_total {}",
            self.quotes.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "nodes_known",
            "gauge",
            "Registered nodes in the view.",
        );
        let _ = writeln!(out, "verity_gateway_nodes_known {nodes_known}");
        if let Some(age) = registry_age {
            header(
                &mut out,
                "registry_age_seconds",
                "gauge",
                "Time since the last successful registry refresh.",
            );
            let _ = writeln!(
                out,
                "verity_gateway_registry_age_seconds {}",
                age.as_secs_f64()
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP verity_gateway_{name} {help}");
    let _ = writeln!(out, "# TYPE verity_gateway_{name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_counters_render() {
        let m = Metrics::default();
        m.upstream_latency(Duration::from_millis(3));
        m.upstream_latency(Duration::from_millis(70));
        m.upstream_latency(Duration::from_secs(30));
        m.call(CallResult::Ok);
        m.call(CallResult::Ok);
        m.retry();
        m.node_failure(Address::of_label("n"), "node_error");
        let text = m.render(4, Some(Duration::from_millis(500)));
        for line in [
            "verity_gateway_upstream_latency_seconds_bucket{le=\"0.005\"} 1",
            "verity_gateway_upstream_latency_seconds_bucket{le=\"0.05\"} 1",
            "verity_gateway_upstream_latency_seconds_bucket{le=\"0.1\"} 2",
            "verity_gateway_upstream_latency_seconds_bucket{le=\"10\"} 2",
            "verity_gateway_upstream_latency_seconds_bucket{le=\"+Inf\"} 3",
            "verity_gateway_upstream_latency_seconds_count 3",
            "verity_gateway_calls_total{result=\"ok\"} 2",
            "verity_gateway_calls_total{result=\"all_nodes_failed\"} 0",
            "verity_gateway_retries_total 1",
            "verity_gateway_nodes_known 4",
            "verity_gateway_registry_age_seconds 0.5",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        let node = Address::of_label("n");
        assert!(text.contains(&format!(
            "verity_gateway_node_failures_total{{node=\"{node}\",code=\"node_error\"}} 1"
        )));
    }
}
