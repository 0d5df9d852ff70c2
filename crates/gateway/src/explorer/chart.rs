//! Server-side charts as inline SVG: no script, no downloaded library.
//!
//! A chart is an `<svg>` with `data-chart="<name>"`, a `<title>` and a visible title, a
//! labelled x and y axis (drawn as one `<path>`) and y ticks.
//! - [`BarChart`]: one `<rect>` per non-zero bar; ticks at 0, half and the maximum. Bar
//!   heights are proportional to the values with the y axis running from 0 to the largest
//!   value (at least 1), so an empty window draws the axes and a "no data" note, never a
//!   misleading scale.
//! - [`LineChart`]: one `<polyline class="series-i">` per series with a legend, and optional
//!   dashed reference lines (a target such as a hardware price). The y axis spans every
//!   value, every reference and 0, so a reference never falls off the chart and the sign of
//!   each value is visible.

use super::html::escape;
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 44.0;

/// A bar chart of whole-number values.
pub struct BarChart<'a> {
    /// Value of the `data-chart` attribute (and the element id's suffix).
    pub name: &'a str,
    /// Shown above the plot and as the SVG's accessible title.
    pub title: &'a str,
    /// What the bars are (x axis).
    pub x_label: &'a str,
    /// What their heights are (y axis).
    pub y_label: &'a str,
    /// (label, value) per bar, left to right; labels of the first, middle and last bar are
    /// printed under the axis.
    pub bars: Vec<(String, u64)>,
}

impl BarChart<'_> {
    /// The chart as an inline SVG element.
    pub fn svg(&self) -> String {
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let max = self.bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
        let mut out = format!(
            r#"<svg id="chart-{name}" data-chart="{name}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>"#,
            name = escape(self.name),
            title = escape(self.title),
        );
        let _ = write!(
            out,
            r#"<text class="chart-title" x="{x}" y="18" text-anchor="middle">{}</text>"#,
            escape(self.title),
            x = WIDTH / 2.0
        );
        let (x0, y0) = (LEFT, TOP + plot_h);
        let _ = write!(
            out,
            r#"<path class="axis" d="M{LEFT} {TOP} L{x0} {y0} L{x1} {y0}" fill="none" stroke="currentColor"/>"#,
            x1 = LEFT + plot_w
        );
        let mut ticks = vec![0, max / 2, max];
        ticks.dedup();
        for tick in ticks {
            let y = y0 - plot_h * tick as f64 / max as f64;
            let _ = write!(
                out,
                r#"<text class="tick" x="{x}" y="{ty:.1}" text-anchor="end">{tick}</text><path class="grid" d="M{LEFT} {y:.1} L{x1} {y:.1}" stroke="currentColor" stroke-opacity="0.15"/>"#,
                x = LEFT - 6.0,
                ty = y + 4.0,
                x1 = LEFT + plot_w
            );
        }
        let n = self.bars.len().max(1) as f64;
        let slot = plot_w / n;
        let bar_w = (slot * 0.8).max(1.0);
        for (i, (label, value)) in self.bars.iter().enumerate() {
            if *value > 0 {
                let h = plot_h * *value as f64 / max as f64;
                let _ = write!(
                    out,
                    r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}"><title>{}: {value}</title></rect>"#,
                    escape(label),
                    x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0,
                    y = y0 - h,
                );
            }
        }
        let last = self.bars.len().saturating_sub(1);
        let mut labelled = vec![0, last / 2, last];
        labelled.dedup();
        for i in labelled {
            if let Some((label, _)) = self.bars.get(i) {
                let _ = write!(
                    out,
                    r#"<text class="tick" x="{x:.1}" y="{y}" text-anchor="middle">{}</text>"#,
                    escape(label),
                    x = LEFT + slot * (i as f64 + 0.5),
                    y = y0 + 14.0
                );
            }
        }
        if self.bars.iter().all(|(_, v)| *v == 0) {
            let _ = write!(
                out,
                r#"<text class="muted" x="{x}" y="{y}" text-anchor="middle">no data in this window</text>"#,
                x = LEFT + plot_w / 2.0,
                y = TOP + plot_h / 2.0
            );
        }
        close(&mut out, self.x_label, self.y_label);
        out
    }
}

/// Append the axis labels and close the `<svg>`.
fn close(out: &mut String, x_label: &str, y_label: &str) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let _ = write!(
        out,
        r#"<text class="axis-label" x="{x}" y="{y}" text-anchor="middle">{}</text><text class="axis-label" transform="translate(14 {ym}) rotate(-90)" text-anchor="middle">{}</text></svg>"#,
        escape(x_label),
        escape(y_label),
        x = LEFT + plot_w / 2.0,
        y = HEIGHT - 6.0,
        ym = TOP + plot_h / 2.0
    );
}

/// A line chart of real values over labelled x positions.
pub struct LineChart<'a> {
    /// Value of the `data-chart` attribute (and the element id's suffix).
    pub name: &'a str,
    /// Shown above the plot and as the SVG's accessible title.
    pub title: &'a str,
    /// What the x positions are.
    pub x_label: &'a str,
    /// What the values are.
    pub y_label: &'a str,
    /// One label per x position, left to right; the first, middle and last are printed.
    pub x: Vec<String>,
    /// (name, one value per x position) per series.
    pub series: Vec<(String, Vec<f64>)>,
    /// (name, value) of horizontal reference lines.
    pub references: Vec<(String, f64)>,
}

