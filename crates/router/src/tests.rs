use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

const STAKE: u128 = 10_000_000_000;

/// An honest, established node: 10 calls/s, 1 000 clean outcomes.
fn node(id: u32) -> NodeEvidence<u32> {
    NodeEvidence {
        id,
        stake: STAKE,
        declared_capacity: 10.0,
        price: 1_000,
        latency_ms: Some(200.0),
        jailed: false,
        fault_probation: false,
        canaries_passed: 1,
        canaries_failed: 0,
        audits_passed: 20,
        audits_failed: 0,
        independent_ok: 979,
        sla_misses: 1,
        refusals: 0,
    }
}

/// A newcomer that has passed its canary and nothing else.
fn newcomer(id: u32) -> NodeEvidence<u32> {
    NodeEvidence {
        latency_ms: None,
        audits_passed: 0,
        independent_ok: 0,
        sla_misses: 0,
        ..node(id)
    }
}

fn open_request() -> Request {
    Request {
        max_price: u128::MAX,
        max_latency_ms: None,
    }
}

fn standing(e: &Exposure<u32>, id: u32) -> Standing {
    e.node(&id).unwrap().standing
}

fn share(e: &Exposure<u32>, id: u32) -> f64 {
    e.node(&id).unwrap().share
}

fn total(e: &Exposure<u32>) -> f64 {
    e.nodes.iter().map(|n| n.share).sum()
}

