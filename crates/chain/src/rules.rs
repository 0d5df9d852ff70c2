//! The pure block rules: how a proposer builds a block and which blocks a verifier rejects.
//!
//! Everything here is deterministic in its inputs; waiting (for time or for the application to
//! catch up) is left to the caller.

use crate::block::{Block, Digest};
use bytes::Bytes;
use thiserror::Error;

/// How far (ms) a block's timestamp may run ahead of the verifier's clock before the verifier
/// waits for its clock to catch up.
pub const MAX_FUTURE_MS: u64 = 5_000;

/// Why a block is permanently invalid on top of its parent.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Invalid {
    /// The block does not name the parent it is verified against.
    #[error("parent digest mismatch")]
    Parent,
    /// The block's height is not the parent's height plus one.
    #[error("height is not parent height + 1")]
    Height,
    /// The block's timestamp is not after the parent's.
    #[error("timestamp not after parent's")]
    Timestamp,
    /// The state commitment points below the parent's or at/after the block itself.
    #[error("state height outside [parent.state_height, height - 1]")]
    StateHeight,
    /// The committed state root differs from the locally computed one.
    #[error("state root mismatch")]
    StateRoot,
    /// The application rejected the transactions.
    #[error("payload rejected by the application")]
    Payload,
}

/// The block a proposer builds on `parent` at local time `now_ms`, committing to the
/// application's `last_applied` state and carrying `txs`.
///
/// The commitment never moves backwards: if the application lags behind the parent's state
/// height (or reports a height not below the new block's), the parent's commitment is reused.
pub fn build(
    parent: &Block,
    parent_digest: Digest,
    now_ms: u64,
    last_applied: (u64, [u8; 32]),
    txs: Vec<Bytes>,
) -> Block {
    let height = parent.height + 1;
    let (state_height, state_root) = last_applied;
    let (state_height, state_root) = if state_height < parent.state_height || state_height >= height
    {
        (parent.state_height, parent.state_root)
    } else {
        (state_height, state_root)
    };
    Block {
        parent: parent_digest,
        height,
        timestamp_ms: now_ms.max(parent.timestamp_ms + 1),
        state_height,
        state_root,
        txs,
    }
}

/// Earliest local time (ms) at which a block may be proposed on `parent`.
pub fn earliest_proposal_ms(parent: &Block, block_interval_ms: u64) -> u64 {
    parent.timestamp_ms.saturating_add(block_interval_ms)
}

/// The checks of `block` against `parent` that need neither the clock nor the application.
pub fn check_structure(
    parent: &Block,
    parent_digest: Digest,
    block: &Block,
) -> Result<(), Invalid> {
    if block.parent != parent_digest {
        return Err(Invalid::Parent);
    }
    if block.height != parent.height + 1 {
        return Err(Invalid::Height);
    }
    if block.timestamp_ms <= parent.timestamp_ms {
        return Err(Invalid::Timestamp);
    }
    if block.state_height < parent.state_height || block.state_height >= block.height {
        return Err(Invalid::StateHeight);
    }
    Ok(())
}

/// Local time (ms) from which `block`'s timestamp is no longer too far in the future.
pub fn acceptable_from_ms(block: &Block) -> u64 {
    block.timestamp_ms.saturating_sub(MAX_FUTURE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::Digestible;

    fn parent() -> Block {
        Block {
            parent: Digest::from([0; 32]),
            height: 10,
            timestamp_ms: 1_000,
            state_height: 8,
            state_root: [8; 32],
            txs: vec![],
        }
    }

    #[test]
    fn build_uses_last_applied_and_advances_time() {
        let p = parent();
        let b = build(
            &p,
            p.digest(),
            5_000,
            (9, [9; 32]),
            vec![Bytes::from_static(b"t")],
        );
        assert_eq!(b.height, 11);
        assert_eq!(b.parent, p.digest());
        assert_eq!(b.timestamp_ms, 5_000);
        assert_eq!((b.state_height, b.state_root), (9, [9; 32]));
        assert_eq!(check_structure(&p, p.digest(), &b), Ok(()));
    }

    #[test]
    fn build_never_moves_commitment_backwards_or_forwards_past_parent() {
        let p = parent();
        let lagging = build(&p, p.digest(), 0, (3, [3; 32]), vec![]);
        assert_eq!((lagging.state_height, lagging.state_root), (8, [8; 32]));
        assert_eq!(lagging.timestamp_ms, 1_001);
        let ahead = build(&p, p.digest(), 0, (11, [11; 32]), vec![]);
        assert_eq!((ahead.state_height, ahead.state_root), (8, [8; 32]));
        let at_parent = build(&p, p.digest(), 0, (10, [10; 32]), vec![]);
        assert_eq!(at_parent.state_height, 10);
    }

    #[test]
    fn structure_rejections() {
        let p = parent();
        let good = build(&p, p.digest(), 2_000, (9, [9; 32]), vec![]);
        let mut b = good.clone();
        b.parent = Digest::from([1; 32]);
        assert_eq!(check_structure(&p, p.digest(), &b), Err(Invalid::Parent));
        let mut b = good.clone();
        b.height = 12;
        assert_eq!(check_structure(&p, p.digest(), &b), Err(Invalid::Height));
        let mut b = good.clone();
        b.timestamp_ms = 1_000;
        assert_eq!(check_structure(&p, p.digest(), &b), Err(Invalid::Timestamp));
        let mut b = good.clone();
        b.state_height = 7;
        assert_eq!(
            check_structure(&p, p.digest(), &b),
            Err(Invalid::StateHeight)
        );
        let mut b = good;
        b.state_height = 11;
        assert_eq!(
            check_structure(&p, p.digest(), &b),
            Err(Invalid::StateHeight)
        );
    }

    #[test]
    fn timing_helpers() {
        let p = parent();
        assert_eq!(earliest_proposal_ms(&p, 500), 1_500);
        let b = build(&p, p.digest(), 9_000, (8, [8; 32]), vec![]);
        assert_eq!(acceptable_from_ms(&b), 4_000);
    }
}
