//! Service records: the evidence of quality and demand an exposure router ranks nodes and models
//! by ([`ServiceRecord`] on each node, [`ModelRecord`] on each model).
//!
//! # What counts
//! Only what the ledger itself decided counts, and only when it comes from someone other than
//! the party it would favour:
//! - a **paid call** counts as independent for its node when the caller is not [`linked`] to the
//!   node's operator, and for its model when the caller is linked neither to the model's owner
//!   nor to the node's operator; otherwise it counts as linked. Every paid call counts once, in
//!   exactly one of the two, for the node and for the model, whatever the evidence that paid it
//!   (challenge window, audit, referee or proof).
//! - an **audit** of a call whose caller is independent of the node counts as passed (the output
//!   was confirmed) or failed (wrong output, or no input revealed in time). Audits of linked
//!   calls count nowhere: a passed audit of a node's own traffic is cheap to manufacture, and
//!   counting only its failures would skew the pass rate; such a fault is still slashed and
//!   counted in `refunded_calls`. Known-answer checks test auditors, not the serving node, and
//!   count nowhere either.
//! - a **refund** counts for the node whoever the caller was: a refund is an offence the ledger
//!   confirmed, and only the node can commit one.
//!
//! # Linkage
//! Two accounts are linked when they are the same account or one created the other with a
//! `Transfer` ([`Account::funded_by`](crate::state::Account::funded_by)). Anyone can create an
//! account for an address they know, but that links it only to themselves, which withholds
//! credit from their own nodes and models and from no one else's. This is the evident
//! self-dealing the ledger can see, and no more:
//! - Two accounts funded by one third account (siblings) are not linked: every account a faucet,
//!   an exchange or a gateway funds would otherwise be linked to every other, and their calls
//!   would stop counting as independent for each other's nodes.
//! - Funds laundered through a third party (the operator pays an exchange, the exchange funds a
//!   fresh caller) leave no trace on the ledger, and neither does a key funded before it met the
//!   operator. An operator that does this buys independent-looking calls at their full price
//!   (fees, royalty and protocol share are lost on each) while audits keep sampling them.
//!
//! A router therefore cannot rest its Sybil or wash-trading resistance on linkage; it rests on
//! exposure being linear in verified capacity and on the registration burn, and uses linkage
//! only to refuse credit for evident self-dealing.

use crate::{
    StateRead,
    state::{self, Account, Call, Model, Node, account_key, model_key, node_key},
    types::Address,
};

/// Whether accounts `a` and `b` are linked: the same account, or one funded the other (see the
/// module documentation for why no other relation counts).
pub fn linked(state: &impl StateRead, a: &Address, b: &Address) -> bool {
    linked_by(a, b, |x| {
        state::read::<Account>(state, &account_key(x)).and_then(|acc| acc.funded_by)
    })
}

/// [`linked`] on state being written.
fn linked_in<S: StateRead>(ov: &mut state::Overlay<'_, S>, a: &Address, b: &Address) -> bool {
    linked_by(a, b, |x| {
        ov.get::<Account>(&account_key(x))
            .and_then(|acc| acc.funded_by)
    })
}

/// The linkage rule, over a lookup of who funded an account.
fn linked_by(
    a: &Address,
    b: &Address,
    mut funded_by: impl FnMut(&Address) -> Option<Address>,
) -> bool {
    a == b || funded_by(a) == Some(*b) || funded_by(b) == Some(*a)
}

/// Count a call that was just paid out, for its node and its model.
pub(crate) fn paid<S: StateRead>(ov: &mut state::Overlay<'_, S>, call: &Call) {
    let mut model: Model = ov
        .get(&model_key(&call.model))
        .expect("paid calls have registered models");
    let for_node = !linked_in(ov, &call.caller, &call.node);
    let for_model = for_node && !linked_in(ov, &call.caller, &model.owner);
    update_node(ov, &call.node, |r| {
        if for_node {
            r.independent_calls += 1;
        } else {
            r.linked_calls += 1;
        }
    });
    if for_model {
        model.record.independent_calls += 1;
    } else {
        model.record.linked_calls += 1;
    }
    ov.put(&model_key(&call.model), &model);
}

/// Count the decided audit of `call`: `passed` when the node's output was confirmed. Audits of
/// calls whose caller is linked to the node count nowhere.
pub(crate) fn audited<S: StateRead>(ov: &mut state::Overlay<'_, S>, call: &Call, passed: bool) {
    if linked_in(ov, &call.caller, &call.node) {
        return;
    }
    update_node(ov, &call.node, |r| {
        if passed {
            r.audits_passed += 1;
        } else {
            r.audits_failed += 1;
        }
    });
}

/// Count a call refunded for its node's fault.
pub(crate) fn refunded<S: StateRead>(ov: &mut state::Overlay<'_, S>, call: &Call) {
    update_node(ov, &call.node, |r| r.refunded_calls += 1);
}

fn update_node<S: StateRead>(
    ov: &mut state::Overlay<'_, S>,
    address: &Address,
    change: impl FnOnce(&mut state::ServiceRecord),
) {
    let key = node_key(address);
    let mut node: Node = ov.get(&key).expect("calls are served by registered nodes");
    change(&mut node.record);
    ov.put(&key, &node);
}
