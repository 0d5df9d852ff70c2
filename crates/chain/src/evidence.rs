//! Evidence of equivocation: two votes of one validator in one view that no honest validator
//! signs together, as simplex reports them.
//!
//! # Format
//! Evidence is the commonware encoding of a simplex `Activity` of one of the three fault
//! variants: `ConflictingNotarize` (two notarize votes for different proposals),
//! `ConflictingFinalize` (two finalize votes for different proposals) or `NullifyFinalize` (a
//! nullify and a finalize vote). Decoding refuses trailing bytes, and a pair whose votes differ
//! in view or signer (or, for the conflicting pairs, agree on the proposal).
//!
//! # Verification
//! [`verify_equivocation`] checks both signatures under the chain's consensus namespace against
//! the validator set, and names the offender by its key. It is a pure function of its inputs:
//! the RNG the signature check may draw from is seeded with the sha256 of the evidence, so every
//! validator reaches the same verdict on the same bytes.

use crate::{block::Digest, config::Scheme};
use commonware_codec::{Copying, Decode};
use commonware_consensus::{
    Viewable,
    simplex::types::{Activity, Attributable},
};
use commonware_cryptography::{Hasher, Sha256, certificate::Verifier as _, ed25519::PublicKey};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Which two votes a validator signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EquivocationKind {
    /// Notarize votes for two different proposals.
    ConflictingNotarize,
    /// Finalize votes for two different proposals.
    ConflictingFinalize,
    /// A nullify vote and a finalize vote.
    NullifyFinalize,
}

/// A verified equivocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The validator that signed both votes.
    pub offender: PublicKey,
    /// The consensus view of both votes.
    pub view: u64,
    /// What it signed.
    pub kind: EquivocationKind,
}

/// Why bytes are not evidence of equivocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// Not the encoding of a consensus activity, or a vote pair that is not a conflict (votes of
    /// different views or signers, or the same proposal twice).
    #[error("evidence does not decode as a conflicting vote pair: {0}")]
    Malformed(String),
    /// A consensus activity that proves no fault.
    #[error(
        "a {0} activity is not evidence of equivocation; only conflicting notarizes, conflicting finalizes, or a nullify and a finalize of one view are"
    )]
    NotEquivocation(&'static str),
    /// The votes name a signer index outside the validator set.
    #[error("the votes are signed by validator #{index}, but the validator set has {validators}")]
    UnknownSigner {
        /// Signer index in the canonical (sorted) validator order.
        index: u32,
        /// Size of the validator set.
        validators: usize,
    },
    /// A signature does not verify.
    #[error(
        "the signatures of validator {offender} on the votes of view {view} do not both verify under this chain's consensus namespace"
    )]
    BadSignature {
        /// The claimed signer (boxed: an ed25519 key keeps its decompressed point).
        offender: Box<PublicKey>,
        /// The claimed view.
        view: u64,
    },
}

/// Verify that `evidence` proves equivocation by one of `participants` on the chain whose
/// consensus namespace is `namespace`; returns the offender, the view and what it signed.
///
/// `participants` are the validator keys in any order (duplicates are ignored): votes name their
/// signer by its index in the sorted set, as consensus does.
pub fn verify_equivocation(
    namespace: &[u8],
    participants: &[PublicKey],
    evidence: &[u8],
) -> Result<Equivocation, EvidenceError> {
    let participants = Set::from_iter_dedup(participants.iter().cloned());
    let scheme = Scheme::verifier(namespace, participants.clone());
    let activity = Activity::<Scheme, Digest>::decode_cfg(
        Copying(evidence),
        &scheme.certificate_codec_config(),
    )
    .map_err(|e| EvidenceError::Malformed(e.to_string()))?;
    let (kind, signer, view) = match &activity {
        Activity::ConflictingNotarize(c) => {
            (EquivocationKind::ConflictingNotarize, c.signer(), c.view())
        }
        Activity::ConflictingFinalize(c) => {
            (EquivocationKind::ConflictingFinalize, c.signer(), c.view())
        }
        Activity::NullifyFinalize(c) => (EquivocationKind::NullifyFinalize, c.signer(), c.view()),
        other => return Err(EvidenceError::NotEquivocation(activity_name(other))),
    };
    let offender =
        participants
            .get(signer.get() as usize)
            .cloned()
            .ok_or(EvidenceError::UnknownSigner {
                index: signer.get(),
                validators: participants.len(),
            })?;
    let view = view.get();
    let seed: [u8; 32] = Sha256::hash(&[evidence])
        .as_ref()
        .try_into()
        .expect("sha256 digests are 32 bytes");
    let mut rng = ChaCha20Rng::from_seed(seed);
    if !activity.verify(&mut rng, &scheme, &Sequential) {
        return Err(EvidenceError::BadSignature {
            offender: Box::new(offender),
            view,
        });
    }
    Ok(Equivocation {
        offender,
        view,
        kind,
    })
}

