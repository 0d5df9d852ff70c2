//! `GET /metrics`: the node's counters in the Prometheus text format (version 0.0.4).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `verity_node_calls_total` | counter | `model`, `result` | answers to `POST /v1/infer`; `result` is `ok` or the refusal code; `model` is the id of a served model, or `other` |
//! | `verity_node_infer_seconds` | histogram | `model` | time spent running the model, per call served or failed in the model |
//! | `verity_node_queue_depth` | gauge | | calls waiting for receipt submission |
//! | `verity_node_receipts_total` | counter | `outcome` | calls the ledger judged: `accepted` or its refusal code |
//! | `verity_node_earned_base_units_total` | counter | | sum of the prices of accepted calls, before the royalty, verifier and protocol shares are taken at settlement |
//!
//! Counters start at zero when the node starts. Label values are hex ids and snake_case codes
//! only, so they need no escaping; `model` is never a caller-chosen string, which keeps the
//! number of series bounded.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex};
use verity_ledger::Amount;

/// Upper bounds of the `verity_node_infer_seconds` buckets (`+Inf` is implied).
pub const INFER_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Label of calls naming a model this node does not serve, or none.
pub const OTHER_MODEL: &str = "other";

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; INFER_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    calls: BTreeMap<(String, &'static str), u64>,
    infer: BTreeMap<String, Histogram>,
    receipts: BTreeMap<&'static str, u64>,
    earned: Amount,
    proofs_made: u64,
    proofs_failed: u64,
    prove_seconds: f64,
}

/// What the ledger made of this node's receipts since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiptTotals {
    /// Calls accepted (paid from escrow, pending settlement).
    pub accepted: u64,
    /// Calls refused, whatever the code.
    pub refused: u64,
    /// Sum of the prices of accepted calls.
    pub earned: Amount,
}

