//! Crash safety: a validator killed with SIGKILL while it accepts and settles calls restarts on
//! the same data directory; its finalized height never goes back, every call is settled once,
//! and replaying the stored blocks from genesis reproduces every stored state root.

mod support;
use std::{collections::BTreeMap, time::Duration};
use support::*;
use verity_chain::BlockLimits;
use verity_client::Client;
use verity_ledger::{
    Event, EventRecord, Hash32, Keypair, Ledger, Mode, ModePrice, Namespaces, PaidCall, Params,
    Payload, Receipt, Ticket, Transaction, outcome::commitment_from_bytes,
};
use verity_node::home::write_key;

struct Actors {
    ns: Namespaces,
    caller: Keypair,
    node: Keypair,
    model: Hash32,
}

impl Actors {
    fn send(&self, client: &Client, key: &Keypair, payload: Payload, wait: bool) -> Option<Hash32> {
        let params = client.params().unwrap().params;
        let calls = payload.call_count();
        let tx = Transaction {
            signer: key.public(),
            nonce: client.account(&key.address()).unwrap().next_nonce,
            fee: params.required_fee(calls),
            payload,
        }
        .sign(key, &self.ns);
        let hash = client.submit(&tx).ok()?.hash;
        if wait {
            client.wait_tx(&hash, Duration::from_secs(30)).unwrap();
        }
        Some(hash)
    }

