//! HTML building blocks of the explorer: escaping, the page frame, links, numbers, call
//! status labels and a generic rendering of JSON values.
//!
//! Invariant: every string that comes from the ledger, a node or a request (model names,
//! endpoints, error messages, ids typed into a URL) passes through [`escape`] before it is
//! written into HTML; ids and numbers the explorer formats itself are escaped too, so no
//! caller has to know which strings are safe.

use axum::http::StatusCode;
use serde_json::Value;
use std::fmt::Write;
use verity_ledger::{
    Address, Amount, Evidence, Hash32, TimeMs,
    state::{AuditStatus, AuditVerdict, CallStatus},
};

/// `text` with `& < > " '` replaced by character references, safe in element content and in
/// quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The sections of the navigation bar: (path under `/explorer`, label).
const NAV: [(&str, &str); 6] = [
    ("", "Overview"),
    ("/blocks", "Blocks"),
    ("/calls", "Calls"),
    ("/nodes", "Nodes"),
    ("/models", "Models"),
    ("/params", "Parameters"),
];

/// A complete HTML document: the navigation bar, `title` as heading, `body` (already HTML).
/// The stylesheet and the live-update script are served by the explorer itself.
pub fn page(title: &str, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in NAV {
        let _ = write!(nav, r#"<a href="/explorer{path}">{label}</a>"#);
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title} · Verity explorer</title>
<link rel="stylesheet" href="/explorer/assets/explorer.css">
<script src="/explorer/assets/explorer.js" defer></script>
</head>
<body>
<header><a class="brand" href="/explorer">Verity explorer</a><nav>{nav}</nav><span id="live-status" class="muted">static page</span></header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
    )
}

/// An error page: the status, a heading naming the problem and a sentence on what to do.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            r#"<p class="error" id="problem" data-status="{}">{}</p><p><a href="/explorer">Back to the overview</a></p>"#,
            status.as_u16(),
            escape(message)
        ),
    )
}

/// `amount` with thousands separators, e.g. `1,250,000`.
pub fn amount(amount: Amount) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Basis points as a percentage, e.g. `250` → `2.5 %`.
pub fn bps(bps: u64) -> String {
    let whole = bps / 100;
    let frac = bps % 100;
    if frac == 0 {
        format!("{whole} %")
    } else if frac.is_multiple_of(10) {
        format!("{whole}.{} %", frac / 10)
    } else {
        format!("{whole}.{frac:02} %")
    }
}

/// A share between 0 and 1 as a percentage with one decimal.
pub fn share(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// A duration in the largest whole units that fit, e.g. `90_000` → `1 min 30 s`.
pub fn duration(ms: TimeMs) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms} ms"),
        1..=59 => format!("{s} s"),
        60..=3599 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 if s.is_multiple_of(3600) => format!("{} h", s / 3600),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ if s.is_multiple_of(86_400) => format!("{} d", s / 86_400),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// How long before `now_ms` the time `at_ms` was (`in …` if it is later).
pub fn ago(at_ms: TimeMs, now_ms: TimeMs) -> String {
    if at_ms <= now_ms {
        format!("{} ago", duration(now_ms - at_ms))
    } else {
        format!("in {}", duration(at_ms - now_ms))
    }
}

/// The first 10 hex digits of a hash, followed by `…`.
pub fn short(hash: &Hash32) -> String {
    let text = hash.to_string();
    format!("{}…", &text[..10.min(text.len())])
}

