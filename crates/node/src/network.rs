//! A network directory: every validator of a chain, side by side, as `verity init --validators N`
//! and `verity devnet --validators N` write it.
//!
//! ```text
//! <dir>/network.json        the chain id and, per validator, its name, data directory, API URL,
//!                           p2p address and public key
//! <dir>/validator-1/        a validator data directory (see [`crate::home`])
//! <dir>/validator-2/        … one per validator, all with the same genesis.json
//! ```
//!
//! Validator `i` (from 0) listens on the first validator's API and p2p ports plus `i × stride`,
//! so one `--api`/`--p2p` pair and a stride describe the whole set. Each data directory is
//! complete on its own: copying `validator-3/` to another machine (and editing its `node.json`)
//! moves that validator there, as long as the p2p address in the genesis still reaches it.

use crate::home::{self, GENESIS_FILE, NodeSettings};
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
};
use verity_ledger::{Amount, Genesis, GenesisValidator, Keypair, PublicKeyBytes};

/// File name of the network description.
pub const NETWORK_FILE: &str = "network.json";

/// One validator of a network directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkMember {
    /// `validator-N`, also the name of its data directory.
    pub name: String,
    /// URL of its HTTP API.
    pub api: String,
    /// Address its peers dial.
    pub p2p: SocketAddr,
    /// Its consensus key.
    pub public_key: PublicKeyBytes,
}

/// The content of `network.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Chain id of the genesis every member shares.
    pub chain_id: String,
    /// The validators, in the order their directories are numbered.
    pub validators: Vec<NetworkMember>,
}

/// The settings of validator `index` (from 0) when the first listens at `first` and each next
/// one `stride` ports higher. Fails when a port would pass 65535.
pub fn nth_settings(first: &NodeSettings, index: usize, stride: u16) -> Result<NodeSettings> {
    let shift = |addr: SocketAddr| -> Result<SocketAddr> {
        let port = u32::from(addr.port()) + index as u32 * u32::from(stride);
        let port = u16::try_from(port).ok().with_context(|| {
            format!(
                "validator {} would listen on port {port}, above 65535; lower the first port or \
                 the port stride",
                index + 1
            )
        })?;
        Ok(SocketAddr::new(addr.ip(), port))
    };
    Ok(NodeSettings {
        api: shift(first.api)?,
        p2p: shift(first.p2p)?,
        block_interval_ms: first.block_interval_ms,
    })
}

/// Consensus keys and settings for `count` validators listening from `first` with `stride`;
/// the genesis validator entries come with them. The stride must keep every port distinct.
pub fn new_members(
    count: usize,
    first: &NodeSettings,
    stride: u16,
) -> Result<Vec<(Keypair, NodeSettings)>> {
    ensure!(count > 0, "a network needs at least one validator");
    ensure!(
        count == 1
            || (stride != 0
                && !first
                    .api
                    .port()
                    .abs_diff(first.p2p.port())
                    .is_multiple_of(stride)),
        "port stride {stride} makes two validators share a port (the API and p2p ports {} and {} \
         differ by a multiple of it); pick another --port-stride",
        first.api.port(),
        first.p2p.port()
    );
    (0..count)
        .map(|i| Ok((home::generate_key(), nth_settings(first, i, stride)?)))
        .collect()
}

/// The genesis entries of `members`, each bonding `stake`.
pub fn genesis_validators(
    members: &[(Keypair, NodeSettings)],
    stake: Amount,
) -> Vec<GenesisValidator> {
    members
        .iter()
        .map(|(key, settings)| GenesisValidator {
            public_key: key.public(),
            p2p: settings.p2p.to_string(),
            stake,
        })
        .collect()
}

/// Name of validator `index` (from 0).
pub fn member_name(index: usize) -> String {
    format!("validator-{}", index + 1)
}

