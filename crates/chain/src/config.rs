//! Validator configuration and the consensus parameters derived from it.

use crate::{
    block::{Block, BlockLimits, Digest},
    error::Error,
};
use commonware_consensus::{
    BoundedBlock,
    marshal::{self, standard::Standard},
    simplex,
};
use commonware_cryptography::{
    Signer,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_utils::ordered::Set;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// The simplex signing scheme: attributable ed25519 signatures.
pub type Scheme = simplex::scheme::ed25519::Scheme;

/// Default [`Config::block_interval`].
pub const DEFAULT_BLOCK_INTERVAL: Duration = Duration::from_millis(500);
/// Default [`Config::max_txs_per_block`].
pub const DEFAULT_MAX_TXS_PER_BLOCK: usize = 4_096;
/// Default [`Config::max_block_bytes`].
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 1024 * 1024;

/// Configuration of one validator.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory for consensus journals and archives (the storage root of the tokio runtime; see
    /// [`crate::tokio_runner`]). Generic callers supply storage through their runtime context.
    pub data_dir: PathBuf,
    /// Chain id, used as the signing namespace and to derive the genesis block.
    pub namespace: Vec<u8>,
    /// This validator's identity and consensus key.
    pub signer: PrivateKey,
    /// The validator set from genesis, with p2p addresses. Must contain `signer`'s key.
    pub validators: Vec<(PublicKey, SocketAddr)>,
    /// This validator's p2p listen address.
    pub listen: SocketAddr,
    /// State root of the genesis state; every validator must use the same one.
    pub genesis_state_root: [u8; 32],
    /// A proposer waits until `parent.timestamp_ms + block_interval` before proposing.
    pub block_interval: Duration,
    /// Maximum number of transactions in a block. Part of the block codec: the same on every
    /// validator, and never lowered while stored blocks remain.
    pub max_txs_per_block: usize,
    /// Maximum total size of a block's transactions in bytes. Same constraints as
    /// `max_txs_per_block`.
    pub max_block_bytes: usize,
}

impl Config {
    /// A configuration with the default block interval and block limits.
    pub fn new(
        data_dir: impl Into<PathBuf>,
        namespace: impl Into<Vec<u8>>,
        signer: PrivateKey,
        validators: Vec<(PublicKey, SocketAddr)>,
        listen: SocketAddr,
        genesis_state_root: [u8; 32],
    ) -> Self {
        Self {
            data_dir: data_dir.into(),
            namespace: namespace.into(),
            signer,
            validators,
            listen,
            genesis_state_root,
            block_interval: DEFAULT_BLOCK_INTERVAL,
            max_txs_per_block: DEFAULT_MAX_TXS_PER_BLOCK,
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
        }
    }

    /// Checks the configuration for values the engine cannot run with.
    pub fn validate(&self) -> Result<(), Error> {
        if self.namespace.is_empty() {
            return Err(Error::Config("namespace is empty".into()));
        }
        if self.max_txs_per_block == 0 || self.max_block_bytes == 0 {
            return Err(Error::Config("block limits must be positive".into()));
        }
        let participants = self.participants();
        if participants.len() != self.validators.len() {
            return Err(Error::Config("duplicate validator key".into()));
        }
        if participants.position(&self.signer.public_key()).is_none() {
            return Err(Error::Config("signer is not in the validator set".into()));
        }
        let max_payload = <Block as BoundedBlock>::max_encode_size(&self.limits());
        if u32::try_from(max_payload).is_err() {
            return Err(Error::Config("max_block_bytes too large".into()));
        }
        Ok(())
    }

    /// The genesis block derived from the namespace and the genesis state root.
    pub fn genesis(&self) -> Block {
        Block::genesis(&self.namespace, self.genesis_state_root)
    }

    /// Decoding limits of blocks on this chain.
    pub fn limits(&self) -> BlockLimits {
        BlockLimits {
            max_txs: self.max_txs_per_block,
            max_bytes: self.max_block_bytes,
        }
    }

    /// The validator keys in canonical (sorted) order.
    pub fn participants(&self) -> Set<PublicKey> {
        Set::from_iter_dedup(self.validators.iter().map(|(key, _)| key.clone()))
    }

    /// Storage partition prefix of this validator (unique per validator key, so several
    /// validators can share one runtime's storage in simulation).
    pub fn partition_prefix(&self) -> String {
        let key = self.signer.public_key();
        let hex: String = key.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("verity_{hex}")
    }

    /// Largest p2p payload any consensus component sends: every peer of the chain's network must
    /// admit it.
    pub fn max_message_size(&self) -> u32 {
        let participants = u32::try_from(self.validators.len()).unwrap_or(u32::MAX);
        commonware_p2p::max_message_size(&[
            simplex::max_payload_size::<Scheme, Digest>(participants),
            marshal::max_payload_size::<Standard<Block>, Scheme>(participants, &self.limits()),
        ])
    }

    /// Time a leader has to propose before its view is nullified.
    pub(crate) fn leader_timeout(&self) -> Duration {
        self.block_interval * 2 + Duration::from_secs(1)
    }

    /// Time a view may take to certify before it is nullified.
    pub(crate) fn certification_timeout(&self) -> Duration {
        self.leader_timeout() + Duration::from_secs(1)
    }
}
