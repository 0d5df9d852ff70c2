//! The receipt queue across shutdowns and crashes: every served call is paid exactly once.

mod support;

use std::time::Duration;
use support::*;
use verity_api::{CallInput, InferRequest};
use verity_ledger::{Keypair, state::CallStatus};

/// A batch interval long enough that nothing is submitted while a test serves.
const NEVER: Duration = Duration::from_secs(60);

/// Serve one call per nonce; the requests.
fn serve(node: &Node, caller: &Keypair, nonces: std::ops::Range<u64>) -> Vec<InferRequest> {
    nonces
        .map(|nonce| {
            let label = (nonce % 10) as u32;
            let request = request(
                caller,
                node.address(),
                CallInput::image(&sample(label)),
                nonce,
            );
            let (status, body) = node.infer(&request);
            assert_eq!(status, 200, "{body}");
            request
        })
        .collect()
}

#[test]
fn graceful_shutdown_submits_every_queued_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(20, dir.path());
    config.batch_interval = NEVER;
    let node = Node::start(config);
    let payer = caller(21, 10_000);
    let ids: Vec<_> = serve(&node, &payer, 0..4).iter().map(call_id).collect();
    assert_eq!(node.health()["queue"], 4);
    assert!(client().call(&ids[0]).is_err(), "nothing submitted yet");

    // While draining, the node still answers, and refuses new calls.
    let late = request(&payer, node.address(), CallInput::image(&sample(0)), 99);
    assert_eq!(node.health()["shutting_down"], false);
    let mut node = node;
    let draining = node.rt.spawn(node.handle.take().unwrap().shutdown());
    wait_until(5, "shutdown to start", || {
        node.health()["shutting_down"] == true
    });
    let (status, body) = node.infer(&late);
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("shutting_down"))
    );
    let summary = node.rt.block_on(draining).unwrap();
    assert_eq!(summary.left_queued, 0);
    assert_eq!(summary.receipts.accepted, 4);
    assert_eq!(summary.receipts.earned, 4 * PRICE);
    let ledger = client();
    for id in &ids {
        assert_eq!(ledger.call(id).unwrap().price, PRICE);
    }
    assert_eq!(escrow_of(&payer.address()), 10_000 - 4 * PRICE);
}

#[test]
fn a_crash_loses_no_receipt_and_pays_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = config(22, dir.path());
    first.batch_interval = NEVER;
    let node = Node::start(first);
    let payer = caller(23, 10_000);
    let served = serve(&node, &payer, 0..3);
    let ids: Vec<_> = served.iter().map(call_id).collect();
    node.crash();
    let ledger = client();
    assert!(ids.iter().all(|id| ledger.call(id).is_err()));
    assert_eq!(escrow_of(&payer.address()), 10_000);

    let node = Node::start(config(22, dir.path()));
    assert_eq!(
        client().node(&node.address()).unwrap().endpoint,
        node.url,
        "endpoint updated"
    );
    wait_until(10, "the reloaded queue submitted", || {
        node.health()["queue"] == 0 && ids.iter().all(|id| ledger.call(id).is_ok())
    });
    for id in &ids {
        let call = ledger.wait_settled(id, Duration::from_secs(20)).unwrap();
        assert!(matches!(call.status, CallStatus::Settled { .. }));
    }
    // A replay of a served ticket is refused from the restored memory of served tickets.
    let (status, body) = node.infer(&served[0]);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("duplicate_ticket"))
    );
    let summary = node.shutdown();
    assert_eq!(summary.receipts.accepted, 3);
    assert_eq!(escrow_of(&payer.address()), 10_000 - 3 * PRICE);
}

#[test]
fn calls_the_ledger_already_has_come_back_duplicate_and_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = config(24, dir.path());
    first.batch_interval = NEVER;
    let node = Node::start(first);
    let payer = caller(25, 10_000);
    let ids: Vec<_> = serve(&node, &payer, 0..2).iter().map(call_id).collect();
    // The queue as a crash right after the ledger's outcome, before the removal, would leave it.
    let db = dir.path().join(verity_provider::config::RECEIPTS_DB);
    let image = std::fs::read(&db).unwrap();
    assert_eq!(node.shutdown().receipts.accepted, 2);
    std::fs::write(&db, image).unwrap();

    let node = Node::start(config(24, dir.path()));
    wait_until(10, "the duplicates dropped", || node.health()["queue"] == 0);
    let metrics = node.metrics();
    assert_eq!(
        metric(
            &metrics,
            "verity_node_receipts_total{outcome=\"duplicate\"}"
        ),
        2
    );
    assert_eq!(
        metric(&metrics, "verity_node_receipts_total{outcome=\"accepted\"}"),
        0
    );
    let more: Vec<_> = serve(&node, &payer, 10..11).iter().map(call_id).collect();
    wait_until(10, "a new call accepted", || {
        client().call(&more[0]).is_ok()
    });
    node.shutdown();
    let ledger = client();
    for id in ids.iter().chain(&more) {
        assert_eq!(ledger.call(id).unwrap().price, PRICE);
    }
    assert_eq!(escrow_of(&payer.address()), 10_000 - 3 * PRICE);
}