/// Write a network directory at `dir` for `genesis`, whose validators must be `members` in
/// order. Refuses a directory that already holds a network.
pub fn write_network(
    dir: &Path,
    genesis: &Genesis,
    members: &[(Keypair, NodeSettings)],
) -> Result<Network> {
    if dir.join(NETWORK_FILE).exists() {
        bail!(
            "{} already holds a network; pick another directory or delete it first",
            dir.display()
        );
    }
    let matches = genesis.validators.len() == members.len()
        && genesis
            .validators
            .iter()
            .zip(members)
            .all(|(v, (key, settings))| {
                v.public_key == key.public() && v.p2p == settings.p2p.to_string()
            });
    ensure!(
        matches,
        "the genesis validator set does not match the validators being written"
    );
    let mut validators = Vec::with_capacity(members.len());
    for (i, (key, settings)) in members.iter().enumerate() {
        let name = member_name(i);
        home::write_home(&dir.join(&name), genesis, settings, key)?;
        validators.push(NetworkMember {
            name,
            api: format!("http://{}", settings.api),
            p2p: settings.p2p,
            public_key: key.public(),
        });
    }
    let network = Network {
        chain_id: genesis.chain_id.clone(),
        validators,
    };
    fs::write(
        dir.join(NETWORK_FILE),
        serde_json::to_string_pretty(&network)? + "\n",
    )?;
    Ok(network)
}

impl Network {
    /// Read `network.json` in `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(NETWORK_FILE);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}; write a network with `verity init --validators N --data-dir {}`",
                path.display(),
                dir.display()
            )
        })?;
        let network: Network = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid network file", path.display()))?;
        ensure!(
            !network.validators.is_empty(),
            "{} lists no validator",
            path.display()
        );
        Ok(network)
    }

    /// Data directory of `member` inside the network directory `dir`.
    pub fn member_dir(dir: &Path, member: &NetworkMember) -> PathBuf {
        dir.join(&member.name)
    }

    /// Whether `dir` holds a network directory.
    pub fn exists(dir: &Path) -> bool {
        dir.join(NETWORK_FILE).exists() && dir.join(member_name(0)).join(GENESIS_FILE).exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> NodeSettings {
        NodeSettings {
            api: "127.0.0.1:7070".parse().unwrap(),
            p2p: "127.0.0.1:7071".parse().unwrap(),
            block_interval_ms: 250,
        }
    }

    #[test]
    fn validators_listen_a_stride_apart() {
        let third = nth_settings(&first(), 2, 100).unwrap();
        assert_eq!(third.api.port(), 7270);
        assert_eq!(third.p2p.port(), 7271);
        assert!(nth_settings(&first(), 700, 100).is_err(), "port overflow");
    }

    #[test]
    fn strides_that_collide_are_refused() {
        // API 7070 and p2p 7071 differ by 1: a stride of 1 puts validator 2's API on 7071.
        let err = new_members(2, &first(), 1).unwrap_err().to_string();
        assert!(err.contains("--port-stride"), "{err}");
        assert!(new_members(2, &first(), 0).is_err());
        assert_eq!(new_members(4, &first(), 2).unwrap().len(), 4);
    }

    #[test]
    fn network_directory_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let members = new_members(3, &first(), 100).unwrap();
        let genesis = Genesis {
            chain_id: "net-test".into(),
            genesis_time_ms: 1,
            params: verity_ledger::Params::default(),
            accounts: vec![verity_ledger::GenesisAccount {
                address: members[0].0.address(),
                balance: 1_000,
            }],
            validators: genesis_validators(&members, 5_000),
        };
        let written = write_network(dir.path(), &genesis, &members).unwrap();
        assert!(Network::exists(dir.path()));
        let loaded = Network::load(dir.path()).unwrap();
        assert_eq!(loaded, written);
        assert_eq!(loaded.validators[2].api, "http://127.0.0.1:7270");
        let home =
            crate::Home::load(&Network::member_dir(dir.path(), &loaded.validators[1])).unwrap();
        assert_eq!(home.genesis, genesis);
        assert_eq!(home.key.public(), members[1].0.public());
        assert!(
            write_network(dir.path(), &genesis, &members).is_err(),
            "never overwrites"
        );
    }
}
