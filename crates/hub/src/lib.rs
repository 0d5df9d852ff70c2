//! # verity-hub
//!
//! Where model files live. A model's id on the ledger is the SHA-256 of its ONNX file, so a file
//! can come from anyone: the publisher, another provider node, a mirror. Whoever fetches it
//! checks the hash before keeping or loading it, and a store never returns bytes whose hash is
//! not their name.
//!
//! - [`BlobStore`]: a directory of files named by the lowercase hex of their SHA-256, written
//!   atomically (temporary file, fsync, rename), checked on every read.
//! - [`router`]: `GET /v1/blobs/{id}` serves a store over HTTP.
//! - [`fetch`]: downloads a blob by id from a list of sources, trying each in turn, and keeps
//!   only bytes with the right hash.

#![deny(missing_docs)]

mod fetch;
mod serve;
mod store;

pub use fetch::{FetchError, fetch, fetch_into};
pub use serve::{BLOB_PATH, router};
pub use store::BlobStore;
