//! The explorer's pages, rendered from data already read (no I/O here), so each page can be
//! tested from constructed ledger values.

use super::{
    chart::{BarChart, LineChart},
    data::{Activity, WINDOW_BLOCKS},
    html::{self, amount, escape, facts, live, table},
};
use crate::{registry::View, views::ModelListing};
use std::{collections::BTreeMap, fmt::Write};
use verity_api::{BlockView, EventView, ExposureView, ParamsView, TxView};
use verity_earnings::{DayRow, NodeReport};
use verity_ledger::{
    Address, Event, Mode, ModelId, TxOutcome, TxStatus,
    state::{Audit, Call, Model, Node},
};

fn model_name<'v>(view: &'v View, id: &ModelId) -> Option<&'v str> {
    view.models.get(id).map(|m| m.name.as_str())
}

/// The values behind every `data-live` element (see `/explorer/live.json`). The height is
/// the ledger's, read with the activity; stakes and counts are the registry view's.
pub fn live_values(view: &View, activity: &Activity) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    values.insert("height".into(), activity.to_height.to_string());
    values.insert(
        "calls_per_minute".into(),
        activity.calls_per_minute.to_string(),
    );
    values.insert("settled_volume".into(), amount(activity.settled_volume));
    values.insert("settled_calls".into(), activity.settled_calls.to_string());
    values.insert("nodes".into(), view.nodes.len().to_string());
    values.insert("models".into(), view.models.len().to_string());
    for (address, known) in &view.nodes {
        values.insert(format!("stake:{address}"), amount(known.node.stake));
        values.insert(format!("served:{address}"), known.node.served.to_string());
        values.insert(format!("faults:{address}"), known.node.faults.to_string());
    }
    for (id, model) in &view.models {
        values.insert(
            format!("calls:{id}"),
            (model.record.independent_calls + model.record.linked_calls).to_string(),
        );
    }
    values
}

/// `/explorer`.
pub fn overview(view: &View, activity: &Activity) -> String {
    let values = live_values(view, activity);
    let num = |key: &str| live(key, values.get(key).map_or("", String::as_str));
    let window = format!(
        "blocks {}–{} (last {WINDOW_BLOCKS})",
        activity.from_height, activity.to_height
    );
    let mut body = facts(
        "network",
        &[
            ("chain", escape(&view.chain_id)),
            ("height", num("height")),
            ("calls per minute (chain time)", num("calls_per_minute")),
            (
                "settled volume",
                format!(
                    "{} base units in {} calls, {}",
                    num("settled_volume"),
                    num("settled_calls"),
                    escape(&window)
                ),
            ),
            ("nodes", num("nodes")),
            ("models", num("models")),
        ],
    );
    if activity.truncated {
        body.push_str(
            r#"<p class="muted">More events in the window than the explorer reads at once; the window's numbers are lower bounds.</p>"#,
        );
    }
    body.push_str(
        &BarChart {
            name: "calls-per-block",
            title: "Calls accepted per block",
            x_label: "block height",
            y_label: "calls accepted",
            bars: activity
                .per_block
                .iter()
                .map(|(h, n)| (h.to_string(), *n))
                .collect(),
        }
        .svg(),
    );
    html::page("Network overview", &body)
}

/// `/explorer/blocks`.
pub fn blocks(view: &View, blocks: &[BlockView]) -> String {
    let rows: Vec<Vec<String>> = blocks
        .iter()
        .map(|b| {
            vec![
                html::block_link(b.height),
                escape(&html::ago(b.timestamp_ms, view.chain_time_ms)),
                b.txs.len().to_string(),
                format!(
                    r#"<span class="hash">{}</span>"#,
                    escape(&html::short(&b.digest))
                ),
            ]
        })
        .collect();
    let body = format!(
        "<p>Chain height {}.</p>{}",
        live("height", &view.height.to_string()),
        table(
            "blocks",
            &["height", "time", "transactions", "digest"],
            &rows,
            "no blocks yet"
        )
    );
    html::page("Blocks", &body)
}

