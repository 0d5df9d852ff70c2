//! Hashing, signing and (batch) signature verification.
//!
//! Signatures are ed25519 (commonware's implementation, the same one consensus uses), always
//! under a namespace that names the chain and the kind of message, so a signature made for one
//! purpose or one chain can never be replayed as another.
//!
//! Batch verification needs random coefficients; the ledger has no randomness, so they are
//! drawn from a ChaCha20 stream seeded with the BLAKE3 hash of every (key, message, signature) in
//! the batch. An adversary cannot choose signatures that cancel without knowing the
//! coefficients, and cannot know them without fixing the signatures first (Fiat–Shamir).

use crate::types::{Hash32, PublicKeyBytes, SignatureBytes};
use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::{
    BatchEntry, BatchVerifier, Hasher, Sha256, Signer, Verifier,
    ed25519::{PrivateKey, PublicKey, Signature},
};
use commonware_parallel::{Rayon, Sequential, Strategy};
use rand_core::SeedableRng;
use std::{collections::HashMap, sync::OnceLock};

/// SHA-256 over the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> Hash32 {
    Hash32(Sha256::hash(parts).0)
}

/// An ed25519 key pair. Its `Debug` form shows the address only, never the secret.
#[derive(Clone)]
pub struct Keypair(PrivateKey);

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.address())
    }
}

impl Keypair {
    /// A key derived from `seed`: deterministic, for tests and fixed demo accounts only.
    pub fn from_seed(seed: u64) -> Self {
        Self(PrivateKey::from_seed(seed))
    }

    /// The key from its 32-byte secret.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self(PrivateKey::decode(Copying(&secret[..])).expect("any 32 bytes are an ed25519 secret"))
    }

    /// The 32-byte secret.
    pub fn secret(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&commonware_codec::Encode::encode(&self.0));
        out
    }

    /// The public key.
    pub fn public(&self) -> PublicKeyBytes {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.public_key().as_ref());
        PublicKeyBytes(out)
    }

    /// The account address of this key.
    pub fn address(&self) -> crate::Address {
        crate::Address::of_key(&self.public())
    }

    /// Sign `message` under `namespace`.
    pub fn sign(&self, namespace: &[u8], message: &[u8]) -> SignatureBytes {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.0.sign(namespace, message).as_ref());
        SignatureBytes(out)
    }

    /// The commonware private key, for consensus.
    pub fn to_consensus_key(&self) -> PrivateKey {
        self.0.clone()
    }
}

/// The key as a verifier, or `None` when the bytes are not a valid curve point.
fn public_key(bytes: &PublicKeyBytes) -> Option<PublicKey> {
    PublicKey::decode(Copying(&bytes.0[..])).ok()
}

/// Verify one signature.
pub fn verify(
    key: &PublicKeyBytes,
    namespace: &[u8],
    message: &[u8],
    signature: &SignatureBytes,
) -> bool {
    let (Some(key), Ok(sig)) = (
        public_key(key),
        Signature::decode(Copying(&signature.0[..])),
    ) else {
        return false;
    };
    key.verify(namespace, message, &sig)
}

/// One signature to check as part of a batch.
pub struct SignedMessage<'a> {
    /// Signing namespace.
    pub namespace: &'a [u8],
    /// The message as signed.
    pub message: &'a [u8],
    /// The signer's key.
    pub key: &'a PublicKeyBytes,
    /// The signature.
    pub signature: &'a SignatureBytes,
}

