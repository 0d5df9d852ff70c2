//! The block that consensus orders, its canonical encoding and its digest.

use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use commonware_consensus::{BoundedBlock, Heightable, types::Height};
use commonware_cryptography::{Digestible, Hasher, Sha256, sha256};

/// Digest of an encoded [`Block`] (sha256).
pub type Digest = sha256::Digest;

/// Encoded size of the fixed-width header: parent, height, timestamp, state height, state root.
const HEADER_SIZE: usize = 32 + 8 + 8 + 8 + 32;

/// Largest encoding of a `u32` varint (a length or count prefix).
const MAX_VARINT_SIZE: usize = 5;

/// A block as ordered by consensus. Transactions are opaque, encoded bytes.
///
/// The digest of a block is the sha256 of its canonical encoding, so every field (including the
/// state commitment) is covered by the consensus signatures on that digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Digest of the parent block (for genesis: sha256 of the chain namespace).
    pub parent: Digest,
    /// Height of the block; genesis is 0.
    pub height: u64,
    /// Proposer's clock in milliseconds since the Unix epoch, strictly greater than the parent's.
    pub timestamp_ms: u64,
    /// Height whose post-execution state root this block commits to
    /// (`parent.state_height <= state_height < height`; genesis commits to itself).
    pub state_height: u64,
    /// The application's state root after executing `state_height`.
    pub state_root: [u8; 32],
    /// Opaque transactions, executed in order once the block is finalized.
    pub txs: Vec<Bytes>,
}

impl Block {
    /// The genesis block (height 0) of the chain named `namespace` whose initial state has root
    /// `state_root`. Every validator derives the same block from the same inputs.
    pub fn genesis(namespace: &[u8], state_root: [u8; 32]) -> Self {
        Self {
            parent: Sha256::hash(&[namespace]),
            height: 0,
            timestamp_ms: 0,
            state_height: 0,
            state_root,
            txs: Vec::new(),
        }
    }
}

/// Decoding limits for a [`Block`]; every validator of a chain must use the same limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// Maximum number of transactions in a block.
    pub max_txs: usize,
    /// Maximum total size of a block's transactions in bytes.
    pub max_bytes: usize,
}

impl BlockLimits {
    /// Whether `txs` fits within these limits.
    pub fn admits(&self, txs: &[Bytes]) -> bool {
        txs.len() <= self.max_txs && txs.iter().map(Bytes::len).sum::<usize>() <= self.max_bytes
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.parent.write(buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.state_height.write(buf);
        self.state_root.write(buf);
        self.txs.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        HEADER_SIZE + self.txs.encode_size()
    }
}

impl Read for Block {
    type Cfg = BlockLimits;

    fn read_cfg(buf: &mut impl Buf, limits: &BlockLimits) -> Result<Self, CodecError> {
        let parent = Digest::read(buf)?;
        let height = u64::read(buf)?;
        let timestamp_ms = u64::read(buf)?;
        let state_height = u64::read(buf)?;
        let state_root = <[u8; 32]>::read(buf)?;
        let txs = Vec::<Bytes>::read_cfg(
            buf,
            &(
                RangeCfg::from(0..=limits.max_txs),
                RangeCfg::from(0..=limits.max_bytes),
            ),
        )?;
        if !limits.admits(&txs) {
            return Err(CodecError::Invalid(
                "Block",
                "transactions exceed max_bytes",
            ));
        }
        Ok(Self {
            parent,
            height,
            timestamp_ms,
            state_height,
            state_root,
            txs,
        })
    }
}

impl Digestible for Block {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        let mut encoded = Vec::with_capacity(self.encode_size());
        self.write(&mut encoded);
        Sha256::hash(&[&encoded])
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.height)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> Digest {
        self.parent
    }
}

impl BoundedBlock for Block {
    fn max_encode_size(limits: &BlockLimits) -> usize {
        // Count prefix, then one length prefix per transaction, then the transaction bytes.
        HEADER_SIZE + MAX_VARINT_SIZE + limits.max_txs * MAX_VARINT_SIZE + limits.max_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode, Encode};

    const LIMITS: BlockLimits = BlockLimits {
        max_txs: 4,
        max_bytes: 64,
    };

    fn sample() -> Block {
        Block {
            parent: Sha256::hash(&[b"parent"]),
            height: 7,
            timestamp_ms: 1_700_000_000_123,
            state_height: 6,
            state_root: [9; 32],
            txs: vec![Bytes::from_static(b"a"), Bytes::from(vec![1u8; 40])],
        }
    }

    #[test]
    fn roundtrip_is_canonical() {
        let block = sample();
        let encoded = block.encode();
        assert_eq!(encoded.len(), block.encode_size());
        let decoded = Block::decode_cfg(encoded.clone(), &LIMITS).unwrap();
        assert_eq!(decoded, block);
        assert_eq!(decoded.encode(), encoded);
        assert!(encoded.len() <= Block::max_encode_size(&LIMITS));
    }

    #[test]
    fn digest_is_sha256_of_encoding() {
        let block = sample();
        assert_eq!(block.digest(), Sha256::hash(&[&block.encode()]));
        let mut other = block.clone();
        other.state_root[0] ^= 1;
        assert_ne!(other.digest(), block.digest());
    }

    #[test]
    fn decode_enforces_limits() {
        let mut block = sample();
        block.txs = vec![Bytes::from_static(b"x"); 5];
        assert!(Block::decode_cfg(block.encode(), &LIMITS).is_err());
        block.txs = vec![Bytes::from(vec![0u8; 40]), Bytes::from(vec![0u8; 40])];
        assert!(Block::decode_cfg(block.encode(), &LIMITS).is_err());
        block.txs = vec![Bytes::from(vec![0u8; 64])];
        assert!(Block::decode_cfg(block.encode(), &LIMITS).is_ok());
    }

    #[test]
    fn max_encode_size_bounds_a_full_block() {
        let mut block = sample();
        block.txs = vec![Bytes::from(vec![0u8; 16]); 4];
        assert!(block.encode_size() <= Block::max_encode_size(&LIMITS));
    }

    #[test]
    fn genesis_is_deterministic_and_chain_specific() {
        let a = Block::genesis(b"chain-a", [1; 32]);
        assert_eq!(a, Block::genesis(b"chain-a", [1; 32]));
        assert_ne!(a.digest(), Block::genesis(b"chain-b", [1; 32]).digest());
        assert_ne!(a.digest(), Block::genesis(b"chain-a", [2; 32]).digest());
        assert_eq!(a.height, 0);
    }
}
