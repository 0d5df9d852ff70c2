//! Proposal and verification of blocks on behalf of the [`Application`], behind marshal.
//!
//! Marshal's `Inline` wrapper resolves the block and its parent (fetching them when missing,
//! which keeps consensus' verify request pending) and checks the parent link and height; this
//! driver adds the chain's own rules from [`crate::rules`].

use crate::{
    application::Application,
    block::{Block, BlockLimits, Digest},
    config::Scheme,
    rules::{self, Invalid},
};
use bytes::Bytes;
use commonware_consensus::{marshal::ancestry::Ancestry, simplex::types::Context};
use commonware_cryptography::{Digested, Digestible, ed25519::PublicKey};
use commonware_runtime::{Clock, Metrics, Spawner};
use commonware_utils::SystemTimeExt;
use futures::StreamExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::{debug, warn};

/// How often a verifier re-reads the application while waiting for it to execute the height a
/// block commits to.
const STATE_POLL: Duration = Duration::from_millis(25);

/// Builds and verifies blocks for consensus.
#[derive(Clone)]
pub struct Driver<A> {
    app: A,
    block_interval_ms: u64,
    limits: BlockLimits,
}

impl<A: Application> Driver<A> {
    pub fn new(app: A, block_interval: Duration, limits: BlockLimits) -> Self {
        Self {
            app,
            block_interval_ms: u64::try_from(block_interval.as_millis()).unwrap_or(u64::MAX),
            limits,
        }
    }

    /// Waits until the application has executed `height`, then returns its state root there.
    async fn state_root(&self, clock: &impl Clock, height: u64) -> [u8; 32] {
        loop {
            if let Some(root) = self.app.state_root(height) {
                return root;
            }
            clock.sleep(STATE_POLL).await;
        }
    }

    /// The application's payload, cut to the block limits should it return more.
    fn payload(&self, height: u64) -> Vec<Bytes> {
        let mut txs = self
            .app
            .payload(height, self.limits.max_txs, self.limits.max_bytes);
        let mut total = 0usize;
        let fits = txs
            .iter()
            .take(self.limits.max_txs)
            .take_while(|tx| {
                total += tx.len();
                total <= self.limits.max_bytes
            })
            .count();
        if fits < txs.len() {
            warn!(
                height,
                returned = txs.len(),
                kept = fits,
                "application payload exceeds block limits"
            );
            txs.truncate(fits);
        }
        txs
    }

    /// Verdict on `block` built on `parent`; pending while the block is too far in the future or
    /// the application has not yet executed the height the block commits to.
    async fn check(
        &self,
        clock: &impl Clock,
        parent: &Digested<Block>,
        block: &Block,
    ) -> Result<(), Invalid> {
        rules::check_structure(parent.inner(), parent.digest(), block)?;
        if !self.app.check_payload(&block.txs) {
            return Err(Invalid::Payload);
        }
        let acceptable_from = rules::acceptable_from_ms(block);
        if clock.current().epoch_millis() < acceptable_from {
            debug!(
                height = block.height,
                "waiting for clock to reach block timestamp"
            );
            clock.sleep_until(at_ms(acceptable_from)).await;
        }
        if self.state_root(clock, block.state_height).await != block.state_root {
            return Err(Invalid::StateRoot);
        }
        Ok(())
    }
}

