//! Audits with the bundled MLP's real integer program: sampling, reveal, reports, the ledger as
//! referee, known-answer checks and slashing. Every block checks the supply is conserved.

mod common;
use common::*;
use verity_ledger::{
    audit,
    crypto::{integer_output_hash, tensor_input_hash},
    params::AuditParams,
    state::{self, Audit, AuditStatus, AuditVerdict, CallStatus, ServiceRecord},
    tx::{AuditReport, Reveal},
    *,
};
use verity_quant::{CompileOptions, Program, compile};

const OUTPUT_SHAPE: [u32; 2] = [1, 10];

fn mlp() -> Program {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/digits/mlp.onnx"
    ))
    .unwrap();
    compile(&bytes, &CompileOptions::default()).unwrap()
}

/// The first `n` test-split images as model inputs.
fn inputs(n: usize) -> Vec<Vec<f32>> {
    let split: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/digits/test-split.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let scale = split["scale"].as_f64().unwrap() as f32;
    split["pixels"]
        .as_array()
        .unwrap()
        .iter()
        .cycle()
        .take(n)
        .map(|img| {
            img.as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_f64().unwrap() as f32 / scale)
                .collect()
        })
        .collect()
}

fn le_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Audit rates that sample every call.
fn always() -> AuditParams {
    AuditParams {
        floor_ppm: 1_000_000,
        tee_floor_ppm: 1_000_000,
        cap_ppm: 1_000_000,
        probation_ppm: 1_000_000,
        known_answer_ppm: 0,
        ..AuditParams::default()
    }
}

/// A market with model 1 (the MLP, its program on the ledger), node `node` serving it in
/// signed and audited mode with four times the minimum stake, a bonded `auditor` serving
/// nothing, and `caller` with escrow.
struct AuditMarket {
    chain: TestChain,
    program: Program,
    owner: Keypair,
    node: Keypair,
    auditor: Keypair,
    caller: Keypair,
}

impl AuditMarket {
    fn new(audit: AuditParams) -> Self {
        let (owner, node, caller, auditor) = (key(1), key(2), key(3), key(4));
        let params = Params {
            audit,
            ..Params::default()
        };
        let mut chain = TestChain::with_params(
            &[
                (&owner, FUNDS),
                (&node, FUNDS),
                (&caller, FUNDS),
                (&auditor, FUNDS),
            ],
            params,
        );
        let program = mlp();
        let applied = |o: TxOutcome| assert_eq!(o.status, TxStatus::Applied, "{o:?}");
        applied(chain.run(
            &owner,
            Payload::RegisterModel {
                model: model_id(1),
                name: "digits-mlp".into(),
                royalty_bps: 1_000,
                input: InputSpec {
                    shape: vec![1, 1, 8, 8],
                    dtype: DType::F32,
                },
                modes: vec![Mode::Signed, Mode::Audited],
            },
        ));
        applied(chain.run(
            &owner,
            Payload::SetProgram {
                model: model_id(1),
                program: program.encode(),
                output_shape: OUTPUT_SHAPE.to_vec(),
            },
        ));
        let stake = chain.params.min_stake;
        applied(chain.run(&node, register_node(vec![model_id(1)], 4 * stake)));
        applied(chain.run(&auditor, register_node(vec![], stake)));
        applied(chain.run(
            &caller,
            Payload::EscrowDeposit {
                amount: 1_000_000_000,
            },
        ));
        Self {
            chain,
            program,
            owner,
            node,
            auditor,
            caller,
        }
    }

    fn truth(&self, input: &[f32]) -> Hash32 {
        let out = self.program.run_f32(input).unwrap();
        integer_output_hash(&OUTPUT_SHAPE, self.program.out_frac_bits(), &out)
    }

    /// A signed call on `input`; a dishonest node returns a wrong output hash.
    fn call(&self, nonce: u64, input: &[f32], honest: bool) -> PaidCall {
        self.call_from(&self.caller, nonce, input, honest)
    }

