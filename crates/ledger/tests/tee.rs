//! Tee mode on the ledger: enclave keys registered with attestation documents from the software
//! enclave (same format as AWS Nitro), checked against the genesis trust policy; tee receipts
//! must be signed by the attested key.

mod common;
use common::*;
use std::collections::BTreeMap;
use verity_attestation::software::{DocumentRequest, SoftwareEnclave};
use verity_ledger::{
    params::{Pcr, TeeParams},
    *,
};

const DAY_MS: u64 = 86_400_000;

fn enclave(seed: u8) -> SoftwareEnclave {
    SoftwareEnclave::from_seed(&[seed; 32]).unwrap()
}

fn measurement(byte: u8) -> BTreeMap<u8, Vec<u8>> {
    (0..3).map(|i| (i, vec![byte + i; 48])).collect()
}

struct TeeMarket {
    m: Market,
    enclave: SoftwareEnclave,
    enclave_key: Keypair,
}

impl TeeMarket {
    fn new() -> Self {
        let enclave = enclave(1);
        let tee = TeeParams {
            roots: vec![HexBytes(enclave.root().der().to_vec())],
            allowlist: vec![
                measurement(10)
                    .into_iter()
                    .map(|(index, value)| Pcr {
                        index,
                        value: HexBytes(value),
                    })
                    .collect(),
            ],
            max_age_ms: 600_000,
        };
        let mut m = Market::with_params(
            1_000_000,
            Params {
                tee,
                ..Params::default()
            },
        );
        // Move the chain into the software enclave's certificate validity.
        m.chain.block(
            &[],
            verity_attestation::software::DEVNET_NOT_BEFORE_MS - T0 + DAY_MS,
        );
        let node = m.node.clone();
        let update = Payload::UpdateNode {
            endpoint: "http://127.0.0.1:9000".into(),
            hardware: HardwareProfile {
                gpu: "h100".into(),
                watts: 700,
                cost_usd_cents: 2_750_000,
                capacity: 50,
            },
            models: vec![model_id(1)],
            prices: vec![ModePrice {
                mode: Mode::Tee,
                price: 1_000,
            }],
        };
        assert_eq!(m.chain.run(&node, update).status, TxStatus::Applied);
        let owner = m.owner.clone();
        let modes = Payload::UpdateModel {
            model: model_id(1),
            royalty_bps: 1_000,
            modes: vec![Mode::Signed, Mode::Tee],
        };
        assert_eq!(m.chain.run(&owner, modes).status, TxStatus::Applied);
        Self {
            m,
            enclave,
            enclave_key: key(77),
        }
    }

    fn document(&self, edit: impl FnOnce(&mut DocumentRequest)) -> Vec<u8> {
        let mut request = DocumentRequest {
            module_id: String::new(),
            timestamp_ms: self.m.chain.time_ms,
            pcrs: measurement(10),
            public_key: Some(self.enclave_key.public().0.to_vec()),
            user_data: Some(self.m.node.address().0.to_vec()),
            nonce: None,
        };
        edit(&mut request);
        self.enclave.issue(&request).unwrap()
    }

    fn register(&mut self, document: Vec<u8>) -> TxOutcome {
        let node = self.m.node.clone();
        self.m
            .chain
            .run(&node, Payload::RegisterEnclave { document })
    }

    /// A tee call whose receipt is signed by `signer`.
    fn call(&self, nonce: u64, signer: &Keypair) -> PaidCall {
        let mut spec = CallSpec::new(&self.m.chain, nonce);
        spec.mode = Mode::Tee;
        let mut call = spec.sign(&self.m.chain, &self.m.caller, &self.m.node);
        call.receipt_signature = call.receipt.sign(signer, self.m.chain.ledger.namespaces());
        call
    }
}

fn code(o: &TxOutcome) -> Option<String> {
    failed_code(o).or(rejected_code(o))
}

#[test]
fn an_attested_enclave_key_signs_tee_receipts_and_the_node_key_does_not() {
    let mut t = TeeMarket::new();
    // Before registration a tee call is refused.
    let out = t.m.submit(vec![t.call(1, &t.enclave_key.clone())]);
    assert_eq!(refusal(&out, 0), Some("no_enclave"));

    let doc = t.document(|_| {});
    assert_eq!(t.register(doc).status, TxStatus::Applied);
    let node = t.m.chain.node(&t.m.node.address()).unwrap();
    assert_eq!(node.enclave_key, Some(t.enclave_key.public()));

    let by_enclave = t.call(2, &t.enclave_key.clone());
    let by_node = t.call(3, &t.m.node.clone());
    let out = t.m.submit(vec![by_enclave, by_node]);
    assert_eq!(refusal(&out, 0), None);
    assert_eq!(refusal(&out, 1), Some("bad_receipt_signature"));
}

#[test]
fn documents_the_policy_does_not_trust_are_refused_without_change() {
    let mut t = TeeMarket::new();
    let refused = |t: &mut TeeMarket, doc: Vec<u8>, why: &str| {
        let out = t.register(doc);
        assert_eq!(code(&out).as_deref(), Some("attestation_refused"), "{why}");
        let TxStatus::Failed { message, .. } = &out.status else {
            panic!("{why}: {out:?}")
        };
        assert_eq!(
            t.m.chain.node(&t.m.node.address()).unwrap().enclave_key,
            None,
            "{why}: {message}"
        );
    };
    // PCRs off the allowlist.
    let doc = t.document(|r| r.pcrs = measurement(20));
    refused(&mut t, doc, "measurement");
    // Another node's document (user_data binds the node).
    let doc = t.document(|r| r.user_data = Some(vec![9; 20]));
    refused(&mut t, doc, "user_data");
    // Too old.
    let doc = t.document(|r| r.timestamp_ms -= 700_000);
    refused(&mut t, doc, "age");
    // An enclave under an untrusted root.
    let other = enclave(2);
    let request = DocumentRequest {
        module_id: String::new(),
        timestamp_ms: t.m.chain.time_ms,
        pcrs: measurement(10),
        public_key: Some(t.enclave_key.public().0.to_vec()),
        user_data: Some(t.m.node.address().0.to_vec()),
        nonce: None,
    };
    refused(&mut t, other.issue(&request).unwrap(), "root");
    // A broken signature.
    let mut doc = t.document(|_| {});
    let last = doc.len() - 1;
    doc[last] ^= 1;
    refused(&mut t, doc, "signature");
    // Malformed bytes.
    refused(&mut t, vec![0xa5; 100], "malformed");
}
