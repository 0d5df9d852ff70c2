//! `verity tx`: build, sign and send transactions.

use super::Ctx;
use crate::keyring;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::{path::PathBuf, time::Duration};
use verity_ledger::{
    Amount, DType, HardwareProfile, Hash32, InputSpec, Mode, ModePrice, ModelId, PaidCall, Payload,
    SignedTransaction, Transaction, TxStatus, crypto,
};

/// Options every transaction takes.
#[derive(Args, Clone)]
pub struct Common {
    /// Name of the signing key.
    #[arg(long)]
    pub from: String,
    /// Fee in base units (default: the required fee).
    #[arg(long)]
    pub fee: Option<Amount>,
    /// Nonce (default: the account's next nonce).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Print the signed transaction as hex instead of sending it.
    #[arg(long)]
    pub print_only: bool,
    /// Return once the validator accepts it, without waiting for the block.
    #[arg(long)]
    pub no_wait: bool,
}

/// A node's description.
#[derive(Args, Clone)]
pub struct NodeArgs {
    /// Public URL of the node's inference API.
    #[arg(long)]
    pub endpoint: String,
    /// GPU model (e.g. h100-sxm, rtx-4090, cpu).
    #[arg(long, default_value = "cpu")]
    pub gpu: String,
    /// Power draw under load, in watts.
    #[arg(long, default_value_t = 65)]
    pub watts: u32,
    /// Hardware purchase cost in US dollars.
    #[arg(long, default_value_t = 0.0)]
    pub hardware_cost_usd: f64,
    /// Calls per second the node sustains under load (at least 1); routers send it no more.
    #[arg(long, default_value_t = verity_provider::config::DEFAULT_CAPACITY)]
    pub capacity: u32,
    /// Models served (ids, comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<ModelId>,
    /// Own price per mode: MODE=BASE_UNITS (repeatable).
    #[arg(long = "price", value_name = "MODE=PRICE", required = true)]
    pub prices: Vec<String>,
}

impl NodeArgs {
    fn parts(&self) -> Result<(HardwareProfile, Vec<ModePrice>)> {
        let prices = super::serve::parse_prices(&self.prices)?;
        let hardware = HardwareProfile {
            gpu: self.gpu.clone(),
            watts: self.watts,
            cost_usd_cents: (self.hardware_cost_usd * 100.0).round() as u64,
            capacity: self.capacity,
        };
        Ok((hardware, prices))
    }
}

