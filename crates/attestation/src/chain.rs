//! X.509 certificate chain checks: leaf → CA bundle → trusted root, all ECDSA P-384 / SHA-384.

use crate::{AttestationError, policy::RootCert};
use p384::ecdsa::{DerSignature, VerifyingKey, signature::Verifier};
use x509_cert::{
    Certificate,
    certificate::Version,
    der::{
        Decode, Reader, SliceReader,
        asn1::{AnyRef, ObjectIdentifier},
    },
    ext::pkix::{BasicConstraints, KeyUsage},
};

/// ecdsa-with-SHA384 (RFC 5758).
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp384r1 (RFC 5480).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// Basic constraints (RFC 5280 §4.2.1.9).
pub(crate) const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// Key usage (RFC 5280 §4.2.1.3).
pub(crate) const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// A certificate parsed and checked on its own (not yet against its issuer).
pub(crate) struct Parsed {
    pub which: String,
    pub cert: Certificate,
    /// The DER bytes of `tbsCertificate` as received, which the issuer signed.
    pub tbs: Vec<u8>,
    pub key: VerifyingKey,
}

fn problem(which: &str, problem: impl Into<String>) -> AttestationError {
    AttestationError::Certificate {
        which: which.to_string(),
        problem: problem.into(),
    }
}

/// The `tbsCertificate` element of a certificate, as its bytes appear in `der`.
fn raw_tbs(der: &[u8]) -> Result<&[u8], x509_cert::der::Error> {
    let outer = AnyRef::from_der(der)?;
    let mut inner = SliceReader::new(outer.value())?;
    inner.tlv_bytes()
}

/// Parse one certificate and check what does not depend on its place in the chain: DER,
/// version 3, ECDSA P-384 key, ecdsa-with-SHA384 signature, no critical extension other than
/// basic constraints and key usage.
pub(crate) fn parse(der: &[u8], which: String) -> Result<Parsed, AttestationError> {
    let cert = Certificate::from_der(der)
        .map_err(|e| problem(&which, format!("is not a DER X.509 certificate: {e}")))?;
    let tbs = raw_tbs(der)
        .map_err(|e| problem(&which, format!("is not a DER X.509 certificate: {e}")))?
        .to_vec();
    let t = cert.tbs_certificate();
    if t.version() != Version::V3 {
        return Err(problem(&which, "is not an X.509 version 3 certificate"));
    }
    for alg in [cert.signature_algorithm(), t.signature()] {
        if alg.oid != ECDSA_WITH_SHA384 || alg.parameters.is_some() {
            return Err(problem(
                &which,
                format!(
                    "is signed with algorithm {}; only ecdsa-with-SHA384 is accepted",
                    alg.oid
                ),
            ));
        }
    }
    let spki = t.subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != EC_PUBLIC_KEY || curve != Some(SECP384R1) {
        return Err(problem(
            &which,
            "has a key that is not an ECDSA P-384 (secp384r1) key",
        ));
    }
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| problem(&which, "has a malformed public key bit string"))?;
    let key = VerifyingKey::from_sec1_bytes(key_bytes)
        .map_err(|_| problem(&which, "has a P-384 public key that is not a curve point"))?;
    for ext in t.extensions().map(|e| e.as_slice()).unwrap_or(&[]) {
        if ext.critical && ext.extn_id != BASIC_CONSTRAINTS && ext.extn_id != KEY_USAGE {
            return Err(problem(
                &which,
                format!(
                    "has critical extension {}, which is not understood",
                    ext.extn_id
                ),
            ));
        }
    }
    Ok(Parsed {
        which,
        cert,
        tbs,
        key,
    })
}

/// Validity period in ms since the Unix epoch, both ends inclusive (RFC 5280 §4.1.2.5).
fn validity_ms(p: &Parsed) -> (u64, u64) {
    let v = p.cert.tbs_certificate().validity();
    let ms = |d: core::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    (
        ms(v.not_before.to_unix_duration()),
        ms(v.not_after.to_unix_duration()),
    )
}

fn check_validity(p: &Parsed, now_ms: u64) -> Result<(), AttestationError> {
    let (not_before_ms, not_after_ms) = validity_ms(p);
    if now_ms < not_before_ms {
        return Err(AttestationError::CertificateNotYetValid {
            which: p.which.clone(),
            not_before_ms,
            now_ms,
        });
    }
    if now_ms > not_after_ms {
        return Err(AttestationError::CertificateExpired {
            which: p.which.clone(),
            not_after_ms,
            now_ms,
        });
    }
    Ok(())
}

