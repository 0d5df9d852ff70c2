//! `verity`: run a local network, manage keys, send transactions, query the ledger and
//! measure settlement speed.

mod cmd;
mod keyring;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Verity: verifiable AI inference, paid per call and settled on a replicated ledger.
#[derive(Parser)]
#[command(name = "verity", version, about, long_about = None)]
struct Cli {
    /// Directory for keys and the devnet's data.
    #[arg(long, global = true, env = "VERITY_HOME", default_value = ".verity")]
    home: PathBuf,
    /// API of the validator to talk to.
    #[arg(
        long,
        global = true,
        env = "VERITY_URL",
        default_value = "http://127.0.0.1:7070"
    )]
    url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local network with a funded demo account (the main job); one validator in this
    /// process, or `--validators N` in N processes.
    Devnet(cmd::devnet::Args),
    /// Write a new chain's genesis and validator keys: one data directory, or with
    /// `--validators N` a network directory of N.
    Init(cmd::init::Args),
    /// Validator operations.
    #[command(subcommand)]
    Validator(cmd::init::ValidatorCommand),
    /// Create and show account keys.
    #[command(subcommand)]
    Keys(cmd::keys::Command),
    /// Sign and send transactions.
    #[command(subcommand)]
    Tx(Box<cmd::tx::Command>),
    /// Sign call tickets (as a caller).
    #[command(subcommand)]
    Ticket(cmd::calls::TicketCommand),
    /// Sign receipts (as a node).
    #[command(subcommand)]
    Receipt(cmd::calls::ReceiptCommand),
    /// Publish models and serve the local model store.
    #[command(subcommand)]
    Model(cmd::model::Command),
    /// Run a provider node.
    #[command(subcommand)]
    Node(cmd::serve::NodeCommand),
    /// Run a gateway: the caller-facing API that quotes, routes and retries calls.
    Gateway(cmd::serve::GatewayArgs),
    /// Pay for one inference through a gateway (`verity call status ID` follows settlement).
    Call(cmd::call::CallArgs),
    /// Generate paid calls through a gateway and check they all settle exactly once.
    Traffic(cmd::traffic::TrafficArgs),
    /// Show how a gateway's router treats every node serving a model: formula and shares.
    Exposure(cmd::exposure::ExposureArgs),
    /// Read the ledger.
    #[command(subcommand)]
    Query(cmd::query::Command),
    /// Audit sampled calls (as a bonded auditor) and list open audits.
    #[command(subcommand)]
    Audit(cmd::audit::Command),
    /// Show protocol parameters.
    #[command(subcommand)]
    Params(cmd::audit::ParamsCommand),
    /// Measure performance.
    #[command(subcommand)]
    Bench(cmd::bench::Command),
    /// What-if operator economics: daily P&L and payback for assumed traffic (no network).
    Calc(Box<cmd::earnings::CalcArgs>),
    /// Simulate the marketplace: the exposure router against other routing policies.
    Sim(cmd::sim::Args),
}

fn main() {
    let cli = Cli::parse();
    let ctx = cmd::Ctx {
        home: cli.home,
        url: cli.url,
    };
    let result = match cli.command {
        Command::Devnet(a) => cmd::devnet::run(&ctx, a),
        Command::Init(a) => cmd::init::run(&ctx, a),
        Command::Validator(c) => cmd::init::validator(&ctx, c),
        Command::Keys(c) => cmd::keys::run(&ctx, c),
        Command::Tx(c) => cmd::tx::run(&ctx, *c),
        Command::Ticket(c) => cmd::calls::ticket(&ctx, c),
        Command::Receipt(c) => cmd::calls::receipt(&ctx, c),
        Command::Model(c) => cmd::model::run(&ctx, c),
        Command::Node(c) => cmd::serve::node(&ctx, c),
        Command::Gateway(a) => cmd::serve::gateway(&ctx, a),
        Command::Call(a) => cmd::call::run(&ctx, a),
        Command::Traffic(a) => cmd::traffic::run(&ctx, a),
        Command::Exposure(a) => cmd::exposure::run(&ctx, a),
        Command::Query(c) => cmd::query::run(&ctx, c),
        Command::Audit(c) => cmd::audit::run(&ctx, c),
        Command::Params(c) => cmd::audit::params(&ctx, c),
        Command::Bench(c) => cmd::bench::run(&ctx, c),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Calc(a) => cmd::earnings::run_calc(*a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
