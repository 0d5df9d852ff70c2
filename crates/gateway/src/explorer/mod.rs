//! The explorer: server-rendered HTML pages of the network under `/explorer`.
//!
//! | route | page |
//! |---|---|
//! | `GET /explorer` | overview: height, calls per minute, settled volume, counts, calls-per-block chart |
//! | `GET /explorer/blocks`, `/explorer/blocks/{height}` | latest blocks; one block and its transactions |
//! | `GET /explorer/txs/{hash}` | one transaction: kind, sender, result, fee, per-call verdicts |
//! | `GET /explorer/calls`, `/explorer/calls/{id}` | latest calls; one call, its verification status, evidence, audit and events |
//! | `GET /explorer/nodes`, `/explorer/nodes/{address}` | nodes with stake, prices, exposure, standing, record; one node |
//! | `GET /explorer/models`, `/explorer/models/{id}` | models with price ranges, royalty, calls; one model |
//! | `GET /explorer/params` | protocol parameters and the slashing schedule |
//! | `GET /explorer/live.json` | the numbers pages update in place (see [`live`]) |
//! | `GET /explorer/assets/explorer.{css,js}` | the stylesheet and the live-update script, compiled into the binary |
//!
//! # Invariants
//! - **The request path never blocks**: ledger reads go through the blocking
//!   [`verity_client::Client`] inside `spawn_blocking`; registry-based numbers (counts,
//!   stakes, exposure) come from the gateway's current [`crate::registry::View`], at most one
//!   refresh old.
//! - **Every ledger-provided string is escaped** ([`html::escape`]).
//! - **Problems are pages, not JSON**: a malformed id or height is a 400 page, an unknown one a
//!   404 page, an unreachable ledger a 503 page; each names the value and what to do.
//! - **Pages work without script**: the script only replaces `data-live` numbers every 2 s
//!   and says so in the header; when a poll fails the numbers stay and the header says live
//!   updates are paused.

mod chart;
mod data;
pub mod html;
mod pages;

use crate::service::Gateway;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use std::{collections::BTreeMap, str::FromStr, sync::Arc};
use verity_client::ClientError;
use verity_ledger::{Address, Hash32};

type Shared = Arc<Gateway>;

/// The explorer's routes, to be merged into the gateway's router.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/explorer", get(overview))
        .route("/explorer/", get(overview))
        .route("/explorer/blocks", get(blocks))
        .route("/explorer/blocks/{height}", get(block))
        .route("/explorer/txs/{hash}", get(tx))
        .route("/explorer/calls", get(calls))
        .route("/explorer/calls/{id}", get(call))
        .route("/explorer/nodes", get(nodes))
        .route("/explorer/nodes/{address}", get(node))
        .route("/explorer/models", get(models))
        .route("/explorer/models/{id}", get(model))
        .route("/explorer/params", get(params))
        .route("/explorer/live.json", get(live))
        .route("/explorer/assets/explorer.css", get(css))
        .route("/explorer/assets/explorer.js", get(js))
        .route("/explorer/{*rest}", get(unknown_page))
}

/// Why a page cannot be shown: an HTML error page with `status`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: String,
    message: String,
}

impl Problem {
    fn new(status: StatusCode, title: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
        }
    }

    /// 400 for a path value that does not parse.
    fn malformed(what: &str, value: &str, error: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            &format!("Invalid {what}"),
            format!("'{value}' is not a valid {what}: {error}"),
        )
    }

    /// A failed ledger read: 404 (with `missing`) when the ledger has no such thing, 503 when
    /// it cannot be reached, 502 for any other answer.
    fn ledger(error: ClientError, missing: impl FnOnce() -> (String, String)) -> Self {
        match error {
            ClientError::Api { status: 404, .. } => {
                let (title, message) = missing();
                Self::new(StatusCode::NOT_FOUND, &title, message)
            }
            ClientError::Unreachable { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Ledger unavailable",
                format!("the explorer cannot read the ledger: {error}"),
            ),
            other => Self::new(
                StatusCode::BAD_GATEWAY,
                "Ledger error",
                format!("the ledger answered unexpectedly: {other}"),
            ),
        }
    }
}

