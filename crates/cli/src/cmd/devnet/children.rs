//! Validators of a multi-validator devnet, each a `verity validator run` child process.
//!
//! A child logs to `validator.log` in its data directory and exits on its own when this
//! process does (`--exit-with-parent`), so no validator outlives the devnet even if it is
//! killed. Dropping a [`ChildValidator`] interrupts it (SIGINT, the same clean stop as Ctrl-C)
//! and kills it if it has not stopped within [`STOP_GRACE`].

use anyhow::{Context, Result, bail};
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use verity_client::Client;
use verity_node::{Home, Network, home, network::NetworkMember};

/// How long a validator may take to answer on its API after it starts.
const READY_WAIT: Duration = Duration::from_secs(60);
/// How long a validator may take to stop after SIGINT.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Lines of a failed validator's log shown in the error.
const LOG_TAIL_LINES: usize = 20;

/// A running validator process.
pub struct ChildValidator {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ChildValidator {
    /// Start `member` of the network in `network_dir`, making blocks no faster than `block_ms`.
    pub fn start(network_dir: &Path, member: &NetworkMember, block_ms: u64) -> Result<Self> {
        let dir = Network::member_dir(network_dir, member);
        let mut settings = Home::load(&dir)?.settings;
        if settings.block_interval_ms != block_ms {
            settings.block_interval_ms = block_ms;
            home::write_settings(&dir, &settings)?;
        }
        let log = dir.join("validator.log");
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let child = Command::new(std::env::current_exe()?)
            .args(["validator", "run", "--exit-with-parent", "--data-dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", member.name))?;
        Ok(Self {
            name: member.name.clone(),
            child,
            log,
        })
    }

    /// Wait until the validator answers on `url`; fails with the end of its log if it exits or
    /// does not answer within [`READY_WAIT`].
    pub fn wait_ready(&mut self, url: &str) -> Result<()> {
        let client = Client::new(url);
        let deadline = Instant::now() + READY_WAIT;
        loop {
            if client.status().is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before its API came up; the end of {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer on {url} within {} s; the end of {}:\n{}",
                    self.name,
                    READY_WAIT.as_secs(),
                    self.log.display(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

impl Drop for ChildValidator {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: `kill` has no memory effects; the pid is our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
