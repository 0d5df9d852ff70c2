//! Serving a blob store over HTTP.
//!
//! `GET /v1/blobs/{id}` answers the bytes (`application/octet-stream`) or a JSON
//! [`ApiError`](verity_api::ApiError): 400 `invalid_parameter` for an id that is not 64 hex
//! digits, 404 `not_found` for a blob this server does not have, 500 `storage_error` for a
//! corrupt file (never its bytes).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use std::sync::Arc;
use verity_api::ApiError;
use verity_ledger::Hash32;

use crate::BlobStore;

/// The route, with `{id}` for the blob's hex id.
pub const BLOB_PATH: &str = "/v1/blobs/{id}";

/// A router serving `store` at [`BLOB_PATH`].
pub fn router<S>(store: Arc<BlobStore>) -> Router<S> {
    Router::new().route(BLOB_PATH, get(blob)).with_state(store)
}

async fn blob(State(store): State<Arc<BlobStore>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<Hash32>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("`{id}` is not a blob id; give the model's SHA-256 as 64 hex digits"),
        );
    };
    // Model files are kilobytes to tens of megabytes: reading one inline is cheaper than a hop
    // to a blocking thread.
    match store.get(&id) {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("this server does not have blob {id}; try another source"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            e.to_string(),
        ),
    }
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(ApiError {
            code: code.into(),
            message,
        }),
    )
        .into_response()
}
