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
