//! Evidence of equivocation slashes a validator's stake once per offence, rewards the reporter
//! and burns the rest; supply is conserved (checked by every block of the test chain).

mod common;

use common::*;
use std::sync::Arc;
use verity_ledger::{
    state::{self, Validator},
    *,
};

/// Accepts `b"equivocation" ‖ key (32 B) ‖ view (8 B, big-endian)`, names anything else.
struct FakeVerifier;

const TAG: &[u8] = b"equivocation";

impl EquivocationVerifier for FakeVerifier {
    fn verify(&self, evidence: &[u8]) -> Result<Equivocation, String> {
        let rest = evidence
            .strip_prefix(TAG)
            .filter(|r| r.len() == 40)
            .ok_or_else(|| format!("{} bytes of something else", evidence.len()))?;
        Ok(Equivocation {
            validator: PublicKeyBytes(rest[..32].try_into().unwrap()),
            view: u64::from_be_bytes(rest[32..].try_into().unwrap()),
        })
    }
}

fn evidence(validator: &Keypair, view: u64) -> Payload {
    let mut evidence = TAG.to_vec();
    evidence.extend_from_slice(&validator.public().0);
    evidence.extend_from_slice(&view.to_be_bytes());
    Payload::ReportEquivocation { evidence }
}

fn chain(reporter: &Keypair) -> TestChain {
    let mut chain = TestChain::new(&[(reporter, FUNDS)]);
    chain.ledger = Ledger::with_equivocation_verifier(CHAIN, Arc::new(FakeVerifier));
    chain
}

fn validator(chain: &TestChain) -> Validator {
    let set: Vec<Validator> = state::read(&chain.state, state::VALIDATORS_KEY).unwrap();
    set.into_iter().next().unwrap()
}

fn failure(outcome: &TxOutcome) -> (String, String) {
    match &outcome.status {
        TxStatus::Failed { code, message } => (code.clone(), message.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn valid_evidence_slashes_the_stake_and_pays_the_reporter() {
    let reporter = key(1);
    let mut chain = chain(&reporter);
    let offender = key(999);
    assert_eq!(validator(&chain).stake, VALIDATOR_STAKE);
    assert_eq!(chain.chain_info().total_supply, FUNDS + VALIDATOR_STAKE);

    let outcome = chain.run(&reporter, evidence(&offender, 42));
    assert_eq!(outcome.status, TxStatus::Applied);

    let params = &chain.params;
    let amount = VALIDATOR_STAKE / 10; // validator_slash_bps = 1000
    let to_reporter = amount / 10 + params.base_fee; // equivocation_reporter_bps = 1000
    let slashed = validator(&chain);
    assert_eq!(slashed.stake, VALIDATOR_STAKE - amount);
    assert!(slashed.slashed);
    assert_eq!(
        chain.account(&reporter.address()).balance,
        FUNDS - params.base_fee + to_reporter,
        "the reporter is reimbursed its fee and earns its share"
    );
    assert_eq!(chain.chain_info().burned, amount - to_reporter);
    let event = chain
        .events
        .iter()
        .find_map(|e| match &e.event {
            Event::ValidatorSlashed {
                validator,
                view,
                amount,
                reporter,
                to_reporter,
                burned,
            } => Some((*validator, *view, *amount, *reporter, *to_reporter, *burned)),
            _ => None,
        })
        .expect("a ValidatorSlashed event");
    assert_eq!(
        event,
        (
            offender.public(),
            42,
            amount,
            reporter.address(),
            to_reporter,
            amount - to_reporter
        )
    );
    assert_eq!(chain.total(), chain.supply);
}

#[test]
fn each_offence_is_slashed_once() {
    let reporter = key(1);
    let mut chain = chain(&reporter);
    let offender = key(999);
    assert_eq!(
        chain.run(&reporter, evidence(&offender, 7)).status,
        TxStatus::Applied
    );
    let after_first = validator(&chain).stake;
    let (code, message) = failure(&chain.run(&reporter, evidence(&offender, 7)));
    assert_eq!(code, "duplicate_evidence");
    assert!(message.contains("view 7"), "{message}");
    assert_eq!(validator(&chain).stake, after_first);
    // Another view is another offence: 10 % of what is left.
    assert_eq!(
        chain.run(&reporter, evidence(&offender, 8)).status,
        TxStatus::Applied
    );
    assert_eq!(validator(&chain).stake, after_first - after_first / 10);
}

#[test]
fn evidence_against_a_non_validator_is_refused() {
    let reporter = key(1);
    let mut chain = chain(&reporter);
    let (code, message) = failure(&chain.run(&reporter, evidence(&key(5), 1)));
    assert_eq!(code, "unknown_validator");
    assert!(message.contains(&key(5).public().to_string()), "{message}");
    assert_eq!(validator(&chain).stake, VALIDATOR_STAKE);
}

#[test]
fn bad_evidence_is_refused_with_the_verifiers_reason() {
    let reporter = key(1);
    let mut chain = chain(&reporter);
    let payload = Payload::ReportEquivocation {
        evidence: b"forged".to_vec(),
    };
    let (code, message) = failure(&chain.run(&reporter, payload));
    assert_eq!(code, "invalid_evidence");
    assert!(message.contains("6 bytes of something else"), "{message}");
    assert!(!validator(&chain).slashed);

    let oversized = Payload::ReportEquivocation {
        evidence: vec![0; equivocation::MAX_EVIDENCE_BYTES + 1],
    };
    let outcome = chain.run(&reporter, oversized);
    assert_eq!(rejected_code(&outcome).as_deref(), Some("too_many_items"));
}

#[test]
fn a_ledger_without_a_verifier_refuses_evidence() {
    let reporter = key(1);
    let mut chain = TestChain::new(&[(&reporter, FUNDS)]);
    let tx = chain.sign(&reporter, evidence(&key(999), 3));
    let error = chain
        .ledger
        .check_tx(&chain.state, &tx, chain.time_ms)
        .unwrap_err();
    assert_eq!(error.code(), "evidence_unverifiable");
    let (code, _) = failure(&chain.block(&[tx], 1_000).outcomes[0]);
    assert_eq!(code, "evidence_unverifiable");
    assert_eq!(validator(&chain).stake, VALIDATOR_STAKE);
}

#[test]
fn validator_stake_and_slash_parameters_default_in_json() {
    let reporter = key(1);
    let chain = TestChain::new(&[(&reporter, FUNDS)]);
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: T0,
        params: chain.params.clone(),
        accounts: vec![],
        validators: vec![GenesisValidator {
            public_key: key(999).public(),
            p2p: "127.0.0.1:1".into(),
            stake: 0,
        }],
    };
    let mut json = serde_json::to_value(&genesis).unwrap();
    json["validators"][0]
        .as_object_mut()
        .unwrap()
        .remove("stake");
    let params = json["params"].as_object_mut().unwrap();
    params.remove("validator_slash_bps");
    params.remove("equivocation_reporter_bps");
    let parsed = Genesis::from_json(&json.to_string()).unwrap();
    assert_eq!(parsed, genesis);

    let mut params = Params {
        validator_slash_bps: 10_001,
        ..Params::default()
    };
    assert!(
        params
            .validate()
            .unwrap_err()
            .contains("validator_slash_bps")
    );
    params.validator_slash_bps = 10_000;
    params.equivocation_reporter_bps = 10_001;
    assert!(params.validate().is_err());
}
