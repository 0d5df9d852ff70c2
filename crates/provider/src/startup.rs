//! Getting ready to serve: the ledger, the models and the node's registration, in this order.
//!
//! 1. **Chain**: the ledger's status and parameters. An unreachable ledger stops the start with
//!    its URL and the fix.
//! 2. **Models**, each in turn:
//!    - registered on the ledger, or the start stops naming the model and `verity model publish`;
//!    - its file read from the blob store, or fetched from the configured model sources and then
//!      from the endpoints of other registered nodes serving it; fetched bytes are kept only if
//!      their SHA-256 is the model id (checked before they are stored);
//!    - loaded, with the input shape the ledger registered;
//!    - every mode the node prices allowed both by the model's registration and by the loaded
//!      model (verifiable modes need the deterministic integer path).
//! 3. **Registration**: a node not yet registered submits `RegisterNode` (stake, endpoint,
//!    hardware, models, prices) once it has checked the stake is at least the minimum and its
//!    balance covers stake, registration burn and fee; a registered node submits `UpdateNode` if its endpoint,
//!    hardware, models or prices differ from the configuration, and must still have the minimum
//!    stake bonded. Either waits for the transaction's outcome.
//!
//! Everything here blocks (the client is blocking, loading a model is CPU work):
//! [`start`](crate::start) runs these steps on a blocking thread.

use crate::{config::ProviderConfig, error::ProviderError, state::ServedModel};
use std::time::Duration;
use verity_client::{Client, ClientError};
use verity_hub::BlobStore;
use verity_inference::LoadedModel;
use verity_ledger::{
    Amount, InputSpec, Mode, ModePrice, ModelId, Namespaces, Params, Payload, Transaction,
    TxStatus, state::Node,
};

/// Largest model file fetched from another server.
pub const MAX_MODEL_BYTES: u64 = 512 << 20;
/// Longest wait for a registration transaction's outcome.
pub const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// What the node learned and loaded before serving.
pub(crate) struct Prepared {
    /// The chain's id.
    pub chain_id: String,
    /// Its parameters.
    pub params: Params,
    /// Time of its last block.
    pub block_time_ms: u64,
    /// The models, loaded.
    pub models: Vec<ServedModel>,
    /// The attested enclave key, when the node serves tee mode.
    pub enclave: Option<verity_ledger::Keypair>,
}

/// Attest the node's software-enclave key and register it unless the ledger has it already.
fn register_enclave(
    config: &ProviderConfig,
    client: &Client,
    seed: &[u8; 32],
    status: &verity_api::Status,
) -> Result<verity_ledger::Keypair, ProviderError> {
    let address = config.key.address();
    let key = crate::tee::enclave_key(seed, &address);
    let url = client.url();
    let node = client
        .node(&address)
        .map_err(|e| ledger_error(url, "the node lookup", e))?;
    if node.enclave_key == Some(key.public()) {
        return Ok(key);
    }
    let document = crate::tee::attest(seed, &key, &address, status.block_time_ms)
        .map_err(|e| ProviderError::Internal(format!("the software enclave failed: {e}")))?;
    let outcome = client
        .execute(
            &config.key,
            verity_ledger::Payload::RegisterEnclave { document },
            REGISTRATION_TIMEOUT,
        )
        .map_err(|e| ledger_error(url, "register_enclave", e))?;
    match outcome.status {
        TxStatus::Applied => {
            tracing::info!(%address, enclave_key = %key.public(), "enclave key attested");
            Ok(key)
        }
        TxStatus::Failed { code, message } | TxStatus::Rejected { code, message } => {
            Err(ProviderError::TxNotApplied {
                kind: "register_enclave",
                hash: outcome.hash,
                code,
                message,
            })
        }
    }
}

fn ledger_error(url: &str, what: &str, e: ClientError) -> ProviderError {
    match e {
        ClientError::Unreachable { reason, .. } => ProviderError::LedgerUnreachable {
            url: url.into(),
            reason,
        },
        other => ProviderError::Ledger {
            url: url.into(),
            what: what.into(),
            reason: other.to_string(),
        },
    }
}

