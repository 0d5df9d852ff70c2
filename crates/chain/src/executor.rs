//! Hands finalized blocks to the [`Application`] in height order: execute, commit, then ack.

use crate::{application::Application, block::Block, error::Error};
use commonware_actor::Feedback;
use commonware_consensus::{Reporter, marshal::Update};
use commonware_cryptography::{Digested, Digestible};
use commonware_utils::{Acknowledgement, acknowledgement::Exact};
use futures::{
    StreamExt,
    channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded},
};
use tracing::debug;

/// A finalized block awaiting execution, with the acknowledgement marshal waits for.
type Finalized = (Digested<Block>, Exact);

/// Marshal's reporter: forwards finalized blocks to the [`Executor`] so a slow commit never
/// blocks the marshal actor.
#[derive(Clone)]
pub struct Finalizer {
    sender: UnboundedSender<Finalized>,
}

impl Reporter for Finalizer {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Update<Block>) -> Feedback {
        match activity {
            Update::Block(block, ack) => match self.sender.unbounded_send((block, ack)) {
                Ok(()) => Feedback::Ok,
                Err(_) => Feedback::Closed,
            },
            Update::Tip(..) => Feedback::Ok,
        }
    }
}

/// Executes finalized blocks one at a time.
pub struct Executor<A> {
    app: A,
    receiver: UnboundedReceiver<Finalized>,
}

/// A connected [`Finalizer`] and [`Executor`].
pub fn channel<A: Application>(app: A) -> (Finalizer, Executor<A>) {
    let (sender, receiver) = unbounded();
    (Finalizer { sender }, Executor { app, receiver })
}

impl<A: Application> Executor<A> {
    /// Runs until marshal goes away (an error: the executor never stops on its own) or the
    /// application fails.
    ///
    /// A block at or below the application's last applied height was executed before a restart
    /// and is only acknowledged. A block above the next height means the application lost state
    /// that consensus already counts as processed, which is fatal.
    pub async fn run(mut self) -> Error {
        while let Some((block, ack)) = self.receiver.next().await {
            if let Err(error) = self.execute(&block) {
                return error;
            }
            ack.acknowledge();
        }
        Error::Stopped("marshal")
    }

    fn execute(&self, block: &Digested<Block>) -> Result<(), Error> {
        let height = block.inner().height;
        let (applied, _) = self.app.last_applied();
        if height <= applied {
            debug!(height, applied, "skipping already applied block");
            return Ok(());
        }
        if height != applied + 1 {
            return Err(Error::Gap {
                next: height,
                applied,
            });
        }
        let digest = block.digest();
        self.app
            .apply(block.inner(), digest.0)
            .map_err(|source| Error::Apply { height, source })?;
        debug!(height, %digest, txs = block.inner().txs.len(), "applied finalized block");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use commonware_cryptography::sha256;
    use futures::executor::block_on;
    use std::sync::{Arc, Mutex};

    /// Records applied heights; fails to apply `fail_at`.
    #[derive(Clone, Default)]
    struct Recorder {
        applied: Arc<Mutex<Vec<u64>>>,
        fail_at: Option<u64>,
    }

    impl Application for Recorder {
        fn payload(&self, _: u64, _: usize, _: usize) -> Vec<Bytes> {
            Vec::new()
        }

        fn check_payload(&self, _: &[Bytes]) -> bool {
            true
        }

        fn last_applied(&self) -> (u64, [u8; 32]) {
            let height = self.applied.lock().unwrap().last().copied().unwrap_or(0);
            (height, [0; 32])
        }

        fn state_root(&self, _: u64) -> Option<[u8; 32]> {
            None
        }

        fn apply(&self, block: &Block, _: [u8; 32]) -> anyhow::Result<()> {
            anyhow::ensure!(self.fail_at != Some(block.height), "boom");
            self.applied.lock().unwrap().push(block.height);
            Ok(())
        }
    }

    fn block(height: u64) -> Digested<Block> {
        let block = Block {
            parent: sha256::Digest::from([0; 32]),
            height,
            timestamp_ms: height,
            state_height: 0,
            state_root: [0; 32],
            txs: Vec::new(),
        };
        let digest = block.digest();
        Digested::precomputed(block, digest)
    }

    /// Reports `heights` as finalized and returns the acknowledgement waiters.
    fn report(
        finalizer: &mut Finalizer,
        heights: &[u64],
    ) -> Vec<<Exact as Acknowledgement>::Waiter> {
        heights
            .iter()
            .map(|&height| {
                let (ack, waiter) = Exact::handle();
                assert!(
                    finalizer
                        .report(Update::Block(block(height), ack))
                        .accepted()
                );
                waiter
            })
            .collect()
    }

    #[test]
    fn applies_in_order_skips_repeats_and_acks() {
        let app = Recorder::default();
        let (mut finalizer, executor) = channel(app.clone());
        let waiters = report(&mut finalizer, &[0, 1, 2, 1, 2, 3]);
        drop(finalizer);
        assert!(matches!(
            block_on(executor.run()),
            Error::Stopped("marshal")
        ));
        assert_eq!(*app.applied.lock().unwrap(), vec![1, 2, 3]);
        for waiter in waiters {
            assert!(
                block_on(waiter).is_ok(),
                "every delivered block is acknowledged"
            );
        }
    }

    #[test]
    fn gap_is_fatal() {
        let (mut finalizer, executor) = channel(Recorder::default());
        let _waiters = report(&mut finalizer, &[1, 3]);
        assert!(matches!(
            block_on(executor.run()),
            Error::Gap {
                next: 3,
                applied: 1
            }
        ));
    }

    #[test]
    fn apply_error_is_fatal_and_unacknowledged() {
        let app = Recorder {
            fail_at: Some(2),
            ..Recorder::default()
        };
        let (mut finalizer, executor) = channel(app);
        let mut waiters = report(&mut finalizer, &[1, 2]);
        assert!(matches!(
            block_on(executor.run()),
            Error::Apply { height: 2, .. }
        ));
        assert!(block_on(waiters.pop().unwrap()).is_err());
    }
}
