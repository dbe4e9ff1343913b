//! SVG geometry of the pages' plots, drawn by the templates as inline SVG with labelled axes: the
//! histogram of one metric over a row's perturbations, the forest plot of a metric's CIs across a
//! board's rows, the per-perturbation scatter of a row against the best baseline, and line charts
//! (the closed-loop discovery curves of the README, drawn by [`render_lines`]). Everything
//! here places stored values (means, CI bounds, per-perturbation values) on a canvas and counts
//! them into bins; no metric is computed.

use metrics::Better;
use serde::Serialize;

/// A tick on an axis: its pixel position and its label.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// The plot area inside the canvas (pixels) and the axes' titles.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub x_title: String,
    pub y_title: String,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    /// Where the x title sits (centred below the tick labels) and the y title's centre.
    pub x_title_x: f64,
    pub x_title_y: f64,
    pub y_title_x: f64,
    pub y_title_y: f64,
}

/// Rounds a pixel coordinate to 0.1 px (shorter SVG).
fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A value as an axis label: 3 significant decimals, no `-0.000`.
fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    if s == "-0.000" { "0.000".into() } else { s }
}

/// A linear map from values `lo..hi` to pixels `a..b` (a zero-width range is widened by ±0.5).
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
}

impl Scale {
    fn new(lo: f64, hi: f64, a: f64, b: f64) -> Self {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
        Scale { lo, hi, a, b }
    }

    /// The range of `values` (finite ones), padded by 5% each side.
    fn padded(values: impl IntoIterator<Item = f64>, a: f64, b: f64) -> Option<Self> {
        let (lo, hi) = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
        if !lo.is_finite() {
            return None;
        }
        let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.0 };
        Some(Scale::new(lo - pad, hi + pad, a, b))
    }

    fn at(&self, v: f64) -> f64 {
        px(self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a))
    }

    /// `n + 1` evenly spaced ticks from `lo` to `hi`.
    fn ticks(&self, n: usize) -> Vec<Tick> {
        (0..=n)
            .map(|k| {
                let v = self.lo + (self.hi - self.lo) * k as f64 / n as f64;
                Tick { pos: self.at(v), label: tick_label(v) }
            })
            .collect()
    }
}

// ---- histogram

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub count: usize,
    pub from: String,
    pub to: String,
}

/// A histogram of one metric over a row's test perturbations: x the metric, y the number of
/// perturbations per bin.
#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    pub metric: String,
    pub frame: Frame,
    pub bars: Vec<Bar>,
    pub n: usize,
    pub n_undefined: usize,
}

pub fn histogram(metric: &str, values: &[Option<f64>]) -> Histogram {
    const BINS: usize = 20;
    let finite: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let (width, height, left, right, top, bottom) = (540.0, 250.0, 60.0, 520.0, 12.0, 190.0);
    let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let x = if finite.is_empty() { Scale::new(0.0, 1.0, left, right) } else { Scale::new(lo, hi, left, right) };
    let mut counts = [0usize; BINS];
    for v in &finite {
        let k = (((v - x.lo) / (x.hi - x.lo)) * BINS as f64).floor() as usize;
        counts[k.min(BINS - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    // Count ticks: whole numbers, at most 5 steps.
    let step = max.div_ceil(4).max(1);
    let top_count = step * max.div_ceil(step);
    let y = Scale::new(0.0, top_count as f64, bottom, top);
    let bin_w = (right - left) / BINS as f64;
    let bars = if finite.is_empty() {
        Vec::new()
    } else {
        counts
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let edge = |j: usize| x.lo + (x.hi - x.lo) * j as f64 / BINS as f64;
                Bar {
                    x: px(left + k as f64 * bin_w),
                    y: y.at(c as f64),
                    width: px(bin_w - 1.0),
                    height: px(bottom - y.at(c as f64)),
                    count: c,
                    from: tick_label(edge(k)),
                    to: tick_label(edge(k + 1)),
                }
            })
            .collect()
    };
    Histogram {
        metric: metric.to_string(),
        frame: Frame {
            width,
            height,
            left,
            right,
            top,
            bottom,
            x_title: metric.to_string(),
            y_title: "perturbations (count)".into(),
            x_ticks: x.ticks(4),
            y_ticks: (0..=top_count / step)
                .map(|k| Tick { pos: y.at((k * step) as f64), label: (k * step).to_string() })
                .collect(),
            x_title_x: px((left + right) / 2.0),
            x_title_y: height - 12.0,
            y_title_x: 16.0,
            y_title_y: px((top + bottom) / 2.0),
        },
        bars,
        n: finite.len(),
        n_undefined: values.len() - finite.len(),
    }
}

// ---- forest plot

/// One row of a forest plot: its label, the mean's dot and the CI's whisker (pixels).
#[derive(Debug, Clone, Serialize)]
pub struct ForestRow {
    pub label: String,
    pub y: f64,
    pub text_y: f64,
    /// `None` where the row has no value on this metric.
    pub mean_x: Option<f64>,
    pub lower_x: f64,
    pub upper_x: f64,
    /// `0.412 [0.380, 0.440]`.
    pub text: String,
    pub ceiling: bool,
}

/// A metric's means and CIs across a board's rows, one line each.
#[derive(Debug, Clone, Serialize)]
pub struct Forest {
    pub metric: String,
    pub arrow: String,
    pub frame: Frame,
    pub rows: Vec<ForestRow>,
}

/// One input row of a forest plot: label, (mean, lower, upper), whether it is the ceiling.
pub struct ForestInput<'a> {
    pub label: &'a str,
    pub mean: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub text: &'a str,
    pub ceiling: bool,
}

