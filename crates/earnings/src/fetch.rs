//! Reading what a report needs from a validator and a provider node. The only I/O in the
//! crate.

use crate::{EconomicsConfig, Hardware, NodeInput, NodeReport, Window};
use std::collections::BTreeMap;
use verity_api::ProvingView;
use verity_client::{Client, ClientError};
use verity_ledger::{Address, EventRecord, state::Node};

/// Events fetched per request.
pub const PAGE: usize = 500;
/// Events one report may read; a longer history is an error naming `--days`.
pub const MAX_EVENTS: usize = 2_000_000;

/// What went wrong fetching.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The validator or node did not answer as documented.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Too many events in the window.
    #[error("more than {MAX_EVENTS} events in the window; ask for fewer --days")]
    TooMany,
}

/// Events listed under `query` (e.g. `account=verity1…`) with block time ≥ `since_ms`, oldest
/// first, read newest first page by page.
pub fn events_since(
    client: &Client,
    query: &str,
    since_ms: u64,
) -> Result<Vec<EventRecord>, FetchError> {
    let mut out = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let q = match before {
            Some(b) => format!("{query}&before={b}"),
            None => query.to_string(),
        };
        let page = client.events(Some(&q), PAGE)?;
        let mut older = false;
        for e in page.items {
            if e.record.time_ms < since_ms {
                older = true;
                break;
            }
            out.push(e.record);
        }
        if out.len() > MAX_EVENTS {
            return Err(FetchError::TooMany);
        }
        match page.next {
            Some(next) if !older => before = Some(next),
            _ => break,
        }
    }
    out.reverse();
    Ok(out)
}

/// Events of a node's account since `since_ms`.
pub fn node_events(
    client: &Client,
    node: &Address,
    since_ms: u64,
) -> Result<Vec<EventRecord>, FetchError> {
    events_since(client, &format!("account={node}"), since_ms)
}

/// Settlements since `since_ms`, for a model report. They are read by kind, not by model:
/// the validator's model index lists a model's accepted calls but not their settlements.
pub fn settlements(client: &Client, since_ms: u64) -> Result<Vec<EventRecord>, FetchError> {
    events_since(client, "kind=CallSettled", since_ms)
}

/// The proving seconds a provider node at `node_url` reports.
pub fn proving(node_url: &str) -> Result<ProvingView, FetchError> {
    Ok(Client::new(node_url).get("/v1/proving")?)
}

/// `node`'s report over `window`: its events read from `client`, costed as `hardware`, with
/// the proving seconds per day it reported (if any).
pub fn node_report(
    client: &Client,
    node: &Node,
    hardware: Hardware,
    proving_seconds: Option<BTreeMap<u64, f64>>,
    window: Window,
    config: &EconomicsConfig,
) -> Result<NodeReport, FetchError> {
    let events = node_events(client, &node.operator, window.start_ms())?;
    let input = NodeInput {
        node: node.operator,
        hardware,
        stake_base_units: node.stake,
        proving_seconds,
    };
    Ok(crate::report::node_report(&input, &events, window, config))
}
