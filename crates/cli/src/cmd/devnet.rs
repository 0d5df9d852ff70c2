//! `verity devnet`: a one-command local network.
//!
//! One process runs the whole market on loopback: the validator (ledger + consensus + API), a
//! model hub serving the local model store, the gateway, and provider nodes serving the bundled
//! digits models at different prices. On start it publishes the bundled models (owner: the demo
//! account), tops up the demo account's escrow and funds the node keys, all with ordinary
//! transactions. `--traffic N` then runs the load generator and exits with its verdict.

use super::{Ctx, model, traffic};
use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use verity_client::Client;
use verity_gateway::GatewayConfig;
use verity_ledger::{
    Amount, Genesis, GenesisAccount, GenesisValidator, Keypair, Mode, ModePrice, Params, Payload,
};
use verity_node::{Home, home};
use verity_provider::ProviderConfig;

/// Base units the demo account starts with.
pub const DEMO_FUNDS: Amount = 1_000_000_000_000_000;
/// Escrow the demo account keeps for calls.
const DEMO_ESCROW: Amount = 10_000_000_000_000;
/// Balance each devnet node and auditor key is given at genesis (stake, registration burn and
/// fees), and topped up to from the demo account when it runs low.
const NODE_FUNDS: Amount = 100_000_000_000;
/// Stake each devnet node bonds.
const NODE_STAKE: Amount = 10_000_000_000;
/// Royalty of the bundled models.
const BUNDLED_ROYALTY_BPS: u16 = 500;
/// Price per mode of the cheapest devnet node; node `i` (from 0) charges `(4 + i)/4` of it.
const BASE_PRICES: [(Mode, Amount); 4] = [
    (Mode::Signed, 1_000),
    (Mode::Audited, 1_300),
    (Mode::Tee, 1_200),
    (Mode::Zk, 3_000),
];

/// Options of `verity devnet`.
#[derive(ClapArgs)]
pub struct Args {
    /// Delete the devnet's chain data first and start from a new genesis.
    #[arg(long)]
    pub reset: bool,
    #[command(flatten)]
    pub listen: super::init::Listen,
    /// Gateway listen address.
    #[arg(long, default_value = "127.0.0.1:7072")]
    pub gateway: SocketAddr,
    /// Model hub listen address.
    #[arg(long, default_value = "127.0.0.1:7073")]
    pub hub: SocketAddr,
    /// Provider nodes to run in this process (keys node-1, node-2, …; each is funded anyway, so
    /// `verity node run --key node-N` can run one on its own).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Port of the first provider node; the others follow.
    #[arg(long, default_value_t = 7081)]
    pub first_node_port: u16,
    /// Run the load generator with this many calls, print its summary and exit.
    #[arg(long)]
    pub traffic: Option<usize>,
    /// Calls in flight at once during `--traffic`.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Write the traffic summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<std::path::PathBuf>,
    /// Verification mode of the `--traffic` calls.
    #[arg(long, default_value = "signed")]
    pub mode: Mode,
    /// Fault injection: node-1 corrupts this many outputs per million calls (50000 = 5 %), to
    /// watch audits catch it, refund its callers and slash it.
    #[arg(long, default_value_t = 0)]
    pub faulty_ppm: u32,
    /// Do not run the in-process auditor (audits are then decided by the ledger as referee at
    /// their report deadline).
    #[arg(long)]
    pub no_auditor: bool,
}

/// Time between the in-process auditor's rounds.
const AUDIT_INTERVAL: Duration = Duration::from_millis(500);

/// Keys of devnet nodes that exist beside the demo key.
const NODE_KEYS: usize = 3;

