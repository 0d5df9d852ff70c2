//! The HTTP surface: routes, extraction of parameters and bodies, and JSON errors.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/quote?model=<hex>&mode=<mode>[&max_price=N]` | [`verity_api::Quote`] |
//! | `POST /v1/call` | [`verity_api::CallResponse`] |
//! | `GET /v1/calls/{id}` | [`verity_api::CallStatusView`] |
//! | `GET /v1/models` | [`crate::views::ModelListing`] list, in discovery order |
//! | `GET /v1/models/{id}/exposure?mode=<mode>[&max_price=N]` | [`verity_api::ExposureView`] |
//! | `GET /health` | [`crate::views::Health`] (200 ready, 503 not) |
//! | `GET /metrics` | Prometheus text |
//! | `GET /explorer…` | HTML pages, see [`crate::explorer`] |
//!
//! Every error is an `ApiError` JSON body: unknown routes 404 `no_such_route`, wrong methods
//! 405 `method_not_allowed`, bodies over `max_body_bytes` 413 `body_too_large`, bodies that are
//! not the expected JSON 400 `malformed_body` (with serde's message), bad query or path values
//! 400 `missing_parameter` / `invalid_parameter`.

use crate::{error::Failure, service::Gateway, views::Health};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State},
    http::{Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::de::DeserializeOwned;
use std::{collections::HashMap, str::FromStr, sync::Arc};
use verity_api::{CallRequest, CallResponse, CallStatusView, ExposureView, Quote};
use verity_ledger::{Amount, CallId, Mode, ModelId};

type Shared = Arc<Gateway>;

/// The gateway's router.
pub fn router(gateway: Shared) -> Router {
    let body_limit = gateway.config.max_body_bytes;
    Router::new()
        .route("/v1/quote", get(quote))
        .route("/v1/call", post(call))
        .route("/v1/calls/{id}", get(call_status))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}/exposure", get(exposure))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(crate::explorer::routes())
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(gateway)
}

/// A JSON body read under the body limit, any content type, refused with gateway codes.
struct JsonBody<T>(T);

impl<T: DeserializeOwned> FromRequest<Shared> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, gateway: &Shared) -> Result<Self, Failure> {
        let bytes = Bytes::from_request(request, gateway).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the request body is larger than this gateway's limit of {} bytes; \
                         send a smaller input",
                        gateway.config.max_body_bytes
                    ),
                )
            } else {
                Failure::bad_request(
                    "malformed_body",
                    format!("cannot read the body: {}", e.body_text()),
                )
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            Failure::bad_request(
                "malformed_body",
                format!("the body is not the expected JSON: {e}"),
            )
        })
    }
}

/// A required query or path value parsed as `T`.
fn parse<T: FromStr>(value: Option<&String>, name: &str) -> Result<T, Failure>
where
    T::Err: std::fmt::Display,
{
    let value = value.ok_or_else(|| {
        Failure::bad_request(
            "missing_parameter",
            format!("the query parameter `{name}` is required"),
        )
    })?;
    value.parse().map_err(|e| {
        Failure::bad_request(
            "invalid_parameter",
            format!("invalid {name} '{value}': {e}"),
        )
    })
}

async fn quote(
    State(gateway): State<Shared>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Quote>, Failure> {
    let Query(query) =
        query.map_err(|e| Failure::bad_request("invalid_parameter", e.body_text()))?;
    let model: ModelId = parse(query.get("model"), "model")?;
    let mode: Mode = parse(query.get("mode"), "mode")?;
    let max_price: Option<Amount> = query
        .get("max_price")
        .map(|v| parse(Some(v), "max_price"))
        .transpose()?;
    gateway.quote(model, mode, max_price).map(Json)
}

async fn exposure(
    State(gateway): State<Shared>,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ExposureView>, Failure> {
    let Query(query) =
        query.map_err(|e| Failure::bad_request("invalid_parameter", e.body_text()))?;
    let model: ModelId = parse(Some(&id), "model id")?;
    let mode: Mode = query
        .get("mode")
        .map(|v| parse(Some(v), "mode"))
        .transpose()?
        .unwrap_or(Mode::Signed);
    let max_price: Option<Amount> = query
        .get("max_price")
        .map(|v| parse(Some(v), "max_price"))
        .transpose()?;
    gateway.exposure(model, mode, max_price).map(Json)
}

async fn call(
    State(gateway): State<Shared>,
    JsonBody(request): JsonBody<CallRequest>,
) -> Result<Json<CallResponse>, Failure> {
    gateway.call(request).await.map(Json)
}

async fn call_status(
    State(gateway): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<CallStatusView>, Failure> {
    let id: CallId = parse(Some(&id), "call id")?;
    gateway.call_status(id).await.map(Json)
}

async fn models(
    State(gateway): State<Shared>,
) -> Result<Json<Vec<crate::views::ModelListing>>, Failure> {
    gateway.models().map(Json)
}

async fn health(State(gateway): State<Shared>) -> (StatusCode, Json<Health>) {
    let (ready, health) = gateway.health();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

async fn metrics(State(gateway): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        gateway.metrics_text(),
    )
        .into_response()
}

async fn no_route(uri: Uri) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "no_such_route",
        format!(
            "no route {}; the gateway serves /v1/quote, /v1/call, /v1/calls/{{id}}, \
             /v1/models, /health, /metrics and /explorer",
            uri.path()
        ),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}
