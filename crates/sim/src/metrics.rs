//! The metrics of `ECONOMICS.md` §5, computed from runs, and the targets they are checked
//! against.
//!
//! Definitions (all over organic calls, i.e. calls by independent callers):
//! - **Time to first call** (TTFC): for each honest node registering during the run, hours
//!   from registration (its canary runs at once) to its first answered call. A node never
//!   called counts with the time it waited until the end (a lower bound) and in
//!   `never_called`. p50 and p95 are nearest-rank percentiles.
//! - **Top-10 % share** and **Gini**, among *equals*: for each honest class, the honest nodes
//!   of that class registered before the fairness window opens; calls (top-10 %) and revenue
//!   (Gini) inside the window. The top-10 % share is the share of the class's window calls
//!   served by its busiest 10 % of nodes (fractional: with 24 equals, the busiest 2.4 nodes),
//!   so its ideal is exactly 10 %. Gini is `Σ_i Σ_j |x_i − x_j| / (2·K²·mean)`. The reported
//!   value is the worst class.
//! - **Buyer regret** against the oracle run of the same seed: failure rate difference
//!   (percentage points; a call fails when nobody answers, the answer is wrong, or it is
//!   later than the SLA), mean price paid (%), p50 latency (%).
//! - **Sybil gain**: revenue of the Sybil operator's identities minus the burns of the extra
//!   identities, divided by the revenue the same operator earns as one identity in the
//!   counterfactual run of the same seed.
//! - **Wash gain**: the wash trader's organic revenue with self-calls divided by its organic
//!   revenue in the counterfactual run without them; `wash_profit` is its net (organic revenue
//!   plus what self-calls pay back, minus what they cost) minus its counterfactual revenue.
//! - **Exploration cost**: share of calls answered by nodes on probation (fewer than
//!   `probation_outcomes` verified outcomes, or on fault probation) and the extra failures
//!   they cause: `(failure rate on probation − failure rate elsewhere) × probation share`.

use crate::scenario::Scenario;
use crate::world::{CallRecord, Node, Role, RunOutput};
use serde::Serialize;

/// Buckets of the traffic-over-time series.
pub const SERIES_BUCKETS: usize = 28;

/// Time to first call of newcomers.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Ttfc {
    /// Honest nodes that registered during the run.
    pub joiners: usize,
    /// Median, hours.
    pub p50_h: Option<f64>,
    /// 95th percentile, hours.
    pub p95_h: Option<f64>,
    /// Longest, hours.
    pub max_h: Option<f64>,
    /// Joiners never called.
    pub never_called: usize,
}

/// Fairness among the equals of one class.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ClassFairness {
    /// Class name.
    pub class: String,
    /// Number of equals.
    pub equals: usize,
    /// Their calls in the window.
    pub window_calls: u64,
    /// Top-10 % share of those calls.
    pub top10_share: Option<f64>,
    /// Gini of their window revenue.
    pub gini: Option<f64>,
}

/// Regret against the oracle.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Regret {
    /// Failure rate minus the oracle's, percentage points.
    pub failure_points: f64,
    /// Mean price paid over the oracle's, percent.
    pub price_pct: f64,
    /// p50 latency over the oracle's, percent.
    pub latency_pct: f64,
}

/// Sybil gain.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SybilGain {
    /// Identities registered.
    pub identities: usize,
    /// Their revenue together.
    pub revenue_split: u128,
    /// Burns of the identities beyond the first.
    pub extra_burns: u128,
    /// The operator's revenue as one identity (counterfactual).
    pub revenue_single: u128,
    /// `(revenue_split − extra_burns) / revenue_single`.
    pub gain: Option<f64>,
}

/// Wash-trading gain.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WashGain {
    /// Organic revenue with self-calls.
    pub organic_with: u128,
    /// Organic revenue without (counterfactual).
    pub organic_without: u128,
    /// `organic_with / organic_without`.
    pub gain: Option<f64>,
    /// Self-calls answered.
    pub self_calls: u64,
    /// What the self-calls cost (gross price).
    pub self_paid: u128,
    /// What they paid back (node share).
    pub self_income: u128,
    /// `organic_with + self_income − self_paid − organic_without`: the profit of self-dealing.
    pub profit: f64,
}

/// Exploration cost.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Exploration {
    /// Calls answered by probation nodes, percent.
    pub probation_share_pct: f64,
    /// Failure rate of those calls, percent.
    pub probation_failure_pct: f64,
    /// Failure rate of the other calls, percent.
    pub other_failure_pct: f64,
    /// Extra failures due to probation calls, percentage points of all calls.
    pub extra_failure_points: f64,
}

