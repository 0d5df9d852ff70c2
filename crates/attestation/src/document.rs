//! Decoding of the `COSE_Sign1` envelope and of the attestation document it carries.
//!
//! Only structure is checked here: field presence, types and lengths as AWS specifies them
//! (`aws-nitro-enclaves-nsm-api`, `docs/attestation_process.md`). Nothing decoded here is
//! trusted until [`crate::verify_document`] has checked the chain and the signature.

use crate::{AttestationError, MAX_DOCUMENT_BYTES};
use ciborium::value::Value;
use coset::{AsCborValue, CoseSign1, iana, iana::EnumI64};
use std::collections::BTreeMap;

/// CBOR tag of a tagged `COSE_Sign1` (RFC 9052).
const COSE_SIGN1_TAG: u64 = 18;
/// Largest payload AWS allows in a document.
const MAX_PAYLOAD_BYTES: usize = 16_384;
/// Largest certificate (leaf or CA bundle entry) AWS allows.
const MAX_CERT_BYTES: usize = 1024;
/// Most CA bundle entries accepted (AWS sends 4: root, regional, zonal, instance).
pub(crate) const MAX_CABUNDLE: usize = 8;
/// Largest `user_data` and `nonce`.
const MAX_USER_DATA_BYTES: usize = 512;
/// Largest `public_key`.
const MAX_PUBLIC_KEY_BYTES: usize = 1024;
/// Length of an ES384 signature (r ‖ s, 48 bytes each).
pub(crate) const SIGNATURE_BYTES: usize = 96;

/// An attestation document as decoded, before any cryptographic check.
///
/// Obtained from [`decode`]; [`crate::verify_document`] returns one only after the chain, the
/// signature, the freshness and the measurement were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Issuing Nitro Secure Module, e.g. `i-0644948d93f19c17b-enc018a705a4fc6e067`.
    pub module_id: String,
    /// When the document was made, ms since the Unix epoch (the enclave host's clock).
    pub timestamp_ms: u64,
    /// Platform configuration registers: index (0..32) → value (32, 48 or 64 bytes).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// The certificate that signed the document, DER.
    pub certificate: Vec<u8>,
    /// Its issuing CA certificates, DER, root first.
    pub cabundle: Vec<Vec<u8>>,
    /// Key the enclave asked to be attested (absent when the field is missing or null).
    pub public_key: Option<Vec<u8>>,
    /// Data the enclave asked to be signed with the document.
    pub user_data: Option<Vec<u8>>,
    /// Nonce the enclave asked to be signed with the document.
    pub nonce: Option<Vec<u8>>,
}

/// A decoded document together with what its signature covers.
pub(crate) struct Signed {
    pub document: Document,
    /// The `Sig_structure` (RFC 9052 §4.4) the ES384 signature is over.
    pub to_be_signed: Vec<u8>,
    /// The signature, r ‖ s.
    pub signature: [u8; SIGNATURE_BYTES],
}

/// Decode an attestation document without verifying it: size, `COSE_Sign1` structure, the
/// ES384 algorithm and every payload field's type and length (steps 1–3 of the crate
/// documentation).
///
/// Use [`crate::verify`] to decide whether to trust a document; this is for inspection
/// (explorers, error reports) only.
pub fn decode(bytes: &[u8]) -> Result<Document, AttestationError> {
    decode_signed(bytes).map(|s| s.document)
}

