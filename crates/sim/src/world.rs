//! The simulated marketplace: nodes, their machines and queues, the ledger's bookkeeping, what
//! each policy can observe, and the event loop on a virtual clock.
//!
//! # One organic call
//! A call of model `m` by a caller kind arrives at time `t` (Poisson per model, optionally
//! bursty). The policy ranks the nodes; the gateway tries the first `max_attempts`. A node
//! refuses when its machine's queue is full or with its class's refusal probability; otherwise
//! the call waits for the first free slot of the node's machine (FIFO) and is served in a
//! log-normal service time. The answer is wrong with the node's current failure probability,
//! late when its latency exceeds the SLA, and audited with the ledger's probability (probation
//! after joining and after a fault, the floor otherwise). An audited wrong answer is refunded,
//! slashed, puts the node back on ledger probation, and after `jail_after_faults` faults jails
//! it. Every other answered call is paid: the node receives the price minus protocol fee,
//! verifier fee and royalty.
//!
//! # What policies see
//! - **Router evidence** (the exposure router): audits, canaries and outcomes of calls paid by
//!   independent callers. The wash trader's self-calls come from its own linked account and
//!   are never counted.
//! - **Observed outcomes** (Thompson sampling): answered on time and not caught = success,
//!   refused, late or caught = failure, on every call including self-calls, which it cannot tell
//!   apart.
//! - **Volume**: every call a node has served, history and self-calls included.
//! - **Observed p50 latency** of independent calls (all policies apply the caller's latency
//!   cap to it).
//! - **Truth** (the oracle only): current failure and refusal probabilities, price, median
//!   service time and queue wait.
//!
//! # Determinism
//! Every random draw comes from a stream keyed by the seed and the call (see [`crate::dist`]);
//! the same seed and scenario give the same run, and counterfactual runs share every draw not
//! affected by the attack.

use crate::dist;
use crate::scenario::Scenario;
use rand::Rng;
use verity_router::Request;

/// Latency observations kept per node and model for the p50.
const LATENCY_WINDOW: usize = 101;

/// Why a node is in the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A node of an honest class: one of the equals.
    Honest,
    /// A node of a class marked `honest = false`.
    Faulty,
    /// One identity of the Sybil operator.
    Sybil,
    /// The wash trader.
    Wash,
    /// The node that degrades after building a record.
    Degrader,
}

/// Which run of a scenario: the base run or a counterfactual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Everything as written.
    Base,
    /// The Sybil operator registers one identity with all its capacity and stake.
    SybilAsOne,
    /// The wash trader makes no self-calls.
    NoWash,
}

/// One node (an identity registered on the ledger).
#[derive(Clone, Debug)]
pub struct Node {
    /// Display name.
    pub name: String,
    /// Index of its class.
    pub class: usize,
    /// Why it is here.
    pub role: Role,
    /// Hour it registered (0 for incumbents).
    pub joined_h: f64,
    /// Registered during the run.
    pub newcomer: bool,
    /// Index of the machine serving its calls.
    pub machine: usize,
    /// Price per call.
    pub price: u128,
    /// Current stake (slashes lower it).
    pub stake: u128,
    /// Declared calls per second.
    pub declared_capacity: f64,
    median_ms: f64,
    sigma: f64,
    failure: f64,
    refusal: f64,
    degrade: Option<(f64, f64)>,
    serves: Vec<bool>,
    served: u64,
    probation_until: u64,
    faults: u32,
    /// Jailed by the ledger.
    pub jailed: bool,
    canary_passed: bool,
    /// Organic revenue (node share of independent calls), base units.
    pub revenue: u128,
    /// Organic revenue inside the fairness window.
    pub window_revenue: u128,
    /// Organic calls answered.
    pub calls: u64,
    /// Organic calls answered inside the fairness window.
    pub window_calls: u64,
    /// Hour of its first organic call.
    pub first_call_h: Option<f64>,
    /// Self-calls answered.
    pub self_calls: u64,
    /// Paid for self-calls (gross).
    pub self_paid: u128,
    /// Received back from self-calls (node share).
    pub self_income: u128,
}

impl Node {
    /// Probability its next answer is wrong at time `t` (seconds).
    pub fn failure_at(&self, t: f64) -> f64 {
        match self.degrade {
            Some((after, f)) if t >= after => f,
            _ => self.failure,
        }
    }

