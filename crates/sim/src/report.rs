//! Presentation of a [`Report`]: the text table, the JSON document and the SVG charts, and
//! writing them to a directory. Every output is a pure function of the report, so the same
//! seed gives byte-identical files.

use crate::Report;
use crate::metrics::{Check, Metrics};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Files written by [`write_dir`].
pub const FILES: &[&str] = &["table.txt", "metrics.json", "traffic.svg", "metrics.svg"];

fn check<'a>(m: &'a Metrics, metric: &str) -> Option<&'a Check> {
    m.checks.iter().find(|c| c.metric == metric)
}

/// A cell: the value formatted, with a pass/fail mark (none for the oracle).
fn cell(m: &Metrics, metric: &str, format: impl Fn(f64) -> String) -> String {
    match check(m, metric) {
        None => "n/a".into(),
        Some(c) => {
            let value = c.value.map_or("n/a".into(), format);
            if m.policy == "oracle" {
                value
            } else {
                format!("{value} {}", if c.pass { "✓" } else { "✗" })
            }
        }
    }
}

/// The results table, one row per policy, with pass/fail marks against the targets.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let demand: Vec<String> = report
        .calls_per_hour
        .iter()
        .map(|(m, q)| format!("{m} {q} calls/h"))
        .collect();
    let r = &report.router;
    let _ = writeln!(
        out,
        "scenario `{}`, seed {}: {} h, {}",
        report.scenario,
        report.seed,
        report.hours,
        demand.join(", ")
    );
    if !report.description.is_empty() {
        let _ = writeln!(out, "{}", report.description);
    }
    let _ = writeln!(
        out,
        "exposure router: ε {} %, probation {} outcomes, z {}, price tol {} %, latency tol {} %, audit failure weight {}",
        f64::from(r.exploration_ppm) / 1e4,
        r.probation_outcomes,
        r.confidence_z,
        f64::from(r.price_tolerance_ppm) / 1e4,
        f64::from(r.latency_tolerance_ppm) / 1e4,
        r.audit_failure_weight,
    );
    out.push('\n');
    let header = [
        "policy",
        "TTFC p50 h",
        "TTFC p95 h",
        "TTFC max h",
        "never",
        "top-10 %",
        "Gini",
        "fail +pts",
        "price +%",
        "p50 lat +%",
        "Sybil ×",
        "wash ×",
        "wash profit",
        "probation %",
    ];
    let hours = |v: f64| format!("{v:.2}");
    let rows: Vec<Vec<String>> = report
        .policies
        .iter()
        .map(|m| {
            vec![
                m.policy.clone(),
                cell(m, "ttfc_p50_h", hours),
                cell(m, "ttfc_p95_h", hours),
                cell(m, "ttfc_max_h", hours),
                format!("{}/{}", m.ttfc.never_called, m.ttfc.joiners),
                cell(m, "top10_share", |v| format!("{:.1}", 100.0 * v)),
                cell(m, "gini", |v| format!("{v:.3}")),
                cell(m, "regret_failure_points", |v| format!("{v:+.2}")),
                cell(m, "regret_price_pct", |v| format!("{v:+.1}")),
                cell(m, "regret_latency_pct", |v| format!("{v:+.1}")),
                cell(m, "sybil_gain", |v| format!("{v:.2}")),
                cell(m, "wash_gain", |v| format!("{v:.3}")),
                cell(m, "wash_profit", |v| format!("{v:.0}")),
                format!("{:.1}", m.exploration.probation_share_pct),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(out, "{}", line(&header));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "targets: TTFC p50 ≤ 1 h, p95 ≤ 6 h, none waits 24 h; top-10 % ≤ 15 %; Gini ≤ 0.15; failures ≤ +0.5 points, \
price ≤ +2 %, p50 latency ≤ +10 % vs the oracle; Sybil gain ≤ 1.1×; wash gain ≤ 1.05× and wash profit < 0"
    );
    if let Some(ours) = report.policies.iter().find(|m| m.policy == "exposure") {
        let failed: Vec<&str> = ours
            .checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.metric)
            .collect();
        let _ = writeln!(
            out,
            "exposure router: {}/{} targets met{}",
            ours.checks.len() - failed.len(),
            ours.checks.len(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" (missed: {})", failed.join(", "))
            }
        );
    }
    out
}

/// The report as indented JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes") + "\n"
}

