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
    /// Start a local single-validator network with a funded demo account (the main job).
    Devnet(cmd::devnet::Args),
    /// Write a new chain's genesis and a validator's keys into a data directory.
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
    /// Read the ledger.
    #[command(subcommand)]
    Query(cmd::query::Command),
    /// Measure performance.
    #[command(subcommand)]
    Bench(cmd::bench::Command),
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
        Command::Query(c) => cmd::query::run(&ctx, c),
        Command::Bench(c) => cmd::bench::run(&ctx, c),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