const LABEL_CHARS: usize = 40;

fn short(label: &str) -> String {
    match label.char_indices().nth(LABEL_CHARS) {
        Some((cut, _)) => format!("{}…", &label[..cut]),
        None => label.to_string(),
    }
}

pub fn forest(metric: &str, better: Better, level: f64, rows: &[ForestInput<'_>]) -> Forest {
    const ROW_H: f64 = 18.0;
    let (left, right, top) = (290.0, 840.0, 10.0);
    let bottom = top + ROW_H * rows.len().max(1) as f64;
    let height = bottom + 52.0;
    let values = rows.iter().flat_map(|r| [r.mean, r.lower, r.upper]).flatten();
    let x = Scale::padded(values, left, right).unwrap_or(Scale::new(0.0, 1.0, left, right));
    let out = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let y = px(top + ROW_H * (i as f64 + 0.5));
            let mean_x = r.mean.filter(|v| v.is_finite()).map(|v| x.at(v));
            let bound = |b: Option<f64>| b.filter(|v| v.is_finite()).map(|v| x.at(v)).or(mean_x).unwrap_or(left);
            ForestRow {
                label: short(r.label),
                y,
                text_y: px(y + 4.0),
                mean_x,
                lower_x: bound(r.lower),
                upper_x: bound(r.upper),
                text: r.text.to_string(),
                ceiling: r.ceiling,
            }
        })
        .collect();
    Forest {
        metric: metric.to_string(),
        arrow: if better.is_higher() { "↑ higher is better" } else { "↓ lower is better" }.into(),
        frame: Frame {
            width: right + 20.0,
            height,
            left,
            right,
            top,
            bottom,
            x_title: format!("{metric}: mean [{:.0}% CI]", level * 100.0),
            y_title: String::new(),
            x_ticks: x.ticks(4),
            y_ticks: Vec::new(),
            x_title_x: px((left + right) / 2.0),
            x_title_y: height - 10.0,
            y_title_x: 0.0,
            y_title_y: 0.0,
        },
        rows: out,
    }
}

// ---- scatter against the best baseline

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    /// `PERTURBATION: baseline 0.120, this row 0.340`.
    pub title: String,
}

/// Per perturbation, a row's value (y) against the best baseline's (x) on one metric, with the
/// y = x line: points above it are perturbations where the row is higher.
#[derive(Debug, Clone, Serialize)]
pub struct Scatter {
    pub metric: String,
    pub baseline: String,
    pub frame: Frame,
    pub points: Vec<Point>,
    /// The y = x line's ends (pixels): (x1, y1, x2, y2).
    pub diagonal: (f64, f64, f64, f64),
    /// Perturbations without a value on either side.
    pub n_missing: usize,
}

/// `pairs`: (perturbation, the row's value, the baseline's value).
pub fn scatter(metric: &str, row: &str, baseline: &str, pairs: &[(String, Option<f64>, Option<f64>)]) -> Scatter {
    let (size, left, top) = (380.0, 64.0, 12.0);
    let (right, bottom) = (left + size, top + size);
    let both: Vec<(&str, f64, f64)> = pairs
        .iter()
        .filter_map(|(p, y, x)| Some((p.as_str(), y.filter(|v| v.is_finite())?, x.filter(|v| v.is_finite())?)))
        .collect();
    // One range for both axes, so the y = x line is the diagonal.
    let range = Scale::padded(both.iter().flat_map(|(_, y, x)| [*x, *y]), left, right)
        .unwrap_or(Scale::new(0.0, 1.0, left, right));
    let xs = range;
    let ys = Scale::new(range.lo, range.hi, bottom, top);
    Scatter {
        metric: metric.to_string(),
        baseline: baseline.to_string(),
        frame: Frame {
            width: right + 16.0,
            height: bottom + 56.0,
            left,
            right,
            top,
            bottom,
            x_title: format!("{baseline} ({metric})"),
            y_title: format!("{} ({metric})", short(row)),
            x_ticks: xs.ticks(4),
            y_ticks: ys.ticks(4),
            x_title_x: px((left + right) / 2.0),
            x_title_y: bottom + 46.0,
            y_title_x: 14.0,
            y_title_y: px((top + bottom) / 2.0),
        },
        points: both
            .iter()
            .map(|(p, y, x)| Point {
                x: xs.at(*x),
                y: ys.at(*y),
                title: format!("{p}: {baseline} {}, {} {}", tick_label(*x), short(row), tick_label(*y)),
            })
            .collect(),
        diagonal: (xs.at(range.lo), ys.at(range.lo), xs.at(range.hi), ys.at(range.hi)),
        n_missing: pairs.len() - both.len(),
    }
}

