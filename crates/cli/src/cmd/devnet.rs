//! `verity devnet`: a one-command local network.

use super::Ctx;
use anyhow::Result;
use clap::Args as ClapArgs;
use verity_ledger::{Amount, Genesis, GenesisAccount, GenesisValidator, Params};
use verity_node::{Home, home};

/// Base units the demo account starts with.
pub const DEMO_FUNDS: Amount = 1_000_000_000_000_000;

/// Options of `verity devnet`.
#[derive(ClapArgs)]
pub struct Args {
    /// Delete the devnet's chain data first and start from a new genesis.
    #[arg(long)]
    pub reset: bool,
    #[command(flatten)]
    pub listen: super::init::Listen,
}

/// Create the devnet on first use (or after `--reset`), then run it.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    super::init_logging("warn,verity=info");
    let data = ctx.home.join("devnet");
    if args.reset && data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    let demo_path = crate::keyring::path(&ctx.home, "demo");
    if !demo_path.exists() {
        home::write_key(&demo_path, &home::generate_key())?;
    }
    let demo = crate::keyring::load(&ctx.home, "demo")?;
    if !data.join(home::GENESIS_FILE).exists() {
        let key = home::generate_key();
        let genesis = Genesis {
            chain_id: "verity-devnet".into(),
            genesis_time_ms: super::now_ms(),
            params: Params::default(),
            accounts: vec![GenesisAccount {
                address: demo.address(),
                balance: DEMO_FUNDS,
            }],
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
    let demo_address = demo.address();
    let keys_dir = crate::keyring::dir(&ctx.home);
    verity_node::run_validator(home, move |api, app| {
        let head = app.head();
        println!(
            "Verity devnet is running (chain {}, height {}).",
            app.genesis().chain_id,
            head.height
        );
        println!("  API       http://{api}/v1/status");
        println!("  OpenAPI   http://{api}{}", verity_api::OPENAPI_PATH);
        println!(
            "  demo key  {} ({}, funded at genesis)",
            demo_address,
            keys_dir.join("demo.key").display()
        );
        println!("  data      {}", data.display());
        println!("Try: verity query status    ·    verity query account demo    ·    Ctrl-C stops");
    })
}
