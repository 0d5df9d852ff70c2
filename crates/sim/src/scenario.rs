//! Scenario files: the marketplace to simulate, in TOML.
//!
//! A scenario names the run length, the ledger's economics (fees, audit rates, burns), the
//! router's parameters (defaults unless overridden), the demand per model, the kinds of caller,
//! the node classes and the attackers. Nodes of one class share their true quality, latency
//! distribution, price, capacity and stake, so "equals" are well defined: fairness metrics
//! compare nodes of one honest class. Every value is checked by [`Scenario::validate`], and
//! every error names the field and how to fix it.

use serde::{Deserialize, Serialize};
use std::path::Path;
use verity_router::RouterParams;

/// The scenarios shipped with the simulator, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../scenarios/default.toml")),
    ("many-nodes", include_str!("../scenarios/many-nodes.toml")),
    ("bursty", include_str!("../scenarios/bursty.toml")),
    ("sparse", include_str!("../scenarios/sparse.toml")),
];

/// A scenario that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Neither a shipped scenario nor a readable file.
    #[error("no scenario named `{0}` and no such file (shipped: {1})")]
    NotFound(String, String),
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a field is missing, unknown or of the wrong type.
    #[error("scenario `{origin}` is not valid: {message}")]
    Parse {
        /// Where the text came from.
        origin: String,
        /// The parser's message (it names the field and the line).
        message: String,
    },
    /// A value is out of range.
    #[error("scenario `{origin}`: {field}: {problem}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The offending field, as a TOML path.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// A marketplace to simulate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in output paths.
    pub name: String,
    /// One line on what the scenario exercises.
    #[serde(default)]
    pub description: String,
    /// Simulated time, hours.
    pub hours: f64,
    /// Fairness metrics (top-10 % share, Gini) are measured over the last `window_hours`,
    /// among nodes eligible before the window opens.
    pub window_hours: f64,
    /// A call answered later than this is an SLA miss, milliseconds.
    pub sla_ms: f64,
    /// Nodes a gateway tries per call before giving up.
    #[serde(default = "default_attempts")]
    pub max_attempts: usize,
    /// A node refuses a call when this many calls per slot are already waiting.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: usize,
    /// Ledger economics.
    pub ledger: Ledger,
    /// Router parameters; omitted fields take the published defaults.
    #[serde(default)]
    pub router: RouterParams,
    /// Demand per model.
    pub models: Vec<ModelDemand>,
    /// Kinds of caller, each with a share of the demand.
    pub callers: Vec<CallerKind>,
    /// Node classes.
    pub classes: Vec<NodeClass>,
    /// Attackers.
    #[serde(default)]
    pub attackers: Attackers,
}

fn default_attempts() -> usize {
    3
}

fn default_queue_limit() -> usize {
    4
}

/// Fees, audits, penalties and burns, as the ledger applies them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Protocol fee, basis points of the price.
    pub protocol_fee_bps: u32,
    /// Verifier fee, basis points.
    pub verifier_fee_bps: u32,
    /// Model owner's royalty, basis points.
    pub royalty_bps: u32,
    /// Audit probability of a call by a node on ledger probation.
    pub audit_probation: f64,
    /// Audit probability otherwise.
    pub audit_floor: f64,
    /// Calls a node serves on ledger probation after joining, and again after each fault.
    pub probation_calls: u64,
    /// Confirmed faults after which a node is jailed for the rest of the run.
    pub jail_after_faults: u32,
    /// Share of stake slashed per confirmed fault, basis points.
    pub slash_bps: u32,
    /// Tokens burned to register one identity, base units.
    pub registration_burn: u128,
}

impl Ledger {
    /// The node's share of a call's price, basis points.
    pub fn node_bps(&self) -> u32 {
        10_000 - self.protocol_fee_bps - self.verifier_fee_bps - self.royalty_bps
    }
}

/// Demand for one model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelDemand {
    /// Model name.
    pub name: String,
    /// Mean calls per hour.
    pub calls_per_hour: f64,
    /// Share of hours that are bursts (0 = steady Poisson demand).
    #[serde(default)]
    pub burst_fraction: f64,
    /// Demand multiplier during a burst hour; quiet hours are scaled down so the mean holds.
    #[serde(default = "one")]
    pub burst_factor: f64,
}

fn one() -> f64 {
    1.0
}

/// A kind of caller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CallerKind {
    /// Name.
    pub name: String,
    /// Share of every model's calls made by this kind (shares sum to 1).
    pub share: f64,
    /// Highest price per call it pays, base units.
    pub max_price: u128,
    /// Highest p50 latency it accepts, milliseconds.
    #[serde(default)]
    pub max_latency_ms: Option<f64>,
}

