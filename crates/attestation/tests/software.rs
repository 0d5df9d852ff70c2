//! The verifier against documents from the software enclave: one valid document, then one
//! refusal per check, then properties over arbitrary bytes.

use ciborium::value::Value;
use coset::{CborSerializable, CoseSign1, HeaderBuilder, iana};
use proptest::prelude::*;
use std::collections::BTreeMap;
use verity_attestation::{
    AttestationError, MAX_DOCUMENT_BYTES, Measurement, TrustPolicy, decode,
    software::{DocumentRequest, SoftwareEnclave},
    verify, verify_document,
};

const NOW: u64 = 1_800_000_000_000; // 2027-01-15
const KEY: [u8; 32] = [0x11; 32];

fn enclave(seed: u8) -> SoftwareEnclave {
    SoftwareEnclave::from_seed(&[seed; 32]).unwrap()
}

fn pcr(byte: u8) -> [u8; 48] {
    [byte; 48]
}

fn request() -> DocumentRequest {
    DocumentRequest {
        module_id: "i-00000000000000000-enc0000000000000000".into(),
        timestamp_ms: NOW - 1_000,
        pcrs: BTreeMap::from([
            (0, pcr(0xa0).to_vec()),
            (1, pcr(0xa1).to_vec()),
            (2, pcr(0xa2).to_vec()),
            (3, pcr(0xa3).to_vec()),
            (4, [0; 48].to_vec()),
        ]),
        public_key: Some(KEY.to_vec()),
        user_data: Some(b"verity1node".to_vec()),
        nonce: Some([0x5a; 32].to_vec()),
    }
}

fn measurement() -> Measurement {
    Measurement::new([(0, pcr(0xa0)), (1, pcr(0xa1)), (2, pcr(0xa2))])
}

fn policy(e: &SoftwareEnclave) -> TrustPolicy {
    TrustPolicy::new(
        vec![e.root()],
        vec![
            Measurement::new([(0, pcr(1)), (1, pcr(2)), (2, pcr(3))]),
            measurement(),
        ],
    )
}

fn issue(e: &SoftwareEnclave, r: &DocumentRequest) -> Vec<u8> {
    e.issue(r).unwrap()
}

fn valid() -> (SoftwareEnclave, Vec<u8>) {
    let e = enclave(1);
    let doc = issue(&e, &request());
    (e, doc)
}

/// [`valid`], made once for the property tests.
fn cached() -> &'static (SoftwareEnclave, Vec<u8>, TrustPolicy) {
    static VALID: std::sync::OnceLock<(SoftwareEnclave, Vec<u8>, TrustPolicy)> =
        std::sync::OnceLock::new();
    VALID.get_or_init(|| {
        let (e, doc) = valid();
        let p = policy(&e);
        (e, doc, p)
    })
}

fn refuse(doc: &[u8], policy: &TrustPolicy, now: u64) -> AttestationError {
    verify(doc, policy, &KEY, now).expect_err("the document must be refused")
}

/// A document payload as a CBOR map.
type PayloadMap = Vec<(Value, Value)>;

/// Rewrite a document's payload map (its signature no longer matches).
fn rewrite_payload(doc: &[u8], edit: impl FnOnce(&mut PayloadMap)) -> Vec<u8> {
    let mut sign1 = CoseSign1::from_slice(doc).unwrap();
    let Value::Map(mut map) =
        ciborium::de::from_reader::<Value, _>(sign1.payload.as_deref().unwrap()).unwrap()
    else {
        panic!("payload is a map")
    };
    edit(&mut map);
    let mut payload = Vec::new();
    ciborium::ser::into_writer(&Value::Map(map), &mut payload).unwrap();
    sign1.payload = Some(payload);
    sign1.to_vec().unwrap()
}

fn set(map: &mut [(Value, Value)], field: &str, value: Value) {
    let entry = map
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(field))
        .unwrap();
    entry.1 = value;
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Accepted

