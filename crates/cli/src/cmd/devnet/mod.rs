//! `verity devnet`: a one-command local network.
//!
//! One process runs the whole market on loopback: the validator (ledger + consensus + API), a
//! model hub serving the local model store, the gateway, and provider nodes serving the bundled
//! digits models at different prices. On start it publishes the bundled models (owner: the demo
//! account), tops up the demo account's escrow and funds the node keys, all with ordinary
//! transactions. `--traffic N` then runs the load generator and exits with its verdict.
//!
//! With `--validators N` (N > 1) the validators run as N child processes of this one, from a
//! network directory `devnet-Nv` beside the single-validator `devnet`, and the services spread
//! over them: provider node `i` talks to validator `i mod N`, the gateway to the second, the
//! auditor to the third. After `--traffic`, `GET /v1/status` on every validator must show the
//! same height, block and state root ([`consistency`]).

pub mod children;
mod consistency;

use super::{Ctx, model, traffic};
use anyhow::{Context, Result};
use children::ChildValidator;
use clap::Args as ClapArgs;
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};
use verity_client::Client;
use verity_gateway::GatewayConfig;
use verity_ledger::{
    Amount, Genesis, GenesisAccount, Keypair, Mode, ModePrice, ModelId, Params, Payload,
};
use verity_node::{Home, Network, home};
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
/// Stake each devnet validator bonds at genesis (evidence of its equivocation slashes it).
const VALIDATOR_STAKE: Amount = 10_000_000_000;
/// Balance of each devnet validator's account, for the fees of its reports of equivocation.
const VALIDATOR_FUNDS: Amount = 1_000_000_000;
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
    /// Start one more provider node this many seconds after the others (during `--traffic`),
    /// and report when the router gave it its first paid call and its exposure share.
    #[arg(long, value_name = "SECS")]
    pub late_node: Option<f64>,
    #[command(flatten)]
    pub set: super::init::ValidatorSet,
}

/// Time between the in-process auditor's rounds.
const AUDIT_INTERVAL: Duration = Duration::from_millis(500);

/// Keys of devnet nodes that exist beside the demo key (one more than run by default, for
/// `--late-node` or a node started by hand).
const NODE_KEYS: usize = 4;

