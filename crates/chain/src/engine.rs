//! Wiring of simplex consensus, marshal, block broadcast and the executor, generic over the
//! commonware runtime and p2p implementations.

use crate::{
    application::Application,
    config::{Config, Scheme},
    driver::Driver,
    error::Error,
    executor,
    reporter::Reporter,
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{self, Start, core::Actor as Marshal, standard::Inline},
    simplex::{self, Floor, ForwardPolicy, SkipBudget, SkipPolicy, elector::RoundRobin},
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digested, Digestible, Sha256, Signer,
    certificate::{ConstantProvider, Verifier as _},
    ed25519::PublicKey,
};
use commonware_macros::select;
use commonware_p2p::{Blocker, Channel, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Handle, Metrics, Quota, Spawner, Storage, buffer::paged::CacheRef,
};
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZU16, NZU32, NZU64, NZUsize};
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    time::Duration,
};
use tracing::{error, info};

/// P2p channel carrying consensus votes.
pub const VOTES: Channel = 0;
/// P2p channel carrying consensus certificates.
pub const CERTIFICATES: Channel = 1;
/// P2p channel of the consensus certificate resolver.
pub const RESOLVER: Channel = 2;
/// P2p channel broadcasting proposed blocks.
pub const BROADCAST: Channel = 3;
/// P2p channel of marshal's block backfill.
pub const BACKFILL: Channel = 4;
/// Per-peer rate limit of every consensus channel.
pub const CHANNEL_QUOTA: Quota = Quota::per_second(NZU32!(1_024));

const MAILBOX_SIZE: NonZeroUsize = NZUsize!(1_024);
const DEQUE_SIZE: usize = 16;
const VIEW_RETENTION: u64 = 64;
const MARSHAL_VIEW_RETENTION: u64 = VIEW_RETENTION * 10;
const MAX_REPAIR: NonZeroUsize = NZUsize!(16);
const MAX_PENDING_ACKS: NonZeroUsize = NZUsize!(16);
const PAGE_SIZE: u16 = 4_096;
const PAGE_CACHE_PAGES: NonZeroUsize = NZUsize!(1_024);
const REPLAY_BUFFER: NonZeroUsize = NZUsize!(1 << 20);
const WRITE_BUFFER: NonZeroUsize = NZUsize!(64 << 10);
const PRUNABLE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4_096);
const IMMUTABLE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4_096);
const FREEZER_TABLE_INITIAL_SIZE: u32 = 1 << 12;
const FREEZER_TABLE_RESIZE_FREQUENCY: u8 = 4;
const FREEZER_TABLE_RESIZE_CHUNK_SIZE: u32 = 1 << 10;
const FREEZER_VALUE_TARGET_SIZE: u64 = 256 << 20;
const FETCH_RETRY_DELAY: Duration = Duration::from_millis(100);

/// The p2p endpoints consensus runs on: a blocker and peer provider, and one sender/receiver
/// pair for each of the channels [`VOTES`], [`CERTIFICATES`], [`RESOLVER`], [`BROADCAST`] and
/// [`BACKFILL`], each registered with [`CHANNEL_QUOTA`].
pub struct Transport<B, P, S, R> {
    /// Blocks peers that misbehave.
    pub blocker: B,
    /// The tracked peer set (the validators).
    pub peers: P,
    /// [`VOTES`] channel.
    pub votes: (S, R),
    /// [`CERTIFICATES`] channel.
    pub certificates: (S, R),
    /// [`RESOLVER`] channel.
    pub resolver: (S, R),
    /// [`BROADCAST`] channel.
    pub broadcast: (S, R),
    /// [`BACKFILL`] channel.
    pub backfill: (S, R),
}

/// A running engine. Dropping it leaves the engine running; it stops with its runtime, with
/// [`Engine::abort`], or on a fatal error reported by [`Engine::join`].
pub struct Engine {
    handle: Handle<Error>,
}

impl Engine {
    pub(crate) fn new(handle: Handle<Error>) -> Self {
        Self { handle }
    }

    /// Waits for the engine to stop and returns why (it never stops without a reason).
    pub async fn join(self) -> Error {
        self.handle.await.unwrap_or_else(Error::Runtime)
    }

    /// Stops the engine and every task it started.
    pub fn abort(&self) {
        self.handle.abort();
    }
}

/// Starts a validator's consensus engine in `context` on the given p2p `transport`.
///
/// Storage partitions are named after the validator key ([`Config::partition_prefix`]) in
/// `context`'s storage; starting again on the same storage resumes where the engine stopped.
/// `config.data_dir`, `config.listen` and the validators' addresses are not used here (see
/// [`crate::start_validator`] for real sockets).
pub fn start<E, A, B, P, S, R>(
    context: E,
    config: Config,
    app: A,
    transport: Transport<B, P, S, R>,
) -> Result<Engine, Error>
where
    E: Spawner + Clock + Storage + Metrics + CryptoRng,
    A: Application,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    config.validate()?;
    let handle = context
        .child("chain")
        .spawn(move |context| run(context, config, app, transport));
    Ok(Engine::new(handle))
}

/// Runs the engine until a component stops; returns why.
pub(crate) async fn run<E, A, B, P, S, R>(
    context: E,
    config: Config,
    app: A,
    transport: Transport<B, P, S, R>,
) -> Error
where
    E: Spawner + Clock + Storage + Metrics + CryptoRng,
    A: Application,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let error = match wire(context, config, app, transport).await {
        Ok(error) | Err(error) => error,
    };
    error!(%error, "consensus engine stopped");
    error
}

