//! Coverage-guided fuzzing of the transaction decoder and of the ledger's handling of whatever
//! decodes: decoding never panics, whatever decodes re-encodes to the same bytes, and a dry run
//! against a small market state refuses or accepts without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::{collections::BTreeMap, sync::OnceLock};
use verity_ledger::{Genesis, GenesisAccount, GenesisValidator, Keypair, Ledger, Params, SignedTransaction};

fn state() -> &'static (Ledger, BTreeMap<Vec<u8>, Vec<u8>>) {
    static STATE: OnceLock<(Ledger, BTreeMap<Vec<u8>, Vec<u8>>)> = OnceLock::new();
    STATE.get_or_init(|| {
        let genesis = Genesis {
            chain_id: "fuzz".into(),
            genesis_time_ms: 0,
            params: Params::default(),
            accounts: (0..4)
                .map(|i| GenesisAccount {
                    address: Keypair::from_seed(i).address(),
                    balance: 1 << 40,
                })
                .collect(),
            validators: vec![GenesisValidator {
                public_key: Keypair::from_seed(99).public(),
                p2p: "127.0.0.1:1".into(),
                stake: 1 << 30,
            }],
        };
        let out = Ledger::genesis(&genesis).expect("valid genesis");
        let state = out.changes.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        (Ledger::new("fuzz"), state)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::decode(data, 1 << 21) {
        assert_eq!(tx.encode(), data, "decoding is canonical");
    }
    let (ledger, state) = state();
    let _ = ledger.check_tx(state, data, 1_000);
});