/// Transaction commands.
#[derive(Subcommand)]
pub enum Command {
    /// Send tokens.
    Transfer {
        #[command(flatten)]
        common: Common,
        /// Recipient: address or key name.
        #[arg(long)]
        to: String,
        /// Base units.
        #[arg(long)]
        amount: Amount,
    },
    /// Register a model you own.
    RegisterModel {
        #[command(flatten)]
        common: Common,
        /// The ONNX file (its SHA-256 is the model id).
        #[arg(long, conflicts_with = "model")]
        file: Option<PathBuf>,
        /// The model id, if you have the hash but not the file.
        #[arg(long)]
        model: Option<ModelId>,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Royalty per call in basis points.
        #[arg(long, default_value_t = 0)]
        royalty_bps: u16,
        /// Input shape, comma-separated (e.g. 1,1,8,8).
        #[arg(long, value_delimiter = ',', required = true)]
        shape: Vec<u32>,
        /// Input element type: f32, u8, i8, i32.
        #[arg(long, default_value = "f32")]
        dtype: DType,
        /// Allowed modes, comma-separated: signed, audited, tee, zk.
        #[arg(long, value_delimiter = ',', default_value = "signed,audited")]
        modes: Vec<Mode>,
    },
    /// Change the royalty or modes of your model.
    UpdateModel {
        #[command(flatten)]
        common: Common,
        /// Model id.
        #[arg(long)]
        model: ModelId,
        /// Royalty per call in basis points.
        #[arg(long)]
        royalty_bps: u16,
        /// Allowed modes, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        modes: Vec<Mode>,
    },
    /// Register as a provider node and bond stake.
    RegisterNode {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        node: NodeArgs,
        /// Stake to bond, in base units.
        #[arg(long)]
        stake: Amount,
    },
    /// Replace your node's endpoint, hardware, models and prices.
    UpdateNode {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Bond more stake.
    Bond {
        #[command(flatten)]
        common: Common,
        /// Base units.
        #[arg(long)]
        amount: Amount,
    },
    /// Start unbonding stake.
    Unbond {
        #[command(flatten)]
        common: Common,
        /// Base units.
        #[arg(long)]
        amount: Amount,
    },
    /// Withdraw matured unbonded stake and escrow releases.
    Withdraw {
        #[command(flatten)]
        common: Common,
    },
    /// Move balance into your call escrow.
    EscrowDeposit {
        #[command(flatten)]
        common: Common,
        /// Base units.
        #[arg(long)]
        amount: Amount,
    },
    /// Request an escrow release (withdrawable after the unlock period).
    EscrowWithdraw {
        #[command(flatten)]
        common: Common,
        /// Base units.
        #[arg(long)]
        amount: Amount,
    },
    /// Submit served calls for settlement (as the node): signed call files from
    /// `verity receipt sign`.
    SubmitReceipts {
        #[command(flatten)]
        common: Common,
        /// Files each holding one paid call (JSON) or a list of them.
        #[arg(required = true)]
        calls: Vec<PathBuf>,
    },
    /// Send a transaction given as hex (as printed by --print-only).
    SendRaw {
        /// Hex of the signed transaction.
        hex: String,
        /// Return without waiting for the block.
        #[arg(long)]
        no_wait: bool,
    },
}

/// Run a transaction command.
pub fn run(ctx: &Ctx, command: Command) -> Result<()> {
    let (common, payload) = match command {
        Command::SendRaw { hex, no_wait } => {
            let bytes = hex::decode(hex.trim()).context("the transaction must be hex")?;
            return send(ctx, &bytes, no_wait);
        }
        Command::Transfer { common, to, amount } => {
            let to = keyring::address(&ctx.home, &to)?;
            (common, Payload::Transfer { to, amount })
        }
        Command::RegisterModel {
            common,
            file,
            model,
            name,
            royalty_bps,
            shape,
            dtype,
            modes,
        } => {
            let model =
                match (file, model) {
                    (Some(f), _) => crypto::sha256(&[&std::fs::read(&f)
                        .with_context(|| format!("cannot read {}", f.display()))?]),
                    (None, Some(m)) => m,
                    (None, None) => bail!("give the model as --file FILE.onnx or --model HASH"),
                };
            (
                common,
                Payload::RegisterModel {
                    model,
                    name,
                    royalty_bps,
                    input: InputSpec { shape, dtype },
                    modes,
                },
            )
        }
        Command::UpdateModel {
            common,
            model,
            royalty_bps,
            modes,
        } => (
            common,
            Payload::UpdateModel {
                model,
                royalty_bps,
                modes,
            },
        ),
        Command::RegisterNode {
            common,
            node,
            stake,
        } => {
            let (hardware, prices) = node.parts()?;
            (
                common,
                Payload::RegisterNode {
                    endpoint: node.endpoint,
                    hardware,
                    models: node.models,
                    prices,
                    stake,
                },
            )
        }
        Command::UpdateNode { common, node } => {
            let (hardware, prices) = node.parts()?;
            (
                common,
                Payload::UpdateNode {
                    endpoint: node.endpoint,
                    hardware,
                    models: node.models,
                    prices,
                },
            )
        }
        Command::Bond { common, amount } => (common, Payload::Bond { amount }),
        Command::Unbond { common, amount } => (common, Payload::Unbond { amount }),
        Command::Withdraw { common } => (common, Payload::Withdraw),
        Command::EscrowDeposit { common, amount } => (common, Payload::EscrowDeposit { amount }),
        Command::EscrowWithdraw { common, amount } => (common, Payload::EscrowWithdraw { amount }),
        Command::SubmitReceipts { common, calls } => {
            let mut all = Vec::new();
            for path in calls {
                all.extend(read_calls(&path)?);
            }
            (common, Payload::SubmitReceipts { calls: all })
        }
    };
    let tx = sign(ctx, &common, payload)?;
    if common.print_only {
        println!("{}", hex::encode(tx.encode()));
        return Ok(());
    }
    send(ctx, &tx.encode(), common.no_wait)
}

/// Paid calls from a file holding one or a list.
pub fn read_calls(path: &PathBuf) -> Result<Vec<PaidCall>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Ok(list) = serde_json::from_str::<Vec<PaidCall>>(&text) {
        return Ok(list);
    }
    let one: PaidCall = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a paid call from `verity receipt sign`",
            path.display()
        )
    })?;
    Ok(vec![one])
}

/// Sign `payload` with the key `common.from`, filling fee and nonce from the chain.
pub fn sign(ctx: &Ctx, common: &Common, payload: Payload) -> Result<SignedTransaction> {
    let key = keyring::load(&ctx.home, &common.from)?;
    let client = ctx.client();
    let nonce = match common.nonce {
        Some(n) => n,
        None => client.account(&key.address())?.next_nonce,
    };
    let fee = match common.fee {
        Some(f) => f,
        None => {
            let calls = payload.call_count();
            client.params()?.params.required_fee(calls)
        }
    };
    let chain_id = client.status()?.chain_id;
    let ns = verity_ledger::Namespaces::new(&chain_id);
    Ok(Transaction {
        signer: key.public(),
        nonce,
        fee,
        payload,
    }
    .sign(&key, &ns))
}

fn send(ctx: &Ctx, bytes: &[u8], no_wait: bool) -> Result<()> {
    let client = ctx.client();
    let submitted = client.submit_raw(bytes)?;
    let hash: Hash32 = submitted.hash;
    if no_wait {
        println!("{hash}");
        return Ok(());
    }
    let outcome = client.wait_tx(&hash, Duration::from_secs(60))?;
    super::print_json(&outcome)?;
    match &outcome.status {
        TxStatus::Applied => Ok(()),
        TxStatus::Failed { message, .. } | TxStatus::Rejected { message, .. } => {
            bail!("transaction {hash} did not apply: {message}")
        }
    }
}
