//! A software enclave for the local devnet: it issues attestation documents of exactly the
//! Nitro shape (untagged `COSE_Sign1`, protected header `{1: -35}`, the same nine payload fields,
//! ES384 over a P-384 certificate chain) under a devnet-only root CA derived from a seed.
//!
//! It proves nothing about the code that runs: whoever holds the seed can issue any
//! measurement. Only a devnet genesis may list its [`SoftwareEnclave::root`] among the trusted
//! roots; production policies trust [`RootCert::aws_nitro_g1`] alone.
//!
//! Everything is deterministic: the three P-384 keys are derived from the seed with SHA-384,
//! certificates have fixed serial numbers and validity, and ECDSA signatures use RFC 6979
//! nonces, so the same seed and request give the same bytes.

use crate::{
    RootCert,
    chain::{BASIC_CONSTRAINTS, KEY_USAGE},
};
use ciborium::value::Value;
use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
use p384::ecdsa::{DerSignature, Signature, SigningKey, signature::Signer};
use sha2::{Digest, Sha384};
use std::{collections::BTreeMap, str::FromStr, time::Duration};
use thiserror::Error;
use x509_cert::{
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    der::{DateTime, Encode, asn1::OctetString},
    ext::{
        Extension,
        pkix::{BasicConstraints, KeyUsage, KeyUsages},
    },
    name::Name,
    serial_number::SerialNumber,
    spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef},
    time::{Time, Validity},
};

/// Start of the devnet certificates' default validity: 2025-01-01T00:00:00Z.
pub const DEVNET_NOT_BEFORE_MS: u64 = 1_735_689_600_000;
/// End of the devnet certificates' default validity: 2125-01-01T00:00:00Z.
pub const DEVNET_NOT_AFTER_MS: u64 = 4_891_363_200_000;

const KEY_DOMAIN: &[u8] = b"verity/attestation/software-enclave/v1/key";
const ROOT_NAME: &str = "CN=verity-devnet.nitro-enclaves,OU=Verity devnet,O=Verity";
const INTERMEDIATE_NAME: &str =
    "CN=intermediate.verity-devnet.nitro-enclaves,OU=Verity devnet,O=Verity";
const LEAF_NAME: &str = "CN=enclave.verity-devnet.nitro-enclaves,OU=Verity devnet,O=Verity";

/// Why the software enclave could not issue a certificate or a document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SoftwareEnclaveError {
    /// The validity period cannot be encoded in a certificate.
    #[error(
        "certificate validity {not_before_ms}..{not_after_ms} ms cannot be used: {reason}; give \
         a period within years 1970..9999 that does not end before it starts"
    )]
    Validity {
        /// Requested start.
        not_before_ms: u64,
        /// Requested end.
        not_after_ms: u64,
        /// Why.
        reason: String,
    },
    /// Encoding a certificate or the document failed.
    #[error("could not encode the {what}: {reason}")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// What to put in a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentRequest {
    /// `module_id`; empty means `verity-devnet-enclave`.
    pub module_id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// `pcrs`: index → value (48 bytes for SHA-384 measurements).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// `public_key`: the enclave's ed25519 key, 32 bytes.
    pub public_key: Option<Vec<u8>>,
    /// `user_data`.
    pub user_data: Option<Vec<u8>>,
    /// `nonce`.
    pub nonce: Option<Vec<u8>>,
}

/// A devnet enclave: root CA, intermediate CA and document-signing leaf, all from one seed.
#[derive(Clone)]
pub struct SoftwareEnclave {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    leaf: Vec<u8>,
    leaf_key: SigningKey,
}

impl std::fmt::Debug for SoftwareEnclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareEnclave")
            .field("root", &RootCert::from_der(&self.root).ok())
            .finish_non_exhaustive()
    }
}