    /// [`Self::call`] paid by `caller`.
    fn call_from(&self, caller: &Keypair, nonce: u64, input: &[f32], honest: bool) -> PaidCall {
        let ns = self.chain.ledger.namespaces();
        let ticket = Ticket {
            caller: caller.address(),
            model: model_id(1),
            node: self.node.address(),
            input_hash: tensor_input_hash(&le_bytes(input)),
            mode: Mode::Audited,
            price_cap: 2_000,
            nonce,
            expiry_ms: self.chain.time_ms + 60_000,
        };
        let mut output_hash = self.truth(input);
        if !honest {
            output_hash.0[0] ^= 1;
        }
        let receipt = Receipt {
            ticket: ticket.id(),
            output_hash,
            price: 1_200,
            time_ms: self.chain.time_ms,
        };
        PaidCall {
            ticket_signature: ticket.sign(caller, ns),
            receipt_signature: receipt.sign(&self.node, ns),
            ticket,
            receipt,
        }
    }

    fn submit(&mut self, calls: Vec<PaidCall>) -> Vec<CallId> {
        let ids = calls.iter().map(|c| c.ticket.id()).collect();
        let node = self.node.clone();
        let out = self.chain.run(&node, Payload::SubmitReceipts { calls });
        assert_eq!(out.status, TxStatus::Applied, "{out:?}");
        assert!(out.calls.iter().all(|c| c.refused.is_none()), "{out:?}");
        ids
    }

    fn reveal(&mut self, call: CallId, input: &[f32]) -> TxOutcome {
        let node = self.node.clone();
        self.chain.run(
            &node,
            Payload::RevealInputs {
                reveals: vec![Reveal {
                    call,
                    tensor: le_bytes(input),
                    image: None,
                }],
            },
        )
    }

    fn report(&mut self, auditor: &Keypair, audit: Hash32, output_hash: Hash32) -> TxOutcome {
        self.chain.run(
            auditor,
            Payload::ReportAudits {
                reports: vec![AuditReport { audit, output_hash }],
            },
        )
    }

    fn audit(&self, id: &Hash32) -> Audit {
        state::read(&self.chain.state, &state::audit_key(id)).unwrap()
    }

    fn status(&self, id: &CallId) -> CallStatus {
        self.chain.call(id).unwrap().status
    }

    fn stake(&self, who: &Keypair) -> Amount {
        self.chain.node(&who.address()).unwrap().stake
    }

    fn balance(&self, who: &Keypair) -> Amount {
        self.chain.account(&who.address()).balance
    }

    fn escrow(&self) -> Amount {
        self.chain.account(&self.caller.address()).escrow
    }
}

#[test]
fn a_wrong_output_is_caught_refunded_and_slashed_and_the_auditor_paid() {
    let mut m = AuditMarket::new(always());
    let x = inputs(1).remove(0);
    let escrow0 = m.escrow();
    let [id] = m.submit(vec![m.call(1, &x, false)])[..] else {
        unreachable!()
    };
    assert_eq!(m.escrow(), escrow0 - 1_200);
    // `submit` ran one block; the next block samples it.
    m.chain.block(&[], 100);
    assert_eq!(m.status(&id), CallStatus::Sampled);
    assert!(matches!(
        m.audit(&id).status,
        AuditStatus::AwaitingInput { .. }
    ));

    assert_eq!(m.reveal(id, &x).status, TxStatus::Applied);
    let stake0 = m.stake(&m.node);
    let auditor0 = m.balance(&m.auditor);
    let fee = m.chain.params.required_fee(0);
    let truth = m.truth(&x);
    let auditor = m.auditor.clone();
    assert_eq!(m.report(&auditor, id, truth).status, TxStatus::Applied);

    // Refunded in full; 10 % of the stake slashed, 20 % of that to the auditor.
    assert_eq!(m.escrow(), escrow0);
    assert_eq!(
        m.status(&id),
        CallStatus::Refunded {
            height: m.chain.height,
            offence: Offence::AuditMismatch
        }
    );
    let slashed = stake0 / 10;
    assert_eq!(m.stake(&m.node), stake0 - slashed);
    assert_eq!(m.balance(&m.auditor), auditor0 - fee + slashed / 5);
    let node = m.chain.node(&m.node.address()).unwrap();
    assert_eq!(node.faults, 1);
    assert!(node.jailed_until_ms > m.chain.time_ms);
    assert_eq!(
        m.audit(&id).status,
        AuditStatus::Closed {
            height: m.chain.height,
            verdict: AuditVerdict::NodeFaulted {
                offence: Offence::AuditMismatch,
                auditor: Some(m.auditor.address())
            }
        }
    );

    // Jailed: the next batch is refused whole and costs the caller nothing.
    let node = m.node.clone();
    let out = m.chain.run(
        &node,
        Payload::SubmitReceipts {
            calls: vec![m.call(2, &x, true)],
        },
    );
    assert_eq!(
        rejected_code(&out).or(failed_code(&out)).as_deref(),
        Some("jailed")
    );
    assert_eq!(m.escrow(), escrow0);
}

