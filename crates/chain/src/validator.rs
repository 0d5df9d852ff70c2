//! A validator on real sockets: authenticated `lookup` p2p between the configured validators,
//! and the tokio runtime with its storage in [`Config::data_dir`].

use crate::{
    application::Application,
    config::Config,
    engine::{
        self, BACKFILL, BROADCAST, CERTIFICATES, CHANNEL_QUOTA, Engine, RESOLVER, Transport, VOTES,
    },
    error::Error,
};
use commonware_cryptography::{ChaCha20Poly1305, ed25519::PrivateKey};
use commonware_macros::select;
use commonware_p2p::{Address, AddressableManager, authenticated::lookup};
use commonware_runtime::{Clock, Metrics, Network, Resolver, Spawner, Storage, tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZUsize, ordered::Map};
use rand_core::CryptoRng;
use std::{num::NonZeroUsize, time::Duration};

/// Capacity of the p2p actors' mailboxes.
const P2P_MAILBOX_SIZE: NonZeroUsize = NZUsize!(1_024);
/// Tolerated clock difference between peers during the handshake.
const HANDSHAKE_SYNCHRONY_BOUND: Duration = Duration::from_secs(5);
/// Oldest handshake a peer accepts.
const MAX_HANDSHAKE_AGE: Duration = Duration::from_secs(10);
/// Suffix separating the p2p handshake namespace from the consensus signing namespace.
const P2P_NAMESPACE_SUFFIX: &[u8] = b"_P2P";

/// The commonware tokio runner for a validator: storage rooted at [`Config::data_dir`] and
/// `worker_threads` tokio worker threads. Inside it, `tokio::spawn` (and everything built on
/// tokio, such as axum) works as in any tokio runtime.
pub fn tokio_runner(config: &Config, worker_threads: usize) -> tokio::Runner {
    tokio::Runner::new(
        tokio::Config::new()
            .with_storage_directory(&config.data_dir)
            .with_worker_threads(worker_threads),
    )
}

/// Starts a validator on real sockets: listens on [`Config::listen`], connects to the other
/// [`Config::validators`] over authenticated, encrypted `lookup` p2p, and runs the engine.
///
/// Validators that all sit on loopback addresses use commonware's `local` p2p profile (fast
/// redials); otherwise the `recommended` profile with private addresses allowed.
pub fn start_validator<E, A>(context: E, config: Config, app: A) -> Result<Engine, Error>
where
    E: Spawner + Clock + Storage + Metrics + CryptoRng + Network + Resolver,
    A: Application,
{
    config.validate()?;
    let handle = context.child("validator").spawn(move |context| async move {
        let p2p = p2p_config(&config);
        let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
        let peers = Map::from_iter_dedup(
            config
                .validators
                .iter()
                .map(|(key, address)| (key.clone(), Address::from(*address))),
        );
        // The oracle takes the peer set without waiting; it only fails once the network stopped.
        let _ = oracle.track(0, peers);
        let transport = Transport {
            blocker: oracle.clone(),
            peers: oracle,
            votes: network.register(VOTES, CHANNEL_QUOTA),
            certificates: network.register(CERTIFICATES, CHANNEL_QUOTA),
            resolver: network.register(RESOLVER, CHANNEL_QUOTA),
            broadcast: network.register(BROADCAST, CHANNEL_QUOTA),
            backfill: network.register(BACKFILL, CHANNEL_QUOTA),
        };
        let network = network.start();
        select! {
            error = engine::run(context.child("engine"), config, app, transport) => error,
            _ = network => Error::Stopped("p2p"),
        }
    });
    Ok(Engine::new(handle))
}

/// The authenticated p2p configuration of a validator.
fn p2p_config(config: &Config) -> lookup::Config<Cups<Sake<PrivateKey>, ChaCha20Poly1305>> {
    let handshake = Cups::new(
        Sake {
            signer: config.signer.clone(),
            synchrony_bound: HANDSHAKE_SYNCHRONY_BOUND,
            max_handshake_age: MAX_HANDSHAKE_AGE,
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let namespace = [config.namespace.as_slice(), P2P_NAMESPACE_SUFFIX].concat();
    // `validate` ensures the set is non-empty and contains the local key.
    let max_peers_per_set = NonZeroUsize::new(config.validators.len()).unwrap_or(NZUsize!(1));
    let loopback = config
        .validators
        .iter()
        .all(|(_, address)| address.ip().is_loopback());
    let profile = if loopback {
        lookup::Config::local
    } else {
        lookup::Config::recommended
    };
    let mut p2p = profile(
        handshake,
        &namespace,
        config.listen,
        max_peers_per_set,
        config.max_message_size(),
        P2P_MAILBOX_SIZE,
    );
    p2p.allow_private_ips = true;
    p2p
}
