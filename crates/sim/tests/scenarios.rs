//! The simulator's contract: reproducible by seed, the exposure router meets every target of
//! `ECONOMICS.md` §5 on the default scenario, volume ranking visibly does not, the Sybil and
//! wash-trading counterfactuals measure what they claim, and bad scenario files are refused
//! with an error that names the field and the fix.

use std::sync::OnceLock;
use verity_sim::{Metrics, Report, Scenario, policy, report, simulate};

fn default_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let scenario = Scenario::load("default").unwrap();
        simulate(&scenario, 1, policy::NAMES, &mut |_| {}).unwrap()
    })
}

fn policy<'a>(report: &'a Report, name: &str) -> &'a Metrics {
    report.policies.iter().find(|m| m.policy == name).unwrap()
}

fn value(m: &Metrics, metric: &str) -> f64 {
    m.checks
        .iter()
        .find(|c| c.metric == metric)
        .and_then(|c| c.value)
        .unwrap_or_else(|| panic!("{} has no {metric}", m.policy))
}

#[test]
fn exposure_router_meets_every_target_on_default() {
    let report = default_report();
    let ours = policy(report, "exposure");
    let missed: Vec<_> = ours.checks.iter().filter(|c| !c.pass).collect();
    assert!(
        missed.is_empty(),
        "missed: {missed:#?}\n{}",
        report::table(report)
    );
    assert_eq!(ours.ttfc.never_called, 0);
    assert!(ours.ttfc.joiners >= 10);
    assert!(value(ours, "ttfc_p50_h") <= 1.0);
    assert!(value(ours, "ttfc_p95_h") <= 6.0);
    assert!(value(ours, "ttfc_max_h") < 24.0);
    assert!(value(ours, "top10_share") <= 0.15);
    assert!(value(ours, "gini") <= 0.15);
    assert!(value(ours, "regret_failure_points") <= 0.5);
    assert!(value(ours, "regret_price_pct") <= 2.0);
    assert!(value(ours, "regret_latency_pct") <= 10.0);
    assert!(value(ours, "sybil_gain") <= 1.1);
    assert!(value(ours, "wash_gain") <= 1.05);
    assert!(value(ours, "wash_profit") < 0.0);
    assert!(ours.calls > 18_000, "a week at 120 calls/h");
}

#[test]
fn volume_ranking_fails_newcomers_and_concentrates_traffic() {
    let volume = policy(default_report(), "volume");
    assert!(
        volume.ttfc.never_called * 2 >= volume.ttfc.joiners,
        "{:?}",
        volume.ttfc
    );
    assert!(value(volume, "top10_share") > 0.5);
    assert!(value(volume, "gini") > 0.5);
    let failed: Vec<_> = volume
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.metric)
        .collect();
    for metric in [
        "ttfc_p50_h",
        "ttfc_p95_h",
        "ttfc_max_h",
        "top10_share",
        "gini",
    ] {
        assert!(failed.contains(&metric), "volume passes {metric}");
    }
}

#[test]
fn sybil_and_wash_counterfactuals() {
    let report = default_report();
    let ours = policy(report, "exposure");
    let sybil = ours.sybil.as_ref().unwrap();
    assert_eq!(sybil.identities, 5);
    assert_eq!(sybil.extra_burns, 4 * 50_000);
    assert!(sybil.revenue_single > 0);
    // Before burns, five identities stay on probation five times as long, and the probation
    // slice pays more per unit of capacity than the pool: a gross gain the burns must cancel.
    let raw = sybil.revenue_split as f64 / sybil.revenue_single as f64;
    assert!((1.0..1.3).contains(&raw), "raw split ratio {raw}");
    assert!(sybil.revenue_split - sybil.revenue_single < sybil.extra_burns);
    // Uniform random pays a Sybil per identity.
    assert!(value(policy(report, "random"), "sybil_gain") > 3.0);
    // Self-calls buy nothing from the router and cost the fees.
    let wash = ours.wash.as_ref().unwrap();
    assert!(wash.self_calls > 50, "{wash:?}");
    assert!(wash.self_paid > wash.self_income);
    assert!(wash.profit < 0.0);
    // Thompson sampling counts self-calls as successes and rewards them.
    assert!(value(policy(report, "thompson"), "wash_gain") > 1.2);
    assert!(value(policy(report, "thompson"), "sybil_gain") > 1.1);
}

#[test]
fn same_seed_same_bytes() {
    let scenario = Scenario::load("sparse").unwrap();
    let run = |seed| simulate(&scenario, seed, &["exposure", "volume"], &mut |_| {}).unwrap();
    let (a, b) = (run(7), run(7));
    assert_eq!(report::json(&a), report::json(&b));
    assert_eq!(report::table(&a), report::table(&b));
    assert_eq!(
        report::traffic_svg(&a).unwrap(),
        report::traffic_svg(&b).unwrap()
    );
    assert_eq!(
        report::metrics_svg(&a).unwrap(),
        report::metrics_svg(&b).unwrap()
    );
    assert_ne!(report::json(&a), report::json(&run(8)));
}

#[test]
fn every_shipped_scenario_parses() {
    for (name, _) in verity_sim::scenario::BUILTIN {
        let s = Scenario::load(name).unwrap();
        assert_eq!(&s.name, name);
    }
}

fn error(text: &str) -> String {
    Scenario::parse(text, "test.toml").unwrap_err().to_string()
}

#[test]
fn scenario_errors_name_the_field_and_the_fix() {
    let good = verity_sim::scenario::BUILTIN[0].1;
    assert!(Scenario::parse(good, "default").is_ok());

    let e = error(&good.replace("price = 1000\n", "prize = 1000\n"));
    assert!(e.contains("test.toml") && e.contains("prize"), "{e}");
    let e = error(&good.replace("hours = 168.0\n", ""));
    assert!(e.contains("missing field `hours`"), "{e}");
    let e = error(&good.replace("slots = 1\n", "slots = -1\n"));
    assert!(e.contains("slots"), "{e}");
    let e = error(&good.replace("share = 0.4\n", "share = 0.5\n"));
    assert_eq!(
        e,
        "scenario `test.toml`: callers[].share: shares must be ≥ 0 and sum to 1"
    );
    let e = error(&good.replace("audit_floor = 0.02", "audit_floor = 2.0"));
    assert!(
        e.contains("ledger.audit_floor") && e.contains("0.02 means 2 %"),
        "{e}"
    );
    let e = error(&good.replace(
        "class = \"standard\"\nidentities",
        "class = \"gpu\"\nidentities",
    ));
    assert_eq!(
        e,
        "scenario `test.toml`: attackers.sybil.class: unknown class `gpu`"
    );
    let e = error(&good.replace("join_hours = [6.0, 84.0]", "join_hours = [6.0, 999.0]"));
    assert!(
        e.contains("classes[0].join_hours (class `standard`)") && e.contains("< hours"),
        "{e}"
    );
    let e = error(&good.replace("[router]\n", "[router]\nexploration = 1\n"));
    assert!(e.contains("exploration"), "{e}");
    let e = Scenario::load("no-such-scenario").unwrap_err().to_string();
    assert!(e.contains("default, many-nodes, bursty, sparse"), "{e}");
}
