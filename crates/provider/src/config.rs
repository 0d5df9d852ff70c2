//! What a provider node is told at start: its key, its ledger, where it listens, what it serves
//! and at what price, and how it batches receipts.
//!
//! [`ProviderConfig::new`] fills every tunable with its default; the fields are public so a
//! caller (the `verity node run` command, a test) overrides what it needs. [`start`](crate::start)
//! checks the whole configuration with [`ProviderConfig::validate`] before touching the disk or
//! the ledger.

use std::{net::SocketAddr, path::PathBuf, time::Duration};
use verity_inference::Limits;
use verity_ledger::{Amount, HardwareProfile, Keypair, Mode, ModePrice, ModelId};

/// Default [`ProviderConfig::listen`].
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7080";
/// Default [`ProviderConfig::batch_max_calls`].
pub const DEFAULT_BATCH_MAX_CALLS: usize = 256;
/// Default [`ProviderConfig::batch_interval`].
pub const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_millis(500);
/// Default declared capacity ([`HardwareProfile::capacity`]), in calls per second: a modest
/// figure for a small model on a few CPU cores. Declare what the machine sustains under load
/// with the models it serves: the exposure router credits it only as far as the bonded stake
/// backs it, and a node that misses its SLA under the traffic it claimed drops out of the
/// merit pool.
pub const DEFAULT_CAPACITY: u32 = 50;
/// Default [`ProviderConfig::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// File name of the receipt queue inside [`ProviderConfig::data_dir`].
pub const RECEIPTS_DB: &str = "receipts.redb";
/// Directory of the model blob store inside [`ProviderConfig::data_dir`].
pub const BLOBS_DIR: &str = "blobs";

/// Everything a provider node needs to run.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// The node's key: its ledger account (which stakes, pays fees and is paid) and the key that
    /// signs receipts.
    pub key: Keypair,
    /// Base URL of a validator's JSON API, e.g. `http://127.0.0.1:7070`.
    pub ledger_url: String,
    /// Where the node's HTTP API listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The endpoint registered on the ledger, where gateways and callers reach this node.
    /// `None` registers `http://{bound address}`, which requires a specific listen IP.
    pub public_url: Option<String>,
    /// Holds the receipt queue ([`RECEIPTS_DB`]) and the model files ([`BLOBS_DIR`]).
    pub data_dir: PathBuf,
    /// The models served, by id (the SHA-256 of the ONNX file). Each must be registered on the
    /// ledger.
    pub models: Vec<ModelId>,
    /// Base URLs to fetch model files from when they are not in the blob store yet. The
    /// endpoints of other registered nodes serving a model are tried after these.
    pub model_sources: Vec<String>,
    /// The node's own price per call for each verification mode it offers. Every model served
    /// must allow every mode priced here.
    pub prices: Vec<ModePrice>,
    /// Stake bonded when the node registers (ignored once it is registered).
    pub stake: Amount,
    /// The hardware declared on the ledger.
    pub hardware: HardwareProfile,
    /// Most calls in one receipt batch; also capped by the ledger's `max_calls_per_batch` and
    /// transaction size limit. A batch is submitted as soon as this many calls are queued.
    pub batch_max_calls: usize,
    /// Longest time a served call waits before its receipt batch is submitted.
    pub batch_interval: Duration,
    /// What the node accepts per call (input bytes, image pixels).
    pub limits: Limits,
    /// Test-only fault injection: corrupt this many outputs per million (see
    /// [`crate::fault`]); 0 for an honest node.
    pub corrupt_ppm: u32,
    /// Serve tee mode with a key from this software enclave (devnet only; see [`crate::tee`]).
    pub software_enclave: Option<[u8; 32]>,
    /// Inferences run at once (each on its own thread); further calls wait in a bounded line
    /// and beyond it are refused as `overloaded`.
    pub workers: usize,
    /// How long a graceful shutdown keeps submitting queued receipts before it gives up and
    /// leaves the rest in the queue for the next start.
    pub drain_timeout: Duration,
}

