//! Deadline queues: first-in, first-out lists of ids stored in the state.
//!
//! Every entry of one queue is pushed with the same delay after the block time of its push
//! (a protocol parameter), and block times never decrease, so deadlines are non-decreasing along
//! each queue: the entries due at a block are a prefix, popped from the head. Whoever pops an
//! entry checks the record it names; a record that has moved on (a proof already accepted, an
//! input already revealed) is simply dropped.
//!
//! Layout: slot `fifo/` ‖ name ‖ sequence (8 B, big-endian) holds `(deadline, id)`;
//! `meta/fifo/` ‖ name holds the [`QueueCursor`] (occupied slots are `head..tail`).

use crate::{
    StateRead,
    state::{Overlay, QueueCursor},
    types::{Hash32, TimeMs},
};

/// A named deadline queue.
#[derive(Clone, Copy, Debug)]
pub struct Fifo(pub &'static [u8]);

/// Calls accepted but not yet sampled for audit (deadline: the next block).
pub const UNSAMPLED: Fifo = Fifo(b"unsampled");
/// Audits waiting for the node to reveal the input.
pub const REVEALS: Fifo = Fifo(b"reveal");
/// Audits waiting for auditor reports.
pub const REPORTS: Fifo = Fifo(b"report");
/// zk-mode calls waiting for their proof.
pub const PROOFS: Fifo = Fifo(b"proof");

impl Fifo {
    fn cursor_key(&self) -> Vec<u8> {
        crate::state::key(b"meta/fifo/", self.0)
    }

    fn slot_key(&self, seq: u64) -> Vec<u8> {
        let mut k = crate::state::key(b"fifo/", self.0);
        k.push(b'/');
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    /// Append `id`, due at `deadline_ms`.
    pub fn push<S: StateRead>(&self, ov: &mut Overlay<'_, S>, deadline_ms: TimeMs, id: Hash32) {
        let mut cursor: QueueCursor = ov.get(&self.cursor_key()).unwrap_or_default();
        ov.put(&self.slot_key(cursor.tail), &(deadline_ms, id));
        cursor.tail += 1;
        ov.put(&self.cursor_key(), &cursor);
    }

    /// Remove and return every entry due at `now_ms` (deadline ≤ now), oldest first, at most
    /// `limit`.
    pub fn pop_due<S: StateRead>(
        &self,
        ov: &mut Overlay<'_, S>,
        now_ms: TimeMs,
        limit: usize,
    ) -> Vec<Hash32> {
        let mut cursor: QueueCursor = ov.get(&self.cursor_key()).unwrap_or_default();
        let mut due = Vec::new();
        while cursor.head < cursor.tail && due.len() < limit {
            let slot = self.slot_key(cursor.head);
            let (deadline, id): (TimeMs, Hash32) = ov
                .get(&slot)
                .expect("slots between head and tail are filled");
            if deadline > now_ms {
                break;
            }
            ov.delete(&slot);
            cursor.head += 1;
            due.push(id);
        }
        if !due.is_empty() {
            ov.put(&self.cursor_key(), &cursor);
        }
        due
    }

    /// Number of entries waiting.
    pub fn len<S: StateRead>(&self, ov: &mut Overlay<'_, S>) -> u64 {
        let cursor: QueueCursor = ov.get(&self.cursor_key()).unwrap_or_default();
        cursor.tail - cursor.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn pops_only_the_due_prefix_in_order() {
        let base = BTreeMap::new();
        let mut ov = Overlay::new(&base);
        for (deadline, n) in [(10, 1u8), (20, 2), (20, 3), (30, 4)] {
            REVEALS.push(&mut ov, deadline, Hash32([n; 32]));
        }
        assert!(REVEALS.pop_due(&mut ov, 9, 100).is_empty());
        assert_eq!(
            REVEALS.pop_due(&mut ov, 20, 100),
            vec![Hash32([1; 32]), Hash32([2; 32]), Hash32([3; 32])]
        );
        assert_eq!(REVEALS.len(&mut ov), 1);
        assert!(PROOFS.pop_due(&mut ov, 100, 100).is_empty());
        assert_eq!(REVEALS.pop_due(&mut ov, 100, 100), vec![Hash32([4; 32])]);
        assert_eq!(REVEALS.len(&mut ov), 0);
    }
}