impl From<crate::error::Failure> for Problem {
    fn from(failure: crate::error::Failure) -> Self {
        Self::new(failure.status, "Ledger unavailable", failure.error.message)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (
            self.status,
            Html(html::error_page(self.status, &self.title, &self.message)),
        )
            .into_response()
    }
}

/// Render a page off the async runtime (pages read the ledger with the blocking client).
async fn blocking<F>(gateway: Shared, render: F) -> Response
where
    F: FnOnce(&Gateway) -> Result<String, Problem> + Send + 'static,
{
    match tokio::task::spawn_blocking(move || render(&gateway)).await {
        Ok(Ok(page)) => Html(page).into_response(),
        Ok(Err(problem)) => problem.into_response(),
        Err(e) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Explorer error",
            format!("rendering the page failed: {e}"),
        )
        .into_response(),
    }
}

fn parse<T: FromStr>(value: &str, what: &str) -> Result<T, Problem>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| Problem::malformed(what, value, e))
}

async fn overview(State(g): State<Shared>) -> Response {
    blocking(g, |g| {
        let view = g.view()?;
        let activity =
            data::activity(&g.ledger, &view).map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok(pages::overview(&view, &activity))
    })
    .await
}

/// Lists never ask for one thing by id, so a 404 from them is an unexpected answer.
fn unreachable_404() -> (String, String) {
    (
        "Ledger error".into(),
        "the ledger answered 404 to a list request; is the gateway pointed at a validator API?"
            .into(),
    )
}

async fn blocks(State(g): State<Shared>) -> Response {
    blocking(g, |g| {
        let view = g.view()?;
        let blocks = g
            .ledger
            .blocks(data::LIST_LEN)
            .map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok(pages::blocks(&view, &blocks))
    })
    .await
}

async fn block(State(g): State<Shared>, Path(height): Path<String>) -> Response {
    let height: u64 = match parse(&height, "block height") {
        Ok(h) => h,
        Err(p) => return p.into_response(),
    };
    blocking(g, move |g| {
        let view = g.view()?;
        let block = g.ledger.block(height).map_err(|e| {
            Problem::ledger(e, || {
                (
                    "No such block".into(),
                    format!(
                        "there is no block at height {height}; the chain is at height {}",
                        view.height
                    ),
                )
            })
        })?;
        let txs = block
            .txs
            .iter()
            .map(|hash| {
                g.ledger
                    .tx(hash)
                    .map_err(|e| Problem::ledger(e, unreachable_404))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pages::block(&view, &block, &txs))
    })
    .await
}

async fn tx(State(g): State<Shared>, Path(hash): Path<String>) -> Response {
    let hash: Hash32 = match parse(&hash, "transaction hash") {
        Ok(h) => h,
        Err(p) => return p.into_response(),
    };
    blocking(g, move |g| {
        let tx = g.ledger.tx(&hash).map_err(|e| {
            Problem::ledger(e, || {
                (
                    "No such transaction".into(),
                    format!(
                        "the ledger knows no transaction {hash}: it is neither in a block nor \
                         in this validator's mempool"
                    ),
                )
            })
        })?;
        Ok(pages::tx(&tx))
    })
    .await
}

async fn calls(State(g): State<Shared>) -> Response {
    blocking(g, |g| {
        let view = g.view()?;
        let calls = data::recent_calls(&g.ledger, &view)
            .map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok(pages::calls(&view, &calls))
    })
    .await
}

async fn call(State(g): State<Shared>, Path(id): Path<String>) -> Response {
    let id: Hash32 = match parse(&id, "call id") {
        Ok(h) => h,
        Err(p) => return p.into_response(),
    };
    blocking(g, move |g| {
        let view = g.view()?;
        let call = g.ledger.call(&id).map_err(|e| {
            Problem::ledger(e, || {
                (
                    "No such call".into(),
                    format!(
                        "the ledger has no call {id}; a call appears once a node's receipt \
                         for it is accepted in a block"
                    ),
                )
            })
        })?;
        let audit = match g.ledger.audit(&id) {
            Ok(audit) => Some(audit.audit),
            Err(ClientError::Api { status: 404, .. }) => None,
            Err(e) => return Err(Problem::ledger(e, unreachable_404)),
        };
        let events = g
            .ledger
            .events(Some(&format!("call={id}")), data::LIST_LEN)
            .map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok(pages::call(&view, &call, audit.as_ref(), &events.items))
    })
    .await
}

async fn nodes(State(g): State<Shared>) -> Response {
    blocking(g, |g| {
        let view = g.view()?;
        let exposure = data::exposure(g, &view);
        Ok(pages::nodes(&view, &exposure))
    })
    .await
}

async fn node(State(g): State<Shared>, Path(address): Path<String>) -> Response {
    let address: Address = match parse(&address, "node address") {
        Ok(a) => a,
        Err(p) => return p.into_response(),
    };
    blocking(g, move |g| {
        let view = g.view()?;
        let Some(known) = view.nodes.get(&address) else {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "No such node",
                format!(
                    "{address} is not a registered node (as of height {}); see the nodes list",
                    view.height
                ),
            ));
        };
        let exposure = data::exposure(g, &view);
        let calls = g
            .ledger
            .calls(verity_client::CallFilter::Node(address), data::LIST_LEN)
            .map_err(|e| Problem::ledger(e, unreachable_404))?;
        let slashes =
            data::slashes(&g.ledger, &address).map_err(|e| Problem::ledger(e, unreachable_404))?;
        let earnings = data::earnings(&g.ledger, &known.node, view.chain_time_ms);
        Ok(pages::node(
            &view,
            &known.node,
            &exposure,
            &calls.items,
            &slashes,
            &earnings,
        ))
    })
    .await
}

