//! Value types shared by transactions, state and events.
//!
//! Every type here has one canonical binary encoding (borsh, used for signing, hashing and
//! storage) and one JSON form (used by the HTTP API): addresses as bech32m strings with the
//! `verity` prefix, hashes and keys as lowercase hex.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// An amount of the native token in base units. Arithmetic on amounts is always checked.
pub type Amount = u64;

/// Milliseconds since the Unix epoch, as carried by block timestamps.
pub type TimeMs = u64;

/// Basis points: 10,000 = 100 %.
pub type Bps = u16;

/// One whole basis-point denominator.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// Length of an [`Address`] in bytes.
pub const ADDRESS_LEN: usize = 20;

/// Human-readable prefix of bech32m addresses.
pub const ADDRESS_HRP: &str = "verity";

macro_rules! hex_serde {
    ($ty:ident, $len:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($ty), hex::encode(self.0))
            }
        }
        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                let s = s.strip_prefix("0x").unwrap_or(s);
                let bytes = hex::decode(s).map_err(|_| ParseError::Hex {
                    what: stringify!($ty),
                    len: $len,
                })?;
                let array: [u8; $len] = bytes.try_into().map_err(|_| ParseError::Hex {
                    what: stringify!($ty),
                    len: $len,
                })?;
                Ok(Self(array))
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A 32-byte digest (SHA-256 unless stated otherwise): model ids, input/output hashes,
/// ticket ids, transaction hashes, state roots.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash32(pub [u8; 32]);
hex_serde!(Hash32, 32);

/// An ed25519 public key in its 32-byte compressed form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PublicKeyBytes(pub [u8; 32]);
hex_serde!(PublicKeyBytes, 32);

/// An ed25519 signature in its 64-byte form.
#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignatureBytes(pub [u8; 64]);
hex_serde!(SignatureBytes, 64);

/// The id of a model: the SHA-256 of its ONNX file.
pub type ModelId = Hash32;

/// The id of a call: the hash of its caller-signed ticket.
pub type CallId = Hash32;

/// A short account address: the first 20 bytes of `SHA-256("verity/address" ‖ public key)`.
///
/// Accounts without keys (the protocol treasury, the verifier pool) have addresses derived from
/// a label instead, so no one holds a key that can spend from them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Address(pub [u8; ADDRESS_LEN]);

impl Address {
    /// The address controlled by `key`.
    pub fn of_key(key: &PublicKeyBytes) -> Self {
        Self::derive(&[b"verity/address", &key.0])
    }

    /// The keyless address of a protocol-owned account named `label`.
    pub fn of_label(label: &str) -> Self {
        Self::derive(&[b"verity/protocol-account", label.as_bytes()])
    }

    fn derive(parts: &[&[u8]]) -> Self {
        let digest = crate::crypto::sha256(parts);
        let mut out = [0u8; ADDRESS_LEN];
        out.copy_from_slice(&digest.0[..ADDRESS_LEN]);
        Self(out)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = bech32::Hrp::parse_unchecked(ADDRESS_HRP);
        bech32::encode_to_fmt::<bech32::Bech32m, _>(f, hrp, &self.0).map_err(|_| fmt::Error)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (hrp, data) = bech32::decode(s).map_err(|e| ParseError::Address(e.to_string()))?;
        if hrp.as_str() != ADDRESS_HRP {
            return Err(ParseError::Address(format!(
                "prefix is '{hrp}', expected '{ADDRESS_HRP}'"
            )));
        }
        let bytes: [u8; ADDRESS_LEN] = data.try_into().map_err(|d: Vec<u8>| {
            ParseError::Address(format!("{} bytes, expected {ADDRESS_LEN}", d.len()))
        })?;
        Ok(Self(bytes))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A value that could not be parsed from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a valid bech32m `verity1…` address.
    #[error("invalid address: {0}; an address looks like verity1… (see `verity keys show`)")]
    Address(String),
    /// Not the expected number of hex digits.
    #[error("invalid {what}: expected {len} bytes as {} hex digits", .len * 2)]
    Hex {
        /// The kind of value.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}

/// How a call's result is backed. Each mode is priced separately by each node.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[borsh(use_discriminant = true)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Mode {
    /// Node signature and stake only; audited at the floor rate.
    Signed = 0,
    /// Optimistic: a random sample of calls is re-executed by auditors.
    Audited = 1,
    /// Signed by an attested enclave key.
    Tee = 2,
    /// Backed by a zero-knowledge proof of the integer model.
    Zk = 3,
}

impl Mode {
    /// Every mode, in order.
    pub const ALL: [Mode; 4] = [Mode::Signed, Mode::Audited, Mode::Tee, Mode::Zk];
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "signed" => Ok(Mode::Signed),
            "audited" => Ok(Mode::Audited),
            "tee" => Ok(Mode::Tee),
            "zk" => Ok(Mode::Zk),
            other => Err(format!(
                "unknown verification mode '{other}'; use one of signed, audited, tee, zk"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Signed => "signed",
            Mode::Audited => "audited",
            Mode::Tee => "tee",
            Mode::Zk => "zk",
        })
    }
}

/// Element type of a model's input tensor.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[borsh(use_discriminant = true)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum DType {
    /// 32-bit IEEE float.
    F32 = 0,
    /// Unsigned byte (raw pixels).
    U8 = 1,
    /// Signed byte (quantized).
    I8 = 2,
    /// 32-bit signed integer.
    I32 = 3,
}