/// Create the devnet on first use (or after `--reset`), then run it.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    super::init_logging("warn,verity=info");
    ensure_keys(ctx)?;
    if args.set.validators > 1 {
        return run_network(ctx, args);
    }
    let data = ctx.home.join("devnet");
    if args.reset && data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    if !data.join(home::GENESIS_FILE).exists() {
        let members = args.set.members(&args.listen)?;
        let genesis = devnet_genesis(ctx, &members)?;
        let [(key, settings)] = members.as_slice() else {
            unreachable!("one validator")
        };
        home::write_home(&data, &genesis, settings, key)?;
    }
    let mut home = Home::load(&data).with_context(|| {
        format!(
            "cannot load the devnet in {}; if an older version of verity created it, start a \
             new chain with `verity devnet --reset`",
            data.display()
        )
    })?;
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
            let validators = [ctx.url.clone()];
            let code = match services(&ctx, &args, &data, &validators) {
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

/// The devnet's genesis with `members` as validators.
///
/// The node and auditor keys are funded at genesis, not by the demo account: an account that
/// funds a node is linked to it, and the demo account's calls would then never count as
/// independent evidence of the nodes' service.
fn devnet_genesis(ctx: &Ctx, members: &[(Keypair, verity_node::NodeSettings)]) -> Result<Genesis> {
    let demo = crate::keyring::load(&ctx.home, "demo")?;
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
    // A validator pays the fee of its reports of equivocation from its own account.
    for (key, _) in members {
        accounts.push(GenesisAccount {
            address: key.address(),
            balance: VALIDATOR_FUNDS,
        });
    }
    Ok(Genesis {
        chain_id: "verity-devnet".into(),
        genesis_time_ms: super::now_ms(),
        params: devnet_params(),
        accounts,
        validators: verity_node::network::genesis_validators(members, VALIDATOR_STAKE),
    })
}

/// Ensure the devnet's keys exist (the demo account and every funded key).
fn ensure_keys(ctx: &Ctx) -> Result<()> {
    for name in std::iter::once("demo".to_string()).chain(funded_key_names()) {
        let path = crate::keyring::path(&ctx.home, &name);
        if !path.exists() {
            home::write_key(&path, &home::generate_key())?;
        }
    }
    Ok(())
}

/// `verity devnet --validators N`: the validators as child processes, the services here.
fn run_network(ctx: &Ctx, args: Args) -> Result<()> {
    let count = usize::from(args.set.validators);
    let data = ctx.home.join(format!("devnet-{count}v"));
    if args.reset && data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    if !Network::exists(&data) {
        let members = args.set.members(&args.listen)?;
        let genesis = devnet_genesis(ctx, &members)?;
        verity_node::network::write_network(&data, &genesis, &members)?;
    }
    let network = Network::load(&data)?;
    anyhow::ensure!(
        network.validators.len() == count,
        "{} holds a network of {} validators, not {count}; start a new one with --reset",
        data.display(),
        network.validators.len()
    );
    let mut validators = Vec::with_capacity(count);
    for member in &network.validators {
        validators.push(ChildValidator::start(&data, member, args.listen.block_ms)?);
    }
    let urls: Vec<String> = network.validators.iter().map(|m| m.api.clone()).collect();
    for (validator, url) in validators.iter_mut().zip(&urls) {
        validator.wait_ready(url)?;
    }
    println!(
        "Verity devnet is starting ({count} validators in separate processes, chain {}).",
        network.chain_id
    );
    let ctx = Ctx {
        home: ctx.home.clone(),
        url: urls[0].clone(),
    };
    let mut code = services(&ctx, &args, &data, &urls)?;
    if code == 0 {
        code = consistency::report(&urls)?;
    }
    drop(validators);
    std::process::exit(code)
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

/// Every devnet key funded besides the demo account: the nodes', the auditor's and the
/// gateway's canary key.
fn funded_key_names() -> impl Iterator<Item = String> {
    node_key_names().chain([AUDITOR_KEY.to_string(), CANARY_KEY.to_string()])
}

/// Key of the devnet's in-process auditor.
const AUDITOR_KEY: &str = "auditor";

/// Key that pays the gateway's known-answer canary calls.
const CANARY_KEY: &str = "canary";

/// Escrow the canary key keeps for canary calls.
const CANARY_ESCROW: Amount = NODE_FUNDS / 2;

/// Everything besides the validators, whose API URLs are `validators` (`ctx.url` is the
/// first). Returns only with `--traffic` (the process exit code) or on error; otherwise it
/// serves until the process is interrupted.
fn services(ctx: &Ctx, args: &Args, data: &std::path::Path, validators: &[String]) -> Result<i32> {
    let validator = |i: usize| validators[i % validators.len()].clone();
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
        let mut config = GatewayConfig::new(validator(1));
        config.listen = args.gateway;
        config.canary = Some(verity_gateway::CanaryConfig::new(crate::keyring::load(
            &ctx.home, CANARY_KEY,
        )?));
        verity_gateway::start(config)
            .await
            .context("cannot start the gateway; pass --gateway ADDR to use another address")
    })?;
    let gateway_url = gateway.url().to_string();

    let node_config = |i: usize, name: &str| -> Result<ProviderConfig> {
        let key = crate::keyring::load(&ctx.home, name)?;
        let prices = BASE_PRICES
            .iter()
            .map(|&(mode, price)| ModePrice {
                mode,
                price: price * (4 + i as Amount) / 4,
            })
            .collect();
        let mut config = ProviderConfig::new(
            key,
            validator(i),
            data.join("nodes").join(name),
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
        Ok(config)
    };
    let mut nodes = Vec::new();
    for (i, name) in node_key_names().take(args.nodes).enumerate() {
        let handle = runtime
            .block_on(verity_provider::start(node_config(i, &name)?))
            .with_context(|| format!("cannot start provider node {name}"))?;
        nodes.push((name, handle));
    }
    let late_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut late_node = None;
    if let Some(delay) = args.late_node {
        anyhow::ensure!(
            args.nodes < NODE_KEYS,
            "--late-node needs a free node key: run at most {} nodes with it",
            NODE_KEYS - 1
        );
        let name = format!("node-{}", args.nodes + 1);
        let config = node_config(args.nodes, &name)?;
        let late = LateNode {
            name,
            delay: Duration::from_secs_f64(delay.max(0.0)),
            ledger: ctx.client(),
            gateway: verity_client::GatewayClient::new(&gateway_url),
            model: models[0],
            mode: args.mode,
        };
        let handle = runtime.handle().clone();
        let stop = late_stop.clone();
        late_node = Some(
            std::thread::Builder::new()
                .name("verity-late-node".into())
                .spawn(move || late.run(&handle, config, &stop))?,
        );
    }

    if !args.no_auditor {
        let key = crate::keyring::load(&ctx.home, AUDITOR_KEY)?;
        super::audit::ensure_bonded(&ledger, &key)?;
        let client = Client::new(&validator(2));
        std::thread::Builder::new()
            .name("verity-auditor".into())
            .spawn(move || {
                verity_auditor::Auditor::new(client, key).run(AUDIT_INTERVAL, || false)
            })?;
    }

    println!("Verity devnet is running.");
    for (i, url) in validators.iter().enumerate() {
        let name = match validators.len() {
            1 => "ledger API".to_string(),
            _ => verity_node::network::member_name(i),
        };
        println!("  {name:<11} {url}/v1/status");
    }
    println!("  gateway     {gateway_url}/v1/models");
    println!("  explorer    {gateway_url}/explorer");
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

    let gateway_client = verity_client::GatewayClient::new(&gateway_url);
    await_canaries(&gateway_client, &models, &nodes)?;
    traffic::await_quotes(
        &gateway_client,
        &models,
        Mode::Signed,
        1,
        traffic::QUOTE_WAIT,
    )?;
    let Some(calls) = args.traffic else {
        // A late node keeps serving once its report is in: its handle lives here.
        let _late = late_node.map(std::thread::JoinHandle::join);
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
    late_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut late_paid = true;
    if let Some(thread) = late_node {
        let (node, paid) = thread
            .join()
            .map_err(|_| anyhow::anyhow!("the late node's thread panicked"))??;
        late_paid = paid;
        nodes.push(("late".into(), node));
    }
    let verdict = traffic::report(&traffic_args, &summary);
    report_canary_failures(&gateway_client, &models, &nodes)?;
    if !late_paid {
        eprintln!("error: the late node received no paid call during the traffic");
        return Ok(1);
    }
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

/// Wait until the gateway has a canary verdict for every running node and bundled model, and
/// print the nodes that failed one (the router keeps them out until a later canary passes).
fn await_canaries(
    gateway: &verity_client::GatewayClient,
    models: &[ModelId],
    nodes: &[(String, verity_provider::ProviderHandle)],
) -> Result<()> {
    let deadline = Instant::now() + traffic::QUOTE_WAIT;
    for model in models {
        loop {
            let view = gateway.exposure(model, Mode::Signed, None)?;
            let pending: Vec<&str> = nodes
                .iter()
                .filter(|(_, node)| {
                    view.nodes
                        .iter()
                        .find(|n| n.node == node.address())
                        .is_none_or(|n| {
                            n.standing
                                == verity_router::Standing::Ineligible {
                                    reason: verity_router::Ineligibility::CanariesPending,
                                }
                        })
                })
                .map(|(name, _)| name.as_str())
                .collect();
            if pending.is_empty() {
                for (name, node) in nodes {
                    let failed = view
                        .nodes
                        .iter()
                        .any(|n| n.node == node.address() && n.evidence.canaries_failed > 0);
                    if failed {
                        println!(
                            "  canary      {name} answered a known-answer call for {model} \
                             wrongly: not routed that model until a later canary passes"
                        );
                    }
                }
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no canary verdict for {} on model {model} within {} s; check the gateway's \
                 log and that the canary key has escrow",
                pending.join(", "),
                traffic::QUOTE_WAIT.as_secs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Print every node that answered a known-answer canary wrongly during the run, per model (the
/// router kept it off that model until a later canary passed).
fn report_canary_failures(
    gateway: &verity_client::GatewayClient,
    models: &[ModelId],
    nodes: &[(String, verity_provider::ProviderHandle)],
) -> Result<()> {
    for model in models {
        let view = gateway.exposure(model, Mode::Signed, None)?;
        for (name, node) in nodes {
            if let Some(n) = view
                .nodes
                .iter()
                .find(|n| n.node == node.address() && n.evidence.canaries_failed > 0)
            {
                println!(
                    "  canary      {name} failed {} known-answer call(s) for {model} during the run",
                    n.evidence.canaries_failed
                );
            }
        }
    }
    Ok(())
}

/// A provider node started after the others, to watch the router give a newcomer work.
struct LateNode {
    name: String,
    delay: Duration,
    ledger: Client,
    gateway: verity_client::GatewayClient,
    model: ModelId,
    mode: Mode,
}

impl LateNode {
    /// Wait, start the node, then follow it (at most [`LATE_NODE_WAIT`], or until `stop` is set
    /// and [`LATE_NODE_GRACE`] passed) through three moments, printing each: eligible (its
    /// canary passed, with the share the router gives it and the first-call time that share
    /// implies at the current call rate), its first caller's call, and the ledger accepting a
    /// paid call. Returns the running node and whether it was paid.
    fn run(
        self,
        runtime: &tokio::runtime::Handle,
        config: ProviderConfig,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<(verity_provider::ProviderHandle, bool)> {
        std::thread::sleep(self.delay);
        let started = Instant::now();
        let gateway_calls_before = counter(
            &format!("{}/metrics", self.gateway.url()),
            "verity_gateway_calls_total{result=\"ok\"}",
        );
        let node = runtime
            .block_on(verity_provider::start(config))
            .with_context(|| format!("cannot start the late node {}", self.name))?;
        let address = node.address();
        let node_metrics = format!("{}/metrics", node.endpoint());
        // Calls of the followed model only: the canaries of the node's other models come
        // later and must not pass for a caller's call.
        let model_calls = format!("verity_node_calls_total{{model=\"{}\"", self.model);
        let served = || counter(&node_metrics, &model_calls).unwrap_or(0.0);
        println!(
            "late node   {} ({address}) started {:.1} s into the run",
            self.name,
            self.delay.as_secs_f64()
        );
        let mut eligible: Option<(Instant, f64)> = None;
        let mut called = false;
        let mut stopped_at = None;
        while started.elapsed() < LATE_NODE_WAIT {
            if eligible.is_none()
                && let Some(n) = self
                    .gateway
                    .exposure(&self.model, self.mode, None)
                    .ok()
                    .and_then(|v| v.nodes.into_iter().find(|n| n.node == address))
                && !matches!(n.standing, verity_router::Standing::Ineligible { .. })
            {
                let rate = gateway_calls_before
                    .zip(counter(
                        &format!("{}/metrics", self.gateway.url()),
                        "verity_gateway_calls_total{result=\"ok\"}",
                    ))
                    .map(|(before, now)| (now - before) / started.elapsed().as_secs_f64());
                let expected = match rate {
                    Some(q) if q > 0.0 && n.share > 0.0 => {
                        format!(
                            "expected first call ≈ {:.2} s at {q:.0} calls/s",
                            1.0 / (n.share * q)
                        )
                    }
                    _ => "no call rate to compare with".to_string(),
                };
                println!(
                    "late node   eligible {:.1} s after start (canary passed): {} with {:.2} % \
                     of {} calls in {} mode; {expected}",
                    started.elapsed().as_secs_f64(),
                    super::exposure::standing(&n.standing),
                    100.0 * n.share,
                    self.model,
                    self.mode
                );
                eligible = Some((Instant::now(), served()));
            }
            if let Some((at, canaries)) = eligible
                && !called
                && served() > canaries
            {
                called = true;
                println!(
                    "late node   first caller's call {:.2} s after it became eligible",
                    at.elapsed().as_secs_f64()
                );
            }
            // The ledger's count includes one canary per model served, so a caller's call is
            // accepted once it exceeds that.
            if called
                && self
                    .ledger
                    .node(&address)
                    .is_ok_and(|n| n.served > n.models.len() as u64)
            {
                println!(
                    "late node   paid calls accepted on the ledger {:.1} s after it started",
                    started.elapsed().as_secs_f64()
                );
                return Ok((node, true));
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                let since = *stopped_at.get_or_insert_with(Instant::now);
                if since.elapsed() > LATE_NODE_GRACE {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!(
            "late node   {} got no paid call accepted in {:.0} s",
            self.name,
            started.elapsed().as_secs_f64()
        );
        Ok((node, false))
    }
}

/// The sum of the Prometheus samples at `url` whose line starts with `prefix`.
fn counter(url: &str, prefix: &str) -> Option<f64> {
    let text = ureq::get(url)
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    Some(
        text.lines()
            .filter(|l| l.starts_with(prefix) && l.contains("result=\"ok\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

/// Longest wait for the late node's first paid call.
const LATE_NODE_WAIT: Duration = Duration::from_secs(180);

/// How long the late node's report keeps waiting once the traffic has ended (receipts are
/// submitted in batches).
const LATE_NODE_GRACE: Duration = Duration::from_secs(15);

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
    let canary = crate::keyring::load(&ctx.home, CANARY_KEY)?;
    if ledger.account(&canary.address())?.account.escrow < CANARY_ESCROW / 2 {
        ledger.execute(
            &canary,
            Payload::EscrowDeposit {
                amount: CANARY_ESCROW,
            },
            timeout,
        )?;
    }
    Ok(())
}
