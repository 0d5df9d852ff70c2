//! Serving calls against a real ledger: a paid call end to end, and every refusal.

mod support;

use std::{sync::Arc, time::Duration};
use support::*;
use verity_api::{CallInput, InferResponse};
use verity_ledger::{Hash32, Keypair, Mode, Namespaces, crypto, state::CallStatus};

#[test]
fn a_paid_call_is_answered_submitted_and_settled() {
    let dir = tempfile::tempdir().unwrap();
    // The model file comes from a hub, checked against its id before it is kept.
    let hub_dir = tempfile::tempdir().unwrap();
    let hub_store = Arc::new(verity_hub::BlobStore::open(hub_dir.path()).unwrap());
    hub_store.put(&mlp_bytes()).unwrap();
    let hub_rt = tokio::runtime::Runtime::new().unwrap();
    let hub_listener = hub_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let hub_url = format!("http://{}", hub_listener.local_addr().unwrap());
    hub_rt.spawn(async move {
        axum::serve(hub_listener, verity_hub::router::<()>(hub_store))
            .await
            .unwrap()
    });
    let mut config = config(2, dir.path());
    std::fs::remove_dir_all(dir.path().join("blobs")).unwrap();
    config.model_sources = vec![hub_url];
    let node = Node::start(config);
    assert!(dir.path().join("blobs").join(mlp().to_string()).is_file());
    let registered = client().node(&node.address()).unwrap();
    assert_eq!(registered.endpoint, node.url);
    assert_eq!(registered.models, vec![mlp()]);

    let caller = caller(3, 10_000);
    let request = request(&caller, node.address(), CallInput::image(&sample(3)), 1);
    let (status, body) = node.infer(&request);
    assert_eq!(status, 200, "{body}");
    let answer: InferResponse = serde_json::from_value(body).unwrap();
    assert_eq!(answer.label, Some(3));
    assert_eq!(answer.call_id, request.ticket.id());
    assert_eq!(answer.node, node.address());
    assert_eq!(answer.receipt.ticket, request.ticket.id());
    assert_eq!(answer.receipt.output_hash, answer.output.hash());
    assert_eq!(answer.receipt.price, PRICE);
    assert!(crypto::verify(
        &Keypair::from_seed(2).public(),
        &Namespaces::new(CHAIN_ID).receipt,
        &answer.receipt.signing_bytes(),
        &answer.receipt_signature,
    ));

    // Submitted within a batch interval or two, pending at the receipt's price, then settled.
    let ledger = client();
    wait_until(10, "the call on the ledger", || {
        ledger.call(&answer.call_id).is_ok()
    });
    let call = ledger.call(&answer.call_id).unwrap();
    assert_eq!(call.price, PRICE);
    assert_eq!(call.output_hash, answer.output.hash());
    assert_eq!(escrow_of(&caller.address()), 10_000 - PRICE);
    let settled = ledger
        .wait_settled(&answer.call_id, Duration::from_secs(20))
        .unwrap();
    assert!(matches!(settled.status, CallStatus::Settled { .. }));

    let health = node.health();
    assert_eq!(health["node"], node.address().to_string());
    assert_eq!(health["queue"], 0);
    assert_eq!(health["ledger_reachable"], true);
    assert_eq!(health["models"][0]["id"], mlp().to_string());
    assert!(health["models"][0]["serving_path"].is_string());
    assert_eq!(health["last_submission"]["accepted"], 1);
    let metrics = node.metrics();
    let model = mlp().to_string();
    assert_eq!(
        metric(
            &metrics,
            &format!("verity_node_calls_total{{model=\"{model}\",result=\"ok\"}}")
        ),
        1
    );
    assert_eq!(
        metric(&metrics, "verity_node_receipts_total{outcome=\"accepted\"}"),
        1
    );
    assert_eq!(
        metric(&metrics, "verity_node_earned_base_units_total"),
        PRICE
    );
    assert_eq!(
        metric(
            &metrics,
            &format!("verity_node_infer_seconds_count{{model=\"{model}\"}}")
        ),
        1
    );
    // Other nodes fetch the model from this one, found through the ledger.
    assert_eq!(
        node.get_bytes(&format!("/v1/blobs/{model}")),
        (200, mlp_bytes())
    );
    let other_dir = tempfile::tempdir().unwrap();
    let other = support::config(10, other_dir.path());
    std::fs::remove_dir_all(other_dir.path().join("blobs")).unwrap();
    let other = Node::start(other);
    assert!(other_dir.path().join("blobs").join(&model).is_file());
    other.shutdown();
    assert_eq!(node.shutdown().left_queued, 0);
}