// ---- line chart (closed-loop discovery curves)

/// One series of a line chart: its name, colour, its points' pixels as an SVG `points` list,
/// each point with its value, and where its label sits (right of its last point).
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    pub colour: String,
    pub dashed: bool,
    pub points: String,
    pub dots: Vec<Point>,
    pub label_x: f64,
    pub label_y: f64,
}

/// Series over a shared x axis (e.g. hits found after each round).
#[derive(Debug, Clone, Serialize)]
pub struct Lines {
    pub title: String,
    pub frame: Frame,
    pub series: Vec<Series>,
}

/// One input series: name, colour, dashed, and y per x (`x[i]`, `y[i]`).
pub struct LineInput<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub dashed: bool,
    pub y: &'a [f64],
}

/// A line chart of `series` over `x` (integer ticks at every x), y from 0 to the largest value.
pub fn lines(title: &str, x_title: &str, y_title: &str, x: &[f64], series: &[LineInput<'_>]) -> Lines {
    let (width, height, left, right, top, bottom) = (640.0, 300.0, 60.0, 470.0, 16.0, 240.0);
    let x_lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let x_hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let xs = Scale::new(x_lo, x_hi, left, right);
    let y_hi = series.iter().flat_map(|s| s.y.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    // Four ticks of a round step (1, 2 or 5 × 10^k) from 0 past the largest value.
    let raw = (y_hi / 4.0).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(raw);
    let ys = Scale::new(0.0, step * 4.0, bottom, top);
    let y_ticks =
        (0..=4).map(|k| Tick { pos: ys.at(step * k as f64), label: format!("{}", step * k as f64) }).collect();
    let mut label_ys: Vec<f64> = Vec::new();
    let out = series
        .iter()
        .map(|s| {
            let pts: Vec<(f64, f64, f64)> =
                x.iter().zip(s.y).filter(|(_, y)| y.is_finite()).map(|(&xv, &yv)| (xs.at(xv), ys.at(yv), yv)).collect();
            let points = pts.iter().map(|(a, b, _)| format!("{a},{b}")).collect::<Vec<_>>().join(" ");
            let dots = pts
                .iter()
                .zip(x)
                .map(|(&(px_, py, v), xv)| Point {
                    x: px_,
                    y: py,
                    title: format!("{}: {} after {xv}", s.name, tick_label(v)),
                })
                .collect();
            // Labels right of the last point, pushed apart by 13 px.
            let mut label_y = pts.last().map_or(bottom, |p| p.1) + 4.0;
            while label_ys.iter().any(|&l| (l - label_y).abs() < 13.0) {
                label_y += 13.0;
            }
            label_ys.push(label_y);
            Series {
                name: s.name.to_string(),
                colour: s.colour.to_string(),
                dashed: s.dashed,
                points,
                dots,
                label_x: px(right + 8.0),
                label_y: px(label_y),
            }
        })
        .collect();
    let x_ticks = x.iter().map(|&v| Tick { pos: xs.at(v), label: format!("{v}") }).collect();
    Lines {
        title: title.to_string(),
        frame: Frame {
            width,
            height,
            left,
            right,
            top,
            bottom,
            x_title: x_title.to_string(),
            y_title: y_title.to_string(),
            x_ticks,
            y_ticks,
            x_title_x: px((left + right) / 2.0),
            x_title_y: height - 22.0,
            y_title_x: 16.0,
            y_title_y: px((top + bottom) / 2.0),
        },
        series: out,
    }
}

#[derive(askama::Template)]
#[template(path = "lines.svg")]
struct LinesSvg<'a> {
    l: &'a Lines,
}

/// A line chart as a standalone SVG document (the template the pages' plots share their axes with).
pub fn render_lines(l: &Lines) -> Result<String, askama::Error> {
    askama::Template::render(&LinesSvg { l })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_every_finite_value_and_labels_both_axes() {
        let h = histogram("m", &[Some(0.0), Some(1.0), Some(0.5), Some(0.5), None, Some(f64::NAN)]);
        assert_eq!((h.n, h.n_undefined), (4, 2));
        assert_eq!(h.bars.iter().map(|b| b.count).sum::<usize>(), 4);
        // The y axis counts perturbations from 0 to at least the tallest bar.
        assert_eq!(h.frame.y_ticks.first().unwrap().label, "0");
        let top: usize = h.frame.y_ticks.last().unwrap().label.parse().unwrap();
        assert!(top >= 2, "{top}");
        assert_eq!(h.frame.y_title, "perturbations (count)");
        assert_eq!((h.frame.x_ticks[0].label.as_str(), h.frame.x_ticks[4].label.as_str()), ("0.000", "1.000"));
        // The tallest bar (two values at 0.5) reaches the tick of its count.
        let tallest = h.bars.iter().max_by_key(|b| b.count).unwrap();
        let tick = h.frame.y_ticks.iter().find(|t| t.label == "2").unwrap();
        assert!((tallest.y - tick.pos).abs() < 0.11, "{} vs {}", tallest.y, tick.pos);
        assert!(histogram("m", &[]).bars.is_empty());
    }

    #[test]
    fn forest_rows_keep_their_order_and_place_cis_on_one_axis() {
        let rows = [
            ForestInput { label: "a", mean: Some(0.5), lower: Some(0.4), upper: Some(0.6), text: "", ceiling: false },
            ForestInput { label: "b", mean: Some(0.2), lower: Some(0.1), upper: Some(0.3), text: "", ceiling: false },
            ForestInput { label: "c", mean: None, lower: None, upper: None, text: "n/a", ceiling: true },
        ];
        let f = forest("pearson", Better::Higher, 0.95, &rows);
        assert_eq!(f.rows.len(), 3);
        assert!(f.rows[0].y < f.rows[1].y);
        let (a, b) = (&f.rows[0], &f.rows[1]);
        assert!(a.lower_x < a.mean_x.unwrap() && a.mean_x.unwrap() < a.upper_x);
        assert!(b.upper_x < a.lower_x, "b's CI lies left of a's");
        assert!(f.rows[2].mean_x.is_none());
        assert!(f.frame.x_title.contains("95% CI"));
        assert!(f.frame.x_ticks.iter().all(|t| (f.frame.left..=f.frame.right).contains(&t.pos)));
    }

    #[test]
    fn scatter_points_sit_above_the_diagonal_where_the_row_is_higher() {
        let pairs = vec![
            ("P1".to_string(), Some(0.8), Some(0.2)),
            ("P2".to_string(), Some(0.1), Some(0.6)),
            ("P3".to_string(), None, Some(0.5)),
        ];
        let s = scatter("pearson", "model", "baseline: mean", &pairs);
        assert_eq!((s.points.len(), s.n_missing), (2, 1));
        let (x1, y1, x2, y2) = s.diagonal;
        // The diagonal's height at a point's x (SVG y grows downwards).
        let line_y = |x: f64| y1 + (y2 - y1) * (x - x1) / (x2 - x1);
        assert!(s.points[0].y < line_y(s.points[0].x), "P1: the row is higher, above the line");
        assert!(s.points[1].y > line_y(s.points[1].x), "P2: the baseline is higher, below it");
        assert!(s.frame.x_title.contains("baseline: mean") && s.frame.y_title.contains("model"));
    }

    #[test]
    fn line_charts_place_each_value_and_draw_every_series() {
        let x = [1.0, 2.0, 3.0];
        let (a, b) = ([0.0, 10.0, 40.0], [2.0, 2.0, 2.0]);
        let inputs = [
            LineInput { name: "a", colour: "#000", dashed: false, y: &a },
            LineInput { name: "b", colour: "#111", dashed: true, y: &b },
        ];
        let chart = lines("t", "round", "hits", &x, &inputs);
        let f = &chart.frame;
        // 0 sits on the x axis, 40 (the top tick, step 10) on the top edge; x spans the frame.
        assert_eq!(
            chart.series[0].points,
            format!(
                "{},{} {},{} {},{}",
                f.left,
                f.bottom,
                (f.left + f.right) / 2.0,
                (f.bottom - (f.bottom - f.top) / 4.0),
                f.right,
                f.top
            )
        );
        assert_eq!(f.y_ticks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["0", "10", "20", "30", "40"]);
        assert!((chart.series[0].label_y - chart.series[1].label_y).abs() >= 13.0, "labels apart");
        let svg = render_lines(&chart).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
