//! Cooldowns: nodes that failed recently are tried last for a while.
//!
//! A node enters cooldown when a call forwarded to it fails on the node's side (unreachable,
//! timeout, 5xx, unreadable answer, bad receipt) and leaves it `node_cooldown` later. A node
//! in cooldown is still quoted and still tried, only after the others. Only nodes the gateway
//! actually contacted (registered ones) ever enter, so the table is bounded by the registry.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};
use verity_ledger::Address;

/// The nodes in cooldown and when each leaves it.
pub struct Cooldowns {
    period: Duration,
    until: Mutex<HashMap<Address, Instant>>,
}

impl Cooldowns {
    /// An empty table with cooldowns of `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// Start (or restart) `node`'s cooldown now; expired entries are dropped.
    pub fn start(&self, node: Address) {
        let now = Instant::now();
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.retain(|_, end| *end > now);
        until.insert(node, now + self.period);
    }

    /// Whether `node` is cooling down.
    pub fn active(&self, node: &Address) -> bool {
        let until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.get(node).is_some_and(|end| *end > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_starts_and_expires() {
        let a = Address::of_label("a");
        let table = Cooldowns::new(Duration::from_millis(30));
        assert!(!table.active(&a));
        table.start(a);
        assert!(table.active(&a));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!table.active(&a));
    }
}
