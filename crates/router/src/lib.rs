//! # verity-router
//!
//! The exposure router: for one call of one `(model, mode)`, which nodes may serve it, how
//! much of the traffic each node gets (its published *exposure share*), and which node serves
//! this call. The gateway and the marketplace simulator run this same code.
//!
//! The crate is pure: no I/O, no clock, and its only randomness comes from the
//! [`rand::Rng`] the caller passes to [`Exposure::rank`]. Node identities are any
//! `K: Clone + Ord + Debug`, so nothing here depends on the ledger.
//!
//! ## Evidence
//! The router sees each node through a [`NodeEvidence`]: stake, declared capacity, price,
//! observed p50 latency, the ledger's jail and fault-probation flags, and counts of verified
//! outcomes. Only three kinds of outcome count as evidence of quality:
//! - **audits** of calls paid by independent callers (passed or failed re-execution),
//! - **canaries**: known-answer calls sent by the gateway,
//! - **independent calls**: calls paid by callers not linked to the node's operator, counted as
//!   answered within the SLA (`independent_ok`), late or timed out (`sla_misses`), or refused or
//!   failed by the node (`refusals`).
//!
//! Self-calls, and calls from accounts linked to the operator, never enter a `NodeEvidence`:
//! whoever builds the evidence must leave them out. Call volume is not evidence at all, so
//! buying one's own calls (wash trading) earns no exposure.
//!
//! ## Eligibility
//! A node is eligible for a [`Request`] when all of these hold, checked in this order (the
//! first that fails is the reported [`Ineligibility`]):
//! 1. it is not jailed;
//! 2. `stake ≥ min_stake`;
//! 3. `price ≤ request.max_price`;
//! 4. `latency_ms ≤ request.max_latency_ms` when both are known (a node without observations
//!    is not excluded on latency);
//! 5. `canaries_failed == 0`: a node that failed any canary stays ineligible until its operator
//!    fixes the node and the gateway clears the record;
//! 6. `canaries_passed ≥ canaries_required`;
//! 7. verified capacity `> 0`.
//!
//! ## Verified capacity
//! `verified_capacity = min(declared_capacity, stake / stake_per_capacity)` calls per second
//! (`stake_per_capacity = 0` removes the stake bound; a non-finite or negative declaration
//! counts as 0). It is linear in both stake and capacity: an operator who splits one node into
//! `n` identities, each with `1/n` of the stake and capacity, has `1/n` of the verified capacity
//! in each, so the identities together get exactly the share of the single node. There is no
//! `√stake` and no per-identity floor, either of which would reward splitting.
//!
//! ## Quality
//! `successes = audits_passed + canaries_passed + independent_ok` and
//! `failures = audit_failure_weight · audits_failed + canaries_failed + sla_misses + refusals`.
//! Audits sample a small fraction `p` of calls and every unaudited wrong answer is counted in
//! `independent_ok`, so one failed audit stands for about `1/p` wrong answers: it weighs
//! `audit_failure_weight` (default 50 = 1 / the 2 % audit floor). Honest nodes never fail an
//! audit of the deterministic integer path, so the weight costs them nothing.
//!
//! The posterior is `Beta(α, β)` with `α = prior_successes + successes` and
//! `β = prior_failures + failures`; `mean = α / (α + β)` and the bounds are
//! `mean ∓ z · sd` (normal approximation of the Beta, `z = confidence_z`), clamped to `[0, 1]`.
//!
//! ## Standing
//! - **Probation**: eligible, and fewer than `probation_outcomes` verified outcomes
//!   (unweighted count of every outcome above), or put back on probation by the ledger after a
//!   fault.
//! - **Pool** (the merit pool): eligible, not on probation, and
//!   1. `upper ≥ best_lower`, where `best_lower` is the highest lower bound among eligible
//!      nodes not on probation: its quality is statistically indistinguishable from the best;
//!   2. `price ≤ (1 + price_tolerance) · cheapest`, the cheapest node passing 1;
//!   3. `latency ≤ (1 + latency_tolerance) · fastest`, the fastest observed p50 among the nodes
//!      passing 2 (unobserved latency passes).
//! - **Outside**: eligible nodes in neither group.
//!
//! ## Shares
//! The *main* group is the pool, or the Outside nodes when the pool is empty, or the
//! probation nodes when both are empty. When the main group is not the probation group and
//! probation is non-empty, probation gets `ε = exploration_ppm / 10⁶` of the calls and the main
//! group `1 − ε`; otherwise the main group gets everything. Within a group, shares are
//! proportional to verified capacity. Invariants: every share is in `[0, 1]`; ineligible nodes
//! and nodes outside the chosen groups have share 0; shares sum to 1 when any node is eligible
//! and to 0 otherwise.
//!
//! ## Dispatch
//! [`Exposure::rank`] draws exactly three uniform `f64` from the generator on every call,
//! whatever the state: one chooses the group (probation with probability ε), two draw
//! candidates from it without replacement in proportion to verified capacity. The candidate
//! with the lower utilization serves (the first draw on a tie): "power of two choices", which
//! keeps queues short without concentrating traffic. Because the number of draws never
//! depends on the state, two runs fed the same generator stay in step even when their
//! evidence differs.
//!
//! ## New models in listings
//! [`listing`] orders the discovery listing: established models by independent calls, with a
//! share `model_exploration_ppm` of the slots, spread through the list from near the top, for
//! models with fewer than `model_probation_calls` independent calls, rotated so each gets its
//! turn.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Debug;