#[test]
fn every_refusal_has_its_code_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(4, dir.path());
    config.limits.max_input_bytes = 4_096;
    let node = Node::start(config);
    let me = node.address();
    let payer = caller(5, 10_000);
    let poor = caller(6, PRICE - 1);
    let stranger = Keypair::from_seed(7);
    let now = now_ms();
    let image = CallInput::image(&sample(7));
    let good = |nonce| request(&payer, me, image.clone(), nonce);

    let mut cases: Vec<(&str, u16, Vec<u8>)> = vec![
        ("body_too_large", 413, vec![b' '; 100_000]),
        ("malformed_body", 400, b"{bad".to_vec()),
    ];
    let mut push = |code: &'static str, status: u16, r: verity_api::InferRequest| {
        cases.push((code, status, serde_json::to_vec(&r).unwrap()))
    };
    let mut r = good(1);
    r.caller_key = stranger.public();
    push("caller_key_mismatch", 400, r);
    let mut r = good(2);
    r.ticket_signature = r.ticket.sign(&stranger, &Namespaces::new(CHAIN_ID));
    push("bad_ticket_signature", 403, r);
    let mut r = good(3);
    r.ticket_signature = r.ticket.sign(&payer, &Namespaces::new("another-chain"));
    push("bad_ticket_signature", 403, r);
    let with = |nonce, edit: &dyn Fn(&mut verity_ledger::Ticket), input: CallInput| {
        let mut t = good(nonce).ticket;
        edit(&mut t);
        signed(&payer, t, input)
    };
    push(
        "wrong_node",
        400,
        with(4, &|t| t.node = stranger.address(), image.clone()),
    );
    push(
        "unknown_model",
        404,
        with(5, &|t| t.model = Hash32([9; 32]), image.clone()),
    );
    push(
        "mode_not_offered",
        400,
        with(6, &|t| t.mode = Mode::Zk, image.clone()),
    );
    push(
        "price_cap_below_price",
        400,
        with(7, &|t| t.price_cap = PRICE - 1, image.clone()),
    );
    push(
        "ticket_expired",
        400,
        with(8, &|t| t.expiry_ms = now - 1_000, image.clone()),
    );
    push(
        "ticket_expires_too_soon",
        400,
        with(9, &|t| t.expiry_ms = now + 2_000, image.clone()),
    );
    push(
        "ticket_lifetime_too_long",
        400,
        with(10, &|t| t.expiry_ms = now + 3_600_000, image.clone()),
    );
    push(
        "input_hash_mismatch",
        400,
        with(11, &|_| {}, CallInput::image(&sample(1))),
    );
    let bad_base64 = CallInput::Image {
        base64: "***".into(),
    };
    push("bad_encoding", 400, with(12, &|_| {}, bad_base64));
    push(
        "insufficient_escrow",
        402,
        request(&poor, me, image.clone(), 1),
    );
    // Refused by the model, after every ticket check passed.
    let input = CallInput::tensor(vec![0.5; 3]);
    push(
        "wrong_shape",
        400,
        with(13, &|t| t.input_hash = input.hash().unwrap(), input.clone()),
    );
    let mut nan = vec![0.0f32; 64];
    nan[5] = f32::NAN;
    let input = f32le(&nan);
    push(
        "non_finite_input",
        422,
        with(14, &|t| t.input_hash = input.hash().unwrap(), input.clone()),
    );
    let input = CallInput::image(b"not a png at all");
    push(
        "corrupt_image",
        422,
        with(15, &|t| t.input_hash = input.hash().unwrap(), input.clone()),
    );
    let input = f32le(&vec![0.5; 2_000]);
    push(
        "input_too_large",
        400,
        with(16, &|t| t.input_hash = input.hash().unwrap(), input.clone()),
    );

    for (code, status, body) in cases {
        let (got_status, answer) = node.post_raw(body);
        assert_eq!(
            (got_status, answer["code"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| m.len() > 20),
            "{answer}"
        );
    }
    let (status, text) = node.get("/v2/nothing");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("no_such_route"))
    );

    // Nothing was queued, charged or remembered.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(node.health()["queue"], 0);
    assert_eq!(escrow_of(&payer.address()), 10_000);
    assert_eq!(escrow_of(&poor.address()), PRICE - 1);
    assert!(client().call(&good(1).ticket.id()).is_err());

    // A served ticket is refused the second time, and so is another ticket with its nonce.
    let first = good(100);
    let (status, body) = node.infer(&first);
    assert_eq!(status, 200, "{body}");
    let (status, body) = node.infer(&first);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("duplicate_ticket"))
    );
    let same_nonce = request(&payer, me, CallInput::image(&sample(2)), 100);
    let (status, body) = node.infer(&same_nonce);
    assert_eq!((status, body["code"].as_str()), (409, Some("nonce_used")));
    let summary = node.shutdown();
    assert_eq!(summary.receipts.accepted, 1);
    assert_eq!(escrow_of(&payer.address()), 10_000 - PRICE);
}