/// One metric checked against its target.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Check {
    /// Metric.
    pub metric: &'static str,
    /// Target, in words.
    pub target: &'static str,
    /// Measured value.
    pub value: Option<f64>,
    /// Met.
    pub pass: bool,
}

/// Traffic shares over time.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Series {
    /// Bucket width, hours.
    pub bucket_hours: f64,
    /// Share of each bucket's calls answered by nodes registered during the run.
    pub newcomer_share: Vec<f64>,
    /// Share of each bucket's calls answered by its busiest 10 % of registered nodes.
    pub top10_share: Vec<f64>,
}

/// Every metric of one policy on one scenario and seed.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Policy.
    pub policy: String,
    /// Organic calls.
    pub calls: u64,
    /// Of which answered.
    pub answered: u64,
    /// Failure rate, percent.
    pub failure_pct: f64,
    /// Mean price of answered calls.
    pub mean_price: f64,
    /// p50 latency of answered calls, milliseconds.
    pub p50_latency_ms: f64,
    /// Time to first call.
    pub ttfc: Ttfc,
    /// Worst class's top-10 % share among equals.
    pub top10_share: Option<f64>,
    /// Worst class's Gini among equals.
    pub gini: Option<f64>,
    /// Per class.
    pub classes: Vec<ClassFairness>,
    /// Against the oracle.
    pub regret: Regret,
    /// Sybil gain (when the scenario has a Sybil).
    pub sybil: Option<SybilGain>,
    /// Wash gain (when the scenario has a wash trader).
    pub wash: Option<WashGain>,
    /// Exploration cost.
    pub exploration: Exploration,
    /// Checks against the targets.
    pub checks: Vec<Check>,
    /// Traffic over time.
    pub series: Series,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Share of `values`' total held by the largest 10 % (fractional), `None` if the total is 0.
pub fn top_decile_share(values: &[f64]) -> Option<f64> {
    let total: f64 = values.iter().sum();
    if values.is_empty() || total <= 0.0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let k = 0.1 * sorted.len() as f64;
    let whole = k.floor() as usize;
    let mut top: f64 = sorted[..whole].iter().sum();
    if whole < sorted.len() {
        top += (k - whole as f64) * sorted[whole];
    }
    Some(top / total)
}

/// `Σ_i Σ_j |x_i − x_j| / (2·K²·mean)`, `None` if the mean is 0.
pub fn gini(values: &[f64]) -> Option<f64> {
    let k = values.len() as f64;
    let mean = values.iter().sum::<f64>() / k;
    if values.is_empty() || mean <= 0.0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − K + 1) x_(i) for sorted x, i from 0.
    let sum: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * i as f64 - k + 1.0) * x)
        .sum();
    Some(2.0 * sum / (2.0 * k * k * mean))
}

struct Summary {
    calls: u64,
    answered: u64,
    failure_pct: f64,
    mean_price: f64,
    p50_latency_ms: f64,
}

fn summary(calls: &[CallRecord]) -> Summary {
    let answered: Vec<&CallRecord> = calls.iter().filter(|c| c.node.is_some()).collect();
    let failed = calls.iter().filter(|c| c.failed).count();
    let mut latencies: Vec<f64> = answered.iter().map(|c| c.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let n = answered.len().max(1) as f64;
    Summary {
        calls: calls.len() as u64,
        answered: answered.len() as u64,
        failure_pct: 100.0 * failed as f64 / calls.len().max(1) as f64,
        mean_price: answered.iter().map(|c| c.price as f64).sum::<f64>() / n,
        p50_latency_ms: percentile(&latencies, 0.5).unwrap_or(0.0),
    }
}

fn ttfc(scenario: &Scenario, nodes: &[Node]) -> Ttfc {
    let mut waits = Vec::new();
    let mut never = 0;
    for node in nodes
        .iter()
        .filter(|n| n.role == Role::Honest && n.newcomer)
    {
        let wait = match node.first_call_h {
            Some(t) => t - node.joined_h,
            None => {
                never += 1;
                scenario.hours - node.joined_h
            }
        };
        waits.push(wait);
    }
    waits.sort_by(f64::total_cmp);
    Ttfc {
        joiners: waits.len(),
        p50_h: percentile(&waits, 0.5),
        p95_h: percentile(&waits, 0.95),
        max_h: waits.last().copied(),
        never_called: never,
    }
}

fn fairness(scenario: &Scenario, nodes: &[Node]) -> Vec<ClassFairness> {
    let opens = scenario.hours - scenario.window_hours;
    scenario
        .classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.honest)
        .filter_map(|(ci, c)| {
            let equals: Vec<&Node> = nodes
                .iter()
                .filter(|n| n.class == ci && n.role == Role::Honest && n.joined_h <= opens)
                .collect();
            if equals.len() < 2 {
                return None;
            }
            let calls: Vec<f64> = equals.iter().map(|n| n.window_calls as f64).collect();
            let revenue: Vec<f64> = equals.iter().map(|n| n.window_revenue as f64).collect();
            Some(ClassFairness {
                class: c.name.clone(),
                equals: equals.len(),
                window_calls: equals.iter().map(|n| n.window_calls).sum(),
                top10_share: top_decile_share(&calls),
                gini: gini(&revenue),
            })
        })
        .collect()
}