fn basic_constraints(p: &Parsed) -> Result<Option<(bool, BasicConstraints)>, AttestationError> {
    p.cert
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .map_err(|e| problem(&p.which, format!("has unreadable basic constraints: {e}")))
}

fn key_usage(p: &Parsed) -> Result<Option<KeyUsage>, AttestationError> {
    p.cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map(|k| k.map(|(_, k)| k))
        .map_err(|e| problem(&p.which, format!("has unreadable key usage: {e}")))
}

/// Check that `p` may issue certificates with `below` CA certificates under it before the leaf.
fn check_ca(p: &Parsed, below: usize) -> Result<(), AttestationError> {
    match basic_constraints(p)? {
        Some((true, bc)) if bc.ca => {
            if let Some(max) = bc.path_len_constraint
                && below > usize::from(max)
            {
                return Err(problem(
                    &p.which,
                    format!(
                        "allows {max} intermediate CA certificates below it, but the chain has \
                         {below}"
                    ),
                ));
            }
        }
        Some((false, bc)) if bc.ca => {
            return Err(problem(
                &p.which,
                "is a CA certificate whose basic constraints are not marked critical",
            ));
        }
        _ => {
            return Err(problem(
                &p.which,
                "issues a certificate but is not a CA (basic constraints cA is not set)",
            ));
        }
    }
    match key_usage(p)? {
        Some(ku) if ku.key_cert_sign() => Ok(()),
        _ => Err(problem(
            &p.which,
            "issues a certificate but its key usage lacks keyCertSign",
        )),
    }
}

fn check_leaf(p: &Parsed) -> Result<(), AttestationError> {
    if let Some((_, bc)) = basic_constraints(p)?
        && bc.ca
    {
        return Err(problem(
            &p.which,
            "signs the document but is a CA certificate; the signer must be an end-entity \
             certificate",
        ));
    }
    match key_usage(p)? {
        Some(ku) if ku.digital_signature() => Ok(()),
        _ => Err(problem(
            &p.which,
            "signs the document but its key usage lacks digitalSignature",
        )),
    }
}

/// Check `child` was issued and signed by `parent`.
fn check_issued_by(child: &Parsed, parent: &Parsed) -> Result<(), AttestationError> {
    if child.cert.tbs_certificate().issuer() != parent.cert.tbs_certificate().subject() {
        return Err(problem(
            &child.which,
            format!(
                "names issuer \"{}\", but the next certificate up the chain ({}) is \"{}\"",
                child.cert.tbs_certificate().issuer(),
                parent.which,
                parent.cert.tbs_certificate().subject()
            ),
        ));
    }
    let bad = || {
        problem(
            &child.which,
            format!(
                "has a signature that does not verify with the key of {}",
                parent.which
            ),
        )
    };
    let raw = child.cert.signature().as_bytes().ok_or_else(bad)?;
    let signature = DerSignature::from_bytes(raw).map_err(|_| bad())?;
    parent.key.verify(&child.tbs, &signature).map_err(|_| bad())
}

/// Verify the chain `leaf ← cabundle[n-1] ← … ← cabundle[0]` where `cabundle[0]` must be one
/// of `roots`. Returns the leaf's key and the root's SHA-256 fingerprint.
pub(crate) fn verify_chain(
    leaf: &[u8],
    cabundle: &[Vec<u8>],
    roots: &[RootCert],
    now_ms: u64,
) -> Result<(VerifyingKey, [u8; 32]), AttestationError> {
    let Some(root_der) = cabundle.first() else {
        return Err(AttestationError::Field {
            field: "cabundle",
            problem: "is empty".into(),
        });
    };
    let Some(root) = roots.iter().find(|r| r.der() == root_der.as_slice()) else {
        return Err(AttestationError::UntrustedRoot {
            fingerprint: crate::hex(&crate::sha256(root_der)),
        });
    };

    // chain[0] is the leaf, chain[last] the root.
    let mut chain = Vec::with_capacity(cabundle.len() + 1);
    chain.push(parse(leaf, "certificate".into())?);
    for (i, der) in cabundle.iter().enumerate().rev() {
        chain.push(parse(der, format!("cabundle[{i}]"))?);
    }
    for p in &chain {
        check_validity(p, now_ms)?;
    }
    check_leaf(&chain[0])?;
    for (position, p) in chain.iter().enumerate().skip(1) {
        check_ca(p, position - 1)?;
    }
    for pair in chain.windows(2) {
        check_issued_by(&pair[0], &pair[1])?;
    }
    let leaf = chain.swap_remove(0);
    Ok((leaf.key, root.fingerprint()))
}
