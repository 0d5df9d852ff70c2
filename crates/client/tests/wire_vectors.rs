//! Known-answer vectors for every client that re-implements the wire format (the Python SDK
//! reads them in `clients/python/tests/test_vectors.py`).
//!
//! The vectors are computed here from the Rust types the ledger itself uses and compared with
//! the committed `clients/vectors.json`, so a change to an encoding, a hash domain or a signing
//! namespace fails this test until the file is regenerated with `VERITY_BLESS=1 cargo test -p
//! verity-client --test wire_vectors` — and then fails the other SDKs until they follow.
//! Ed25519 signatures are deterministic, so signatures are vectors too.

use serde_json::{Value, json};
use std::path::PathBuf;
use verity_api::{CallOutput, ExecPath, OutputValues};
use verity_ledger::{
    Address, Hash32, HardwareProfile, Keypair, Mode, ModePrice, Namespaces, Payload, Receipt,
    Ticket, Transaction,
    crypto::{image_input_hash, tensor_input_hash},
};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clients/vectors.json")
}

fn key(byte: u8) -> Keypair {
    Keypair::from_secret([byte; 32])
}

fn vectors() -> Value {
    let chain_id = "vectors";
    let ns = Namespaces::new(chain_id);
    let caller = key(1);
    let node = key(2);

    let keys: Vec<Value> = [1u8, 2, 0xfe]
        .into_iter()
        .map(|b| {
            let k = key(b);
            json!({
                "secret": hex::encode(k.secret()),
                "public_key": k.public().to_string(),
                "address": k.address().to_string(),
                "address_bytes": hex::encode(k.address().0),
            })
        })
        .collect();

    let tensor: Vec<f32> = vec![0.0, 1.5, -2.25, 16.0, f32::MIN_POSITIVE];
    let tensor_bytes: Vec<u8> = tensor.iter().flat_map(|v| v.to_le_bytes()).collect();
    let image = b"\x89PNG\r\n\x1a\nnot really an image".to_vec();

    let ticket = Ticket {
        caller: caller.address(),
        model: Hash32([7; 32]),
        node: node.address(),
        input_hash: tensor_input_hash(&tensor_bytes),
        mode: Mode::Audited,
        price_cap: 1_200,
        nonce: 0x0102_0304_0506_0708,
        expiry_ms: 1_764_000_000_000,
    };
    let receipt = Receipt {
        ticket: ticket.id(),
        output_hash: Hash32([9; 32]),
        price: 1_000,
        time_ms: 1_764_000_000_123,
    };

    let outputs: Vec<Value> = [
        CallOutput {
            path: ExecPath::Integer,
            shape: vec![1, 3],
            values: OutputValues::I32 {
                values: vec![-5, 0, 70_000],
                frac_bits: 8,
            },
        },
        CallOutput {
            path: ExecPath::Float,
            shape: vec![1, 2],
            values: OutputValues::F32 {
                values: vec![0.25, -3.5],
            },
        },
    ]
    .into_iter()
    .map(|o| {
        json!({
            "output": o,
            "canonical_bytes": hex::encode(o.canonical_bytes()),
            "hash": o.hash().to_string(),
        })
    })
    .collect();

    let payloads = [
        Payload::Transfer {
            to: node.address(),
            amount: 5_000_000,
        },
        Payload::EscrowDeposit { amount: 42 },
        Payload::UpdateNode {
            endpoint: "http://127.0.0.1:7081".into(),
            hardware: HardwareProfile {
                gpu: "rtx-4090".into(),
                watts: 450,
                cost_usd_cents: 180_000,
                capacity: 20,
            },
            models: vec![Hash32([7; 32]), Hash32([8; 32])],
            prices: vec![
                ModePrice {
                    mode: Mode::Signed,
                    price: 1_000,
                },
                ModePrice {
                    mode: Mode::Zk,
                    price: 9_000,
                },
            ],
        },
    ];
    let transactions: Vec<Value> = payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            let tx = Transaction {
                signer: node.public(),
                nonce: i as u64 + 3,
                fee: 100,
                payload: payload.clone(),
            };
            let signed = tx.clone().sign(&node, &ns);
            json!({
                "signer_secret": hex::encode(node.secret()),
                "nonce": tx.nonce,
                "fee": tx.fee,
                "payload": payload,
                "signing_bytes": hex::encode(tx.signing_bytes()),
                "hash": tx.hash().to_string(),
                "signed": hex::encode(signed.encode()),
            })
        })
        .collect();

    json!({
        "chain_id": chain_id,
        "namespaces": {
            "tx": String::from_utf8(ns.tx.clone()).unwrap(),
            "ticket": String::from_utf8(ns.ticket.clone()).unwrap(),
            "receipt": String::from_utf8(ns.receipt.clone()).unwrap(),
        },
        "keys": keys,
        "protocol_address": Address::of_label("treasury").to_string(),
        "inputs": {
            "tensor": tensor,
            "tensor_f32le": hex::encode(&tensor_bytes),
            "tensor_hash": tensor_input_hash(&tensor_bytes).to_string(),
            "image": hex::encode(&image),
            "image_hash": image_input_hash(&image).to_string(),
        },
        "ticket": {
            "caller_secret": hex::encode(caller.secret()),
            "ticket": ticket,
            "signing_bytes": hex::encode(ticket.signing_bytes()),
            "id": ticket.id().to_string(),
            "signature": ticket.sign(&caller, &ns).to_string(),
        },
        "receipt": {
            "node_secret": hex::encode(node.secret()),
            "receipt": receipt,
            "signing_bytes": hex::encode(receipt.signing_bytes()),
            "signature": receipt.sign(&node, &ns).to_string(),
        },
        "outputs": outputs,
        "transactions": transactions,
    })
}

#[test]
fn committed_vectors_match_the_ledger_encodings() {
    let fresh = vectors();
    let path = vectors_path();
    if std::env::var_os("VERITY_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&fresh).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
    )
    .unwrap();
    assert_eq!(
        committed, fresh,
        "clients/vectors.json is out of date with the ledger's encodings; regenerate it with \
         `VERITY_BLESS=1 cargo test -p verity-client --test wire_vectors` and update the SDKs"
    );
}

#[test]
fn vectors_sign_and_verify_under_their_namespaces() {
    let v = vectors();
    let ns = Namespaces::new(v["chain_id"].as_str().unwrap());
    let ticket: Ticket = serde_json::from_value(v["ticket"]["ticket"].clone()).unwrap();
    let signature = serde_json::from_value(v["ticket"]["signature"].clone()).unwrap();
    let caller = key(1);
    assert!(verity_ledger::crypto::verify(
        &caller.public(),
        &ns.ticket,
        &ticket.signing_bytes(),
        &signature
    ));
    // The same signature does not hold under another kind's namespace.
    assert!(!verity_ledger::crypto::verify(
        &caller.public(),
        &ns.receipt,
        &ticket.signing_bytes(),
        &signature
    ));
}