    fn batch(&self, first: u64, n: u64, now_ms: u64) -> Payload {
        let calls = (first..first + n)
            .map(|i| {
                let ticket = Ticket {
                    caller: self.caller.address(),
                    model: self.model,
                    node: self.node.address(),
                    input_hash: Hash32([(i % 251) as u8; 32]),
                    mode: Mode::Signed,
                    price_cap: 1_000,
                    nonce: i,
                    expiry_ms: now_ms + 60_000,
                };
                let receipt = Receipt {
                    ticket: ticket.id(),
                    output_hash: Hash32([1; 32]),
                    price: 700 + i % 300,
                    time_ms: now_ms,
                };
                PaidCall {
                    ticket_signature: ticket.sign(&self.caller, &self.ns),
                    receipt_signature: receipt.sign(&self.node, &self.ns),
                    ticket,
                    receipt,
                }
            })
            .collect();
        Payload::SubmitReceipts { calls }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn sigkill_while_settling_loses_nothing_and_pays_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let data = dir.path().join("validator");
    let caller = Keypair::from_seed(11);
    let node = Keypair::from_seed(12);
    write_key(&home.join("keys/caller.key"), &caller).unwrap();
    write_key(&home.join("keys/node.key"), &node).unwrap();
    let params = Params {
        challenge_window_ms: 1_500,
        ..Params::default()
    };
    let params_file = dir.path().join("params.json");
    std::fs::write(&params_file, serde_json::to_string(&params).unwrap()).unwrap();
    let api = free_port();
    let url = format!("http://127.0.0.1:{api}");
    ok(
        &home,
        &url,
        &[
            "init",
            "--data-dir",
            data.to_str().unwrap(),
            "--chain-id",
            "crash-test",
            "--fund",
            "caller=100000000000000",
            "--fund",
            "node=100000000000000",
            "--api",
            &format!("127.0.0.1:{api}"),
            "--p2p",
            &format!("127.0.0.1:{}", free_port()),
            "--params",
            params_file.to_str().unwrap(),
            "--block-ms",
            "100",
        ],
    );
    let run_args = ["validator", "run", "--data-dir", data.to_str().unwrap()];
    let log = dir.path().join("validator.log");
    let v = Process::start(&home, &url, &run_args, log.clone());
    let client = v.client();
    let actors = Actors {
        ns: Namespaces::new("crash-test"),
        caller: caller.clone(),
        node: node.clone(),
        model: Hash32([42; 32]),
    };
    actors.send(
        &client,
        &caller,
        Payload::RegisterModel {
            model: actors.model,
            name: "m".into(),
            royalty_bps: 1_500,
            input: verity_ledger::InputSpec {
                shape: vec![1, 64],
                dtype: verity_ledger::DType::F32,
            },
            modes: vec![Mode::Signed],
        },
        true,
    );
    actors.send(
        &client,
        &node,
        Payload::RegisterNode {
            endpoint: "http://127.0.0.1:9".into(),
            hardware: verity_ledger::HardwareProfile {
                gpu: "cpu".into(),
                watts: 65,
                cost_usd_cents: 0,
                capacity: 50,
            },
            models: vec![actors.model],
            prices: vec![ModePrice {
                mode: Mode::Signed,
                price: 1_000,
            }],
            stake: params.min_stake,
        },
        true,
    );
    actors.send(
        &client,
        &caller,
        Payload::EscrowDeposit { amount: 50_000_000 },
        true,
    );

    // Batches flow; kill in the middle of acceptance and settlement.
    let mut next = 0;
    let mut seen_height = 0;
    for _ in 0..6 {
        actors.send(&client, &node, actors.batch(next, 200, now_ms()), true);
        next += 200;
        seen_height = seen_height.max(client.status().unwrap().height);
    }
    for _ in 0..3 {
        actors.send(&client, &node, actors.batch(next, 200, now_ms()), false);
        next += 200;
    }
    std::thread::sleep(Duration::from_millis(700));
    seen_height = seen_height.max(client.status().unwrap().height);
    v.kill9();

    let v = Process::start(&home, &url, &run_args, log.clone());
    let client = v.client();
    let restarted = client.status().unwrap().height;
    assert!(
        restarted >= seen_height,
        "finalized height went back: {restarted} < {seen_height}"
    );
    for _ in 0..3 {
        actors.send(&client, &node, actors.batch(next, 200, now_ms()), true);
        next += 200;
    }
    // Let every accepted call settle.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let escrowed = client
            .calls(verity_client::CallFilter::Node(node.address()), 500)
            .unwrap();
        if escrowed
            .items
            .iter()
            .all(|c| matches!(c.status, verity_ledger::state::CallStatus::Settled { .. }))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "calls did not settle");
        std::thread::sleep(Duration::from_millis(300));
    }
    v.wait_for_height(client.status().unwrap().height + 2);
    v.kill9();

    // Replay every stored block from genesis and compare roots; count acceptances and settlements.
    let store = verity_storage::Store::open(&data.join("ledger.redb")).unwrap();
    let genesis = verity_ledger::Genesis::from_json(
        &std::fs::read_to_string(data.join("genesis.json")).unwrap(),
    )
    .unwrap();
    let ledger = Ledger::new(&genesis.chain_id);
    let out = Ledger::genesis(&genesis).unwrap();
    assert_eq!(store.state_root(0).unwrap(), Some(out.state_root.0));
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut commitment = out.commitment;
    for (k, v) in out.changes {
        state.insert(k, v.unwrap());
    }
    let limits = BlockLimits {
        max_txs: 1 << 20,
        max_bytes: 1 << 30,
    };
    let head = store.head().unwrap().unwrap();
    let mut accepted = BTreeMap::new();
    let mut settled = BTreeMap::new();
    for h in 1..=head.height {
        let block =
            verity_node::app::decode_block(&store.block(h).unwrap().unwrap(), &limits).unwrap();
        let out = ledger
            .execute_block(&state, &commitment, h, block.timestamp_ms, &block.txs)
            .unwrap();
        for (k, v) in out.changes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
        commitment = out.commitment;
        assert_eq!(
            Some(out.state_root.0),
            store.state_root(h).unwrap(),
            "root differs at height {h}"
        );
        for e in &out.events {
            match e.event {
                Event::CallAccepted { call, .. } => *accepted.entry(call).or_insert(0) += 1,
                Event::CallSettled { call, .. } => *settled.entry(call).or_insert(0) += 1,
                _ => {}
            }
        }
    }
    let snapshot = store.snapshot().unwrap();
    let stored = commitment_from_bytes(&snapshot.commitment().unwrap()).unwrap();
    assert_eq!(stored.checksum(), commitment.checksum());
    assert!(
        accepted.len() >= 1_800,
        "only {} calls accepted",
        accepted.len()
    );
    assert!(
        accepted.values().all(|&n| n == 1),
        "a call was accepted twice"
    );
    assert!(
        settled.values().all(|&n| n == 1),
        "a call was settled twice"
    );
    assert_eq!(accepted.len(), settled.len(), "every accepted call settled");
    // The stored event log agrees with the replay.
    let stored_settled = store
        .events_by_index(
            &verity_node::app::kind_key("CallSettled"),
            verity_storage::Order::Ascending,
            None,
            verity_storage::MAX_PAGE,
        )
        .unwrap();
    let first: EventRecord = borsh::from_slice(&stored_settled[0].1).unwrap();
    assert!(matches!(first.event, Event::CallSettled { .. }));
}
