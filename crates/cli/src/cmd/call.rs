//! `verity call`: pay for one inference through a gateway, and follow its settlement.

use super::{Ctx, print_json};
use crate::keyring;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use verity_api::{CallInput, CallRequest, CallResponse, CallState};
use verity_client::{GatewayClient, sign_alternatives};
use verity_ledger::{Amount, CallId, Keypair, Mode, ModelId, Namespaces};

/// Default gateway address (the one `verity devnet` starts).
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:7072";
/// How long a ticket stays valid after the quote.
pub const TICKET_LIFETIME_MS: u64 = 60_000;

/// `verity call MODEL --input FILE` or `verity call status ID`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CallArgs {
    #[command(subcommand)]
    status: Option<StatusCommand>,
    #[command(flatten)]
    call: MakeCall,
}

/// Follow a call.
#[derive(Subcommand)]
pub enum StatusCommand {
    /// Show where a call is in settlement; `--wait` follows it until it settles.
    Status {
        /// The call id printed by `verity call`.
        id: CallId,
        /// Wait until it settles.
        #[arg(long)]
        wait: bool,
        /// Gateway to ask.
        #[arg(long, env = "VERITY_GATEWAY", default_value = DEFAULT_GATEWAY)]
        gateway: String,
    },
}

/// Options of a call.
#[derive(Args)]
pub struct MakeCall {
    /// Model id (hex) or registered name.
    #[arg(required = true)]
    model: Option<String>,
    /// Input: a PNG or JPEG image, or a JSON file with `{"values": [...]}` or a plain array.
    #[arg(long, required = true)]
    input: Option<PathBuf>,
    /// Verification mode.
    #[arg(long, default_value = "signed")]
    mode: Mode,
    /// The most you will pay, in base units (default: the quoted price of each node).
    #[arg(long)]
    max_price: Option<Amount>,
    /// Name of the paying key (its escrow pays).
    #[arg(long, default_value = "demo")]
    from: String,
    /// Gateway to call through.
    #[arg(long, env = "VERITY_GATEWAY", default_value = DEFAULT_GATEWAY)]
    gateway: String,
    /// Print the whole answer as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `verity call`.
pub fn run(ctx: &Ctx, args: CallArgs) -> Result<()> {
    if let Some(StatusCommand::Status { id, wait, gateway }) = args.status {
        return status(&gateway, id, wait);
    }
    let a = args.call;
    let (Some(model), Some(input)) = (a.model, a.input) else {
        bail!("give a model and --input FILE");
    };
    let key = keyring::load(&ctx.home, &a.from)?;
    let model = resolve_model(ctx, &model)?;
    let input = read_input(&input)?;
    let gateway = GatewayClient::new(&a.gateway);
    let chain_id = ctx.client().status()?.chain_id;
    let response = call(
        &gateway,
        &key,
        &Namespaces::new(&chain_id),
        model,
        a.mode,
        a.max_price,
        input,
        rand::random(),
    )?;
    if a.json {
        return print_json(&response);
    }
    let r = &response.result;
    let p = &response.price;
    match r.label {
        Some(label) => println!("prediction  {label}"),
        None => println!("output      {:?}", r.output.as_f32()),
    }
    println!(
        "paid        {} (node {}, royalty {}, verifier {}, protocol {}; {} surcharge for {} mode)",
        p.price, p.node, p.royalty, p.verifier, p.protocol, p.mode_surcharge, a.mode
    );
    println!("node        {}  ({} µs compute)", r.node, r.compute_us);
    println!("call        {}", r.call_id);
    println!(
        "receipt     output {} · price {} · signed {}",
        r.receipt.output_hash, r.receipt.price, r.receipt_signature
    );
    for f in &response.failed_attempts {
        println!(
            "retried     {} failed first: {} (not charged)",
            f.node, f.message
        );
    }
    println!("settlement  {}", response.status_url);
    println!("Follow it: verity call status {} --wait", r.call_id);
    Ok(())
}

/// Quote, sign one ticket per candidate (same nonce) and call.
#[allow(clippy::too_many_arguments)]
pub fn call(
    gateway: &GatewayClient,
    key: &Keypair,
    namespaces: &Namespaces,
    model: ModelId,
    mode: Mode,
    max_price: Option<Amount>,
    input: CallInput,
    nonce: u64,
) -> Result<CallResponse> {
    let input_hash = input.hash().map_err(anyhow::Error::msg)?;
    let quote = gateway.quote(&model, mode, max_price)?;
    let tickets = sign_alternatives(
        &quote,
        key,
        namespaces,
        input_hash,
        max_price,
        nonce,
        TICKET_LIFETIME_MS,
    );
    Ok(gateway.call(&CallRequest {
        caller_key: key.public(),
        input,
        tickets,
    })?)
}

/// A model id, or the id of the registered model with this name.
pub fn resolve_model(ctx: &Ctx, model: &str) -> Result<ModelId> {
    if let Ok(id) = model.parse() {
        return Ok(id);
    }
    let models = ctx.client().models()?;
    let mut named = models.iter().filter(|m| m.name == model);
    match (named.next(), named.next()) {
        (Some(m), None) => Ok(m.id),
        (Some(_), Some(_)) => bail!("several models are named '{model}'; give its id"),
        (None, _) => bail!(
            "no registered model is named '{model}'; `verity model list` shows them, `verity model publish` adds one"
        ),
    }
}

/// Read a call input from a file: PNG/JPEG by content, otherwise JSON values.
pub fn read_input(path: &Path) -> Result<CallInput> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_image = bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8]);
    if is_image {
        return Ok(CallInput::image(&bytes));
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Values {
        Object { values: Vec<f32> },
        List(Vec<f32>),
    }
    let values = match serde_json::from_slice(&bytes) {
        Ok(Values::Object { values } | Values::List(values)) => values,
        Err(e) => bail!(
            "{} is neither a PNG/JPEG image nor JSON values ({e}); give an image or {{\"values\": [..]}}",
            path.display()
        ),
    };
    Ok(CallInput::tensor(values))
}

fn status(gateway: &str, id: CallId, wait: bool) -> Result<()> {
    let gateway = GatewayClient::new(gateway);
    let started = Instant::now();
    loop {
        let view = gateway.status(&id)?;
        if !wait || matches!(view.state, CallState::Settled | CallState::Refunded) {
            return print_json(&view);
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("call {id} has not settled after 10 minutes");
        }
        eprint!("\r{:?} after {:.0?}   ", view.state, started.elapsed());
        std::thread::sleep(Duration::from_millis(500));
    }
}
