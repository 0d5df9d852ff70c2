//! The routing policies compared by the simulator, all behind [`Policy`].
//!
//! | name | what it does | whose behaviour |
//! |---|---|---|
//! | `volume` | most calls served first (history and self-calls included), ties at random | incumbent networks' "top nodes" |
//! | `random` | uniformly at random among admissible nodes | Pocket, OpenGradient |
//! | `cheapest` | lowest price first, ties at random | Atoma's proxy, our gateway before the router |
//! | `thompson` | Thompson sampling on a Beta posterior of observed outcomes per node | a common bandit baseline |
//! | `exposure` | the exposure router ([`verity_router`]) on audits, canaries and independent calls | ours |
//! | `oracle` | knows every node's true failure probability, price, service time and queue | the regret baseline |
//!
//! Every policy but the oracle only sees what a gateway could (see [`crate::world`]) and
//! applies the same admissibility checks: not jailed, stake at least `min_stake`, price and
//! observed latency within the caller's caps.

use crate::dist;
use crate::world::{Policy, World};
use rand::Rng;
use rand::rngs::StdRng;
use verity_router::{NodeEvidence, Request, RouterParams, assess};

/// Every policy name, in table order.
pub const NAMES: &[&str] = &[
    "volume", "random", "cheapest", "thompson", "exposure", "oracle",
];

/// The policy called `name`.
pub fn by_name(name: &str, params: &RouterParams) -> Option<Box<dyn Policy>> {
    Some(match name {
        "volume" => Box::new(Volume),
        "random" => Box::new(Random),
        "cheapest" => Box::new(Cheapest),
        "thompson" => Box::new(Thompson),
        "exposure" => Box::new(Exposure {
            params: params.clone(),
        }),
        "oracle" => Box::new(Oracle),
        _ => return None,
    })
}

/// Admissible candidates with a random tie-break key each.
fn keyed(world: &World<'_>, m: usize, request: &Request, rng: &mut StdRng) -> Vec<(usize, u64)> {
    world
        .candidates(m)
        .into_iter()
        .map(|n| (n, rng.r#gen::<u64>()))
        .filter(|&(n, _)| world.admissible(n, m, request))
        .collect()
}

/// Most calls served first.
pub struct Volume;

impl Policy for Volume {
    fn name(&self) -> &'static str {
        "volume"
    }
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut StdRng,
    ) -> Vec<usize> {
        let mut c = keyed(world, m, request, rng);
        c.sort_by_key(|&(n, tie)| (std::cmp::Reverse(world.tracks[n][m].volume), tie));
        c.into_iter().map(|(n, _)| n).collect()
    }
}

/// Uniformly at random.
pub struct Random;

impl Policy for Random {
    fn name(&self) -> &'static str {
        "random"
    }
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut StdRng,
    ) -> Vec<usize> {
        let mut c = keyed(world, m, request, rng);
        c.sort_by_key(|&(_, tie)| tie);
        c.into_iter().map(|(n, _)| n).collect()
    }
}

/// Cheapest first.
pub struct Cheapest;

impl Policy for Cheapest {
    fn name(&self) -> &'static str {
        "cheapest"
    }
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut StdRng,
    ) -> Vec<usize> {
        let mut c = keyed(world, m, request, rng);
        c.sort_by_key(|&(n, tie)| (world.nodes[n].price, tie));
        c.into_iter().map(|(n, _)| n).collect()
    }
}

/// Thompson sampling: one draw from `Beta(1 + ok, 1 + fail)` per node, highest first.
pub struct Thompson;

impl Policy for Thompson {
    fn name(&self) -> &'static str {
        "thompson"
    }
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut StdRng,
    ) -> Vec<usize> {
        let mut c: Vec<(usize, f64)> = world
            .candidates(m)
            .into_iter()
            .filter(|&n| world.admissible(n, m, request))
            .map(|n| {
                let t = &world.tracks[n][m];
                let draw = dist::beta(
                    rng,
                    1.0 + t.observed_ok as f64,
                    1.0 + t.observed_fail as f64,
                );
                (n, draw)
            })
            .collect();
        c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        c.into_iter().map(|(n, _)| n).collect()
    }
}

/// The exposure router.
pub struct Exposure {
    /// Its parameters.
    pub params: RouterParams,
}

impl Exposure {
    /// The router's evidence for node `n` and model `m`: independent calls only.
    pub fn evidence(world: &World<'_>, n: usize, m: usize) -> NodeEvidence<usize> {
        let node = &world.nodes[n];
        let t = &world.tracks[n][m];
        NodeEvidence {
            id: n,
            stake: node.stake,
            declared_capacity: node.declared_capacity,
            price: node.price,
            latency_ms: t.p50,
            jailed: node.jailed,
            fault_probation: node.fault_probation(),
            canaries_passed: u32::from(node.canary_passed()),
            canaries_failed: u32::from(!node.canary_passed()),
            audits_passed: t.audits_passed,
            audits_failed: t.audits_failed,
            independent_ok: t.independent_ok,
            sla_misses: t.sla_misses,
            refusals: t.refusals,
        }
    }
}

impl Policy for Exposure {
    fn name(&self) -> &'static str {
        "exposure"
    }
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut StdRng,
    ) -> Vec<usize> {
        let evidence: Vec<NodeEvidence<usize>> = world
            .candidates(m)
            .into_iter()
            .map(|n| Self::evidence(world, n, m))
            .collect();
        let exposure = assess(&self.params, &evidence, request);
        exposure.rank(
            |&n| {
                let capacity = exposure.node(&n).map_or(0.0, |e| e.verified_capacity);
                world.in_flight(n) as f64 / capacity
            },
            rng,
        )
    }
}

/// Knows the truth: lowest failure probability first, then price, then expected latency
/// (median service time plus queue wait), ties at random. Applies the caller's latency cap to
/// the true median.
pub struct Oracle;

impl Policy for Oracle {
    fn name(&self) -> &'static str {
        "oracle"
    }
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut StdRng,
    ) -> Vec<usize> {
        let mut c: Vec<(usize, f64, u128, f64, u64)> = world
            .candidates(m)
            .into_iter()
            .map(|n| (n, rng.r#gen::<u64>()))
            .filter(|&(n, _)| {
                let node = &world.nodes[n];
                !node.jailed
                    && node.stake >= world.scenario.router.min_stake
                    && node.price <= request.max_price
                    && request
                        .max_latency_ms
                        .is_none_or(|cap| node.median_ms() <= cap)
            })
            .map(|(n, tie)| {
                let node = &world.nodes[n];
                let fail = node.failure_at(world.now) + node.refusal();
                let latency = node.median_ms() + 1000.0 * world.machine(n).wait(world.now);
                (n, fail, node.price, latency, tie)
            })
            .collect();
        c.sort_by(|a, b| {
            a.1.total_cmp(&b.1)
                .then(a.2.cmp(&b.2))
                .then(a.3.total_cmp(&b.3))
                .then(a.4.cmp(&b.4))
        });
        c.into_iter().map(|(n, ..)| n).collect()
    }
}
