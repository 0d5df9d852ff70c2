//! `verity calc` and the earnings commands' argument checks, as an operator meets them: no
//! network, figures from the published defaults, and every bad option refused by name.

mod support;
use support::*;

/// Run `verity args…` with no ledger behind it; (success, stdout, stderr).
fn offline(args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), "http://127.0.0.1:9", args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calc_prints_the_worked_h100_figures_without_a_network() {
    let (ok, stdout, stderr) = offline(&[
        "calc",
        "--gpu",
        "h100",
        "--kwh",
        "0.155",
        "--price",
        "0.002",
        "--calls-per-day",
        "40000",
        "--rent-price",
        "1.99",
    ]);
    assert!(ok, "{stderr}");
    for line in [
        "electricity                         -2.53 $/day",
        "depreciation                       -16.95 $/day",
        "renting out: 1348 days (3.7 years)",
    ] {
        assert!(stdout.contains(line), "missing {line:?}:\n{stdout}");
    }
}

#[test]
fn bad_options_are_refused_by_name() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "calc",
                "--gpu",
                "tpu9",
                "--kwh",
                "0.1",
                "--price",
                "0.001",
                "--calls-per-day",
                "10",
            ],
            "unknown GPU 'tpu9'; pass --gpu with one of h100-sxm",
        ),
        (
            &[
                "calc",
                "--gpu",
                "h100",
                "--kwh=-1",
                "--price",
                "0.001",
                "--calls-per-day",
                "10",
            ],
            "usd_per_kwh = -1 is out of range",
        ),
        (
            &["node", "earnings", "--node", "verity1nope", "--days", "0"],
            "invalid value 'verity1nope'",
        ),
        (
            &["node", "earnings", "--key", "nobody", "--days", "0"],
            "--days must be between 1 and 3660",
        ),
    ];
    for (args, expected) in cases {
        let (ok, _, stderr) = offline(args);
        assert!(!ok, "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
