//! Server-side bar charts as inline SVG: no script, no downloaded library.
//!
//! A chart is an `<svg>` with `data-chart="<name>"`, a `<title>` and a visible title, a
//! labelled x and y axis (drawn as one `<path>`), y ticks at 0, half and the maximum, and
//! one `<rect>` per non-zero bar. Bar heights are proportional to the values with the
//! y axis running from 0 to the largest value (at least 1), so an empty window draws the
//! axes and a "no data" note, never a misleading scale.

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
        let _ = write!(
            out,
            r#"<text class="axis-label" x="{x}" y="{y}" text-anchor="middle">{}</text><text class="axis-label" transform="translate(14 {ym}) rotate(-90)" text-anchor="middle">{}</text></svg>"#,
            escape(self.x_label),
            escape(self.y_label),
            x = LEFT + plot_w / 2.0,
            y = HEIGHT - 6.0,
            ym = TOP + plot_h / 2.0
        );
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
}