#[test]
fn quality_is_the_beta_posterior() {
    let params = RouterParams::default();
    let q = quality(&params, &newcomer(1));
    // Beta(1 + 1, 1 + 0): mean 2/3, sd = sqrt(2/(9·4)) = 0.2357.
    assert_eq!(q.successes, 1.0);
    assert_eq!(q.failures, 0.0);
    assert!((q.mean - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(q.lower, 0.0, "2/3 − 3·0.2357 clamped to 0");
    assert_eq!(q.upper, 1.0, "clamped to 1");

    let q = quality(&params, &node(1));
    // 1 000 successes, 1 failure: Beta(1001, 2).
    assert_eq!((q.successes, q.failures), (1000.0, 1.0));
    assert!((q.mean - 1001.0 / 1003.0).abs() < 1e-12);
    // sd = sqrt(1001·2 / (1003²·1004)) = 0.001408; lower = 0.998006 − 3·0.001408.
    assert!((q.lower - 0.993782).abs() < 1e-5, "lower {}", q.lower);

    let mut cheat = node(1);
    cheat.audits_failed = 1;
    let q = quality(&params, &cheat);
    assert_eq!(
        q.failures, 51.0,
        "one failed audit weighs 50, plus the SLA miss"
    );
}

#[test]
fn shares_sum_to_one_and_epsilon_is_honoured() {
    let params = RouterParams::default();
    let mut nodes: Vec<_> = (0..8).map(node).collect();
    nodes[3].declared_capacity = 30.0;
    nodes[3].stake = 3 * STAKE;
    nodes.push(newcomer(100));
    nodes.push(NodeEvidence {
        declared_capacity: 5.0,
        ..newcomer(101)
    });
    let e = assess(&params, &nodes, &open_request());
    assert!((total(&e) - 1.0).abs() < 1e-12);
    assert_eq!(standing(&e, 100), Standing::Probation);
    assert_eq!(standing(&e, 0), Standing::Pool);
    let probation = share(&e, 100) + share(&e, 101);
    assert!((probation - 0.05).abs() < 1e-12, "ε = 5 %: {probation}");
    assert!((share(&e, 100) - 0.05 * 10.0 / 15.0).abs() < 1e-12);
    // Pool: 7 nodes of 10 calls/s and one of 30 share 95 % in proportion.
    assert!((share(&e, 0) - 0.95 * 10.0 / 100.0).abs() < 1e-12);
    assert!((share(&e, 3) - 0.95 * 30.0 / 100.0).abs() < 1e-12);

    // Without probation nodes the pool takes everything.
    let e = assess(&params, &nodes[..8], &open_request());
    assert!((share(&e, 0) - 0.1).abs() < 1e-12);
    assert!((total(&e) - 1.0).abs() < 1e-12);

    // Only newcomers: they are the main group and share everything.
    let e = assess(&params, &nodes[8..], &open_request());
    assert!((share(&e, 100) - 10.0 / 15.0).abs() < 1e-12);
    assert!((total(&e) - 1.0).abs() < 1e-12);

    // Nothing eligible: all shares 0.
    let e = assess(
        &params,
        &nodes,
        &Request {
            max_price: 1,
            max_latency_ms: None,
        },
    );
    assert_eq!(total(&e), 0.0);
}

#[test]
fn rank_honours_epsilon() {
    let params = RouterParams::default();
    let mut nodes: Vec<_> = (0..10).map(node).collect();
    nodes.push(newcomer(100));
    let e = assess(&params, &nodes, &open_request());
    let mut rng = StdRng::seed_from_u64(5);
    let n = 100_000;
    let hits = (0..n)
        .filter(|_| e.rank(|_| 0.0, &mut rng)[0] == 100)
        .count();
    let rate = hits as f64 / n as f64;
    assert!((rate - 0.05).abs() < 0.003, "probation served {rate}");
}

#[test]
fn bad_node_leaves_the_pool() {
    let params = RouterParams::default();
    let mut nodes: Vec<_> = (0..5).map(node).collect();
    // Caught twice by audits: 100 weighted failures.
    nodes[1].audits_failed = 2;
    // Refuses 5 % of its calls.
    nodes[2].refusals = 50;
    let e = assess(&params, &nodes, &open_request());
    assert_eq!(standing(&e, 0), Standing::Pool);
    assert_eq!(standing(&e, 1), Standing::Outside);
    assert_eq!(standing(&e, 2), Standing::Outside);
    assert_eq!(share(&e, 1), 0.0);
    assert!((share(&e, 0) - 1.0 / 3.0).abs() < 1e-12);
    // best_lower is the clean nodes' lower bound.
    assert_eq!(e.best_lower, e.node(&0).unwrap().quality.lower);

    // The ledger's fault probation moves a node to the exploration slice at once.
    nodes[0].fault_probation = true;
    let e = assess(&params, &nodes, &open_request());
    assert_eq!(standing(&e, 0), Standing::Probation);
    assert!((share(&e, 0) - 0.05).abs() < 1e-12);
}

#[test]
fn pool_keeps_prices_and_latencies_within_tolerance() {
    let params = RouterParams::default();
    let mut nodes: Vec<_> = (0..5).map(node).collect();
    nodes[1].price = 1_020; // exactly +2 %: kept
    nodes[2].price = 1_021; // just above: outside
    nodes[3].latency_ms = Some(250.0); // +25 %: kept
    nodes[4].latency_ms = Some(250.5); // above: outside
    let e = assess(&params, &nodes, &open_request());
    let standings: Vec<_> = (0..5).map(|i| standing(&e, i)).collect();
    assert_eq!(
        standings,
        [
            Standing::Pool,
            Standing::Pool,
            Standing::Outside,
            Standing::Pool,
            Standing::Outside
        ]
    );
    // A caller capping the price below every node's price finds nobody eligible.
    let e = assess(
        &params,
        &nodes,
        &Request {
            max_price: 999,
            max_latency_ms: None,
        },
    );
    assert_eq!(total(&e), 0.0);
}

#[test]
fn ineligibility_reasons_in_order() {
    let params = RouterParams::default();
    let request = Request {
        max_price: 1_000,
        max_latency_ms: Some(300.0),
    };
    let reason = |e: NodeEvidence<u32>| match assess(&params, std::slice::from_ref(&e), &request)
        .nodes[0]
        .standing
    {
        Standing::Ineligible { reason } => Some(reason),
        _ => None,
    };
    assert_eq!(reason(node(1)), None);
    let all_bad = NodeEvidence {
        jailed: true,
        stake: 1,
        price: 2_000,
        latency_ms: Some(400.0),
        canaries_failed: 1,
        canaries_passed: 0,
        declared_capacity: 0.0,
        ..node(1)
    };
    assert_eq!(reason(all_bad.clone()), Some(Ineligibility::Jailed));
    let e = NodeEvidence {
        jailed: false,
        ..all_bad
    };
    assert_eq!(reason(e.clone()), Some(Ineligibility::StakeBelowMinimum));
    let e = NodeEvidence { stake: STAKE, ..e };
    assert_eq!(reason(e.clone()), Some(Ineligibility::PriceAboveCap));
    let e = NodeEvidence { price: 1_000, ..e };
    assert_eq!(reason(e.clone()), Some(Ineligibility::LatencyAboveCap));
    let e = NodeEvidence {
        latency_ms: None,
        ..e
    };
    assert_eq!(reason(e.clone()), Some(Ineligibility::CanaryFailed));
    let e = NodeEvidence {
        canaries_failed: 0,
        ..e
    };
    assert_eq!(reason(e.clone()), Some(Ineligibility::CanariesPending));
    let e = NodeEvidence {
        canaries_passed: 1,
        ..e
    };
    assert_eq!(reason(e.clone()), Some(Ineligibility::NoCapacity));
    // Capacity is bounded by stake: 0.5 calls/s of stake is not zero.
    let e = NodeEvidence {
        declared_capacity: 10.0,
        stake: params.min_stake,
        ..e
    };
    assert_eq!(reason(e.clone()), None);
    let a = assess(&params, &[e], &request);
    assert_eq!(a.nodes[0].verified_capacity, 1.0);
    // Hostile numbers do not poison the assessment.
    let nan = NodeEvidence {
        declared_capacity: f64::NAN,
        latency_ms: Some(f64::NAN),
        ..node(1)
    };
    assert_eq!(reason(nan.clone()), Some(Ineligibility::LatencyAboveCap));
    let open = assess(&params, &[nan], &open_request());
    assert_eq!(
        open.nodes[0].standing,
        Standing::Ineligible {
            reason: Ineligibility::NoCapacity
        }
    );
}

#[test]
fn standing_serializes_with_a_snake_case_tag() {
    let params = RouterParams::default();
    let e = assess(
        &params,
        &[
            node(1),
            NodeEvidence {
                jailed: true,
                ..node(2)
            },
        ],
        &open_request(),
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json["nodes"][0]["standing"],
        serde_json::json!({"kind": "pool"})
    );
    assert_eq!(
        json["nodes"][1]["standing"],
        serde_json::json!({"kind": "ineligible", "reason": "jailed"})
    );
    assert_eq!(json["params"]["exploration_ppm"], 50_000);
    let back: RouterParams = serde_json::from_value(json["params"].clone()).unwrap();
    assert_eq!(back, params);
}

#[test]
fn rank_is_deterministic_by_seed_and_lists_every_eligible_node() {
    let params = RouterParams::default();
    let mut nodes: Vec<_> = (0..10).map(node).collect();
    nodes.push(newcomer(100));
    nodes.push(NodeEvidence {
        jailed: true,
        ..node(200)
    });
    nodes[4].refusals = 100; // outside the pool
    let e = assess(&params, &nodes, &open_request());
    let run = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..50)
            .map(|_| e.rank(|id| f64::from(*id % 3), &mut rng))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
    for ranked in run(9) {
        let mut sorted = ranked.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100],
            "every eligible node once"
        );
    }
    // Nothing eligible: empty, and still three draws consumed.
    let none = assess(&params, &nodes[11..], &open_request());
    let mut a = StdRng::seed_from_u64(1);
    let mut b = StdRng::seed_from_u64(1);
    assert!(none.rank(|_| 0.0, &mut a).is_empty());
    e.rank(|_| 0.0, &mut b);
    assert_eq!(a.r#gen::<u64>(), b.r#gen::<u64>());
}

