//! `verity node run` and `verity gateway`: the two long-running services besides the validator.

use super::Ctx;
use crate::keyring;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use verity_gateway::GatewayConfig;
use verity_ledger::{Amount, HardwareProfile, ModePrice, ModelId};
use verity_provider::ProviderConfig;

/// Provider node commands.
#[derive(Subcommand)]
pub enum NodeCommand {
    /// Serve models for pay: register and stake if needed, answer calls, submit receipts.
    Run(NodeRunArgs),
    /// Daily revenue, costs, net and payback from the ledger, against renting the hardware out.
    Earnings(super::earnings::NodeEarningsArgs),
}

/// Options of `verity node run`.
#[derive(Args)]
pub struct NodeRunArgs {
    /// Name of the node's key (its ledger account; needs balance for the stake and fees).
    #[arg(long)]
    pub key: String,
    /// Models to serve (ids, comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<ModelId>,
    /// Own price per mode: MODE=BASE_UNITS (repeatable).
    #[arg(long = "price", value_name = "MODE=PRICE", required = true)]
    pub prices: Vec<String>,
    /// Stake to bond at registration.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub stake: Amount,
    /// Address to listen on.
    #[arg(long, default_value = verity_provider::config::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// URL gateways reach this node at (default: http://LISTEN).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Where the receipt queue and model files live (default: HOME/nodes/KEY).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Base URLs to fetch model files from (a hub or another node), repeatable.
    #[arg(long = "model-source")]
    pub model_sources: Vec<String>,
    /// GPU model (e.g. h100-sxm, rtx-4090, cpu).
    #[arg(long, default_value = "cpu")]
    pub gpu: String,
    /// Power draw under load, in watts.
    #[arg(long, default_value_t = 65)]
    pub watts: u32,
    /// Hardware purchase cost in US dollars.
    #[arg(long, default_value_t = 0.0)]
    pub hardware_cost_usd: f64,
    /// Calls per second the node sustains under load (at least 1); routers send it no more.
    #[arg(long, default_value_t = verity_provider::config::DEFAULT_CAPACITY)]
    pub capacity: u32,
    /// Longest time a served call waits for its receipt batch, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub batch_ms: u64,
    /// Most calls in one receipt batch.
    #[arg(long, default_value_t = 256)]
    pub batch_calls: usize,
    /// Fault injection for testing verification: corrupt this many outputs per million calls
    /// (and sign receipts for them). Audits and proofs catch such a node, and it is slashed.
    #[arg(long, default_value_t = 0, hide_short_help = true)]
    pub corrupt_ppm: u32,
}

/// Parse `MODE=PRICE` items.
pub fn parse_prices(items: &[String]) -> Result<Vec<ModePrice>> {
    items
        .iter()
        .map(|p| {
            let (mode, price) = p
                .split_once('=')
                .with_context(|| format!("--price takes MODE=PRICE, got '{p}'"))?;
            Ok(ModePrice {
                mode: mode.parse().map_err(anyhow::Error::msg)?,
                price: price
                    .parse()
                    .with_context(|| format!("price '{price}' is not a whole number"))?,
            })
        })
        .collect()
}

/// Run a node command.
pub fn node(ctx: &Ctx, command: NodeCommand) -> Result<()> {
    let a = match command {
        NodeCommand::Run(a) => a,
        NodeCommand::Earnings(a) => return super::earnings::node(ctx, a),
    };
    super::init_logging("info");
    let key = keyring::load(&ctx.home, &a.key)?;
    let data = a
        .data
        .unwrap_or_else(|| ctx.home.join("nodes").join(&a.key));
    let mut config = ProviderConfig::new(
        key,
        ctx.url.clone(),
        data,
        a.models,
        parse_prices(&a.prices)?,
        a.stake,
    );
    config.listen = a.listen;
    config.public_url = a.public_url;
    config.model_sources = a.model_sources;
    config.hardware = HardwareProfile {
        gpu: a.gpu,
        watts: a.watts,
        cost_usd_cents: (a.hardware_cost_usd * 100.0).round() as u64,
        capacity: a.capacity,
    };
    config.batch_interval = Duration::from_millis(a.batch_ms);
    config.batch_max_calls = a.batch_calls;
    config.corrupt_ppm = a.corrupt_ppm;
    tokio::runtime::Runtime::new()?.block_on(async move {
        let summary = verity_provider::run(config, async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("stopping: submitting queued receipts (Ctrl-C again to abandon them)");
        })
        .await?;
        println!("stopped: {summary:?}");
        Ok(())
    })
}

/// Options of `verity gateway`.
#[derive(Args)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7072")]
    pub listen: SocketAddr,
    /// URL callers reach the gateway at (default: http://LISTEN).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Name of a funded key (with escrow) that pays known-answer canary calls to new nodes;
    /// without it the router requires no canaries.
    #[arg(long)]
    pub canary_key: Option<String>,
}

/// Run `verity gateway` until Ctrl-C.
pub fn gateway(ctx: &Ctx, a: GatewayArgs) -> Result<()> {
    super::init_logging("info");
    let mut config = GatewayConfig::new(ctx.url.clone());
    config.listen = a.listen;
    config.public_url = a.public_url;
    if let Some(name) = &a.canary_key {
        config.canary = Some(verity_gateway::CanaryConfig::new(crate::keyring::load(
            &ctx.home, name,
        )?));
    }
    tokio::runtime::Runtime::new()?.block_on(async move {
        let handle = verity_gateway::start(config).await?;
        println!("Gateway on {} (ledger {})", handle.url(), ctx.url);
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await?;
        Ok(())
    })
}
