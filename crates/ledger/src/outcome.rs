//! What executing a block produces.

use crate::{
    error::{CallRefusal, TxError},
    events::EventRecord,
    state::ChangeSet,
    types::*,
};
use commonware_codec::{Copying, DecodeExt, Encode};
use commonware_cryptography::lthash::LtHash;
use serde::{Deserialize, Serialize};

/// What became of one transaction of a block.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Applied in full.
    Applied,
    /// Fee charged and nonce used; the payload changed nothing.
    Failed {
        /// Machine-readable code.
        code: String,
        /// Explanation.
        message: String,
    },
    /// Changed nothing at all (bad signature, nonce, fee, or malformed).
    Rejected {
        /// Machine-readable code.
        code: String,
        /// Explanation.
        message: String,
    },
}

impl TxStatus {
    pub(crate) fn failed(e: &TxError) -> Self {
        TxStatus::Failed {
            code: e.code().into(),
            message: e.to_string(),
        }
    }

    pub(crate) fn rejected(e: &TxError) -> Self {
        TxStatus::Rejected {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// The verdict on one call of a receipt batch.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CallVerdict {
    /// Call id (ticket hash).
    pub call: CallId,
    /// `None` when accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<CallRefusal>,
}

/// The recorded result of one transaction.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TxOutcome {
    /// Transaction hash (of the raw bytes when they did not decode).
    pub hash: Hash32,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Kind of transaction, when it decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Sender, when it decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<Address>,
    /// Result.
    #[serde(flatten)]
    pub status: TxStatus,
    /// Fee charged.
    pub fee_paid: Amount,
    /// For receipt batches, one verdict per call.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub calls: Vec<CallVerdict>,
}

/// Everything a block did, ready to be committed in one storage transaction.
pub struct BlockOutput {
    /// Height executed.
    pub height: u64,
    /// Net state changes.
    pub changes: ChangeSet,
    /// Events, in order.
    pub events: Vec<EventRecord>,
    /// One outcome per transaction, in block order.
    pub outcomes: Vec<TxOutcome>,
    /// The state commitment after the block.
    pub commitment: LtHash,
    /// Its root.
    pub state_root: Hash32,
}

/// Encode a commitment for storage (2,048 bytes).
pub fn commitment_to_bytes(c: &LtHash) -> Vec<u8> {
    c.encode().to_vec()
}

/// Decode a stored commitment.
pub fn commitment_from_bytes(bytes: &[u8]) -> Option<LtHash> {
    LtHash::decode(Copying(bytes)).ok()
}
