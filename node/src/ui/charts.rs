//! The charts of the dashboard and the national view, drawn server-side as SVG by
//! plotters: no JavaScript in the browser, nothing to download, and the picture is ready
//! with the page.
//!
//! Labels drawn into a chart are this module's own fixed words and numbers, never text
//! from a record: the SVG goes into the page unescaped (plotters writes markup).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::UiError;

const INK: RGBColor = RGBColor(31, 41, 55);
const BAR: RGBColor = RGBColor(29, 78, 137);
const GOAL: RGBColor = RGBColor(203, 218, 238);
const GRID: RGBColor = RGBColor(229, 231, 235);

/// Width and height of a chart with `rows` bars.
fn size(rows: usize) -> (u32, u32) {
    (560, 56 + 44 * rows.max(1) as u32)
}

/// An axis end a little past `max`, on a round number, so bars never touch the edge.
fn axis_end(max: u64) -> u64 {
    let max = max.max(4);
    let step = 10u64.pow((max as f64).log10().floor() as u32).max(1);
    (max / step + 1) * step
}

fn failed(e: impl std::fmt::Display) -> UiError {
    UiError::internal("drawing a chart", e)
}

/// Makes the SVG scale with its container (plotters writes a fixed width and height).
fn responsive(svg: String, (w, h): (u32, u32), label: &str) -> String {
    let head = format!(r#"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}""#);
    let accessible = format!(
        r#"<svg viewBox="0 0 {w} {h}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}" class="chart-svg""#
    );
    svg.replacen(&head, &accessible, 1)
}

/// The pipeline as a funnel: one horizontal bar per stage, first stage on top.
pub(crate) fn funnel(stages: &[(&'static str, u64)]) -> Result<String, UiError> {
    let dims = size(stages.len());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, dims).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let n = stages.len();
        // Room past the longest bar for its figure.
        let end = axis_end(stages.iter().map(|s| s.1).max().unwrap_or(0) * 5 / 4);
        // Row 0 is drawn at the bottom: the first stage goes to the last row.
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => stages[n - 1 - i].0.to_owned(),
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .x_label_area_size(28)
            .y_label_area_size(110)
            .build_cartesian_2d(0u64..end, (0..n).into_segmented())
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(GRID)
            .y_label_formatter(&label)
            .label_style(("sans-serif", 17).into_font().color(&INK))
            .x_labels(6)
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(stages.iter().rev().enumerate().map(|(i, (_, v))| {
                let mut bar = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(7, 7, 0, 0);
                bar
            }))
            .map_err(failed)?;
        chart
            .draw_series(stages.iter().rev().enumerate().map(|(i, (_, v))| {
                Text::new(
                    format!(" {v}"),
                    (*v, SegmentValue::CenterOf(i)),
                    ("sans-serif", 17)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(responsive(svg, dims, "Pipeline funnel"))
}

/// Yearly goals against progress: per goal a light bar to the target and a dark bar to
/// what was reached, with the figures beside them.
pub(crate) fn goals(rows: &[(&'static str, u64, u64)]) -> Result<String, UiError> {
    let dims = size(rows.len());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, dims).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let n = rows.len();
        // Room past the longest bar for "n of m (p%)".
        let end = axis_end(rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(0) * 8 / 5);
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => rows[n - 1 - i].0.to_owned(),
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .x_label_area_size(28)
            .y_label_area_size(170)
            .build_cartesian_2d(0u64..end, (0..n).into_segmented())
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(GRID)
            .y_label_formatter(&label)
            .label_style(("sans-serif", 17).into_font().color(&INK))
            .x_labels(6)
            .draw()
            .map_err(failed)?;
        let bars = |target: bool, margin: u32| {
            rows.iter()
                .rev()
                .enumerate()
                .map(move |(i, (_, goal, done))| {
                    let (v, colour) = if target { (*goal, GOAL) } else { (*done, BAR) };
                    let mut bar = Rectangle::new(
                        [(0, SegmentValue::Exact(i)), (v, SegmentValue::Exact(i + 1))],
                        colour.filled(),
                    );
                    bar.set_margin(margin, margin, 0, 0);
                    bar
                })
        };
        chart.draw_series(bars(true, 6)).map_err(failed)?;
        chart.draw_series(bars(false, 14)).map_err(failed)?;
        chart
            .draw_series(rows.iter().rev().enumerate().map(|(i, (_, goal, done))| {
                let pct = if *goal == 0 { 0 } else { done * 100 / goal };
                Text::new(
                    format!(" {done} of {goal} ({pct}%)"),
                    ((*goal).max(*done), SegmentValue::CenterOf(i)),
                    ("sans-serif", 17)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(responsive(svg, dims, "Yearly goals against progress"))
}

/// The colours of a trend chart's lines, in series order; dark enough on white for a
/// 3:1 contrast with the background, and told apart by the marker shape as well.
const SERIES: [RGBColor; 3] = [
    RGBColor(29, 78, 137),
    RGBColor(180, 83, 9),
    RGBColor(21, 128, 61),
];

/// Monthly series as lines, one per metric (at most three), over `months` (their axis
/// labels, such as "Jan"). A month without a published figure is a gap in the line, never
/// a zero.
pub(crate) fn trend(
    months: &[String],
    series: &[(&'static str, Vec<Option<u64>>)],
    label: &str,
) -> Result<String, UiError> {
    let dims = (640u32, 320u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, dims).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let n = months.len().max(1);
        let top = series
            .iter()
            .flat_map(|(_, points)| points.iter().flatten())
            .copied()
            .max()
            .unwrap_or(0);
        let end = axis_end(top);
        let x_label = |i: &usize| months.get(*i).cloned().unwrap_or_default();
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(0usize..n.saturating_sub(1).max(1), 0u64..end)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(GRID)
            .x_labels(n)
            .x_label_formatter(&x_label)
            .y_labels(5)
            .label_style(("sans-serif", 17).into_font().color(&INK))
            .draw()
            .map_err(failed)?;
        for (k, (name, points)) in series.iter().enumerate().take(SERIES.len()) {
            let colour = SERIES[k];
            // Consecutive published months make one stretch of line.
            let mut runs: Vec<Vec<(usize, u64)>> = vec![Vec::new()];
            for (i, p) in points.iter().enumerate() {
                match p {
                    Some(v) => runs.last_mut().map_or((), |r| r.push((i, *v))),
                    None => runs.push(Vec::new()),
                }
            }
            let style = ShapeStyle::from(&colour).stroke_width(3);
            chart
                .draw_series(
                    runs.into_iter()
                        .filter(|r| r.len() > 1)
                        .map(move |r| PathElement::new(r, style)),
                )
                .map_err(failed)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            let marks = points
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.map(|v| (i, v)));
            if k == 1 {
                chart
                    .draw_series(marks.map(|c| TriangleMarker::new(c, 6, colour.filled())))
                    .map_err(failed)?;
            } else if k == 2 {
                chart
                    .draw_series(marks.map(|c| Cross::new(c, 5, colour.stroke_width(3))))
                    .map_err(failed)?;
            } else {
                chart
                    .draw_series(marks.map(|c| Circle::new(c, 5, colour.filled())))
                    .map_err(failed)?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(GRID)
            .label_font(("sans-serif", 17).into_font().color(&INK))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(responsive(svg, dims, label))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_scalable_svg_with_their_figures() {
        let svg = funnel(&[("Applied", 12), ("Placed", 3)]).unwrap();
        assert!(svg.starts_with("<svg viewBox=\"0 0 560"), "{}", &svg[..80]);
        assert!(svg.contains("role=\"img\""));
        assert!(
            svg.contains("\nApplied\n") && svg.contains(" 12\n"),
            "{svg}"
        );
        let svg = goals(&[("Placements", 40, 10)]).unwrap();
        assert!(svg.contains("10 of 40 (25%)"), "{svg}");
    }

    #[test]
    fn a_trend_leaves_gaps_for_months_without_a_figure() {
        let months: Vec<String> = ["Jan", "Feb", "Mar"].map(String::from).to_vec();
        let svg = trend(
            &months,
            &[
                ("Applied", vec![Some(12), None, Some(30)]),
                ("Placed", vec![None, None, None]),
            ],
            "Trends",
        )
        .unwrap();
        assert!(svg.starts_with("<svg viewBox=\"0 0 640"), "{}", &svg[..80]);
        assert!(
            svg.contains("Applied") && svg.contains("Placed"),
            "the legend: {svg}"
        );
        assert!(svg.contains("aria-label=\"Trends\""));
        // Series lines are 3 wide (the grid is 1): two lone points are no line, so the
        // only wide polylines are the two legend keys.
        let lines = |svg: &str| {
            svg.lines()
                .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"3\""))
                .count()
        };
        assert_eq!(lines(&svg), 2, "{svg}");
        // Two published months in a row are joined.
        let joined = trend(&months, &[("Applied", vec![Some(12), Some(20), None])], "T").unwrap();
        assert_eq!(lines(&joined), 2, "a line and its key: {joined}");
    }

    #[test]
    fn axes_end_on_round_numbers_past_the_largest_bar() {
        assert_eq!(axis_end(0), 5);
        assert_eq!(axis_end(12), 20);
        assert_eq!(axis_end(340), 400);
    }
}
