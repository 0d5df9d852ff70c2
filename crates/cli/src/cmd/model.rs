//! `verity model`: publish ONNX models and serve the local model store.

use super::{Ctx, print_json};
use crate::keyring;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use verity_hub::BlobStore;
use verity_inference::LoadedModel;
use verity_ledger::{Bps, Hash32, Keypair, Mode, ModelId, Payload, TxStatus};

/// The models bundled with Verity (trained on scikit-learn's digits set; see `models/README.md`),
/// by registered name. `verity devnet` publishes them.
pub const BUNDLED: [(&str, &[u8]); 2] = [
    (
        "digits-mlp",
        include_bytes!("../../../../models/digits/mlp.onnx"),
    ),
    (
        "digits-cnn",
        include_bytes!("../../../../models/digits/cnn.onnx"),
    ),
];

/// Model commands.
#[derive(Subcommand)]
pub enum Command {
    /// Store an ONNX file by its hash and register it on the ledger; you earn the royalty.
    Publish {
        /// The ONNX file.
        file: PathBuf,
        /// Royalty on every call, in basis points of the call price.
        #[arg(long)]
        royalty: Bps,
        /// Display name (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// Name of the owner's key.
        #[arg(long, default_value = "demo")]
        from: String,
        /// Also run the zk setup of the model's integer program with the devnet's public seed
        /// and store the verifying key, so nodes can serve it in zk mode (devnet only: anyone
        /// knowing the seed can forge proofs; see docs/decisions/0007-zk-proof-system.md).
        #[arg(long)]
        zk: bool,
    },
    /// Serve the local model store at `GET /v1/blobs/{id}` so nodes can fetch published models.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7073")]
        listen: SocketAddr,
    },
    /// List the models registered on the ledger.
    List,
    /// Royalties a model earned per day, node and mode.
    Earnings(super::earnings::ModelEarningsArgs),
}

/// Run a model command.
pub fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Publish {
            file,
            royalty,
            name,
            from,
            zk,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = name.unwrap_or_else(|| {
                file.file_stem()
                    .map_or("model".into(), |s| s.to_string_lossy().into_owned())
            });
            let key = keyring::load(&ctx.home, &from)?;
            let published = publish(ctx, &key, &bytes, &name, royalty, zk)?;
            print_json(&published)
        }
        Command::Serve { listen } => serve(ctx, listen),
        Command::List => print_json(&ctx.client().models()?),
        Command::Earnings(a) => super::earnings::model(ctx, a),
    }
}

/// What `publish` did.
#[derive(serde::Serialize)]
pub struct Published {
    /// The model id (SHA-256 of the file).
    pub model: ModelId,
    /// Display name.
    pub name: String,
    /// Where the file is stored.
    pub stored_at: PathBuf,
    /// Modes the model can be served under.
    pub modes: Vec<Mode>,
    /// Why there is no integer program, if there is none (the model is then served on the float
    /// path in `signed` mode only).
    pub integer_path: String,
    /// Whether this call registered it (false: it was already registered).
    pub registered: bool,
}

/// The local model store of this home.
pub fn store(ctx: &Ctx) -> Result<BlobStore> {
    let dir = ctx.home.join("blobs");
    BlobStore::open(&dir).with_context(|| format!("cannot open the model store {}", dir.display()))
}

/// Check that `bytes` is a model we can run, store it, and register it unless it already is.
pub fn publish(
    ctx: &Ctx,
    owner: &Keypair,
    bytes: &[u8],
    name: &str,
    royalty_bps: Bps,
    zk_setup: bool,
) -> Result<Published> {
    let model = LoadedModel::load(bytes).context("cannot publish this file")?;
    let id = store(ctx)?.put(bytes)?;
    debug_assert_eq!(id, model.id());
    let integer_path = match model.integer_unavailable() {
        None => "available".to_string(),
        Some(reason) => format!("unavailable: {reason}"),
    };
    let client = ctx.client();
    let registered = match client.model(&id) {
        Ok(existing) if existing.owner != owner.address() => {
            bail!(
                "model {id} is already registered by {}; its royalty goes to that owner",
                existing.owner
            )
        }
        Ok(_) => false,
        Err(e) if e.code() == Some("not_found") => {
            client.execute(
                owner,
                Payload::RegisterModel {
                    model: id,
                    name: name.to_string(),
                    royalty_bps,
                    input: model.input_spec(),
                    modes: model.modes(),
                },
                Duration::from_secs(60),
            )?;
            true
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(program) = model.program() {
        let on_ledger = client.model(&id)?.program;
        if on_ledger != Some(Hash32(program.hash())) {
            let outcome = client.execute(
                owner,
                Payload::SetProgram {
                    model: id,
                    program: program.encode(),
                    output_shape: model.output_shape().to_vec(),
                },
                Duration::from_secs(60),
            )?;
            if let TxStatus::Failed { message, .. } | TxStatus::Rejected { message, .. } =
                outcome.status
            {
                bail!("the integer program of model {id} was not stored: {message}");
            }
        }
        if zk_setup && client.model(&id)?.zk_key.is_none() {
            let seed = verity_provider::zk::devnet_setup_seed(&id);
            let (_, vk) = verity_zk::groth16::setup(program, seed)
                .map_err(|e| anyhow::anyhow!("the zk setup of model {id} failed: {e}"))?;
            let outcome = client.execute(
                owner,
                Payload::SetZkKey {
                    model: id,
                    key: vk.to_bytes(),
                },
                Duration::from_secs(60),
            )?;
            if let TxStatus::Failed { message, .. } | TxStatus::Rejected { message, .. } =
                outcome.status
            {
                bail!("the zk verifying key of model {id} was not stored: {message}");
            }
        }
    }
    Ok(Published {
        model: id,
        name: name.to_string(),
        stored_at: store(ctx)?.path(&id),
        modes: model.modes(),
        integer_path,
        registered,
    })
}

fn serve(ctx: &Ctx, listen: SocketAddr) -> Result<()> {
    super::init_logging("info");
    let store = Arc::new(store(ctx)?);
    let dir = store.dir().to_path_buf();
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        println!(
            "Serving models from {} at http://{}/v1/blobs/{{id}}",
            dir.display(),
            listener.local_addr()?
        );
        axum::serve(listener, verity_hub::router(store)).await?;
        Ok(())
    })
}
