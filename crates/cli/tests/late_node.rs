//! The cold-start promise on a real devnet: a provider node started while traffic flows gets
//! paid calls from the exposure router within seconds, and the gateway publishes its exposure.

mod support;
use support::*;

#[test]
fn a_node_started_late_is_paid_soon_and_its_exposure_is_published() {
    // The late node needs a few seconds (model load, zk keys, registration, a canary round)
    // before it is eligible; 6,000 calls keep traffic flowing well past that.
    let (s, stdout) = devnet_traffic(&["--traffic", "6000", "--late-node", "1"]);
    let find = |needle: &str| {
        stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{stdout}"))
            .to_string()
    };
    let eligible = find("(canary passed)");
    let share: f64 = eligible
        .split(" with ")
        .nth(1)
        .and_then(|s| s.split(" %").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no share in: {eligible}"));
    assert!(share > 0.0 && share <= 100.0, "{eligible}");
    let first = find("first caller's call");
    let wait: f64 = first
        .split("call ")
        .nth(1)
        .and_then(|s| s.split(" s").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no wait in: {first}"));
    assert!(wait < 10.0, "{first}");
    find("paid calls accepted on the ledger");
    assert_eq!(s["answered"].as_u64(), Some(6000), "{s}");
    assert_eq!(s["failed"].as_u64(), Some(0), "{s}");
}
