//! Fetching a blob by id from other servers.
//!
//! Sources are base URLs (a publisher's hub, another provider node, the devnet validator); each
//! is asked for `GET {source}/v1/blobs/{id}` in turn. An answer counts only if it is at most
//! `max_bytes` long and hashes to `id`; otherwise the next source is tried. The error, when every
//! source fails, lists what each one did.

use std::{io::Read, time::Duration};
use verity_ledger::{Hash32, crypto::sha256};

use crate::BlobStore;

/// Why no source delivered the blob.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No source was given.
    #[error(
        "model {id} is not stored here and no source is known; pass --model-source URL of a node or hub that has it"
    )]
    NoSources {
        /// The blob.
        id: Hash32,
    },
    /// Every source failed.
    #[error("could not fetch model {id}: {}", .failures.join("; "))]
    AllFailed {
        /// The blob.
        id: Hash32,
        /// One line per source.
        failures: Vec<String>,
    },
    /// Storing the verified blob failed.
    #[error("fetched model {id} but could not store it: {source}")]
    Store {
        /// The blob.
        id: Hash32,
        /// Cause.
        source: std::io::Error,
    },
}

/// Download blob `id` from the first of `sources` that has it with the right hash.
pub fn fetch(id: &Hash32, sources: &[String], max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    if sources.is_empty() {
        return Err(FetchError::NoSources { id: *id });
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut failures = Vec::new();
    for source in sources {
        let url = format!("{}/v1/blobs/{id}", source.trim_end_matches('/'));
        match fetch_one(&agent, &url, max_bytes) {
            Ok(bytes) => {
                let actual = sha256(&[&bytes]);
                if actual == *id {
                    return Ok(bytes);
                }
                failures.push(format!(
                    "{source} sent {} bytes hashing to {actual}, not the model's id (refused)",
                    bytes.len()
                ));
            }
            Err(reason) => failures.push(format!("{source}: {reason}")),
        }
    }
    Err(FetchError::AllFailed { id: *id, failures })
}

/// [`fetch`] unless `store` already has the blob; a fetched blob is stored.
pub fn fetch_into(
    store: &BlobStore,
    id: &Hash32,
    sources: &[String],
    max_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    if let Ok(Some(bytes)) = store.get(id) {
        return Ok(bytes);
    }
    let bytes = fetch(id, sources, max_bytes)?;
    store
        .put(&bytes)
        .map_err(|source| FetchError::Store { id: *id, source })?;
    Ok(bytes)
}

fn fetch_one(agent: &ureq::Agent, url: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("answer is over the {max_bytes}-byte limit"));
    }
    Ok(bytes)
}
