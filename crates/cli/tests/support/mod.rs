//! Running real `verity` processes on loopback for end-to-end tests.
#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};
use verity_client::Client;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` distinct free ports, the last `consecutive` of them numbered consecutively (for services
/// given a first port and a count).
pub fn free_ports(n: usize, consecutive: usize) -> Vec<u16> {
    let mut held: Vec<TcpListener> = (0..n - consecutive.min(n))
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    if consecutive > 0 {
        // Start the search at a varying place, so tests running at once do not pick the same
        // run (the ports are released before the services bind them).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let first = 20_000 + (nanos % 400) as u16 * 97;
        let starts = (first..60_000)
            .step_by(97)
            .chain((20_000..first).step_by(97));
        'search: for start in starts {
            let mut run = Vec::new();
            for p in start..start + consecutive as u16 {
                match TcpListener::bind(("127.0.0.1", p)) {
                    Ok(l) => run.push(l),
                    Err(_) => continue 'search,
                }
            }
            held.extend(run);
            break;
        }
    }
    assert_eq!(held.len(), n, "not enough free ports");
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A child process killed when dropped.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `verity` binary with `home` and `url` set.
pub fn verity(home: &Path, url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_verity"));
    c.env("VERITY_HOME", home)
        .env("VERITY_URL", url)
        .env_remove("RUST_LOG");
    c
}

/// Run `verity args…`, returning its output (any exit status).
pub fn run(home: &Path, url: &str, args: &[&str]) -> Output {
    verity(home, url).args(args).output().expect("verity runs")
}

/// Run `verity args…`, which must succeed; its stdout.
pub fn ok(home: &Path, url: &str, args: &[&str]) -> String {
    let out = run(home, url, args);
    assert!(
        out.status.success(),
        "verity {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Wait until `url` answers HTTP 200 (a service of the devnet is up).
pub fn wait_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while ureq::get(url).call().is_err() {
        assert!(Instant::now() < deadline, "{url} did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running validator process.
pub struct Process {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Process {
    /// Start `verity args…` in the background, logging to `log`, and wait for height 1.
    pub fn start(home: &Path, url: &str, args: &[&str], log: PathBuf) -> Self {
        let p = Self::spawn(home, url, args, log);
        p.wait_for_height(1);
        p
    }

    /// Start `verity args…` in the background, logging to `log`.
    pub fn spawn(home: &Path, url: &str, args: &[&str], log: PathBuf) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = verity(home, url)
            .args(args)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("verity starts");
        Self {
            child,
            url: url.to_string(),
            log,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// Wait until the chain reaches `height`.
    pub fn wait_for_height(&self, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.client().status().is_ok_and(|s| s.height >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chain did not reach height {height}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL the process.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Free loopback ports for a devnet with room for `nodes` provider nodes.
pub struct DevnetPorts {
    pub api: u16,
    pub p2p: u16,
    pub gateway: u16,
    pub hub: u16,
    pub first_node: u16,
    /// Validators in the devnet; with more than one, validator `i` listens on `api + 2i` and
    /// `p2p + 2i`.
    pub validators: u16,
}

impl DevnetPorts {
    /// Pick them: four free ports and `nodes` consecutive ones.
    pub fn pick(nodes: usize) -> Self {
        let ports = free_ports(4 + nodes, nodes);
        DevnetPorts {
            api: ports[0],
            p2p: ports[1],
            gateway: ports[2],
            hub: ports[3],
            first_node: ports[4],
            validators: 1,
        }
    }

    /// Pick them for a devnet of `validators` validators: two free ports and a consecutive
    /// run for the nodes and the validators' API and p2p ports.
    pub fn pick_validators(nodes: usize, validators: u16) -> Self {
        let run = nodes + 2 * usize::from(validators);
        let ports = free_ports(2 + run, run);
        let api = ports[2 + nodes];
        DevnetPorts {
            api,
            p2p: api + 1,
            gateway: ports[0],
            hub: ports[1],
            first_node: ports[2],
            validators,
        }
    }

    /// API URLs of every validator.
    pub fn validator_urls(&self) -> Vec<String> {
        (0..self.validators)
            .map(|i| format!("http://127.0.0.1:{}", self.api + 2 * i))
            .collect()
    }

    /// The validator API's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }

    /// The gateway's URL.
    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway)
    }

    /// `devnet` with these ports, then `extra`.
    pub fn devnet_args(&self, extra: &[&str]) -> Vec<String> {
        let addr = |p: u16| format!("127.0.0.1:{p}");
        let mut args: Vec<String> = vec![
            "devnet".into(),
            "--api".into(),
            addr(self.api),
            "--p2p".into(),
            addr(self.p2p),
            "--gateway".into(),
            addr(self.gateway),
            "--hub".into(),
            addr(self.hub),
            "--first-node-port".into(),
            self.first_node.to_string(),
        ];
        if self.validators > 1 {
            args.extend([
                "--validators".into(),
                self.validators.to_string(),
                "--port-stride".into(),
                "2".into(),
            ]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }
}

/// Run `verity devnet` on free ports (room for four nodes) with `extra` flags, which must
/// include `--traffic N`; the summary JSON and stdout.
pub fn devnet_traffic(extra: &[&str]) -> (serde_json::Value, String) {
    devnet_traffic_on(&DevnetPorts::pick(4), extra)
}

/// Run `verity devnet` on `ports` with `extra` flags, which must include `--traffic N`; the
/// summary JSON and stdout.
pub fn devnet_traffic_on(ports: &DevnetPorts, extra: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let summary = dir.path().join("summary.json");
    let mut flags = vec!["--summary-json", summary.to_str().unwrap()];
    flags.extend(extra);
    let args = ports.devnet_args(&flags);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&home, &ports.url(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "devnet failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    (s, stdout.into_owned())
}
