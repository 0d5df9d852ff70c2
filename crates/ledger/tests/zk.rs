//! Zk mode on the ledger with real Groth16 proofs of the bundled MLP's integer program: keys,
//! proofs that settle calls, and every way a proof can be wrong.

mod common;
use common::*;
use verity_ledger::{
    crypto::{integer_output_hash, tensor_input_hash},
    state::CallStatus,
    tx::CallProof,
    *,
};
use verity_quant::{CompileOptions, Program, compile};
use verity_zk::groth16::{self, ProvingKey};

const OUTPUT_SHAPE: [u32; 2] = [1, 10];

fn compiled(file: &str) -> Program {
    let path = format!("{}/../../models/digits/{file}", env!("CARGO_MANIFEST_DIR"));
    compile(&std::fs::read(path).unwrap(), &CompileOptions::default()).unwrap()
}

fn input(n: usize) -> Vec<f32> {
    (0..64)
        .map(|i| ((i * 7 + n * 13) % 17) as f32 / 16.0)
        .collect()
}

fn le_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

struct ZkMarket {
    m: Market,
    mlp: Program,
    pk: ProvingKey,
    key_bytes: Vec<u8>,
}

impl ZkMarket {
    fn new() -> Self {
        let mut m = Market::new(1_000_000);
        let mlp = compiled("mlp.onnx");
        let (pk, vk) = groth16::setup(&mlp, [7; 32]).unwrap();
        let owner = m.owner.clone();
        let applied = |o: TxOutcome| assert_eq!(o.status, TxStatus::Applied, "{o:?}");
        applied(m.chain.run(
            &owner,
            Payload::SetProgram {
                model: model_id(1),
                program: mlp.encode(),
                output_shape: OUTPUT_SHAPE.to_vec(),
            },
        ));
        let key_bytes = vk.to_bytes();
        applied(m.chain.run(
            &owner,
            Payload::SetZkKey {
                model: model_id(1),
                key: key_bytes.clone(),
            },
        ));
        applied(m.chain.run(
            &owner,
            Payload::UpdateModel {
                model: model_id(1),
                royalty_bps: 1_000,
                modes: vec![Mode::Signed, Mode::Zk],
            },
        ));
        let node = m.node.clone();
        applied(m.chain.run(
            &node,
            Payload::UpdateNode {
                endpoint: "http://127.0.0.1:9000".into(),
                hardware: HardwareProfile {
                    gpu: "cpu".into(),
                    watts: 65,
                    cost_usd_cents: 0,
                    capacity: 50,
                },
                models: vec![model_id(1)],
                prices: vec![ModePrice {
                    mode: Mode::Zk,
                    price: 1_000,
                }],
            },
        ));
        Self {
            m,
            mlp,
            pk,
            key_bytes,
        }
    }

    /// A zk call on `x` whose receipt claims `output`.
    fn call(&self, nonce: u64, x: &[f32], output: &[i32]) -> PaidCall {
        let ns = self.m.chain.ledger.namespaces();
        let ticket = Ticket {
            caller: self.m.caller.address(),
            model: model_id(1),
            node: self.m.node.address(),
            input_hash: tensor_input_hash(&le_bytes(x)),
            mode: Mode::Zk,
            price_cap: 1_500,
            nonce,
            expiry_ms: self.m.chain.time_ms + 60_000,
        };
        let receipt = Receipt {
            ticket: ticket.id(),
            output_hash: integer_output_hash(&OUTPUT_SHAPE, self.mlp.out_frac_bits(), output),
            price: 1_000,
            time_ms: self.m.chain.time_ms,
        };
        PaidCall {
            ticket_signature: ticket.sign(&self.m.caller, ns),
            receipt_signature: receipt.sign(&self.m.node, ns),
            ticket,
            receipt,
        }
    }