/// Parts per million: the unit of every share parameter.
pub const PPM: u32 = 1_000_000;

/// The published router parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RouterParams {
    /// ε: share of calls reserved for probation nodes, in ppm.
    pub exploration_ppm: u32,
    /// Verified outcomes a node needs before it can join the merit pool.
    pub probation_outcomes: u64,
    /// Known-answer canary calls a node must pass before it is eligible.
    pub canaries_required: u32,
    /// Width of the posterior bounds, in standard deviations.
    pub confidence_z: f64,
    /// Beta prior: pseudo-successes.
    pub prior_successes: f64,
    /// Beta prior: pseudo-failures.
    pub prior_failures: f64,
    /// Weight of one failed audit among the failures (about 1 / the audit floor rate).
    pub audit_failure_weight: f64,
    /// The pool keeps nodes priced within `(1 + tol)` of the cheapest pool-worthy node, in ppm.
    pub price_tolerance_ppm: u32,
    /// The pool keeps nodes whose observed p50 latency is within `(1 + tol)` of the fastest
    /// pool-worthy node in the price band, in ppm.
    pub latency_tolerance_ppm: u32,
    /// Stake (base units) that backs one call per second of capacity; 0 removes the bound.
    pub stake_per_capacity: u128,
    /// Minimum stake (base units) to be eligible.
    pub min_stake: u128,
    /// Share of discovery-listing slots for new models, in ppm.
    pub model_exploration_ppm: u32,
    /// Independent calls after which a model is no longer new.
    pub model_probation_calls: u64,
}

impl Default for RouterParams {
    /// The published defaults (see `docs/exposure.md` for the reasoning behind each).
    fn default() -> Self {
        Self {
            exploration_ppm: 50_000,
            probation_outcomes: 20,
            canaries_required: 1,
            confidence_z: 3.0,
            prior_successes: 1.0,
            prior_failures: 1.0,
            audit_failure_weight: 50.0,
            price_tolerance_ppm: 20_000,
            latency_tolerance_ppm: 250_000,
            stake_per_capacity: 1_000_000_000,
            min_stake: 1_000_000_000,
            model_exploration_ppm: 100_000,
            model_probation_calls: 1_000,
        }
    }
}

/// The exposure formula as published with every [`Exposure`].
pub const FORMULA: &str = "eligible = !jailed & stake >= min_stake & price <= max_price & \
(latency <= max_latency if both known) & canaries_failed == 0 & canaries_passed >= canaries_required & cap > 0; \
cap = min(declared_capacity, stake / stake_per_capacity); \
successes = audits_passed + canaries_passed + independent_ok; \
failures = audit_failure_weight*audits_failed + canaries_failed + sla_misses + refusals; \
a = prior_successes + successes, b = prior_failures + failures, mean = a/(a+b), \
bounds = mean -/+ z*sqrt(a*b/((a+b)^2*(a+b+1))) clamped to [0,1]; \
probation = outcomes < probation_outcomes | fault_probation; \
best_lower = max lower over eligible non-probation; \
pool = non-probation with upper >= best_lower, price <= (1+price_tol)*cheapest of those, \
latency <= (1+latency_tol)*fastest of those in the price band; outside = other eligible; \
main = pool, else outside, else probation; \
share = eps*cap/sum(cap over probation) for probation nodes when main != probation, \
(1-eps or 1)*cap/sum(cap over main) for main nodes, 0 otherwise; \
dispatch: group = probation with probability eps, two capacity-weighted draws, the less utilized serves";

