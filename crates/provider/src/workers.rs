//! The inference pool.
//!
//! At most `workers` model runs execute at once, each on a blocking thread so the HTTP runtime
//! stays responsive; at most `workers ×` [`WAITING_PER_WORKER`] more calls wait for a turn.
//! A call beyond that is refused at once (`overloaded`) rather than queued without bound, so a
//! burst costs callers a quick retry elsewhere instead of an ever longer wait. A call holds its
//! place from admission until its run returns, even if its caller has gone away meanwhile.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};
use tokio::sync::Semaphore;

/// Calls that may wait for a turn, per worker.
pub const WAITING_PER_WORKER: usize = 8;

/// The pool.
pub(crate) struct Workers {
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    workers: usize,
    capacity: usize,
}

/// A call's place in the pool (running or waiting); released on drop.
pub(crate) struct Admission {
    admitted: Arc<AtomicUsize>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Workers {
    /// A pool of `workers` (at least 1) threads' worth of runs.
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            workers,
            capacity: workers * (1 + WAITING_PER_WORKER),
        }
    }

    /// Runs that execute at once.
    pub fn size(&self) -> usize {
        self.workers
    }

    /// A place in the pool, or `None` when every run and waiting place is taken.
    pub fn admit(&self) -> Option<Admission> {
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .ok()
            .map(|_| Admission {
                admitted: self.admitted.clone(),
            })
    }

    /// Wait for a free worker, then run `f` on a blocking thread. `Err` carries a panic's
    /// message.
    pub async fn run<T: Send + 'static>(
        &self,
        admission: Admission,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let _held = (permit, admission);
            f()
        })
        .await
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_up_to_capacity_and_frees_places_when_done() {
        let pool = Workers::new(1);
        let places: Vec<_> = (0..1 + WAITING_PER_WORKER)
            .map(|_| pool.admit().expect("room"))
            .collect();
        assert!(pool.admit().is_none(), "full");
        let mut places = places.into_iter();
        let first = places.next().unwrap();
        assert_eq!(pool.run(first, || 6 * 7).await, Ok(42));
        let again = pool.admit().expect("a place came free");
        let failed = pool.run(again, || -> u8 { panic!("boom") }).await;
        assert!(failed.unwrap_err().contains("panic"));
        assert!(pool.admit().is_some());
    }
}
