//! Draws the spacing a client kept between its requests, as the sandbox
//! received them (before their transit delay), against the spacings that
//! matter.

use copper_bulk_sandbox::Stats;
use plotters::prelude::*;

/// Writes one chart to `path` (an SVG file): for each request, the time
/// since the one before it, at the moment it was received; each 429 marked;
/// Copper's spacing (a third of a second) and the spacing no jitter of
/// `jitter_ms` can crowd, `(1000 + J) / 3` ms.
pub fn spacing_over_time(
    path: &str,
    jitter_ms: u64,
    stats: &Stats,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut answered = stats.answered.clone();
    answered.sort_by_key(|a| a.arrived);
    let Some(first) = answered.first().map(|a| a.arrived) else {
        return Ok(());
    };
    let points: Vec<(f64, f64, bool)> = answered
        .windows(2)
        .map(|pair| {
            (
                (pair[1].arrived - first).as_secs_f64(),
                (pair[1].arrived - pair[0].arrived).as_secs_f64() * 1000.0,
                pair[1].status == 429,
            )
        })
        .collect();
    let end = points.iter().fold(1.0_f64, |a, p| a.max(p.0)).ceil();
    // Up to the longest gap (the second every request waits after a 429),
    // and at least 700 ms, so that the spacings near 343 ms are apart.
    let top = points.iter().fold(700.0_f64, |a, p| a.max(p.1)) * 1.05;
    let safe = (1000.0 + jitter_ms as f64) / 3.0;
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("copper-bulk tool, J = {jitter_ms} ms: time between requests sent"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..end, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first request")
        .y_desc("ms since the request before")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 1000.0 / 3.0), (end, 1000.0 / 3.0)],
            RED.stroke_width(2),
        ))?
        .label("Copper's spacing: 333 ms")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            [(0.0, safe), (end, safe)],
            GREEN.stroke_width(2),
        ))?
        .label(format!("safe from {jitter_ms} ms of jitter: {safe:.0} ms"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN.stroke_width(2)));
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| !p.2)
                .map(|p| Circle::new((p.0, p.1), 2, BLUE.mix(0.6).filled())),
        )?
        .label("a request accepted")
        .legend(|(x, y)| Circle::new((x + 10, y), 2, BLUE.mix(0.6).filled()));
    let refused = points.iter().filter(|p| p.2).count();
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.2)
                .map(|p| Cross::new((p.0, p.1), 5, RED.stroke_width(2))),
        )?
        .label(format!("a request answered 429 ({refused})"))
        .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