/// What the router knows of one node for one `(model, mode)`.
///
/// Self-calls and calls from accounts linked to the operator must not be counted in any field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NodeEvidence<K> {
    /// The node's identity; unique within one [`assess`] call.
    pub id: K,
    /// Bonded stake, base units.
    pub stake: u128,
    /// Calls per second the node declares it can serve.
    pub declared_capacity: f64,
    /// Its price for the mode, base units per call.
    pub price: u128,
    /// Observed p50 latency, milliseconds; `None` before any observation.
    pub latency_ms: Option<f64>,
    /// Jailed by the ledger.
    pub jailed: bool,
    /// Put back on probation by the ledger after a fault.
    pub fault_probation: bool,
    /// Known-answer canaries answered correctly.
    pub canaries_passed: u32,
    /// Known-answer canaries answered wrongly.
    pub canaries_failed: u32,
    /// Audits of independently paid calls that matched re-execution.
    pub audits_passed: u64,
    /// Audits of independently paid calls that did not.
    pub audits_failed: u64,
    /// Calls paid by independent callers, answered correctly within the SLA.
    pub independent_ok: u64,
    /// Such calls answered late or timed out.
    pub sla_misses: u64,
    /// Such calls refused or failed by the node.
    pub refusals: u64,
}

/// The caller's constraints on one call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Request {
    /// Highest price per call the caller pays.
    pub max_price: u128,
    /// Highest observed p50 latency the caller accepts, milliseconds.
    pub max_latency_ms: Option<f64>,
}

/// Where a node stands for one request.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Standing {
    /// It cannot serve this call.
    Ineligible {
        /// The first eligibility rule it breaks.
        reason: Ineligibility,
    },
    /// Eligible, still building evidence: shares the exploration slice.
    Probation,
    /// In the merit pool: shares the main slice.
    Pool,
    /// Eligible but not in the pool: served only when the pool is empty, or on retry.
    Outside,
}

/// Why a node cannot serve a call (the first rule broken, in this order of checks:
/// jailed, stake, price, latency, failed canary, pending canaries, capacity).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Ineligibility {
    /// Jailed by the ledger.
    Jailed,
    /// Stake below `min_stake`.
    StakeBelowMinimum,
    /// Price above the caller's `max_price`.
    PriceAboveCap,
    /// Observed p50 latency above the caller's `max_latency_ms`.
    LatencyAboveCap,
    /// Fewer canaries passed than `canaries_required`.
    CanariesPending,
    /// Failed a canary; ineligible until the operator fixes the node.
    CanaryFailed,
    /// Zero verified capacity.
    NoCapacity,
}

/// The Beta posterior on a node's success probability.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    /// Weighted successes (excluding the prior).
    pub successes: f64,
    /// Weighted failures (excluding the prior).
    pub failures: f64,
    /// Posterior mean.
    pub mean: f64,
    /// Lower bound, `mean − z·sd`, at least 0.
    pub lower: f64,
    /// Upper bound, `mean + z·sd`, at most 1.
    pub upper: f64,
}

/// One node's assessment for a request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NodeExposure<K> {
    /// The node.
    pub id: K,
    /// Its standing.
    pub standing: Standing,
    /// Its quality posterior.
    pub quality: Quality,
    /// `min(declared_capacity, stake / stake_per_capacity)`, calls per second.
    pub verified_capacity: f64,
    /// Its exposure share: the expected fraction of calls it serves.
    pub share: f64,
}

/// The router's published view of every node for one request.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Exposure<K> {
    /// The parameters used.
    pub params: RouterParams,
    /// The formula, in words.
    pub formula: &'static str,
    /// The highest lower quality bound among eligible nodes not on probation (0 if none).
    pub best_lower: f64,
    /// Every distinct node given, ordered by id.
    pub nodes: Vec<NodeExposure<K>>,
}

