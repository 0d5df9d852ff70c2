//! `verity keys`.

use super::Ctx;
use crate::keyring;
use anyhow::Result;
use clap::Subcommand;
use verity_node::home;

/// Key commands.
#[derive(Subcommand)]
pub enum Command {
    /// Create a new random key (stored with owner-only permissions).
    New {
        /// Name to refer to it by.
        name: String,
    },
    /// List local keys.
    List,
    /// Show a key's address and public key.
    Show {
        /// Key name.
        name: String,
    },
}

/// Run a key command.
pub fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::New { name } => {
            let path = keyring::path(&ctx.home, &name);
            let key = home::generate_key();
            home::write_key(&path, &key)?;
            println!("{}", key.address());
            eprintln!("created {}", path.display());
        }
        Command::List => {
            for (name, key) in keyring::list(&ctx.home)? {
                println!("{name:<16} {}", key.address());
            }
        }
        Command::Show { name } => {
            let key = keyring::load(&ctx.home, &name)?;
            super::print_json(&serde_json::json!({
                "name": name,
                "address": key.address(),
                "public_key": key.public(),
            }))?;
        }
    }
    Ok(())
}