    /// Its refusal probability.
    pub fn refusal(&self) -> f64 {
        self.refusal
    }

    /// Its true median service time, milliseconds.
    pub fn median_ms(&self) -> f64 {
        self.median_ms
    }

    /// Whether it serves model `m`.
    pub fn serves(&self, m: usize) -> bool {
        self.serves[m]
    }

    /// On probation by the ledger after a fault.
    pub fn fault_probation(&self) -> bool {
        self.faults > 0 && self.served < self.probation_until
    }

    /// Passed its canary on joining.
    pub fn canary_passed(&self) -> bool {
        self.canary_passed
    }
}

/// One machine: `slots` servers taking calls first come, first served.
#[derive(Clone, Debug)]
pub struct Machine {
    slot_free: Vec<f64>,
    /// `(start, end, node)` of calls not finished.
    jobs: Vec<(f64, f64, usize)>,
}

impl Machine {
    fn new(slots: usize) -> Self {
        Self {
            slot_free: vec![0.0; slots],
            jobs: Vec::new(),
        }
    }

    fn prune(&mut self, now: f64) {
        self.jobs.retain(|j| j.1 > now);
    }

    fn waiting(&self, now: f64) -> usize {
        self.jobs.iter().filter(|j| j.0 > now).count()
    }

    fn assign(&mut self, now: f64, service: f64, node: usize) -> f64 {
        let (k, free) = self
            .slot_free
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a machine has at least one slot");
        let start = free.max(now);
        let end = start + service;
        self.slot_free[k] = end;
        self.jobs.push((start, end, node));
        end
    }

    /// Seconds until a slot frees up.
    pub fn wait(&self, now: f64) -> f64 {
        self.slot_free
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .max(now)
            - now
    }
}

/// What is known of one node for one model.
#[derive(Clone, Debug, Default)]
pub struct Track {
    /// Audits of independent calls passed.
    pub audits_passed: u64,
    /// Audits of independent calls failed.
    pub audits_failed: u64,
    /// Independent calls answered within the SLA, not audited.
    pub independent_ok: u64,
    /// Independent calls answered late.
    pub sla_misses: u64,
    /// Independent calls refused.
    pub refusals: u64,
    /// Every call served (history and self-calls included).
    pub volume: u64,
    /// Observed successes, self-calls included.
    pub observed_ok: u64,
    /// Observed failures, self-calls included.
    pub observed_fail: u64,
    latencies: Vec<f64>,
    next: usize,
    /// p50 of the last observed latencies of independent calls.
    pub p50: Option<f64>,
}

impl Track {
    fn observe_latency(&mut self, ms: f64) {
        if self.latencies.len() < LATENCY_WINDOW {
            self.latencies.push(ms);
        } else {
            self.latencies[self.next] = ms;
            self.next = (self.next + 1) % LATENCY_WINDOW;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        self.p50 = Some(sorted[sorted.len() / 2]);
    }

    /// Verified outcomes (the router's probation count, canaries aside).
    pub fn outcomes(&self) -> u64 {
        self.audits_passed
            + self.audits_failed
            + self.independent_ok
            + self.sla_misses
            + self.refusals
    }
}

/// The marketplace at one instant.
pub struct World<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Every identity, in a fixed order (Sybil identities last).
    pub nodes: Vec<Node>,
    /// Machines.
    pub machines: Vec<Machine>,
    /// `tracks[node][model]`.
    pub tracks: Vec<Vec<Track>>,
    /// Virtual time, seconds.
    pub now: f64,
}

impl World<'_> {
    /// Nodes registered by now that serve model `m`, in index order.
    pub fn candidates(&self, m: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].joined_h * 3600.0 <= self.now && self.nodes[n].serves(m))
            .collect()
    }

    /// The checks every policy applies (the ledger's and the caller's): not jailed, stake at
    /// least `min_stake`, price within the cap, observed p50 within the latency cap when known.
    pub fn admissible(&self, n: usize, m: usize, request: &Request) -> bool {
        let node = &self.nodes[n];
        !node.jailed
            && node.stake >= self.scenario.router.min_stake
            && node.price <= request.max_price
            && match (request.max_latency_ms, self.tracks[n][m].p50) {
                (Some(cap), Some(p50)) => p50 <= cap,
                _ => true,
            }
    }

    /// Calls the gateway has in flight or queued at node `n`.
    pub fn in_flight(&self, n: usize) -> usize {
        self.machines[self.nodes[n].machine]
            .jobs
            .iter()
            .filter(|j| j.1 > self.now && j.2 == n)
            .count()
    }

    /// The machine of node `n`.
    pub fn machine(&self, n: usize) -> &Machine {
        &self.machines[self.nodes[n].machine]
    }
}

