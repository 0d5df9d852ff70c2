//! Named account keys under `<home>/keys/<name>.key`, and resolving names or addresses.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use verity_ledger::{Address, Keypair};

/// The keys directory under `home`.
pub fn dir(home: &Path) -> PathBuf {
    home.join("keys")
}

/// Path of the key named `name`.
pub fn path(home: &Path, name: &str) -> PathBuf {
    dir(home).join(format!("{name}.key"))
}

/// Load the key named `name`.
pub fn load(home: &Path, name: &str) -> Result<Keypair> {
    verity_node::home::read_key(&path(home, name)).with_context(|| {
        format!(
            "no usable key '{name}'; create it with `verity keys new {name}` (keys live in {})",
            dir(home).display()
        )
    })
}

/// An address given as `verity1…` or as the name of a local key.
pub fn address(home: &Path, name_or_address: &str) -> Result<Address> {
    match name_or_address.parse::<Address>() {
        Ok(a) => Ok(a),
        Err(e) if name_or_address.starts_with("verity1") => Err(anyhow::anyhow!("{e}")),
        Err(_) => Ok(load(home, name_or_address)?.address()),
    }
}

/// Every local key, sorted by name.
pub fn list(home: &Path) -> Result<Vec<(String, Keypair)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir(home)) else {
        return Ok(out);
    };
    for entry in entries {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "key") {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            out.push((name.clone(), load(home, &name)?));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