fn quality(params: &RouterParams, e: &NodeEvidence<impl Sized>) -> Quality {
    let successes =
        (e.audits_passed as f64) + f64::from(e.canaries_passed) + e.independent_ok as f64;
    let failures = params.audit_failure_weight.max(0.0) * e.audits_failed as f64
        + f64::from(e.canaries_failed)
        + e.sla_misses as f64
        + e.refusals as f64;
    let a = params.prior_successes.max(0.0) + successes;
    let b = params.prior_failures.max(0.0) + failures;
    let n = a + b;
    let (mean, sd) = if n > 0.0 {
        (a / n, (a * b / (n * n * (n + 1.0))).sqrt())
    } else {
        (0.5, 0.5)
    };
    let z = params.confidence_z.max(0.0);
    Quality {
        successes,
        failures,
        mean,
        lower: (mean - z * sd).clamp(0.0, 1.0),
        upper: (mean + z * sd).clamp(0.0, 1.0),
    }
}

fn outcomes(e: &NodeEvidence<impl Sized>) -> u64 {
    [
        e.audits_passed,
        e.audits_failed,
        u64::from(e.canaries_passed),
        u64::from(e.canaries_failed),
        e.independent_ok,
        e.sla_misses,
        e.refusals,
    ]
    .into_iter()
    .fold(0u64, u64::saturating_add)
}

fn verified_capacity(params: &RouterParams, e: &NodeEvidence<impl Sized>) -> f64 {
    let declared = if e.declared_capacity.is_nan() || e.declared_capacity < 0.0 {
        0.0
    } else {
        e.declared_capacity
    };
    let backed = if params.stake_per_capacity == 0 {
        f64::INFINITY
    } else {
        e.stake as f64 / params.stake_per_capacity as f64
    };
    let cap = declared.min(backed);
    if cap.is_finite() { cap } else { 0.0 }
}

fn latency(e: &NodeEvidence<impl Sized>) -> Option<f64> {
    e.latency_ms.filter(|l| l.is_finite() && *l >= 0.0)
}

fn eligibility(
    params: &RouterParams,
    e: &NodeEvidence<impl Sized>,
    request: &Request,
    capacity: f64,
) -> Result<(), Ineligibility> {
    if e.jailed {
        return Err(Ineligibility::Jailed);
    }
    if e.stake < params.min_stake {
        return Err(Ineligibility::StakeBelowMinimum);
    }
    if e.price > request.max_price {
        return Err(Ineligibility::PriceAboveCap);
    }
    if let Some(cap) = request.max_latency_ms {
        // A NaN observation never passes a latency cap.
        if e.latency_ms.is_some_and(|l| l.is_nan() || l > cap) {
            return Err(Ineligibility::LatencyAboveCap);
        }
    }
    if e.canaries_failed > 0 {
        return Err(Ineligibility::CanaryFailed);
    }
    if e.canaries_passed < params.canaries_required {
        return Err(Ineligibility::CanariesPending);
    }
    if capacity <= 0.0 {
        return Err(Ineligibility::NoCapacity);
    }
    Ok(())
}

/// `value ≤ (1 + tol_ppm/10⁶) · reference`, exactly, for integer prices.
fn within_price(value: u128, reference: u128, tol_ppm: u32) -> bool {
    value.saturating_mul(u128::from(PPM))
        <= reference.saturating_mul(u128::from(PPM) + u128::from(tol_ppm))
}