impl FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(DType::F32),
            "u8" => Ok(DType::U8),
            "i8" => Ok(DType::I8),
            "i32" => Ok(DType::I32),
            other => Err(format!(
                "unknown dtype '{other}'; use one of f32, u8, i8, i32"
            )),
        }
    }
}

/// The input a model accepts: tensor shape (batch dimension included) and element type.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InputSpec {
    /// Dimensions, outermost first, e.g. `[1, 1, 8, 8]`.
    pub shape: Vec<u32>,
    /// Element type.
    pub dtype: DType,
}

/// The hardware a node declares: the operator's profit-and-loss view, and the capacity an
/// exposure router sends traffic up to.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HardwareProfile {
    /// GPU model, e.g. `h100-sxm`, `rtx-4090`, or `cpu`.
    pub gpu: String,
    /// Power draw of the accelerator under load, in watts.
    pub watts: u32,
    /// Purchase cost of the hardware in US cents.
    pub cost_usd_cents: u64,
    /// Calls per second the node declares it sustains, at least 1. It is a claim, not a proof:
    /// the exposure router credits `min(capacity, stake / stake_per_capacity)`, so capacity
    /// counts only as far as stake backs it, and a node that cannot keep up with the traffic
    /// it claimed collects SLA misses and refusals, which push it out of the merit pool.
    pub capacity: u32,
}

/// A node's own price per call for one verification mode.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct ModePrice {
    /// The verification mode.
    pub mode: Mode,
    /// Price per call in base units.
    pub price: Amount,
}

/// A confirmed fault that costs stake (see [`crate::params::SlashingSchedule`]).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Offence {
    /// A zk-mode call's proof, for the call's own input and output, does not verify.
    InvalidProof,
    /// A zk-mode call had no valid proof by its deadline.
    MissedProofDeadline,
    /// Re-execution of a sampled call gave another output than the node's receipt.
    AuditMismatch,
    /// A sampled node did not reveal the call's input by the deadline.
    AuditSilence,
    /// An auditor reported an output that re-execution contradicts (including a known-answer
    /// check it failed).
    EquivocatingAuditor,
}

impl Offence {
    /// Every offence, in schedule order.
    pub const ALL: [Offence; 5] = [
        Offence::InvalidProof,
        Offence::MissedProofDeadline,
        Offence::AuditMismatch,
        Offence::AuditSilence,
        Offence::EquivocatingAuditor,
    ];

    /// What proves the offence, for the published schedule.
    pub fn evidence(self) -> &'static str {
        match self {
            Offence::InvalidProof => {
                "a proof submitted by the node for the call's input and output fails Groth16 verification"
            }
            Offence::MissedProofDeadline => "no valid proof on the ledger by the proof deadline",
            Offence::AuditMismatch => {
                "the ledger's re-execution of the revealed input disagrees with the receipt's output hash"
            }
            Offence::AuditSilence => {
                "the sampled call's input was not revealed by the reveal deadline"
            }
            Offence::EquivocatingAuditor => {
                "the auditor's reported output hash disagrees with the ledger's re-execution or a known answer"
            }
        }
    }
}

impl fmt::Display for Offence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Offence::InvalidProof => "invalid_proof",
            Offence::MissedProofDeadline => "missed_proof_deadline",
            Offence::AuditMismatch => "audit_mismatch",
            Offence::AuditSilence => "audit_silence",
            Offence::EquivocatingAuditor => "equivocating_auditor",
        })
    }
}

/// Why a call was paid out.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Not sampled for audit; the challenge window closed.
    ChallengeWindow,
    /// Sampled; an auditor re-executed it and reported the receipt's output.
    Audit {
        /// The auditor.
        auditor: Address,
    },
    /// Sampled; the ledger re-executed it as referee and found the receipt's output.
    Referee,
    /// A zero-knowledge proof of the call verified.
    Proof {
        /// The transaction that carried the proof.
        tx: Hash32,
    },
}

/// Bytes of any length, written as lowercase hex in JSON (certificates, PCR values).
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct HexBytes(pub Vec<u8>);

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        hex::decode(s.strip_prefix("0x").unwrap_or(&s))
            .map(HexBytes)
            .map_err(|e| serde::de::Error::custom(format!("not hex bytes: {e}")))
    }
}
