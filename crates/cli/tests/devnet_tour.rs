//! The README's tour, run against a real `verity devnet` process: accounts, a transfer, a model,
//! a node, escrow, a receipt batch signed by the CLI's keys, settlement split into four
//! balances with events to show it; a forged signature, a replayed ticket and a malformed body
//! each refused with a clear error and no balance change; then kill -9 and restart.

mod support;
use std::{io::Write, time::Duration};
use support::*;
use verity_ledger::{Hash32, state::CallStatus};

#[test]
fn readme_tour_on_a_devnet_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let api = free_port();
    let url = format!("http://127.0.0.1:{api}");
    let gateway = free_port();
    let args = [
        "devnet".to_string(),
        "--api".into(),
        format!("127.0.0.1:{api}"),
        "--p2p".into(),
        format!("127.0.0.1:{}", free_port()),
        "--gateway".into(),
        format!("127.0.0.1:{gateway}"),
        "--hub".into(),
        format!("127.0.0.1:{}", free_port()),
        "--nodes".into(),
        "0".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = dir.path().join("devnet.log");
    let devnet = Process::start(&home, &url, &args, log.clone());
    // The devnet's own setup (publishing the bundled models, funding keys) is done once its
    // gateway answers; the tour's transactions from the demo key start after it.
    wait_http(&format!("http://127.0.0.1:{gateway}/health"));
    let client = devnet.client();

    // The chain advances.
    let h1 = client.status().unwrap().height;
    devnet.wait_for_height(h1 + 3);

    let v = |a: &[&str]| ok(&home, &url, a);
    let alice = v(&["keys", "new", "alice"]).trim().to_string();
    let bob = v(&["keys", "new", "bob"]).trim().to_string();
    let carol = v(&["keys", "new", "carol"]).trim().to_string();
    v(&[
        "tx",
        "transfer",
        "--from",
        "demo",
        "--to",
        "alice",
        "--amount",
        "5000000000000",
    ]);
    v(&[
        "tx",
        "transfer",
        "--from",
        "demo",
        "--to",
        "bob",
        "--amount",
        "5000000000000",
    ]);
    v(&[
        "tx", "transfer", "--from", "demo", "--to", "carol", "--amount", "1000000",
    ]);

    let model_file = dir.path().join("model.onnx");
    std::fs::write(&model_file, b"not really onnx, only hashed").unwrap();
    let model = verity_ledger::crypto::sha256(&[&std::fs::read(&model_file).unwrap()]).to_string();
    v(&[
        "tx",
        "register-model",
        "--from",
        "carol",
        "--file",
        model_file.to_str().unwrap(),
        "--name",
        "digits",
        "--royalty-bps",
        "1000",
        "--shape",
        "1,64",
    ]);
    v(&[
        "tx",
        "register-node",
        "--from",
        "bob",
        "--endpoint",
        "http://127.0.0.1:9",
        "--models",
        &model,
        "--price",
        "signed=1000",
        "--stake",
        "1000000000",
    ]);
    v(&[
        "tx",
        "escrow-deposit",
        "--from",
        "alice",
        "--amount",
        "1000000",
    ]);

    let addr = |s: &str| s.parse::<verity_ledger::Address>().unwrap();
    let params = client.params().unwrap();
    let balance = |a: &verity_ledger::Address| client.account(a).unwrap().account.balance;
    let before = [
        addr(&bob),
        addr(&carol),
        params.verifier_pool,
        params.treasury,
    ]
    .map(|a| balance(&a));
    let escrow_before = client.account(&addr(&alice)).unwrap().account.escrow;

    let input = dir.path().join("input.bin");
    std::fs::write(&input, b"eight by eight pixels").unwrap();
    let ticket = v(&[
        "ticket",
        "sign",
        "--caller",
        "alice",
        "--node",
        "bob",
        "--model",
        &model,
        "--input",
        input.to_str().unwrap(),
        "--price-cap",
        "1500",
    ]);
    let ticket_file = dir.path().join("ticket.json");
    std::fs::write(&ticket_file, ticket).unwrap();
    let paid = v(&[
        "receipt",
        "sign",
        "--node",
        "bob",
        "--ticket",
        ticket_file.to_str().unwrap(),
        "--output-hash",
        &Hash32([5; 32]).to_string(),
        "--price",
        "1000",
    ]);
    let call_file = dir.path().join("call.json");
    std::fs::write(&call_file, &paid).unwrap();
    let outcome: serde_json::Value = serde_json::from_str(&v(&[
        "tx",
        "submit-receipts",
        "--from",
        "bob",
        call_file.to_str().unwrap(),
    ]))
    .unwrap();
    let fee = outcome["fee_paid"].as_u64().unwrap();
    let call_id: Hash32 = outcome["calls"][0]["call"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(outcome["calls"][0].get("refused").is_none(), "{outcome}");
    assert_eq!(
        client.account(&addr(&alice)).unwrap().account.escrow,
        escrow_before - 1000
    );

    let call = client
        .wait_settled(&call_id, Duration::from_secs(60))
        .unwrap();
    assert!(matches!(call.status, CallStatus::Settled { .. }));
    let after = [
        addr(&bob),
        addr(&carol),
        params.verifier_pool,
        params.treasury,
    ]
    .map(|a| balance(&a));
    assert_eq!(after[0], before[0] - fee + 830, "node operator");
    assert_eq!(after[1], before[1] + 100, "model owner royalty");
    assert_eq!(after[2], before[2] + 20, "verifier pool");
    assert_eq!(
        after[3],
        before[3] + fee + 50,
        "treasury: fee and protocol share"
    );
    let events = client.events(Some(&format!("call={call_id}")), 10).unwrap();
    let kinds: Vec<&str> = events.items.iter().map(|e| e.record.event.kind()).collect();
    assert_eq!(kinds, vec!["CallSettled", "CallAccepted"]);

    // Refusals: each with a clear error and no balance change.
    let snapshot = [addr(&alice), addr(&bob)].map(|a| client.account(&a).unwrap().account);
    let replay = run(
        &home,
        &url,
        &[
            "tx",
            "submit-receipts",
            "--from",
            "bob",
            call_file.to_str().unwrap(),
        ],
    );
    assert!(!replay.status.success());
    let err = String::from_utf8_lossy(&replay.stderr);
    assert!(
        err.contains("already used") && err.contains("duplicate"),
        "{err}"
    );

    let hex = v(&[
        "tx",
        "transfer",
        "--from",
        "alice",
        "--to",
        "bob",
        "--amount",
        "5",
        "--print-only",
    ]);
    let mut forged = hex.trim().as_bytes().to_vec();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).unwrap();
    let out = run(&home, &url, &["tx", "send-raw", &forged]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("invalid_signature"),
        "{err}"
    );

    let malformed = raw_post(api, "{bad json");
    assert!(malformed.starts_with("HTTP/1.1 400"), "{malformed}");
    assert!(
        malformed.contains("\"code\":\"malformed_body\""),
        "{malformed}"
    );
    let not_a_tx = raw_post(api, r#"{"tx":"00ff"}"#);
    assert!(not_a_tx.contains("\"code\":\"malformed_tx\""), "{not_a_tx}");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        [addr(&alice), addr(&bob)].map(|a| client.account(&a).unwrap().account),
        snapshot
    );

    // kill -9, restart: same state, height continues.
    let status = client.status().unwrap();
    devnet.kill9();
    let devnet = Process::start(&home, &url, &args, log);
    let client = devnet.client();
    let restarted = client.status().unwrap();
    assert!(restarted.height >= status.height, "height went back");
    assert_eq!(
        client.block(status.height).unwrap().executed_root,
        status.state_root
    );
    assert_eq!(client.account(&addr(&alice)).unwrap().account, snapshot[0]);
    devnet.wait_for_height(restarted.height + 3);
}

/// POST `body` to /v1/txs with a raw socket, returning the whole HTTP answer.
fn raw_post(port: u16, body: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/txs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}