/// The node's counters.
#[derive(Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count an answer to `POST /v1/infer`.
    pub fn call(&self, model: &str, result: &'static str) {
        *self
            .inner()
            .calls
            .entry((model.to_string(), result))
            .or_default() += 1;
    }

    /// Record the time one model run took.
    pub fn infer_time(&self, model: &str, seconds: f64) {
        let mut inner = self.inner();
        let h = inner.infer.entry(model.to_string()).or_default();
        for (bucket, bound) in h.buckets.iter_mut().zip(INFER_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Count a zk proof made in `seconds`.
    pub fn proved(&self, seconds: f64) {
        let mut inner = self.inner();
        inner.proofs_made += 1;
        inner.prove_seconds += seconds;
    }

    /// Count a zk call that could not be proved.
    pub fn proof_failed(&self) {
        self.inner().proofs_failed += 1;
    }

    /// Count a call the ledger accepted at `price`.
    pub fn accepted(&self, price: Amount) {
        let mut inner = self.inner();
        *inner.receipts.entry("accepted").or_default() += 1;
        inner.earned = inner.earned.saturating_add(price);
    }

    /// Count a call the ledger refused with `code`.
    pub fn refused(&self, code: &'static str) {
        *self.inner().receipts.entry(code).or_default() += 1;
    }

    /// Accepted and refused calls and earnings so far.
    pub fn totals(&self) -> ReceiptTotals {
        let inner = self.inner();
        let accepted = inner.receipts.get("accepted").copied().unwrap_or(0);
        ReceiptTotals {
            accepted,
            refused: inner.receipts.values().sum::<u64>() - accepted,
            earned: inner.earned,
        }
    }

    /// The text exposition.
    pub fn render(&self, queue_depth: usize, proving_seconds_total: f64) -> String {
        let inner = self.inner();
        let mut out = String::new();
        let w = &mut out;
        header(
            w,
            "verity_node_calls_total",
            "counter",
            "Answers to POST /v1/infer by model and result (ok or the refusal code).",
        );
        for ((model, result), n) in &inner.calls {
            let _ = writeln!(
                w,
                "verity_node_calls_total{{model=\"{model}\",result=\"{result}\"}} {n}"
            );
        }
        header(
            w,
            "verity_node_infer_seconds",
            "histogram",
            "Time spent running the model per call.",
        );
        for (model, h) in &inner.infer {
            for (bound, n) in INFER_BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    w,
                    "verity_node_infer_seconds_bucket{{model=\"{model}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                w,
                "verity_node_infer_seconds_bucket{{model=\"{model}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                w,
                "verity_node_infer_seconds_sum{{model=\"{model}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                w,
                "verity_node_infer_seconds_count{{model=\"{model}\"}} {}",
                h.count
            );
        }
        header(
            w,
            "verity_node_queue_depth",
            "gauge",
            "Served calls waiting for receipt submission.",
        );
        let _ = writeln!(w, "verity_node_queue_depth {queue_depth}");
        header(
            w,
            "verity_node_receipts_total",
            "counter",
            "Calls the ledger judged, by outcome (accepted or the refusal code).",
        );
        for (outcome, n) in &inner.receipts {
            let _ = writeln!(w, "verity_node_receipts_total{{outcome=\"{outcome}\"}} {n}");
        }
        header(
            w,
            "verity_node_earned_base_units_total",
            "counter",
            "Sum of the prices of accepted calls, before settlement's split.",
        );
        let _ = writeln!(w, "verity_node_earned_base_units_total {}", inner.earned);
        header(
            w,
            "verity_node_zk_proofs_total",
            "counter",
            "Zero-knowledge proofs of zk-mode calls, by result.",
        );
        let _ = writeln!(
            w,
            "verity_node_zk_proofs_total{{result=\"made\"}} {}",
            inner.proofs_made
        );
        let _ = writeln!(
            w,
            "verity_node_zk_proofs_total{{result=\"failed\"}} {}",
            inner.proofs_failed
        );
        header(
            w,
            "verity_node_zk_prove_seconds_total",
            "counter",
            "Time spent proving.",
        );
        let _ = writeln!(
            w,
            "verity_node_zk_prove_seconds_total {}",
            inner.prove_seconds
        );
        header(
            w,
            "verity_node_proving_seconds_total",
            "counter",
            "Time spent proving zk calls since the data directory was created (durable).",
        );
        let _ = writeln!(
            w,
            "verity_node_proving_seconds_total {proving_seconds_total}"
        );
        out
    }
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family_and_cumulative_buckets() {
        let m = Metrics::default();
        m.call("ab", "ok");
        m.call("ab", "ok");
        m.call(OTHER_MODEL, "unknown_model");
        m.infer_time("ab", 0.0003);
        m.infer_time("ab", 3.0);
        m.accepted(40);
        m.refused("duplicate");
        let text = m.render(3, 1.5);
        for line in [
            "verity_node_calls_total{model=\"ab\",result=\"ok\"} 2",
            "verity_node_calls_total{model=\"other\",result=\"unknown_model\"} 1",
            "verity_node_infer_seconds_bucket{model=\"ab\",le=\"0.00025\"} 0",
            "verity_node_infer_seconds_bucket{model=\"ab\",le=\"0.0005\"} 1",
            "verity_node_infer_seconds_bucket{model=\"ab\",le=\"2.5\"} 1",
            "verity_node_infer_seconds_bucket{model=\"ab\",le=\"+Inf\"} 2",
            "verity_node_infer_seconds_count{model=\"ab\"} 2",
            "verity_node_queue_depth 3",
            "verity_node_receipts_total{outcome=\"accepted\"} 1",
            "verity_node_receipts_total{outcome=\"duplicate\"} 1",
            "verity_node_earned_base_units_total 40",
            "verity_node_proving_seconds_total 1.5",
            "# TYPE verity_node_infer_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        assert_eq!(
            m.totals(),
            ReceiptTotals {
                accepted: 1,
                refused: 1,
                earned: 40
            }
        );
    }
}
