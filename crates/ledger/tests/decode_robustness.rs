//! Random and mutated bytes fed to the transaction decoder and to block execution: they must
//! be refused with an error, never panic, and never change a balance. (The coverage-guided
//! version of this is the `tx_decode` target in `fuzz/`.)

mod common;
use common::*;
use proptest::prelude::*;
use verity_ledger::*;

fn valid_batch(m: &Market) -> Vec<u8> {
    m.chain.sign(
        &m.node,
        Payload::SubmitReceipts {
            calls: vec![m.call(1), m.call(2)],
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(tx) = SignedTransaction::decode(&bytes, 1 << 20) {
            // Whatever decodes re-encodes to the same bytes: the encoding is canonical.
            prop_assert_eq!(tx.encode(), bytes);
        }
    }

    #[test]
    fn mutated_transactions_are_refused_cleanly(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<Option<usize>>(),
    ) {
        let mut m = Market::new(1_000_000);
        let mut bytes = valid_batch(&m);
        for (pos, x) in flips {
            let i = pos % bytes.len();
            bytes[i] ^= x.max(1);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let caller_before = m.chain.account(&m.caller.address());
        let _ = m.chain.ledger.check_tx(&m.chain.state, &bytes, m.chain.time_ms);
        let out = m.chain.block(&[bytes], 1);
        // A flipped byte breaks the decoding or the signature, so nothing was paid.
        prop_assert!(matches!(out.outcomes[0].status, TxStatus::Rejected { .. }), "{:?}", out.outcomes[0]);
        prop_assert_eq!(m.chain.account(&m.caller.address()), caller_before);
    }
}