/// One organic call's record.
#[derive(Clone, Copy, Debug)]
pub struct CallRecord {
    /// Arrival, hours.
    pub t_h: f64,
    /// Node that answered.
    pub node: Option<usize>,
    /// Unanswered, wrong or late.
    pub failed: bool,
    /// Price of the answering node.
    pub price: u128,
    /// Latency of the answer, milliseconds.
    pub latency_ms: f64,
    /// The answering node was on probation (fewer than `probation_outcomes` verified
    /// outcomes, or on ledger fault probation).
    pub probation: bool,
}

/// Everything a run produced.
pub struct RunOutput {
    /// Nodes at the end.
    pub nodes: Vec<Node>,
    /// Organic calls, in arrival order.
    pub calls: Vec<CallRecord>,
}

/// One arrival.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// Seconds.
    pub t: f64,
    /// Model index.
    pub model: usize,
    /// Caller kind index.
    pub caller: usize,
}

/// The scenario's organic arrivals for `seed`, in time order.
pub fn arrivals(scenario: &Scenario, seed: u64) -> Vec<Arrival> {
    let hours = scenario.hours.ceil() as u64;
    let end = scenario.hours * 3600.0;
    let mut out = Vec::new();
    for (m, model) in scenario.models.iter().enumerate() {
        for h in 0..hours {
            let mut rng = dist::stream(seed, dist::ARRIVALS, m as u64, h);
            let f = model.burst_fraction;
            let burst = rng.r#gen::<f64>() < f;
            let rate = if burst {
                model.calls_per_hour * model.burst_factor
            } else {
                model.calls_per_hour * (1.0 - f * model.burst_factor) / (1.0 - f)
            };
            let mut t = h as f64 * 3600.0;
            loop {
                t += dist::exponential(&mut rng, 3600.0 / rate);
                if t >= ((h + 1) as f64 * 3600.0).min(end) {
                    break;
                }
                let u: f64 = rng.r#gen();
                let mut acc = 0.0;
                let caller = scenario
                    .callers
                    .iter()
                    .position(|c| {
                        acc += c.share;
                        u < acc
                    })
                    .unwrap_or(scenario.callers.len() - 1);
                out.push(Arrival {
                    t,
                    model: m,
                    caller,
                });
            }
        }
    }
    out.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.model.cmp(&b.model)));
    out
}

