//! Ordering of Verity's replicated ledger: commonware simplex BFT consensus with
//! order-then-execute.
//!
//! # What this crate does
//!
//! Validators (ed25519 keys, fixed at genesis) run [simplex] consensus to order [`Block`]s.
//! Consensus agrees on block digests; commonware's `marshal` disseminates the blocks, backfills
//! missing ones from peers, archives finalized blocks with their finalization certificates, and
//! delivers every *finalized* block, in height order and at least once, to the executor. The
//! executor hands each block to the [`Application`] (the ledger), which executes and durably
//! commits it; only then is the block acknowledged to marshal. A single validator is a validator
//! set of one (quorum 1) and runs exactly the same code as many.
//!
//! [simplex]: commonware_consensus::simplex
//!
//! # Blocks
//!
//! A [`Block`] carries its parent's digest, its height (genesis is 0), the proposer's timestamp in
//! milliseconds, a *state commitment* `(state_height, state_root)` — the application's state root
//! after executing `state_height`, an earlier block — and opaque transactions. Its digest is the
//! sha256 of its canonical encoding. Decoding enforces the chain's [`BlockLimits`]
//! (`max_txs_per_block` transactions, `max_block_bytes` transaction bytes in total).
//!
//! The genesis block is derived from the chain's namespace and the genesis state root
//! ([`Block::genesis`]): parent `sha256(namespace)`, height 0, timestamp 0, committing to state
//! height 0 with the genesis root, no transactions. All validators of a chain derive the same one.
//!
//! # Rules
//!
//! **Propose** (the leader of a view, building on the parent consensus names):
//! 1. wait until `parent.timestamp_ms + block_interval` on the runtime clock;
//! 2. `timestamp_ms = max(now, parent.timestamp_ms + 1)`;
//! 3. `(state_height, state_root) = app.last_applied()`, unless that is below the parent's
//!    `state_height` (or not below the new height), in which case the parent's pair is reused;
//! 4. `txs = app.payload(height, max_txs_per_block, max_block_bytes)`, cut to the limits.
//!
//! **Verify** (every validator, before voting to notarize):
//! 1. the parent is the one consensus names and `height = parent.height + 1` (marshal fetches a
//!    missing block or parent; the vote stays pending meanwhile);
//! 2. `timestamp_ms > parent.timestamp_ms`;
//! 3. `parent.state_height <= state_height <= height - 1`;
//! 4. `app.check_payload(txs)`;
//! 5. the timestamp is at most 5 s ahead of the local clock — if it is further ahead the vote
//!    waits for the clock rather than rejecting, since a verdict of `false` is final;
//! 6. `state_root == app.state_root(state_height)`; while the application has not executed
//!    `state_height` yet, the vote waits for it.
//!
//! Failing 1–4 or 6 rejects the block for good. Waiting does not deadlock: an honest proposer only
//! commits to a height it had applied, hence finalized, and every validator applies finalized
//! blocks independently of voting. A faulty proposer that commits to a height that never
//! finalizes only stalls its own view, which times out; consensus then drops the request.
//!
//! **Finalize**: for each finalized block in height order, the executor skips it if
//! `height <= app.last_applied()` (a redelivery after restart, or genesis), fails if it is above
//! `last_applied + 1` (the application lost committed state), and otherwise calls
//! [`Application::apply`] and then acknowledges it. An error from `apply` stops the validator.
//!
//! # Invariants
//!
//! - Every finalized height `1..=n` is applied exactly once, in order, on every validator, with
//!   the same digests.
//! - Timestamps strictly increase along the chain.
//! - A block's state commitment equals the state root each validator computed when executing
//!   `state_height`, so an agreed block certifies agreement on the executed state.
//! - The state commitment never moves backwards and never points at the block itself or later.
//! - A restart on the same storage resumes consensus, and marshal redelivers unacknowledged
//!   blocks; the application ignores the ones it already applied.
//!
//! # Equivocation
//!
//! Simplex reports a validator that signs two votes of one view that no honest validator signs
//! together: notarize votes for two proposals (`ConflictingNotarize`), finalize votes for two
//! proposals (`ConflictingFinalize`), or a nullify and a finalize vote (`NullifyFinalize`). The
//! engine's reporter forwards every activity to marshal unchanged and, for these three, first
//! hands their commonware encoding to [`Application::report_equivocation`], which must return
//! quickly; the ledger turns it into a transaction. Simplex keeps every recorded vote until its
//! round is pruned (`track_historical_votes`), so a conflict is reported even when its second
//! vote arrives after the round was certified or for a view this validator skipped; without it,
//! the deterministic simulation found seeds in which every honest validator blocked an
//! equivocator without reporting a single conflict.
//!
//! [`verify_equivocation`] is the check every validator runs on such evidence before acting on
//! it: it decodes exactly one of the three fault activities (trailing bytes, any other activity,
//! and a pair whose votes differ in view or signer are refused), verifies both signatures under
//! the chain's namespace against the validator set, and returns the offender's key and the
//! view. It is deterministic: the RNG the signature check may use is seeded with the sha256 of
//! the evidence, so every validator reaches the same verdict on the same bytes.
//!
//! # Running it
//!
//! The engine is generic over the commonware runtime traits ([`commonware_runtime::Spawner`],
//! [`commonware_runtime::Clock`], [`commonware_runtime::Storage`],
//! [`commonware_runtime::Metrics`], a cryptographic RNG) and over the p2p implementation, so the
//! same code runs in the deterministic simulation runtime with `p2p::simulated` ([`start`] with a
//! [`Transport`]) and in production on tokio with authenticated p2p ([`start_validator`]).
//!
//! In production, the node runs everything inside the commonware tokio runner returned by
//! [`tokio_runner`], whose storage root is [`Config::data_dir`]. That runner drives a
//! multi-threaded tokio runtime and polls the root future inside it, so `tokio::spawn`,
//! `tokio::net`, `tokio::signal` and axum all work there (the real-socket test checks
//! `tokio::spawn`). The HTTP server and the mempool therefore share the process with consensus:
//!
//! ```no_run
//! # use verity_chain::{Application, Block, Config};
//! # #[derive(Clone)] struct Ledger;
//! # impl Application for Ledger {
//! #     fn payload(&self, _: u64, _: usize, _: usize) -> Vec<bytes::Bytes> { vec![] }
//! #     fn check_payload(&self, _: &[bytes::Bytes]) -> bool { true }
//! #     fn last_applied(&self) -> (u64, [u8; 32]) { (0, [0; 32]) }
//! #     fn state_root(&self, _: u64) -> Option<[u8; 32]> { Some([0; 32]) }
//! #     fn apply(&self, _: &Block, _: [u8; 32]) -> anyhow::Result<()> { Ok(()) }
//! # }
//! # fn load_config() -> Config { unimplemented!() }
//! use commonware_runtime::Runner as _;
//!
//! let config: Config = load_config();
//! let ledger = Ledger; // ledger + redb + mempool, shared with the HTTP handlers
//! let runner = verity_chain::tokio_runner(&config, 4);
//! let result: anyhow::Result<()> = runner.start(|context| async move {
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//!     let api = tokio::spawn(async move {
//!         // axum::serve(listener, router.with_state(ledger.clone())).await
//!         drop(listener);
//!     });
//!     let engine = verity_chain::start_validator(context, config, ledger)?;
//!     tokio::select! {
//!         error = engine.join() => Err(error.into()), // the validator stopped: exit
//!         _ = tokio::signal::ctrl_c() => {
//!             api.abort();
//!             Ok(()) // returning from the root stops every task; consensus is crash-safe
//!         }
//!     }
//! });
//! ```
//!
//! The p2p listener binds [`Config::listen`] when the validator starts; commonware panics if that
//! address is taken. A validator that stops with an [`Error`] should exit: restarting it on the
//! same `data_dir` resumes consensus, and the application skips blocks it already applied.

mod application;
mod block;
mod config;
mod driver;
mod engine;
mod error;
mod evidence;
mod executor;
mod reporter;
mod rules;
mod validator;

pub use application::Application;
pub use block::{Block, BlockLimits, Digest};
pub use config::{
    Config, DEFAULT_BLOCK_INTERVAL, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_TXS_PER_BLOCK, Scheme,
};
pub use engine::{
    BACKFILL, BROADCAST, CERTIFICATES, CHANNEL_QUOTA, Engine, RESOLVER, Transport, VOTES, start,
};
pub use error::Error;
pub use evidence::{Equivocation, EquivocationKind, EvidenceError, verify_equivocation};
pub use validator::{start_validator, tokio_runner};