/// Create the devnet on first use (or after `--reset`), then run it.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    super::init_logging("warn,verity=info");
    let data = ctx.home.join("devnet");
    if args.reset && data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    for name in std::iter::once("demo".to_string()).chain(funded_key_names()) {
        let path = crate::keyring::path(&ctx.home, &name);
        if !path.exists() {
            home::write_key(&path, &home::generate_key())?;
        }
    }
    let demo = crate::keyring::load(&ctx.home, "demo")?;
    if !data.join(home::GENESIS_FILE).exists() {
        let key = home::generate_key();
        // The node and auditor keys are funded at genesis, not by the demo account: an account
        // that funds a node is linked to it, and the demo account's calls would then never
        // count as independent evidence of the nodes' service.
        let mut accounts = vec![GenesisAccount {
            address: demo.address(),
            balance: DEMO_FUNDS,
        }];
        for name in funded_key_names() {
            accounts.push(GenesisAccount {
                address: crate::keyring::load(&ctx.home, &name)?.address(),
                balance: NODE_FUNDS,
            });
        }
        let genesis = Genesis {
            chain_id: "verity-devnet".into(),
            genesis_time_ms: super::now_ms(),
            params: devnet_params(),
            accounts,
            validators: vec![GenesisValidator {
                public_key: key.public(),
                p2p: args.listen.p2p.to_string(),
            }],
        };
        home::write_home(&data, &genesis, &args.listen.settings(), &key)?;
    }
    let mut home = Home::load(&data)?;
    // The API address and block interval follow the flags on every start; the p2p address is
    // part of the genesis validator set and stays as created.
    home.settings.api = args.listen.api;
    home.settings.block_interval_ms = args.listen.block_ms;
    let home_dir = ctx.home.clone();
    verity_node::run_validator(home, move |api, app| {
        println!(
            "Verity devnet is starting (chain {}, height {}).",
            app.genesis().chain_id,
            app.head().height
        );
        let ctx = Ctx {
            home: home_dir,
            url: format!("http://{api}"),
        };
        std::thread::spawn(move || {
            let code = match services(&ctx, &args, &data) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: devnet services: {e:#}");
                    1
                }
            };
            std::process::exit(code);
        });
    })
}

/// The published defaults, except that a new node stays on probation (audited at the 25 % cap)
/// for its first 1,000 calls, so that a demo run shows audits at work, and that tee mode trusts
/// the devnet's software enclave (and nothing else).
fn devnet_params() -> Params {
    let mut params = Params::default();
    params.audit.probation_ppm = params.audit.cap_ppm;
    params.audit.probation_calls = 1_000;
    params.tee = verity_provider::tee::devnet_tee_params();
    params
}

fn node_key_names() -> impl Iterator<Item = String> {
    (1..=NODE_KEYS).map(|i| format!("node-{i}"))
}

/// Every devnet key the demo account funds: the nodes' and the auditor's.
fn funded_key_names() -> impl Iterator<Item = String> {
    node_key_names().chain(std::iter::once(AUDITOR_KEY.to_string()))
}

/// Key of the devnet's in-process auditor.
const AUDITOR_KEY: &str = "auditor";

