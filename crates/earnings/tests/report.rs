//! Reports from synthetic events: day bucketing, refunds, slashes, verdicts, CSV and JSON.

use verity_earnings::{
    CalcInput, EconomicsConfig, Hardware, NodeInput, Window, calc,
    day::MS_PER_DAY,
    model_report, node_report,
    render::{MODEL_CSV_HEADER, NODE_CSV_HEADER, model_csv, node_csv},
};
use verity_ledger::{
    Address, Event, EventRecord, Evidence, Hash32, Mode, Offence, params::Params, settlement::split,
};

const DAY0: u64 = 20_000; // 2024-10-04

fn node() -> Address {
    Address([2; 20])
}

fn settled(time_ms: u64, node: Address, mode: Mode, price: u64, royalty_bps: u16) -> EventRecord {
    EventRecord {
        height: 1,
        time_ms,
        tx: None,
        event: Event::CallSettled {
            call: Hash32([time_ms as u8; 32]),
            caller: Address([3; 20]),
            node,
            model: Hash32([9; 32]),
            model_owner: Address([1; 20]),
            mode,
            price,
            split: split(price, royalty_bps, &Params::default()),
            evidence: Evidence::ChallengeWindow,
        },
    }
}

fn at(time_ms: u64, event: Event) -> EventRecord {
    EventRecord {
        height: 1,
        time_ms,
        tx: None,
        event,
    }
}

fn h100() -> Hardware {
    Hardware::from_profile(EconomicsConfig::default().gpu("h100").unwrap())
}

fn input(hardware: Hardware) -> NodeInput {
    NodeInput {
        node: node(),
        hardware,
        stake_base_units: 1_000_000_000,
        proving_seconds: None,
    }
}

fn events() -> Vec<EventRecord> {
    let midnight = (DAY0 + 1) * MS_PER_DAY;
    vec![
        settled(midnight - 1, node(), Mode::Signed, 1_000, 500),
        settled(midnight, node(), Mode::Zk, 3_000, 500),
        settled(midnight + 5, node(), Mode::Signed, 1_001, 500),
        settled(midnight + 6, Address([7; 20]), Mode::Signed, 1_000, 500),
        at(
            midnight + 7,
            Event::CallRefunded {
                call: Hash32([1; 32]),
                caller: Address([3; 20]),
                node: node(),
                price: 1_300,
                offence: Offence::AuditMismatch,
            },
        ),
        at(
            midnight + 8,
            Event::Slashed {
                node: node(),
                offence: Offence::AuditMismatch,
                amount: 50_000_000,
                reporter: None,
                to_reporter: 0,
                to_treasury: 50_000_000,
                jailed_until_ms: 0,
            },
        ),
        at(
            midnight + 9,
            Event::FeePaid {
                payer: node(),
                amount: 1_020,
            },
        ),
        at(
            midnight + 10,
            Event::FeePaid {
                payer: Address([3; 20]),
                amount: 1_000,
            },
        ),
    ]
}

#[test]
fn days_split_at_utc_midnight_with_exact_sums() {
    let window = Window {
        last_day: DAY0 + 1,
        days: 2,
    };
    let r = node_report(
        &input(h100()),
        &events(),
        window,
        &EconomicsConfig::default(),
    );
    let (d0, d1) = (&r.days[0], &r.days[1]);
    assert_eq!(
        (d0.date.as_str(), d1.date.as_str()),
        ("2024-10-04", "2024-10-05")
    );
    assert_eq!(d0.ledger.calls, 1);
    assert_eq!(d0.ledger.node_revenue_base_units, 880);
    assert_eq!(d1.ledger.calls, 2);
    assert_eq!(d1.ledger.calls_by_mode["zk"], 1);
    assert_eq!(d1.ledger.gross_paid_base_units, 4_001);
    // 3,000 → 150 royalty, 60 verifier, 150 protocol, 2,640 node; 1,001 → 50, 20, 50, 881.
    assert_eq!(d1.ledger.royalties_base_units, 200);
    assert_eq!(d1.ledger.verifier_fees_base_units, 80);
    assert_eq!(d1.ledger.protocol_base_units, 200);
    assert_eq!(d1.ledger.node_revenue_base_units, 3_521);
    assert_eq!(
        (d1.ledger.refunds, d1.ledger.refunded_base_units),
        (1, 1_300)
    );
    assert_eq!(
        (d1.ledger.slashes, d1.ledger.slashed_base_units),
        (1, 50_000_000)
    );
    assert_eq!(d1.ledger.tx_fees_base_units, 1_020);
    assert_eq!(r.totals.ledger.node_revenue_base_units, 4_401);
    // $50 slashed at 10⁶ base units per dollar.
    assert!((d1.pnl.slashed_usd - 50.0).abs() < 1e-9);
    assert!((d1.pnl.revenue_usd - 0.003_521).abs() < 1e-12);
    let expected_net = 0.003_521
        - 0.001_02
        - 50.0
        - d1.pnl.electricity_usd
        - d1.pnl.depreciation_usd
        - d1.pnl.stake_cost_usd;
    assert!((d1.pnl.net_usd - expected_net).abs() < 1e-9);
    assert!((d1.cumulative_net_usd - d0.pnl.net_usd - d1.pnl.net_usd).abs() < 1e-9);
    assert!(
        r.verdict.contains("slashed 1 time(s) ($50.00)"),
        "{}",
        r.verdict
    );
    assert!(
        r.verdict.contains("Proof compute cost is unknown"),
        "{}",
        r.verdict
    );
}

