//! A real single-validator ledger in this process, a published model, funded callers, and a
//! provider node on its own runtime, for the provider's end-to-end tests.
#![allow(dead_code)]

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::Value;
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    sync::{OnceLock, mpsc},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use verity_api::{CallInput, InferRequest};
use verity_client::Client;
use verity_ledger::{
    Address, Amount, DType, Genesis, GenesisAccount, GenesisValidator, Hash32, InputSpec, Keypair,
    Mode, ModePrice, ModelId, Namespaces, Params, Payload, Ticket, Transaction, TxStatus,
    crypto::sha256,
};
use verity_provider::{ProviderConfig, ProviderHandle};

pub const CHAIN_ID: &str = "provider-test";
/// Every account seed funded at genesis.
pub const FUNDED_SEEDS: std::ops::RangeInclusive<u64> = 1..=40;
pub const FUNDS: Amount = 1_000_000_000_000;
pub const MIN_STAKE: Amount = 1_000_000;
/// The price every test node charges for a signed call.
pub const PRICE: Amount = 100;
/// The key that publishes the models.
pub const PUBLISHER_SEED: u64 = 1;

pub fn params() -> Params {
    Params {
        challenge_window_ms: 1_500,
        unbonding_period_ms: 1_500,
        max_ticket_lifetime_ms: 600_000,
        escrow_unlock_ms: 600_000,
        min_stake: MIN_STAKE,
        ..Params::default()
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The URL of this test binary's validator, started on first use.
pub fn ledger_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let key = Keypair::from_seed(10_000);
        let p2p = format!("127.0.0.1:{}", free_port());
        let genesis = Genesis {
            chain_id: CHAIN_ID.into(),
            genesis_time_ms: now_ms(),
            params: params(),
            accounts: FUNDED_SEEDS
                .map(|s| GenesisAccount {
                    address: Keypair::from_seed(s).address(),
                    balance: FUNDS,
                })
                .collect(),
            validators: vec![GenesisValidator {
                public_key: key.public(),
                p2p: p2p.clone(),
                stake: 0,
            }],
        };
        let settings = verity_node::NodeSettings {
            api: "127.0.0.1:0".parse().unwrap(),
            p2p: p2p.parse().unwrap(),
            block_interval_ms: 100,
        };
        verity_node::home::write_home(&dir.join("validator"), &genesis, &settings, &key).unwrap();
        let home = verity_node::Home::load(&dir.join("validator")).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            verity_node::run_validator(home, move |addr, _| tx.send(addr).unwrap())
                .expect("validator runs")
        });
        let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let url = format!("http://{addr}");
        let client = Client::new(&url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !client.status().is_ok_and(|s| s.height >= 1) {
            assert!(Instant::now() < deadline, "the validator produced no block");
            std::thread::sleep(Duration::from_millis(50));
        }
        url
    })
}

pub fn client() -> Client {
    Client::new(ledger_url())
}

/// Sign and submit `payload` from `key`; wait until it applied.
pub fn transact(key: &Keypair, payload: Payload) {
    let client = client();
    let params = client.params().unwrap().params;
    let nonce = client.account(&key.address()).unwrap().next_nonce;
    let tx = Transaction {
        signer: key.public(),
        nonce,
        fee: params.required_fee(payload.call_count()),
        payload,
    }
    .sign(key, &Namespaces::new(CHAIN_ID));
    let submitted = client.submit(&tx).unwrap();
    let outcome = client
        .wait_tx(&submitted.hash, Duration::from_secs(30))
        .unwrap();
    assert_eq!(outcome.status, TxStatus::Applied, "{outcome:?}");
}

pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/digits")
}

pub fn mlp_bytes() -> Vec<u8> {
    std::fs::read(models_dir().join("mlp.onnx")).unwrap()
}

pub fn sample(label: u32) -> Vec<u8> {
    std::fs::read(models_dir().join(format!("samples/digit-{label}.png"))).unwrap()
}

/// The MLP digits model, registered once per test binary (every mode allowed).
pub fn mlp() -> ModelId {
    static ID: OnceLock<ModelId> = OnceLock::new();
    *ID.get_or_init(|| {
        let id = sha256(&[&mlp_bytes()]);
        transact(
            &Keypair::from_seed(PUBLISHER_SEED),
            Payload::RegisterModel {
                model: id,
                name: "digits-mlp".into(),
                royalty_bps: 1_000,
                input: InputSpec {
                    shape: vec![1, 1, 8, 8],
                    dtype: DType::F32,
                },
                modes: Mode::ALL.to_vec(),
            },
        );
        id
    })
}

