//! `GET /v1/models/{id}/exposure` on a gateway: how its exposure router treats every node
//! serving a model in one mode (see `verity-router` for the formula).

use serde::{Deserialize, Serialize};
use verity_ledger::{Address, Amount, Mode, ModelId};
use verity_router::{NodeEvidence, Quality, RouterParams, Standing};

/// `GET /v1/models/{id}/exposure`: how the router treats every node serving a model in a mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExposureView {
    /// The model.
    pub model: ModelId,
    /// The mode.
    pub mode: Mode,
    /// The caller's price cap the report assumes (`None`: no cap).
    pub max_price: Option<Amount>,
    /// Height of the registry view it was computed from.
    pub height: u64,
    /// Whether this gateway runs known-answer canaries (without, none are required).
    pub canaries: bool,
    /// The router's formula, in words.
    pub formula: String,
    /// The parameters in force.
    pub params: RouterParams,
    /// The highest lower quality bound among nodes past probation: the bar for the merit pool.
    pub best_lower: f64,
    /// Every node listing the model with a price for the mode, by exposure share, largest first.
    pub nodes: Vec<NodeExposureView>,
}

/// One node in an [`ExposureView`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeExposureView {
    /// The node.
    pub node: Address,
    /// Ineligible (and why), probation, pool, or outside the pool.
    pub standing: Standing,
    /// Posterior success rate with its bounds.
    pub quality: Quality,
    /// Calls per second the router credits it with.
    pub verified_capacity: f64,
    /// Share of calls the router sends it, between 0 and 1.
    pub share: f64,
    /// What the router knew of it.
    pub evidence: NodeEvidence<Address>,
}
