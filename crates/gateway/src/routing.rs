//! Routing: the gateway's side of the exposure router ([`verity_router`]).
//!
//! # Evidence
//! For a call of `(model, mode)` the router is given one [`NodeEvidence`] per registered node
//! listing the model with a price for the mode (jailed and under-staked nodes included, so the
//! exposure report shows why they get nothing):
//!
//! | field | source |
//! |---|---|
//! | stake, price, declared capacity, jailed | the ledger (registry view) |
//! | `fault_probation` | the ledger: a node with a confirmed fault that is still on probation |
//! | audits passed / failed, `independent_ok` | the ledger's service record: audits and settled calls of callers not linked to the operator |
//! | canaries passed / failed | this gateway's known-answer calls ([`crate::canary`]) |
//! | latency, SLA misses, refusals | this gateway's observations ([`crate::observe`]), self-calls excluded |
//!
//! The router's parameters are the gateway's `router` settings with `min_stake` taken from
//! the ledger, and `canaries_required` set to 0 when this gateway runs no canaries (the
//! exposure report then says so through the published parameters).
//!
//! # Invariants
//! - A quote never lists a node the registry view says cannot be paid: the router ranks only
//!   eligible nodes, and eligibility includes the ledger's stake and jail rules.
//! - Nodes cooling down after a failure keep their router order but come after the others.

use crate::{
    canary::Canaries,
    observe::Observations,
    registry::{KnownNode, View},
};
use rand::{SeedableRng, rngs::StdRng};
use std::sync::Mutex;
use verity_ledger::{Address, Amount, Mode, ModelId, audit::on_probation};
use verity_router::{Exposure, NodeEvidence, Request, RouterParams};

/// The router with everything the gateway knows about nodes.
pub struct Routing {
    params: RouterParams,
    rng: Mutex<StdRng>,
    /// Load, latency and failures seen by this gateway.
    pub observations: Observations,
    /// Known-answer canary results, when this gateway runs canaries.
    pub canaries: Option<Canaries>,
}

impl Routing {
    /// A router with `params`, dispatch draws seeded with `seed` (or from entropy).
    pub fn new(
        params: RouterParams,
        seed: Option<u64>,
        observations: Observations,
        canaries: Option<Canaries>,
    ) -> Self {
        let rng = seed.map_or_else(StdRng::from_entropy, StdRng::seed_from_u64);
        Self {
            params,
            rng: Mutex::new(rng),
            observations,
            canaries,
        }
    }

    /// The parameters the router runs with against `view` (see the module documentation).
    pub fn params(&self, view: &View) -> RouterParams {
        let mut params = self.params.clone();
        params.min_stake = u128::from(view.params.min_stake);
        if self.canaries.is_none() {
            params.canaries_required = 0;
        }
        params
    }

    /// One evidence record per node listing `model` with a price for `mode`.
    pub fn evidence(&self, view: &View, model: &ModelId, mode: Mode) -> Vec<NodeEvidence<Address>> {
        view.nodes
            .values()
            .filter(|known| known.node.models.contains(model))
            .filter_map(|known| {
                let price = known.node.price(mode)?;
                Some(self.node_evidence(view, known, model, price))
            })
            .collect()
    }

    fn node_evidence(
        &self,
        view: &View,
        known: &KnownNode,
        model: &ModelId,
        price: Amount,
    ) -> NodeEvidence<Address> {
        let node = &known.node;
        let seen = self.observations.of(&node.operator);
        let canary = self
            .canaries
            .as_ref()
            .map(|c| c.of(&node.operator, model))
            .unwrap_or_default();
        NodeEvidence {
            id: node.operator,
            stake: u128::from(node.stake),
            declared_capacity: f64::from(node.hardware.capacity),
            price: u128::from(price),
            latency_ms: seen.latency_p50_ms,
            jailed: node.jailed_until_ms > view.chain_time_ms,
            fault_probation: node.faults > 0 && on_probation(node),
            canaries_passed: canary.passed,
            canaries_failed: canary.failed_since_pass,
            audits_passed: node.record.audits_passed,
            audits_failed: node.record.audits_failed,
            independent_ok: node.record.independent_calls,
            sla_misses: seen.sla_misses,
            refusals: seen.refusals,
        }
    }

    /// The router's assessment of every node for a call of `(model, mode)` priced at most
    /// `max_price`.
    pub fn exposure(
        &self,
        view: &View,
        model: &ModelId,
        mode: Mode,
        max_price: Amount,
    ) -> Exposure<Address> {
        let request = Request {
            max_price: u128::from(max_price),
            max_latency_ms: None,
        };
        verity_router::assess(
            &self.params(view),
            &self.evidence(view, model, mode),
            &request,
        )
    }

    /// Every eligible node for the call, best first; nodes in `cooling_down` after the others.
    pub fn rank(
        &self,
        view: &View,
        model: &ModelId,
        mode: Mode,
        max_price: Amount,
        cooling_down: impl Fn(&Address) -> bool,
    ) -> Vec<Address> {
        let exposure = self.exposure(view, model, mode, max_price);
        let utilization = |id: &Address| {
            let capacity = exposure.node(id).map_or(0.0, |n| n.verified_capacity);
            let in_flight = f64::from(self.observations.of(id).in_flight);
            if capacity > 0.0 {
                in_flight / capacity
            } else {
                f64::INFINITY
            }
        };
        let mut ranked = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            exposure.rank(utilization, &mut *rng)
        };
        ranked.sort_by_key(|id| cooling_down(id));
        ranked
    }
}