/// Everything besides the validator. Returns only with `--traffic` (the process exit code) or
/// on error; otherwise it serves until the process is interrupted.
fn services(ctx: &Ctx, args: &Args, data: &std::path::Path) -> Result<i32> {
    let ledger = ctx.client();
    wait_for_blocks(&ledger)?;
    let demo = crate::keyring::load(&ctx.home, "demo")?;
    let mut models = Vec::new();
    for (name, bytes) in model::BUNDLED {
        models.push(model::publish(ctx, &demo, bytes, name, BUNDLED_ROYALTY_BPS, true)?.model);
    }
    top_up(ctx, &ledger, &demo)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store = Arc::new(model::store(ctx)?);
    let hub_url = format!("http://{}", args.hub);
    let gateway = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.hub)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} for the model hub; pass --hub",
                    args.hub
                )
            })?;
        tokio::spawn(async move { axum::serve(listener, verity_hub::router(store)).await });
        let mut config = GatewayConfig::new(ctx.url.clone());
        config.listen = args.gateway;
        verity_gateway::start(config)
            .await
            .context("cannot start the gateway; pass --gateway ADDR to use another address")
    })?;
    let gateway_url = gateway.url().to_string();

    let mut nodes = Vec::new();
    for (i, name) in node_key_names().take(args.nodes).enumerate() {
        let key = crate::keyring::load(&ctx.home, &name)?;
        let prices = BASE_PRICES
            .iter()
            .map(|&(mode, price)| ModePrice {
                mode,
                price: price * (4 + i as Amount) / 4,
            })
            .collect();
        let mut config = ProviderConfig::new(
            key,
            ctx.url.clone(),
            data.join("nodes").join(&name),
            models.clone(),
            prices,
            NODE_STAKE,
        );
        config.listen = SocketAddr::new(args.gateway.ip(), args.first_node_port + i as u16);
        config.model_sources = vec![hub_url.clone()];
        if i == 0 {
            config.corrupt_ppm = args.faulty_ppm;
        }
        config.software_enclave = Some(verity_provider::tee::DEVNET_ENCLAVE_SEED);
        let handle = runtime
            .block_on(verity_provider::start(config))
            .with_context(|| format!("cannot start provider node {name}"))?;
        nodes.push((name, handle));
    }

    if !args.no_auditor {
        let key = crate::keyring::load(&ctx.home, AUDITOR_KEY)?;
        super::audit::ensure_bonded(&ledger, &key)?;
        let client = ctx.client();
        std::thread::Builder::new()
            .name("verity-auditor".into())
            .spawn(move || {
                verity_auditor::Auditor::new(client, key).run(AUDIT_INTERVAL, || false)
            })?;
    }

    println!("Verity devnet is running.");
    println!("  ledger API  {}/v1/status", ctx.url);
    println!("  gateway     {gateway_url}/v1/models");
    println!("  model hub   {hub_url}/v1/blobs/{{id}}");
    for (name, node) in &nodes {
        println!(
            "  {name:<11} {}/health  ({})",
            node.endpoint(),
            node.address()
        );
    }
    println!(
        "  models      {} = digits-mlp, {} = digits-cnn",
        models[0], models[1]
    );
    println!("  demo key    {}", demo.address());
    println!("  data        {}", data.display());
    println!(
        "Try: verity call digits-cnn --input models/digits/samples/digit-3.png    ·    Ctrl-C stops"
    );

    traffic::await_quotes(
        &verity_client::GatewayClient::new(&gateway_url),
        &models,
        Mode::Signed,
        nodes.len().min(3),
        traffic::QUOTE_WAIT,
    )?;
    let Some(calls) = args.traffic else {
        runtime.block_on(std::future::pending::<()>());
        unreachable!("pending never completes")
    };
    let traffic_args = traffic::TrafficArgs {
        calls,
        concurrency: args.concurrency,
        mode: args.mode,
        from: "demo".into(),
        gateway: gateway_url,
        summary_json: args.summary_json.clone(),
        settle_timeout_s: 180,
        expect_faults: args.faulty_ppm > 0,
    };
    let named: Vec<_> = models
        .iter()
        .zip(model::BUNDLED)
        .map(|(id, (name, _))| (*id, name.to_string()))
        .collect();
    let summary = traffic::generate(ctx, &traffic_args, &demo, &named)?;
    let verdict = traffic::report(&traffic_args, &summary);
    for (_, node) in nodes {
        runtime.block_on(node.shutdown());
    }
    runtime.block_on(gateway.shutdown())?;
    match verdict {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(1)
        }
    }
}

/// Wait until consensus makes a block in this run (after a restart the stored head is old, and
/// tickets are timed against block time).
fn wait_for_blocks(ledger: &Client) -> Result<()> {
    let mut first = None;
    for _ in 0..1200 {
        if let Ok(status) = ledger.status() {
            match first {
                None => first = Some(status.height),
                Some(h) if status.height > h => return Ok(()),
                Some(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("the ledger made no block in 60 s")
}

/// Keep the demo escrow and every node key funded (a top-up of an existing account does not
/// link it to the demo account).
fn top_up(ctx: &Ctx, ledger: &Client, demo: &Keypair) -> Result<()> {
    let timeout = Duration::from_secs(60);
    if ledger.account(&demo.address())?.account.escrow < DEMO_ESCROW / 2 {
        ledger.execute(
            demo,
            Payload::EscrowDeposit {
                amount: DEMO_ESCROW,
            },
            timeout,
        )?;
    }
    for name in funded_key_names() {
        let node = crate::keyring::load(&ctx.home, &name)?.address();
        if ledger.account(&node)?.account.balance < NODE_FUNDS / 10 {
            ledger.execute(
                demo,
                Payload::Transfer {
                    to: node,
                    amount: NODE_FUNDS,
                },
                timeout,
            )?;
        }
    }
    Ok(())
}
