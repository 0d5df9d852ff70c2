//! # verity-gateway
//!
//! The caller-facing HTTP API of Verity: it quotes who can serve a call and at what price,
//! routes a paid call to a provider node, retries other nodes when one fails, checks every
//! answer before handing it over, and reports settlement from the ledger.
//!
//! ## One call through the gateway
//! 1. `GET /v1/quote?model=…&mode=…` ranks the eligible nodes (registered, bonded at least
//!    `min_stake`, not jailed, past its known-answer canary, serving the model in the mode,
//!    within the caller's `max_price`) with the exposure router ([`verity_router`], see
//!    [`routing`]) and itemizes each price as settlement will split it.
//! 2. The caller signs one ticket per candidate, all with the same nonce, and `POST`s them with
//!    the input to `/v1/call`. The gateway tries them in order, moving on when a node fails,
//!    and returns the first answer whose receipt the ledger would pay.
//! 3. The node submits the receipt to the ledger; `GET /v1/calls/{id}` follows the call from
//!    `awaiting_submission` to `pending` to `settled`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/quote?model=<hex>&mode=<signed\|audited\|tee\|zk>[&max_price=N]` | `Quote` |
//! | `POST /v1/call` (`CallRequest`) | `CallResponse`, or the node's 4xx, or 502 `all_nodes_failed` |
//! | `GET /v1/calls/{id}` | `CallStatusView` |
//! | `GET /v1/models` | [`ModelListing`]s, in discovery order |
//! | `GET /v1/models/{id}/exposure?mode=<mode>[&max_price=N]` | [`ExposureView`]: every node's standing, score and share |
//! | `GET /health` | [`Health`] |
//! | `GET /metrics` | Prometheus text |
//! | `GET /explorer…` | the explorer's HTML pages (see [`explorer`]) |
//!
//! ## Invariants
//! - **Only payable answers reach the caller.** An answer is returned only if its receipt names
//!   the ticket's call, commits to the returned output, charges within the ticket's cap and is
//!   signed by the node's registered key for this chain.
//! - **A caller pays at most once per call.** Alternative tickets share a nonce; the ledger pays
//!   at most one, and the gateway stops at the first good answer.
//! - **A caller's mistake is never retried**: a node's 4xx goes straight back to the caller, and
//!   malformed requests are refused before any node is contacted.
//! - **Requests never wait on the ledger's availability** for routing: they use the last good
//!   registry view; a failed refresh keeps it.
//! - **Everything is bounded**: request bodies (`max_body_bytes`), tickets per call
//!   (`2 · max_candidates`), time per node (`node_timeout`), node answers
//!   ([`MAX_ANSWER_BYTES`]), and per-node state (only registered nodes are tracked).
//!
//! The gateway speaks plain HTTP; put a TLS-terminating proxy in front of it for public use
//! and set `public_url` to the proxy's address.

#![deny(missing_docs)]

mod call;
pub mod canary;
pub mod config;
mod cooldown;
mod error;
pub mod explorer;
mod forward;
mod metrics;
pub mod observe;
pub mod pricing;
mod registry;
mod routes;
pub mod routing;
mod service;
pub mod views;

pub use canary::CanaryConfig;
pub use config::GatewayConfig;
pub use error::GatewayError;
pub use forward::MAX_ANSWER_BYTES;
pub use verity_api::{ExposureView, NodeExposureView};
pub use verity_router::RouterParams;
pub use views::{Health, ModeOffer, ModelListing};

use std::{future::Future, net::SocketAddr, sync::Arc};
use tokio::{sync::watch, task::JoinHandle};

/// A running gateway: its address, and the way to stop it.
pub struct GatewayHandle {
    addr: SocketAddr,
    url: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    refresher: JoinHandle<()>,
}

impl GatewayHandle {
    /// The address the gateway listens on (with the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gateway's public base URL (as used in `status_url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stop accepting requests, let those in flight finish, stop refreshing; then return.
    pub async fn shutdown(self) -> Result<(), GatewayError> {
        let _ = self.stop.send(true);
        let served = self.server.await;
        let _ = self.refresher.await;
        tracing::info!(addr = %self.addr, "gateway stopped");
        flatten(served)
    }
}

fn flatten(
    served: Result<std::io::Result<()>, tokio::task::JoinError>,
) -> Result<(), GatewayError> {
    match served {
        Ok(result) => result.map_err(GatewayError::Serve),
        Err(e) => Err(GatewayError::Serve(std::io::Error::other(e))),
    }
}

/// Start a gateway and return once it listens (and has read the ledger once, or logged why it
/// could not). With `config.canary` set it also starts the canary caller.
pub async fn start(config: GatewayConfig) -> Result<GatewayHandle, GatewayError> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| GatewayError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(GatewayError::Serve)?;
    let url = config
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{addr}"));
    let ledger = verity_client::Client::new(&config.ledger_url);
    let registry = registry::Registry::new(ledger.clone());
    registry.refresh().await;
    let canaries = config.canary.as_ref().map(|_| canary::Canaries::default());
    let routing = routing::Routing::new(
        config.router.clone(),
        config.seed,
        observe::Observations::new(config.sla),
        canaries.clone(),
    );
    let gateway = Arc::new(service::Gateway {
        public_url: url.clone(),
        registry: registry.clone(),
        routing,
        cooldowns: cooldown::Cooldowns::new(config.node_cooldown),
        metrics: metrics::Metrics::default(),
        forwarder: forward::Forwarder::new(config.node_timeout)?,
        ledger,
        config,
    });
    let (stop, stopped) = watch::channel(false);
    let refresher = tokio::spawn(
        registry
            .clone()
            .run(gateway.config.refresh_interval, stopped.clone()),
    );
    if let (Some(config), Some(canaries)) = (gateway.config.canary.clone(), canaries) {
        let caller = canary::Canary::new(
            config,
            registry.clone(),
            gateway.ledger.clone(),
            forward::Forwarder::new(gateway.config.node_timeout)?,
            canaries,
        );
        tokio::spawn(caller.run(stopped.clone()));
    }
    let app = routes::router(gateway.clone());
    let mut server_stopped = stopped;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stopped.changed().await;
            })
            .await
    });
    tracing::info!(
        %addr,
        ledger = %gateway.config.ledger_url,
        public_url = %url,
        "gateway listening"
    );
    Ok(GatewayHandle {
        addr,
        url,
        stop,
        server,
        refresher,
    })
}

/// Run a gateway until `shutdown` completes (or its server fails).
pub async fn serve(
    config: GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let mut handle = start(config).await?;
    tokio::select! {
        () = shutdown => handle.shutdown().await,
        served = &mut handle.server => {
            let _ = handle.stop.send(true);
            let _ = (&mut handle.refresher).await;
            flatten(served)
        }
    }
}