/// Assess every node for one request: eligibility, quality, standing and exposure share.
///
/// Nodes are reported ordered by id; when an id appears more than once only its first
/// evidence is used. The result is a pure function of the arguments.
pub fn assess<K: Clone + Ord + Debug>(
    params: &RouterParams,
    nodes: &[NodeEvidence<K>],
    request: &Request,
) -> Exposure<K> {
    let mut seen = BTreeSet::new();
    let mut evidence: Vec<&NodeEvidence<K>> = nodes.iter().filter(|e| seen.insert(&e.id)).collect();
    evidence.sort_by(|a, b| a.id.cmp(&b.id));

    let mut out: Vec<NodeExposure<K>> = evidence
        .iter()
        .map(|e| {
            let capacity = verified_capacity(params, e);
            let standing = match eligibility(params, e, request, capacity) {
                Err(reason) => Standing::Ineligible { reason },
                Ok(()) if e.fault_probation || outcomes(e) < params.probation_outcomes => {
                    Standing::Probation
                }
                // Provisional: split into Pool and Outside below.
                Ok(()) => Standing::Outside,
            };
            NodeExposure {
                id: e.id.clone(),
                standing,
                quality: quality(params, e),
                verified_capacity: capacity,
                share: 0.0,
            }
        })
        .collect();

    let settled = |n: &NodeExposure<K>| n.standing == Standing::Outside;
    let best_lower = out
        .iter()
        .filter(|n| settled(n))
        .map(|n| n.quality.lower)
        .fold(0.0, f64::max);
    let worthy: Vec<usize> = (0..out.len())
        .filter(|&i| settled(&out[i]) && out[i].quality.upper >= best_lower)
        .collect();
    if let Some(cheapest) = worthy.iter().map(|&i| evidence[i].price).min() {
        let in_band: Vec<usize> = worthy
            .into_iter()
            .filter(|&i| within_price(evidence[i].price, cheapest, params.price_tolerance_ppm))
            .collect();
        let fastest = in_band
            .iter()
            .filter_map(|&i| latency(evidence[i]))
            .fold(f64::INFINITY, f64::min);
        let limit = fastest * (1.0 + f64::from(params.latency_tolerance_ppm) / f64::from(PPM));
        for i in in_band {
            if latency(evidence[i]).is_none_or(|l| l <= limit) {
                out[i].standing = Standing::Pool;
            }
        }
    }

    let has = |s: Standing| out.iter().any(|n| n.standing == s);
    let main = [Standing::Pool, Standing::Outside, Standing::Probation]
        .into_iter()
        .find(|&s| has(s));
    if let Some(main) = main {
        let epsilon = f64::from(params.exploration_ppm.min(PPM)) / f64::from(PPM);
        let explore = main != Standing::Probation && has(Standing::Probation);
        let slices = if explore {
            vec![(Standing::Probation, epsilon), (main, 1.0 - epsilon)]
        } else {
            vec![(main, 1.0)]
        };
        for (group, slice) in slices {
            let total: f64 = out
                .iter()
                .filter(|n| n.standing == group)
                .map(|n| n.verified_capacity)
                .sum();
            for n in out.iter_mut().filter(|n| n.standing == group) {
                n.share = slice * n.verified_capacity / total;
            }
        }
    }

    Exposure {
        params: params.clone(),
        formula: FORMULA,
        best_lower,
        nodes: out,
    }
}

/// Draw one index from `members` in proportion to `weight`, with `u` uniform in `[0, 1)`.
fn weighted_pick(members: &[usize], weight: impl Fn(usize) -> f64, u: f64) -> Option<usize> {
    let total: f64 = members.iter().map(|&i| weight(i)).sum();
    let target = u * total;
    let mut acc = 0.0;
    for &i in members {
        acc += weight(i);
        if target < acc {
            return Some(i);
        }
    }
    members.last().copied()
}

impl<K: Clone + Ord + Debug> Exposure<K> {
    /// The main group: the pool, or Outside when the pool is empty, or probation when both are.
    fn main_group(&self) -> Option<Standing> {
        [Standing::Pool, Standing::Outside, Standing::Probation]
            .into_iter()
            .find(|&s| self.nodes.iter().any(|n| n.standing == s))
    }

