//! A validator's data directory and the key files.
//!
//! ```text
//! <dir>/genesis.json     the chain's genesis (identical on every validator)
//! <dir>/node.json        this validator's listen addresses and block interval
//! <dir>/validator.key    its consensus key (owner-only permissions)
//! <dir>/ledger.redb      executed state, blocks, events, transaction outcomes
//! <dir>/consensus/       the consensus engine's journals and archives
//! ```
//!
//! Key files are JSON (`address`, `public_key`, `secret`) written with mode 0600; a key file
//! readable by others is refused.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::{
    fs,
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
};
use verity_ledger::{Address, Genesis, Keypair, PublicKeyBytes};

/// File name of the genesis file.
pub const GENESIS_FILE: &str = "genesis.json";
/// File name of the validator's settings.
pub const NODE_FILE: &str = "node.json";
/// File name of the consensus key.
pub const VALIDATOR_KEY_FILE: &str = "validator.key";
/// File name of the ledger database.
pub const LEDGER_DB: &str = "ledger.redb";
/// Directory of the consensus engine's storage.
pub const CONSENSUS_DIR: &str = "consensus";

/// A validator's own settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    /// Where the HTTP API listens.
    pub api: SocketAddr,
    /// Where consensus peers connect.
    pub p2p: SocketAddr,
    /// Shortest time between blocks.
    pub block_interval_ms: u64,
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            api: "127.0.0.1:7070".parse().expect("valid address"),
            p2p: "127.0.0.1:7071".parse().expect("valid address"),
            block_interval_ms: 250,
        }
    }
}

/// Everything read from a validator's data directory.
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// This validator's settings.
    pub settings: NodeSettings,
    /// Its consensus key.
    pub key: Keypair,
}

impl Home {
    /// Read the data directory at `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let genesis_path = dir.join(GENESIS_FILE);
        let text = fs::read_to_string(&genesis_path).with_context(|| {
            format!(
                "cannot read {}; create the data directory with `verity init --data-dir {}`",
                genesis_path.display(),
                dir.display()
            )
        })?;
        let genesis = Genesis::from_json(&text).map_err(anyhow::Error::msg)?;
        let settings_path = dir.join(NODE_FILE);
        let settings: NodeSettings = serde_json::from_str(
            &fs::read_to_string(&settings_path)
                .with_context(|| format!("cannot read {}", settings_path.display()))?,
        )
        .with_context(|| format!("{} is not valid", settings_path.display()))?;
        let key = read_key(&dir.join(VALIDATOR_KEY_FILE))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            genesis,
            settings,
            key,
        })
    }

    /// Path of the ledger database.
    pub fn ledger_path(&self) -> PathBuf {
        self.dir.join(LEDGER_DB)
    }

    /// Directory of the consensus engine's storage.
    pub fn consensus_dir(&self) -> PathBuf {
        self.dir.join(CONSENSUS_DIR)
    }
}

/// Write a new data directory for a validator of `genesis` with consensus key `key`.
pub fn write_home(
    dir: &Path,
    genesis: &Genesis,
    settings: &NodeSettings,
    key: &Keypair,
) -> Result<()> {
    if dir.join(GENESIS_FILE).exists() {
        bail!(
            "{} already holds a chain; pick another --data-dir or delete it first",
            dir.display()
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::write(
        dir.join(GENESIS_FILE),
        serde_json::to_string_pretty(genesis)? + "\n",
    )?;
    fs::write(
        dir.join(NODE_FILE),
        serde_json::to_string_pretty(settings)? + "\n",
    )?;
    write_key(&dir.join(VALIDATOR_KEY_FILE), key)
}

/// Replace the settings of the validator in `dir` (its keys and genesis stay).
pub fn write_settings(dir: &Path, settings: &NodeSettings) -> Result<()> {
    let path = dir.join(NODE_FILE);
    fs::write(&path, serde_json::to_string_pretty(settings)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A key file's content.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    address: Address,
    public_key: PublicKeyBytes,
    secret: String,
}

/// A new random key.
pub fn generate_key() -> Keypair {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    Keypair::from_secret(secret)
}

/// Write `key` to `path`, readable and writable by its owner only. Refuses to overwrite.
pub fn write_key(path: &Path, key: &Keypair) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let body = KeyFile {
        address: key.address(),
        public_key: key.public(),
        secret: hex::encode(key.secret()),
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create key file {} (does it exist already?)",
            path.display()
        )
    })?;
    file.write_all((serde_json::to_string_pretty(&body)? + "\n").as_bytes())?;
    Ok(())
}

/// Read a key file, refusing one that others can read.
pub fn read_key(path: &Path) -> Result<Keypair> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .with_context(|| format!("no key file at {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "key file {} is readable by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Verity key file", path.display()))?;
    let secret: [u8; 32] = hex::decode(&file.secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{}: secret is not 64 hex digits", path.display()))?;
    let key = Keypair::from_secret(secret);
    if key.public() != file.public_key || key.address() != file.address {
        bail!(
            "{}: public key or address does not match the secret",
            path.display()
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = generate_key();
        write_key(&path, &key).unwrap();
        assert_eq!(read_key(&path).unwrap().address(), key.address());
        assert!(write_key(&path, &key).is_err(), "never overwrites");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = read_key(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
    }
}