impl LineChart<'_> {
    /// The chart as an inline SVG element.
    pub fn svg(&self) -> String {
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let values = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .chain(self.references.iter().map(|(_, v)| *v))
            .filter(|v| v.is_finite());
        let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if hi - lo < 1e-9 {
            (lo, lo + 1.0)
        } else {
            (lo, hi)
        };
        let y_of = |v: f64| TOP + plot_h * (hi - v) / (hi - lo);
        let n = self.x.len().max(2) as f64;
        let x_of = |i: usize| LEFT + plot_w * i as f64 / (n - 1.0);
        let mut out = format!(
            r#"<svg id="chart-{name}" data-chart="{name}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg"><title>{title}</title><text class="chart-title" x="{x}" y="18" text-anchor="middle">{title}</text>"#,
            name = escape(self.name),
            title = escape(self.title),
            x = WIDTH / 2.0
        );
        let _ = write!(
            out,
            r#"<path class="axis" d="M{LEFT} {TOP} L{LEFT} {y0} L{x1} {y0}" fill="none" stroke="currentColor"/>"#,
            y0 = TOP + plot_h,
            x1 = LEFT + plot_w
        );
        for tick in [lo, 0.0, hi] {
            let y = y_of(tick);
            let _ = write!(
                out,
                r#"<text class="tick" x="{x}" y="{ty:.1}" text-anchor="end">{tick:.2}</text><path class="grid" d="M{LEFT} {y:.1} L{x1} {y:.1}" stroke="currentColor" stroke-opacity="0.15"/>"#,
                x = LEFT - 6.0,
                ty = y + 4.0,
                x1 = LEFT + plot_w
            );
        }
        for (name, value) in &self.references {
            let y = y_of(*value);
            let _ = write!(
                out,
                r#"<path class="reference" d="M{LEFT} {y:.1} L{x1} {y:.1}" stroke="currentColor" stroke-dasharray="6 4"/><text class="tick" x="{x1}" y="{ty:.1}" text-anchor="end">{}</text>"#,
                escape(name),
                x1 = LEFT + plot_w,
                ty = y - 4.0
            );
        }
        for (i, (name, values)) in self.series.iter().enumerate() {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(j, v)| format!("{:.1},{:.1}", x_of(j), y_of(*v)))
                .collect();
            let _ = write!(
                out,
                r#"<polyline class="series-{i}" points="{}" fill="none" stroke="currentColor" stroke-width="2"><title>{}</title></polyline><text class="legend series-{i}" x="{x}" y="{y}">{}</text>"#,
                points.join(" "),
                escape(name),
                escape(name),
                x = LEFT + 8.0,
                y = TOP + 14.0 * (i as f64 + 1.0)
            );
        }
        let last = self.x.len().saturating_sub(1);
        let mut labelled = vec![0, last / 2, last];
        labelled.dedup();
        for i in labelled {
            if let Some(label) = self.x.get(i) {
                let _ = write!(
                    out,
                    r#"<text class="tick" x="{x:.1}" y="{y}" text-anchor="middle">{}</text>"#,
                    escape(label),
                    x = x_of(i),
                    y = TOP + plot_h + 14.0
                );
            }
        }
        close(&mut out, self.x_label, self.y_label);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(bars: Vec<(String, u64)>) -> String {
        BarChart {
            name: "calls-per-block",
            title: "Calls <per> block",
            x_label: "block height",
            y_label: "calls",
            bars,
        }
        .svg()
    }

    #[test]
    fn bars_are_proportional_to_values_and_labelled() {
        let svg = chart(vec![("1".into(), 2), ("2".into(), 0), ("3".into(), 4)]);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"data-chart="calls-per-block""#));
        assert!(svg.contains("<title>Calls &lt;per&gt; block</title>"));
        assert!(svg.contains(">block height</text>"));
        assert!(svg.contains(">calls</text>"));
        // Two non-zero bars; the plot is 182 units high, so 4 fills it and 2 fills half.
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(r#"height="182.0""#));
        assert!(svg.contains(r#"height="91.0""#));
        assert!(!svg.contains("no data"));
    }

    #[test]
    fn an_empty_window_draws_axes_and_says_so() {
        let svg = chart(vec![("1".into(), 0), ("2".into(), 0)]);
        assert_eq!(svg.matches("<rect").count(), 0);
        assert!(svg.contains(r#"class="axis""#));
        assert!(svg.contains("no data in this window"));
        let svg = chart(vec![]);
        assert!(svg.contains("no data in this window"));
    }

    #[test]
    fn line_chart_spans_values_references_and_zero() {
        let chart = LineChart {
            name: "cumulative",
            title: "cumulative <net>",
            x_label: "day",
            y_label: "USD",
            x: vec!["d1".into(), "d2".into(), "d3".into()],
            series: vec![
                ("serving".into(), vec![-10.0, 5.0, 20.0]),
                ("renting".into(), vec![1.0, 2.0, 3.0]),
            ],
            references: vec![("hardware cost".into(), 40.0)],
        };
        let svg = chart.svg();
        assert!(svg.contains(r#"data-chart="cumulative""#));
        assert!(svg.contains("cumulative &lt;net&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // -10 sits on the bottom edge of the plot, the reference 40 on the top edge.
        assert!(
            svg.contains(&format!("56.0,{:.1}", HEIGHT - BOTTOM)),
            "{svg}"
        );
        assert!(svg.contains(&format!("M{LEFT} {TOP:.1} L")), "{svg}");
        assert!(svg.contains("hardware cost"));
    }
}
