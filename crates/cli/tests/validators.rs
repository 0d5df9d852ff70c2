//! Many validators as real processes on loopback.
//!
//! - Four `verity validator run` processes from `verity init --validators 4`, with transfers
//!   flowing: killing one (SIGKILL) leaves the chain finalizing; restarting it with its disk
//!   wiped, it syncs every block from its peers; killing two halts the chain (no block finalizes with two of four)
//!   without a fork; restarting them on their data directories, they catch up, the chain
//!   resumes and all four agree.
//! - `verity devnet --validators 4 --traffic N`: every call settles and the devnet's own
//!   end-of-run check finds all four validators on the same block and state root.

mod support;
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};
use support::*;
use verity_client::Client;
use verity_ledger::{Address, Payload};

const VALIDATORS: usize = 4;

/// The four validators of a network directory, each startable and killable on its own.
struct Network {
    home: PathBuf,
    dir: PathBuf,
    urls: Vec<String>,
    running: Vec<Option<Process>>,
}

impl Network {
    fn init(root: &Path) -> Self {
        let home = root.join("home");
        let dir = root.join("net");
        let base = free_ports(2 * VALIDATORS, 2 * VALIDATORS)[0];
        let url = format!("http://127.0.0.1:{base}");
        ok(&home, &url, &["keys", "new", "demo"]);
        let out = ok(
            &home,
            &url,
            &[
                "init",
                "--validators",
                "4",
                "--data-dir",
                dir.to_str().unwrap(),
                "--fund",
                "demo=1000000000000",
                "--api",
                &format!("127.0.0.1:{base}"),
                "--p2p",
                &format!("127.0.0.1:{}", base + 1),
                "--port-stride",
                "2",
                "--block-ms",
                "100",
            ],
        );
        assert!(out.contains("4 validators"), "{out}");
        assert!(out.contains("a quorum of 3"), "{out}");
        let urls = (0..VALIDATORS)
            .map(|i| format!("http://127.0.0.1:{}", base + 2 * i as u16))
            .collect();
        let mut network = Self {
            home,
            dir,
            urls,
            running: (0..VALIDATORS).map(|_| None).collect(),
        };
        for i in 0..VALIDATORS {
            network.start(i);
        }
        network
    }

    fn start(&mut self, i: usize) {
        let data = self.dir.join(format!("validator-{}", i + 1));
        let log = self.dir.join(format!("validator-{}.log", i + 1));
        self.running[i] = Some(Process::spawn(
            &self.home,
            &self.urls[i],
            &["validator", "run", "--data-dir", data.to_str().unwrap()],
            log,
        ));
    }

    fn kill(&mut self, i: usize) {
        self.running[i].take().expect("running").kill9();
    }

    /// Delete validator `i`'s chain data (consensus journals and ledger), keeping its key.
    fn wipe(&self, i: usize) {
        let data = self.dir.join(format!("validator-{}", i + 1));
        std::fs::remove_dir_all(data.join(verity_node::home::CONSENSUS_DIR)).unwrap();
        std::fs::remove_file(data.join(verity_node::home::LEDGER_DB)).unwrap();
    }

    fn client(&self, i: usize) -> Client {
        Client::new(&self.urls[i])
    }

