//! What the explorer reads from the ledger besides the registry view: recent activity from
//! the event log, recent calls, slashes, and the router's exposure reports.
//!
//! Every read is bounded: lists take [`LIST_LEN`] items, and the activity window reads at
//! most [`MAX_EVENT_PAGES`] pages of events per kind.

use crate::service::Gateway;
use crate::registry::View;
use verity_api::{EventView, ExposureView, Page};
use verity_client::{Client, ClientError};
use verity_ledger::{Address, Amount, Event, state::Call};

/// Items in every list page (blocks, calls, events).
pub const LIST_LEN: usize = 30;

/// Blocks in the overview's activity window (chart and settled volume).
pub const WINDOW_BLOCKS: u64 = 60;

/// Most pages of events (500 each) read per kind for the activity window.
pub const MAX_EVENT_PAGES: usize = 10;

/// Recent activity, read from the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// First height of the window (inclusive); the window ends at the view's height.
    pub from_height: u64,
    /// Calls accepted per block of the window, oldest first, one entry per height.
    pub per_block: Vec<(u64, u64)>,
    /// Calls accepted in the last 60 s of chain time.
    pub calls_per_minute: u64,
    /// Sum of the prices of calls settled in the window.
    pub settled_volume: Amount,
    /// Calls settled in the window.
    pub settled_calls: u64,
    /// Whether the window held more events than were read (the numbers are then lower bounds).
    pub truncated: bool,
}

/// Events of `kind` at height ≥ `from_height`, newest first; and whether there were more than
/// [`MAX_EVENT_PAGES`] pages of them.
fn events_since(
    ledger: &Client,
    kind: &str,
    from_height: u64,
) -> Result<(Vec<EventView>, bool), ClientError> {
    let mut out = Vec::new();
    let mut before = None;
    for _ in 0..MAX_EVENT_PAGES {
        let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let page: Page<EventView> = ledger.get(&format!(
            "/v1/events?kind={kind}&order=desc&limit={}{cursor}",
            verity_api::MAX_PAGE
        ))?;
        let reached_start = page.items.iter().any(|e| e.record.height < from_height);
        out.extend(
            page.items
                .into_iter()
                .filter(|e| e.record.height >= from_height),
        );
        match page.next {
            Some(next) if !reached_start => before = Some(next),
            _ => return Ok((out, false)),
        }
    }
    Ok((out, true))
}

/// The activity of the [`WINDOW_BLOCKS`] blocks up to `height`, with calls per minute
/// counted back from `chain_time_ms`.
pub fn activity(ledger: &Client, height: u64, chain_time_ms: u64) -> Result<Activity, ClientError> {
    let from_height = height.saturating_sub(WINDOW_BLOCKS - 1).max(1);
    let (accepted, accepted_cut) = events_since(ledger, "CallAccepted", from_height)?;
    let (settled, settled_cut) = events_since(ledger, "CallSettled", from_height)?;
    let mut per_block: Vec<(u64, u64)> = (from_height..=height).map(|h| (h, 0)).collect();
    let mut calls_per_minute = 0;
    for e in &accepted {
        if let Some(slot) = e
            .record
            .height
            .checked_sub(from_height)
            .and_then(|i| per_block.get_mut(i as usize))
        {
            slot.1 += 1;
        }
        if e.record.time_ms + 60_000 > chain_time_ms {
            calls_per_minute += 1;
        }
    }
    let settled_volume = settled
        .iter()
        .map(|e| match &e.record.event {
            Event::CallSettled { price, .. } => *price,
            _ => 0,
        })
        .sum();
    Ok(Activity {
        from_height,
        per_block,
        calls_per_minute,
        settled_volume,
        settled_calls: settled.len() as u64,
        truncated: accepted_cut || settled_cut,
    })
}

/// The latest [`LIST_LEN`] accepted calls, newest first, each as the ledger holds it now.
pub fn recent_calls(ledger: &Client) -> Result<Vec<Call>, ClientError> {
    let page = ledger.events(Some("kind=CallAccepted"), LIST_LEN)?;
    page.items
        .iter()
        .filter_map(|e| match &e.record.event {
            Event::CallAccepted { call, .. } => Some(ledger.call(call)),
            _ => None,
        })
        .collect()
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