#[test]
fn two_choice_prefers_the_less_loaded() {
    let params = RouterParams::default();
    let nodes: Vec<_> = (0..2).map(node).collect();
    let e = assess(&params, &nodes, &open_request());
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..100 {
        assert_eq!(
            e.rank(|id| if *id == 0 { 0.9 } else { 0.1 }, &mut rng),
            [1, 0]
        );
        assert_eq!(
            e.rank(|id| if *id == 0 { 0.1 } else { f64::NAN }, &mut rng),
            [0, 1]
        );
    }
    // With many nodes, a heavily loaded node is chosen only when drawn with another
    // equally loaded one: never, here.
    let nodes: Vec<_> = (0..10).map(node).collect();
    let e = assess(&params, &nodes, &open_request());
    let first = (0..10_000)
        .filter(|_| e.rank(|id| if *id == 0 { 5.0 } else { 0.0 }, &mut rng)[0] == 0)
        .count();
    assert_eq!(first, 0);
    // The rest of the list is by utilization.
    let ranked = e.rank(|id| f64::from(10 - *id), &mut rng);
    assert_eq!(&ranked[2..], {
        let mut tail: Vec<u32> = (0..10).rev().filter(|i| !ranked[..2].contains(i)).collect();
        tail.dedup();
        tail
    });
}

#[test]
fn dispatch_follows_capacity() {
    let params = RouterParams::default();
    let mut nodes: Vec<_> = (0..4).map(node).collect();
    nodes[0].declared_capacity = 40.0;
    nodes[0].stake = 4 * STAKE;
    let e = assess(&params, &nodes, &open_request());
    let mut rng = StdRng::seed_from_u64(11);
    let mut counts = [0u32; 4];
    // Equal utilization: the first draw serves, so dispatch follows the shares.
    for _ in 0..70_000 {
        counts[e.rank(|_| 0.0, &mut rng)[0] as usize] += 1;
    }
    let top = f64::from(counts[0]) / 70_000.0;
    assert!((top - 40.0 / 70.0).abs() < 0.01, "big node served {top}");
}

fn population(extra: &[NodeEvidence<u32>]) -> Vec<NodeEvidence<u32>> {
    let mut nodes: Vec<_> = (0..6).map(node).collect();
    nodes.push(newcomer(50));
    nodes.extend_from_slice(extra);
    nodes
}

