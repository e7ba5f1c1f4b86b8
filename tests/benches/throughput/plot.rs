//! Draws requests over time, as the sandbox saw them, against the limit.

use std::time::Duration;

use copper_bulk_sandbox::Stats;
use plotters::prelude::*;

/// Copper's limit: 3 requests in any second.
const LIMIT: f64 = 3.0;
/// How often the curves are sampled.
const STEP: Duration = Duration::from_millis(20);

/// Writes one panel per run to `path` (an SVG file): the accepted requests
/// in the second before each moment, which is what Copper's limit counts;
/// their average over ten seconds; and each 429, one above the count that
/// refused it.
pub fn requests_over_time(
    path: &str,
    latency_ms: u64,
    runs: &[(&str, &Stats)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 320 * runs.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    for (panel, (name, stats)) in root.split_evenly((runs.len(), 1)).iter().zip(runs) {
        let first = stats.answered.iter().map(|a| a.arrived).min();
        let Some(first) = first else { continue };
        let since = |at: Duration| (at - first).as_secs_f64();
        let accepted: Vec<f64> = stats
            .answered
            .iter()
            .filter(|a| a.status != 429)
            .map(|a| since(a.arrived))
            .collect();
        let refused: Vec<f64> = stats
            .answered
            .iter()
            .filter(|a| a.status == 429)
            .map(|a| since(a.arrived))
            .collect();
        let end = accepted
            .iter()
            .chain(&refused)
            .fold(1.0_f64, |a, &b| a.max(b));
        let in_window = |t: f64, window: f64| {
            accepted
                .iter()
                .filter(|&&at| at <= t && at > t - window)
                .count() as f64
        };
        let samples = (0..)
            .map(|i| i as f64 * STEP.as_secs_f64())
            .take_while(|&t| t <= end);
        let last_second: Vec<(f64, f64)> =
            samples.clone().map(|t| (t, in_window(t, 1.0))).collect();
        let average: Vec<(f64, f64)> = samples
            .filter(|&t| t >= 10.0)
            .map(|t| (t, in_window(t, 10.0) / 10.0))
            .collect();

        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{name}, {latency_ms} ms latency: requests at the server"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..end.ceil(), 0.0..5.0)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the first request")
            .y_desc("requests per second")
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, LIMIT), (end.ceil(), LIMIT)],
                RED.stroke_width(2),
            ))?
            .label("Copper's limit: 3 in any second")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(last_second, BLUE.mix(0.6)))?
            .label("accepted in the last second")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.mix(0.6)));
        chart
            .draw_series(LineSeries::new(average, GREEN.stroke_width(2)))?
            .label("accepted per second, over the last 10 s")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN.stroke_width(2)));
        chart
            .draw_series(
                refused
                    .iter()
                    .map(|&t| Cross::new((t, in_window(t, 1.0) + 1.0), 4, RED.stroke_width(2))),
            )?
            .label(format!("429 answers ({})", refused.len()))
            .legend(|(x, y)| Cross::new((x + 10, y), 4, RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
