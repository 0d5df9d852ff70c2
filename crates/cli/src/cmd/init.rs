//! `verity init` and `verity validator run`.

use super::Ctx;
use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use std::{net::SocketAddr, path::PathBuf};
use verity_ledger::{Amount, Genesis, GenesisAccount, GenesisValidator, Params};
use verity_node::{NodeSettings, home};

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
    /// Stake the validator bonds at genesis, in base units, on top of the funded balances;
    /// evidence of its equivocation slashes it.
    #[arg(long, default_value_t = 0)]
    pub validator_stake: Amount,
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
        /// Data directory written by `verity init`.
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// Write a single-validator chain into `args.data_dir`.
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
    let key = home::generate_key();
    let genesis = Genesis {
        chain_id: args.chain_id,
        genesis_time_ms: super::now_ms(),
        params,
        accounts,
        validators: vec![GenesisValidator {
            public_key: key.public(),
            p2p: args.listen.p2p.to_string(),
            stake: args.validator_stake,
        }],
    };
    genesis.validate().map_err(anyhow::Error::msg)?;
    home::write_home(&args.data_dir, &genesis, &args.listen.settings(), &key)?;
    println!(
        "wrote chain '{}' to {}",
        genesis.chain_id,
        args.data_dir.display()
    );
    println!(
        "start it with: verity validator run --data-dir {}",
        args.data_dir.display()
    );
    Ok(())
}

/// `verity validator run`.
pub fn validator(_ctx: &Ctx, command: ValidatorCommand) -> Result<()> {
    match command {
        ValidatorCommand::Run { data_dir } => {
            super::init_logging("info,commonware=warn");
            let home = verity_node::Home::load(&data_dir)?;
            verity_node::run_validator(home, |api, app| {
                tracing::info!(%api, height = app.head().height, "validator API listening");
            })
        }
    }
}