    /// Dispatch one call: choose the group (probation with probability ε when it is non-empty,
    /// else the main group: pool, falling back to Outside, then probation), draw two candidates
    /// without replacement in proportion to verified capacity, and put the less utilized first
    /// (the first draw on a tie).
    ///
    /// `utilization(id)` is the node's in-flight and queued work divided by its verified
    /// capacity, supplied by the caller; NaN counts as fully loaded.
    ///
    /// Returns every eligible node, best first: the chosen one, the other draw, the rest of
    /// the group by utilization, then every other eligible node by utilization (ties by id),
    /// so a gateway can retry down the list. Empty when nothing is eligible. Always consumes
    /// exactly three `f64` draws from `rng`.
    pub fn rank(&self, utilization: impl Fn(&K) -> f64, rng: &mut impl Rng) -> Vec<K> {
        let u_group: f64 = rng.r#gen();
        let u_first: f64 = rng.r#gen();
        let u_second: f64 = rng.r#gen();
        let Some(main) = self.main_group() else {
            return Vec::new();
        };
        let members = |s: Standing| -> Vec<usize> {
            (0..self.nodes.len())
                .filter(|&i| self.nodes[i].standing == s)
                .collect()
        };
        let probation = members(Standing::Probation);
        let epsilon = f64::from(self.params.exploration_ppm.min(PPM)) / f64::from(PPM);
        let group = if main != Standing::Probation && !probation.is_empty() && u_group < epsilon {
            probation
        } else {
            members(main)
        };
        let load = |i: usize| {
            let u = utilization(&self.nodes[i].id);
            if u.is_nan() { f64::INFINITY } else { u }
        };
        let capacity = |i: usize| self.nodes[i].verified_capacity;
        let mut order = Vec::with_capacity(self.nodes.len());
        if let Some(first) = weighted_pick(&group, capacity, u_first) {
            let rest: Vec<usize> = group.iter().copied().filter(|&i| i != first).collect();
            match weighted_pick(&rest, capacity, u_second) {
                Some(second) if load(second) < load(first) => order.extend([second, first]),
                Some(second) => order.extend([first, second]),
                None => order.push(first),
            }
        }
        let by_load = |a: &usize, b: &usize| {
            load(*a)
                .total_cmp(&load(*b))
                .then_with(|| self.nodes[*a].id.cmp(&self.nodes[*b].id))
        };
        let mut rest: Vec<usize> = group
            .iter()
            .copied()
            .filter(|i| !order.contains(i))
            .collect();
        rest.sort_by(by_load);
        order.extend(rest);
        let mut others: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                !group.contains(&i)
                    && !matches!(self.nodes[i].standing, Standing::Ineligible { .. })
            })
            .collect();
        others.sort_by(by_load);
        order.extend(others);
        order
            .into_iter()
            .map(|i| self.nodes[i].id.clone())
            .collect()
    }

    /// The assessment of `id`, if it was given.
    pub fn node(&self, id: &K) -> Option<&NodeExposure<K>> {
        self.nodes
            .binary_search_by(|n| n.id.cmp(id))
            .ok()
            .map(|i| &self.nodes[i])
    }
}

/// What the listing knows of one model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelEvidence<K> {
    /// The model.
    pub id: K,
    /// Calls of it paid by callers not linked to its owner or its serving nodes.
    pub independent_calls: u64,
}

/// Discovery listing order.
///
/// Established models (at least `model_probation_calls` independent calls) are ordered by
/// independent calls, most first, ties by id. New models are ordered by id and rotated left by
/// `rotation mod (number of new models)`, so each new model reaches the front in turn. The
/// list interleaves them so that among its first `i` slots, `round(i · s)` go to new models
/// (`s = model_exploration_ppm / 10⁶`, while new models remain): with the default 10 % the
/// 5th, 15th, 25th… slots are new models. When one kind runs out the other fills the rest.
/// Every distinct model appears exactly once (duplicated ids keep their first evidence).
pub fn listing<K: Clone + Ord>(
    params: &RouterParams,
    models: &[ModelEvidence<K>],
    rotation: u64,
) -> Vec<K> {
    let mut seen = BTreeSet::new();
    let distinct: Vec<&ModelEvidence<K>> = models.iter().filter(|m| seen.insert(&m.id)).collect();
    let (mut fresh, mut established): (Vec<&ModelEvidence<K>>, Vec<&ModelEvidence<K>>) = distinct
        .into_iter()
        .partition(|m| m.independent_calls < params.model_probation_calls);
    established.sort_by(|a, b| {
        b.independent_calls
            .cmp(&a.independent_calls)
            .then_with(|| a.id.cmp(&b.id))
    });
    fresh.sort_by(|a, b| a.id.cmp(&b.id));
    if !fresh.is_empty() {
        let turn = (rotation % fresh.len() as u64) as usize;
        fresh.rotate_left(turn);
    }
    let share = f64::from(params.model_exploration_ppm.min(PPM)) / f64::from(PPM);
    let total = fresh.len() + established.len();
    let (mut f, mut e) = (fresh.into_iter(), established.into_iter());
    let mut out = Vec::with_capacity(total);
    let mut fresh_placed = 0usize;
    for slot in 1..=total {
        let due = ((slot as f64) * share).round() as usize;
        let next = if fresh_placed < due {
            f.next().inspect(|_| fresh_placed += 1).or_else(|| e.next())
        } else {
            e.next().or_else(|| f.next().inspect(|_| fresh_placed += 1))
        };
        if let Some(m) = next {
            out.push(m.id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