/// Whether a consensus activity is evidence of equivocation (what [`verify_equivocation`]
/// accepts, signatures aside).
pub(crate) fn is_equivocation(activity: &Activity<Scheme, Digest>) -> bool {
    matches!(
        activity,
        Activity::ConflictingNotarize(_)
            | Activity::ConflictingFinalize(_)
            | Activity::NullifyFinalize(_)
    )
}

fn activity_name(activity: &Activity<Scheme, Digest>) -> &'static str {
    match activity {
        Activity::Notarize(_) => "notarize vote",
        Activity::Notarization(_) => "notarization",
        Activity::Certification(_) => "certification",
        Activity::Nullify(_) => "nullify vote",
        Activity::Nullification(_) => "nullification",
        Activity::Finalize(_) => "finalize vote",
        Activity::Finalization(_) => "finalization",
        Activity::ConflictingNotarize(_) => "conflicting notarize",
        Activity::ConflictingFinalize(_) => "conflicting finalize",
        Activity::NullifyFinalize(_) => "nullify-finalize",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;
    use commonware_consensus::{
        simplex::types::{
            ConflictingFinalize, ConflictingNotarize, Finalize, Notarize, Nullify, NullifyFinalize,
            Proposal,
        },
        types::{Epoch, Round, View},
    };
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};

    const NAMESPACE: &[u8] = b"verity/test/consensus";

    fn keys() -> Vec<PrivateKey> {
        (0..4).map(PrivateKey::from_seed).collect()
    }

    fn participants(keys: &[PrivateKey]) -> Vec<PublicKey> {
        keys.iter().map(|k| k.public_key()).collect()
    }

    fn signer(key: &PrivateKey, participants: &[PublicKey], namespace: &[u8]) -> Scheme {
        Scheme::signer(
            namespace,
            Set::from_iter_dedup(participants.iter().cloned()),
            key.clone(),
        )
        .expect("key is a participant")
    }

    fn proposal(view: u64, payload: u8) -> Proposal<Digest> {
        Proposal::new(
            Round::new(Epoch::zero(), View::new(view)),
            View::new(view - 1),
            Sha256::hash(&[&[payload]]),
        )
    }

    fn conflicting_notarize(scheme: &Scheme, view: u64) -> Vec<u8> {
        let a = Notarize::sign(scheme, proposal(view, 1)).unwrap();
        let b = Notarize::sign(scheme, proposal(view, 2)).unwrap();
        Activity::ConflictingNotarize(ConflictingNotarize::new(a, b))
            .encode()
            .to_vec()
    }

    #[test]
    fn conflicting_votes_name_their_signer_and_view() {
        let keys = keys();
        let all = participants(&keys);
        let offender = &keys[2];
        let scheme = signer(offender, &all, NAMESPACE);

        let found =
            verify_equivocation(NAMESPACE, &all, &conflicting_notarize(&scheme, 7)).unwrap();
        assert_eq!(found.offender, offender.public_key());
        assert_eq!(found.view, 7);
        assert_eq!(found.kind, EquivocationKind::ConflictingNotarize);

        let a = Finalize::sign(&scheme, proposal(9, 1)).unwrap();
        let b = Finalize::sign(&scheme, proposal(9, 2)).unwrap();
        let evidence = Activity::ConflictingFinalize(ConflictingFinalize::new(a, b.clone()))
            .encode()
            .to_vec();
        let found = verify_equivocation(NAMESPACE, &all, &evidence).unwrap();
        assert_eq!(
            (found.offender, found.view, found.kind),
            (
                offender.public_key(),
                9,
                EquivocationKind::ConflictingFinalize
            )
        );

        let nullify = Nullify::sign::<Digest>(&scheme, b.round()).unwrap();
        let evidence = Activity::NullifyFinalize(NullifyFinalize::new(nullify, b))
            .encode()
            .to_vec();
        let found = verify_equivocation(NAMESPACE, &all, &evidence).unwrap();
        assert_eq!(found.kind, EquivocationKind::NullifyFinalize);
    }

    #[test]
    fn tampered_bytes_are_refused() {
        let keys = keys();
        let all = participants(&keys);
        let evidence = conflicting_notarize(&signer(&keys[1], &all, NAMESPACE), 3);
        // Flip a bit in the last signature.
        let mut tampered = evidence.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            verify_equivocation(NAMESPACE, &all, &tampered),
            Err(EvidenceError::BadSignature { view: 3, .. })
        ));
        let mut longer = evidence.clone();
        longer.push(0);
        assert!(matches!(
            verify_equivocation(NAMESPACE, &all, &longer),
            Err(EvidenceError::Malformed(_))
        ));
        assert!(matches!(
            verify_equivocation(NAMESPACE, &all, &evidence[..evidence.len() - 1]),
            Err(EvidenceError::Malformed(_))
        ));
        // Signed for another chain.
        assert!(matches!(
            verify_equivocation(b"verity/other/consensus", &all, &evidence),
            Err(EvidenceError::BadSignature { .. })
        ));
    }

    #[test]
    fn mutated_and_random_bytes_never_panic_and_never_frame_an_outsider() {
        use rand_core::{Rng as _, SeedableRng as _};
        let keys = keys();
        let all = participants(&keys);
        let evidence = conflicting_notarize(&signer(&keys[0], &all, NAMESPACE), 5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut accepted = 0;
        for round in 0..4_000 {
            let bytes = if round % 4 == 0 {
                let mut random = vec![0u8; (rng.next_u32() % 512) as usize];
                rng.fill_bytes(&mut random);
                random
            } else {
                let mut mutated = evidence.clone();
                for _ in 0..=rng.next_u32() % 3 {
                    let at = rng.next_u32() as usize % mutated.len();
                    mutated[at] ^= 1 << (rng.next_u32() % 8);
                }
                mutated
            };
            if let Ok(found) = verify_equivocation(NAMESPACE, &all, &bytes) {
                assert!(all.contains(&found.offender), "accepted an outsider");
                accepted += 1;
            }
        }
        // Every byte is covered by the decoder's canonical form or by a signature.
        assert_eq!(accepted, 0, "mutated inputs verified");
    }

    #[test]
    fn votes_of_different_views_are_not_a_conflict() {
        let keys = keys();
        let all = participants(&keys);
        let scheme = signer(&keys[0], &all, NAMESPACE);
        let a = Notarize::sign(&scheme, proposal(4, 1)).unwrap();
        let b = Notarize::sign(&scheme, proposal(5, 2)).unwrap();
        // `ConflictingNotarize::new` refuses such a pair, so encode it by hand: tag 7, then both.
        let mut evidence = vec![7u8];
        evidence.extend_from_slice(&a.encode());
        evidence.extend_from_slice(&b.encode());
        let error = verify_equivocation(NAMESPACE, &all, &evidence).unwrap_err();
        assert!(matches!(error, EvidenceError::Malformed(_)), "{error}");
    }

    #[test]
    fn a_signer_outside_the_validator_set_is_refused() {
        let keys = keys();
        let all = participants(&keys);
        let sorted = Set::from_iter_dedup(all.iter().cloned());
        // The last validator in canonical order signs; a verifier that knows only the others
        // finds no validator at its index.
        let last = keys.iter().find(|k| k.public_key() == sorted[3]).unwrap();
        let evidence = conflicting_notarize(&signer(last, &all, NAMESPACE), 2);
        assert_eq!(
            verify_equivocation(NAMESPACE, &sorted[0..3], &evidence),
            Err(EvidenceError::UnknownSigner {
                index: 3,
                validators: 3
            })
        );
        // An outsider signs as a member of a set that includes it: its index names a validator
        // whose key did not sign.
        let outsider = PrivateKey::from_seed(99);
        let mut with_outsider = all[..3].to_vec();
        with_outsider.push(outsider.public_key());
        let evidence = conflicting_notarize(&signer(&outsider, &with_outsider, NAMESPACE), 2);
        let error = verify_equivocation(NAMESPACE, &all, &evidence).unwrap_err();
        assert!(
            matches!(error, EvidenceError::BadSignature { .. }),
            "{error}"
        );
    }

    #[test]
    fn an_ordinary_vote_is_not_evidence() {
        let keys = keys();
        let all = participants(&keys);
        let scheme = signer(&keys[0], &all, NAMESPACE);
        let vote = Notarize::sign(&scheme, proposal(4, 1)).unwrap();
        let evidence = Activity::Notarize(vote).encode().to_vec();
        assert_eq!(
            verify_equivocation(NAMESPACE, &all, &evidence),
            Err(EvidenceError::NotEquivocation("notarize vote"))
        );
    }
}