#[test]
fn verdict_says_renting_out_wins_at_low_traffic() {
    let window = Window {
        last_day: DAY0 + 1,
        days: 2,
    };
    let r = node_report(
        &input(h100()),
        &events(),
        window,
        &EconomicsConfig::default(),
    );
    assert!(
        r.verdict
            .starts_with("At current traffic (2 calls/day), serving earns $"),
        "{}",
        r.verdict
    );
    assert!(
        r.verdict
            .contains("/day less than renting this h100-sxm out at $2.00/h with 60 % occupancy"),
        "{}",
        r.verdict
    );
    assert_eq!(r.totals.payback_days, None);
    let rent_payback = r.totals.rent_out_payback_days.unwrap();
    assert!(
        (rent_payback - 27_500.0 / 20.5104).abs() < 0.01,
        "{rent_payback}"
    );
}

#[test]
fn verdict_says_serving_wins_at_high_traffic() {
    let cfg = EconomicsConfig {
        usd_per_base_unit: 1e-3,
        ..EconomicsConfig::default()
    };
    let mut evs = Vec::new();
    for i in 0..2_000u64 {
        evs.push(settled(
            DAY0 * MS_PER_DAY + i * 1_000,
            node(),
            Mode::Signed,
            1_000,
            0,
        ));
    }
    let mut inp = input(h100());
    inp.stake_base_units = 0;
    let r = node_report(
        &inp,
        &evs,
        Window {
            last_day: DAY0,
            days: 1,
        },
        &cfg,
    );
    // 2,000 calls × 930 base units × $0.001 = $1,860 revenue.
    assert!((r.totals.pnl.revenue_usd - 1_860.0).abs() < 1e-6);
    let diff = r.totals.serving_minus_rent_out_usd_per_day;
    assert!((diff - (1_860.0 - 2.5296 - 20.5104)).abs() < 1e-3, "{diff}");
    assert_eq!(
        r.verdict,
        format!(
            "At current traffic (2000 calls/day), serving earns ${diff:.2}/day more than renting this h100-sxm out at $2.00/h with 60 % occupancy; the hardware pays back in {:.0} days.",
            27_500.0 / (1_860.0 - 2.5296)
        )
    );
}

/// ECONOMICS.md §4: depreciation ≈ $17.3/day, power ≈ $2.6/day, renting out at $1.99/h and
/// 60 % occupancy pays back in ≈ 3.7 years.
#[test]
fn calc_reproduces_the_worked_h100_example() {
    let cfg = EconomicsConfig {
        usd_per_kwh: 0.155,
        occupancy: 0.6,
        ..EconomicsConfig::default()
    };
    let mut hw = h100();
    hw.rent_usd_per_hour = 1.99;
    let input = CalcInput {
        price_usd: 0.002,
        calls_per_day: 40_000.0,
        royalty_bps: 0,
        protocol_fee_bps: 500,
        verifier_fee_bps: 200,
        stake_usd: 1_000.0,
        proving_seconds_per_day: 0.0,
    };
    let r = calc(&hw, &input, &cfg).unwrap();
    let within = |got: f64, want: f64| (got - want).abs() / want <= 0.05;
    assert!(
        within(r.pnl.depreciation_usd, 17.3),
        "{}",
        r.pnl.depreciation_usd
    );
    assert!(
        within(r.pnl.electricity_usd, 2.6),
        "{}",
        r.pnl.electricity_usd
    );
    let years = r.rent_out_payback_days.unwrap() / 365.0;
    assert!(within(years, 3.7), "{years}");
    // Exact values of the shipped defaults.
    assert!((r.pnl.depreciation_usd - 16.9521).abs() < 1e-3);
    assert!((r.pnl.electricity_usd - 2.5296).abs() < 1e-4);
    assert!((r.pnl.rent_out_usd - 20.3952).abs() < 1e-3);
    // 40,000 calls × $0.00186 = $74.40 revenue; stake $1,000 at 5 % = $0.137/day.
    assert!((r.pnl.revenue_usd - 74.4).abs() < 1e-9);
    assert!((r.pnl.stake_cost_usd - 50.0 / 365.0).abs() < 1e-9);
    let net = 74.4 - 2.5296 - 16.9521 - 50.0 / 365.0;
    assert!((r.pnl.net_usd - net).abs() < 1e-3);
    let be = r.break_even_calls_per_day.unwrap();
    assert!(
        (be - (20.3952 + 2.5296 + 50.0 / 365.0) / 0.00186).abs() < 1.0,
        "{be}"
    );
    assert!(r.verdict.contains("serving earns $"), "{}", r.verdict);
    assert!(
        r.verdict
            .contains("more than renting this h100-sxm out at $1.99/h")
    );
}