impl ProviderConfig {
    /// A configuration with the defaults: listen on [`DEFAULT_LISTEN`], no extra model sources,
    /// CPU hardware with no declared power or cost and [`DEFAULT_CAPACITY`], batches of up to [`DEFAULT_BATCH_MAX_CALLS`]
    /// every [`DEFAULT_BATCH_INTERVAL`], default input limits, one worker per core, and a
    /// [`DEFAULT_DRAIN_TIMEOUT`].
    pub fn new(
        key: Keypair,
        ledger_url: impl Into<String>,
        data_dir: impl Into<PathBuf>,
        models: Vec<ModelId>,
        prices: Vec<ModePrice>,
        stake: Amount,
    ) -> Self {
        Self {
            key,
            ledger_url: ledger_url.into(),
            listen: DEFAULT_LISTEN.parse().expect("valid address"),
            public_url: None,
            data_dir: data_dir.into(),
            models,
            model_sources: Vec::new(),
            prices,
            stake,
            hardware: HardwareProfile {
                gpu: "cpu".into(),
                watts: 0,
                cost_usd_cents: 0,
                capacity: DEFAULT_CAPACITY,
            },
            batch_max_calls: DEFAULT_BATCH_MAX_CALLS,
            batch_interval: DEFAULT_BATCH_INTERVAL,
            limits: Limits::default(),
            corrupt_ppm: 0,
            software_enclave: None,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }

    /// Path of the receipt queue.
    pub fn receipts_path(&self) -> PathBuf {
        self.data_dir.join(RECEIPTS_DB)
    }

    /// Directory of the model blob store.
    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join(BLOBS_DIR)
    }

    /// The modes this node offers, in the order priced.
    pub fn modes(&self) -> Vec<Mode> {
        self.prices.iter().map(|p| p.mode).collect()
    }

    /// Check the configuration is usable on its own (the ledger checks come at start); the
    /// message names the setting and the fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.models.is_empty() {
            return Err("no model to serve; pass at least one model id".into());
        }
        if has_duplicates(&self.models) {
            return Err("a model is listed twice; list each model once".into());
        }
        if self.hardware.capacity == 0 {
            return Err(
                "hardware capacity is 0; declare the calls per second the node sustains, at least 1 \
                 (--capacity)"
                    .into(),
            );
        }
        if self.prices.is_empty() {
            return Err("no price set; give a price for at least one mode (e.g. signed)".into());
        }
        if has_duplicates(&self.modes()) {
            return Err("a mode is priced twice; give one price per mode".into());
        }
        if self.batch_max_calls == 0 {
            return Err("batch_max_calls must be at least 1".into());
        }
        if self.batch_interval.is_zero() {
            return Err("batch_interval must be longer than zero".into());
        }
        if self.workers == 0 {
            return Err("workers must be at least 1".into());
        }
        if self.limits.max_input_bytes == 0 || self.limits.max_image_pixels == 0 {
            return Err("input limits must be greater than zero".into());
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!(
                "public_url '{url}' must start with http:// or https://"
            ));
        }
        if self.public_url.is_none() && self.listen.ip().is_unspecified() {
            return Err(format!(
                "listening on {} gives no address others can reach; set public_url to the URL callers use",
                self.listen
            ));
        }
        Ok(())
    }

    /// The endpoint to register: [`Self::public_url`], or `http://{bound}`.
    pub fn endpoint(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

fn has_duplicates<T: Ord + Clone>(items: &[T]) -> bool {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_ledger::Hash32;

    fn config() -> ProviderConfig {
        ProviderConfig::new(
            Keypair::from_seed(1),
            "http://127.0.0.1:1",
            "/tmp/x",
            vec![Hash32([1; 32])],
            vec![ModePrice {
                mode: Mode::Signed,
                price: 10,
            }],
            1,
        )
    }

    #[test]
    fn defaults_are_valid_and_each_rule_names_the_setting() {
        assert_eq!(config().validate(), Ok(()));
        let mut c = config();
        c.models.clear();
        assert!(c.validate().unwrap_err().contains("model"));
        let mut c = config();
        c.prices.push(c.prices[0]);
        assert!(c.validate().unwrap_err().contains("priced twice"));
        let mut c = config();
        c.listen = "0.0.0.0:7080".parse().unwrap();
        assert!(c.validate().unwrap_err().contains("public_url"));
        c.public_url = Some("http://node.example:7080/".into());
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            c.endpoint("0.0.0.0:7080".parse().unwrap()),
            "http://node.example:7080"
        );
        let mut c = config();
        c.batch_interval = Duration::ZERO;
        assert!(c.validate().unwrap_err().contains("batch_interval"));
        assert_eq!(config().hardware.capacity, DEFAULT_CAPACITY);
        let mut c = config();
        c.hardware.capacity = 0;
        assert!(c.validate().unwrap_err().contains("--capacity"));
    }
}