async fn models(State(g): State<Shared>) -> Response {
    blocking(g, |g| {
        let view = g.view()?;
        let listing = g.models()?;
        Ok(pages::models(&view, &listing))
    })
    .await
}

async fn model(State(g): State<Shared>, Path(id): Path<String>) -> Response {
    let id: Hash32 = match parse(&id, "model id") {
        Ok(h) => h,
        Err(p) => return p.into_response(),
    };
    blocking(g, move |g| {
        let view = g.view()?;
        let listing = g.models()?;
        let (Some(model), Some(offer)) =
            (view.models.get(&id), listing.iter().find(|l| l.id == id))
        else {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "No such model",
                format!(
                    "model {id} is not registered (as of height {}); see the models list",
                    view.height
                ),
            ));
        };
        let exposure = data::exposure(g, &view);
        let calls = g
            .ledger
            .calls(verity_client::CallFilter::Model(id), data::LIST_LEN)
            .map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok(pages::model(&view, model, offer, &exposure, &calls.items))
    })
    .await
}

async fn params(State(g): State<Shared>) -> Response {
    blocking(g, |g| {
        let params = g
            .ledger
            .params()
            .map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok(pages::params(&params))
    })
    .await
}

/// `GET /explorer/live.json`: `{"height": …, "values": {key: text}}`, every number a page
/// shows with a `data-live` key, formatted as the page formats it. Keys: `height`,
/// `calls_per_minute`, `settled_volume`, `settled_calls`, `nodes`, `models`, and per node
/// `stake:<address>`, `served:<address>`, `faults:<address>`, per model `calls:<id>`.
async fn live(State(g): State<Shared>) -> Response {
    let read = tokio::task::spawn_blocking(move || {
        let view = g.view()?;
        let activity =
            data::activity(&g.ledger, &view).map_err(|e| Problem::ledger(e, unreachable_404))?;
        Ok::<_, Problem>((activity.to_height, pages::live_values(&view, &activity)))
    })
    .await;
    match read {
        Ok(Ok((height, values))) => Json(LiveValues { height, values }).into_response(),
        Ok(Err(problem)) => (
            problem.status,
            Json(verity_api::ApiError {
                code: "explorer_unavailable".into(),
                message: problem.message,
            }),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(verity_api::ApiError {
                code: "explorer_unavailable".into(),
                message: format!("reading the live numbers failed: {e}"),
            }),
        )
            .into_response(),
    }
}

/// The answer of `/explorer/live.json`.
#[derive(serde::Serialize)]
struct LiveValues {
    height: u64,
    values: BTreeMap<String, String>,
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/explorer.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/explorer.js"),
    )
        .into_response()
}

async fn unknown_page(Path(rest): Path<String>) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "No such page",
        format!(
            "the explorer has no page /explorer/{rest}; it has the overview, blocks, calls, \
             nodes, models and params"
        ),
    )
}
