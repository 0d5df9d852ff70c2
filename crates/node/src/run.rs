//! Starting a validator process: store, application, HTTP API and consensus in one runtime.

use crate::{api, app::ChainApp, home::Home};
use anyhow::{Context, Result, anyhow};
use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::ed25519;
use commonware_runtime::Runner as _;
use std::{net::SocketAddr, time::Duration};
use verity_chain::{BlockLimits, Config};
use verity_storage::Store;

/// The consensus signing namespace of the chain named `chain_id`.
pub fn consensus_namespace(chain_id: &str) -> Vec<u8> {
    format!("verity/{chain_id}/consensus").into_bytes()
}

/// The consensus configuration of the validator in `home`.
pub fn chain_config(home: &Home, genesis_root: [u8; 32]) -> Result<Config> {
    let validators = home
        .genesis
        .validators
        .iter()
        .map(|v| {
            let key = ed25519::PublicKey::decode(Copying(&v.public_key.0[..])).map_err(|e| {
                anyhow!("validator key {} is not an ed25519 key: {e}", v.public_key)
            })?;
            let addr: SocketAddr = v
                .p2p
                .parse()
                .with_context(|| format!("validator p2p address '{}' is not host:port", v.p2p))?;
            Ok((key, addr))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut config = Config::new(
        home.consensus_dir(),
        consensus_namespace(&home.genesis.chain_id),
        home.key.to_consensus_key(),
        validators,
        home.settings.p2p,
        genesis_root,
    );
    config.block_interval = Duration::from_millis(home.settings.block_interval_ms);
    config.max_block_bytes = config
        .max_block_bytes
        .max(home.genesis.params.max_tx_bytes as usize * 2);
    Ok(config)
}

/// Open the store and application of the validator in `home` (writing genesis if new).
pub fn open_app(home: &Home, limits: BlockLimits) -> Result<ChainApp> {
    let store = Store::open(&home.ledger_path())?;
    ChainApp::open(
        store,
        home.genesis.clone(),
        &consensus_namespace(&home.genesis.chain_id),
        limits,
        home.key.clone(),
    )
}

/// Run the validator in `home` until it fails or the process is interrupted. `on_ready` runs
/// once the API is listening, with its address.
pub fn run_validator(
    home: Home,
    on_ready: impl FnOnce(SocketAddr, &ChainApp) + Send + 'static,
) -> Result<()> {
    let genesis_root = verity_ledger::Ledger::genesis(&home.genesis)
        .map_err(anyhow::Error::msg)?
        .state_root
        .0;
    let config = chain_config(&home, genesis_root)?;
    let app = open_app(&home, config.limits())?;
    let api_addr = home.settings.api;
    let runner = verity_chain::tokio_runner(&config, 2);
    runner.start(|context| async move {
        let listener = tokio::net::TcpListener::bind(api_addr)
            .await
            .with_context(|| format!("cannot listen on {api_addr} for the API; is another verity running? pick another port in node.json"))?;
        let api_addr = listener.local_addr()?;
        let router = api::router(app.clone());
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        on_ready(api_addr, &app);
        let engine = verity_chain::start_validator(context, config, app)?;
        tokio::select! {
            error = engine.join() => {
                server.abort();
                Err(anyhow!("consensus stopped: {error}"))
            }
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted; stopping");
                Ok(())
            }
        }
    })
}
