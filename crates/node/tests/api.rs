//! The HTTP API over a real store and application (blocks applied directly, without
//! consensus): answers, error codes, and the OpenAPI document's paths.

use axum::{
    body::{Body, to_bytes},
    http::{Request, StatusCode},
};
use commonware_cryptography::Digestible;
use serde_json::Value;
use tower::ServiceExt;
use verity_chain::{Application, Block, BlockLimits};
use verity_ledger::{
    Genesis, GenesisAccount, GenesisValidator, Keypair, Namespaces, Params, Payload, Transaction,
};
use verity_node::{ChainApp, api};

fn setup(dir: &std::path::Path) -> (ChainApp, Keypair) {
    let key = Keypair::from_seed(1);
    let genesis = Genesis {
        chain_id: "api-test".into(),
        genesis_time_ms: 1_000,
        params: Params::default(),
        accounts: vec![GenesisAccount {
            address: key.address(),
            balance: 1_000_000,
        }],
        validators: vec![GenesisValidator {
            public_key: Keypair::from_seed(2).public(),
            p2p: "127.0.0.1:1".into(),
            stake: 0,
        }],
    };
    let store = verity_storage::Store::open(&dir.join("ledger.redb")).unwrap();
    let limits = BlockLimits {
        max_txs: 100,
        max_bytes: 1 << 22,
    };
    (
        ChainApp::open(store, genesis, b"api-test", limits, Keypair::from_seed(2)).unwrap(),
        key,
    )
}

async fn call(app: &ChainApp, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = api::router(app.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn apply_next_block(app: &ChainApp, time_ms: u64) {
    let (height, root) = app.last_applied();
    let parent = Block::genesis(b"api-test", root).digest();
    let block = Block {
        parent,
        height: height + 1,
        timestamp_ms: time_ms,
        state_height: height,
        state_root: root,
        txs: app.payload(height + 1, 100, 1 << 22),
    };
    app.apply(&block, block.digest().0).unwrap();
}

#[tokio::test]
async fn submit_include_query_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (app, key) = setup(dir.path());
    let (status, body) = call(&app, "GET", "/v1/status", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["height"], 0);
    let (_, params) = call(&app, "GET", "/v1/params", "").await;
    assert_eq!(params["validators"][0]["stake"], 0);
    assert_eq!(params["validators"][0]["slashed"], false);

    let to = Keypair::from_seed(3).address();
    let tx = Transaction {
        signer: key.public(),
        nonce: 0,
        fee: 1_000,
        payload: Payload::Transfer { to, amount: 777 },
    }
    .sign(&key, &Namespaces::new("api-test"));
    let hex = hex::encode(tx.encode());
    let (status, body) = call(&app, "POST", "/v1/txs", &format!(r#"{{"tx":"{hex}"}}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let hash = body["hash"].as_str().unwrap().to_string();
    let (_, pending) = call(&app, "GET", &format!("/v1/txs/{hash}"), "").await;
    assert_eq!(pending["state"], "pending");
    let (_, account) = call(&app, "GET", &format!("/v1/accounts/{}", key.address()), "").await;
    assert_eq!(account["next_nonce"], 1, "counts the queued transaction");

    apply_next_block(&app, 2_000);
    let (_, included) = call(&app, "GET", &format!("/v1/txs/{hash}"), "").await;
    assert_eq!(included["state"], "included");
    assert_eq!(included["status"], "applied");
    let (_, account) = call(&app, "GET", &format!("/v1/accounts/{to}"), "").await;
    assert_eq!(account["balance"], 777);
    let (_, events) = call(&app, "GET", &format!("/v1/events?account={to}"), "").await;
    assert_eq!(events["items"][0]["type"], "Transferred");
    let (_, block) = call(&app, "GET", "/v1/blocks/1", "").await;
    assert_eq!(block["txs"][0], hash.as_str());

    // The same transaction again: its nonce is used.
    let (status, body) = call(&app, "POST", "/v1/txs", &format!(r#"{{"tx":"{hex}"}}"#)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_nonce"))
    );

    let cases = [
        (
            "POST",
            "/v1/txs",
            "{bad",
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            "POST",
            "/v1/txs",
            r#"{"tx":"zz"}"#,
            StatusCode::BAD_REQUEST,
            "tx_not_hex",
        ),
        (
            "POST",
            "/v1/txs",
            r#"{"tx":"0011"}"#,
            StatusCode::BAD_REQUEST,
            "malformed_tx",
        ),
        (
            "GET",
            "/v1/accounts/verity1nope",
            "",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "GET",
            "/v1/models/00",
            "",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "GET",
            &format!("/v1/models/{}", "ab".repeat(32)),
            "",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/v1/calls",
            "",
            StatusCode::BAD_REQUEST,
            "missing_parameter",
        ),
        (
            "GET",
            "/v1/events?after=1&before=2",
            "",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "GET",
            "/v1/blocks/99",
            "",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/v2/status",
            "",
            StatusCode::NOT_FOUND,
            "no_such_route",
        ),
    ];
    for (method, uri, body, want_status, want_code) in cases {
        let (status, answer) = call(&app, method, uri, body).await;
        assert_eq!(status, want_status, "{method} {uri}: {answer}");
        assert_eq!(answer["code"], want_code, "{method} {uri}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| m.len() > 10),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn every_documented_path_has_a_route() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = setup(dir.path());
    let doc: Value = serde_json::from_str(verity_api::OPENAPI).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri = path
            .replace("{hash}", &"00".repeat(32))
            .replace("{id}", &"00".repeat(32))
            .replace("{address}", &Keypair::from_seed(9).address().to_string())
            .replace("{height}", "0");
        let method = if item.get("post").is_some() {
            "POST"
        } else {
            "GET"
        };
        let (_, answer) = call(&app, method, &uri, "{}").await;
        assert_ne!(
            answer["code"], "no_such_route",
            "{path} is documented but not routed"
        );
    }
}