/// A class of nodes with the same hardware, price and behaviour.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeClass {
    /// Name.
    pub name: String,
    /// Honest classes are the "equals" of the fairness metrics and the nodes whose time to
    /// first call is measured; set `false` for low-quality or cheating classes.
    #[serde(default = "yes")]
    pub honest: bool,
    /// Price per call, base units.
    pub price: u128,
    /// Median service time, milliseconds.
    pub median_latency_ms: f64,
    /// Log-normal shape of service times (0 = constant).
    pub latency_sigma: f64,
    /// Calls served at once.
    pub slots: usize,
    /// Bonded stake, base units.
    pub stake: u128,
    /// Probability a call is answered wrongly.
    #[serde(default)]
    pub failure: f64,
    /// Probability a call is refused or fails.
    pub refusal: f64,
    /// Nodes present from the start, with a history.
    pub initial: usize,
    /// Calls each initial node served before the run, drawn uniformly in `[lo, hi]`.
    #[serde(default)]
    pub history_calls: [u64; 2],
    /// Nodes joining during the run, evenly spread over `join_hours`.
    #[serde(default)]
    pub joining: usize,
    /// `[first, last]` hour of joining.
    #[serde(default)]
    pub join_hours: [f64; 2],
    /// Models served (every model when empty).
    #[serde(default)]
    pub models: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The attackers of a scenario; each is optional.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Attackers {
    /// One operator split into several identities.
    pub sybil: Option<Sybil>,
    /// A node buying calls from itself.
    pub wash: Option<Wash>,
    /// A node that turns bad after building a record.
    pub degrader: Option<Degrader>,
}

/// One operator with the hardware and stake of one node of `class`, registered as
/// `identities` nodes, each declaring `1/identities` of the capacity and stake and sharing one
/// machine. The counterfactual run registers it as one node.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sybil {
    /// Class of the reference honest node.
    pub class: String,
    /// Identities it registers.
    pub identities: usize,
    /// Hour it joins.
    pub join_hour: f64,
}

/// An incumbent node of `class` that buys calls of itself from its own linked account, so
/// they make `self_call_share` of its volume at an average node's traffic. The counterfactual
/// run makes no self-calls.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Wash {
    /// Class.
    pub class: String,
    /// Self-calls as a share of its volume (0.2 = 20 %).
    pub self_call_share: f64,
}

/// An incumbent node of `class` with the largest history of its class that starts answering
/// wrongly with probability `failure` after `after_hours`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Degrader {
    /// Class.
    pub class: String,
    /// Hour it turns bad.
    pub after_hours: f64,
    /// Wrong-answer probability afterwards.
    pub failure: f64,
}