/// Build the nodes of a scenario for one variant.
fn build(scenario: &Scenario, seed: u64, variant: Variant) -> World<'_> {
    let models = scenario.models.len();
    let mut world = World {
        scenario,
        nodes: Vec::new(),
        machines: Vec::new(),
        tracks: Vec::new(),
        now: 0.0,
    };
    let node_of = |class: usize, name: String, role: Role, joined_h: f64| {
        let c = &scenario.classes[class];
        let mean_ms = c.median_latency_ms * (c.latency_sigma * c.latency_sigma / 2.0).exp();
        Node {
            name,
            class,
            role,
            joined_h,
            newcomer: joined_h > 0.0,
            machine: 0,
            price: c.price,
            stake: c.stake,
            declared_capacity: c.slots as f64 * 1000.0 / mean_ms,
            median_ms: c.median_latency_ms,
            sigma: c.latency_sigma,
            failure: c.failure,
            refusal: c.refusal,
            degrade: None,
            serves: (0..models)
                .map(|m| c.models.is_empty() || c.models.contains(&scenario.models[m].name))
                .collect(),
            served: 0,
            probation_until: scenario.ledger.probation_calls,
            faults: 0,
            jailed: false,
            canary_passed: true,
            revenue: 0,
            window_revenue: 0,
            calls: 0,
            window_calls: 0,
            first_call_h: None,
            self_calls: 0,
            self_paid: 0,
            self_income: 0,
        }
    };
    // (node, history calls)
    let mut histories: Vec<u64> = Vec::new();
    for (ci, c) in scenario.classes.iter().enumerate() {
        let role = if c.honest { Role::Honest } else { Role::Faulty };
        for k in 0..c.initial {
            let [lo, hi] = c.history_calls;
            let idx = world.nodes.len() as u64;
            let h = dist::stream(seed, dist::HISTORY, idx, 0).gen_range(lo..=hi);
            world
                .nodes
                .push(node_of(ci, format!("{}-{:02}", c.name, k + 1), role, 0.0));
            histories.push(h);
        }
        for k in 0..c.joining {
            let [a, b] = c.join_hours;
            let at = if c.joining == 1 {
                a
            } else {
                a + (b - a) * k as f64 / (c.joining - 1) as f64
            };
            let name = format!("{}-{:02}", c.name, c.initial + k + 1);
            world.nodes.push(node_of(ci, name, role, at.max(1e-9)));
            histories.push(0);
        }
    }
    let attackers = &scenario.attackers;
    if let Some(w) = &attackers.wash {
        let ci = scenario.class_index(&w.class).expect("validated");
        let [lo, hi] = scenario.classes[ci].history_calls;
        world
            .nodes
            .push(node_of(ci, "wash".into(), Role::Wash, 0.0));
        histories.push((lo + hi) / 2);
    }
    if let Some(d) = &attackers.degrader {
        let ci = scenario.class_index(&d.class).expect("validated");
        let mut node = node_of(ci, "degrader".into(), Role::Degrader, 0.0);
        node.degrade = Some((d.after_hours * 3600.0, d.failure));
        world.nodes.push(node);
        histories.push(scenario.classes[ci].history_calls[1]);
    }
    for (n, node) in world.nodes.iter_mut().enumerate() {
        node.machine = n;
        world
            .machines
            .push(Machine::new(scenario.classes[node.class].slots));
    }
    if let Some(s) = &attackers.sybil {
        let ci = scenario.class_index(&s.class).expect("validated");
        let machine = world.machines.len();
        world
            .machines
            .push(Machine::new(scenario.classes[ci].slots));
        let parts = if variant == Variant::SybilAsOne {
            1
        } else {
            s.identities
        };
        for k in 0..parts {
            let mut node = node_of(
                ci,
                format!("sybil-{}", k + 1),
                Role::Sybil,
                s.join_hour.max(1e-9),
            );
            node.machine = machine;
            node.stake /= parts as u128;
            node.declared_capacity /= parts as f64;
            world.nodes.push(node);
            histories.push(0);
        }
    }
    // Canaries and histories.
    for (n, &history) in histories.iter().enumerate() {
        let node = &mut world.nodes[n];
        let mut rng = dist::stream(seed, dist::CANARY, n as u64, 0);
        node.canary_passed = rng.r#gen::<f64>() >= node.failure;
        let mut tracks = vec![Track::default(); models];
        let mut rng = dist::stream(seed, dist::HISTORY, n as u64, 1);
        for track in tracks.iter_mut() {
            for _ in 0..history.min(LATENCY_WINDOW as u64) {
                track.observe_latency(dist::lognormal(&mut rng, node.median_ms, node.sigma));
            }
        }
        for k in 0..history {
            let m = k as usize % models;
            let track = &mut tracks[m];
            let (u_refuse, u_wrong, u_audit): (f64, f64, f64) =
                (rng.r#gen(), rng.r#gen(), rng.r#gen());
            track.volume += 1;
            if u_refuse < node.refusal {
                track.refusals += 1;
                track.observed_fail += 1;
                continue;
            }
            let p = if k < scenario.ledger.probation_calls {
                scenario.ledger.audit_probation
            } else {
                scenario.ledger.audit_floor
            };
            let wrong = u_wrong < node.failure;
            if u_audit < p {
                if wrong {
                    track.audits_failed += 1;
                    track.observed_fail += 1;
                } else {
                    track.audits_passed += 1;
                    track.observed_ok += 1;
                }
            } else {
                track.independent_ok += 1;
                track.observed_ok += 1;
            }
        }
        node.served = history;
        world.tracks.push(tracks);
    }
    world
}

