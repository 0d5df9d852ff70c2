//! Errors that stop a validator.

use thiserror::Error;

/// Why the engine could not start or stopped.
#[derive(Debug, Error)]
pub enum Error {
    /// The configuration cannot be run.
    #[error("invalid config: {0}")]
    Config(String),
    /// A consensus archive could not be opened.
    #[error("consensus storage: {0}")]
    Storage(#[from] commonware_storage::archive::Error),
    /// The application failed to execute a finalized block.
    #[error("applying finalized block {height}: {source:#}")]
    Apply {
        /// Height of the block that failed.
        height: u64,
        /// The application's error.
        source: anyhow::Error,
    },
    /// Consensus delivered a finalized block above the application's next height: the
    /// application's durable state lost blocks that consensus already considers processed.
    #[error(
        "application is behind consensus: finalized block {next} follows last applied {applied}"
    )]
    Gap {
        /// Height of the delivered block.
        next: u64,
        /// The application's last applied height.
        applied: u64,
    },
    /// A consensus actor stopped on its own.
    #[error("consensus actor {0} stopped")]
    Stopped(&'static str),
    /// The runtime aborted the engine task.
    #[error("runtime: {0}")]
    Runtime(#[from] commonware_runtime::Error),
}
