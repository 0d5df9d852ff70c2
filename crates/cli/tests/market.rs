//! The market end to end with real processes: `verity devnet` (ledger, hub, gateway, two
//! provider nodes) plus a third node as its own `verity node run` process, the cheapest, so the
//! gateway sends it most calls. During `verity traffic` the third node is killed with SIGKILL
//! while its receipts sit in its durable queue: the gateway retries the other nodes, no caller
//! pays for a failed attempt, and once the node restarts its queued receipts settle.

mod support;
use std::{
    process::Stdio,
    time::{Duration, Instant},
};
use support::*;

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn health_queue(endpoint: &str) -> Option<u64> {
    let body: serde_json::Value = ureq::get(format!("{endpoint}/health"))
        .call()
        .ok()?
        .body_mut()
        .read_json()
        .ok()?;
    body["queue"].as_u64()
}

fn start_node3(
    home: &std::path::Path,
    url: &str,
    args: &[String],
    log: std::path::PathBuf,
) -> std::process::Child {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    verity(home, url)
        .args(args)
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap()
}

#[test]
fn a_node_killed_during_traffic_costs_callers_nothing_and_its_receipts_settle_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ports = free_ports(7, 2);
    let [api, p2p, gateway, hub, node3_port, first_node, _] = ports[..] else {
        unreachable!()
    };
    let url = format!("http://{}", addr(api));
    let devnet_args = [
        "devnet".to_string(),
        "--api".into(),
        addr(api),
        "--p2p".into(),
        addr(p2p),
        "--gateway".into(),
        addr(gateway),
        "--hub".into(),
        addr(hub),
        "--nodes".into(),
        "2".into(),
        "--first-node-port".into(),
        first_node.to_string(),
    ];
    let devnet_args: Vec<&str> = devnet_args.iter().map(String::as_str).collect();
    let devnet = Process::start(&home, &url, &devnet_args, dir.path().join("devnet.log"));
    let client = devnet.client();
    wait_http(&format!("http://{}/health", addr(gateway)));
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.nodes().map_or(0, |n| n.len()) < 2 {
        assert!(
            Instant::now() < deadline,
            "devnet nodes did not register:\n{}",
            std::fs::read_to_string(dir.path().join("devnet.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let models: Vec<String> = client
        .models()
        .unwrap()
        .iter()
        .map(|m| m.id.to_string())
        .collect();

    // Node 3 holds its receipts (a 20 s batch interval) until it is killed. All three nodes are
    // new, so the router spreads the calls over them by capacity.
    let node3_url = format!("http://{}", addr(node3_port));
    let node3_args = |batch_ms: &str| -> Vec<String> {
        [
            "node",
            "run",
            "--key",
            "node-3",
            "--models",
            &models.join(","),
            "--price",
            "signed=900",
            "--listen",
            &addr(node3_port),
            "--model-source",
            &format!("http://{}", addr(hub)),
            "--batch-ms",
            batch_ms,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut node3 = Guard(start_node3(
        &home,
        &url,
        &node3_args("20000"),
        dir.path().join("node3.log"),
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.nodes().map_or(0, |n| n.len()) < 3 || health_queue(&node3_url).is_none() {
        assert!(
            Instant::now() < deadline,
            "node 3 did not start:\n{}",
            std::fs::read_to_string(dir.path().join("node3.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Node 3 is registered; wait until the gateway's view includes it for both models.
    let gateway_client = verity_client::GatewayClient::new(&format!("http://{}", addr(gateway)));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let quotes: Vec<_> = models
            .iter()
            .map(|m| gateway_client.quote(&m.parse().unwrap(), verity_ledger::Mode::Signed, None))
            .collect();
        if quotes
            .iter()
            .all(|q| q.as_ref().is_ok_and(|q| q.candidates.len() >= 3))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not quote node 3: {quotes:?}\nnodes: {:?}\ndevnet log:\n{}",
            client.nodes(),
            std::fs::read_to_string(dir.path().join("devnet.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let summary_path = dir.path().join("summary.json");
    let mut traffic = verity(&home, &url)
        .args([
            "traffic",
            "1500",
            "--concurrency",
            "4",
            "--gateway",
            &format!("http://{}", addr(gateway)),
            "--summary-json",
            summary_path.to_str().unwrap(),
            "--settle-timeout-s",
            "120",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Kill node 3 once it has served (and queued) some calls.
    let deadline = Instant::now() + Duration::from_secs(120);
    let queued = loop {
        let q = health_queue(&node3_url).unwrap_or(0);
        if q >= 20 {
            break q;
        }
        if Instant::now() > deadline || traffic.try_wait().unwrap().is_some() {
            let _ = traffic.kill();
            let out = traffic.wait_with_output().unwrap();
            panic!(
                "node 3 served no calls; traffic:\n{}\n{}\nnode 3:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(dir.path().join("node3.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    node3.0.kill().unwrap();
    node3.0.wait().unwrap();

    // Let traffic run on without it for a while, then restart it with a short batch interval.
    std::thread::sleep(Duration::from_secs(3));
    let _node3 = Guard(start_node3(
        &home,
        &url,
        &node3_args("300"),
        dir.path().join("node3.log"),
    ));

    let out = traffic.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let get = |u: String| {
            ureq::get(u)
                .call()
                .map(|mut r| r.body_mut().read_to_string().unwrap_or_default())
                .unwrap_or_else(|e| e.to_string())
        };
        panic!(
            "traffic failed:\n{stdout}\n{}\ngateway health: {}\nquote: {}\ndevnet log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            get(format!("http://{}/health", addr(gateway))),
            get(format!(
                "http://{}/v1/quote?model={}&mode=signed",
                addr(gateway),
                models[0]
            )),
            std::fs::read_to_string(dir.path().join("devnet.log")).unwrap_or_default()
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["answered"], 1500, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert!(
        summary["retried"].as_u64().unwrap() >= 1,
        "the kill caused retries: {summary}"
    );
    assert_eq!(summary["settled"], 1500, "{summary}");
    assert_eq!(summary["paid"], summary["escrow_spent"], "{summary}");

    // Every call node 3 queued before the kill is on the ledger and settled.
    let node3_addr = client
        .nodes()
        .unwrap()
        .iter()
        .find(|n| n.prices.iter().any(|p| p.price == 900))
        .unwrap()
        .operator;
    let served = client
        .calls(verity_client::CallFilter::Node(node3_addr), 500)
        .unwrap();
    // A call in flight at the kill may have been queued but never answered; its retry elsewhere
    // was paid instead (same ticket nonce), so allow one such call per concurrent caller thread.
    assert!(
        served.items.len() as u64 >= queued.saturating_sub(4),
        "node 3 had {queued} queued receipts, ledger has {}",
        served.items.len()
    );
}