fn tx_status(status: &TxStatus) -> String {
    match status {
        TxStatus::Applied => r#"<span class="badge settled">applied</span>"#.into(),
        TxStatus::Failed { code, message } => format!(
            r#"<span class="badge refunded">failed</span> {}: {}"#,
            escape(code),
            escape(message)
        ),
        TxStatus::Rejected { code, message } => format!(
            r#"<span class="badge refunded">rejected</span> {}: {}"#,
            escape(code),
            escape(message)
        ),
    }
}

/// `/explorer/blocks/{height}`.
pub fn block(view: &View, block: &BlockView, txs: &[TxView]) -> String {
    let mut body = facts(
        "block",
        &[
            ("height", block.height.to_string()),
            (
                "time",
                escape(&html::ago(block.timestamp_ms, view.chain_time_ms)),
            ),
            (
                "digest",
                format!(r#"<span class="hash">{}</span>"#, block.digest),
            ),
            (
                "parent",
                format!(
                    r#"<span class="hash">{}</span> ({})"#,
                    block.parent,
                    if block.height > 1 {
                        html::block_link(block.height - 1)
                    } else {
                        "genesis".into()
                    }
                ),
            ),
            (
                "state root",
                format!(
                    r#"<span class="hash">{}</span> (after height {})"#,
                    block.state_root, block.state_height
                ),
            ),
            (
                "executed root",
                format!(r#"<span class="hash">{}</span>"#, block.executed_root),
            ),
        ],
    );
    let rows: Vec<Vec<String>> = block
        .txs
        .iter()
        .zip(txs)
        .map(|(hash, tx)| match tx {
            TxView::Included(o) => vec![
                html::tx_link(hash),
                escape(o.kind.as_deref().unwrap_or("undecodable")),
                o.sender.as_ref().map_or("—".into(), html::node_link),
                tx_status(&o.status),
                amount(o.fee_paid),
                o.calls.len().to_string(),
            ],
            TxView::Pending { .. } => vec![
                html::tx_link(hash),
                "—".into(),
                "—".into(),
                "pending".into(),
                "—".into(),
                "—".into(),
            ],
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Transactions</h2>{}",
        table(
            "txs",
            &["hash", "kind", "sender", "result", "fee", "calls"],
            &rows,
            "no transactions in this block"
        )
    );
    html::page(&format!("Block {}", block.height), &body)
}

fn outcome_facts(o: &TxOutcome) -> String {
    facts(
        "tx",
        &[
            ("hash", format!(r#"<span class="hash">{}</span>"#, o.hash)),
            ("block", html::block_link(o.height)),
            ("position", o.index.to_string()),
            ("kind", escape(o.kind.as_deref().unwrap_or("undecodable"))),
            (
                "sender",
                o.sender.as_ref().map_or("—".into(), html::node_link),
            ),
            ("result", tx_status(&o.status)),
            ("fee paid", amount(o.fee_paid)),
        ],
    )
}

/// `/explorer/txs/{hash}`.
pub fn tx(tx: &TxView) -> String {
    match tx {
        TxView::Pending { hash } => html::page(
            "Transaction",
            &format!(
                r#"<p id="tx-state">Transaction <span class="hash">{hash}</span> is waiting in the mempool; reload once it is in a block.</p>"#
            ),
        ),
        TxView::Included(o) => {
            let rows: Vec<Vec<String>> = o
                .calls
                .iter()
                .map(|v| {
                    vec![
                        html::call_link(&v.call),
                        match &v.refused {
                            None => r#"<span class="badge settled">accepted</span>"#.into(),
                            Some(r) => format!(
                                r#"<span class="badge refunded">refused</span> {}"#,
                                html::json(&serde_json::to_value(r).unwrap_or_default())
                            ),
                        },
                    ]
                })
                .collect();
            let mut body = outcome_facts(o);
            if !rows.is_empty() {
                let _ = write!(
                    body,
                    "<h2>Receipts</h2>{}",
                    table("verdicts", &["call", "verdict"], &rows, "")
                );
            }
            html::page("Transaction", &body)
        }
    }
}

fn call_rows(view: &View, calls: &[Call]) -> Vec<Vec<String>> {
    calls
        .iter()
        .map(|c| {
            vec![
                html::call_link(&c.id),
                html::model_link(&c.model, model_name(view, &c.model)),
                escape(&c.mode.to_string()),
                html::node_link(&c.node),
                amount(c.price),
                html::block_link(c.accepted_height),
                html::status_badge(&c.status),
            ]
        })
        .collect()
}

const CALL_HEADERS: [&str; 7] = [
    "call", "model", "mode", "node", "price", "accepted", "status",
];

/// `/explorer/calls`.
pub fn calls(view: &View, calls: &[Call]) -> String {
    let body = format!(
        "<p>The latest {} calls accepted by the ledger, newest first, with their status now.</p>{}",
        calls.len(),
        table(
            "calls",
            &CALL_HEADERS,
            &call_rows(view, calls),
            "no calls yet"
        )
    );
    html::page("Calls", &body)
}

/// `/explorer/calls/{id}`.
pub fn call(view: &View, call: &Call, audit: Option<&Audit>, events: &[EventView]) -> String {
    let (class, label) = html::status_label(&call.status);
    let mut body = format!(
        r#"<p class="status-line">Verification status: <span id="call-status" class="badge {class}">{label}</span> — {}</p>"#,
        html::status_detail(&call.status, call.settle_after_ms, view.chain_time_ms)
    );
    body.push_str(&facts(
        "call",
        &[
            ("id", format!(r#"<span class="hash">{}</span>"#, call.id)),
            (
                "model",
                html::model_link(&call.model, model_name(view, &call.model)),
            ),
            ("mode", escape(&call.mode.to_string())),
            ("caller", html::node_link(&call.caller)),
            ("node", html::node_link(&call.node)),
            ("price", amount(call.price)),
            ("royalty", html::bps(call.royalty_bps.into())),
            (
                "audit chance",
                format!("{:.2} %", f64::from(call.audit_rate_ppm) / 10_000.0),
            ),
            ("accepted at", html::block_link(call.accepted_height)),
            (
                "challenge window closes",
                escape(&html::ago(call.settle_after_ms, view.chain_time_ms)),
            ),
            (
                "input hash",
                format!(r#"<span class="hash">{}</span>"#, call.input_hash),
            ),
            (
                "output hash",
                format!(r#"<span class="hash">{}</span>"#, call.output_hash),
            ),
        ],
    ));
    if let Some(split) = &call.split {
        body.push_str("<h2>Payout</h2>");
        body.push_str(&facts(
            "split",
            &[
                ("node", amount(split.node)),
                ("royalty", amount(split.royalty)),
                ("verifier pool", amount(split.verifier)),
                ("protocol", amount(split.protocol)),
            ],
        ));
    }
    if let Some(audit) = audit {
        let _ = write!(
            body,
            r#"<h2>Audit</h2><p id="audit">Opened at height {}: {}</p>"#,
            html::block_link(audit.opened_height),
            html::audit_status(&audit.status, view.chain_time_ms)
        );
    }
    body.push_str("<h2>Events</h2>");
    body.push_str(&event_table("events", events, "no events for this call"));
    html::page("Call", &body)
}

fn event_table(id: &str, events: &[EventView], empty: &str) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                html::block_link(e.record.height),
                escape(e.record.event.kind()),
                e.record
                    .tx
                    .as_ref()
                    .map_or("block start".into(), html::tx_link),
            ]
        })
        .collect();
    table(id, &["height", "event", "transaction"], &rows, empty)
}

fn prices(node: &Node) -> String {
    let parts: Vec<String> = node
        .prices
        .iter()
        .map(|p| format!("{}: {}", escape(&p.mode.to_string()), amount(p.price)))
        .collect();
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("<br>")
    }
}

fn jailed(view: &View, node: &Node) -> String {
    if node.jailed_until_ms > view.chain_time_ms {
        format!(
            r#"<span class="badge refunded">jailed</span> until {}"#,
            escape(&html::ago(node.jailed_until_ms, view.chain_time_ms))
        )
    } else {
        "no".into()
    }
}

fn standing(standing: &verity_router::Standing) -> String {
    match standing {
        verity_router::Standing::Ineligible { reason } => {
            let reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                .unwrap_or_default();
            format!("ineligible ({})", escape(&reason))
        }
        verity_router::Standing::Probation => "probation".into(),
        verity_router::Standing::Pool => "pool".into(),
        verity_router::Standing::Outside => "outside the pool".into(),
    }
}

/// One node's exposure in every (model, mode) report, as (model, mode, report entry).
fn node_exposure<'e>(
    exposure: &'e [ExposureView],
    node: &Address,
) -> Vec<(&'e ExposureView, &'e verity_api::NodeExposureView)> {
    exposure
        .iter()
        .filter_map(|e| e.nodes.iter().find(|n| n.node == *node).map(|n| (e, n)))
        .collect()
}

/// `/explorer/nodes`.
pub fn nodes(view: &View, exposure: &[ExposureView]) -> String {
    let rows: Vec<Vec<String>> = view
        .nodes
        .values()
        .map(|known| {
            let node = &known.node;
            let a = node.operator;
            let shares: Vec<String> = node_exposure(exposure, &a)
                .into_iter()
                .map(|(e, n)| {
                    format!(
                        "{} {}: {} ({})",
                        html::model_link(&e.model, model_name(view, &e.model)),
                        escape(&e.mode.to_string()),
                        html::share(n.share),
                        standing(&n.standing)
                    )
                })
                .collect();
            let r = &node.record;
            vec![
                html::node_link(&a),
                live(&format!("stake:{a}"), &amount(node.stake)),
                prices(node),
                if shares.is_empty() {
                    "—".into()
                } else {
                    shares.join("<br>")
                },
                live(&format!("served:{a}"), &node.served.to_string()),
                format!(
                    "{} passed / {} failed; {} refunded",
                    r.audits_passed, r.audits_failed, r.refunded_calls
                ),
                live(&format!("faults:{a}"), &node.faults.to_string()),
                jailed(view, node),
            ]
        })
        .collect();
    let body = format!(
        "<p>{} registered nodes at height {}. Exposure is the share of calls the gateway's router sends each node for a model and mode, with its standing.</p>{}",
        live("nodes", &view.nodes.len().to_string()),
        live("height", &view.height.to_string()),
        table(
            "nodes",
            &[
                "node",
                "stake",
                "price per mode",
                "exposure (standing)",
                "calls served",
                "audits",
                "faults",
                "jailed"
            ],
            &rows,
            "no nodes registered"
        )
    );
    html::page("Nodes", &body)
}

/// `/explorer/nodes/{address}`.
pub fn node(
    view: &View,
    node: &Node,
    exposure: &[ExposureView],
    calls: &[Call],
    slashes: &[EventView],
    earnings: &Result<NodeReport, String>,
) -> String {
    let a = node.operator;
    let models: Vec<String> = node
        .models
        .iter()
        .map(|m| html::model_link(m, model_name(view, m)))
        .collect();
    let unbonding: Vec<String> = node
        .unbonding
        .iter()
        .map(|r| {
            format!(
                "{} ({})",
                amount(r.amount),
                escape(&html::ago(r.at_ms, view.chain_time_ms))
            )
        })
        .collect();
    let on_probation = node.served < node.probation_until;
    let mut body = facts(
        "node",
        &[
            ("address", escape(&a.to_string())),
            ("endpoint", escape(&node.endpoint)),
            (
                "hardware",
                format!(
                    "{}, {} W, declared capacity {} calls/s",
                    escape(&node.hardware.gpu),
                    node.hardware.watts,
                    node.hardware.capacity
                ),
            ),
            ("stake", live(&format!("stake:{a}"), &amount(node.stake))),
            (
                "unbonding",
                if unbonding.is_empty() {
                    "none".into()
                } else {
                    unbonding.join("<br>")
                },
            ),
            ("prices", prices(node)),
            (
                "models",
                if models.is_empty() {
                    "none".into()
                } else {
                    models.join(", ")
                },
            ),
            ("registered at", html::block_link(node.registered_height)),
            (
                "calls served",
                live(&format!("served:{a}"), &node.served.to_string()),
            ),
            (
                "probation",
                if on_probation {
                    format!("until {} calls served", node.probation_until)
                } else {
                    "done".into()
                },
            ),
            (
                "faults",
                live(&format!("faults:{a}"), &node.faults.to_string()),
            ),
            ("jailed", jailed(view, node)),
            (
                "enclave key",
                node.enclave_key.as_ref().map_or("none".into(), |k| {
                    format!(r#"<span class="hash">{}</span>"#, escape(&hex_of(k)))
                }),
            ),
        ],
    );
    let rows: Vec<Vec<String>> = node_exposure(exposure, &a)
        .into_iter()
        .map(|(e, n)| {
            vec![
                html::model_link(&e.model, model_name(view, &e.model)),
                escape(&e.mode.to_string()),
                standing(&n.standing),
                format!(
                    "{:.3} ({:.3}–{:.3})",
                    n.quality.mean, n.quality.lower, n.quality.upper
                ),
                format!("{:.1}", n.verified_capacity),
                html::share(n.share),
            ]
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Exposure</h2>{}",
        table(
            "exposure",
            &[
                "model",
                "mode",
                "standing",
                "quality (bounds)",
                "verified capacity",
                "share"
            ],
            &rows,
            "the router has no report for this node"
        )
    );
    let r = &node.record;
    let _ = write!(
        body,
        r#"<section id="earnings"><h2>Earnings and service record</h2>{}<h3>Service record</h3><p>The ledger's record of this node's verified service, counting only evidence independent of its operator.</p>{}</section>"#,
        earnings_section(earnings),
        facts(
            "record",
            &[
                ("independent paid calls", r.independent_calls.to_string()),
                ("linked paid calls", r.linked_calls.to_string()),
                ("audits passed", r.audits_passed.to_string()),
                ("audits failed", r.audits_failed.to_string()),
                ("refunded calls", r.refunded_calls.to_string()),
            ]
        )
    );
    let slash_rows: Vec<Vec<String>> = slashes
        .iter()
        .filter_map(|e| match &e.record.event {
            Event::Slashed {
                offence, amount: a, ..
            } => Some(vec![
                html::block_link(e.record.height),
                escape(&offence.to_string()),
                amount(*a),
            ]),
            _ => None,
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Slashes</h2>{}<h2>Recent calls</h2>{}",
        table(
            "slashes",
            &["height", "offence", "stake taken"],
            &slash_rows,
            "never slashed"
        ),
        table(
            "node-calls",
            &CALL_HEADERS,
            &call_rows(view, calls),
            "no calls served yet"
        )
    );
    html::page(&format!("Node {a}"), &body)
}

fn hex_of(key: &verity_ledger::PublicKeyBytes) -> String {
    serde_json::to_value(key)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn price_range(listing: &ModelListing) -> String {
    let parts: Vec<String> = listing
        .modes
        .iter()
        .map(|o| match (o.min_price, o.max_price) {
            (Some(lo), Some(hi)) if lo == hi => format!(
                "{}: {} ({} nodes)",
                escape(&o.mode.to_string()),
                amount(lo),
                o.nodes
            ),
            (Some(lo), Some(hi)) => format!(
                "{}: {}–{} ({} nodes)",
                escape(&o.mode.to_string()),
                amount(lo),
                amount(hi),
                o.nodes
            ),
            _ => format!("{}: no node", escape(&o.mode.to_string())),
        })
        .collect();
    parts.join("<br>")
}

fn total_calls(model: &Model) -> u64 {
    model.record.independent_calls + model.record.linked_calls
}

/// `/explorer/models`, in the gateway's discovery order.
pub fn models(view: &View, listing: &[ModelListing]) -> String {
    let rows: Vec<Vec<String>> = listing
        .iter()
        .filter_map(|l| view.models.get(&l.id).map(|m| (l, m)))
        .map(|(l, m)| {
            vec![
                html::model_link(&m.id, Some(&m.name)),
                html::node_link(&m.owner),
                html::bps(m.royalty_bps.into()),
                price_range(l),
                live(&format!("calls:{}", m.id), &total_calls(m).to_string()),
                format!(
                    "{} independent / {} linked",
                    m.record.independent_calls, m.record.linked_calls
                ),
            ]
        })
        .collect();
    let body = format!(
        "<p>{} registered models.</p>{}",
        live("models", &view.models.len().to_string()),
        table(
            "models",
            &[
                "model",
                "owner",
                "royalty",
                "price range per mode",
                "paid calls",
                "callers"
            ],
            &rows,
            "no models registered"
        )
    );
    html::page("Models", &body)
}

/// `/explorer/models/{id}`.
pub fn model(
    view: &View,
    model: &Model,
    listing: &ModelListing,
    exposure: &[ExposureView],
    calls: &[Call],
) -> String {
    let modes: Vec<String> = model.modes.iter().map(Mode::to_string).collect();
    let mut body = facts(
        "model",
        &[
            ("id", format!(r#"<span class="hash">{}</span>"#, model.id)),
            ("name", escape(&model.name)),
            ("owner", html::node_link(&model.owner)),
            ("royalty", html::bps(model.royalty_bps.into())),
            ("modes", escape(&modes.join(", "))),
            ("price range", price_range(listing)),
            (
                "input",
                html::json(&serde_json::to_value(&model.input).unwrap_or_default()),
            ),
            ("registered at", html::block_link(model.registered_height)),
            (
                "paid calls",
                live(
                    &format!("calls:{}", model.id),
                    &total_calls(model).to_string(),
                ),
            ),
            (
                "independent / linked calls",
                format!(
                    "{} / {}",
                    model.record.independent_calls, model.record.linked_calls
                ),
            ),
            (
                "integer program",
                model
                    .program
                    .as_ref()
                    .map_or("not set (calls are not audited)".into(), |h| {
                        format!(r#"<span class="hash">{h}</span>"#)
                    }),
            ),
            (
                "zk verifying key",
                model.zk_key.as_ref().map_or("not set".into(), |h| {
                    format!(r#"<span class="hash">{h}</span>"#)
                }),
            ),
        ],
    );
    let rows: Vec<Vec<String>> = exposure
        .iter()
        .filter(|e| e.model == model.id)
        .flat_map(|e| {
            e.nodes.iter().map(move |n| {
                vec![
                    escape(&e.mode.to_string()),
                    html::node_link(&n.node),
                    standing(&n.standing),
                    html::share(n.share),
                ]
            })
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Nodes serving it</h2>{}<h2>Recent calls</h2>{}",
        table(
            "model-nodes",
            &["mode", "node", "standing", "exposure share"],
            &rows,
            "no node serves this model"
        ),
        table(
            "model-calls",
            &CALL_HEADERS,
            &call_rows(view, calls),
            "no calls yet"
        )
    );
    html::page(&format!("Model {}", model.name), &body)
}

/// `/explorer/params`: the supply, the parameters and the slashing schedule.
pub fn params(params: &ParamsView) -> String {
    let p = &params.params;
    let mut body = facts(
        "supply",
        &[
            ("chain", escape(&params.chain_id)),
            ("total supply", amount(params.total_supply)),
            ("burned", amount(params.burned)),
            ("treasury", html::node_link(&params.treasury)),
            ("verifier pool", html::node_link(&params.verifier_pool)),
        ],
    );
    let rows: Vec<Vec<String>> = p
        .slashing
        .rules
        .iter()
        .map(|r| {
            vec![
                escape(&r.offence.to_string()),
                html::bps(r.slash_bps.into()),
                html::duration(r.jail_ms),
                escape(r.offence.evidence()),
            ]
        })
        .collect();
    let _ = write!(
        body,
        "<h2>Slashing schedule</h2><p>Share of bonded stake taken for a first offence; each confirmed offence doubles the next slash. The reporter of an offence receives {} of the slash.</p>{}",
        html::bps(p.slashing.reporter_bps.into()),
        table(
            "slashing",
            &["offence", "slash", "jail", "evidence"],
            &rows,
            "no slashing rules"
        )
    );
    let mut rest = serde_json::to_value(p).unwrap_or_default();
    if let Some(map) = rest.as_object_mut() {
        map.remove("slashing");
    }
    let _ = write!(
        body,
        r#"<h2>Protocol parameters</h2><div id="params">{}</div>"#,
        html::json(&rest)
    );
    html::page("Protocol parameters", &body)
}

/// The node's P&L over the report's window: the verdict, the figures an operator compares,
/// and two charts (daily revenue against costs; cumulative cash margin of serving against
/// renting the same hardware out, with the hardware price as the payback line).
fn earnings_section(earnings: &Result<NodeReport, String>) -> String {
    let report = match earnings {
        Ok(report) => report,
        Err(why) => {
            return format!(
                r#"<p class="muted" id="earnings-unavailable">No earnings report: {}</p>"#,
                escape(why)
            );
        }
    };
    let t = &report.totals;
    let days = |d: Option<f64>| {
        d.map_or("never at this traffic".to_string(), |d| {
            format!("{d:.0} days")
        })
    };
    let mut out = format!(
        r#"<p id="earnings-verdict">{}</p>"#,
        escape(&report.verdict)
    );
    out.push_str(&facts(
        "earnings",
        &[
            (
                "window",
                format!("{} days ending {}", report.days.len(), escape(&report.days.last().map_or(String::new(), |d| d.date.clone()))),
            ),
            ("settled calls", t.ledger.calls.to_string()),
            (
                "node revenue",
                format!(
                    r#"<span id="earnings-revenue-base-units">{}</span> base units (${:.2})"#,
                    t.ledger.node_revenue_base_units, t.pnl.revenue_usd
                ),
            ),
            ("royalties paid", amount(t.ledger.royalties_base_units)),
            ("protocol take", amount(t.ledger.protocol_base_units)),
            ("verifier fees", amount(t.ledger.verifier_fees_base_units)),
            ("slashed", amount(t.ledger.slashed_base_units)),
            ("refunded", amount(t.ledger.refunded_base_units)),
            (
                "costs",
                format!(
                    "electricity ${:.2}, depreciation ${:.2}, stake ${:.2}, slashing risk ${:.2}, proofs ${:.2}{}",
                    t.pnl.electricity_usd,
                    t.pnl.depreciation_usd,
                    t.pnl.stake_cost_usd,
                    t.pnl.slash_risk_usd,
                    t.pnl.proof_cost_usd,
                    if t.proof_cost_known { "" } else { " (proving time not reported)" }
                ),
            ),
            ("net", format!("${:.2}", t.pnl.net_usd)),
            ("payback (serving)", days(t.payback_days)),
            ("payback (renting out)", days(t.rent_out_payback_days)),
            (
                "break-even vs renting out",
                t.break_even_calls_per_day
                    .map_or("—".into(), |c| format!("{c:.0} calls/day")),
            ),
        ],
    ));
    let x: Vec<String> = report.days.iter().map(|d| d.date.clone()).collect();
    let revenue: Vec<f64> = report.days.iter().map(|d| d.pnl.revenue_usd).collect();
    let costs: Vec<f64> = report
        .days
        .iter()
        .map(|d| {
            let p = &d.pnl;
            p.electricity_usd
                + p.depreciation_usd
                + p.stake_cost_usd
                + p.slash_risk_usd
                + p.proof_cost_usd
                + p.tx_fees_usd
                + p.slashed_usd
        })
        .collect();
    out.push_str(
        &LineChart {
            name: "earnings-daily",
            title: "daily revenue and costs",
            x_label: "day (UTC)",
            y_label: "USD per day",
            x: x.clone(),
            series: vec![("revenue".into(), revenue), ("costs".into(), costs)],
            references: vec![],
        }
        .svg(),
    );
    let cumulative = |f: &dyn Fn(&DayRow) -> f64| -> Vec<f64> {
        report
            .days
            .iter()
            .scan(0.0, |sum, d| {
                *sum += f(d);
                Some(*sum)
            })
            .collect()
    };
    let serving = cumulative(&|d| d.pnl.net_usd + d.pnl.depreciation_usd);
    let renting = cumulative(&|d| d.pnl.rent_out_usd);
    // The payback line is the hardware price. Drawn to scale it would flatten a short
    // window's lines into the axis, so past 3× the largest cumulative value it is named in
    // the title instead.
    let largest = serving
        .iter()
        .chain(&renting)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let price = report.hardware.price_usd;
    let (title, references) = if price <= 3.0 * largest {
        (
            "cumulative cash margin: serving vs renting out".to_string(),
            vec![(format!("payback: hardware price ${price:.0}"), price)],
        )
    } else {
        (
            format!(
                "cumulative cash margin: serving vs renting out (payback line ${price:.0}: serving {}, renting {})",
                days(t.payback_days),
                days(t.rent_out_payback_days)
            ),
            vec![],
        )
    };
    out.push_str(
        &LineChart {
            name: "earnings-cumulative",
            title: &title,
            x_label: "day (UTC)",
            y_label: "USD (before depreciation)",
            x,
            series: vec![("serving".into(), serving), ("renting out".into(), renting)],
            references,
        }
        .svg(),
    );
    out
}