fn series(scenario: &Scenario, run: &RunOutput) -> Series {
    let width = scenario.hours / SERIES_BUCKETS as f64;
    let mut per_node = vec![vec![0.0f64; run.nodes.len()]; SERIES_BUCKETS];
    for c in &run.calls {
        if let Some(n) = c.node {
            let b = ((c.t_h / width) as usize).min(SERIES_BUCKETS - 1);
            per_node[b][n] += 1.0;
        }
    }
    let mut newcomer_share = Vec::with_capacity(SERIES_BUCKETS);
    let mut top10_share = Vec::with_capacity(SERIES_BUCKETS);
    for (b, counts) in per_node.iter().enumerate() {
        let total: f64 = counts.iter().sum();
        let newcomers: f64 = counts
            .iter()
            .zip(&run.nodes)
            .filter(|(_, n)| n.newcomer)
            .map(|(c, _)| c)
            .sum();
        newcomer_share.push(if total > 0.0 { newcomers / total } else { 0.0 });
        let registered: Vec<f64> = counts
            .iter()
            .zip(&run.nodes)
            .filter(|(_, n)| n.joined_h <= b as f64 * width)
            .map(|(c, _)| *c)
            .collect();
        top10_share.push(top_decile_share(&registered).unwrap_or(0.0));
    }
    Series {
        bucket_hours: width,
        newcomer_share,
        top10_share,
    }
}

fn exploration(calls: &[CallRecord]) -> Exploration {
    let answered: Vec<&CallRecord> = calls.iter().filter(|c| c.node.is_some()).collect();
    let (on, off): (Vec<&CallRecord>, Vec<&CallRecord>) =
        answered.iter().partition(|c| c.probation);
    let rate = |v: &[&CallRecord]| {
        100.0 * v.iter().filter(|c| c.failed).count() as f64 / v.len().max(1) as f64
    };
    let share = 100.0 * on.len() as f64 / answered.len().max(1) as f64;
    let (p, o) = (rate(&on), rate(&off));
    Exploration {
        probation_share_pct: share,
        probation_failure_pct: p,
        other_failure_pct: o,
        extra_failure_points: (p - o) * share / 100.0,
    }
}

fn ratio(a: u128, b: u128) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The runs of one policy: the base run and the counterfactuals the scenario calls for.
pub struct PolicyRuns<'a> {
    /// Policy name.
    pub policy: &'a str,
    /// As written.
    pub base: &'a RunOutput,
    /// The Sybil operator as one identity.
    pub sybil_as_one: Option<&'a RunOutput>,
    /// No self-calls.
    pub no_wash: Option<&'a RunOutput>,
}

