//! The gateway against a real chain: one validator (consensus, redb, HTTP API) running in this
//! process, models and nodes registered with real signed transactions, and test provider nodes
//! that sign real receipts with their registered keys — one well-behaved, the others each
//! failing in one way (overloaded, closed port, slow, wrong output hash, wrong signing key,
//! overcharging, refusing the input).
//!
//! Every test uses its own accounts and model on the shared chain, and its own gateway.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use verity_api::{
    ApiError, CallInput, CallOutput, CallRequest, CallResponse, ExecPath, InferRequest,
    InferResponse, OutputValues, Quote, SignedTicket,
};
use verity_client::Client;
use verity_gateway::{GatewayConfig, GatewayHandle};
use verity_ledger::{
    Address, Amount, DType, Genesis, GenesisAccount, GenesisValidator, HardwareProfile, Hash32,
    InputSpec, Keypair, Mode, ModePrice, ModelId, Namespaces, PaidCall, Params, Payload, Receipt,
    Ticket, Transaction, TxStatus, state::CallStatus,
};
use verity_node::{Home, NodeSettings, home::write_home};

const CHAIN_ID: &str = "gateway-test";
const FUNDS: Amount = 1_000_000_000_000;
const MIN_STAKE: Amount = 1_000_000;
const ROYALTY_BPS: u16 = 1_000;
/// Accounts `100·t + i` (t = 1..=TESTS, i < 20) are funded at genesis; test `t` uses its own.
const TESTS: u64 = 8;

fn params() -> Params {
    Params {
        challenge_window_ms: 2_000,
        min_stake: MIN_STAKE,
        ..Params::default()
    }
}

fn key(seed: u64) -> Keypair {
    Keypair::from_seed(seed)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Run blocking ledger work from an async test.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

// ---------------------------------------------------------------------------------------------
// The chain

struct Chain {
    url: String,
    _dir: tempfile::TempDir,
}

/// The shared validator, started on first use.
fn chain() -> &'static Chain {
    static CHAIN: OnceLock<Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let validator = key(1_000_000);
        let p2p = free_addr();
        let genesis = Genesis {
            chain_id: CHAIN_ID.into(),
            genesis_time_ms: now_ms(),
            params: params(),
            accounts: (1..=TESTS)
                .flat_map(|t| (0..20).map(move |i| 100 * t + i))
                .map(|seed| GenesisAccount {
                    address: key(seed).address(),
                    balance: FUNDS,
                })
                .collect(),
            validators: vec![GenesisValidator {
                public_key: validator.public(),
                p2p: p2p.to_string(),
                stake: 0,
            }],
        };
        let settings = NodeSettings {
            api: "127.0.0.1:0".parse().unwrap(),
            p2p,
            block_interval_ms: 50,
        };
        write_home(dir.path(), &genesis, &settings, &validator).unwrap();
        let home = Home::load(dir.path()).unwrap();
        let (ready, api) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Err(e) = verity_node::run_validator(home, move |addr, _| {
                let _ = ready.send(addr);
            }) {
                eprintln!("validator stopped: {e:#}");
            }
        });
        let api = api
            .recv_timeout(Duration::from_secs(60))
            .expect("the validator starts");
        let url = format!("http://{api}");
        let client = Client::new(&url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !client.status().is_ok_and(|s| s.height >= 1) {
            assert!(Instant::now() < deadline, "the chain makes no blocks");
            std::thread::sleep(Duration::from_millis(50));
        }
        Chain { url, _dir: dir }
    })
}

fn ledger() -> Client {
    Client::new(&chain().url)
}

/// Sign and submit `payload` from `signer`; its hash.
fn send(signer: &Keypair, payload: Payload) -> Hash32 {
    let client = ledger();
    let nonce = client.account(&signer.address()).unwrap().next_nonce;
    let fee = params().required_fee(payload.call_count());
    let tx = Transaction {
        signer: signer.public(),
        nonce,
        fee,
        payload,
    }
    .sign(signer, &Namespaces::new(CHAIN_ID));
    client
        .submit(&tx)
        .unwrap_or_else(|e| panic!("submit: {e}"))
        .hash
}