/// How one attempt at a node ended.
enum Attempt {
    Refused,
    Answered { latency_ms: f64, failed: bool },
}

impl World<'_> {
    /// One attempt of a call at node `n`; `independent` is false for self-calls.
    fn attempt(&mut self, n: usize, m: usize, rng: &mut impl Rng, independent: bool) -> Attempt {
        let scenario = self.scenario;
        let now = self.now;
        // Always the same four draws, so outcomes stay in step across runs.
        let u_refuse: f64 = rng.r#gen();
        let service_ms = {
            let node = &self.nodes[n];
            dist::lognormal(rng, node.median_ms, node.sigma)
        };
        let u_wrong: f64 = rng.r#gen();
        let u_audit: f64 = rng.r#gen();
        let machine = &mut self.machines[self.nodes[n].machine];
        machine.prune(now);
        let slots = machine.slot_free.len();
        let node = &mut self.nodes[n];
        let track = &mut self.tracks[n][m];
        if machine.waiting(now) >= scenario.queue_limit * slots || u_refuse < node.refusal {
            if independent {
                track.refusals += 1;
            }
            track.observed_fail += 1;
            return Attempt::Refused;
        }
        let end = machine.assign(now, service_ms / 1000.0, n);
        let latency_ms = (end - now) * 1000.0;
        let wrong = u_wrong < node.failure_at(now);
        let ledger = &scenario.ledger;
        let p = if node.served < node.probation_until {
            ledger.audit_probation
        } else {
            ledger.audit_floor
        };
        let audited = u_audit < p;
        let late = latency_ms > scenario.sla_ms;
        node.served += 1;
        track.volume += 1;
        let caught = audited && wrong;
        if caught {
            node.faults += 1;
            node.stake -= node.stake * u128::from(ledger.slash_bps) / 10_000;
            node.probation_until = node.served + ledger.probation_calls;
            if node.faults >= ledger.jail_after_faults {
                node.jailed = true;
            }
        } else {
            let income = node.price * u128::from(ledger.node_bps()) / 10_000;
            if independent {
                node.revenue += income;
                if now >= (scenario.hours - scenario.window_hours) * 3600.0 {
                    node.window_revenue += income;
                }
            } else {
                node.self_income += income;
            }
        }
        if !independent {
            node.self_calls += 1;
            node.self_paid += node.price;
        }
        if late || caught {
            track.observed_fail += 1;
        } else {
            track.observed_ok += 1;
        }
        if independent {
            match (audited, wrong) {
                (true, true) => track.audits_failed += 1,
                (true, false) => track.audits_passed += 1,
                (false, _) if !late => track.independent_ok += 1,
                (false, _) => {}
            }
            if late {
                track.sla_misses += 1;
            }
            track.observe_latency(latency_ms);
        }
        Attempt::Answered {
            latency_ms,
            failed: wrong || late,
        }
    }
}

/// A routing policy: orders the nodes for one call, best first.
pub trait Policy {
    /// Short name used in tables and charts.
    fn name(&self) -> &'static str;
    /// The nodes to try for a call of model `m` with `request`, best first. Only nodes that
    /// are registered and serve `m` may be returned.
    fn rank(
        &mut self,
        world: &World<'_>,
        m: usize,
        request: &Request,
        rng: &mut rand::rngs::StdRng,
    ) -> Vec<usize>;
}