/// Check every signature; returns one verdict per item, in order.
///
/// All are first checked together in one batch; only when the batch fails is each checked on
/// its own to find the bad ones, so the common all-valid case costs one batch verification.
/// Each distinct key is decompressed once (a receipt batch repeats the node's key in every
/// call, and callers repeat across calls).
pub fn verify_all(items: &[SignedMessage<'_>]) -> Vec<bool> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<Option<PublicKey>> = Vec::new();
    let mut key_index: HashMap<&PublicKeyBytes, usize> = HashMap::new();
    let mut entries: Vec<(usize, Option<Signature>)> = Vec::with_capacity(items.len());
    for m in items {
        let k = *key_index.entry(m.key).or_insert_with(|| {
            keys.push(public_key(m.key));
            keys.len() - 1
        });
        entries.push((k, Signature::decode(Copying(&m.signature.0[..])).ok()));
    }
    let all_decoded = entries
        .iter()
        .all(|(k, sig)| keys[*k].is_some() && sig.is_some());
    if all_decoded && batch_verifies(items, &keys, &entries) {
        return vec![true; items.len()];
    }
    items
        .iter()
        .zip(&entries)
        .map(|(m, (k, sig))| match (&keys[*k], sig) {
            (Some(key), Some(sig)) => key.verify(m.namespace, m.message, sig),
            _ => false,
        })
        .collect()
}

/// One batch verification with coefficients derived from a BLAKE3 hash of the whole batch.
fn batch_verifies(
    items: &[SignedMessage<'_>],
    keys: &[Option<PublicKey>],
    entries: &[(usize, Option<Signature>)],
) -> bool {
    let mut seed = blake3::Hasher::new();
    seed.update(b"verity/batch-verification");
    for m in items {
        seed.update(&(m.namespace.len() as u64).to_le_bytes());
        seed.update(m.namespace);
        seed.update(&(m.message.len() as u64).to_le_bytes());
        seed.update(m.message);
        seed.update(&m.key.0);
        seed.update(&m.signature.0);
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(*seed.finalize().as_bytes());
    match parallel() {
        Some(pool) if items.len() >= PARALLEL_BATCH => {
            verify_batch_with(&mut rng, items, keys, entries, pool)
        }
        _ => verify_batch_with(&mut rng, items, keys, entries, &Sequential),
    }
}

fn verify_batch_with(
    rng: &mut rand_chacha::ChaCha20Rng,
    items: &[SignedMessage<'_>],
    keys: &[Option<PublicKey>],
    entries: &[(usize, Option<Signature>)],
    strategy: &impl Strategy,
) -> bool {
    PublicKey::verify_batch(
        rng,
        items,
        |i, m| {
            let (k, sig) = &entries[i];
            BatchEntry {
                namespace: m.namespace,
                message: m.message,
                public_key: keys[*k].as_ref().expect("checked by the caller"),
                signature: sig.as_ref().expect("checked by the caller"),
            }
        },
        strategy,
    )
}

/// Batches at least this large are verified on every core.
pub const PARALLEL_BATCH: usize = 256;

/// A thread pool with one thread per core, when there is more than one core. Work split over it
/// (a batch verification, the state-commitment update) has the same result as sequential work,
/// so it changes speed only.
pub(crate) fn parallel() -> Option<&'static Rayon> {
    static POOL: OnceLock<Option<Rayon>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().ok()?;
        if cores.get() < 2 {
            return None;
        }
        Rayon::new(cores).ok()
    })
    .as_ref()
}

/// Domain prefix of a tensor input's canonical bytes.
pub const TENSOR_INPUT_DOMAIN: &[u8] = b"verity/input/tensor-f32le\n";
/// Domain prefix of an image input's canonical bytes.
pub const IMAGE_INPUT_DOMAIN: &[u8] = b"verity/input/image\n";
/// Domain prefix of an output's canonical bytes.
pub const OUTPUT_DOMAIN: &[u8] = b"verity/output/v1\n";

/// The `input_hash` a ticket carries for a tensor input given as little-endian f32 bytes.
pub fn tensor_input_hash(f32le: &[u8]) -> Hash32 {
    sha256(&[TENSOR_INPUT_DOMAIN, f32le])
}

/// The `input_hash` a ticket carries for an image input (the encoded file's bytes).
pub fn image_input_hash(bytes: &[u8]) -> Hash32 {
    sha256(&[IMAGE_INPUT_DOMAIN, bytes])
}

/// The `output_hash` a receipt carries for an output of the integer program: SHA-256 of the
/// output domain ‖ `0u8` (the integer path) ‖ rank (u32) ‖ each dimension (u32) ‖ `frac_bits`
/// (u32) ‖ each value (i32), all little-endian.
pub fn integer_output_hash(shape: &[u32], frac_bits: u32, values: &[i32]) -> Hash32 {
    let mut bytes = Vec::with_capacity(9 + 4 * shape.len() + 4 * values.len());
    bytes.push(0u8);
    bytes.extend_from_slice(&(shape.len() as u32).to_le_bytes());
    shape
        .iter()
        .for_each(|d| bytes.extend_from_slice(&d.to_le_bytes()));
    bytes.extend_from_slice(&frac_bits.to_le_bytes());
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    sha256(&[OUTPUT_DOMAIN, &bytes])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let key = Keypair::from_seed(7);
        let sig = key.sign(b"ns", b"hello");
        assert!(verify(&key.public(), b"ns", b"hello", &sig));
        assert!(!verify(&key.public(), b"other", b"hello", &sig));
        assert!(!verify(&key.public(), b"ns", b"hellO", &sig));
        let restored = Keypair::from_secret(key.secret());
        assert_eq!(restored.public(), key.public());
    }

    #[test]
    fn batch_finds_the_bad_signature() {
        let keys: Vec<_> = (0..5).map(Keypair::from_seed).collect();
        let msgs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut sigs: Vec<_> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| k.sign(b"n", m))
            .collect();
        let pubs: Vec<_> = keys.iter().map(Keypair::public).collect();
        let batch = |sigs: &[SignatureBytes]| {
            let items: Vec<_> = (0..5)
                .map(|i| SignedMessage {
                    namespace: b"n",
                    message: &msgs[i],
                    key: &pubs[i],
                    signature: &sigs[i],
                })
                .collect();
            verify_all(&items)
        };
        assert_eq!(batch(&sigs), vec![true; 5]);
        sigs[3].0[5] ^= 1;
        assert_eq!(batch(&sigs), vec![true, true, true, false, true]);
        sigs[0] = SignatureBytes([0xff; 64]);
        assert_eq!(batch(&sigs), vec![false, true, true, false, true]);
    }

    #[test]
    fn invalid_point_is_rejected_not_panicking() {
        let bad = PublicKeyBytes([0xff; 32]);
        assert!(!verify(&bad, b"n", b"m", &SignatureBytes([0; 64])));
    }
}