    /// The honest output and proof for `x`.
    fn prove(&self, x: &[f32]) -> (Vec<i32>, Vec<u8>) {
        let q = self.mlp.quantize_input(x).unwrap();
        let (output, proof) = groth16::prove(&self.pk, &self.mlp, &q).unwrap();
        assert_eq!(output, self.mlp.run(&q).unwrap());
        (output, proof.to_bytes())
    }

    fn accept(&mut self, call: PaidCall) -> CallId {
        let id = call.ticket.id();
        let out = self.m.submit(vec![call]);
        assert_eq!(refusal(&out, 0), None, "{out:?}");
        assert!(matches!(
            self.m.chain.call(&id).unwrap().status,
            CallStatus::ProofDue { .. }
        ));
        id
    }

    fn submit_proof(
        &mut self,
        call: CallId,
        x: &[f32],
        output: Vec<i32>,
        proof: Vec<u8>,
    ) -> TxOutcome {
        let node = self.m.node.clone();
        self.m.chain.run(
            &node,
            Payload::SubmitProofs {
                proofs: vec![CallProof {
                    call,
                    input: le_bytes(x),
                    output,
                    proof,
                }],
            },
        )
    }

    fn status(&self, id: &CallId) -> CallStatus {
        self.m.chain.call(id).unwrap().status
    }

    fn stake(&self) -> Amount {
        self.m.chain.node(&self.m.node.address()).unwrap().stake
    }
}

fn code(o: &TxOutcome) -> Option<String> {
    failed_code(o).or(rejected_code(o))
}

#[test]
fn a_valid_proof_settles_the_call_and_a_replay_is_refused() {
    let mut z = ZkMarket::new();
    let x = input(1);
    let (output, proof) = z.prove(&x);
    let id = z.accept(z.call(1, &x, &output));
    let out = z.submit_proof(id, &x, output.clone(), proof.clone());
    assert_eq!(out.status, TxStatus::Applied, "{out:?}");
    assert!(matches!(
        z.status(&id),
        CallStatus::Settled {
            evidence: Evidence::Proof { .. },
            ..
        }
    ));
    // The same proof again, for a call already settled.
    let stake = z.stake();
    assert_eq!(
        code(&z.submit_proof(id, &x, output, proof)).as_deref(),
        Some("zk_refused")
    );
    assert_eq!(z.stake(), stake);
}

#[test]
fn proofs_that_do_not_hold_refund_the_caller_and_slash_the_node() {
    let mut z = ZkMarket::new();
    let cnn = compiled("cnn.onnx");
    let (cnn_pk, _) = groth16::setup(&cnn, [8; 32]).unwrap();
    let x = input(2);
    let (output, proof) = z.prove(&x);

    // A tampered output: the receipt claims it, the proof is of the real one.
    let mut tampered = output.clone();
    tampered[3] += 1;
    // Another model's proof of the same input (the CNN's output and proof).
    let q = cnn.quantize_input(&x).unwrap();
    let (cnn_output, cnn_proof) = groth16::prove(&cnn_pk, &cnn, &q).unwrap();
    // Another input's proof: the receipt claims that input's output for this input.
    let y = input(3);
    let (y_output, y_proof) = z.prove(&y);
    // A truncated proof, and garbage.
    let cases: Vec<(&str, Vec<i32>, Vec<u8>)> = vec![
        ("tampered output", tampered, proof.clone()),
        ("another model's proof", cnn_output, cnn_proof.to_bytes()),
        ("another input's proof", y_output, y_proof),
        ("truncated proof", output.clone(), proof[..100].to_vec()),
        ("malformed proof", output.clone(), vec![0xff; 128]),
    ];
    let escrow0 = z.m.chain.account(&z.m.caller.address()).escrow;
    // Accepted together: the first slash jails the node, so later batches would be refused.
    let calls: Vec<PaidCall> = cases
        .iter()
        .enumerate()
        .map(|(n, (_, claimed, _))| z.call(10 + n as u64, &x, claimed))
        .collect();
    let ids: Vec<CallId> = calls.iter().map(|c| c.ticket.id()).collect();
    let out = z.m.submit(calls);
    assert!(out.calls.iter().all(|c| c.refused.is_none()), "{out:?}");
    for (id, (what, claimed, bad_proof)) in ids.into_iter().zip(cases) {
        let stake = z.stake();
        let out = z.submit_proof(id, &x, claimed, bad_proof);
        assert_eq!(out.status, TxStatus::Applied, "{what}: {out:?}");
        assert!(
            matches!(
                z.status(&id),
                CallStatus::Refunded {
                    offence: Offence::InvalidProof,
                    ..
                }
            ),
            "{what}"
        );
        assert!(z.stake() < stake, "{what}: not slashed");
    }
    assert_eq!(z.m.chain.account(&z.m.caller.address()).escrow, escrow0);
}

