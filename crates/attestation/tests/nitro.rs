//! The real AWS Nitro path: the embedded AWS root, and a real attestation document made by Nitro
//! hardware on 2023-09-07 (see `tests/data/README.md`), verified at its own timestamp.

use base64::Engine;
use std::collections::BTreeMap;
use verity_attestation::{
    AWS_NITRO_ROOT_G1_SHA256, AttestationError, Measurement, RootCert, TrustPolicy, decode,
    software::SoftwareEnclave, verify, verify_document,
};

/// When the document was made (its `timestamp`): 2023-09-07T15:56:01.556Z.
const MADE_AT_MS: u64 = 1_694_102_161_556;
/// Its leaf certificate's validity: 2023-09-07T15:55:08Z ..= 18:55:11Z.
const LEAF_NOT_BEFORE_MS: u64 = 1_694_102_108_000;
const LEAF_NOT_AFTER_MS: u64 = 1_694_112_911_000;

fn document() -> Vec<u8> {
    let text = include_str!("data/nitro-debug-2023-09-07.b64");
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("the fixture is base64")
}

/// A policy allowlisting the document's own PCR0–2 (zeros: a debug enclave).
fn policy_for_fixture() -> TrustPolicy {
    let doc = decode(&document()).unwrap();
    let m = Measurement::new((0..3).map(|i| (i, doc.pcrs[&i].clone().try_into().unwrap())));
    let mut policy = TrustPolicy::aws_nitro(vec![m]);
    policy.allow_debug = true;
    policy
}

#[test]
fn aws_root_g1_has_the_published_fingerprint() {
    let root = RootCert::aws_nitro_g1();
    assert_eq!(root.fingerprint(), AWS_NITRO_ROOT_G1_SHA256);
    let published = "641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B";
    assert_eq!(hex::encode_upper(root.fingerprint()), published);
    // And the DER really hashes to it (the fingerprint is computed, not stored).
    use sha2::Digest;
    assert_eq!(
        hex::encode_upper(sha2::Sha256::digest(root.der())),
        published
    );
    // Subject CN=aws.nitro-enclaves, valid 2019-10-28 .. 2049-10-28.
    let text = String::from_utf8_lossy(root.der()).into_owned();
    assert!(text.contains("aws.nitro-enclaves"));
    assert!(text.contains("191028132805Z") && text.contains("491028142805Z"));
}

#[test]
fn aws_root_g1_is_the_root_real_documents_carry() {
    let doc = decode(&document()).unwrap();
    assert_eq!(doc.cabundle[0], RootCert::aws_nitro_g1().der());
    assert_eq!(doc.cabundle.len(), 4);
}

#[test]
fn a_changed_root_pem_is_refused() {
    let pem = include_str!("../roots/aws-nitro-enclaves-root-g1.pem");
    assert!(RootCert::from_pem(pem).is_ok());
    let broken = pem.replacen("MIICETCCAZag", "MIICETCCAZAg", 1);
    assert!(RootCert::from_pem(&broken).is_err());
}

#[test]
fn real_document_decodes() {
    let doc = decode(&document()).unwrap();
    assert_eq!(doc.module_id, "i-0644948d93f19c17b-enc018a705a4fc6e067");
    assert_eq!(doc.timestamp_ms, MADE_AT_MS);
    assert_eq!(doc.pcrs.len(), 16);
    assert!(doc.pcrs.values().all(|v| v.len() == 48));
    assert_eq!(doc.public_key, None, "the NSM sent public_key = null");
    assert_eq!(doc.user_data.as_ref().map(Vec::len), Some(91));
    assert_eq!(doc.nonce.as_ref().map(Vec::len), Some(256));
}

#[test]
fn real_document_verifies_at_its_own_time() {
    let v = verify_document(&document(), &policy_for_fixture(), MADE_AT_MS).unwrap();
    assert_eq!(v.root_fingerprint, AWS_NITRO_ROOT_G1_SHA256);
    assert_eq!(v.measurement, 0);
    assert_eq!(
        v.document.module_id,
        "i-0644948d93f19c17b-enc018a705a4fc6e067"
    );
    // Throughout the leaf's validity, while the document is fresh enough.
    let mut policy = policy_for_fixture();
    policy.max_age_ms = u64::MAX;
    for now in [
        LEAF_NOT_BEFORE_MS,
        MADE_AT_MS + 3_600_000,
        LEAF_NOT_AFTER_MS,
    ] {
        verify_document(&document(), &policy, now).unwrap();
    }
}

