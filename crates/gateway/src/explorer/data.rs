//! What the explorer reads from the ledger besides the registry view: recent activity, recent
//! calls, slashes, and the router's exposure reports.
//!
//! Every read is bounded: lists take [`LIST_LEN`] items, and the activity window reads at
//! most [`MAX_EVENT_PAGES`] pages of calls per model and of settlement events.

use crate::registry::View;
use crate::service::Gateway;
use std::collections::BTreeMap;
use verity_api::{EventView, ExposureView, Page};
use verity_client::{CallFilter, Client, ClientError};
use verity_earnings::{EconomicsConfig, Hardware, NodeReport, Window};
use verity_ledger::{
    Address, Amount, Event,
    state::{Call, Node},
};

/// Items in every list page (blocks, calls, events).
pub const LIST_LEN: usize = 30;

/// Blocks in the overview's activity window (chart and settled volume).
pub const WINDOW_BLOCKS: u64 = 60;

/// Most pages (500 items each) read per model, and of settlement events, for the activity
/// window.
pub const MAX_EVENT_PAGES: usize = 10;

/// Recent activity: calls accepted per block and per minute, and the volume settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// First height of the window (inclusive).
    pub from_height: u64,
    /// Last height of the window (the ledger's height when it was read).
    pub to_height: u64,
    /// Calls accepted per block of the window, oldest first, one entry per height.
    pub per_block: Vec<(u64, u64)>,
    /// Calls accepted in blocks of the last 60 s of chain time (before the window's last block).
    pub calls_per_minute: u64,
    /// Sum of the prices of calls settled in the window.
    pub settled_volume: Amount,
    /// Calls settled in the window.
    pub settled_calls: u64,
    /// Whether the window held more calls than were read (the numbers are then lower bounds).
    pub truncated: bool,
}

/// Read `path` (a list endpoint with `order=desc`) page by page, newest first, while `keep`
/// holds; at most [`MAX_EVENT_PAGES`] pages. The items kept, and whether the last page read
/// still had more to read.
fn pages_while<T: serde::de::DeserializeOwned>(
    ledger: &Client,
    path: &str,
    keep: impl Fn(&T) -> bool,
) -> Result<(Vec<T>, bool), ClientError> {
    let mut out = Vec::new();
    let mut before = None;
    for _ in 0..MAX_EVENT_PAGES {
        let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let page: Page<T> = ledger.get(&format!(
            "{path}&order=desc&limit={}{cursor}",
            verity_api::MAX_PAGE
        ))?;
        let before_start = page.items.iter().any(|item| !keep(item));
        out.extend(page.items.into_iter().filter(|item| keep(item)));
        match page.next {
            Some(next) if !before_start => before = Some(next),
            _ => return Ok((out, false)),
        }
    }
    Ok((out, true))
}

/// The activity of the latest [`WINDOW_BLOCKS`] blocks: calls accepted per block (from each
/// registered model's call index), calls per minute of chain time, and the settled volume
/// (from the `CallSettled` events).
pub fn activity(ledger: &Client, view: &View) -> Result<Activity, ClientError> {
    let blocks = ledger.blocks(WINDOW_BLOCKS as usize)?;
    let to_height = blocks.first().map_or(view.height, |b| b.height);
    let from_height = blocks.last().map_or(to_height, |b| b.height);
    let now_ms = blocks
        .first()
        .map_or(view.chain_time_ms, |b| b.timestamp_ms);
    let times: BTreeMap<u64, u64> = blocks.iter().map(|b| (b.height, b.timestamp_ms)).collect();
    let mut per_block: BTreeMap<u64, u64> = times.keys().map(|h| (*h, 0)).collect();
    let mut truncated = false;
    let mut calls_per_minute = 0;
    for model in view.models.keys() {
        let (calls, cut) = pages_while(ledger, &format!("/v1/calls?model={model}"), |c: &Call| {
            c.accepted_height >= from_height
        })?;
        truncated |= cut;
        for call in calls {
            if let Some(n) = per_block.get_mut(&call.accepted_height) {
                *n += 1;
            }
            if times
                .get(&call.accepted_height)
                .is_some_and(|t| t + 60_000 > now_ms)
            {
                calls_per_minute += 1;
            }
        }
    }
    let (settled, cut) = pages_while(ledger, "/v1/events?kind=CallSettled", |e: &EventView| {
        e.record.height >= from_height
    })?;
    truncated |= cut;
    let settled: Vec<Amount> = settled
        .iter()
        .filter(|e| e.record.height <= to_height)
        .filter_map(|e| match &e.record.event {
            Event::CallSettled { price, .. } => Some(*price),
            _ => None,
        })
        .collect();
    Ok(Activity {
        from_height,
        to_height,
        per_block: per_block.into_iter().collect(),
        calls_per_minute,
        settled_volume: settled.iter().sum(),
        settled_calls: settled.len() as u64,
        truncated,
    })
}

/// The latest [`LIST_LEN`] accepted calls of every registered model, newest first, each as
/// the ledger holds it now.
pub fn recent_calls(ledger: &Client, view: &View) -> Result<Vec<Call>, ClientError> {
    let mut calls = Vec::new();
    for model in view.models.keys() {
        calls.extend(ledger.calls(CallFilter::Model(*model), LIST_LEN)?.items);
    }
    calls.sort_by_key(|c| std::cmp::Reverse(c.accepted_height));
    calls.truncate(LIST_LEN);
    Ok(calls)
}

/// The `Slashed` events of `node`, newest first (from its latest 500 events).
pub fn slashes(ledger: &Client, node: &Address) -> Result<Vec<EventView>, ClientError> {
    let page = ledger.events(Some(&format!("account={node}")), verity_api::MAX_PAGE)?;
    Ok(page
        .items
        .into_iter()
        .filter(|e| matches!(e.record.event, Event::Slashed { node: n, .. } if n == *node))
        .collect())
}

/// The router's exposure report of every (model, allowed mode), without a price cap, in
/// model order.
pub fn exposure(gateway: &Gateway, view: &View) -> Vec<ExposureView> {
    view.models
        .values()
        .flat_map(|m| m.modes.iter().map(move |mode| (m.id, *mode)))
        .filter_map(|(model, mode)| gateway.exposure(model, mode, None).ok())
        .collect()
}

/// Days of earnings a node page shows.
pub const EARNINGS_DAYS: u32 = 30;

/// `node`'s earnings over the [`EARNINGS_DAYS`] UTC days ending at `now_ms`, costed with the
/// published defaults for the hardware it declared; why not, when its GPU has no published
/// profile or the ledger cannot be read.
pub fn earnings(ledger: &Client, node: &Node, now_ms: u64) -> Result<NodeReport, String> {
    let config = EconomicsConfig::default();
    let hardware = Hardware::declared(&config, &node.hardware).ok_or_else(|| {
        format!(
            "no cost profile for the declared GPU '{}' (profiles: {}); `verity node earnings \
             --gpu NAME` costs it as another",
            node.hardware.gpu,
            config.gpu_names()
        )
    })?;
    let window = Window::ending_at(now_ms, EARNINGS_DAYS);
    verity_earnings::fetch::node_report(ledger, node, hardware, None, window, &config)
        .map_err(|e| format!("cannot read the node's events: {e}"))
}