async fn wire<E, A, B, P, S, R>(
    context: E,
    config: Config,
    app: A,
    transport: Transport<B, P, S, R>,
) -> Result<Error, Error>
where
    E: Spawner + Clock + Storage + Metrics + CryptoRng,
    A: Application,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let me = config.signer.public_key();
    let scheme = Scheme::signer(
        &config.namespace,
        config.participants(),
        config.signer.clone(),
    )
    .ok_or_else(|| Error::Config("signer is not in the validator set".into()))?;
    let limits = config.limits();
    let prefix = config.partition_prefix();
    let page_cache = CacheRef::new(NZU16!(PAGE_SIZE), PAGE_CACHE_PAGES);
    let genesis = config.genesis();
    let genesis_digest = genesis.digest();
    let epocher = FixedEpocher::new(NZU64!(u64::MAX));

    // Marshal: finalized blocks and certificates, ordered delivery, backfill.
    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive_config(
            &prefix,
            "finalizations",
            &page_cache,
            scheme.certificate_codec_config(),
        ),
    )
    .await?;
    let blocks = immutable::Archive::init(
        context.child("blocks"),
        archive_config(&prefix, "blocks", &page_cache, limits),
    )
    .await?;
    let (marshal, marshal_mailbox, floor) = Marshal::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: epocher.clone(),
            start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
            partition_prefix: format!("{prefix}_marshal"),
            mailbox_size: MAILBOX_SIZE,
            view_retention: ViewDelta::new(MARSHAL_VIEW_RETENTION),
            prunable_items_per_section: PRUNABLE_ITEMS_PER_SECTION,
            page_cache: page_cache.clone(),
            replay_buffer: REPLAY_BUFFER,
            key_write_buffer: WRITE_BUFFER,
            value_write_buffer: WRITE_BUFFER,
            block_codec_config: limits,
            max_repair: MAX_REPAIR,
            max_pending_acks: MAX_PENDING_ACKS,
            strategy: Sequential,
        },
    )
    .await;
    info!(processed = ?floor.processed().map(|p| p.height()), %genesis_digest, "marshal restored");
    let backfill = marshal::resolver::p2p::init(
        context.child("backfill"),
        marshal::resolver::p2p::Config {
            public_key: me.clone(),
            peer_provider: transport.peers.clone(),
            blocker: transport.blocker.clone(),
            mailbox_size: MAILBOX_SIZE,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: FETCH_RETRY_DELAY,
            priority_requests: false,
            priority_responses: false,
        },
        transport.backfill,
    );
    let (buffer, buffer_mailbox) = buffered::Engine::new(
        context.child("buffer"),
        buffered::Config {
            public_key: me,
            mailbox_size: MAILBOX_SIZE,
            deque_size: DEQUE_SIZE,
            priority: false,
            codec_config: limits,
            peer_provider: transport.peers,
            strategy: Sequential,
        },
    );

    // Consensus, with the driver behind marshal's inline-verification adapter; evidence of
    // equivocation also goes to the application.
    let driver = Driver::new(app.clone(), config.block_interval, limits);
    let inline: Inline<E, Scheme, Driver<A>, _, FixedEpocher> =
        Inline::new(context.child("inline"), driver, marshal_mailbox, epocher);
    let certification_timeout = config.certification_timeout();
    let consensus = simplex::Engine::new(
        context.child("consensus"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: transport.blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: Reporter::new(app.clone(), inline),
            track_historical_votes: true,
            strategy: Sequential,
            partition: format!("{prefix}_consensus"),
            mailbox_size: MAILBOX_SIZE,
            epoch: Epoch::zero(),
            floor: Floor::Genesis(genesis_digest),
            replay_buffer: REPLAY_BUFFER,
            write_buffer: WRITE_BUFFER,
            page_cache,
            leader_timeout: config.leader_timeout(),
            certification_timeout,
            timeout_retry: certification_timeout,
            view_retention: ViewDelta::new(VIEW_RETENTION),
            skip: SkipPolicy::Enabled {
                timeout: certification_timeout * 2,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: FETCH_RETRY_DELAY,
            forward: ForwardPolicy::SilentLeader,
        },
    );

    // Start the executor and marshal before consensus so replayed finalizations have somewhere
    // to go.
    let (finalizer, executor) = executor::channel(app);
    let executor = context
        .child("executor")
        .dedicated()
        .spawn(move |_| executor.run());
    let buffer = buffer.start(transport.broadcast);
    let marshal = marshal.start(finalizer, buffer_mailbox, backfill);
    let consensus = consensus.start(transport.votes, transport.certificates, transport.resolver);
    Ok(select! {
        result = executor => result.unwrap_or_else(Error::Runtime),
        _ = buffer => Error::Stopped("buffer"),
        _ = marshal => Error::Stopped("marshal"),
        _ = consensus => Error::Stopped("consensus"),
    })
}

/// Configuration of an immutable archive named `name` under `prefix`.
fn archive_config<C: Clone>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}_{name}_metadata"),
        freezer_table_partition: format!("{prefix}_{name}_freezer_table"),
        freezer_table_initial_size: FREEZER_TABLE_INITIAL_SIZE,
        freezer_table_resize_frequency: FREEZER_TABLE_RESIZE_FREQUENCY,
        freezer_table_resize_chunk_size: FREEZER_TABLE_RESIZE_CHUNK_SIZE,
        freezer_key_partition: format!("{prefix}_{name}_freezer_key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}_{name}_freezer_value"),
        freezer_value_target_size: FREEZER_VALUE_TARGET_SIZE,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}_{name}_ordinal"),
        items_per_section: IMMUTABLE_ITEMS_PER_SECTION,
        freezer_key_write_buffer: WRITE_BUFFER,
        freezer_value_write_buffer: WRITE_BUFFER,
        ordinal_write_buffer: WRITE_BUFFER,
        replay_buffer: REPLAY_BUFFER,
        codec_config,
    }
}
