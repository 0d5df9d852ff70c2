//! # verity-node
//!
//! A Verity validator process: the pure ledger ([`verity_ledger`]) executing finalized blocks
//! ordered by commonware simplex consensus ([`verity_chain`]), its state committed to redb
//! ([`verity_storage`]), a mempool feeding proposals, and the HTTP JSON API ([`api`]).
//!
//! ## Flow of a transaction
//! `POST /v1/txs` → dry run against the committed state ([`verity_ledger::Ledger::check_tx`]):
//! a transaction that would be rejected is refused with its reason and never queued →
//! [`mempool`] → a proposal → consensus finalizes the block → [`app::ChainApp`] executes it and
//! commits state changes, events, outcomes and the new head in one redb transaction → the
//! outcome is queryable at `GET /v1/txs/{hash}`.
//!
//! ## Invariants
//! - A block is executed once: heights at or below the stored head are skipped, so a block
//!   delivered again after a crash changes nothing.
//! - The head, state and events on disk always belong to the same height (one transaction).
//! - A block whose committed state root disagrees with this validator's own root for that
//!   height stops the validator instead of executing on diverged state.
//!
//! ## Equivocation
//! The ledger checks evidence of equivocation with [`equivocation::ConsensusEvidence`], built
//! from the chain's consensus namespace and genesis validators, so every validator reaches the
//! same verdict. When consensus reports a conflicting vote pair, the validator signs a
//! `ReportEquivocation` transaction with its own key and queues it in its mempool, after the
//! same dry run as `POST /v1/txs`; if that fails (e.g. its account cannot pay the fee) it logs
//! a warning.

pub mod api;
pub mod app;
pub mod equivocation;
pub mod home;
pub mod mempool;
pub mod network;
pub mod run;

pub use app::{ChainApp, Head};
pub use home::{Home, NodeSettings};
pub use network::Network;
pub use run::run_validator;