impl Scenario {
    /// A shipped scenario by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ScenarioError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, name_or_path);
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(ScenarioError::NotFound(
                name_or_path.to_string(),
                names.join(", "),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: name_or_path.to_string(),
            source,
        })?;
        Self::parse(&text, name_or_path)
    }

    /// Parse and validate scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        scenario
            .validate()
            .map_err(|(field, problem)| ScenarioError::Invalid {
                origin: origin.to_string(),
                field,
                problem,
            })?;
        Ok(scenario)
    }

    /// The index of the class called `name`.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c.name == name)
    }

    /// Check every value; the error is `(field, problem and fix)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, problem: &str| Err((field.to_string(), problem.to_string()));
        let positive = |x: f64| x.is_finite() && x > 0.0;
        let probability = |x: f64| (0.0..=1.0).contains(&x);
        if !positive(self.hours) || self.hours > 24.0 * 366.0 {
            return bad("hours", "must be > 0 and at most a year (8784)");
        }
        if !positive(self.window_hours) || self.window_hours > self.hours {
            return bad("window_hours", "must be > 0 and at most `hours`");
        }
        if !positive(self.sla_ms) {
            return bad("sla_ms", "must be > 0 milliseconds");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "must be at least 1");
        }
        let l = &self.ledger;
        if l.protocol_fee_bps + l.verifier_fee_bps + l.royalty_bps > 10_000 {
            return bad(
                "ledger",
                "protocol_fee_bps + verifier_fee_bps + royalty_bps must not exceed 10000",
            );
        }
        if !probability(l.audit_floor) || !probability(l.audit_probation) {
            return bad(
                "ledger.audit_floor / ledger.audit_probation",
                "must be probabilities in [0, 1] (0.02 means 2 %)",
            );
        }
        if l.slash_bps > 10_000 {
            return bad("ledger.slash_bps", "must be at most 10000 (100 % of stake)");
        }
        if l.jail_after_faults == 0 {
            return bad("ledger.jail_after_faults", "must be at least 1");
        }
        if self.models.is_empty() {
            return bad("models", "add at least one [[models]] table");
        }
        for (i, m) in self.models.iter().enumerate() {
            let f = |x: &str| format!("models[{i}].{x}");
            if !positive(m.calls_per_hour) {
                return bad(&f("calls_per_hour"), "must be > 0");
            }
            if !probability(m.burst_fraction) || m.burst_factor.is_nan() || m.burst_factor < 1.0 {
                return bad(
                    &f("burst_fraction"),
                    "burst_fraction must be in [0, 1] and burst_factor ≥ 1",
                );
            }
            if m.burst_fraction * m.burst_factor >= 1.0 {
                return bad(
                    &f("burst_factor"),
                    "burst_fraction × burst_factor must be < 1 so quiet hours keep some demand",
                );
            }
            if self.models[..i].iter().any(|o| o.name == m.name) {
                return bad(&f("name"), "model names must be unique");
            }
        }
        if self.callers.is_empty() {
            return bad("callers", "add at least one [[callers]] table");
        }
        let shares: f64 = self.callers.iter().map(|c| c.share).sum();
        if self
            .callers
            .iter()
            .any(|c| c.share.is_nan() || c.share < 0.0)
            || (shares - 1.0).abs() > 1e-9
        {
            return bad("callers[].share", "shares must be ≥ 0 and sum to 1");
        }
        if self.classes.is_empty() {
            return bad("classes", "add at least one [[classes]] table");
        }
        for (i, c) in self.classes.iter().enumerate() {
            let f = |x: &str| format!("classes[{i}].{x} (class `{}`)", c.name);
            if c.price == 0 {
                return bad(&f("price"), "must be > 0 base units per call");
            }
            if !positive(c.median_latency_ms) {
                return bad(&f("median_latency_ms"), "must be > 0");
            }
            if !(c.latency_sigma >= 0.0 && c.latency_sigma <= 3.0) {
                return bad(&f("latency_sigma"), "must be in [0, 3]");
            }
            if c.slots == 0 {
                return bad(&f("slots"), "must be at least 1");
            }
            if !probability(c.failure) || !probability(c.refusal) {
                return bad(&f("failure"), "failure and refusal must be in [0, 1]");
            }
            if c.history_calls[0] > c.history_calls[1] {
                return bad(&f("history_calls"), "write [lo, hi] with lo ≤ hi");
            }
            if c.joining > 0
                && !(c.join_hours[0] >= 0.0
                    && c.join_hours[0] <= c.join_hours[1]
                    && c.join_hours[1] < self.hours)
            {
                return bad(
                    &f("join_hours"),
                    "write [first, last] with 0 ≤ first ≤ last < hours",
                );
            }
            if let Some(m) = c
                .models
                .iter()
                .find(|m| !self.models.iter().any(|d| &&d.name == m))
            {
                return bad(&f("models"), &format!("unknown model `{m}`"));
            }
            if self.classes[..i].iter().any(|o| o.name == c.name) {
                return bad(&f("name"), "class names must be unique");
            }
        }
        let class = |field: &str, name: &str| -> Result<&NodeClass, (String, String)> {
            self.class_index(name)
                .map(|i| &self.classes[i])
                .ok_or_else(|| (field.to_string(), format!("unknown class `{name}`")))
        };
        if let Some(s) = &self.attackers.sybil {
            let c = class("attackers.sybil.class", &s.class)?;
            if s.identities < 2 {
                return bad("attackers.sybil.identities", "must be at least 2");
            }
            if c.stake / s.identities as u128 == 0 {
                return bad(
                    "attackers.sybil.identities",
                    "leaves an identity without stake",
                );
            }
            if !(s.join_hour >= 0.0 && s.join_hour < self.hours) {
                return bad("attackers.sybil.join_hour", "must be in [0, hours)");
            }
        }
        if let Some(w) = &self.attackers.wash {
            class("attackers.wash.class", &w.class)?;
            if !(w.self_call_share >= 0.0 && w.self_call_share < 1.0) {
                return bad(
                    "attackers.wash.self_call_share",
                    "must be in [0, 1) (0.2 means 20 % of its volume)",
                );
            }
        }
        if let Some(d) = &self.attackers.degrader {
            class("attackers.degrader.class", &d.class)?;
            if !probability(d.failure) {
                return bad("attackers.degrader.failure", "must be in [0, 1]");
            }
            if d.after_hours.is_nan() || d.after_hours < 0.0 {
                return bad("attackers.degrader.after_hours", "must be ≥ 0");
            }
        }
        Ok(())
    }
}
