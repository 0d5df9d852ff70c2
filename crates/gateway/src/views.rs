//! Answers specific to the gateway (the shared call types are in [`verity_api`]).

use serde::{Deserialize, Serialize};
use verity_ledger::{Address, Amount, Bps, InputSpec, Mode, ModelId};

/// `GET /v1/models`: a registered model and who serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelListing {
    /// Content hash of the ONNX file.
    pub id: ModelId,
    /// Display name.
    pub name: String,
    /// Receives the royalty.
    pub owner: Address,
    /// Royalty per call, in basis points of the price.
    pub royalty_bps: Bps,
    /// Accepted input.
    pub input: InputSpec,
    /// One entry per mode the model allows, in the model's order.
    pub modes: Vec<ModeOffer>,
    /// Calls paid by callers independent of the owner and the serving node, as the ledger
    /// counts them.
    pub independent_calls: u64,
    /// Whether the model is still new, and so placed in the listing's exploration slots.
    pub exploring: bool,
}

/// Who serves a model in one mode, and at what prices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeOffer {
    /// The mode.
    pub mode: Mode,
    /// Bonded nodes serving the model in this mode.
    pub nodes: usize,
    /// Lowest of their prices (`None` when no node serves it).
    pub min_price: Option<Amount>,
    /// Highest of their prices (`None` when no node serves it).
    pub max_price: Option<Amount>,
}

/// `GET /health`. Answered with 200 when the last registry refresh succeeded, 503 otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The validator API the gateway reads.
    pub ledger_url: String,
    /// Whether the last refresh of the registry succeeded.
    pub ledger_reachable: bool,
    /// Chain id, once the ledger was read.
    pub chain_id: Option<String>,
    /// Height of the view.
    pub height: Option<u64>,
    /// Registered models in the view.
    pub models_known: usize,
    /// Registered nodes in the view.
    pub nodes_known: usize,
    /// Milliseconds since the last successful refresh.
    pub last_refresh_age_ms: Option<u64>,
    /// Why the last refresh failed, if it did.
    pub last_error: Option<String>,
}