/// Steps 1–3, for a node reachable at `endpoint`.
pub(crate) fn prepare(
    config: &ProviderConfig,
    endpoint: &str,
    client: &Client,
    blobs: &BlobStore,
) -> Result<Prepared, ProviderError> {
    let url = client.url();
    let status = client
        .status()
        .map_err(|e| ledger_error(url, "the status request", e))?;
    let params = client
        .params()
        .map_err(|e| ledger_error(url, "the parameters request", e))?
        .params;
    let mut models = Vec::with_capacity(config.models.len());
    for id in &config.models {
        models.push(load_model(config, client, blobs, id)?);
    }
    register(config, endpoint, client, &params, &status.chain_id)?;
    let enclave = match config.software_enclave {
        Some(seed) => Some(register_enclave(config, client, &seed, &status)?),
        None => None,
    };
    Ok(Prepared {
        chain_id: status.chain_id,
        params,
        block_time_ms: status.block_time_ms,
        models,
        enclave,
    })
}

fn describe(spec: &InputSpec) -> String {
    format!("{:?} of {:?}", spec.shape, spec.dtype).to_lowercase()
}

fn load_model(
    config: &ProviderConfig,
    client: &Client,
    blobs: &BlobStore,
    id: &ModelId,
) -> Result<ServedModel, ProviderError> {
    let url = client.url();
    let registered = match client.model(id) {
        Ok(model) => model,
        Err(ClientError::Api { status: 404, .. }) => {
            return Err(ProviderError::ModelNotRegistered { model: *id });
        }
        Err(e) => return Err(ledger_error(url, &format!("the lookup of model {id}"), e)),
    };
    let bytes = match blobs.get(id) {
        Ok(Some(bytes)) => bytes,
        stored => {
            if let Err(e) = stored {
                tracing::warn!(model = %id, error = %e, "the stored model file is unusable; fetching it again");
            }
            let sources = model_sources(config, client, id)?;
            tracing::info!(model = %id, sources = ?sources, "fetching the model file");
            verity_hub::fetch_into(blobs, id, &sources, MAX_MODEL_BYTES).map_err(|e| {
                ProviderError::ModelUnavailable {
                    model: *id,
                    reason: e.to_string(),
                }
            })?
        }
    };
    let model = LoadedModel::load(&bytes).map_err(|e| ProviderError::ModelLoad {
        model: *id,
        code: e.code(),
        reason: e.to_string(),
    })?;
    let loaded = model.input_spec();
    if loaded != registered.input {
        return Err(ProviderError::InputSpecMismatch {
            model: *id,
            loaded: describe(&loaded),
            registered: describe(&registered.input),
        });
    }
    let supported = model.modes();
    let allowed: Vec<Mode> = registered
        .modes
        .iter()
        .copied()
        .filter(|m| supported.contains(m))
        .collect();
    for mode in config.modes() {
        if !allowed.contains(&mode) {
            let names: Vec<String> = allowed.iter().map(Mode::to_string).collect();
            return Err(ProviderError::ModeNotAllowed {
                model: *id,
                mode,
                allowed: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        }
    }
    let zk = zk_keys(id, &registered, &model);
    tracing::info!(model = %id, name = %registered.name, path = ?model.serving_path(), modes = ?allowed, zk = zk.is_some(), "model loaded");
    Ok(ServedModel {
        id: *id,
        label: id.to_string(),
        model,
        zk,
    })
}

/// The program and proving key for `id`'s zk-mode calls: the devnet setup (see [`crate::zk`]),
/// kept only if its verifying key is the one on the ledger.
fn zk_keys(
    id: &ModelId,
    registered: &verity_ledger::state::Model,
    model: &LoadedModel,
) -> Option<(
    std::sync::Arc<verity_quant::Program>,
    std::sync::Arc<verity_zk::groth16::ProvingKey>,
)> {
    let on_ledger = registered.zk_key?;
    let program = model.program()?.clone();
    let started = std::time::Instant::now();
    let (pk, vk) = verity_zk::groth16::setup(&program, crate::zk::devnet_setup_seed(id)).ok()?;
    if verity_ledger::Hash32(vk.hash()) != on_ledger {
        tracing::warn!(model = %id, "the ledger's zk key is not from the devnet setup; this node cannot prove the model's zk calls");
        return None;
    }
    tracing::info!(model = %id, seconds = started.elapsed().as_secs_f64(), "zk proving key ready");
    Some((std::sync::Arc::new(program), std::sync::Arc::new(pk)))
}

/// The configured sources, then the endpoints of other nodes registered as serving `id`.
fn model_sources(
    config: &ProviderConfig,
    client: &Client,
    id: &ModelId,
) -> Result<Vec<String>, ProviderError> {
    let mut sources = config.model_sources.clone();
    let me = config.key.address();
    let nodes = client
        .nodes()
        .map_err(|e| ledger_error(client.url(), "the list of nodes", e))?;
    for node in nodes {
        if node.operator != me && node.models.contains(id) && !sources.contains(&node.endpoint) {
            sources.push(node.endpoint);
        }
    }
    Ok(sources)
}

fn sorted<T: Clone + Ord>(items: &[T]) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort();
    v
}

fn sorted_prices(prices: &[ModePrice]) -> Vec<(Mode, Amount)> {
    sorted(&prices.iter().map(|p| (p.mode, p.price)).collect::<Vec<_>>())
}

/// Whether the registered node differs from what the configuration would register.
fn differs(node: &Node, config: &ProviderConfig, endpoint: &str) -> bool {
    node.endpoint != endpoint
        || node.hardware != config.hardware
        || sorted(&node.models) != sorted(&config.models)
        || sorted_prices(&node.prices) != sorted_prices(&config.prices)
}

fn register(
    config: &ProviderConfig,
    endpoint: &str,
    client: &Client,
    params: &Params,
    chain_id: &str,
) -> Result<(), ProviderError> {
    let address = config.key.address();
    let url = client.url();
    let account = client
        .account(&address)
        .map_err(|e| ledger_error(url, "the node's account lookup", e))?;
    let fee = params.required_fee(0);
    let payload = match account.node {
        None => {
            if config.stake < params.min_stake {
                return Err(ProviderError::StakeTooLow {
                    stake: config.stake,
                    min: params.min_stake,
                });
            }
            let burn = params.registration_burn;
            let needed = config.stake.saturating_add(burn).saturating_add(fee);
            if account.account.balance < needed {
                return Err(ProviderError::InsufficientBalance {
                    address,
                    available: account.account.balance,
                    needed,
                    stake: config.stake,
                    burn,
                    fee,
                    short: needed - account.account.balance,
                });
            }
            Payload::RegisterNode {
                endpoint: endpoint.into(),
                hardware: config.hardware.clone(),
                models: config.models.clone(),
                prices: config.prices.clone(),
                stake: config.stake,
            }
        }
        Some(node) => {
            if node.stake < params.min_stake {
                return Err(ProviderError::BondedStakeTooLow {
                    address,
                    stake: node.stake,
                    min: params.min_stake,
                    short: params.min_stake - node.stake,
                });
            }
            if !differs(&node, config, endpoint) {
                tracing::info!(%address, %endpoint, "node registration is current");
                return Ok(());
            }
            Payload::UpdateNode {
                endpoint: endpoint.into(),
                hardware: config.hardware.clone(),
                models: config.models.clone(),
                prices: config.prices.clone(),
            }
        }
    };
    let kind = payload.kind();
    let tx = Transaction {
        signer: config.key.public(),
        nonce: account.next_nonce,
        fee,
        payload,
    }
    .sign(&config.key, &Namespaces::new(chain_id));
    let hash = tx.tx.hash();
    let not_applied = |code: String, message: String| ProviderError::TxNotApplied {
        kind,
        hash,
        code,
        message,
    };
    match client.submit(&tx) {
        Ok(_) => {}
        Err(ClientError::Api { code, message, .. }) => return Err(not_applied(code, message)),
        Err(e) => return Err(ledger_error(url, kind, e)),
    }
    let outcome = client
        .wait_tx(&hash, REGISTRATION_TIMEOUT)
        .map_err(|e| ledger_error(url, kind, e))?;
    match outcome.status {
        TxStatus::Applied => {
            tracing::info!(%address, %endpoint, %hash, kind, "node registration applied");
            Ok(())
        }
        TxStatus::Failed { code, message } | TxStatus::Rejected { code, message } => {
            Err(not_applied(code, message))
        }
    }
}