/// A link to a block.
pub fn block_link(height: u64) -> String {
    format!(r#"<a href="/explorer/blocks/{height}">{height}</a>"#)
}

/// A link to a transaction, shortened.
pub fn tx_link(hash: &Hash32) -> String {
    format!(
        r#"<a class="hash" href="/explorer/txs/{hash}" title="{hash}">{}</a>"#,
        escape(&short(hash))
    )
}

/// A link to a call, shortened.
pub fn call_link(id: &Hash32) -> String {
    format!(
        r#"<a class="hash" href="/explorer/calls/{id}" title="{id}">{}</a>"#,
        escape(&short(id))
    )
}

/// A link to a node or account page (every address links to the node page, which says when
/// the address is not a registered node).
pub fn node_link(address: &Address) -> String {
    let text = address.to_string();
    let shown = if text.len() > 18 {
        format!("{}…{}", &text[..12], &text[text.len() - 4..])
    } else {
        text.clone()
    };
    format!(
        r#"<a class="addr" href="/explorer/nodes/{}" title="{}">{}</a>"#,
        escape(&text),
        escape(&text),
        escape(&shown)
    )
}

/// A link to a model, showing its name when known and its short id otherwise.
pub fn model_link(id: &Hash32, name: Option<&str>) -> String {
    let shown = name.map_or_else(|| short(id), str::to_string);
    format!(
        r#"<a href="/explorer/models/{id}" title="{id}">{}</a>"#,
        escape(&shown)
    )
}

/// A call's life-cycle state as (CSS class, short label). The labels are the explorer's
/// vocabulary: `pending`, `under audit`, `awaiting proof`, `settled`, `refunded`.
pub fn status_label(status: &CallStatus) -> (&'static str, &'static str) {
    match status {
        CallStatus::Pending => ("pending", "pending"),
        CallStatus::Sampled => ("audit", "under audit"),
        CallStatus::ProofDue { .. } => ("proof", "awaiting proof"),
        CallStatus::Settled { .. } => ("settled", "settled"),
        CallStatus::Refunded { .. } => ("refunded", "refunded"),
    }
}

/// A status badge: the label in a span carrying the class.
pub fn status_badge(status: &CallStatus) -> String {
    let (class, label) = status_label(status);
    format!(r#"<span class="badge {class}">{label}</span>"#)
}

/// What a settled call's evidence says, as HTML.
pub fn evidence(evidence: &Evidence) -> String {
    match evidence {
        Evidence::ChallengeWindow => {
            "not sampled for audit; its challenge window closed unchallenged".into()
        }
        Evidence::Audit { auditor } => format!(
            "sampled; auditor {} re-executed it and confirmed the output",
            node_link(auditor)
        ),
        Evidence::Referee => {
            "sampled; the ledger re-executed it as referee and confirmed the output".into()
        }
        Evidence::Proof { tx } => format!(
            "a zero-knowledge proof of the call verified (transaction {})",
            tx_link(tx)
        ),
    }
}

/// The explanation of a call's status, as HTML: what it waits for, or why it ended as it did.
pub fn status_detail(status: &CallStatus, settle_after_ms: TimeMs, now_ms: TimeMs) -> String {
    match status {
        CallStatus::Pending => format!(
            "paid from escrow; settles when its challenge window closes ({})",
            escape(&ago(settle_after_ms, now_ms))
        ),
        CallStatus::Sampled => {
            "sampled for audit: the price is held until auditors or the ledger re-execute the call"
                .into()
        }
        CallStatus::ProofDue { deadline_ms } => format!(
            "a zk-mode call waiting for its proof; deadline {}",
            escape(&ago(*deadline_ms, now_ms))
        ),
        CallStatus::Settled {
            height,
            evidence: e,
        } => format!(
            "paid out at height {}; evidence: {}",
            block_link(*height),
            evidence(e)
        ),
        CallStatus::Refunded { height, offence } => format!(
            "refunded to the caller at height {}; the node's offence: <strong>{}</strong> ({})",
            block_link(*height),
            escape(&offence.to_string()),
            escape(offence.evidence())
        ),
    }
}

/// An audit's state, as HTML.
pub fn audit_status(status: &AuditStatus, now_ms: TimeMs) -> String {
    match status {
        AuditStatus::AwaitingInput { deadline_ms } => format!(
            "waiting for the node to reveal the input (deadline {})",
            escape(&ago(*deadline_ms, now_ms))
        ),
        AuditStatus::AwaitingReport { deadline_ms } => format!(
            "input revealed; auditors report until the deadline ({}), then the ledger referees",
            escape(&ago(*deadline_ms, now_ms))
        ),
        AuditStatus::Closed { height, verdict } => {
            let verdict = match verdict {
                AuditVerdict::Confirmed { auditor: Some(a) } => {
                    format!("confirmed by auditor {}", node_link(a))
                }
                AuditVerdict::Confirmed { auditor: None } => {
                    "confirmed by the ledger's own re-execution".into()
                }
                AuditVerdict::NodeFaulted { offence, .. } => {
                    format!("node at fault: {}", escape(&offence.to_string()))
                }
                AuditVerdict::CheckPassed { auditor } => {
                    format!("known-answer check passed by {}", node_link(auditor))
                }
                AuditVerdict::CheckFailed { auditor } => {
                    format!("known-answer check failed by {}", node_link(auditor))
                }
                AuditVerdict::CheckUnanswered => "known-answer check unanswered".into(),
            };
            format!("closed at height {}: {verdict}", block_link(*height))
        }
    }
}

/// A JSON value as nested HTML: objects as definition lists, arrays as ordered lists,
/// strings escaped, `null` as a dash.
pub fn json(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => r#"<span class="muted">none</span>"#.into(),
        Value::Object(map) => {
            let mut out = String::from(r#"<dl class="kv">"#);
            for (k, v) in map {
                let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(k), json(v));
            }
            out.push_str("</dl>");
            out
        }
        Value::Array(items) if items.is_empty() => r#"<span class="muted">none</span>"#.into(),
        Value::Array(items) => {
            let mut out = String::from("<ol>");
            for v in items {
                let _ = write!(out, "<li>{}</li>", json(v));
            }
            out.push_str("</ol>");
            out
        }
        Value::String(s) => escape(s),
        Value::Null => "—".into(),
        other => escape(&other.to_string()),
    }
}

/// A table with `headers` and rows of HTML cells; `empty` (text) when there are no rows.
pub fn table(id: &str, headers: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!(r#"<p class="muted" id="{id}">{}</p>"#, escape(empty));
    }
    let mut out = format!(r#"<table id="{id}"><thead><tr>"#);
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A definition list of (term, HTML value) pairs.
pub fn facts(id: &str, items: &[(&str, String)]) -> String {
    let mut out = format!(r#"<dl class="facts" id="{id}">"#);
    for (term, value) in items {
        let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", escape(term));
    }
    out.push_str("</dl>");
    out
}

/// A number that live updates replace in place: `key` names it in `/explorer/live.json`.
pub fn live(key: &str, text: &str) -> String {
    format!(
        r#"<span data-live="{}">{}</span>"#,
        escape(key),
        escape(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_ledger::Offence;

    #[test]
    fn escape_replaces_every_markup_character() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script> it's"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; it&#39;s"
        );
        assert_eq!(escape("digits-cnn"), "digits-cnn");
    }

    #[test]
    fn json_rendering_escapes_keys_and_strings() {
        let v = serde_json::json!({"<k>": ["<b>", null, 3]});
        let html = json(&v);
        assert_eq!(
            html,
            r#"<dl class="kv"><dt>&lt;k&gt;</dt><dd><ol><li>&lt;b&gt;</li><li>—</li><li>3</li></ol></dd></dl>"#
        );
    }

    #[test]
    fn status_labels_name_each_state() {
        let h = Hash32([7; 32]);
        let cases = [
            (CallStatus::Pending, "pending"),
            (CallStatus::Sampled, "under audit"),
            (CallStatus::ProofDue { deadline_ms: 5 }, "awaiting proof"),
            (
                CallStatus::Settled {
                    height: 4,
                    evidence: Evidence::Proof { tx: h },
                },
                "settled",
            ),
            (
                CallStatus::Refunded {
                    height: 9,
                    offence: Offence::AuditMismatch,
                },
                "refunded",
            ),
        ];
        for (status, label) in cases {
            assert_eq!(status_label(&status).1, label);
            assert!(status_badge(&status).contains(label));
        }
        let refunded = status_detail(
            &CallStatus::Refunded {
                height: 9,
                offence: Offence::AuditMismatch,
            },
            0,
            0,
        );
        assert!(refunded.contains(r#"<a href="/explorer/blocks/9">9</a>"#));
        assert!(refunded.contains(&Offence::AuditMismatch.to_string()));
        let settled = status_detail(
            &CallStatus::Settled {
                height: 4,
                evidence: Evidence::ChallengeWindow,
            },
            0,
            0,
        );
        assert!(settled.contains("challenge window closed"));
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(amount(0), "0");
        assert_eq!(amount(999), "999");
        assert_eq!(amount(1_000), "1,000");
        assert_eq!(amount(1_250_000), "1,250,000");
        assert_eq!(bps(250), "2.5 %");
        assert_eq!(bps(1_000), "10 %");
        assert_eq!(bps(5), "0.05 %");
        assert_eq!(duration(90_000), "1 min 30 s");
        assert_eq!(duration(86_400_000), "1 d");
        assert_eq!(ago(1_000, 61_000), "1 min ago");
        assert_eq!(ago(61_000, 1_000), "in 1 min");
        assert_eq!(share(0.4567), "45.7 %");
    }

    #[test]
    fn error_pages_name_the_problem_escaped() {
        let html = error_page(StatusCode::NOT_FOUND, "No such block", "no block <b>");
        assert!(html.contains("<h1>No such block</h1>"));
        assert!(html.contains("no block &lt;b&gt;"));
        assert!(html.contains(r#"data-status="404""#));
    }
}