#[test]
fn an_honest_call_confirmed_by_an_auditor_settles_with_its_evidence() {
    let mut m = AuditMarket::new(always());
    let x = inputs(2).remove(1);
    let [id] = m.submit(vec![m.call(1, &x, true)])[..] else {
        unreachable!()
    };
    m.chain.block(&[], 100);
    assert_eq!(m.reveal(id, &x).status, TxStatus::Applied);
    let stake0 = m.stake(&m.node);
    let truth = m.truth(&x);
    let auditor = m.auditor.clone();
    let before = m.balance(&m.auditor);
    assert_eq!(m.report(&auditor, id, truth).status, TxStatus::Applied);
    let reward = m.chain.params.audit.auditor_reward;
    let fee = m.chain.params.required_fee(0);
    assert_eq!(
        m.status(&id),
        CallStatus::Settled {
            height: m.chain.height,
            evidence: Evidence::Audit {
                auditor: m.auditor.address()
            }
        }
    );
    assert_eq!(m.stake(&m.node), stake0);
    // The verifier pool held the 2 % share of this call (24) and pays up to the reward.
    assert_eq!(m.balance(&m.auditor), before - fee + reward.min(24));
}

#[test]
fn an_auditor_that_contradicts_the_referee_is_slashed_and_the_call_paid() {
    let mut m = AuditMarket::new(always());
    let x = inputs(3).remove(2);
    let [id] = m.submit(vec![m.call(1, &x, true)])[..] else {
        unreachable!()
    };
    m.chain.block(&[], 100);
    m.reveal(id, &x);
    let (node0, auditor0) = (m.stake(&m.node), m.stake(&m.auditor));
    let auditor = m.auditor.clone();
    assert_eq!(
        m.report(&auditor, id, Hash32([9; 32])).status,
        TxStatus::Applied
    );
    assert!(matches!(
        m.status(&id),
        CallStatus::Settled {
            evidence: Evidence::Referee,
            ..
        }
    ));
    assert_eq!(m.stake(&m.node), node0);
    assert_eq!(m.stake(&m.auditor), auditor0 - auditor0 / 10);
}

#[test]
fn silence_is_refunded_and_slashed_and_unreported_audits_are_refereed() {
    let mut m = AuditMarket::new(always());
    let xs = inputs(3);
    let ids = m.submit(vec![
        m.call(1, &xs[0], true),
        m.call(2, &xs[1], false),
        m.call(3, &xs[2], true),
    ]);
    let escrow0 = m.escrow();
    m.chain.block(&[], 100);
    // The node reveals the last two inputs and stays silent on the first.
    assert_eq!(m.reveal(ids[1], &xs[1]).status, TxStatus::Applied);
    assert_eq!(m.reveal(ids[2], &xs[2]).status, TxStatus::Applied);
    let window = m.chain.params.audit.reveal_window_ms;
    m.chain.block(&[], window);
    // No auditor reported: the ledger refereed the revealed calls at their deadline.
    assert_eq!(
        m.status(&ids[0]),
        CallStatus::Refunded {
            height: m.chain.height,
            offence: Offence::AuditSilence
        }
    );
    assert!(matches!(
        m.status(&ids[1]),
        CallStatus::Refunded {
            offence: Offence::AuditMismatch,
            ..
        }
    ));
    assert!(matches!(
        m.status(&ids[2]),
        CallStatus::Settled {
            evidence: Evidence::Referee,
            ..
        }
    ));
    assert_eq!(m.escrow(), escrow0 + 2 * 1_200);
    let node = m.chain.node(&m.node.address()).unwrap();
    assert_eq!(node.faults, 2);
    // Silence and a mismatch are failed audits; each refund counts.
    assert_eq!(
        node.record,
        ServiceRecord {
            independent_calls: 1,
            linked_calls: 0,
            audits_passed: 1,
            audits_failed: 2,
            refunded_calls: 2,
        }
    );
}