#[test]
fn a_valid_document_verifies() {
    let (e, doc) = valid();
    let a = verify(&doc, &policy(&e), &KEY, NOW).unwrap();
    assert_eq!(a.enclave_key, KEY);
    assert_eq!(a.module_id, "i-00000000000000000-enc0000000000000000");
    assert_eq!(a.timestamp_ms, NOW - 1_000);
    assert_eq!(a.pcrs.len(), 5);
    assert_eq!(a.measurement, 1, "the second allowlist entry matches");
    assert_eq!(a.root_fingerprint, e.root().fingerprint());
    assert_eq!(a.user_data.as_deref(), Some(&b"verity1node"[..]));
    assert_eq!(a.nonce.as_deref(), Some(&[0x5a; 32][..]));
    assert!(doc.len() < MAX_DOCUMENT_BYTES);
}

#[test]
fn documents_have_the_nitro_shape() {
    let (e, doc) = valid();
    // Untagged COSE_Sign1, protected header {1: -35}, empty unprotected header.
    assert_eq!(&doc[..7], &[0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]);
    let d = decode(&doc).unwrap();
    let [root, intermediate, leaf] = e.certificates();
    assert_eq!(d.certificate, leaf);
    assert_eq!(d.cabundle, vec![root.to_vec(), intermediate.to_vec()]);
    assert!(e.certificates().iter().all(|c| c.len() <= 1024));
}

#[test]
fn the_software_enclave_is_deterministic() {
    let (e, doc) = valid();
    assert_eq!(doc, issue(&enclave(1), &request()));
    assert_eq!(e.root(), enclave(1).root());
    assert_ne!(e.root(), enclave(2).root());
    // The leaf's validity does not change the keys, so the root stays the same.
    let short = SoftwareEnclave::with_validity(&[1; 32], NOW - 10_000, NOW + 10_000).unwrap();
    assert_eq!(short.root(), e.root());
    verify(&issue(&short, &request()), &policy(&e), &KEY, NOW).unwrap();
}

#[test]
fn a_tagged_document_verifies() {
    let (e, doc) = valid();
    let mut tagged = vec![0xd2]; // tag 18
    tagged.extend_from_slice(&doc);
    verify(&tagged, &policy(&e), &KEY, NOW).unwrap();
}

#[test]
fn the_key_may_be_an_ed25519_subject_public_key_info() {
    let e = enclave(1);
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(&KEY);
    let doc = issue(
        &e,
        &DocumentRequest {
            public_key: Some(spki),
            ..request()
        },
    );
    assert_eq!(
        verify(&doc, &policy(&e), &KEY, NOW).unwrap().enclave_key,
        KEY
    );
}

