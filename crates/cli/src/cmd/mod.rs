//! One module per command group.

pub mod audit;
pub mod bench;
pub mod bench_serve;
pub mod bench_validators;
pub mod call;
pub mod calls;
pub mod devnet;
pub mod earnings;
pub mod exposure;
pub mod init;
pub mod keys;
pub mod model;
pub mod query;
pub mod serve;
pub mod sim;
pub mod traffic;
pub mod tx;

use std::path::PathBuf;
use verity_client::Client;

/// What every command knows.
pub struct Ctx {
    /// Keys and devnet data.
    pub home: PathBuf,
    /// Validator API.
    pub url: String,
}

impl Ctx {
    /// A client of the configured validator.
    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }
}

/// Print a value as indented JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Start logging to stderr (`RUST_LOG` overrides the default filter).
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
