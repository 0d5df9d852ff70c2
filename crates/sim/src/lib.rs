//! # verity-sim
//!
//! An agent-based simulator of the Verity marketplace on a virtual clock. It runs the same
//! exposure router the gateway runs ([`verity_router`]) beside the policies other networks use
//! (volume ranking, uniform random, cheapest first, Thompson sampling) and an oracle that
//! knows every node's true quality, and measures what `ECONOMICS.md` §5 asks of a router:
//! time to first call of newcomers, concentration of traffic and revenue among equals, buyer
//! regret against the oracle, and what a Sybil operator and a wash trader gain.
//!
//! ## Invariants
//! - **Reproducible**: the same scenario and seed give byte-identical metrics, JSON and charts.
//!   Nothing reads the clock or the environment; every draw is keyed by seed and event
//!   ([`dist`]).
//! - **Same code**: the `exposure` policy calls [`verity_router::assess`] and
//!   [`verity_router::Exposure::rank`] exactly as the gateway does, with evidence that leaves
//!   out self-calls.
//! - **Honest baselines**: the oracle sees the truth the other policies cannot; counterfactual
//!   runs (the Sybil as one identity, the wash trader without self-calls) use the same seed, so
//!   the gains measure the attack and not the noise.
//!
//! Entry point: [`simulate`]; presentation: [`report`].

pub mod dist;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod world;

pub use metrics::Metrics;
pub use scenario::{Scenario, ScenarioError};

use serde::Serialize;
use verity_router::RouterParams;
use world::{Variant, run};

/// The result of simulating one scenario with one seed.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Its description.
    pub description: String,
    /// Seed.
    pub seed: u64,
    /// Simulated hours.
    pub hours: f64,
    /// Organic calls per hour, per model.
    pub calls_per_hour: Vec<(String, f64)>,
    /// Router parameters of the `exposure` policy.
    pub router: RouterParams,
    /// One entry per policy, in table order; the oracle always included.
    pub policies: Vec<Metrics>,
}

/// An unknown policy name.
#[derive(Debug, thiserror::Error)]
#[error("unknown policy `{0}` (known: {known})", known = policy::NAMES.join(", "))]
pub struct UnknownPolicy(pub String);

/// The policies to run for `requested` (all when empty), in table order, with the oracle.
pub fn policies_for(requested: &[String]) -> Result<Vec<&'static str>, UnknownPolicy> {
    if let Some(bad) = requested
        .iter()
        .find(|r| !policy::NAMES.contains(&r.as_str()))
    {
        return Err(UnknownPolicy(bad.clone()));
    }
    Ok(policy::NAMES
        .iter()
        .copied()
        .filter(|n| requested.is_empty() || *n == "oracle" || requested.iter().any(|r| r == n))
        .collect())
}

/// How many events [`simulate`] reports through its `tick` for these policies.
pub fn total_events(scenario: &Scenario, seed: u64, policies: &[&str]) -> u64 {
    let arrivals = world::arrivals(scenario, seed).len() as u64;
    let variants = |p: &str| {
        1 + u64::from(p != "oracle")
            * (u64::from(scenario.attackers.sybil.is_some())
                + u64::from(scenario.attackers.wash.is_some()))
    };
    policies.iter().map(|p| variants(p) * arrivals).sum()
}

/// Simulate `scenario` with `seed` under `policies` (names from [`policy::NAMES`]; the oracle
/// is always run). `tick(n)` reports progress in events.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    policies: &[&str],
    tick: &mut dyn FnMut(u64),
) -> Result<Report, UnknownPolicy> {
    let arrivals = world::arrivals(scenario, seed);
    let make = |name: &str| {
        policy::by_name(name, &scenario.router).ok_or_else(|| UnknownPolicy(name.to_string()))
    };
    let oracle = run(
        scenario,
        seed,
        &arrivals,
        &mut *make("oracle")?,
        Variant::Base,
        tick,
    );
    let mut out = Vec::new();
    for &name in policies {
        let base = if name == "oracle" {
            None
        } else {
            Some(run(
                scenario,
                seed,
                &arrivals,
                &mut *make(name)?,
                Variant::Base,
                tick,
            ))
        };
        let counterfactual = |variant, present: bool, tick: &mut dyn FnMut(u64)| {
            (present && name != "oracle")
                .then(|| {
                    make(name).map(|mut p| run(scenario, seed, &arrivals, &mut *p, variant, tick))
                })
                .transpose()
        };
        let sybil_as_one = counterfactual(
            Variant::SybilAsOne,
            scenario.attackers.sybil.is_some(),
            tick,
        )?;
        let no_wash = counterfactual(Variant::NoWash, scenario.attackers.wash.is_some(), tick)?;
        let runs = metrics::PolicyRuns {
            policy: name,
            base: base.as_ref().unwrap_or(&oracle),
            sybil_as_one: sybil_as_one.as_ref(),
            no_wash: no_wash.as_ref(),
        };
        out.push(metrics::measure(scenario, &runs, &oracle));
    }
    Ok(Report {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed,
        hours: scenario.hours,
        calls_per_hour: scenario
            .models
            .iter()
            .map(|m| (m.name.clone(), m.calls_per_hour))
            .collect(),
        router: scenario.router.clone(),
        policies: out,
    })
}
