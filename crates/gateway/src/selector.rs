//! Node selection: the order in which the gateway offers (and a caller should try) the nodes
//! able to serve a call.
//!
//! # Interface
//! The gateway lists every node that may serve a `(model, mode)` call — registered, bonded at
//! least `min_stake`, serving the model, offering the mode, priced within the caller's cap —
//! as [`Candidate`]s, and asks a [`NodeSelector`] to rank them. The selector only orders (and
//! may drop) candidates; it never adds one, so eligibility stays the gateway's job and a
//! selector cannot route a call to a node that cannot be paid. The gateway shows the first
//! `max_candidates` of the ranking in its quote.
//!
//! # Policy: [`CheapestFirst`]
//! 1. Nodes not cooling down come before nodes cooling down (a node cools down for
//!    `node_cooldown` after it failed a call: unreachable, 5xx, or a bad receipt).
//! 2. Within each group, cheaper price for the mode first.
//! 3. Equal prices are ordered by a fresh random draw per ranking, so calls spread over
//!    equally priced nodes instead of always landing on the first registered one. The draws
//!    come from a generator seeded once ([`CheapestFirst::seeded`] for reproducible tests,
//!    [`CheapestFirst::from_entropy`] in service).
//!
//! The policy knows nothing of load or verified quality; the exposure router replaces it
//! behind the same trait.

use rand::{RngCore, SeedableRng, rngs::StdRng};
use std::sync::Mutex;
use verity_ledger::{Address, Amount, Mode, state::Model};

/// A node able to serve the call being routed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The node (its operator's address, a ticket's `node`).
    pub node: Address,
    /// Its inference endpoint as registered.
    pub endpoint: String,
    /// Its price for the mode.
    pub price: Amount,
    /// Whether it failed a call within the last `node_cooldown`.
    pub cooling_down: bool,
}

/// Orders the candidates for one call.
///
/// Implementations must return a subset of `candidates` (typically a permutation), best
/// first, and must not block: `rank` runs on the request path.
pub trait NodeSelector: Send + Sync {
    /// Rank `candidates` for a call of `model` in `mode`.
    fn rank(&self, model: &Model, mode: Mode, candidates: Vec<Candidate>) -> Vec<Candidate>;
}

/// Cheapest first, ties shuffled, nodes cooling down last (see the module documentation).
pub struct CheapestFirst {
    rng: Mutex<StdRng>,
}

impl CheapestFirst {
    /// The policy with tie-breaks drawn from a generator seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The policy with tie-breaks seeded from the operating system's entropy.
    pub fn from_entropy() -> Self {
        Self {
            rng: Mutex::new(StdRng::from_entropy()),
        }
    }
}

impl NodeSelector for CheapestFirst {
    fn rank(&self, _model: &Model, _mode: Mode, candidates: Vec<Candidate>) -> Vec<Candidate> {
        let mut keyed: Vec<(u64, Candidate)> = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            candidates
                .into_iter()
                .map(|c| (rng.next_u64(), c))
                .collect()
        };
        keyed.sort_by_key(|(tie, c)| (c.cooling_down, c.price, *tie));
        keyed.into_iter().map(|(_, c)| c).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_ledger::{DType, Hash32, InputSpec};

    fn model() -> Model {
        Model {
            id: Hash32([1; 32]),
            name: "m".into(),
            owner: Address::of_label("owner"),
            royalty_bps: 0,
            input: InputSpec {
                shape: vec![1],
                dtype: DType::F32,
            },
            modes: vec![Mode::Signed],
            registered_height: 1,
            program: None,
            zk_key: None,
            record: Default::default(),
        }
    }

    fn candidate(n: &str, price: Amount, cooling_down: bool) -> Candidate {
        Candidate {
            node: Address::of_label(n),
            endpoint: format!("http://{n}"),
            price,
            cooling_down,
        }
    }

    fn names(ranked: &[Candidate]) -> Vec<Address> {
        ranked.iter().map(|c| c.node).collect()
    }

    #[test]
    fn cheapest_first_with_cooling_nodes_last() {
        let policy = CheapestFirst::seeded(7);
        let ranked = policy.rank(
            &model(),
            Mode::Signed,
            vec![
                candidate("a", 300, false),
                candidate("b", 100, true),
                candidate("c", 200, false),
                candidate("d", 50, true),
            ],
        );
        let expect = ["c", "a", "d", "b"].map(Address::of_label);
        assert_eq!(names(&ranked), expect);
    }

    #[test]
    fn ties_are_shuffled_reproducibly_and_spread() {
        let tied: Vec<_> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| candidate(n, 100, false))
            .collect();
        let run = |seed| {
            let policy = CheapestFirst::seeded(seed);
            (0..40)
                .map(|_| names(&policy.rank(&model(), Mode::Signed, tied.clone()))[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3), "same seed, same order");
        let firsts: std::collections::BTreeSet<_> = run(3).into_iter().collect();
        assert_eq!(firsts.len(), 4, "every tied node comes first sometimes");
    }
}