#[test]
fn proofs_not_bound_to_the_call_are_refused_without_change() {
    let mut z = ZkMarket::new();
    let (x, y) = (input(4), input(5));
    let (output, proof) = z.prove(&x);
    let id = z.accept(z.call(1, &x, &output));
    let stake = z.stake();
    // Input bytes that are not the ticket's.
    let out = z.submit_proof(id, &y, output.clone(), proof.clone());
    assert_eq!(code(&out).as_deref(), Some("zk_refused"));
    // An output that is not the receipt's.
    let mut other = output.clone();
    other[0] -= 1;
    let out = z.submit_proof(id, &x, other, proof.clone());
    assert_eq!(code(&out).as_deref(), Some("zk_refused"));
    // Someone else's submission.
    let caller = z.m.caller.clone();
    let out = z.m.chain.run(
        &caller,
        Payload::SubmitProofs {
            proofs: vec![CallProof {
                call: id,
                input: le_bytes(&x),
                output: output.clone(),
                proof: proof.clone(),
            }],
        },
    );
    assert_eq!(code(&out).as_deref(), Some("zk_refused"));
    assert_eq!(z.stake(), stake);
    assert!(matches!(z.status(&id), CallStatus::ProofDue { .. }));
    // The honest proof still settles it.
    assert_eq!(
        z.submit_proof(id, &x, output, proof).status,
        TxStatus::Applied
    );
    assert!(matches!(z.status(&id), CallStatus::Settled { .. }));
}

#[test]
fn a_call_without_a_proof_by_its_deadline_is_refunded_and_the_node_slashed() {
    let mut z = ZkMarket::new();
    let x = input(6);
    let (output, _) = z.prove(&x);
    let id = z.accept(z.call(1, &x, &output));
    let stake = z.stake();
    z.m.chain.block(&[], z.m.chain.params.zk.proof_window_ms);
    assert!(matches!(
        z.status(&id),
        CallStatus::Refunded {
            offence: Offence::MissedProofDeadline,
            ..
        }
    ));
    assert_eq!(stake - z.stake(), stake / 50);
}

#[test]
fn keys_for_another_program_or_malformed_are_refused() {
    let mut z = ZkMarket::new();
    let cnn = compiled("cnn.onnx");
    let (_, cnn_vk) = groth16::setup(&cnn, [9; 32]).unwrap();
    let owner = z.m.owner.clone();
    for (what, key) in [
        ("another program's key", cnn_vk.to_bytes()),
        (
            "truncated key",
            z.key_bytes[..z.key_bytes.len() - 1].to_vec(),
        ),
        ("garbage", vec![0x5a; 512]),
    ] {
        let out = z.m.chain.run(
            &owner,
            Payload::SetZkKey {
                model: model_id(1),
                key,
            },
        );
        assert_eq!(code(&out).as_deref(), Some("zk_refused"), "{what}");
    }
    // Only the owner sets the key.
    let node = z.m.node.clone();
    let out = z.m.chain.run(
        &node,
        Payload::SetZkKey {
            model: model_id(1),
            key: z.key_bytes.clone(),
        },
    );
    assert_eq!(code(&out).as_deref(), Some("not_model_owner"));
}
