//! The explorer in a real browser: `verity devnet` with traffic, then headless Chromium
//! (Debian's `chromium` and `chromium-driver`, installed by `scripts/install-browser.sh` when
//! missing) driven over WebDriver. Every page must load with HTTP 200 and no SEVERE browser
//! log entry; the numbers shown must match the ledger API; a call made during the test must
//! appear on the calls page with its status; the overview's chart must render.
//!
//! The WebDriver client is the few JSON requests of the W3C protocol the test needs, over
//! `ureq`: new session, navigate, execute script, read the browser log, delete session.

mod support;
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `scripts/install-browser.sh` (a no-op once Chromium and ChromeDriver are installed).
fn install_browser() {
    let script = repo_root().join("scripts/install-browser.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists());
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// GET `url`: status and body.
fn get(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().expect("the gateway answers");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

/// A WebDriver session in headless Chromium, ended when dropped.
struct Browser {
    base: String,
    agent: ureq::Agent,
    _driver: Guard,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let port = free_port();
        let driver = Guard(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let base = format!("http://127.0.0.1:{port}");
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = agent
                .get(format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let session: Value = agent
            .post(format!("{base}/session"))
            .send_json(&caps)
            .expect("new session")
            .body_mut()
            .read_json()
            .unwrap();
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_string();
        Self {
            base: format!("{base}/session/{id}"),
            agent,
            _driver: driver,
            _profile: profile,
        }
    }

    fn command(&self, path: &str, body: Value) -> Value {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .send_json(&body)
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.body_mut().read_json().unwrap();
        assert_eq!(status, 200, "WebDriver {path} {body}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.command("/url", json!({ "url": url }));
    }

    /// Run `script` (a function body) in the page; its return value.
    fn eval(&self, script: &str) -> Value {
        self.command("/execute/sync", json!({"script": script, "args": []}))
    }

    /// The browser log entries since the last call.
    fn log(&self) -> Vec<Value> {
        let v = self.command("/se/log", json!({"type": "browser"}));
        v.as_array().cloned().unwrap_or_default()
    }

    /// Poll `script` until it returns something other than null/false, at most `secs` s.
    fn wait_for(&self, script: &str, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.eval(script);
            if !v.is_null() && v != false {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for `{script}`"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
    }
}

fn text(browser: &Browser, selector: &str) -> String {
    let v = browser.eval(&format!(
        "const e = document.querySelector({}); return e ? e.textContent : null;",
        json!(selector)
    ));
    v.as_str()
        .unwrap_or_else(|| panic!("no element {selector}"))
        .to_string()
}

fn amount(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn status_label(status: &verity_ledger::state::CallStatus) -> &'static str {
    use verity_ledger::state::CallStatus::*;
    match status {
        Pending => "pending",
        Sampled => "under audit",
        ProofDue { .. } => "awaiting proof",
        Settled { .. } => "settled",
        Refunded { .. } => "refunded",
    }
}

#[test]
fn explorer_pages_render_ledger_numbers_in_a_real_browser() {
    install_browser();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ports = DevnetPorts::pick(2);
    let url = ports.url();
    let gw = ports.gateway_url();
    let log = dir.path().join("devnet.log");
    let args = ports.devnet_args(&["--nodes", "2"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let devnet = Process::start(&home, &url, &args, log.clone());
    let client = devnet.client();
    let deadline = Instant::now() + Duration::from_secs(180);
    let banner = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Verity devnet is running.") && text.contains("demo key") {
            break text;
        }
        assert!(Instant::now() < deadline, "devnet did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        banner.contains(&format!("  explorer    {gw}/explorer\n")),
        "the banner names the explorer:\n{banner}"
    );

    let traffic = verity(&home, &url)
        .args([
            "traffic",
            "30",
            "--concurrency",
            "2",
            "--gateway",
            &gw,
            "--settle-timeout-s",
            "120",
        ])
        .output()
        .unwrap();
    assert!(
        traffic.status.success(),
        "traffic failed:\n{}\n{}",
        String::from_utf8_lossy(&traffic.stdout),
        String::from_utf8_lossy(&traffic.stderr)
    );

    let sample = repo_root().join("models/digits/samples/digit-3.png");
    let answer: Value = serde_json::from_str(&ok(
        &home,
        &url,
        &[
            "call",
            "digits-cnn",
            "--input",
            sample.to_str().unwrap(),
            "--json",
            "--gateway",
            &gw,
        ],
    ))
    .unwrap();
    let call_id = answer["status_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_else(|| panic!("no status_url in {answer}"))
        .to_string();
    let call_hash: verity_ledger::Hash32 = call_id.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.call(&call_hash).is_err() {
        assert!(
            Instant::now() < deadline,
            "call {call_id} never reached the ledger"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let status = client.status().unwrap();
    let nodes = client.nodes().unwrap();
    let models = client.models().unwrap();
    let block = client.block(status.height).unwrap();
    let tx_hash = (1..=status.height)
        .rev()
        .find_map(|h| client.block(h).ok()?.txs.first().copied())
        .expect("some block has a transaction");
    let pages = [
        "/explorer".to_string(),
        "/explorer/blocks".into(),
        format!("/explorer/blocks/{}", block.height),
        format!("/explorer/txs/{tx_hash}"),
        "/explorer/calls".into(),
        format!("/explorer/calls/{call_id}"),
        "/explorer/nodes".into(),
        format!("/explorer/nodes/{}", nodes[0].operator),
        "/explorer/models".into(),
        format!("/explorer/models/{}", models[0].id),
        "/explorer/params".into(),
    ];

    // Overview first, while the call made above is in the chart's 60-block window: height
    // within a refresh of the API, counts equal to the API's, the chart.
    let browser = Browser::start();
    browser.goto(&format!("{gw}/explorer"));
    browser.wait_for(
        "return document.getElementById('live-status').textContent.startsWith('live · height');",
        10,
    );
    let before = client.status().unwrap().height;
    let shown: u64 = text(&browser, "#network [data-live=height]")
        .parse()
        .unwrap();
    let api_height = client.status().unwrap().height;
    // The gateway's view is refreshed every second: two 500 ms blocks, plus one in flight.
    assert!(
        shown + 3 >= before && shown <= api_height,
        "overview height {shown}, API {before}..{api_height}"
    );
    // Live updates replace the number in place (a block every 500 ms, a poll every 2 s).
    browser.wait_for(
        &format!(
            "const h = Number(document.querySelector('#network [data-live=height]').textContent); \
             return h > {shown} ? h : null;"
        ),
        15,
    );
    assert_eq!(
        text(&browser, "#network [data-live=models]"),
        models.len().to_string()
    );
    assert_eq!(
        text(&browser, "#network [data-live=nodes]"),
        client.nodes().unwrap().len().to_string()
    );
    let chart = browser.eval(
        "const c = document.querySelector('svg[data-chart]'); if (!c) return null; \
         const r = c.getBoundingClientRect(); \
         return {name: c.dataset.chart, width: r.width, height: r.height, \
                 bars: c.querySelectorAll('rect').length, \
                 axes: c.querySelectorAll('path').length, \
                 title: c.querySelector('title').textContent};",
    );
    assert_eq!(chart["name"], "calls-per-block", "{chart}");
    assert_eq!(chart["title"], "Calls accepted per block", "{chart}");
    assert!(chart["width"].as_f64().unwrap() > 100.0, "{chart}");
    assert!(chart["height"].as_f64().unwrap() > 50.0, "{chart}");
    assert!(chart["axes"].as_u64().unwrap() >= 1, "{chart}");
    assert!(
        chart["bars"].as_u64().unwrap() >= 1,
        "the call made just now is in the window: {chart}"
    );

    // Every page: HTTP 200, the page's title, the live script's first poll, no browser errors.
    for page in &pages {
        let (code, body) = get(&format!("{gw}{page}"));
        assert_eq!(code, 200, "{page}: {body}");
        browser.goto(&format!("{gw}{page}"));
        let title = browser.eval("return document.title;");
        assert!(
            title
                .as_str()
                .is_some_and(|t| t.ends_with("Verity explorer")),
            "{page}: title {title}"
        );
        // The live-update script ran and its first poll succeeded.
        browser.wait_for(
            "const s = document.getElementById('live-status').textContent; \
             const live = document.querySelectorAll('[data-live]').length > 0; \
             return (live ? s.startsWith('live · height') : s === 'static page') ? s : null;",
            10,
        );
        let severe: Vec<Value> = browser
            .log()
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect();
        assert!(severe.is_empty(), "{page}: browser errors {severe:?}");
    }

    // Nodes: every node's stake as the API has it.
    browser.goto(&format!("{gw}/explorer/nodes"));
    for node in client.nodes().unwrap() {
        assert_eq!(
            text(&browser, &format!("[data-live='stake:{}']", node.operator)),
            amount(node.stake),
            "stake of {}",
            node.operator
        );
    }
    browser.goto(&format!("{gw}/explorer/nodes/{}", nodes[0].operator));
    let before = client.node(&nodes[0].operator).unwrap().record;
    let earnings = text(&browser, "section#earnings");
    let after = client.node(&nodes[0].operator).unwrap().record;
    assert!(
        [before, after].iter().any(|r| earnings.contains(&format!(
            "independent paid calls{}linked paid calls{}audits passed{}audits failed{}refunded calls{}",
            r.independent_calls, r.linked_calls, r.audits_passed, r.audits_failed, r.refunded_calls
        ))),
        "{earnings} vs {after:?}"
    );

    // Earnings: the node page's revenue is what `verity node earnings` reports (read before
    // and after, since a call may settle in between), and both earnings charts are drawn.
    let node_id = nodes[0].operator.to_string();
    let cli_revenue = || -> u64 {
        let out = ok(
            &home,
            &url,
            &["node", "earnings", "--node", &node_id, "--json"],
        );
        let report: Value = serde_json::from_str(&out).unwrap();
        report["totals"]["node_revenue_base_units"]
            .as_u64()
            .unwrap()
    };
    let cli_before = cli_revenue();
    browser.goto(&format!("{gw}/explorer/nodes/{node_id}"));
    let page_revenue: u64 = text(&browser, "#earnings-revenue-base-units")
        .parse()
        .unwrap();
    let cli_after = cli_revenue();
    assert!(
        page_revenue == cli_before || page_revenue == cli_after,
        "page {page_revenue}, verity node earnings {cli_before} then {cli_after}"
    );
    assert!(page_revenue > 0, "the node earned nothing from the traffic");
    for chart in ["earnings-daily", "earnings-cumulative"] {
        let drawn = browser.eval(&format!(
            "const svg = document.querySelector('svg[data-chart=\"{chart}\"]'); \
             if (!svg) return null; const box = svg.getBoundingClientRect(); \
             return [svg.querySelectorAll('polyline').length, box.width > 0 && box.height > 0];"
        ));
        assert_eq!(drawn, json!([2, true]), "chart {chart}");
    }
    assert!(!text(&browser, "#earnings-verdict").is_empty());
    assert!(browser.log().iter().all(|e| e["level"] != "SEVERE"));

    // Models: one row per registered model.
    browser.goto(&format!("{gw}/explorer/models"));
    let rows = browser.eval("return document.querySelectorAll('#models tbody tr').length;");
    assert_eq!(rows, json!(models.len()));

    // The call made above is listed, and its page shows its status as the ledger has it.
    browser.goto(&format!("{gw}/explorer/calls"));
    let listed = browser.eval(&format!(
        "return document.querySelector('#calls a[href=\"/explorer/calls/{call_id}\"]') !== null;"
    ));
    assert_eq!(listed, true, "call {call_id} is on the calls page");
    browser.goto(&format!("{gw}/explorer/calls/{call_id}"));
    let shown = text(&browser, "#call-status");
    let after = status_label(&client.call(&call_hash).unwrap().status);
    assert!(
        ["pending", "under audit", "settled"].contains(&shown.as_str()),
        "call status {shown}"
    );
    assert!(
        shown == after || (shown == "pending" && after != "pending"),
        "page shows {shown}, the ledger now {after}"
    );
    assert!(browser.log().iter().all(|e| e["level"] != "SEVERE"));

    // Bad ids and heights are pages naming the problem.
    let (code, body) = get(&format!("{gw}/explorer/blocks/{}", api_height + 1_000_000));
    assert_eq!(code, 404);
    assert!(body.contains(&format!(
        "there is no block at height {}",
        api_height + 1_000_000
    )));
    let (code, body) = get(&format!("{gw}/explorer/calls/not-a-hash"));
    assert_eq!(code, 400);
    assert!(
        body.contains("&#39;not-a-hash&#39; is not a valid call id"),
        "{body}"
    );
    let (code, body) = get(&format!("{gw}/explorer/nodes/verity1nope"));
    assert_eq!(code, 400, "{body}");
    let (code, _) = get(&format!("{gw}/explorer/no-such-page"));
    assert_eq!(code, 404);
    drop(devnet);
}