const COLORS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(255, 127, 14),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
];

fn color(report: &Report, policy: &str) -> RGBColor {
    let i = report
        .policies
        .iter()
        .position(|m| m.policy == policy)
        .unwrap_or(0);
    COLORS[i % COLORS.len()]
}

type ChartResult = Result<(), Box<dyn std::error::Error>>;

/// Newcomers' share and the busiest 10 %'s share of calls over time, per policy.
pub fn traffic_svg(report: &Report) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((1, 2));
        type Pick = fn(&Metrics) -> &Vec<f64>;
        let views: [(&str, Pick); 2] = [
            ("share of calls to newcomers", |m| &m.series.newcomer_share),
            ("share of calls to the busiest 10 % of nodes", |m| {
                &m.series.top10_share
            }),
        ];
        for (panel, (title, pick)) in panels.iter().zip(views) {
            draw_series(report, panel, title, pick)?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_series(
    report: &Report,
    panel: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    pick: fn(&Metrics) -> &Vec<f64>,
) -> ChartResult {
    let mut chart = ChartBuilder::on(panel)
        .caption(
            format!("{title} ({} seed {})", report.scenario, report.seed),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..report.hours, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("simulated hour")
        .y_desc("share of calls")
        .draw()?;
    for m in &report.policies {
        let width = m.series.bucket_hours;
        let points: Vec<(f64, f64)> = pick(m)
            .iter()
            .enumerate()
            .map(|(b, v)| ((b as f64 + 0.5) * width, *v))
            .collect();
        let c = color(report, &m.policy);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))?
            .label(m.policy.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()?;
    Ok(())
}

/// Headline metrics as multiples of their targets (≤ 1 meets the target), per policy.
pub fn metrics_svg(report: &Report) -> Result<String, Box<dyn std::error::Error>> {
    const SHOWN: [(&str, &str); 8] = [
        ("ttfc_p95_h", "TTFC p95"),
        ("top10_share", "top-10 %"),
        ("gini", "Gini"),
        ("regret_failure_points", "failures"),
        ("regret_price_pct", "price"),
        ("regret_latency_pct", "latency"),
        ("sybil_gain", "Sybil"),
        ("wash_gain", "wash"),
    ];
    const LIMITS: [f64; 8] = [6.0, 0.15, 0.15, 0.5, 2.0, 10.0, 1.1, 1.05];
    const CAP: f64 = 4.0;
    let policies: Vec<&Metrics> = report
        .policies
        .iter()
        .filter(|m| m.policy != "oracle")
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "metric ÷ target, capped at {CAP} (≤ 1 meets the target; {} seed {})",
                    report.scenario, report.seed
                ),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(10)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..SHOWN.len() as f64, 0f64..CAP + 0.4)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("multiple of target")
            .draw()?;
        let width = 0.8 / policies.len().max(1) as f64;
        for (i, m) in policies.iter().enumerate() {
            let c = color(report, &m.policy);
            let bars: Vec<Rectangle<(f64, f64)>> = SHOWN
                .iter()
                .zip(LIMITS)
                .enumerate()
                .filter_map(|(j, ((metric, _), limit))| {
                    let value = check(m, metric)?.value.unwrap_or(CAP * limit);
                    let height = (value / limit).clamp(0.0, CAP);
                    let x0 = j as f64 + 0.1 + i as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.9, height)],
                        c.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(m.policy.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (SHOWN.len() as f64, 1.0)],
            BLACK.stroke_width(1),
        )))?;
        chart.draw_series(SHOWN.iter().enumerate().map(|(j, (_, label))| {
            Text::new(
                label.to_string(),
                (j as f64 + 0.3, CAP + 0.3),
                ("sans-serif", 14),
            )
        }))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Write every file of [`FILES`] into `dir` (created if missing).
pub fn write_dir(report: &Report, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let chart = |r: Result<String, Box<dyn std::error::Error>>| {
        r.map_err(|e| std::io::Error::other(format!("drawing a chart: {e}")))
    };
    std::fs::write(dir.join("table.txt"), table(report))?;
    std::fs::write(dir.join("metrics.json"), json(report))?;
    std::fs::write(dir.join("traffic.svg"), chart(traffic_svg(report))?)?;
    std::fs::write(dir.join("metrics.svg"), chart(metrics_svg(report))?)?;
    Ok(())
}
