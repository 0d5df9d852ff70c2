//! Seconds spent proving zk calls, per UTC day: `<data dir>/proving.redb`.
//!
//! The prover thread records each proof's duration (made or failed) under the UTC day it
//! finished in, committing before it takes the next job, so the totals survive restarts. They
//! are what `verity node earnings --node-url` prices as proof compute cost, read from
//! `GET /v1/proving`; `/metrics` exports the running total as
//! `verity_node_proving_seconds_total`. Durations are stored as whole microseconds, so sums
//! are exact.

use crate::queue::QueueError;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Mutex, MutexGuard},
};
use verity_api::{ProvingDay, ProvingView};

/// File name of the log in the data directory.
pub const PROVING_DB: &str = "proving.redb";
/// Milliseconds in a day.
const MS_PER_DAY: u64 = 86_400_000;

/// Day (days since 1970-01-01, UTC) → microseconds spent proving.
const DAYS: TableDefinition<u64, u64> = TableDefinition::new("proving_days");

/// The durable per-day proving log, mirrored in memory.
pub struct ProvingLog {
    db: Database,
    days: Mutex<BTreeMap<u64, u64>>,
}

fn storage(e: impl Into<redb::Error>) -> QueueError {
    QueueError::Storage(e.into().to_string())
}

impl ProvingLog {
    /// Open (creating if needed) the log at `path`.
    pub fn open(path: &Path) -> Result<Self, QueueError> {
        let open_error = |reason: String| QueueError::Open {
            path: path.to_path_buf(),
            reason,
        };
        let db = Database::create(path).map_err(|e| open_error(e.to_string()))?;
        let txn = db.begin_write().map_err(|e| open_error(e.to_string()))?;
        txn.open_table(DAYS)
            .map_err(|e| open_error(e.to_string()))?;
        txn.commit().map_err(|e| open_error(e.to_string()))?;
        let mut days = BTreeMap::new();
        {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(DAYS).map_err(storage)?;
            for entry in table.iter().map_err(storage)? {
                let (day, micros) = entry.map_err(storage)?;
                days.insert(day.value(), micros.value());
            }
        }
        Ok(ProvingLog {
            db,
            days: Mutex::new(days),
        })
    }

    fn days(&self) -> MutexGuard<'_, BTreeMap<u64, u64>> {
        self.days.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add `seconds` of proving that finished at `time_ms` (Unix ms) and commit it.
    pub fn record(&self, time_ms: u64, seconds: f64) -> Result<(), QueueError> {
        let day = time_ms / MS_PER_DAY;
        let micros = (seconds.max(0.0) * 1e6).round() as u64;
        let mut days = self.days();
        let total = days.get(&day).copied().unwrap_or(0).saturating_add(micros);
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(DAYS).map_err(storage)?;
            table.insert(day, total).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        days.insert(day, total);
        Ok(())
    }

    /// Every day with proving, and the total.
    pub fn view(&self) -> ProvingView {
        let days = self.days();
        ProvingView {
            days: days
                .iter()
                .map(|(&day, &micros)| ProvingDay {
                    day,
                    seconds: micros as f64 / 1e6,
                })
                .collect(),
            total_seconds: days.values().sum::<u64>() as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_split_at_utc_midnight_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PROVING_DB);
        let midnight = 20_000 * MS_PER_DAY;
        {
            let log = ProvingLog::open(&path).unwrap();
            log.record(midnight - 1, 1.25).unwrap();
            log.record(midnight, 2.5).unwrap();
            log.record(midnight + 3_600_000, 0.000_001).unwrap();
        }
        let log = ProvingLog::open(&path).unwrap();
        let view = log.view();
        assert_eq!(
            view.days,
            vec![
                ProvingDay {
                    day: 19_999,
                    seconds: 1.25
                },
                ProvingDay {
                    day: 20_000,
                    seconds: 2.500_001
                },
            ]
        );
        assert_eq!(view.total_seconds, 3.750_001);
    }
}
