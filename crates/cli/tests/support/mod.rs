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
    /// Start `verity args…` in the background, logging to `log`.
    pub fn start(home: &Path, url: &str, args: &[&str], log: PathBuf) -> Self {
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
        let p = Self {
            child,
            url: url.to_string(),
            log,
        };
        p.wait_for_height(1);
        p
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

/// Run `verity devnet` on free ports (room for four nodes) with `extra` flags, which must
/// include `--traffic N`; the summary JSON and stdout.
pub fn devnet_traffic(extra: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ports = free_ports(8, 4);
    let [api, p2p, gateway, hub, first_node, ..] = ports[..] else {
        unreachable!()
    };
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let url = format!("http://{}", addr(api));
    let summary = dir.path().join("summary.json");
    let out = run(
        &home,
        &url,
        &[
            "devnet",
            "--api",
            &addr(api),
            "--p2p",
            &addr(p2p),
            "--gateway",
            &addr(gateway),
            "--hub",
            &addr(hub),
            "--first-node-port",
            &first_node.to_string(),
            "--summary-json",
            summary.to_str().unwrap(),
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "devnet failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    (s, stdout.into_owned())
}