    /// Validator `i`'s executed height, once its API answers.
    fn height(&self, i: usize) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(status) = self.client(i).status() {
                return status.height;
            }
            assert!(
                Instant::now() < deadline,
                "validator-{} does not answer; log:\n{}",
                i + 1,
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("validator-{}.log", i + 1)))
            .unwrap_or_default()
    }

    /// Wait until validator `i` reaches `height`.
    fn wait_height(&self, i: usize, height: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.height(i) < height {
            assert!(
                Instant::now() < deadline,
                "{what}: validator-{} stuck at {} below {height}; log:\n{}",
                i + 1,
                self.height(i),
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Block digest and executed state root of validator `i` at `height`.
    fn block(&self, i: usize, height: u64) -> (String, String) {
        let b = self.client(i).block(height).unwrap();
        (b.digest.to_string(), b.executed_root.to_string())
    }

    /// Every validator in `which` has the same block and state root at every height from 1 to
    /// the lowest head among them; returns that height.
    fn assert_same_chain(&self, which: &[usize]) -> u64 {
        let top = which.iter().map(|&i| self.height(i)).min().unwrap();
        for h in 1..=top {
            let first = self.block(which[0], h);
            for &i in &which[1..] {
                assert_eq!(
                    self.block(i, h),
                    first,
                    "validator-{} and validator-{} differ at height {h}",
                    which[0] + 1,
                    i + 1
                );
            }
        }
        top
    }
}

/// Transfers from the demo account through validator 1, counted when executed.
struct Traffic {
    executed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Traffic {
    fn start(network: &Network) -> Self {
        let key = verity_node::home::read_key(&network.home.join("keys").join("demo.key"))
            .expect("demo key");
        let client = network.client(0);
        let executed = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (executed.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut n = 0u8;
            while !halt.load(Ordering::Relaxed) {
                n = n.wrapping_add(1);
                let payload = Payload::Transfer {
                    to: Address([n; 20]),
                    amount: 1,
                };
                if client
                    .execute(&key, payload, Duration::from_secs(5))
                    .is_ok()
                {
                    count.fetch_add(1, Ordering::Relaxed);
                } else {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        Self {
            executed,
            stop,
            thread: Some(thread),
        }
    }

    fn executed(&self) -> usize {
        self.executed.load(Ordering::Relaxed)
    }

    /// Wait until `more` transfers beyond `since` executed.
    fn wait_more(&self, since: usize, more: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.executed() < since + more {
            assert!(
                Instant::now() < deadline,
                "{what}: only {} transfers executed",
                self.executed() - since
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn four_validator_processes_survive_kills_and_restarts() {
    let root = tempfile::tempdir().unwrap();
    let mut net = Network::init(root.path());
    for i in 0..VALIDATORS {
        net.wait_height(i, 5, "start");
    }
    let traffic = Traffic::start(&net);
    traffic.wait_more(0, 5, "all four up");

    // One of four down: the other three still finalize blocks with transfers in them.
    net.kill(3);
    let (height, sent) = (net.height(0), traffic.executed());
    net.wait_height(0, height + 20, "one validator down");
    traffic.wait_more(sent, 5, "one validator down");

    // It restarts with its disk wiped, like a new machine with the validator's key: it fetches
    // every block from its peers, executes them and rejoins.
    net.wipe(3);
    net.start(3);
    let target = net.height(0);
    net.wait_height(3, target, "syncing from peers");
    net.assert_same_chain(&[0, 1, 2, 3]);

    // Two of four down: no quorum, so nothing finalizes, and the two left do not fork.
    net.kill(2);
    net.kill(3);
    std::thread::sleep(Duration::from_secs(2));
    let halted = (net.height(0), net.height(1));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        (net.height(0), net.height(1)),
        halted,
        "no block finalizes without a quorum"
    );
    let prefix = net.assert_same_chain(&[0, 1]);

    // Both restart on their data directories, catch up on what they missed, and the chain
    // resumes; all four hold one chain through the halt.
    net.start(2);
    net.start(3);
    let sent = traffic.executed();
    net.wait_height(0, halted.0 + 20, "resuming");
    traffic.wait_more(sent, 5, "resumed");
    let target = net.height(0);
    for i in 0..VALIDATORS {
        net.wait_height(i, target, "after the halt");
    }
    let common = net.assert_same_chain(&[0, 1, 2, 3]);
    assert!(common > prefix);
    drop(traffic);
}

#[test]
fn devnet_with_four_validators_settles_every_call_on_one_chain() {
    let ports = DevnetPorts::pick_validators(3, 4);
    let (s, stdout) = devnet_traffic_on(&ports, &["--traffic", "300"]);
    assert_eq!(s["calls"], 300);
    assert_eq!(s["settled"], 300, "{s}");
    assert_eq!(s["failed"], 0);
    assert!(
        stdout.contains("validators  all 4 report height"),
        "{stdout}"
    );
    for url in ports.validator_urls() {
        assert!(stdout.contains(&url), "{url} listed: {stdout}");
    }
    // No validator outlives the devnet.
    std::thread::sleep(Duration::from_secs(1));
    for url in ports.validator_urls() {
        assert!(Client::new(&url).status().is_err(), "{url} still answers");
    }
}
