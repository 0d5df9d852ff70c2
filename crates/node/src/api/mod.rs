//! The HTTP JSON API (axum). Routes, types and error codes are documented in the OpenAPI
//! document served at `/v1/openapi.json` (see `verity-api`).

mod error;
mod routes;

pub use error::Failure;

use crate::app::ChainApp;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

/// The API router over `app`.
pub fn router(app: ChainApp) -> Router {
    let body_limit = 2 * app.genesis().params.max_tx_bytes as usize + 4096;
    Router::new()
        .route("/v1/status", get(routes::status))
        .route("/v1/params", get(routes::params))
        .route("/v1/txs", post(routes::submit))
        .route("/v1/txs/{hash}", get(routes::tx))
        .route("/v1/accounts/{address}", get(routes::account))
        .route("/v1/models", get(routes::models))
        .route("/v1/models/{id}", get(routes::model))
        .route("/v1/models/{id}/program", get(routes::program))
        .route("/v1/audits", get(routes::audits))
        .route("/v1/audits/{id}", get(routes::audit))
        .route("/v1/nodes", get(routes::nodes))
        .route("/v1/nodes/{address}", get(routes::node))
        .route("/v1/calls", get(routes::calls))
        .route("/v1/calls/{id}", get(routes::call))
        .route("/v1/events", get(routes::events))
        .route("/v1/blocks", get(routes::blocks))
        .route("/v1/blocks/{height}", get(routes::block))
        .route(verity_api::OPENAPI_PATH, get(routes::openapi))
        .fallback(routes::no_route)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}
