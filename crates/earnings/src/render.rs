//! Text renderings of reports: CSV (one header line, one line per row) and an aligned table.

use crate::report::{ModelReport, NodeReport};
use std::fmt::Write;

/// Columns of [`node_csv`], in order.
pub const NODE_CSV_HEADER: &str = "date,calls,gross_paid_base_units,protocol_base_units,royalties_base_units,verifier_fees_base_units,node_revenue_base_units,refunds,refunded_base_units,slashes,slashed_base_units,tx_fees_base_units,proving_seconds,revenue_usd,tx_fees_usd,slashed_usd,electricity_usd,depreciation_usd,stake_cost_usd,slash_risk_usd,proof_cost_usd,net_usd,cumulative_net_usd,rent_out_usd,cumulative_rent_out_net_usd";

/// Columns of [`model_csv`], in order.
pub const MODEL_CSV_HEADER: &str =
    "date,node,mode,calls,gross_paid_base_units,royalties_base_units,royalties_usd";

/// One line per day; an empty `proving_seconds` cell means not measured.
pub fn node_csv(report: &NodeReport) -> String {
    let mut out = format!("{NODE_CSV_HEADER}\n");
    for d in &report.days {
        let l = &d.ledger;
        let p = &d.pnl;
        let proving = d
            .proving_seconds
            .map(|s| format!("{s:.3}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6}",
            d.date,
            l.calls,
            l.gross_paid_base_units,
            l.protocol_base_units,
            l.royalties_base_units,
            l.verifier_fees_base_units,
            l.node_revenue_base_units,
            l.refunds,
            l.refunded_base_units,
            l.slashes,
            l.slashed_base_units,
            l.tx_fees_base_units,
            proving,
            p.revenue_usd,
            p.tx_fees_usd,
            p.slashed_usd,
            p.electricity_usd,
            p.depreciation_usd,
            p.stake_cost_usd,
            p.slash_risk_usd,
            p.proof_cost_usd,
            p.net_usd,
            d.cumulative_net_usd,
            p.rent_out_usd,
            d.cumulative_rent_out_net_usd,
        );
    }
    out
}

/// One line per day, node and mode with settled calls.
pub fn model_csv(report: &ModelReport) -> String {
    let mut out = format!("{MODEL_CSV_HEADER}\n");
    for r in &report.rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:.6}",
            r.date,
            r.node,
            r.mode,
            r.calls,
            r.gross_paid_base_units,
            r.royalties_base_units,
            r.royalties_usd
        );
    }
    out
}

/// The daily table, the totals and the verdict, for a terminal.
pub fn node_table(report: &NodeReport) -> String {
    let mut out = String::new();
    let hw = &report.hardware;
    let _ = writeln!(
        out,
        "node {}  hardware {} ({} W, ${:.0}, {} y, {:.0} % salvage)  stake {} base units",
        report.node,
        hw.gpu,
        hw.watts,
        hw.price_usd,
        hw.life_years,
        hw.salvage * 100.0,
        report.stake_base_units
    );
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:>14} {:>12} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "date",
        "calls",
        "node_rev_base",
        "revenue_$",
        "refund",
        "slash",
        "power_$",
        "deprec_$",
        "stake_$",
        "proof_$",
        "net_$",
        "rent_$",
        "cum_net_$"
    );
    for d in &report.days {
        let p = &d.pnl;
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:>14} {:>12.4} {:>6} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.2}",
            d.date,
            d.ledger.calls,
            d.ledger.node_revenue_base_units,
            p.revenue_usd,
            d.ledger.refunds,
            d.ledger.slashes,
            p.electricity_usd,
            p.depreciation_usd,
            p.stake_cost_usd,
            p.proof_cost_usd,
            p.net_usd,
            p.rent_out_usd,
            d.cumulative_net_usd,
        );
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "total: {} calls, paid {} base units (protocol {}, royalties {}, verifiers {}, node {}), refunds {} ({} base units), slashes {} ({} base units), fees {} base units",
        t.ledger.calls,
        t.ledger.gross_paid_base_units,
        t.ledger.protocol_base_units,
        t.ledger.royalties_base_units,
        t.ledger.verifier_fees_base_units,
        t.ledger.node_revenue_base_units,
        t.ledger.refunds,
        t.ledger.refunded_base_units,
        t.ledger.slashes,
        t.ledger.slashed_base_units,
        t.ledger.tx_fees_base_units,
    );
    let by = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !t.ledger.calls_by_mode.is_empty() {
        let _ = writeln!(out, "calls by mode: {}", by(&t.ledger.calls_by_mode));
        let _ = writeln!(out, "calls by model: {}", by(&t.ledger.calls_by_model));
    }
    let _ = writeln!(out, "\n{}", report.verdict);
    out
}
