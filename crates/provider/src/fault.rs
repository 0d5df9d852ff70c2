//! Fault injection for testing verification: a node started with `--corrupt-ppm N` returns a
//! wrong output for about N in a million calls, chosen by the call id, and signs receipts for
//! those wrong outputs, exactly as a node skipping or falsifying work would. Audits and proofs
//! must catch it; it exists so that tests and `verity devnet --faulty-node` can show they do.

use verity_api::{CallOutput, OutputValues};
use verity_ledger::{CallId, crypto::sha256};

/// Whether the call `id` is one the node corrupts at rate `ppm` (parts per million).
pub fn corrupts(ppm: u32, id: &CallId) -> bool {
    if ppm == 0 {
        return false;
    }
    let h = sha256(&[b"verity/fault", &id.0]);
    let draw = u64::from_be_bytes(h.0[..8].try_into().expect("8 bytes")) % 1_000_000;
    draw < u64::from(ppm)
}

/// Make `output` wrong: its top score moves to the next class.
pub fn corrupt(output: &mut CallOutput) {
    let Some(top) = output.argmax() else { return };
    match &mut output.values {
        OutputValues::I32 { values, .. } => {
            let next = (top + 1) % values.len();
            values[next] = values[top].saturating_add(1 << 10);
        }
        OutputValues::F32 { values } => {
            let next = (top + 1) % values.len();
            values[next] = values[top] + 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_api::ExecPath;
    use verity_ledger::Hash32;

    #[test]
    fn the_rate_is_close_to_ppm_and_corruption_changes_the_prediction() {
        let hits = (0..100_000u32)
            .filter(|i| {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&i.to_le_bytes());
                corrupts(50_000, &Hash32(id))
            })
            .count();
        assert!((4_700..=5_300).contains(&hits), "{hits}");
        assert!(!corrupts(0, &Hash32([0; 32])));
        let mut out = CallOutput {
            path: ExecPath::Integer,
            shape: vec![1, 3],
            values: OutputValues::I32 {
                values: vec![1, 9, 4],
                frac_bits: 7,
            },
        };
        let before = out.hash();
        corrupt(&mut out);
        assert_eq!(out.argmax(), Some(2));
        assert_ne!(out.hash(), before);
    }
}
