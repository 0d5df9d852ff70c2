//! The gateway's settings and their limits.
//!
//! Every field has a default suited to a local devnet; [`GatewayConfig::validate`] refuses
//! values that would make the gateway useless or unbounded (zero intervals, no candidates, a
//! body limit too small for any call), naming the field and the fix.

use crate::{canary::CanaryConfig, error::GatewayError};
use std::{net::SocketAddr, time::Duration};
use verity_router::RouterParams;

/// Smallest accepted `max_body_bytes`: a call with one ticket and a tiny input fits in it.
pub const MIN_BODY_BYTES: usize = 4 * 1024;

/// Largest accepted `max_candidates`: quotes and ticket lists stay short.
pub const MAX_CANDIDATES_LIMIT: usize = 32;

/// Settings of one gateway.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayConfig {
    /// Base URL of a validator's JSON API, e.g. `http://127.0.0.1:7070`.
    pub ledger_url: String,
    /// Where the gateway listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The URL callers reach this gateway at, used in `status_url`; default `http://<listen>`
    /// with the bound port.
    pub public_url: Option<String>,
    /// How often the registry re-reads models, nodes, parameters and chain time.
    pub refresh_interval: Duration,
    /// Longest wait for one provider node's answer, connection included.
    pub node_timeout: Duration,
    /// Largest request body accepted; larger bodies get 413 `body_too_large`.
    pub max_body_bytes: usize,
    /// Most candidates in a quote; a call may carry at most twice as many tickets.
    pub max_candidates: usize,
    /// How long a node that just failed is ranked after the others.
    pub node_cooldown: Duration,
    /// The exposure router's published parameters (`min_stake` is always the ledger's).
    pub router: RouterParams,
    /// Answers slower than this count as SLA misses against the node.
    pub sla: Duration,
    /// Known-answer canary calls, when this gateway has a funded key for them; without, the
    /// router requires no canaries.
    pub canary: Option<CanaryConfig>,
    /// Seed of the router's dispatch draws (reproducible tests); `None` draws from entropy.
    pub seed: Option<u64>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            ledger_url: "http://127.0.0.1:7070".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            refresh_interval: Duration::from_secs(1),
            node_timeout: Duration::from_secs(10),
            max_body_bytes: 8 * 1024 * 1024,
            max_candidates: 3,
            node_cooldown: Duration::from_secs(5),
            router: RouterParams::default(),
            sla: Duration::from_secs(2),
            canary: None,
            seed: None,
        }
    }
}

impl GatewayConfig {
    /// The default settings for a ledger at `ledger_url`.
    pub fn new(ledger_url: impl Into<String>) -> Self {
        Self {
            ledger_url: ledger_url.into(),
            ..Self::default()
        }
    }

    /// Most tickets one call may carry.
    pub fn max_tickets(&self) -> usize {
        self.max_candidates * 2
    }

    /// Check the settings; the error names the field at fault.
    pub fn validate(&self) -> Result<(), GatewayError> {
        let bad = |msg: String| Err(GatewayError::Config(msg));
        if !self.ledger_url.starts_with("http://") {
            return bad(format!(
                "ledger_url '{}' must start with http:// (the gateway speaks plain HTTP to the \
                 ledger and to nodes; terminate TLS in front of them)",
                self.ledger_url
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(format!(
                "public_url '{url}' must start with http:// or https://"
            ));
        }
        if self.refresh_interval.is_zero() || self.node_timeout.is_zero() || self.sla.is_zero() {
            return bad("refresh_interval, node_timeout and sla must be greater than zero".into());
        }
        if let Some(canary) = &self.canary
            && (canary.interval.is_zero() || canary.recheck.is_zero())
        {
            return bad("canary interval and recheck must be greater than zero".into());
        }
        if !(1..=MAX_CANDIDATES_LIMIT).contains(&self.max_candidates) {
            return bad(format!(
                "max_candidates is {}; use 1 to {MAX_CANDIDATES_LIMIT}",
                self.max_candidates
            ));
        }
        if self.max_body_bytes < MIN_BODY_BYTES {
            return bad(format!(
                "max_body_bytes is {}; use at least {MIN_BODY_BYTES}",
                self.max_body_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_limits_are_enforced() {
        let config = GatewayConfig::new("http://127.0.0.1:7070");
        config.validate().unwrap();
        assert_eq!(config.max_tickets(), 6);
        let broken = [
            GatewayConfig {
                max_candidates: 0,
                ..config.clone()
            },
            GatewayConfig {
                max_body_bytes: 10,
                ..config.clone()
            },
            GatewayConfig {
                refresh_interval: Duration::ZERO,
                ..config.clone()
            },
            GatewayConfig {
                public_url: Some("gateway.example".into()),
                ..config.clone()
            },
            GatewayConfig::new("127.0.0.1:7070"),
        ];
        for c in broken {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
