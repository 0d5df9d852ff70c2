//! `verity ticket sign` and `verity receipt sign`: the two halves of a paid call.

use super::Ctx;
use crate::keyring;
use anyhow::{Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use verity_ledger::{
    Amount, Hash32, Mode, ModelId, PaidCall, Receipt, SignatureBytes, Ticket, crypto,
};

/// A caller-signed ticket, as exchanged between caller and node.
#[derive(Serialize, Deserialize)]
pub struct SignedTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// The caller's signature.
    pub signature: SignatureBytes,
}

/// Ticket commands.
#[derive(Subcommand)]
pub enum TicketCommand {
    /// Sign a ticket authorising one call (printed as JSON).
    Sign {
        /// Name of the caller's key.
        #[arg(long)]
        caller: String,
        /// Node address or key name.
        #[arg(long)]
        node: String,
        /// Model id.
        #[arg(long)]
        model: ModelId,
        /// Input file (hashed) …
        #[arg(long, conflicts_with = "input_hash")]
        input: Option<PathBuf>,
        /// … or the input's hash.
        #[arg(long)]
        input_hash: Option<Hash32>,
        /// Verification mode.
        #[arg(long, default_value = "signed")]
        mode: Mode,
        /// Most you will pay, in base units.
        #[arg(long)]
        price_cap: Amount,
        /// Unique number (default: current time in ms).
        #[arg(long)]
        nonce: Option<u64>,
        /// Seconds until the ticket expires.
        #[arg(long, default_value_t = 60)]
        expires_in: u64,
    },
}

/// Receipt commands.
#[derive(Subcommand)]
pub enum ReceiptCommand {
    /// Sign a receipt for a ticket (as the node); prints the paid call as JSON.
    Sign {
        /// Name of the node's key.
        #[arg(long)]
        node: String,
        /// File from `verity ticket sign`.
        #[arg(long)]
        ticket: PathBuf,
        /// Output file (hashed) …
        #[arg(long, conflicts_with = "output_hash")]
        output: Option<PathBuf>,
        /// … or the output's hash.
        #[arg(long)]
        output_hash: Option<Hash32>,
        /// Price charged, at most the ticket's cap.
        #[arg(long)]
        price: Amount,
    },
}

fn hash_of(file: Option<PathBuf>, hash: Option<Hash32>, what: &str) -> Result<Hash32> {
    match (file, hash) {
        (Some(f), _) => {
            Ok(crypto::sha256(&[&std::fs::read(&f).with_context(
                || format!("cannot read {}", f.display()),
            )?]))
        }
        (None, Some(h)) => Ok(h),
        (None, None) => anyhow::bail!("give the {what} as a file or as its hash"),
    }
}

fn namespaces(ctx: &Ctx) -> Result<verity_ledger::Namespaces> {
    Ok(verity_ledger::Namespaces::new(
        &ctx.client().status()?.chain_id,
    ))
}

/// Run a ticket command.
pub fn ticket(ctx: &Ctx, command: TicketCommand) -> Result<()> {
    let TicketCommand::Sign {
        caller,
        node,
        model,
        input,
        input_hash,
        mode,
        price_cap,
        nonce,
        expires_in,
    } = command;
    let key = keyring::load(&ctx.home, &caller)?;
    let now = super::now_ms();
    let ticket = Ticket {
        caller: key.address(),
        model,
        node: keyring::address(&ctx.home, &node)?,
        input_hash: hash_of(input, input_hash, "input")?,
        mode,
        price_cap,
        nonce: nonce.unwrap_or(now),
        expiry_ms: now + expires_in * 1000,
    };
    let signature = ticket.sign(&key, &namespaces(ctx)?);
    super::print_json(&SignedTicket { ticket, signature })
}

/// Run a receipt command.
pub fn receipt(ctx: &Ctx, command: ReceiptCommand) -> Result<()> {
    let ReceiptCommand::Sign {
        node,
        ticket,
        output,
        output_hash,
        price,
    } = command;
    let key = keyring::load(&ctx.home, &node)?;
    let signed: SignedTicket = serde_json::from_str(
        &std::fs::read_to_string(&ticket)
            .with_context(|| format!("cannot read {}", ticket.display()))?,
    )
    .with_context(|| {
        format!(
            "{} is not a ticket from `verity ticket sign`",
            ticket.display()
        )
    })?;
    let receipt = Receipt {
        ticket: signed.ticket.id(),
        output_hash: hash_of(output, output_hash, "output")?,
        price,
        time_ms: super::now_ms(),
    };
    let receipt_signature = receipt.sign(&key, &namespaces(ctx)?);
    super::print_json(&PaidCall {
        ticket: signed.ticket,
        ticket_signature: signed.signature,
        receipt,
        receipt_signature,
    })
}
