//! `verity init` (one validator's data directory, or a network directory of several) and
//! `verity validator run`.

use super::Ctx;
use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use std::{net::SocketAddr, path::PathBuf};
use verity_ledger::{Amount, Genesis, GenesisAccount, Params};
use verity_node::{Network, NodeSettings, home, network};

/// Options of `verity init`.
#[derive(ClapArgs)]
pub struct Args {
    /// Data directory to create.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Chain id.
    #[arg(long, default_value = "verity-local")]
    pub chain_id: String,
    /// Fund an account at genesis: NAME_OR_ADDRESS=AMOUNT (repeatable).
    #[arg(long = "fund", value_name = "WHO=AMOUNT")]
    pub funds: Vec<String>,
    #[command(flatten)]
    pub listen: Listen,
    /// Protocol parameters as a JSON file (defaults otherwise).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Stake each validator bonds at genesis, in base units, on top of the funded balances;
    /// evidence of its equivocation slashes it.
    #[arg(long, default_value_t = 0)]
    pub validator_stake: Amount,
    /// Balance each validator's own account (its key's address) starts with, for the fees of
    /// the reports of equivocation it files.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub validator_funds: Amount,
    #[command(flatten)]
    pub set: ValidatorSet,
}

/// How many validators a chain starts with and where they listen.
#[derive(ClapArgs)]
pub struct ValidatorSet {
    /// Validators in the genesis set (more than one: each gets its own data directory
    /// `validator-N` inside the given directory, described by `network.json`). Consensus
    /// tolerates f faulty validators out of 3f+1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub validators: u16,
    /// Validator N listens on the first validator's API and p2p ports plus (N-1) × this.
    #[arg(long, default_value_t = 100)]
    pub port_stride: u16,
}

impl ValidatorSet {
    /// Keys and settings of every validator, the first listening as `listen` says.
    pub fn members(&self, listen: &Listen) -> Result<Vec<(verity_ledger::Keypair, NodeSettings)>> {
        network::new_members(
            usize::from(self.validators),
            &listen.settings(),
            self.port_stride,
        )
    }
}

/// Where a validator listens and how fast it makes blocks.
#[derive(ClapArgs)]
pub struct Listen {
    /// HTTP API listen address.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub api: SocketAddr,
    /// Consensus p2p listen address.
    #[arg(long, default_value = "127.0.0.1:7071")]
    pub p2p: SocketAddr,
    /// Shortest time between blocks, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_ms: u64,
}

impl Listen {
    /// The validator settings these options describe.
    pub fn settings(&self) -> NodeSettings {
        NodeSettings {
            api: self.api,
            p2p: self.p2p,
            block_interval_ms: self.block_ms,
        }
    }
}

/// `verity validator …`.
#[derive(Subcommand)]
pub enum ValidatorCommand {
    /// Run the validator whose data directory is given.
    Run {
        /// Data directory written by `verity init` (with `--validators N`, one of its
        /// `validator-N` directories).
        #[arg(long)]
        data_dir: PathBuf,
        /// Exit when the process that started this one exits (used by `verity devnet`).
        #[arg(long, hide = true)]
        exit_with_parent: bool,
    },
}

/// Write a chain into `args.data_dir`: a validator's data directory, or with `--validators N`
/// a network directory holding N of them.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut accounts = Vec::new();
    for f in &args.funds {
        let (who, amount) = f
            .split_once('=')
            .with_context(|| format!("--fund takes WHO=AMOUNT, got '{f}'"))?;
        let amount: Amount = amount
            .parse()
            .with_context(|| format!("amount '{amount}' is not a whole number of base units"))?;
        accounts.push(GenesisAccount {
            address: crate::keyring::address(&ctx.home, who)?,
            balance: amount,
        });
    }
    if accounts.is_empty() {
        bail!(
            "fund at least one account: --fund NAME=AMOUNT (create NAME with `verity keys new NAME`)"
        );
    }
    let params: Params = match &args.params {
        Some(p) => serde_json::from_str(&std::fs::read_to_string(p)?)
            .with_context(|| format!("{} is not a valid parameters file", p.display()))?,
        None => Params::default(),
    };
    let members = args.set.members(&args.listen)?;
    if args.validator_funds > 0 {
        accounts.extend(members.iter().map(|(key, _)| GenesisAccount {
            address: key.address(),
            balance: args.validator_funds,
        }));
    }
    let genesis = Genesis {
        chain_id: args.chain_id,
        genesis_time_ms: super::now_ms(),
        params,
        accounts,
        validators: network::genesis_validators(&members, args.validator_stake),
    };
    genesis.validate().map_err(anyhow::Error::msg)?;
    if let [(key, settings)] = members.as_slice() {
        home::write_home(&args.data_dir, &genesis, settings, key)?;
        println!(
            "wrote chain '{}' to {}",
            genesis.chain_id,
            args.data_dir.display()
        );
        println!(
            "start it with: verity validator run --data-dir {}",
            args.data_dir.display()
        );
        return Ok(());
    }
    let network = network::write_network(&args.data_dir, &genesis, &members)?;
    println!(
        "wrote chain '{}' with {} validators to {}",
        genesis.chain_id,
        members.len(),
        args.data_dir.display()
    );
    println!(
        "start each (a quorum of {} keeps the chain going):",
        quorum(members.len())
    );
    for member in &network.validators {
        println!(
            "  verity validator run --data-dir {}    # API {}",
            Network::member_dir(&args.data_dir, member).display(),
            member.api
        );
    }
    Ok(())
}

/// Validators that must be up for consensus to finalize blocks: n - f, with n ≥ 3f + 1.
pub fn quorum(validators: usize) -> usize {
    validators - (validators - 1) / 3
}

/// `verity validator run`.
pub fn validator(_ctx: &Ctx, command: ValidatorCommand) -> Result<()> {
    match command {
        ValidatorCommand::Run {
            data_dir,
            exit_with_parent,
        } => {
            super::init_logging("info,commonware=warn");
            if exit_with_parent {
                exit_with_parent_process();
            }
            let home = verity_node::Home::load(&data_dir)?;
            verity_node::run_validator(home, |api, app| {
                tracing::info!(%api, height = app.head().height, "validator API listening");
            })
        }
    }
}

/// Exit this process as soon as its parent exits (the parent is polled every 200 ms; a
/// validator stopped this way restarts cleanly, consensus being crash-safe).
fn exit_with_parent_process() {
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
        }
    });
}
