//! Verifiable modes through `verity devnet --traffic` with real processes.
//!
//! - Audited, with `--faulty-ppm`: node-1 corrupts a share of its outputs; the ledger samples
//!   calls, node-1 reveals their inputs, the in-process auditor re-executes them, and the
//!   corrupted ones that were sampled are refunded (node-1 slashed and jailed), while the
//!   caller's escrow pays for exactly the settled calls.
//! - Zk: every call is proved by its node after answering and settles on its proof.
//! - Tee: each node registers a software-enclave key with an attestation document; the
//!   receipts it signs are accepted and settle.

mod support;
use support::*;

/// Run `verity devnet --traffic` with `extra` flags; the summary JSON and stdout.
fn devnet_traffic(extra: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ports = free_ports(7, 3);
    let [api, p2p, gateway, hub, first_node, _, _] = ports[..] else {
        unreachable!()
    };
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let url = format!("http://{}", addr(api));
    let summary = dir.path().join("summary.json");
    let out = run(
        &home,
        &url,
        &[
            "devnet",
            "--api",
            &addr(api),
            "--p2p",
            &addr(p2p),
            "--gateway",
            &addr(gateway),
            "--hub",
            &addr(hub),
            "--first-node-port",
            &first_node.to_string(),
            "--summary-json",
            summary.to_str().unwrap(),
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "devnet failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    (s, stdout.into_owned())
}

#[test]
fn audits_catch_a_node_corrupting_outputs_and_callers_are_refunded() {
    let (s, stdout) = devnet_traffic(&[
        "--traffic",
        "240",
        "--mode",
        "audited",
        "--faulty-ppm",
        "200000",
    ]);
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("answered"), 240, "{s}");
    assert_eq!(n("failed"), 0, "{s}");
    // Sampled corrupted calls were refunded; the caller paid for exactly the settled ones.
    assert!(n("refunded") >= 1, "no corrupted call was caught: {s}");
    assert_eq!(n("escrow_spent"), n("paid"), "{s}");
    assert!(s["evidence"]["audit"].as_u64().unwrap_or(0) >= 1, "{s}");
    assert!(s["splits_exact"].as_bool().unwrap() && s["ids_distinct"].as_bool().unwrap());
    assert!(stdout.contains("refunded (node at fault)"), "{stdout}");
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
