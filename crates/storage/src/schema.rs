//! The table layout, the records kept in `meta`, and their encodings.

use redb::{ReadableTable, TableDefinition};

use crate::error::Fault;

/// The layout version written into a new database and required of an existing one.
pub const SCHEMA_VERSION: u32 = 1;

/// The most entries one event page returns; larger requested limits are clamped to it.
pub const MAX_PAGE: usize = 1_000;

/// Store-wide records, by name (see the `META_*` keys).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The ledger's key-value state as of the head block.
pub(crate) const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
/// Encoded blocks by height.
pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Block heights by block digest.
pub(crate) const BLOCK_HEIGHTS: TableDefinition<[u8; 32], u64> =
    TableDefinition::new("block_heights");
/// State roots by height: the root after applying that height's block.
pub(crate) const STATE_ROOTS: TableDefinition<u64, [u8; 32]> = TableDefinition::new("state_roots");
/// Encoded events by global sequence number.
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Secondary index: one entry per (index key, sequence number) of an event carrying that key.
pub(crate) const EVENT_INDEX: TableDefinition<(&[u8], u64), ()> =
    TableDefinition::new("event_index");
/// Encoded transaction outcomes by transaction hash.
pub(crate) const TXS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("txs");

/// `meta` key of the layout version: `u32`, big-endian.
pub(crate) const META_SCHEMA: &str = "schema_version";
/// `meta` key of the last applied block: see [`Head::encode`].
pub(crate) const META_HEAD: &str = "head";
/// `meta` key of the opaque state-commitment blob of the head block.
pub(crate) const META_COMMITMENT: &str = "commitment";
/// `meta` key of the number of events stored, which is the next sequence number: `u64`, big-endian.
pub(crate) const META_EVENT_COUNT: &str = "event_count";

/// The last block applied to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Head {
    /// The block's height.
    pub height: u64,
    /// The block's digest.
    pub digest: [u8; 32],
    /// The state root after applying the block.
    pub state_root: [u8; 32],
}

const HEAD_LEN: usize = 8 + 32 + 32;

impl Head {
    /// `height` (big-endian) ‖ `digest` ‖ `state_root`: 72 bytes.
    pub(crate) fn encode(&self) -> [u8; HEAD_LEN] {
        let mut out = [0; HEAD_LEN];
        out[..8].copy_from_slice(&self.height.to_be_bytes());
        out[8..40].copy_from_slice(&self.digest);
        out[40..].copy_from_slice(&self.state_root);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, Fault> {
        let bytes: &[u8; HEAD_LEN] = bytes.try_into().map_err(|_| {
            Fault::Corrupt(format!(
                "meta record `{META_HEAD}` has {} bytes, expected {HEAD_LEN}",
                bytes.len()
            ))
        })?;
        let (height, rest) = bytes.split_at(8);
        let (digest, state_root) = rest.split_at(32);
        Ok(Head {
            height: u64::from_be_bytes(height.try_into().expect("8 bytes")),
            digest: digest.try_into().expect("32 bytes"),
            state_root: state_root.try_into().expect("32 bytes"),
        })
    }
}

/// The raw `meta` record `name`.
pub(crate) fn meta_bytes(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
) -> Result<Option<Vec<u8>>, Fault> {
    Ok(meta.get(name)?.map(|value| value.value().to_vec()))
}

/// The head recorded in `meta`; `None` on an empty store.
pub(crate) fn read_head(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<Head>, Fault> {
    meta.get(META_HEAD)?
        .map(|value| Head::decode(value.value()))
        .transpose()
}

/// The number of events stored.
pub(crate) fn read_event_count(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<u64, Fault> {
    read_u64(meta, META_EVENT_COUNT).map(Option::unwrap_or_default)
}

/// The layout version recorded in `meta`; `None` on a new database.
pub(crate) fn read_schema(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<u32>, Fault> {
    let Some(value) = meta.get(META_SCHEMA)? else {
        return Ok(None);
    };
    let bytes: [u8; 4] = value.value().try_into().map_err(|_| {
        Fault::Corrupt(format!(
            "meta record `{META_SCHEMA}` has {} bytes, expected 4",
            value.value().len()
        ))
    })?;
    Ok(Some(u32::from_be_bytes(bytes)))
}

fn read_u64(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
) -> Result<Option<u64>, Fault> {
    let Some(value) = meta.get(name)? else {
        return Ok(None);
    };
    let bytes: [u8; 8] = value.value().try_into().map_err(|_| {
        Fault::Corrupt(format!(
            "meta record `{name}` has {} bytes, expected 8",
            value.value().len()
        ))
    })?;
    Ok(Some(u64::from_be_bytes(bytes)))
}