#[test]
fn audits_of_calls_from_linked_callers_count_nowhere_but_their_refunds_do() {
    let mut m = AuditMarket::new(always());
    // A key the operator funded pays for calls like any caller.
    let sock = key(20);
    let node = m.node.clone();
    let applied = |o: TxOutcome| assert_eq!(o.status, TxStatus::Applied, "{o:?}");
    applied(m.chain.run(
        &node,
        Payload::Transfer {
            to: sock.address(),
            amount: 10_000_000,
        },
    ));
    applied(
        m.chain
            .run(&sock, Payload::EscrowDeposit { amount: 5_000_000 }),
    );
    let xs = inputs(4);
    let ids = m.submit(vec![
        m.call(1, &xs[0], true),
        m.call(2, &xs[1], false),
        m.call_from(&sock, 1, &xs[2], true),
        m.call_from(&sock, 2, &xs[3], false),
    ]);
    m.chain.block(&[], 100);
    let reveals = ids
        .iter()
        .zip(&xs)
        .map(|(&call, x)| Reveal {
            call,
            tensor: le_bytes(x),
            image: None,
        })
        .collect();
    applied(m.chain.run(&node, Payload::RevealInputs { reveals }));
    m.chain.block(&[], m.chain.params.audit.report_window_ms);
    let paid = |id: &CallId| matches!(m.status(id), CallStatus::Settled { .. });
    assert_eq!(
        ids.iter().map(paid).collect::<Vec<_>>(),
        [true, false, true, false]
    );
    assert_eq!(
        m.chain.node(&node.address()).unwrap().record,
        ServiceRecord {
            independent_calls: 1,
            linked_calls: 1,
            audits_passed: 1,
            audits_failed: 1,
            refunded_calls: 2,
        }
    );
    let model: state::Model = state::read(&m.chain.state, &state::model_key(&model_id(1))).unwrap();
    assert_eq!(
        model.record,
        state::ModelRecord {
            independent_calls: 1,
            linked_calls: 1,
        }
    );
}

#[test]
fn reveals_that_do_not_match_the_call_are_refused_without_change() {
    let mut m = AuditMarket::new(always());
    let xs = inputs(2);
    let [id] = m.submit(vec![m.call(1, &xs[0], true)])[..] else {
        unreachable!()
    };
    m.chain.block(&[], 100);
    let code = |o: &TxOutcome| failed_code(o).or(rejected_code(o));
    // Another input.
    assert_eq!(code(&m.reveal(id, &xs[1])).as_deref(), Some("bad_reveal"));
    // NaN where the ticket's bytes had a value: the hash differs first; a NaN tensor with a
    // matching hash cannot exist for a finite ticket input, so check decoding with an image
    // reveal whose tensor is malformed.
    let node = m.node.clone();
    let out = m.chain.run(
        &node,
        Payload::RevealInputs {
            reveals: vec![Reveal {
                call: id,
                tensor: le_bytes(&[f32::NAN; 64]),
                image: Some(b"not the ticket's image".to_vec()),
            }],
        },
    );
    assert_eq!(code(&out).as_deref(), Some("bad_reveal"));
    // Someone else revealing.
    let auditor = m.auditor.clone();
    let out = m.chain.run(
        &auditor,
        Payload::RevealInputs {
            reveals: vec![Reveal {
                call: id,
                tensor: le_bytes(&xs[0]),
                image: None,
            }],
        },
    );
    assert_eq!(code(&out).as_deref(), Some("not_permitted"));
    // No such audit.
    assert_eq!(
        code(&m.reveal(Hash32([5; 32]), &xs[0])).as_deref(),
        Some("unknown_audit")
    );
    // The node cannot audit its own call.
    assert!(matches!(
        m.audit(&id).status,
        AuditStatus::AwaitingInput { .. }
    ));
    assert_eq!(m.reveal(id, &xs[0]).status, TxStatus::Applied);
    let node = m.node.clone();
    let truth = m.truth(&xs[0]);
    assert_eq!(
        code(&m.report(&node, id, truth)).as_deref(),
        Some("not_permitted")
    );
    // An account that is not a bonded node cannot report.
    let owner = m.owner.clone();
    assert_eq!(
        code(&m.report(&owner, id, truth)).as_deref(),
        Some("unknown_node")
    );
}