/// Every metric of one policy, given the oracle's base run.
pub fn measure(scenario: &Scenario, runs: &PolicyRuns<'_>, oracle: &RunOutput) -> Metrics {
    let base = runs.base;
    let s = summary(&base.calls);
    let o = summary(&oracle.calls);
    let classes = fairness(scenario, &base.nodes);
    let worst = |f: fn(&ClassFairness) -> Option<f64>| {
        classes
            .iter()
            .filter_map(f)
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.max(x)))
            })
    };
    let top10_share = worst(|c| c.top10_share);
    let gini = worst(|c| c.gini);
    let regret = Regret {
        failure_points: s.failure_pct - o.failure_pct,
        price_pct: 100.0 * (s.mean_price / o.mean_price - 1.0),
        latency_pct: 100.0 * (s.p50_latency_ms / o.p50_latency_ms - 1.0),
    };
    let sybil = match (&scenario.attackers.sybil, runs.sybil_as_one) {
        (Some(attack), Some(single)) => {
            let revenue = |r: &RunOutput| -> u128 {
                r.nodes
                    .iter()
                    .filter(|n| n.role == Role::Sybil)
                    .map(|n| n.revenue)
                    .sum()
            };
            let split = revenue(base);
            let one = revenue(single);
            let burns = (attack.identities as u128 - 1) * scenario.ledger.registration_burn;
            Some(SybilGain {
                identities: attack.identities,
                revenue_split: split,
                extra_burns: burns,
                revenue_single: one,
                gain: (one > 0).then(|| (split as f64 - burns as f64) / one as f64),
            })
        }
        _ => None,
    };
    let wash = runs.no_wash.and_then(|without| {
        let w = base.nodes.iter().find(|n| n.role == Role::Wash)?;
        let w0 = without.nodes.iter().find(|n| n.role == Role::Wash)?;
        Some(WashGain {
            organic_with: w.revenue,
            organic_without: w0.revenue,
            gain: ratio(w.revenue, w0.revenue),
            self_calls: w.self_calls,
            self_paid: w.self_paid,
            self_income: w.self_income,
            profit: w.revenue as f64 + w.self_income as f64
                - w.self_paid as f64
                - w0.revenue as f64,
        })
    });
    let ttfc = ttfc(scenario, &base.nodes);
    let mut metrics = Metrics {
        policy: runs.policy.to_string(),
        calls: s.calls,
        answered: s.answered,
        failure_pct: s.failure_pct,
        mean_price: s.mean_price,
        p50_latency_ms: s.p50_latency_ms,
        ttfc,
        top10_share,
        gini,
        classes,
        regret,
        sybil,
        wash,
        exploration: exploration(&base.calls),
        checks: Vec::new(),
        series: series(scenario, base),
    };
    metrics.checks = checks(&metrics);
    metrics
}

/// The targets of `ECONOMICS.md` §5. A metric that could not be measured fails.
pub fn checks(m: &Metrics) -> Vec<Check> {
    let at_most = |metric, target, value: Option<f64>, limit: f64| Check {
        metric,
        target,
        value,
        pass: value.is_some_and(|v| v <= limit),
    };
    let t = &m.ttfc;
    let mut out = vec![
        at_most("ttfc_p50_h", "≤ 1 h", t.p50_h, 1.0),
        at_most("ttfc_p95_h", "≤ 6 h", t.p95_h, 6.0),
        Check {
            metric: "ttfc_max_h",
            target: "< 24 h, none never called",
            value: t.max_h,
            pass: t.max_h.is_some_and(|v| v < 24.0) && t.never_called == 0,
        },
        at_most("top10_share", "≤ 15 %", m.top10_share, 0.15),
        at_most("gini", "≤ 0.15", m.gini, 0.15),
        at_most(
            "regret_failure_points",
            "≤ +0.5 points",
            Some(m.regret.failure_points),
            0.5,
        ),
        at_most("regret_price_pct", "≤ +2 %", Some(m.regret.price_pct), 2.0),
        at_most(
            "regret_latency_pct",
            "≤ +10 %",
            Some(m.regret.latency_pct),
            10.0,
        ),
    ];
    if let Some(s) = &m.sybil {
        out.push(at_most("sybil_gain", "≤ 1.1×", s.gain, 1.1));
    }
    if let Some(w) = &m.wash {
        out.push(at_most("wash_gain", "≤ 1.05×", w.gain, 1.05));
        out.push(Check {
            metric: "wash_profit",
            target: "< 0 (self-dealing loses money)",
            value: Some(w.profit),
            pass: w.profit < 0.0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_and_top_decile_have_their_textbook_values() {
        assert_eq!(gini(&[5.0; 10]), Some(0.0));
        // One of four holds everything: Σ|xi−xj| = 2·3·4 = 24, 2·16·1 = 32 → 0.75.
        assert_eq!(gini(&[0.0, 0.0, 0.0, 4.0]), Some(0.75));
        // Σ|xi−xj| = 2·(1 + 2 + 1) = 8, 2·9·2 = 36.
        assert!((gini(&[1.0, 2.0, 3.0]).unwrap() - 8.0 / 36.0).abs() < 1e-12);
        assert_eq!(gini(&[0.0, 0.0]), None);
        assert_eq!(top_decile_share(&[1.0; 20]), Some(0.1));
        assert_eq!(
            top_decile_share(&[1.0; 24]).map(|x| (x * 1e9).round()),
            Some(1e8)
        );
        // With five nodes the top 10 % is half the busiest node.
        assert_eq!(top_decile_share(&[10.0, 0.0, 0.0, 0.0, 0.0]), Some(0.5));
        assert_eq!(
            top_decile_share(&[
                4.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
            ]),
            Some((4.0 + 0.5 * 2.0) / 10.0)
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(10.0));
        assert_eq!(percentile(&v, 0.95), Some(19.0));
        assert_eq!(percentile(&[3.0], 0.95), Some(3.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
