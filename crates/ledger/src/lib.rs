//! # verity-ledger
//!
//! The Verity ledger: a pure, deterministic state machine that records and settles paid
//! inference calls. It performs no I/O and reads no clock or randomness; everything it needs
//! comes in the block (height, time, transactions), from the state it is given, or from the
//! deterministic equivocation verifier it is built with.
//!
//! ## What it keeps
//! Accounts (ed25519 keys, 20-byte bech32m addresses, nonces, balances, call escrow), models
//! (content hash, owner, royalty, input spec, modes), provider nodes (operator, bonded stake,
//! endpoint, hardware profile, models, own price per mode), calls (pending or settled), and the
//! protocol parameters from genesis. See [`state`] for the key layout and the state commitment.
//! Nodes and models carry service records that count only evidence independent of the party
//! they favour ([`records`]). Validators carry a stake that evidence of equivocation in
//! consensus slashes ([`equivocation`]).
//!
//! ## What it is given
//! Evidence of equivocation is encoded by the consensus engine, which the ledger does not
//! depend on: a validator builds its [`Ledger`] with an [`EquivocationVerifier`] that checks it,
//! deterministically. [`Ledger::new`] has none and refuses such evidence.
//!
//! ## How a call is paid
//! A caller deposits escrow, signs a [`Ticket`] per call; the node answers and signs a
//! [`Receipt`]; the node submits [`PaidCall`]s in a receipt batch. Accepted calls move the price
//! from escrow to pending; when the challenge window closes the price is split between node
//! operator, model owner, verifier pool and treasury ([`settlement`]). A call whose receipt never
//! arrives before the ticket expires costs the caller nothing: escrow only moves on acceptance.
//!
//! ## Invariants
//! - **Supply is conserved**: balances + escrow + prices held by calls + bonded and unbonding
//!   node stake + validator stake + tokens burned (registration burns and the unrewarded part
//!   of equivocation slashes, [`state::ChainInfo::burned`]) always equal the genesis supply
//!   (genesis balances and validator stakes); fees, splits, refunds and slashes are movements
//!   between holders.
//! - **A call is paid at most once**: the call id is the ticket hash and a ticket is accepted
//!   only if no call with that id exists; settlement pops each call from the queue once.
//! - **No replay**: a transaction's nonce must equal the sender's nonce, which then advances;
//!   signatures are bound to the chain id.
//! - **Determinism**: the same state and block give the same changes, events, outcomes and
//!   state root on every machine.
//! - **No panics on input**: every transaction field is checked; bad input is refused with a
//!   reason ([`TxError`], [`CallRefusal`]). Execution panics only on a corrupt store.

#![deny(missing_docs)]

pub mod audit;
pub mod crypto;
pub mod equivocation;
pub mod error;
pub mod events;
pub mod execute;
pub mod fifo;
pub mod genesis;
mod handlers;
pub mod outcome;
pub mod params;
mod proofs;
mod receipts;
pub mod records;
pub mod settlement;
pub mod slashing;
pub mod state;
pub mod tx;
pub mod types;
mod verification;

pub use crypto::Keypair;
pub use equivocation::{Equivocation, EquivocationVerifier};
pub use error::{CallRefusal, TxError};
pub use events::{Event, EventRecord};
pub use execute::{BlockError, Ledger};
pub use genesis::{Genesis, GenesisAccount, GenesisValidator};
pub use outcome::{BlockOutput, CallVerdict, TxOutcome, TxStatus};
pub use params::Params;
pub use tx::{Namespaces, PaidCall, Payload, Receipt, SignedTransaction, Ticket, Transaction};
pub use types::*;

/// Read access to the committed key-value state the ledger executes against.
///
/// Implementations must be consistent snapshots: every read during one block's execution sees
/// the state as of the end of the previous block. A storage failure must not be reported as a
/// missing key; an implementation that cannot read panics, halting the validator, because
/// executing on wrong data would fork it from its peers.
pub trait StateRead {
    /// The value stored under `key`, or `None` when the key is absent.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
}

/// An in-memory state, for genesis, tests and tools.
impl StateRead for std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        std::collections::BTreeMap::get(self, key).cloned()
    }
}
