//! Paging through the event log, globally or by index key, in either direction.

use std::ops::Bound;

use redb::ReadTransaction;

use crate::error::Fault;
use crate::schema::{EVENT_INDEX, EVENTS, MAX_PAGE};

/// An event and its global sequence number.
pub type Event = (u64, Vec<u8>);

/// The direction of an event page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Oldest first; the page holds sequence numbers above the cursor.
    #[default]
    Ascending,
    /// Newest first, as an explorer lists them; the page holds sequence numbers below the cursor.
    Descending,
}

/// The sequence numbers strictly after the cursor `after` in `order`, before the limit applies.
fn bounds(order: Order, after: Option<u64>) -> (Bound<u64>, Bound<u64>) {
    match (order, after) {
        (_, None) => (Bound::Unbounded, Bound::Unbounded),
        (Order::Ascending, Some(after)) => (Bound::Excluded(after), Bound::Unbounded),
        (Order::Descending, Some(after)) => (Bound::Unbounded, Bound::Excluded(after)),
    }
}

/// The first `limit` (at most [`MAX_PAGE`]) items of `range` walked in `order`.
fn in_order<'a, T: 'a>(
    range: impl DoubleEndedIterator<Item = T> + 'a,
    order: Order,
    limit: usize,
) -> impl Iterator<Item = T> + 'a {
    let walk: Box<dyn Iterator<Item = T> + 'a> = match order {
        Order::Ascending => Box::new(range),
        Order::Descending => Box::new(range.rev()),
    };
    walk.take(limit.min(MAX_PAGE))
}

/// Up to `limit` (at most [`MAX_PAGE`]) events of the whole log in `order`, strictly after `after`.
pub(crate) fn page(
    txn: &ReadTransaction,
    order: Order,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<Event>, Fault> {
    let events = txn.open_table(EVENTS)?;
    let range = events.range(bounds(order, after))?;
    in_order(range, order, limit)
        .map(|entry| {
            let (sequence, bytes) = entry?;
            Ok((sequence.value(), bytes.value().to_vec()))
        })
        .collect()
}

/// Like [`page`], over the events listed under index `key`.
pub(crate) fn page_by_index(
    txn: &ReadTransaction,
    key: &[u8],
    order: Order,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<Event>, Fault> {
    let (low, high) = bounds(order, after);
    let low = match low {
        Bound::Excluded(after) => Bound::Excluded((key, after)),
        _ => Bound::Included((key, 0)),
    };
    let high = match high {
        Bound::Excluded(after) => Bound::Excluded((key, after)),
        _ => Bound::Included((key, u64::MAX)),
    };
    let index = txn.open_table(EVENT_INDEX)?;
    let events = txn.open_table(EVENTS)?;
    let range = index.range((low, high))?;
    in_order(range, order, limit)
        .map(|entry| {
            let (_, sequence) = entry?.0.value();
            let bytes = events.get(sequence)?.ok_or_else(|| {
                Fault::Corrupt(format!(
                    "event index lists event {sequence}, which is absent"
                ))
            })?;
            Ok((sequence, bytes.value().to_vec()))
        })
        .collect()
}