#[test]
fn a_node_refuses_to_start_with_a_clear_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start = |config| {
        rt.block_on(verity_provider::start(config))
            .err()
            .unwrap()
            .to_string()
    };

    let mut unpublished = config(8, dir.path());
    unpublished.models = vec![Hash32([3; 32])];
    let err = start(unpublished);
    assert!(err.contains("verity model publish"), "{err}");

    let mut unreachable = config(8, dir.path());
    unreachable.ledger_url = "http://127.0.0.1:1".into();
    let err = start(unreachable);
    assert!(
        err.contains("cannot reach the ledger at http://127.0.0.1:1"),
        "{err}"
    );

    let mut low = config(8, dir.path());
    low.stake = MIN_STAKE - 1;
    let err = start(low);
    assert!(err.contains("minimum stake"), "{err}");

    let mut rich = config(8, dir.path());
    rich.stake = FUNDS * 2;
    let err = start(rich);
    assert!(err.contains("verity tx transfer"), "{err}");

    let mut zk = config(8, dir.path());
    zk.prices.push(verity_ledger::ModePrice {
        mode: Mode::Zk,
        price: 1,
    });
    zk.models = vec![mlp()];
    // The MLP is registered with every mode; whether zk is allowed depends on its integer path.
    match rt.block_on(verity_provider::start(zk)) {
        Ok(handle) => drop(handle),
        Err(e) => assert!(e.to_string().contains("zk mode"), "{e}"),
    }

    // Registered, but no one has its file.
    let nowhere = Hash32([4; 32]);
    transact(
        &Keypair::from_seed(11),
        verity_ledger::Payload::RegisterModel {
            model: nowhere,
            name: "nowhere".into(),
            royalty_bps: 0,
            input: verity_ledger::InputSpec {
                shape: vec![1, 4],
                dtype: verity_ledger::DType::F32,
            },
            modes: vec![Mode::Signed],
        },
    );
    let mut missing = config(9, dir.path());
    missing.models = vec![nowhere];
    missing.model_sources = vec!["http://127.0.0.1:1".into()];
    let err = start(missing);
    assert!(err.contains("cannot get the file of model"), "{err}");
}