/// The instant `ms` milliseconds after the Unix epoch.
fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl<E, A> commonware_consensus::Application<E> for Driver<A>
where
    E: Clock + Spawner + Metrics,
    A: Application,
{
    type SigningScheme = Scheme;
    type Context = Context<Digest, PublicKey>;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (clock, _): (E, Self::Context),
        mut ancestry: impl Ancestry<Block>,
        _: (),
    ) -> Option<Digested<Block>> {
        let parent = ancestry.next().await?;
        clock
            .sleep_until(at_ms(rules::earliest_proposal_ms(
                parent.inner(),
                self.block_interval_ms,
            )))
            .await;
        let txs = self.payload(parent.inner().height + 1);
        let block = rules::build(
            parent.inner(),
            parent.digest(),
            clock.current().epoch_millis(),
            self.app.last_applied(),
            txs,
        );
        let digest = block.digest();
        debug!(height = block.height, txs = block.txs.len(), %digest, "proposing");
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (clock, _): (E, Self::Context),
        mut ancestry: impl Ancestry<Block>,
    ) -> bool {
        // Marshal seeds the stream with the block and its parent, so both are always present.
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        match self.check(&clock, &parent, block.inner()).await {
            Ok(()) => true,
            Err(reason) => {
                warn!(height = block.inner().height, digest = %block.digest(), %reason, "rejecting block");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_consensus::{
        Application as _,
        marshal::ancestry,
        types::{Epoch, Round, View},
    };
    use commonware_cryptography::{Signer, ed25519::PrivateKey};
    use commonware_runtime::{Runner as _, Supervisor as _, deterministic};
    use std::sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    };

    const LIMITS: BlockLimits = BlockLimits {
        max_txs: 8,
        max_bytes: 1_024,
    };
    const INTERVAL: Duration = Duration::from_millis(500);

    /// An application whose state roots are set by the test.
    #[derive(Clone, Default)]
    struct Roots(Arc<Mutex<Vec<[u8; 32]>>>);

    impl Roots {
        fn with(roots: &[[u8; 32]]) -> Self {
            Self(Arc::new(Mutex::new(roots.to_vec())))
        }

        fn push(&self, root: [u8; 32]) {
            self.0.lock().unwrap().push(root);
        }
    }

    impl Application for Roots {
        fn payload(&self, height: u64, _: usize, _: usize) -> Vec<Bytes> {
            // More than the limits allow, to exercise trimming.
            vec![Bytes::from(height.to_be_bytes().to_vec()); 16]
        }

        fn check_payload(&self, txs: &[Bytes]) -> bool {
            txs.iter().all(|tx| tx.len() == 8)
        }

        fn last_applied(&self) -> (u64, [u8; 32]) {
            let roots = self.0.lock().unwrap();
            ((roots.len() - 1) as u64, *roots.last().unwrap())
        }

        fn state_root(&self, height: u64) -> Option<[u8; 32]> {
            self.0.lock().unwrap().get(height as usize).copied()
        }

        fn apply(&self, _: &Block, _: [u8; 32]) -> anyhow::Result<()> {
            unreachable!("the driver never applies")
        }
    }

    fn parent() -> Digested<Block> {
        let block = Block {
            parent: Digest::from([0; 32]),
            height: 1,
            timestamp_ms: 1_000,
            state_height: 0,
            state_root: [0; 32],
            txs: vec![],
        };
        let digest = block.digest();
        Digested::precomputed(block, digest)
    }

    fn child(parent: &Digested<Block>, timestamp_ms: u64, state: (u64, [u8; 32])) -> Block {
        rules::build(parent.inner(), parent.digest(), timestamp_ms, state, vec![])
    }

    fn consensus_context(parent: &Digested<Block>) -> Context<Digest, PublicKey> {
        Context {
            round: Round::new(Epoch::zero(), View::new(2)),
            leader: PrivateKey::from_seed(0).public_key(),
            parent: (View::new(1), parent.digest()),
        }
    }

    /// Runs `verify` for `block` in the background; returns a flag set when it resolves and its
    /// handle.
    fn spawn_verify(
        context: &deterministic::Context,
        driver: &Driver<Roots>,
        parent: &Digested<Block>,
        block: Block,
    ) -> (Arc<AtomicBool>, commonware_runtime::Handle<bool>) {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let mut driver = driver.clone();
        let parent = parent.clone();
        let handle = context.child("verify").spawn(move |context| async move {
            let digest = block.digest();
            let ancestry =
                ancestry::from_iter([Digested::precomputed(block, digest), parent.clone()]);
            let ctx = consensus_context(&parent);
            let verdict = driver.verify((context, ctx), ancestry).await;
            flag.store(true, Ordering::SeqCst);
            verdict
        });
        (done, handle)
    }

    #[test]
    fn propose_waits_for_interval_and_trims_payload() {
        deterministic::Runner::default().start(|context| async move {
            let app = Roots::with(&[[0; 32], [1; 32]]);
            let mut driver = Driver::new(app, INTERVAL, LIMITS);
            let parent = parent();
            let ctx = consensus_context(&parent);
            let block = driver
                .propose(
                    (context.child("propose"), ctx),
                    ancestry::from_iter([parent.clone()]),
                    (),
                )
                .await
                .unwrap();
            assert!(context.current().epoch_millis() >= 1_500);
            let block = block.inner();
            assert_eq!(block.height, 2);
            assert!(block.timestamp_ms >= 1_500);
            assert_eq!((block.state_height, block.state_root), (1, [1; 32]));
            assert_eq!(block.txs.len(), LIMITS.max_txs);
        });
    }

    #[test]
    fn verify_waits_for_state_then_accepts() {
        deterministic::Runner::default().start(|context| async move {
            let app = Roots::with(&[[0; 32]]);
            let driver = Driver::new(app.clone(), INTERVAL, LIMITS);
            let parent = parent();
            let block = child(&parent, 1_500, (1, [1; 32]));
            let (done, handle) = spawn_verify(&context, &driver, &parent, block);
            context.sleep(Duration::from_secs(3)).await;
            assert!(
                !done.load(Ordering::SeqCst),
                "pending until height 1 is applied"
            );
            app.push([1; 32]);
            assert!(handle.await.unwrap());
        });
    }

    #[test]
    fn verify_waits_for_clock_on_future_timestamps() {
        deterministic::Runner::default().start(|context| async move {
            let driver = Driver::new(Roots::with(&[[0; 32]]), INTERVAL, LIMITS);
            let parent = parent();
            let block = child(&parent, 20_000, (0, [0; 32]));
            let (done, handle) = spawn_verify(&context, &driver, &parent, block);
            context.sleep(Duration::from_secs(10)).await;
            assert!(
                !done.load(Ordering::SeqCst),
                "pending while 5 s or more in the future"
            );
            assert!(handle.await.unwrap());
            assert!(context.current().epoch_millis() >= 15_000);
        });
    }

    #[test]
    fn verify_rejects_invalid_blocks() {
        deterministic::Runner::default().start(|context| async move {
            let driver = Driver::new(Roots::with(&[[0; 32], [1; 32]]), INTERVAL, LIMITS);
            let parent = parent();
            let wrong_root = child(&parent, 1_500, (1, [2; 32]));
            let mut bad_payload = child(&parent, 1_500, (1, [1; 32]));
            bad_payload.txs = vec![Bytes::from_static(b"short")];
            let mut stale_time = child(&parent, 1_500, (1, [1; 32]));
            stale_time.timestamp_ms = 1_000;
            for block in [wrong_root, bad_payload, stale_time] {
                let (_, handle) = spawn_verify(&context, &driver, &parent, block);
                assert!(!handle.await.unwrap());
            }
        });
    }
}