#[test]
fn real_document_is_refused_outside_its_certificates_validity() {
    let mut policy = policy_for_fixture();
    policy.max_age_ms = u64::MAX;
    policy.max_clock_skew_ms = u64::MAX;
    let err = verify_document(&document(), &policy, LEAF_NOT_AFTER_MS + 1).unwrap_err();
    assert!(
        matches!(&err, AttestationError::CertificateExpired { which, .. } if which == "certificate"),
        "{err}"
    );
    let err = verify_document(&document(), &policy, LEAF_NOT_BEFORE_MS - 1).unwrap_err();
    assert!(
        matches!(&err, AttestationError::CertificateNotYetValid { which, .. } if which == "certificate"),
        "{err}"
    );
}

#[test]
fn real_document_from_a_debug_enclave_is_refused_by_default() {
    let mut policy = policy_for_fixture();
    policy.allow_debug = false;
    let err = verify_document(&document(), &policy, MADE_AT_MS).unwrap_err();
    assert_eq!(err, AttestationError::DebugEnclave { index: 0 });
    assert!(err.to_string().contains("debug mode"), "{err}");
}

#[test]
fn real_document_attests_no_enclave_key() {
    let err = verify(&document(), &policy_for_fixture(), &[7; 32], MADE_AT_MS).unwrap_err();
    assert_eq!(err, AttestationError::MissingPublicKey);
}

#[test]
fn real_document_with_a_byte_changed_is_refused() {
    let policy = policy_for_fixture();
    // Last byte of the signature.
    let mut doc = document();
    *doc.last_mut().unwrap() ^= 1;
    assert_eq!(
        verify_document(&doc, &policy, MADE_AT_MS).unwrap_err(),
        AttestationError::BadSignature
    );
    // A byte of the signed nonce (the 256 bytes just before the signature's header).
    let mut doc = document();
    let at = doc.len() - 96 - 2 - 10;
    doc[at] ^= 0x80;
    assert_eq!(
        verify_document(&doc, &policy, MADE_AT_MS).unwrap_err(),
        AttestationError::BadSignature
    );
}

#[test]
fn real_document_with_other_pcrs_allowlisted_is_refused() {
    let mut policy = policy_for_fixture();
    policy.allowlist = vec![Measurement::new([(0, [0; 48]), (1, [0; 48]), (2, [1; 48])])];
    let err = verify_document(&document(), &policy, MADE_AT_MS).unwrap_err();
    assert!(
        matches!(err, AttestationError::MeasurementNotAllowed { .. }),
        "{err}"
    );
}

#[test]
fn real_document_is_untrusted_under_a_devnet_policy() {
    let devnet = SoftwareEnclave::from_seed(&[1; 32]).unwrap();
    let mut policy = policy_for_fixture();
    policy.roots = vec![devnet.root()];
    let err = verify_document(&document(), &policy, MADE_AT_MS).unwrap_err();
    assert_eq!(
        err,
        AttestationError::UntrustedRoot {
            fingerprint: hex::encode(AWS_NITRO_ROOT_G1_SHA256)
        }
    );
}

#[test]
fn devnet_documents_are_untrusted_under_the_production_policy() {
    let devnet = SoftwareEnclave::from_seed(&[1; 32]).unwrap();
    let key = [9u8; 32];
    let doc = devnet
        .issue(&verity_attestation::software::DocumentRequest {
            timestamp_ms: MADE_AT_MS,
            pcrs: BTreeMap::from([(0, vec![1; 48]), (1, vec![2; 48]), (2, vec![3; 48])]),
            public_key: Some(key.to_vec()),
            ..Default::default()
        })
        .unwrap();
    let policy = TrustPolicy::aws_nitro(vec![Measurement::new([
        (0, [1; 48]),
        (1, [2; 48]),
        (2, [3; 48]),
    ])]);
    let err = verify(&doc, &policy, &key, MADE_AT_MS).unwrap_err();
    assert!(
        matches!(err, AttestationError::UntrustedRoot { .. }),
        "{err}"
    );
}