#[test]
fn known_answer_checks_catch_an_auditor_that_echoes_claims() {
    let mut m = AuditMarket::new(AuditParams {
        known_answer_ppm: 1_000_000,
        ..always()
    });
    let xs = inputs(3);
    let auditor = m.auditor.clone();
    // A first call is confirmed, so its input becomes a known answer.
    let [first] = m.submit(vec![m.call(1, &xs[0], true)])[..] else {
        unreachable!()
    };
    m.chain.block(&[], 100);
    m.reveal(first, &xs[0]);
    let truth = m.truth(&xs[0]);
    m.report(&auditor, first, truth);
    // The next sampled call comes with a check reusing the first call's input.
    let [second] = m.submit(vec![m.call(2, &xs[1], true)])[..] else {
        unreachable!()
    };
    let opened = m.chain.block(&[], 100);
    let checks: Vec<Audit> = opened
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::AuditOpened { audit, .. } if *audit != second => Some(m.audit(audit)),
            _ => None,
        })
        .collect();
    assert_eq!(checks.len(), 1);
    let check = &checks[0];
    assert_eq!(check.call, first);
    assert_ne!(check.claimed, truth);
    // Echoing the claimed hash fails the check.
    let stake0 = m.stake(&m.auditor);
    assert_eq!(
        m.report(&auditor, check.id, check.claimed).status,
        TxStatus::Applied
    );
    assert_eq!(m.stake(&m.auditor), stake0 - stake0 / 10);
    assert_eq!(
        m.audit(&check.id).status,
        AuditStatus::Closed {
            height: m.chain.height,
            verdict: AuditVerdict::CheckFailed {
                auditor: m.auditor.address()
            }
        }
    );
}

#[test]
fn an_honest_node_is_never_slashed_over_10000_audited_calls() {
    let mut m = AuditMarket::new(always());
    let xs = inputs(10_000);
    let stake0 = m.stake(&m.node);
    let auditor = m.auditor.clone();
    let node = m.node.clone();
    let mut settled = 0;
    for (round, chunk) in xs.chunks(1_000).enumerate() {
        let calls: Vec<PaidCall> = chunk
            .iter()
            .enumerate()
            .map(|(i, x)| m.call((round * 1_000 + i) as u64, x, true))
            .collect();
        let ids = m.submit(calls);
        m.chain.block(&[], 100);
        let reveals = ids
            .iter()
            .zip(chunk)
            .map(|(id, x)| Reveal {
                call: *id,
                tensor: le_bytes(x),
                image: None,
            })
            .collect();
        let out = m.chain.run(&node, Payload::RevealInputs { reveals });
        assert_eq!(out.status, TxStatus::Applied, "{out:?}");
        // The auditor answers half; the ledger referees the rest at the deadline.
        let reports = ids
            .iter()
            .zip(chunk)
            .step_by(2)
            .map(|(id, x)| AuditReport {
                audit: *id,
                output_hash: m.truth(x),
            })
            .collect();
        let out = m.chain.run(&auditor, Payload::ReportAudits { reports });
        assert_eq!(out.status, TxStatus::Applied, "{out:?}");
        m.chain.block(&[], m.chain.params.audit.report_window_ms);
        settled += ids
            .iter()
            .filter(|id| matches!(m.status(id), CallStatus::Settled { .. }))
            .count();
    }
    assert_eq!(settled, 10_000);
    assert_eq!(m.stake(&m.node), stake0);
    assert_eq!(m.chain.node(&m.node.address()).unwrap().faults, 0);
    assert!(
        !m.chain
            .events
            .iter()
            .any(|e| matches!(e.event, Event::Slashed { .. }))
    );
}