/// Submit every transaction, then wait until all are applied.
fn apply(txs: Vec<(&Keypair, Payload)>) -> Vec<verity_ledger::TxOutcome> {
    let hashes: Vec<Hash32> = txs.into_iter().map(|(k, p)| send(k, p)).collect();
    hashes
        .iter()
        .map(|h| {
            let outcome = ledger().wait_tx(h, Duration::from_secs(30)).unwrap();
            assert_eq!(outcome.status, TxStatus::Applied, "{outcome:?}");
            outcome
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Provider nodes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Serves and signs a correct receipt.
    Good,
    /// 503 with an `ApiError`.
    Overloaded,
    /// 422 `input_shape`: the caller's input is wrong.
    Refuses,
    /// Receipt over a different output than the one returned.
    WrongOutput,
    /// Receipt signed by a key other than the registered one.
    WrongKey,
    /// Receipt charging one more than the ticket's cap.
    Overcharges,
    /// Answers after three seconds.
    Slow,
    /// Nothing listens at its endpoint.
    Closed,
}

#[derive(Clone)]
struct Provider {
    key: Keypair,
    behaviour: Behaviour,
    price: Amount,
    hits: Arc<AtomicUsize>,
    served: Arc<Mutex<Vec<PaidCall>>>,
}

async fn infer(State(p): State<Provider>, Json(req): Json<InferRequest>) -> Response {
    p.hits.fetch_add(1, Ordering::SeqCst);
    let refuse = |status: StatusCode, code: &str| {
        let error = ApiError {
            code: code.into(),
            message: format!("test node says {code}"),
        };
        (status, Json(error)).into_response()
    };
    match p.behaviour {
        Behaviour::Overloaded => return refuse(StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
        Behaviour::Refuses => return refuse(StatusCode::UNPROCESSABLE_ENTITY, "input_shape"),
        Behaviour::Slow => tokio::time::sleep(Duration::from_secs(3)).await,
        _ => {}
    }
    let values: Vec<f32> = match &req.input {
        CallInput::Tensor { values } => values.iter().map(|v| v * 2.0).collect(),
        _ => Vec::new(),
    };
    let output = CallOutput {
        path: ExecPath::Float,
        shape: vec![1, values.len() as u32],
        values: OutputValues::F32 { values },
    };
    let receipt = Receipt {
        ticket: req.ticket.id(),
        output_hash: if p.behaviour == Behaviour::WrongOutput {
            Hash32([9; 32])
        } else {
            output.hash()
        },
        price: if p.behaviour == Behaviour::Overcharges {
            req.ticket.price_cap + 1
        } else {
            p.price
        },
        time_ms: now_ms(),
    };
    let signer = if p.behaviour == Behaviour::WrongKey {
        key(999_999)
    } else {
        p.key.clone()
    };
    let receipt_signature = receipt.sign(&signer, &Namespaces::new(CHAIN_ID));
    if p.behaviour == Behaviour::Good {
        p.served.lock().unwrap().push(PaidCall {
            ticket: req.ticket.clone(),
            ticket_signature: req.ticket_signature,
            receipt: receipt.clone(),
            receipt_signature,
        });
    }
    Json(InferResponse {
        call_id: req.ticket.id(),
        node: p.key.address(),
        label: output.argmax().map(|i| i as u32),
        output,
        receipt,
        receipt_signature,
        compute_us: 1,
    })
    .into_response()
}

/// Start `provider`'s HTTP server (or, for `Closed`, find a port nobody listens on); its URL.
async fn spawn_provider(provider: Provider) -> String {
    if provider.behaviour == Behaviour::Closed {
        return format!("http://{}", free_addr());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/v1/infer", post(infer))
        .with_state(provider);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// A market: one model, its owner, a caller with escrow, and nodes

struct NodeSpec {
    behaviour: Behaviour,
    prices: Vec<(Mode, Amount)>,
}

/// A node charging `price` for `signed` and `price + 200` for `audited`.
fn node(behaviour: Behaviour, price: Amount) -> NodeSpec {
    NodeSpec {
        behaviour,
        prices: vec![(Mode::Signed, price), (Mode::Audited, price + 200)],
    }
}

struct TestNode {
    key: Keypair,
    provider: Provider,
}

impl TestNode {
    fn address(&self) -> Address {
        self.key.address()
    }
    fn hits(&self) -> usize {
        self.provider.hits.load(Ordering::SeqCst)
    }
}

struct Market {
    caller: Keypair,
    model: ModelId,
    nodes: Vec<TestNode>,
}

/// Register test `t`'s model (signed, audited and tee allowed; royalty 10 %), its nodes, and
/// the caller's escrow, all on the ledger.
async fn market(t: u64, specs: Vec<NodeSpec>) -> Market {
    let base = 100 * t;
    let (owner, caller) = (key(base), key(base + 1));
    let model = Hash32([t as u8; 32]);
    let mut nodes = Vec::new();
    let mut registrations = Vec::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let k = key(base + 2 + i as u64);
        let provider = Provider {
            key: k.clone(),
            behaviour: spec.behaviour,
            price: spec.prices[0].1,
            hits: Arc::default(),
            served: Arc::default(),
        };
        let endpoint = spawn_provider(provider.clone()).await;
        registrations.push(Payload::RegisterNode {
            endpoint,
            hardware: HardwareProfile {
                gpu: "cpu".into(),
                watts: 65,
                cost_usd_cents: 0,
                capacity: 50,
            },
            models: vec![model],
            prices: spec
                .prices
                .iter()
                .map(|&(mode, price)| ModePrice { mode, price })
                .collect(),
            stake: MIN_STAKE,
        });
        nodes.push(TestNode { key: k, provider });
    }
    blocking(|| {
        apply(vec![
            (
                &owner,
                Payload::RegisterModel {
                    model,
                    name: format!("test-model-{t}"),
                    royalty_bps: ROYALTY_BPS,
                    input: InputSpec {
                        shape: vec![1, 3],
                        dtype: DType::F32,
                    },
                    modes: vec![Mode::Signed, Mode::Audited, Mode::Tee],
                },
            ),
            (
                &caller,
                Payload::EscrowDeposit {
                    amount: 1_000_000_000,
                },
            ),
        ]);
        apply(nodes.iter().map(|n| &n.key).zip(registrations).collect());
    });
    Market {
        caller,
        model,
        nodes,
    }
}

fn input() -> CallInput {
    CallInput::tensor(vec![1.0, 2.0, 3.0])
}

fn ticket(m: &Market, node: Address, cap: Amount, nonce: u64, input: &CallInput) -> SignedTicket {
    let ticket = Ticket {
        caller: m.caller.address(),
        model: m.model,
        node,
        input_hash: input.hash().unwrap(),
        mode: Mode::Signed,
        price_cap: cap,
        nonce,
        expiry_ms: now_ms() + 60_000,
    };
    SignedTicket {
        signature: ticket.sign(&m.caller, &Namespaces::new(CHAIN_ID)),
        ticket,
    }
}

/// A call with one ticket per node, in order, all with nonce `nonce`.
fn call_request(m: &Market, nodes: &[Address], cap: Amount, nonce: u64) -> CallRequest {
    let input = input();
    CallRequest {
        caller_key: m.caller.public(),
        tickets: nodes
            .iter()
            .map(|&n| ticket(m, n, cap, nonce, &input))
            .collect(),
        input,
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway and HTTP helpers

async fn gateway(tweak: impl FnOnce(&mut GatewayConfig)) -> GatewayHandle {
    let mut config = GatewayConfig::new(chain().url.clone());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.refresh_interval = Duration::from_millis(200);
    config.node_timeout = Duration::from_secs(2);
    config.seed = Some(1);
    tweak(&mut config);
    verity_gateway::start(config).await.unwrap()
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(url: &str) -> (u16, Value) {
    answer(reqwest::get(url).await.unwrap()).await
}

async fn post_bytes(url: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn post_call(g: &GatewayHandle, request: &CallRequest) -> (u16, Value) {
    let url = format!("{}/v1/call", g.url());
    post_bytes(&url, serde_json::to_vec(request).unwrap()).await
}

fn code(body: &Value) -> &str {
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {body}"))
}

async fn metric_lines(g: &GatewayHandle) -> String {
    reqwest::get(format!("{}/metrics", g.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_list_eligible_nodes_by_the_router_and_itemize_prices() {
    let m = market(
        1,
        vec![
            node(Behaviour::Good, 300), // a
            node(Behaviour::Good, 100), // b
            node(Behaviour::Good, 200), // c
            node(Behaviour::Good, 100), // d: ties with b
            node(Behaviour::Good, 50),  // e: unbonds below the minimum
            NodeSpec {
                behaviour: Behaviour::Good, // f: audited only
                prices: vec![(Mode::Audited, 70)],
            },
        ],
    )
    .await;
    let [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5].map(|i| m.nodes[i].address());
    blocking(|| apply(vec![(&m.nodes[4].key, Payload::Unbond { amount: 1 })]));
    let g = gateway(|_| {}).await;
    let quote_url = |q: &str| format!("{}/v1/quote?model={}&{q}", g.url(), m.model);

    let (status, body) = get(&quote_url("mode=signed")).await;
    assert_eq!(status, 200, "{body}");
    let quote: Quote = serde_json::from_value(body).unwrap();
    assert_eq!(quote.royalty_bps, ROYALTY_BPS);
    assert_eq!(
        quote.max_ticket_lifetime_ms,
        params().max_ticket_lifetime_ms
    );
    assert!(quote.chain_time_ms > 0);
    let order: Vec<Address> = quote.candidates.iter().map(|q| q.node).collect();
    assert_eq!(order.len(), 3, "max_candidates");
    assert!(
        !order.contains(&e),
        "e is below the minimum stake: {order:?}"
    );
    for q in &quote.candidates {
        let p = q.price;
        assert_eq!(p.node + p.royalty + p.verifier + p.protocol, p.price);
        assert_eq!(p.royalty, p.price * u64::from(ROYALTY_BPS) / 10_000);
        assert_eq!(p.verifier, p.price * 200 / 10_000);
        assert_eq!(p.protocol, p.price * 500 / 10_000);
        assert_eq!(p.mode_surcharge, 0);
    }

    // Every node is new, so all four eligible ones share the traffic by capacity (equal here):
    // each is quoted first sometimes, and never e.
    let mut firsts = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (_, body) = get(&quote_url("mode=signed")).await;
        firsts.insert(body["candidates"][0]["node"].as_str().unwrap().to_string());
    }
    assert_eq!(
        firsts,
        std::collections::BTreeSet::from([a, b, c, d].map(|n| n.to_string()))
    );

    // The published exposure: e ineligible (stake), the others on probation with a quarter each.
    let (status, body) = get(&format!(
        "{}/v1/models/{}/exposure?mode=signed",
        g.url(),
        m.model
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let exposure: verity_api::ExposureView = serde_json::from_value(body).unwrap();
    assert!(!exposure.canaries);
    assert_eq!(exposure.params.canaries_required, 0);
    assert_eq!(exposure.params.min_stake, u128::from(MIN_STAKE));
    assert_eq!(exposure.nodes.len(), 5, "f has no signed price");
    let total: f64 = exposure.nodes.iter().map(|n| n.share).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    for n in &exposure.nodes {
        if n.node == e {
            assert_eq!(
                n.standing,
                verity_router::Standing::Ineligible {
                    reason: verity_router::Ineligibility::StakeBelowMinimum
                }
            );
            assert_eq!(n.share, 0.0);
        } else {
            assert_eq!(n.standing, verity_router::Standing::Probation);
            assert!((n.share - 0.25).abs() < 1e-9, "{n:?}");
        }
    }
    let (status, body) = get(&format!(
        "{}/v1/models/{}/exposure?mode=bogus",
        g.url(),
        m.model
    ))
    .await;
    assert_eq!((status, code(&body)), (400, "invalid_parameter"), "{body}");
    for (url, status, expected) in [
        (
            format!("{}/v1/models/not-a-model/exposure", g.url()),
            400,
            "invalid_parameter",
        ),
        (
            format!("{}/v1/models/{}/exposure", g.url(), Hash32([0xee; 32])),
            404,
            "unknown_model",
        ),
        (
            format!("{}/v1/models/{}/exposure?mode=zk", g.url(), m.model),
            400,
            "mode_not_supported",
        ),
        (
            format!("{}/v1/models/{}/exposure?max_price=lots", g.url(), m.model),
            400,
            "invalid_parameter",
        ),
    ] {
        let (got, body) = get(&url).await;
        assert_eq!((got, code(&body)), (status, expected), "{url}: {body}");
    }

    // Audited: f has no signed price, so no surcharge; the others charge 200 more.
    let (_, body) = get(&quote_url("mode=audited")).await;
    let quote: Quote = serde_json::from_value(body).unwrap();
    for q in &quote.candidates {
        let surcharge = if q.node == f { 0 } else { 200 };
        assert_eq!(q.price.mode_surcharge, surcharge, "{q:?}");
    }

    let (_, body) = get(&quote_url("mode=signed&max_price=150")).await;
    let quote: Quote = serde_json::from_value(body).unwrap();
    assert_eq!(quote.candidates.len(), 2);
    assert!(quote.candidates.iter().all(|q| q.price.price == 100));

    let cases = [
        (
            quote_url("mode=signed&max_price=99"),
            400,
            "price_cap_below_quote",
        ),
        (quote_url("mode=tee"), 503, "no_nodes"),
        (quote_url("mode=zk"), 400, "mode_not_supported"),
        (quote_url("mode=bogus"), 400, "invalid_parameter"),
        (
            quote_url("mode=signed&max_price=lots"),
            400,
            "invalid_parameter",
        ),
        (
            format!("{}/v1/quote?mode=signed", g.url()),
            400,
            "missing_parameter",
        ),
        (
            format!(
                "{}/v1/quote?model={}&mode=signed",
                g.url(),
                Hash32([0xee; 32])
            ),
            404,
            "unknown_model",
        ),
    ];
    for (url, status, expected) in cases {
        let (got, body) = get(&url).await;
        assert_eq!((got, code(&body)), (status, expected), "{url}: {body}");
    }
    let (_, body) = get(&quote_url("mode=signed&max_price=99")).await;
    assert!(body["message"].as_str().unwrap().contains("100"), "{body}");
    let (_, body) = get(&quote_url("mode=tee")).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("verity node run")
    );

    let (status, models) = get(&format!("{}/v1/models", g.url())).await;
    assert_eq!(status, 200);
    let ours = models
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == json!(m.model.to_string()))
        .unwrap();
    assert_eq!(
        ours["modes"],
        json!([
            {"mode": "signed", "nodes": 4, "min_price": 100, "max_price": 300},
            {"mode": "audited", "nodes": 5, "min_price": 70, "max_price": 500},
            {"mode": "tee", "nodes": 0, "min_price": null, "max_price": null},
        ])
    );

    let (status, health) = get(&format!("{}/health", g.url())).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["ledger_reachable"], true);
    assert_eq!(health["chain_id"], CHAIN_ID);
    assert!(health["nodes_known"].as_u64().unwrap() >= 6);
    assert!(health["last_refresh_age_ms"].as_u64().unwrap() < 5_000);
    assert!(
        metric_lines(&g)
            .await
            .lines()
            .any(|l| l == "verity_gateway_quotes_total 23")
    );
    g.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_skips_failing_nodes_checks_receipts_and_settles() {
    let m = market(
        2,
        vec![
            node(Behaviour::Closed, 100),
            node(Behaviour::Overloaded, 110),
            node(Behaviour::WrongOutput, 120),
            node(Behaviour::WrongKey, 130),
            node(Behaviour::Overcharges, 150),
            node(Behaviour::Good, 10_000), // above the cap: skipped without contact
            node(Behaviour::Good, 400),
        ],
    )
    .await;
    let addrs: Vec<Address> = m.nodes.iter().map(TestNode::address).collect();
    let unknown = key(123_456).address();
    let g = gateway(|c| c.max_candidates = 5).await;

    let mut order = vec![unknown];
    order.extend(&addrs);
    let request = call_request(&m, &order, 5_000, 1);
    let (status, body) = post_call(&g, &request).await;
    assert_eq!(status, 200, "{body}");
    let response: CallResponse = serde_json::from_value(body).unwrap();
    let good = &m.nodes[6];
    assert_eq!(response.result.node, good.address());
    assert_eq!(response.result.output.as_f32(), vec![2.0, 4.0, 6.0]);
    let codes: Vec<(Address, &str)> = response
        .failed_attempts
        .iter()
        .map(|a| (a.node, a.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (unknown, "unknown_node"),
            (addrs[0], "node_unavailable"),
            (addrs[1], "node_unavailable"),
            (addrs[2], "bad_receipt"),
            (addrs[3], "bad_receipt"),
            (addrs[4], "bad_receipt"),
            (addrs[5], "price_above_cap"),
        ]
    );
    assert!(response.failed_attempts[3].message.contains("output"));
    assert!(response.failed_attempts[4].message.contains("signature"));
    assert!(response.failed_attempts[5].message.contains("cap"));
    assert_eq!(
        m.nodes[5].hits(),
        0,
        "a node priced above the cap is not contacted"
    );
    let p = response.price;
    assert_eq!(
        (p.price, p.royalty, p.verifier, p.protocol, p.node),
        (400, 40, 8, 20, 332)
    );
    let call_id = request.tickets[7].ticket.id();
    assert_eq!(response.result.call_id, call_id);
    assert_eq!(
        response.status_url,
        format!("{}/v1/calls/{call_id}", g.url())
    );

    let metrics = metric_lines(&g).await;
    for line in [
        "verity_gateway_calls_total{result=\"ok\"} 1".to_string(),
        "verity_gateway_retries_total 7".to_string(),
        format!(
            "verity_gateway_node_failures_total{{node=\"{}\",code=\"bad_receipt\"}} 1",
            addrs[3]
        ),
        format!(
            "verity_gateway_node_failures_total{{node=\"{}\",code=\"node_unavailable\"}} 1",
            addrs[1]
        ),
        "verity_gateway_upstream_latency_seconds_count 6".to_string(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line}:\n{metrics}"
        );
    }

    // The nodes that just failed cool down: the good ones are quoted first.
    let (_, body) = get(&format!(
        "{}/v1/quote?model={}&mode=signed",
        g.url(),
        m.model
    ))
    .await;
    let quote: Quote = serde_json::from_value(body).unwrap();
    let quoted: Vec<Address> = quote.candidates.iter().map(|q| q.node).collect();
    let mut first_two = quoted[..2].to_vec();
    first_two.sort();
    let mut good_ones = vec![addrs[5], addrs[6]];
    good_ones.sort();
    assert_eq!(first_two, good_ones, "{quoted:?}");
    assert!(addrs[..5].contains(&quoted[2]), "{quoted:?}");

    // Settlement, as the gateway reports it.
    let (status, body) = get(&response.status_url).await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("awaiting_submission"))
    );
    let served = good.provider.served.lock().unwrap().clone();
    assert_eq!(served.len(), 1);
    let outcome =
        blocking(|| apply(vec![(&good.key, Payload::SubmitReceipts { calls: served })]).remove(0));
    assert_eq!(outcome.calls[0].refused, None, "{outcome:?}");
    let (_, body) = get(&response.status_url).await;
    assert_eq!(body["state"], "pending", "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let settled = loop {
        let (_, body) = get(&response.status_url).await;
        if body["state"] == "settled" {
            break body;
        }
        assert!(Instant::now() < deadline, "not settled: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let call: verity_ledger::state::Call = serde_json::from_value(settled["call"].clone()).unwrap();
    assert!(matches!(call.status, CallStatus::Settled { .. }));
    let split = call.split.unwrap();
    assert_eq!(
        (split.node, split.royalty, split.verifier, split.protocol),
        (p.node, p.royalty, p.verifier, p.protocol),
        "the quoted itemization is what settlement paid"
    );
    g.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refusal_goes_back_to_the_caller_without_retry() {
    let m = market(
        3,
        vec![node(Behaviour::Refuses, 100), node(Behaviour::Good, 100)],
    )
    .await;
    let g = gateway(|_| {}).await;
    let order = [m.nodes[0].address(), m.nodes[1].address()];
    let (status, body) = post_call(&g, &call_request(&m, &order, 1_000, 1)).await;
    assert_eq!((status, code(&body)), (422, "input_shape"), "{body}");
    assert_eq!(body["message"], "test node says input_shape");
    assert_eq!(m.nodes[0].hits(), 1);
    assert_eq!(m.nodes[1].hits(), 0, "no retry after a 4xx");
    let metrics = metric_lines(&g).await;
    assert!(metrics.contains("verity_gateway_calls_total{result=\"refused\"} 1"));
    assert!(metrics.contains("verity_gateway_retries_total 0"));
    g.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_node_fails_the_caller_gets_502_and_is_not_charged() {
    let m = market(
        4,
        vec![
            node(Behaviour::Overloaded, 100),
            node(Behaviour::Closed, 100),
            node(Behaviour::Slow, 100),
        ],
    )
    .await;
    let g = gateway(|c| c.node_timeout = Duration::from_millis(500)).await;
    let order: Vec<Address> = m.nodes.iter().map(TestNode::address).collect();
    let started = Instant::now();
    let (status, body) = post_call(&g, &call_request(&m, &order, 1_000, 1)).await;
    assert_eq!((status, code(&body)), (502, "all_nodes_failed"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the slow node timed out"
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("charged nothing"), "{message}");
    for a in &order {
        assert!(message.contains(&a.to_string()), "{message}");
    }
    assert!(message.contains("did not answer within"), "{message}");
    assert!(message.contains("HTTP 503"), "{message}");
    let metrics = metric_lines(&g).await;
    assert!(metrics.contains("verity_gateway_calls_total{result=\"all_nodes_failed\"} 1"));
    g.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_before_any_node_is_contacted() {
    let m = market(5, vec![node(Behaviour::Good, 100)]).await;
    let g = gateway(|c| c.max_body_bytes = 4_096).await;
    let good = m.nodes[0].address();
    let valid = call_request(&m, &[good], 1_000, 1);
    let ns = Namespaces::new(CHAIN_ID);

    let mut cases: Vec<(&str, CallRequest, u16, &str)> = Vec::new();
    let mut r = valid.clone();
    r.tickets.clear();
    cases.push(("no tickets", r, 400, "no_tickets"));
    let r = call_request(&m, &[good; 7], 1_000, 1);
    cases.push(("seven tickets", r, 400, "too_many_tickets"));
    let mut r = call_request(&m, &[good, good], 1_000, 1);
    r.tickets[1] = ticket(&m, good, 1_000, 2, &input());
    cases.push(("two nonces", r, 400, "mixed_tickets"));
    let mut r = valid.clone();
    r.caller_key = key(42).public();
    cases.push(("someone else's key", r, 400, "caller_key_mismatch"));
    let mut r = valid.clone();
    r.input = CallInput::tensor(vec![9.0, 9.0, 9.0]);
    cases.push(("other input", r, 400, "input_hash_mismatch"));
    let mut r = valid.clone();
    r.input = CallInput::TensorF32le {
        base64: "***".into(),
    };
    cases.push(("undecodable input", r, 400, "invalid_input"));
    let mut r = valid.clone();
    r.tickets[0].signature.0[0] ^= 1;
    cases.push(("bad signature", r, 400, "bad_ticket_signature"));
    for (model, mode, status, expected) in [
        (Hash32([0xee; 32]), Mode::Signed, 404, "unknown_model"),
        (m.model, Mode::Zk, 400, "mode_not_supported"),
    ] {
        let mut r = valid.clone();
        r.tickets[0].ticket.model = model;
        r.tickets[0].ticket.mode = mode;
        r.tickets[0].signature = r.tickets[0].ticket.sign(&m.caller, &ns);
        cases.push((expected, r, status, expected));
    }
    for (what, request, status, expected) in cases {
        let (got, body) = post_call(&g, &request).await;
        assert_eq!((got, code(&body)), (status, expected), "{what}: {body}");
    }

    let call_url = format!("{}/v1/call", g.url());
    let (status, body) = post_bytes(&call_url, b"{not json".to_vec()).await;
    assert_eq!((status, code(&body)), (400, "malformed_body"));
    let (status, body) = post_bytes(&call_url, br#"{"caller_key": 5}"#.to_vec()).await;
    assert_eq!((status, code(&body)), (400, "malformed_body"));
    assert!(
        body["message"].as_str().unwrap().contains("invalid type"),
        "{body}"
    );
    let mut big = valid.clone();
    big.input = CallInput::tensor(vec![0.5; 2_000]);
    let (status, body) = post_call(&g, &big).await;
    assert_eq!((status, code(&body)), (413, "body_too_large"), "{body}");
    let (status, body) = get(&format!("{}/v1/nope", g.url())).await;
    assert_eq!((status, code(&body)), (404, "no_such_route"));
    let (status, body) = get(&call_url).await;
    assert_eq!((status, code(&body)), (405, "method_not_allowed"));
    let (status, body) = get(&format!("{}/v1/calls/zz", g.url())).await;
    assert_eq!((status, code(&body)), (400, "invalid_parameter"));

    assert_eq!(m.nodes[0].hits(), 0, "no refused request reached a node");
    let (status, body) = post_call(&g, &valid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(m.nodes[0].hits(), 1);
    let metrics = metric_lines(&g).await;
    assert!(
        metrics.contains("verity_gateway_calls_total{result=\"invalid\"} 9"),
        "{metrics}"
    );
    g.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_ledger_the_gateway_reports_unavailable_and_still_shuts_down() {
    let listen = free_addr();
    let mut config = GatewayConfig::new(format!("http://{}", free_addr()));
    config.listen = listen;
    config.refresh_interval = Duration::from_millis(100);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(verity_gateway::serve(config, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, health) = loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await {
            break answer(r).await;
        }
        assert!(Instant::now() < deadline, "the gateway does not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["ledger_reachable"], false);
    assert!(
        health["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot reach")
    );
    let (status, body) = get(&format!(
        "{base}/v1/quote?model={}&mode=signed",
        Hash32([1; 32])
    ))
    .await;
    assert_eq!((status, code(&body)), (503, "ledger_unavailable"));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(reqwest::get(format!("{base}/health")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_nodes_that_pass_a_canary_are_quoted() {
    let m = market(
        7,
        vec![
            node(Behaviour::Good, 100),
            node(Behaviour::WrongOutput, 100),
            node(Behaviour::Closed, 100),
        ],
    )
    .await;
    let [good, wrong, closed] = [0, 1, 2].map(|i| m.nodes[i].address());
    let canary_key = m.caller.clone();
    let g = gateway(move |c| {
        c.canary = Some(verity_gateway::CanaryConfig {
            key: canary_key,
            interval: Duration::from_millis(200),
            recheck: Duration::from_secs(600),
        });
    })
    .await;
    let exposure_url = format!("{}/v1/models/{}/exposure?mode=signed", g.url(), m.model);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exposure = loop {
        let (status, body) = get(&exposure_url).await;
        assert_eq!(status, 200, "{body}");
        let view: verity_api::ExposureView = serde_json::from_value(body).unwrap();
        let decided = view
            .nodes
            .iter()
            .filter(|n| n.node != closed)
            .all(|n| n.evidence.canaries_passed + n.evidence.canaries_failed > 0);
        if decided {
            break view;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no canary verdicts: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    use verity_router::{Ineligibility, Standing};
    let standing = |n: Address| {
        exposure
            .nodes
            .iter()
            .find(|x| x.node == n)
            .map(|x| (x.standing, x.share))
            .unwrap()
    };
    assert!(exposure.canaries);
    assert_eq!(exposure.params.canaries_required, 1);
    assert_eq!(standing(good), (Standing::Probation, 1.0));
    assert_eq!(
        standing(wrong),
        (
            Standing::Ineligible {
                reason: Ineligibility::CanaryFailed
            },
            0.0
        )
    );
    assert_eq!(
        standing(closed),
        (
            Standing::Ineligible {
                reason: Ineligibility::CanariesPending
            },
            0.0
        )
    );
    let (status, body) = get(&format!(
        "{}/v1/quote?model={}&mode=signed",
        g.url(),
        m.model
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let quote: Quote = serde_json::from_value(body).unwrap();
    let quoted: Vec<Address> = quote.candidates.iter().map(|c| c.node).collect();
    assert_eq!(quoted, vec![good]);
    // The canary was an ordinary paid call: the good node holds its receipt.
    assert!(m.nodes[0].hits() >= 1 && m.nodes[1].hits() >= 1);
    g.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_renders_the_ledger_escaped_and_names_bad_requests() {
    let m = market(8, vec![node(Behaviour::Good, 700)]).await;
    let owner = key(800);
    let nasty = Hash32([0xe8; 32]);
    blocking(|| {
        apply(vec![(
            &owner,
            Payload::RegisterModel {
                model: nasty,
                name: r#"<script>alert("x")</script>"#.into(),
                royalty_bps: 100,
                input: InputSpec {
                    shape: vec![1, 3],
                    dtype: DType::F32,
                },
                modes: vec![Mode::Signed],
            },
        )])
    });
    let g = gateway(|_| {}).await;
    let text = |url: String| async move {
        let r = reqwest::get(&url).await.unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, content_type, r.text().await.unwrap())
    };
    let base = format!("{}/explorer", g.url());
    let deadline = Instant::now() + Duration::from_secs(10);
    let models = loop {
        let (status, content_type, body) = text(format!("{base}/models")).await;
        assert_eq!(status, 200, "{body}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        if body.contains(&format!("/explorer/models/{nasty}")) {
            break body;
        }
        assert!(Instant::now() < deadline, "the model never showed:\n{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(models.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(!models.contains("<script>alert"));
    assert!(models.contains(&format!("/explorer/models/{}", m.model)));

    let node = m.nodes[0].address();
    let (status, _, page) = text(format!("{base}/nodes/{node}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"<section id="earnings">"#));
    assert!(page.contains(&format!(
        r#"<span data-live="stake:{node}">1,000,000</span>"#
    )));
    assert!(page.contains("signed: 700"), "{page}");
    let (status, _, page) = text(format!("{base}/nodes")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/explorer/nodes/{node}")));

    let (status, _, page) = text(format!("{base}/models/{nasty}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<h1>Model &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1>"));
    assert!(page.contains("signed: no node"), "{page}");

    let live: Value = reqwest::get(format!("{base}/live.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["values"][format!("stake:{node}")], "1,000,000");
    assert_eq!(live["values"][format!("calls:{nasty}")], "0");
    assert_eq!(
        live["values"]["height"].as_str().unwrap(),
        live["height"].to_string()
    );

    let (status, _, page) = text(base.clone()).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-chart="calls-per-block""#));
    let (status, _, page) = text(format!("{base}/params")).await;
    assert_eq!(status, 200);
    for rule in &params().slashing.rules {
        assert!(page.contains(&rule.offence.to_string()), "{}", rule.offence);
    }
    let (status, _, page) = text(format!("{base}/blocks/1")).await;
    assert_eq!(status, 200, "{page}");

    let problems = [
        (
            "blocks/abc",
            400,
            "&#39;abc&#39; is not a valid block height",
        ),
        (
            "blocks/99999999",
            404,
            "there is no block at height 99999999",
        ),
        ("calls/xyz", 400, "&#39;xyz&#39; is not a valid call id"),
        ("nodes/verity1nope", 400, "is not a valid node address"),
        ("txs/12", 400, "is not a valid transaction hash"),
        ("nosuch", 404, "the explorer has no page /explorer/nosuch"),
    ];
    for (path, code, message) in problems {
        let (status, content_type, page) = text(format!("{base}/{path}")).await;
        assert_eq!(status, code, "{path}: {page}");
        assert!(content_type.starts_with("text/html"), "{path}");
        assert!(page.contains(message), "{path}: {page}");
    }
    let unknown_call = Hash32([0x5a; 32]);
    let (status, _, page) = text(format!("{base}/calls/{unknown_call}")).await;
    assert_eq!(status, 404);
    assert!(page.contains(&format!("the ledger has no call {unknown_call}")));
    let other = key(801).address();
    let (status, _, page) = text(format!("{base}/nodes/{other}")).await;
    assert_eq!(status, 404);
    assert!(page.contains(&format!("{other} is not a registered node")));
    g.shutdown().await.unwrap();
}