/// A P-384 signing key derived from `seed` for `label`.
fn derive_key(seed: &[u8; 32], label: &[u8]) -> SigningKey {
    let mut counter = 0u32;
    loop {
        let digest = Sha384::new()
            .chain_update(KEY_DOMAIN)
            .chain_update([label.len() as u8])
            .chain_update(label)
            .chain_update(seed)
            .chain_update(counter.to_be_bytes())
            .finalize();
        // Fails only for a digest ≥ the group order (probability about 2^-190) or zero.
        if let Ok(key) = SigningKey::from_slice(&digest) {
            return key;
        }
        counter = counter.wrapping_add(1);
    }
}

fn time(ms: u64) -> Result<Time, String> {
    DateTime::from_unix_duration(Duration::from_millis(ms))
        .map(Time::from)
        .map_err(|e| e.to_string())
}

fn validity(not_before_ms: u64, not_after_ms: u64) -> Result<Validity, SoftwareEnclaveError> {
    let err = |reason: String| SoftwareEnclaveError::Validity {
        not_before_ms,
        not_after_ms,
        reason,
    };
    if not_after_ms < not_before_ms {
        return Err(err("it ends before it starts".into()));
    }
    Ok(Validity::new(
        time(not_before_ms).map_err(err)?,
        time(not_after_ms).map_err(err)?,
    ))
}

/// Certificate contents beyond key and validity: names and the two critical extensions.
struct Profile {
    subject: Name,
    issuer: Name,
    /// `Some(path length)` for a CA, `None` for the leaf.
    ca: Option<u8>,
}

fn extension<T: Encode>(
    value: &T,
    oid: x509_cert::der::asn1::ObjectIdentifier,
) -> x509_cert::der::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical: true,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let (constraints, usage) = match self.ca {
            Some(path_len) => (
                BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(path_len),
                },
                KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            ),
            None => (
                BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                KeyUsage(KeyUsages::DigitalSignature.into()),
            ),
        };
        Ok(vec![
            extension(&constraints, BASIC_CONSTRAINTS)?,
            extension(&usage, KEY_USAGE)?,
        ])
    }
}

fn name(s: &str) -> Result<Name, SoftwareEnclaveError> {
    Name::from_str(s).map_err(|e| SoftwareEnclaveError::Encoding {
        what: "certificate name",
        reason: e.to_string(),
    })
}

