//! The chart: requests/s (left) and p99 latency (right) per scenario, one series per
//! backend, at the highest measured concurrency at or below 32; pgbench as a reference bar.

use std::path::Path;

use plotters::prelude::*;

use crate::pgbench::PgbenchCell;
use crate::report::Cell;

pub fn draw(path: &Path, cells: &[Cell], pgbench: &[PgbenchCell]) -> Result<(), String> {
    let c = cells
        .iter()
        .map(|x| x.concurrency)
        .filter(|&c| c <= 32)
        .max()
        .unwrap_or(1);
    let mut scenarios: Vec<String> = Vec::new();
    for x in cells {
        if !scenarios.contains(&x.scenario) {
            scenarios.push(x.scenario.clone());
        }
    }
    let backends = ["postgres", "sqlite"];
    let value = |b: &str, s: &str, f: &dyn Fn(&Cell) -> f64| {
        cells
            .iter()
            .find(|x| x.backend == b && x.scenario == s && x.concurrency == c)
            .map(f)
    };
    let pg_tps = pgbench
        .iter()
        .find(|p| p.concurrency == c)
        .map(|p| p.tps)
        .unwrap_or(0.0);

    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(700);
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();

    let mut labels = scenarios.clone();
    labels.push("pgbench rotation".into());
    let max_rps = cells
        .iter()
        .filter(|x| x.concurrency == c)
        .map(|x| x.result.requests_per_sec)
        .fold(pg_tps, f64::max)
        * 1.1;
    let n = labels.len();
    let mut chart = ChartBuilder::on(&left)
        .caption(format!("requests/s at concurrency {c}"), ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(170)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..max_rps.max(1.0))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| bar_label(*x, &labels))
        .x_label_style(
            ("sans-serif", 12)
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .draw()
        .map_err(err)?;
    let colors = [RGBColor(52, 101, 164), RGBColor(245, 121, 0)];
    for (bi, b) in backends.iter().enumerate() {
        let bars: Vec<_> = scenarios
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                value(b, s, &|x| x.result.requests_per_sec).map(|v| {
                    let x0 = i as f64 + 0.1 + 0.4 * bi as f64;
                    Rectangle::new([(x0, 0.0), (x0 + 0.4, v)], colors[bi].filled())
                })
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(*b)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], colors[bi].filled())
            });
    }
    let x0 = scenarios.len() as f64 + 0.1;
    chart
        .draw_series([Rectangle::new(
            [(x0, 0.0), (x0 + 0.4, pg_tps)],
            RGBColor(115, 210, 22).filled(),
        )])
        .map_err(err)?
        .label("pgbench (minimal rotation SQL)")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 5), (x + 10, y + 5)],
                RGBColor(115, 210, 22).filled(),
            )
        });
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let max_p99 = cells
        .iter()
        .filter(|x| x.concurrency == c)
        .map(|x| x.result.p99_us as f64 / 1000.0)
        .fold(1.0, f64::max)
        * 1.1;
    let m = scenarios.len();
    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!("p99 latency (ms) at concurrency {c}"),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(170)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..m.max(1) as f64, 0f64..max_p99)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(m * 2 + 1)
        .x_label_formatter(&|x| bar_label(*x, &scenarios))
        .x_label_style(
            ("sans-serif", 12)
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .draw()
        .map_err(err)?;
    for (bi, b) in backends.iter().enumerate() {
        let bars: Vec<_> = scenarios
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                value(b, s, &|x| x.result.p99_us as f64 / 1000.0).map(|v| {
                    let x0 = i as f64 + 0.1 + 0.4 * bi as f64;
                    Rectangle::new([(x0, 0.0), (x0 + 0.4, v)], colors[bi].filled())
                })
            })
            .collect();
        chart.draw_series(bars).map_err(err)?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// The label of bar `i` sits at x = i + 0.5; every other tick stays blank.
fn bar_label(x: f64, labels: &[String]) -> String {
    let i = x.floor() as usize;
    if (x - i as f64 - 0.5).abs() < 0.01 {
        labels.get(i).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}
