//! Verifiable modes through `verity devnet --traffic` with real processes.
//!
//! - Audited, with `--faulty-ppm`: node-1 corrupts a share of its outputs; the gateway's
//!   known-answer canary may catch it first, and otherwise the ledger samples calls, node-1
//!   reveals their inputs, the in-process auditor re-executes them, and the corrupted ones that
//!   were sampled are refunded (node-1 slashed and jailed), while the caller's escrow pays for
//!   exactly the settled calls.
//! - Zk: every call is proved by its node after answering and settles on its proof.
//! - Tee: each node registers a software-enclave key with an attestation document; the
//!   receipts it signs are accepted and settle.

mod support;
use support::*;

#[test]
fn audits_catch_a_node_corrupting_outputs_and_callers_are_refunded() {
    // node-1 corrupts 30 %. It fails both canaries with probability 9 %; otherwise it serves
    // about a third of one model's 300 calls while every node is on probation (audited at
    // 25 %), so a sampled corrupted call is all but certain (none: 0.75^30 ≈ 0.02 %).
    let (s, stdout) = devnet_traffic(&[
        "--traffic",
        "600",
        "--mode",
        "audited",
        "--faulty-ppm",
        "300000",
    ]);
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("answered"), 600, "{s}");
    assert_eq!(n("failed"), 0, "{s}");
    // The gateway's canaries may catch node-1, before the traffic or during it (a fresh random
    // input is corrupted with probability 30 %), keeping it off that model; otherwise sampled
    // corrupted calls are refunded. The caller pays for exactly the settled calls.
    let canary_caught = stdout
        .lines()
        .any(|l| l.contains("node-1 answered a known-answer call") || l.contains("node-1 failed"));
    if !canary_caught {
        assert!(
            n("refunded") >= 1,
            "no corrupted call was caught: {s}\n{stdout}"
        );
        assert!(stdout.contains("refunded (node at fault)"), "{stdout}");
    }
    assert_eq!(n("escrow_spent"), n("paid"), "{s}");
    assert!(s["evidence"]["audit"].as_u64().unwrap_or(0) >= 1, "{s}");
    assert!(s["splits_exact"].as_bool().unwrap() && s["ids_distinct"].as_bool().unwrap());
}

#[test]
fn zk_calls_settle_on_their_proofs() {
    let (s, _) = devnet_traffic(&["--traffic", "60", "--mode", "zk"]);
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("answered"), 60, "{s}");
    assert_eq!(n("settled"), 60, "{s}");
    assert_eq!(s["evidence"]["zk proof"].as_u64(), Some(60), "{s}");
    assert_eq!(n("escrow_spent"), n("paid"), "{s}");
}

#[test]
fn tee_calls_are_signed_by_attested_enclave_keys_and_settle() {
    let (s, _) = devnet_traffic(&["--traffic", "40", "--mode", "tee"]);
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("answered"), 40, "{s}");
    assert_eq!(n("settled"), 40, "{s}");
    assert_eq!(n("escrow_spent"), n("paid"), "{s}");
}