#[test]
fn calc_rejects_shares_above_the_price() {
    let input = CalcInput {
        price_usd: 0.002,
        calls_per_day: 1.0,
        royalty_bps: 9_500,
        protocol_fee_bps: 500,
        verifier_fee_bps: 200,
        stake_usd: 0.0,
        proving_seconds_per_day: 0.0,
    };
    let err = calc(&h100(), &input, &EconomicsConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "royalty + protocol + verifier fees = 10200 bps exceed 10000 (100 % of the price)"
    );
}

#[test]
fn proof_cost_comes_from_proving_seconds() {
    let mut inp = input(h100());
    inp.proving_seconds = Some([(DAY0 + 1, 8_640.0)].into());
    let r = node_report(
        &inp,
        &events(),
        Window {
            last_day: DAY0 + 1,
            days: 2,
        },
        &EconomicsConfig::default(),
    );
    assert_eq!(r.days[0].proving_seconds, Some(0.0));
    assert_eq!(r.days[0].pnl.proof_cost_usd, 0.0);
    // A tenth of the day: a tenth of electricity plus depreciation.
    let want = (2.5296 + 16.9521) / 10.0;
    assert!((r.days[1].pnl.proof_cost_usd - want).abs() < 1e-3);
    assert!(!r.verdict.contains("unknown"));
}

#[test]
fn csv_and_json_shapes() {
    let window = Window {
        last_day: DAY0 + 1,
        days: 2,
    };
    let r = node_report(
        &input(h100()),
        &events(),
        window,
        &EconomicsConfig::default(),
    );
    let csv = node_csv(&r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], NODE_CSV_HEADER);
    let cols = NODE_CSV_HEADER.split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == cols));
    assert!(
        lines[2].starts_with("2024-10-05,2,4001,200,200,80,3521,1,1300,1,50000000,1020,,"),
        "{}",
        lines[2]
    );

    let json = serde_json::to_value(&r).unwrap();
    let day = &json["days"][1];
    for key in [
        "date",
        "calls",
        "node_revenue_base_units",
        "revenue_usd",
        "electricity_usd",
        "net_usd",
        "cumulative_net_usd",
        "rent_out_usd",
        "cumulative_rent_out_net_usd",
    ] {
        assert!(day.get(key).is_some(), "missing {key}");
    }
    assert_eq!(day["node_revenue_base_units"], 3_521);
    assert_eq!(json["totals"]["node_revenue_base_units"], 4_401);
    assert!(json["totals"]["payback_days"].is_null());
    assert_eq!(json["config"]["occupancy"], 0.6);
    let back: verity_earnings::NodeReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);

    let m = model_report(
        &Hash32([9; 32]),
        &events(),
        window,
        &EconomicsConfig::default(),
    );
    assert_eq!(m.calls, 4);
    assert_eq!(m.royalties_base_units, 50 + 150 + 50 + 50);
    assert_eq!(m.royalties_by_day["2024-10-04"], 50);
    assert_eq!(m.royalties_by_day["2024-10-05"], 250);
    let csv = model_csv(&m);
    assert_eq!(csv.lines().next().unwrap(), MODEL_CSV_HEADER);
    assert_eq!(csv.lines().count(), 1 + 4);
}

#[test]
fn every_default_has_a_source() {
    let cfg = EconomicsConfig::default();
    cfg.validate().unwrap();
    let sources = cfg.sources();
    assert!(
        sources
            .iter()
            .all(|s| !s.source.is_empty() && !s.date.is_empty())
    );
    assert!(
        sources
            .iter()
            .any(|s| s.item == "electricity eu" && s.value == "$0.204/kWh")
    );
    let bad = EconomicsConfig {
        occupancy: 60.0,
        ..EconomicsConfig::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "occupancy = 60 is out of range: a fraction between 0 and 1 (60 % is 0.6)"
    );
}

#[test]
fn a_node_registered_inside_the_window_is_reported_from_that_day() {
    let window = Window {
        last_day: DAY0 + 1,
        days: 30,
    };
    let registered = at(
        (DAY0 + 1) * 86_400_000 + 5,
        Event::NodeRegistered {
            node: node(),
            stake: 1_000_000_000,
        },
    );
    let mut events = vec![registered];
    for i in 0..4 {
        events.push(settled(
            (DAY0 + 1) * 86_400_000 + 10 + i,
            node(),
            Mode::Signed,
            1_000,
            500,
        ));
    }
    let config = EconomicsConfig::default();
    let r = node_report(&input(h100()), &events, window, &config);
    assert_eq!(r.days.len(), 1, "only the registration day");
    assert_eq!(r.window.days, 1);
    assert_eq!(r.totals.calls_per_day, 4.0);
    assert_eq!(r.totals.ledger.calls, 4);
    // Without its registration in the window, the whole window is reported.
    let r = node_report(&input(h100()), &events[1..], window, &config);
    assert_eq!(r.days.len(), 30);
    assert!((r.totals.calls_per_day - 4.0 / 30.0).abs() < 1e-12);
}