/// Issue one certificate for `subject_key`, signed by `issuer_key`.
fn certificate(
    profile: Profile,
    serial: u32,
    validity: Validity,
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
) -> Result<Vec<u8>, SoftwareEnclaveError> {
    let encoding = |reason: String| SoftwareEnclaveError::Encoding {
        what: "certificate",
        reason,
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(subject_key.verifying_key())
        .map_err(|e| encoding(e.to_string()))?;
    let builder = CertificateBuilder::new(profile, SerialNumber::from(serial), validity, spki)
        .map_err(|e| encoding(e.to_string()))?;
    let cert = builder
        .build::<_, DerSignature>(issuer_key)
        .map_err(|e| encoding(e.to_string()))?;
    cert.to_der().map_err(|e| encoding(e.to_string()))
}

impl SoftwareEnclave {
    /// The enclave for `seed`, with every certificate valid from [`DEVNET_NOT_BEFORE_MS`] to
    /// [`DEVNET_NOT_AFTER_MS`].
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, SoftwareEnclaveError> {
        Self::with_validity(seed, DEVNET_NOT_BEFORE_MS, DEVNET_NOT_AFTER_MS)
    }

    /// The enclave for `seed` whose document-signing (leaf) certificate is valid from
    /// `not_before_ms` to `not_after_ms`; root and intermediate keep the devnet defaults. The
    /// keys depend on the seed only, so the root is the same as [`SoftwareEnclave::from_seed`]'s.
    pub fn with_validity(
        seed: &[u8; 32],
        not_before_ms: u64,
        not_after_ms: u64,
    ) -> Result<Self, SoftwareEnclaveError> {
        let root_key = derive_key(seed, b"root");
        let intermediate_key = derive_key(seed, b"intermediate");
        let leaf_key = derive_key(seed, b"leaf");
        let ca_validity = validity(DEVNET_NOT_BEFORE_MS, DEVNET_NOT_AFTER_MS)?;

        let root = certificate(
            Profile {
                subject: name(ROOT_NAME)?,
                issuer: name(ROOT_NAME)?,
                ca: Some(1),
            },
            1,
            ca_validity,
            &root_key,
            &root_key,
        )?;
        let intermediate = certificate(
            Profile {
                subject: name(INTERMEDIATE_NAME)?,
                issuer: name(ROOT_NAME)?,
                ca: Some(0),
            },
            2,
            ca_validity,
            &intermediate_key,
            &root_key,
        )?;
        let leaf = certificate(
            Profile {
                subject: name(LEAF_NAME)?,
                issuer: name(INTERMEDIATE_NAME)?,
                ca: None,
            },
            3,
            validity(not_before_ms, not_after_ms)?,
            &leaf_key,
            &intermediate_key,
        )?;
        Ok(Self {
            root,
            intermediate,
            leaf,
            leaf_key,
        })
    }

    /// The devnet root CA, for the devnet genesis's trust policy.
    pub fn root(&self) -> RootCert {
        RootCert::from_der(&self.root).expect("the software enclave's root is a valid certificate")
    }

    /// The DER of the root, intermediate and leaf certificates.
    pub fn certificates(&self) -> [&[u8]; 3] {
        [&self.root, &self.intermediate, &self.leaf]
    }

    /// Issue a signed attestation document. The request is signed as given, malformed or
    /// not: refusing bad documents is the verifier's job.
    pub fn issue(&self, request: &DocumentRequest) -> Result<Vec<u8>, SoftwareEnclaveError> {
        let bytes_or_null = |b: &Option<Vec<u8>>| b.clone().map_or(Value::Null, Value::Bytes);
        let module_id = if request.module_id.is_empty() {
            "verity-devnet-enclave".to_string()
        } else {
            request.module_id.clone()
        };
        let text = |s: &str| Value::Text(s.to_string());
        let payload = Value::Map(vec![
            (text("module_id"), Value::Text(module_id)),
            (text("digest"), text("SHA384")),
            (
                text("timestamp"),
                Value::Integer(request.timestamp_ms.into()),
            ),
            (
                text("pcrs"),
                Value::Map(
                    request
                        .pcrs
                        .iter()
                        .map(|(i, v)| (Value::Integer((*i).into()), Value::Bytes(v.clone())))
                        .collect(),
                ),
            ),
            (text("certificate"), Value::Bytes(self.leaf.clone())),
            (
                text("cabundle"),
                Value::Array(vec![
                    Value::Bytes(self.root.clone()),
                    Value::Bytes(self.intermediate.clone()),
                ]),
            ),
            (text("public_key"), bytes_or_null(&request.public_key)),
            (text("user_data"), bytes_or_null(&request.user_data)),
            (text("nonce"), bytes_or_null(&request.nonce)),
        ]);
        let mut payload_bytes = Vec::new();
        ciborium::ser::into_writer(&payload, &mut payload_bytes).map_err(|e| {
            SoftwareEnclaveError::Encoding {
                what: "document payload",
                reason: e.to_string(),
            }
        })?;
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES384)
            .build();
        CoseSign1Builder::new()
            .protected(protected)
            .payload(payload_bytes)
            .create_signature(&[], |to_be_signed| {
                let signature: Signature = self.leaf_key.sign(to_be_signed);
                signature.to_bytes().to_vec()
            })
            .build()
            .to_vec()
            .map_err(|e| SoftwareEnclaveError::Encoding {
                what: "COSE_Sign1",
                reason: e.to_string(),
            })
    }
}