pub(crate) fn decode_signed(bytes: &[u8]) -> Result<Signed, AttestationError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(AttestationError::TooLarge {
            len: bytes.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    let value = read_cbor(bytes).map_err(AttestationError::Cose)?;
    let value = match value {
        Value::Tag(COSE_SIGN1_TAG, inner) => *inner,
        Value::Tag(tag, _) => {
            return Err(AttestationError::Cose(format!(
                "CBOR tag {tag} where tag 18 (COSE_Sign1) or none was expected"
            )));
        }
        other => other,
    };
    let sign1 = CoseSign1::from_cbor_value(value)
        .map_err(|e| AttestationError::Cose(format!("malformed COSE_Sign1 array: {e}")))?;

    let header = &sign1.protected.header;
    match &header.alg {
        Some(coset::Algorithm::Assigned(iana::Algorithm::ES384)) => {}
        Some(coset::Algorithm::Assigned(other)) => {
            return Err(AttestationError::UnsupportedAlgorithm {
                found: format!("{other:?} ({})", other.to_i64()),
            });
        }
        Some(other) => {
            return Err(AttestationError::UnsupportedAlgorithm {
                found: format!("{other:?}"),
            });
        }
        None => {
            return Err(AttestationError::UnsupportedAlgorithm {
                found: "none".into(),
            });
        }
    }
    if !header.crit.is_empty() {
        return Err(AttestationError::CriticalHeader(format!(
            "{:?}",
            header.crit
        )));
    }
    let Some(payload) = &sign1.payload else {
        return Err(AttestationError::Cose(
            "the payload is detached (nil); Nitro documents carry it inline".into(),
        ));
    };
    if payload.is_empty() || payload.len() > MAX_PAYLOAD_BYTES {
        return Err(AttestationError::Cose(format!(
            "payload of {} bytes, outside 1..={MAX_PAYLOAD_BYTES}",
            payload.len()
        )));
    }
    let signature: [u8; SIGNATURE_BYTES] = sign1.signature.as_slice().try_into().map_err(|_| {
        AttestationError::Cose(format!(
            "signature of {} bytes; an ES384 signature is {SIGNATURE_BYTES} bytes (r ‖ s)",
            sign1.signature.len()
        ))
    })?;
    let document = decode_payload(payload)?;
    Ok(Signed {
        document,
        to_be_signed: sign1.tbs_data(&[]),
        signature,
    })
}

/// Read exactly one CBOR item from `bytes`.
fn read_cbor(mut bytes: &[u8]) -> Result<Value, String> {
    let value: Value =
        ciborium::de::from_reader(&mut bytes).map_err(|e| format!("invalid CBOR: {e}"))?;
    if !bytes.is_empty() {
        return Err(format!("{} bytes after the CBOR item", bytes.len()));
    }
    Ok(value)
}

fn field(field: &'static str, problem: impl Into<String>) -> AttestationError {
    AttestationError::Field {
        field,
        problem: problem.into(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "an integer",
        Value::Bytes(_) => "a byte string",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text string",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Tag(..) => "a tagged item",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        _ => "an unknown CBOR item",
    }
}

fn bytes_field(
    name: &'static str,
    value: Value,
    min: usize,
    max: usize,
) -> Result<Vec<u8>, AttestationError> {
    match value {
        Value::Bytes(b) if (min..=max).contains(&b.len()) => Ok(b),
        Value::Bytes(b) => Err(field(
            name,
            format!("is {} bytes, outside {min}..={max}", b.len()),
        )),
        other => Err(field(
            name,
            format!("is {}, not a byte string", type_name(&other)),
        )),
    }
}

/// An optional byte-string field: absent or null is `None`.
fn optional_bytes(
    name: &'static str,
    value: Option<Value>,
    min: usize,
    max: usize,
) -> Result<Option<Vec<u8>>, AttestationError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => bytes_field(name, v, min, max).map(Some),
    }
}

fn certificate_bytes(name: &'static str, value: Value) -> Result<Vec<u8>, AttestationError> {
    bytes_field(name, value, 1, MAX_CERT_BYTES)
}