fn split(whole: &NodeEvidence<u32>, parts: u32, first_id: u32) -> Vec<NodeEvidence<u32>> {
    (0..parts)
        .map(|k| NodeEvidence {
            id: first_id + k,
            stake: whole.stake / u128::from(parts),
            declared_capacity: whole.declared_capacity / f64::from(parts),
            ..whole.clone()
        })
        .collect()
}

proptest! {
    /// One operator of capacity C and stake S gets the same total share as five identities of
    /// C/5 and S/5, on probation and in the pool, whichever binds.
    #[test]
    fn sybil_split_gains_nothing(
        capacity in 0.5f64..80.0,
        stake_calls in 1u128..100,
        established in any::<bool>(),
    ) {
        let params = RouterParams::default();
        let base = if established { node(1000) } else { newcomer(1000) };
        let whole = NodeEvidence {
            declared_capacity: capacity,
            stake: 5 * stake_calls * params.stake_per_capacity,
            ..base
        };
        let one = assess(&params, &population(std::slice::from_ref(&whole)), &open_request());
        let five = assess(&params, &population(&split(&whole, 5, 1000)), &open_request());
        let single = share(&one, 1000);
        let parts: f64 = (1000..1005).map(|i| share(&five, i)).sum();
        prop_assert!(single > 0.0);
        prop_assert!((single - parts).abs() < 1e-9, "one {single} vs five {parts}");
        for id in 0..6 {
            prop_assert!((share(&one, id) - share(&five, id)).abs() < 1e-9);
        }
    }

    /// Shares are a probability distribution over eligible nodes.
    #[test]
    fn shares_form_a_distribution(
        caps in proptest::collection::vec(0.0f64..50.0, 1..12),
        refusals in proptest::collection::vec(0u64..200, 12),
        newcomers in 0usize..4,
        max_price in 500u128..2_000,
    ) {
        let params = RouterParams::default();
        let mut nodes: Vec<_> = caps
            .iter()
            .enumerate()
            .map(|(i, &c)| NodeEvidence {
                declared_capacity: c,
                refusals: refusals[i],
                price: 900 + 50 * i as u128,
                ..node(i as u32)
            })
            .collect();
        nodes.extend((0..newcomers).map(|i| newcomer(100 + i as u32)));
        let e = assess(&params, &nodes, &Request { max_price, max_latency_ms: None });
        let eligible = e
            .nodes
            .iter()
            .filter(|n| !matches!(n.standing, Standing::Ineligible { .. }))
            .count();
        let sum = total(&e);
        prop_assert!(e.nodes.iter().all(|n| (0.0..=1.0).contains(&n.share)));
        if eligible == 0 {
            prop_assert_eq!(sum, 0.0);
        } else {
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {}", sum);
        }
    }
}

fn models(calls: &[(u32, u64)]) -> Vec<ModelEvidence<u32>> {
    calls
        .iter()
        .map(|&(id, independent_calls)| ModelEvidence {
            id,
            independent_calls,
        })
        .collect()
}

#[test]
fn listing_gives_new_models_slots_and_rotates() {
    let params = RouterParams::default();
    // 18 established models (ids 1..=18, more calls for lower ids), 3 new (100, 101, 102).
    let mut m: Vec<(u32, u64)> = (1..=18).map(|i| (i, 100_000 - u64::from(i))).collect();
    m.extend([(101, 5), (100, 999), (102, 0)]);
    let list = listing(&params, &models(&m), 0);
    assert_eq!(list.len(), 21);
    let expect: Vec<u32> = [1, 2, 3, 4, 100, 5, 6, 7, 8, 9, 10, 11, 12, 13, 101]
        .into_iter()
        .chain([14, 15, 16, 17, 18, 102])
        .collect();
    assert_eq!(list, expect);
    // Deterministic, and independent of input order.
    let mut shuffled = m.clone();
    shuffled.reverse();
    assert_eq!(listing(&params, &models(&shuffled), 0), list);
    // Rotation hands the first new-model slot to each new model in turn.
    let firsts: Vec<u32> = (0..3)
        .map(|r| listing(&params, &models(&m), r)[4])
        .collect();
    assert_eq!(firsts, [100, 101, 102]);
    assert_eq!(listing(&params, &models(&m), 3), list);
    // No exploration: new models follow the established ones.
    let none = RouterParams {
        model_exploration_ppm: 0,
        ..params.clone()
    };
    assert_eq!(&listing(&none, &models(&m), 0)[18..], [100, 101, 102]);
    // Duplicates keep their first evidence.
    let dup = models(&[(7, 5_000), (7, 1), (8, 2_000)]);
    assert_eq!(listing(&params, &dup, 0), [7, 8]);
}