#[test]
fn at_the_default_rates_a_node_corrupting_5_percent_of_outputs_is_caught() {
    // The beacon comes from the test chain's state roots, which are deterministic: the run is
    // the same every time. The node serves batches of 500 calls, every 20th output corrupted,
    // reveals what is sampled and leaves the ledger to referee, until it is caught.
    let mut m = AuditMarket::new(AuditParams::default());
    let node = m.node.clone();
    let xs = inputs(500);
    let (mut served, mut sampled_total) = (0u64, 0usize);
    let caught = loop {
        assert!(served < 20_000, "not caught in {served} calls");
        let calls: Vec<PaidCall> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| m.call(served + i as u64, x, i % 20 != 7))
            .collect();
        let ids = m.submit(calls);
        served += ids.len() as u64;
        m.chain.block(&[], 100);
        let sampled: Vec<usize> = (0..ids.len())
            .filter(|&i| m.status(&ids[i]) == CallStatus::Sampled)
            .collect();
        sampled_total += sampled.len();
        if !sampled.is_empty() {
            let reveals = sampled
                .iter()
                .map(|&i| Reveal {
                    call: ids[i],
                    tensor: le_bytes(&xs[i]),
                    image: None,
                })
                .collect();
            let out = m.chain.run(&node, Payload::RevealInputs { reveals });
            assert_eq!(out.status, TxStatus::Applied, "{out:?}");
        }
        m.chain.block(&[], m.chain.params.challenge_window_ms);
        for (i, id) in ids.iter().enumerate() {
            let corrupted = i % 20 == 7;
            match m.status(id) {
                CallStatus::Refunded { offence, .. } => {
                    assert!(corrupted, "an honest call was refunded");
                    assert_eq!(offence, Offence::AuditMismatch);
                }
                CallStatus::Settled { .. } => {}
                other => panic!("call {i} is still {other:?}"),
            }
        }
        let refunded = sampled.iter().filter(|&&i| i % 20 == 7).count();
        if refunded > 0 {
            break refunded;
        }
    };
    let node = m.chain.node(&m.node.address()).unwrap();
    assert_eq!(node.faults as usize, caught);
    assert!(node.stake < 4 * m.chain.params.min_stake);
    // Probation (the first 200 calls at 10 %) then the 1 % floor.
    assert!(
        sampled_total >= 5,
        "{sampled_total} sampled in {served} calls"
    );
}

#[test]
fn the_rate_follows_the_deterrence_bound_with_floor_cap_and_probation() {
    let p = Params::default();
    // ECONOMICS.md worked example: R = $0.001, G = $0.0004, S = $0.01, d = 1, r = 0:
    // p* = 3.6 %, so 2·p* = 7.27 %.
    let q = Params {
        audit: AuditParams {
            collusion_bps: 0,
            ..AuditParams::default()
        },
        ..p.clone()
    };
    assert_eq!(
        q.audit_rate_ppm(Mode::Audited, 1_000, 10_000, false),
        72_727
    );
    // S = $0.10, d = 0.9, r = 0.1: p* = 0.49 %, so the 1 % floor binds.
    let q = Params {
        audit: AuditParams {
            detection_bps: 9_000,
            ..AuditParams::default()
        },
        ..p.clone()
    };
    assert_eq!(
        q.audit_rate_ppm(Mode::Audited, 1_000, 100_000, false),
        10_000
    );
    // Tiny stake: the 25 % cap binds; probation lifts a low rate to 10 %; TEE floor 0.5 %.
    assert_eq!(p.audit_rate_ppm(Mode::Audited, 1_000, 0, false), 250_000);
    assert_eq!(
        p.audit_rate_ppm(Mode::Audited, 1_000, 1 << 40, true),
        100_000
    );
    assert_eq!(p.audit_rate_ppm(Mode::Tee, 1_000, 1 << 40, false), 5_000);
    assert_eq!(
        p.audit_rate_ppm(Mode::Audited, 1_000, 1 << 40, false),
        10_000
    );
    // Signed mode: the floor whatever the stake, probation aside.
    assert_eq!(p.audit_rate_ppm(Mode::Signed, 1_000, 0, false), 10_000);
    assert_eq!(p.audit_rate_ppm(Mode::Signed, 1_000, 0, true), 100_000);
}

#[test]
fn the_beacon_draw_is_uniform_enough() {
    let beacon = audit::beacon(&Hash32([3; 32]), 7);
    let hits = (0..100_000u32)
        .filter(|i| {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_le_bytes());
            audit::draw_ppm(&beacon, b"sample", &Hash32(id)) < 100_000
        })
        .count();
    // 10 % of 100,000 ± 5 σ (σ ≈ 95).
    assert!((9_525..=10_475).contains(&hits), "{hits}");
}