/// A caller with `escrow` deposited.
pub fn caller(seed: u64, escrow: Amount) -> Keypair {
    let key = Keypair::from_seed(seed);
    transact(&key, Payload::EscrowDeposit { amount: escrow });
    key
}

pub fn escrow_of(address: &Address) -> Amount {
    client().account(address).unwrap().account.escrow
}

/// A provider configuration for node `seed` serving the MLP at [`PRICE`] in signed mode, its
/// model file already in the data directory's blob store.
pub fn config(seed: u64, data_dir: &Path) -> ProviderConfig {
    let blobs =
        verity_hub::BlobStore::open(data_dir.join(verity_provider::config::BLOBS_DIR)).unwrap();
    blobs.put(&mlp_bytes()).unwrap();
    let mut config = ProviderConfig::new(
        Keypair::from_seed(seed),
        ledger_url(),
        data_dir,
        vec![mlp()],
        vec![ModePrice {
            mode: Mode::Signed,
            price: PRICE,
        }],
        MIN_STAKE,
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.batch_interval = Duration::from_millis(200);
    config.workers = 2;
    config
}

/// A provider node on its own runtime; blocking calls from the test thread reach it.
pub struct Node {
    pub rt: tokio::runtime::Runtime,
    pub handle: Option<ProviderHandle>,
    pub url: String,
}

impl Node {
    pub fn start(config: ProviderConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.block_on(verity_provider::start(config)).unwrap();
        let url = format!("http://{}", handle.addr());
        Self {
            rt,
            handle: Some(handle),
            url,
        }
    }

    pub fn address(&self) -> Address {
        self.handle.as_ref().unwrap().address()
    }

    pub fn shutdown(mut self) -> verity_provider::ShutdownSummary {
        let handle = self.handle.take().unwrap();
        self.rt.block_on(handle.shutdown())
    }

    /// Stop without draining, as a crash would (the process survives).
    pub fn crash(mut self) {
        drop(self.handle.take());
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut response = agent().get(format!("{}{path}", self.url)).call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_vec().unwrap())
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let (status, bytes) = self.get_bytes(path);
        (status, String::from_utf8(bytes).unwrap())
    }

    pub fn health(&self) -> Value {
        serde_json::from_str(&self.get("/health").1).unwrap()
    }

    pub fn metrics(&self) -> String {
        self.get("/metrics").1
    }

    /// POST raw bytes to /v1/infer: status and JSON body.
    pub fn post_raw(&self, body: Vec<u8>) -> (u16, Value) {
        let mut response = agent()
            .post(format!("{}/v1/infer", self.url))
            .header("content-type", "application/json")
            .send(&body[..])
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn infer(&self, request: &InferRequest) -> (u16, Value) {
        self.post_raw(serde_json::to_vec(request).unwrap())
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A signed call of the MLP at `node` with `input`, cap [`PRICE`], expiring in five minutes.
pub fn request(caller: &Keypair, node: Address, input: CallInput, nonce: u64) -> InferRequest {
    let ticket = Ticket {
        caller: caller.address(),
        model: mlp(),
        node,
        input_hash: input.hash().unwrap(),
        mode: Mode::Signed,
        price_cap: PRICE,
        nonce,
        expiry_ms: now_ms() + 300_000,
    };
    signed(caller, ticket, input)
}

/// `ticket` signed by `caller`, with `input`.
pub fn signed(caller: &Keypair, ticket: Ticket, input: CallInput) -> InferRequest {
    InferRequest {
        ticket_signature: ticket.sign(caller, &Namespaces::new(CHAIN_ID)),
        ticket,
        caller_key: caller.public(),
        input,
    }
}

/// A tensor input as base64 little-endian bytes.
pub fn f32le(values: &[f32]) -> CallInput {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    CallInput::TensorF32le {
        base64: BASE64.encode(bytes),
    }
}

/// Poll until `f` holds, at most `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of the metric line starting with `series`, 0 when absent.
pub fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

pub fn call_id(request: &InferRequest) -> Hash32 {
    request.ticket.id()
}
