//! `verity query`: read the ledger through the API (JSON out).

use super::{Ctx, print_json};
use crate::keyring;
use anyhow::{Result, bail};
use clap::Subcommand;
use std::time::Duration;
use verity_client::CallFilter;
use verity_ledger::{Hash32, ModelId};

/// Query commands.
#[derive(Subcommand)]
pub enum Command {
    /// Height, state root, mempool size.
    Status,
    /// Protocol parameters and protocol accounts.
    Params,
    /// Balance, escrow, nonce and node of an account (address or key name).
    Account {
        /// Address or key name.
        who: String,
    },
    /// Registered models.
    Models,
    /// One model.
    Model {
        /// Model id.
        id: ModelId,
    },
    /// Registered nodes.
    Nodes,
    /// One node (address or key name).
    Node {
        /// Address or key name.
        who: String,
    },
    /// One call; with --wait, block until it settles.
    Call {
        /// Call id (ticket hash).
        id: Hash32,
        /// Wait up to this many seconds for settlement.
        #[arg(long)]
        wait: Option<u64>,
    },
    /// Calls of a caller, node or model, newest first.
    Calls {
        /// Caller (address or key name).
        #[arg(long)]
        caller: Option<String>,
        /// Node (address or key name).
        #[arg(long)]
        node: Option<String>,
        /// Model id.
        #[arg(long)]
        model: Option<ModelId>,
        /// Most to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Events, newest first, optionally of one account, model, call or kind.
    Events {
        /// Account (address or key name).
        #[arg(long)]
        account: Option<String>,
        /// Model id.
        #[arg(long)]
        model: Option<ModelId>,
        /// Call id.
        #[arg(long)]
        call: Option<Hash32>,
        /// Event type (e.g. CallSettled).
        #[arg(long)]
        kind: Option<String>,
        /// Most to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One block.
    Block {
        /// Height.
        height: u64,
    },
    /// Latest blocks.
    Blocks {
        /// Most to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// A transaction's outcome.
    Tx {
        /// Transaction hash.
        hash: Hash32,
    },
}

/// Run a query.
pub fn run(ctx: &Ctx, command: Command) -> Result<()> {
    let c = ctx.client();
    let who = |s: &str| keyring::address(&ctx.home, s);
    match command {
        Command::Status => print_json(&c.status()?),
        Command::Params => print_json(&c.params()?),
        Command::Account { who: w } => print_json(&c.account(&who(&w)?)?),
        Command::Models => print_json(&c.models()?),
        Command::Model { id } => print_json(&c.model(&id)?),
        Command::Nodes => print_json(&c.nodes()?),
        Command::Node { who: w } => print_json(&c.node(&who(&w)?)?),
        Command::Call { id, wait: None } => print_json(&c.call(&id)?),
        Command::Call { id, wait: Some(s) } => {
            print_json(&c.wait_settled(&id, Duration::from_secs(s))?)
        }
        Command::Calls {
            caller,
            node,
            model,
            limit,
        } => {
            let filter = match (caller, node, model) {
                (Some(a), None, None) => CallFilter::Caller(who(&a)?),
                (None, Some(a), None) => CallFilter::Node(who(&a)?),
                (None, None, Some(m)) => CallFilter::Model(m),
                _ => bail!("give exactly one of --caller, --node, --model"),
            };
            print_json(&c.calls(filter, limit)?)
        }
        Command::Events {
            account,
            model,
            call,
            kind,
            limit,
        } => {
            let query = match (account, model, call, kind) {
                (Some(a), None, None, None) => Some(format!("account={}", who(&a)?)),
                (None, Some(m), None, None) => Some(format!("model={m}")),
                (None, None, Some(x), None) => Some(format!("call={x}")),
                (None, None, None, Some(k)) => Some(format!("kind={k}")),
                (None, None, None, None) => None,
                _ => bail!("filter by at most one of --account, --model, --call, --kind"),
            };
            print_json(&c.events(query.as_deref(), limit)?)
        }
        Command::Block { height } => print_json(&c.block(height)?),
        Command::Blocks { limit } => print_json(&c.blocks(limit)?),
        Command::Tx { hash } => print_json(&c.tx(&hash)?),
    }
}