/// Run `policy` on `scenario` with `seed`; `tick` is called with the number of organic calls
/// processed since its last call.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    arrivals: &[Arrival],
    policy: &mut dyn Policy,
    variant: Variant,
    tick: &mut dyn FnMut(u64),
) -> RunOutput {
    let mut world = build(scenario, seed, variant);
    let self_calls = match (&scenario.attackers.wash, variant) {
        (Some(w), Variant::Base | Variant::SybilAsOne) => {
            self_call_times(scenario, seed, w.self_call_share)
        }
        _ => Vec::new(),
    };
    let wash = world.nodes.iter().position(|n| n.role == Role::Wash);
    let window_start = scenario.hours - scenario.window_hours;
    let mut calls = Vec::with_capacity(arrivals.len());
    let (mut a, mut s) = (0, 0);
    let mut pending_ticks = 0u64;
    while a < arrivals.len() || s < self_calls.len() {
        if s < self_calls.len() && (a == arrivals.len() || self_calls[s].0 < arrivals[a].t) {
            let (t, m) = self_calls[s];
            world.now = t;
            if let Some(w) = wash {
                let node = &world.nodes[w];
                if node.serves(m) && !node.jailed {
                    let mut rng = dist::stream(seed, dist::SELF_CALLS, s as u64 + 1, 1);
                    world.attempt(w, m, &mut rng, false);
                }
            }
            s += 1;
            continue;
        }
        let arrival = arrivals[a];
        let index = a as u64;
        a += 1;
        pending_ticks += 1;
        if pending_ticks == 1024 {
            tick(pending_ticks);
            pending_ticks = 0;
        }
        world.now = arrival.t;
        let caller = &scenario.callers[arrival.caller];
        let request = Request {
            max_price: caller.max_price,
            max_latency_ms: caller.max_latency_ms,
        };
        let mut rng = dist::stream(seed, dist::POLICY, index, 0);
        let ranked = policy.rank(&world, arrival.model, &request, &mut rng);
        let t_h = arrival.t / 3600.0;
        let mut record = CallRecord {
            t_h,
            node: None,
            failed: true,
            price: 0,
            latency_ms: 0.0,
            probation: false,
        };
        for &n in ranked.iter().take(scenario.max_attempts) {
            let probation = world.nodes[n].fault_probation()
                || world.tracks[n][arrival.model].outcomes() + 1
                    < scenario.router.probation_outcomes;
            let mut rng = dist::stream(seed, dist::OUTCOME, index, n as u64);
            if let Attempt::Answered { latency_ms, failed } =
                world.attempt(n, arrival.model, &mut rng, true)
            {
                let node = &mut world.nodes[n];
                node.calls += 1;
                if t_h >= window_start {
                    node.window_calls += 1;
                }
                node.first_call_h.get_or_insert(t_h);
                record = CallRecord {
                    t_h,
                    node: Some(n),
                    failed,
                    price: node.price,
                    latency_ms,
                    probation,
                };
                break;
            }
        }
        calls.push(record);
    }
    tick(pending_ticks);
    RunOutput {
        nodes: world.nodes,
        calls,
    }
}

/// Self-call times and models of the wash trader: a Poisson process at
/// `share / (1 − share)` times an average node's organic rate (each model's calls per hour
/// divided by the nodes of the scenario serving it), so self-calls are `share` of the volume of
/// a node with average traffic.
fn self_call_times(scenario: &Scenario, seed: u64, share: f64) -> Vec<(f64, usize)> {
    let Some(w) = &scenario.attackers.wash else {
        return Vec::new();
    };
    let ci = scenario.class_index(&w.class).expect("validated");
    let serving = |m: usize| {
        let name = &scenario.models[m].name;
        let serves =
            |c: &crate::scenario::NodeClass| c.models.is_empty() || c.models.contains(name);
        let mut count: usize = scenario
            .classes
            .iter()
            .filter(|c| serves(c))
            .map(|c| c.initial + c.joining)
            .sum();
        let attackers = &scenario.attackers;
        for class in [
            attackers.wash.as_ref().map(|a| &a.class),
            attackers.degrader.as_ref().map(|a| &a.class),
        ]
        .into_iter()
        .flatten()
        {
            count += usize::from(serves(
                &scenario.classes[scenario.class_index(class).expect("validated")],
            ));
        }
        count.max(1)
    };
    let models: Vec<usize> = (0..scenario.models.len())
        .filter(|&m| {
            let c = &scenario.classes[ci];
            c.models.is_empty() || c.models.contains(&scenario.models[m].name)
        })
        .collect();
    let rate: f64 = models
        .iter()
        .map(|&m| scenario.models[m].calls_per_hour / serving(m) as f64)
        .sum::<f64>()
        * share
        / (1.0 - share);
    if rate <= 0.0 || models.is_empty() {
        return Vec::new();
    }
    let mut rng = dist::stream(seed, dist::SELF_CALLS, 0, 0);
    let end = scenario.hours * 3600.0;
    let mut t = 0.0;
    let mut out = Vec::new();
    loop {
        t += dist::exponential(&mut rng, 3600.0 / rate);
        if t >= end {
            return out;
        }
        out.push((t, models[rng.gen_range(0..models.len())]));
    }
}