fn decode_payload(payload: &[u8]) -> Result<Document, AttestationError> {
    let value = read_cbor(payload).map_err(|e| AttestationError::Cose(format!("payload: {e}")))?;
    let Value::Map(entries) = value else {
        return Err(AttestationError::Cose(format!(
            "the payload is {}, not a map",
            type_name(&value)
        )));
    };

    const FIELDS: [&str; 9] = [
        "module_id",
        "digest",
        "timestamp",
        "pcrs",
        "certificate",
        "cabundle",
        "public_key",
        "user_data",
        "nonce",
    ];
    let mut slots: [Option<Value>; 9] = Default::default();
    for (key, value) in entries {
        let Value::Text(key) = key else {
            return Err(AttestationError::Cose(format!(
                "the payload has a key that is {}, not a text string",
                type_name(&key)
            )));
        };
        let Some(i) = FIELDS.iter().position(|f| *f == key) else {
            return Err(AttestationError::Cose(format!(
                "the payload has an unknown field `{}`",
                key.chars().take(64).collect::<String>()
            )));
        };
        if slots[i].is_some() {
            return Err(field(FIELDS[i], "appears twice"));
        }
        slots[i] = Some(value);
    }
    let [
        module_id,
        digest,
        timestamp,
        pcrs,
        certificate,
        cabundle,
        public_key,
        user_data,
        nonce,
    ] = slots;

    let module_id = match module_id.ok_or(AttestationError::MissingField("module_id"))? {
        Value::Text(s) if !s.is_empty() => s,
        Value::Text(_) => return Err(field("module_id", "is empty")),
        other => {
            return Err(field(
                "module_id",
                format!("is {}, not a text string", type_name(&other)),
            ));
        }
    };

    match digest.ok_or(AttestationError::MissingField("digest"))? {
        Value::Text(s) if s == "SHA384" => {}
        Value::Text(s) => {
            return Err(field(
                "digest",
                format!(
                    "is {:?}; Nitro PCRs are SHA384",
                    s.chars().take(32).collect::<String>()
                ),
            ));
        }
        other => {
            return Err(field(
                "digest",
                format!("is {}, not a text string", type_name(&other)),
            ));
        }
    }

    let timestamp_ms = match timestamp.ok_or(AttestationError::MissingField("timestamp"))? {
        Value::Integer(i) => match u64::try_from(i) {
            Ok(t) if t > 0 => t,
            _ => return Err(field("timestamp", "is not a positive 64-bit integer")),
        },
        other => {
            return Err(field(
                "timestamp",
                format!("is {}, not an integer", type_name(&other)),
            ));
        }
    };

    let pcrs = match pcrs.ok_or(AttestationError::MissingField("pcrs"))? {
        Value::Map(entries) => {
            if entries.is_empty() || entries.len() > 32 {
                return Err(field(
                    "pcrs",
                    format!("has {} entries, outside 1..=32", entries.len()),
                ));
            }
            let mut pcrs = BTreeMap::new();
            for (index, value) in entries {
                let index = match index {
                    Value::Integer(i) => match u8::try_from(i) {
                        Ok(i) if i < 32 => i,
                        _ => return Err(field("pcrs", "has an index outside 0..32")),
                    },
                    other => {
                        return Err(field(
                            "pcrs",
                            format!("has an index that is {}, not an integer", type_name(&other)),
                        ));
                    }
                };
                let value = match value {
                    Value::Bytes(b) if matches!(b.len(), 32 | 48 | 64) => b,
                    Value::Bytes(b) => {
                        return Err(field(
                            "pcrs",
                            format!("has PCR{index} of {} bytes, not 32, 48 or 64", b.len()),
                        ));
                    }
                    other => {
                        return Err(field(
                            "pcrs",
                            format!("has PCR{index} that is {}", type_name(&other)),
                        ));
                    }
                };
                if pcrs.insert(index, value).is_some() {
                    return Err(field("pcrs", format!("has PCR{index} twice")));
                }
            }
            pcrs
        }
        other => {
            return Err(field(
                "pcrs",
                format!("is {}, not a map", type_name(&other)),
            ));
        }
    };

    let certificate = certificate_bytes(
        "certificate",
        certificate.ok_or(AttestationError::MissingField("certificate"))?,
    )?;

    let cabundle = match cabundle.ok_or(AttestationError::MissingField("cabundle"))? {
        Value::Array(items) => {
            if items.is_empty() || items.len() > MAX_CABUNDLE {
                return Err(field(
                    "cabundle",
                    format!(
                        "has {} certificates, outside 1..={MAX_CABUNDLE}",
                        items.len()
                    ),
                ));
            }
            items
                .into_iter()
                .map(|item| certificate_bytes("cabundle", item))
                .collect::<Result<Vec<_>, _>>()?
        }
        other => {
            return Err(field(
                "cabundle",
                format!("is {}, not an array", type_name(&other)),
            ));
        }
    };

    Ok(Document {
        module_id,
        timestamp_ms,
        pcrs,
        certificate,
        cabundle,
        public_key: optional_bytes("public_key", public_key, 1, MAX_PUBLIC_KEY_BYTES)?,
        user_data: optional_bytes("user_data", user_data, 0, MAX_USER_DATA_BYTES)?,
        nonce: optional_bytes("nonce", nonce, 0, MAX_USER_DATA_BYTES)?,
    })
}