#[test]
fn freshness_limits_are_inclusive() {
    let (e, _) = valid();
    let p = policy(&e);
    let at = |t: u64| {
        issue(
            &e,
            &DocumentRequest {
                timestamp_ms: t,
                ..request()
            },
        )
    };
    verify(&at(NOW - p.max_age_ms), &p, &KEY, NOW).unwrap();
    verify(&at(NOW + p.max_clock_skew_ms), &p, &KEY, NOW).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Refused: signature

#[test]
fn a_flipped_signature_byte_is_refused() {
    let (e, mut doc) = valid();
    let last = doc.len() - 1;
    doc[last] ^= 0x01;
    assert_eq!(
        refuse(&doc, &policy(&e), NOW),
        AttestationError::BadSignature
    );
    // And the first byte of r.
    let (_, mut doc) = valid();
    let first = doc.len() - 96;
    doc[first] ^= 0x40;
    assert_eq!(
        refuse(&doc, &policy(&e), NOW),
        AttestationError::BadSignature
    );
}

#[test]
fn a_flipped_payload_byte_is_refused() {
    let (e, mut doc) = valid();
    let at = find(&doc, &[0x5a; 32]) + 7;
    doc[at] ^= 0x01;
    assert_eq!(
        refuse(&doc, &policy(&e), NOW),
        AttestationError::BadSignature
    );
    // A PCR value changed in place (still well-formed, still allowlisted bytes elsewhere).
    let (_, mut doc) = valid();
    let at = find(&doc, &pcr(0xa3)) + 1;
    doc[at] ^= 0x01;
    assert_eq!(
        refuse(&doc, &policy(&e), NOW),
        AttestationError::BadSignature
    );
}

#[test]
fn a_signature_of_zeros_is_refused() {
    let (e, mut doc) = valid();
    let n = doc.len();
    doc[n - 96..].fill(0);
    assert_eq!(
        refuse(&doc, &policy(&e), NOW),
        AttestationError::BadSignature
    );
}

// ---------------------------------------------------------------------------------------------
// Refused: chain

#[test]
fn a_document_under_another_root_is_refused() {
    let e = enclave(1);
    let other = issue(&enclave(2), &request());
    let err = refuse(&other, &policy(&e), NOW);
    assert_eq!(
        err,
        AttestationError::UntrustedRoot {
            fingerprint: hex::encode(enclave(2).root().fingerprint())
        }
    );
    assert!(err.to_string().contains("not a trusted root"), "{err}");
}

#[test]
fn another_chain_under_the_trusted_root_is_refused() {
    // Seed 2's intermediate and leaf, presented under seed 1's (trusted) root: the names match
    // (same devnet names), the signatures do not.
    let e = enclave(1);
    let doc = rewrite_payload(&issue(&enclave(2), &request()), |m| {
        let root = e.certificates()[0];
        let Some((_, Value::Array(bundle))) =
            m.iter_mut().find(|(k, _)| k.as_text() == Some("cabundle"))
        else {
            panic!()
        };
        bundle[0] = Value::Bytes(root.to_vec());
    });
    let err = refuse(&doc, &policy(&e), NOW);
    assert!(
        matches!(&err, AttestationError::Certificate { which, problem }
            if which == "cabundle[1]" && problem.contains("does not verify with the key of cabundle[0]")),
        "{err}"
    );
}

#[test]
fn a_leaf_without_its_intermediate_is_refused() {
    let (e, doc) = valid();
    let doc = rewrite_payload(&doc, |m| {
        let root = e.certificates()[0].to_vec();
        set(m, "cabundle", Value::Array(vec![Value::Bytes(root)]));
    });
    let err = refuse(&doc, &policy(&e), NOW);
    assert!(
        matches!(&err, AttestationError::Certificate { which, problem }
            if which == "certificate" && problem.contains("names issuer")),
        "{err}"
    );
}

#[test]
fn a_ca_certificate_cannot_sign_documents() {
    // The intermediate presented as the signing certificate: it is a CA.
    let (e, doc) = valid();
    let doc = rewrite_payload(&doc, |m| {
        let [root, intermediate, _] = e.certificates();
        set(m, "certificate", Value::Bytes(intermediate.to_vec()));
        set(
            m,
            "cabundle",
            Value::Array(vec![Value::Bytes(root.to_vec())]),
        );
    });
    let err = refuse(&doc, &policy(&e), NOW);
    assert!(
        matches!(&err, AttestationError::Certificate { which, problem }
            if which == "certificate" && problem.contains("CA certificate")),
        "{err}"
    );
}

#[test]
fn an_end_entity_certificate_cannot_issue() {
    // The leaf placed in the CA bundle, above itself.
    let (e, doc) = valid();
    let doc = rewrite_payload(&doc, |m| {
        let [root, intermediate, leaf] = e.certificates();
        set(
            m,
            "cabundle",
            Value::Array(vec![
                Value::Bytes(root.to_vec()),
                Value::Bytes(intermediate.to_vec()),
                Value::Bytes(leaf.to_vec()),
            ]),
        );
    });
    let err = refuse(&doc, &policy(&e), NOW);
    assert!(
        matches!(&err, AttestationError::Certificate { which, problem }
            if which == "cabundle[2]" && problem.contains("not a CA")),
        "{err}"
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let start = NOW - 3 * 3_600_000;
    let end = NOW - 1_000;
    let e = SoftwareEnclave::with_validity(&[1; 32], start, end).unwrap();
    let doc = issue(
        &e,
        &DocumentRequest {
            timestamp_ms: end - 60_000,
            ..request()
        },
    );
    let p = policy(&e);
    verify(&doc, &p, &KEY, end).unwrap();
    let err = refuse(&doc, &p, end + 1);
    assert_eq!(
        err,
        AttestationError::CertificateExpired {
            which: "certificate".into(),
            not_after_ms: end,
            now_ms: end + 1,
        }
    );
    assert!(err.to_string().contains("expired"), "{err}");
}

#[test]
fn a_certificate_not_yet_valid_is_refused() {
    let start = NOW + 60_000;
    let e = SoftwareEnclave::with_validity(&[1; 32], start, NOW + 3_600_000).unwrap();
    let doc = issue(&e, &request());
    let err = refuse(&doc, &policy(&e), NOW);
    assert_eq!(
        err,
        AttestationError::CertificateNotYetValid {
            which: "certificate".into(),
            not_before_ms: start,
            now_ms: NOW,
        }
    );
    verify(
        &doc,
        &{
            let mut p = policy(&e);
            p.max_age_ms = u64::MAX;
            p
        },
        &KEY,
        start,
    )
    .unwrap();
}

#[test]
fn the_root_itself_must_be_valid_now() {
    let (e, doc) = valid();
    let err = refuse(&doc, &policy(&e), 1_000_000_000_000); // 2001, before the devnet roots
    assert!(
        matches!(&err, AttestationError::CertificateNotYetValid { which, .. } if which == "certificate"),
        "{err}"
    );
    let err = refuse(&doc, &policy(&e), 5_000_000_000_000); // 2128, after them
    assert!(
        matches!(&err, AttestationError::CertificateExpired { .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Refused: freshness

#[test]
fn a_document_older_than_max_age_is_refused() {
    let (e, _) = valid();
    let p = policy(&e);
    let doc = issue(
        &e,
        &DocumentRequest {
            timestamp_ms: NOW - p.max_age_ms - 1,
            ..request()
        },
    );
    assert_eq!(
        refuse(&doc, &p, NOW),
        AttestationError::TooOld {
            age_ms: p.max_age_ms + 1,
            max_age_ms: p.max_age_ms
        }
    );
}

#[test]
fn a_document_from_the_future_is_refused() {
    let (e, _) = valid();
    let p = policy(&e);
    let t = NOW + p.max_clock_skew_ms + 1;
    let doc = issue(
        &e,
        &DocumentRequest {
            timestamp_ms: t,
            ..request()
        },
    );
    assert_eq!(
        refuse(&doc, &p, NOW),
        AttestationError::FromTheFuture {
            timestamp_ms: t,
            now_ms: NOW
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Refused: measurement

#[test]
fn a_pcr_off_the_allowlist_is_refused() {
    let e = enclave(1);
    let mut r = request();
    r.pcrs.insert(2, pcr(0xee).to_vec());
    let doc = issue(&e, &r);
    let err = refuse(&doc, &policy(&e), NOW);
    let AttestationError::MeasurementNotAllowed { pcrs } = &err else {
        panic!("{err}")
    };
    assert!(
        pcrs.contains(&format!("PCR2={}", hex::encode(pcr(0xee)))),
        "{pcrs}"
    );
    // An empty allowlist accepts nothing.
    let mut p = policy(&e);
    p.allowlist.clear();
    assert!(matches!(
        refuse(&issue(&e, &request()), &p, NOW),
        AttestationError::MeasurementNotAllowed { .. }
    ));
}

#[test]
fn extra_allowlisted_pcrs_must_match_too() {
    let (e, doc) = valid();
    let mut p = policy(&e);
    let mut m = measurement();
    m.pcrs.insert(3, pcr(0xff));
    p.allowlist = vec![m.clone()];
    assert!(matches!(
        refuse(&doc, &p, NOW),
        AttestationError::MeasurementNotAllowed { .. }
    ));
    m.pcrs.insert(3, pcr(0xa3));
    p.allowlist = vec![m];
    verify(&doc, &p, &KEY, NOW).unwrap();
}

#[test]
fn an_allowlist_entry_that_omits_a_required_pcr_matches_nothing() {
    let (e, doc) = valid();
    let mut p = policy(&e);
    p.allowlist = vec![Measurement::new([(0, pcr(0xa0)), (1, pcr(0xa1))])];
    assert!(matches!(
        refuse(&doc, &p, NOW),
        AttestationError::MeasurementNotAllowed { .. }
    ));
}

#[test]
fn a_missing_required_pcr_is_refused() {
    let e = enclave(1);
    let mut r = request();
    r.pcrs.remove(&2);
    assert_eq!(
        refuse(&issue(&e, &r), &policy(&e), NOW),
        AttestationError::MissingPcr(2)
    );
}

#[test]
fn a_debug_enclave_is_refused_unless_allowed() {
    let e = enclave(1);
    let mut r = request();
    for i in 0..3 {
        r.pcrs.insert(i, vec![0; 48]);
    }
    let doc = issue(&e, &r);
    let mut p = policy(&e);
    p.allowlist
        .push(Measurement::new((0..3).map(|i| (i, [0; 48]))));
    assert_eq!(
        refuse(&doc, &p, NOW),
        AttestationError::DebugEnclave { index: 0 }
    );
    p.allow_debug = true;
    verify(&doc, &p, &KEY, NOW).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Refused: key binding

#[test]
fn a_document_for_another_key_is_refused() {
    let (e, doc) = valid();
    let other = [0x22; 32];
    let err = verify(&doc, &policy(&e), &other, NOW).unwrap_err();
    assert_eq!(
        err,
        AttestationError::KeyMismatch {
            found: hex::encode(KEY),
            expected: hex::encode(other)
        }
    );
    // Without the key binding the same document passes.
    verify_document(&doc, &policy(&e), NOW).unwrap();
}

#[test]
fn a_document_without_a_usable_key_is_refused() {
    let e = enclave(1);
    let none = issue(
        &e,
        &DocumentRequest {
            public_key: None,
            ..request()
        },
    );
    assert_eq!(
        refuse(&none, &policy(&e), NOW),
        AttestationError::MissingPublicKey
    );
    for bad in [
        vec![0x11; 31],
        vec![0x11; 33],
        vec![0x11; 44],
        vec![0x11; 91],
    ] {
        let len = bad.len();
        let doc = issue(
            &e,
            &DocumentRequest {
                public_key: Some(bad),
                ..request()
            },
        );
        assert_eq!(
            refuse(&doc, &policy(&e), NOW),
            AttestationError::KeyFormat { len }
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Refused: envelope and fields

#[test]
fn truncated_documents_are_refused() {
    let (e, doc) = valid();
    let p = policy(&e);
    for len in 0..doc.len() {
        let err = refuse(&doc[..len], &p, NOW);
        assert!(matches!(err, AttestationError::Cose(_)), "{len}: {err}");
    }
}

#[test]
fn malformed_bytes_are_refused() {
    let (e, doc) = valid();
    let p = policy(&e);
    let mut trailing = doc.clone();
    trailing.push(0);
    for bytes in [
        &b""[..],
        b"not cbor at all",
        &[0xff],
        &[0x80],                         // empty array
        &[0x84, 0x40, 0xa0, 0xf6, 0x40], // detached payload, empty header
        &trailing,
        &[0xd3, 0x80], // tag 19
    ] {
        let err = refuse(bytes, &p, NOW);
        assert!(
            matches!(
                err,
                AttestationError::Cose(_) | AttestationError::UnsupportedAlgorithm { .. }
            ),
            "{bytes:02x?}: {err}"
        );
    }
}

#[test]
fn an_oversized_document_is_refused_before_decoding() {
    let (e, _) = valid();
    let bytes = vec![0u8; MAX_DOCUMENT_BYTES + 1];
    assert_eq!(
        refuse(&bytes, &policy(&e), NOW),
        AttestationError::TooLarge {
            len: MAX_DOCUMENT_BYTES + 1,
            max: MAX_DOCUMENT_BYTES
        }
    );
}

#[test]
fn another_algorithm_is_refused() {
    let (e, doc) = valid();
    for (alg, name) in [
        (Some(iana::Algorithm::ES256), "ES256"),
        (Some(iana::Algorithm::EdDSA), "EdDSA"),
        (None, "none"),
    ] {
        let mut sign1 = CoseSign1::from_slice(&doc).unwrap();
        let mut header = HeaderBuilder::new();
        if let Some(alg) = alg {
            header = header.algorithm(alg);
        }
        sign1.protected = coset::ProtectedHeader {
            original_data: None,
            header: header.build(),
        };
        let err = refuse(&sign1.to_vec().unwrap(), &policy(&e), NOW);
        let AttestationError::UnsupportedAlgorithm { found } = &err else {
            panic!("{err}")
        };
        assert!(found.contains(name), "{found}");
        assert!(err.to_string().contains("ES384"), "{err}");
    }
}

#[test]
fn a_critical_header_is_refused() {
    let (e, doc) = valid();
    let mut sign1 = CoseSign1::from_slice(&doc).unwrap();
    sign1.protected = coset::ProtectedHeader {
        original_data: None,
        header: HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES384)
            .add_critical(iana::HeaderParameter::ContentType)
            .content_format(iana::CoapContentFormat::Cbor)
            .build(),
    };
    assert!(matches!(
        refuse(&sign1.to_vec().unwrap(), &policy(&e), NOW),
        AttestationError::CriticalHeader(_)
    ));
}

#[test]
fn a_short_signature_is_refused() {
    let (e, doc) = valid();
    let mut sign1 = CoseSign1::from_slice(&doc).unwrap();
    sign1.signature.truncate(64);
    let err = refuse(&sign1.to_vec().unwrap(), &policy(&e), NOW);
    assert!(
        matches!(&err, AttestationError::Cose(m) if m.contains("96 bytes")),
        "{err}"
    );
}

#[test]
fn each_field_is_checked_by_name() {
    let (e, doc) = valid();
    let p = policy(&e);
    let field_error =
        |edit: &dyn Fn(&mut PayloadMap)| refuse(&rewrite_payload(&doc, |m| edit(m)), &p, NOW);
    let named = |err: AttestationError, name: &str| match &err {
        AttestationError::Field { field, .. } => assert_eq!(*field, name, "{err}"),
        AttestationError::MissingField(field) => assert_eq!(*field, name, "{err}"),
        _ => panic!("{name}: {err}"),
    };

    named(
        field_error(&|m| set(m, "digest", Value::Text("SHA256".into()))),
        "digest",
    );
    named(
        field_error(&|m| set(m, "module_id", Value::Text(String::new()))),
        "module_id",
    );
    named(
        field_error(&|m| set(m, "module_id", Value::Integer(1.into()))),
        "module_id",
    );
    named(
        field_error(&|m| set(m, "timestamp", Value::Integer(0.into()))),
        "timestamp",
    );
    named(
        field_error(&|m| set(m, "timestamp", Value::Integer((-5).into()))),
        "timestamp",
    );
    named(
        field_error(&|m| set(m, "timestamp", Value::Text("now".into()))),
        "timestamp",
    );
    named(field_error(&|m| set(m, "pcrs", Value::Map(vec![]))), "pcrs");
    named(
        field_error(&|m| {
            set(
                m,
                "pcrs",
                Value::Map(vec![(Value::Integer(0.into()), Value::Bytes(vec![0; 47]))]),
            )
        }),
        "pcrs",
    );
    named(
        field_error(&|m| {
            set(
                m,
                "pcrs",
                Value::Map(vec![(Value::Integer(32.into()), Value::Bytes(vec![0; 48]))]),
            )
        }),
        "pcrs",
    );
    named(
        field_error(&|m| {
            set(
                m,
                "pcrs",
                Value::Map(vec![
                    (Value::Integer(1.into()), Value::Bytes(vec![0; 48])),
                    (Value::Integer(1.into()), Value::Bytes(vec![0; 48])),
                ]),
            )
        }),
        "pcrs",
    );
    named(
        field_error(&|m| set(m, "certificate", Value::Bytes(vec![]))),
        "certificate",
    );
    named(
        field_error(&|m| set(m, "certificate", Value::Bytes(vec![0; 1025]))),
        "certificate",
    );
    named(
        field_error(&|m| set(m, "cabundle", Value::Array(vec![]))),
        "cabundle",
    );
    named(
        field_error(&|m| set(m, "cabundle", Value::Array(vec![Value::Bytes(vec![1]); 9]))),
        "cabundle",
    );
    named(
        field_error(&|m| set(m, "public_key", Value::Bytes(vec![]))),
        "public_key",
    );
    named(
        field_error(&|m| set(m, "user_data", Value::Bytes(vec![0; 513]))),
        "user_data",
    );
    named(
        field_error(&|m| set(m, "nonce", Value::Text("n".into()))),
        "nonce",
    );
    named(
        field_error(&|m| m.retain(|(k, _)| k.as_text() != Some("module_id"))),
        "module_id",
    );
    named(
        field_error(&|m| m.retain(|(k, _)| k.as_text() != Some("cabundle"))),
        "cabundle",
    );
    named(
        field_error(&|m| {
            let dup = m[0].clone();
            m.push(dup)
        }),
        "module_id",
    );

    let unknown = field_error(&|m| m.push((Value::Text("extra".into()), Value::Null)));
    assert!(
        matches!(&unknown, AttestationError::Cose(s) if s.contains("`extra`")),
        "{unknown}"
    );
    let int_key = field_error(&|m| m.push((Value::Integer(1.into()), Value::Null)));
    assert!(matches!(int_key, AttestationError::Cose(_)), "{int_key}");

    let garbage_cert =
        field_error(&|m| set(m, "certificate", Value::Bytes(vec![0x30, 0x03, 1, 2, 3])));
    assert!(
        matches!(&garbage_cert, AttestationError::Certificate { which, .. } if which == "certificate"),
        "{garbage_cert}"
    );
}

#[test]
fn an_unusable_policy_is_refused() {
    let (e, doc) = valid();
    let mut p = policy(&e);
    p.roots.clear();
    assert!(matches!(refuse(&doc, &p, NOW), AttestationError::Policy(_)));
    let mut p = policy(&e);
    p.required_pcrs.clear();
    assert!(matches!(refuse(&doc, &p, NOW), AttestationError::Policy(_)));
    let mut p = policy(&e);
    p.required_pcrs.push(40);
    assert!(matches!(refuse(&doc, &p, NOW), AttestationError::Policy(_)));
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never panic and never verify.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let (_, _, p) = cached();
        let _ = decode(&bytes);
        prop_assert!(verify(&bytes, p, &KEY, NOW).is_err());
    }

    /// Arbitrary bytes behind a valid COSE prefix (deeper into the decoder) never panic.
    #[test]
    fn arbitrary_payloads_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (_, _, p) = cached();
        let mut bytes = vec![0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x59];
        bytes.extend_from_slice(&(tail.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&tail);
        bytes.extend_from_slice(&[0x58, 0x60]);
        bytes.extend_from_slice(&[1; 96]);
        let _ = decode(&bytes);
        prop_assert!(verify(&bytes, p, &KEY, NOW).is_err());
    }

    /// No single changed byte of a valid document verifies.
    #[test]
    fn no_single_byte_change_verifies(at in any::<prop::sample::Index>(), xor in 1u8..) {
        let (_, doc, p) = cached();
        let mut doc = doc.clone();
        let i = at.index(doc.len());
        doc[i] ^= xor;
        prop_assert!(verify(&doc, p, &KEY, NOW).is_err());
    }
}
