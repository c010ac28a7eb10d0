//! The SVG plots: the replicate histogram of `ceteris bootstrap --plot` and the dose-response
//! curves of `ceteris sweep --plot`.

use ceteris::{BootstrapResult, Error};

/// The dose-response plot of `ceteris sweep --plot`: the mean of each point with bands between the
/// outermost (and next-outermost) requested quantiles. When every point sets the same nodes and the
/// same shifts, the x axis is the value of the node with the most distinct values and each
/// combination of the other nodes' values is one curve (at most 8); otherwise x is the setting index.
pub(crate) fn sweep(out: &serde_json::Value, path: &str) -> Result<(), Error> {
    use plotters::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: path.to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let points = out["points"].as_array().cloned().unwrap_or_default();
    if points.is_empty() {
        return Err(Error::param("plot", "no points to plot"));
    }
    let keys = |p: &serde_json::Value| -> Vec<String> {
        p["interventions"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let first = keys(&points[0]);
    let regular = !first.is_empty()
        && points
            .iter()
            .all(|p| keys(p) == first && p["shifts"] == points[0]["shifts"]);
    // x variable: the node with the most distinct values
    let x_node = regular.then(|| {
        first
            .iter()
            .max_by_key(|k| {
                let distinct: BTreeSet<String> = points
                    .iter()
                    .map(|p| p["interventions"][k.as_str()].to_string())
                    .collect();
                (distinct.len(), std::cmp::Reverse((*k).clone()))
            })
            .expect("non-empty")
            .clone()
    });
    let group_of = |p: &serde_json::Value| -> String {
        first
            .iter()
            .filter(|k| Some(*k) != x_node.as_ref())
            .map(|k| format!("{k}={}", p["interventions"][k.as_str()]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let groups: BTreeSet<String> = points.iter().map(group_of).collect();
    let by_value = x_node.is_some() && groups.len() <= 8;
    // curves: label -> [(x, mean, quantiles by probability)]
    type Row = (f64, f64, Vec<(f64, f64)>);
    let mut curves: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        let (label, x) = match (&x_node, by_value) {
            (Some(k), true) => (
                group_of(p),
                p["interventions"][k.as_str()].as_f64().unwrap_or(f64::NAN),
            ),
            _ => (String::new(), i as f64),
        };
        let mut qs: Vec<(f64, f64)> = p["quantiles"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(q, v)| Some((q.parse::<f64>().ok()?, v.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        qs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mean = p["mean"].as_f64().unwrap_or(f64::NAN);
        curves.entry(label).or_default().push((x, mean, qs));
    }
    for rows in curves.values_mut() {
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let all = || curves.values().flatten();
    let finite = |v: f64| v.is_finite();
    let (x_lo, x_hi) = all()
        .map(|r| r.0)
        .filter(|v| finite(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let (y_lo, y_hi) = all()
        .flat_map(|r| std::iter::once(r.1).chain(r.2.iter().map(|q| q.1)))
        .filter(|v| finite(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
    if !(x_lo.is_finite() && y_lo.is_finite()) {
        return Err(Error::param("plot", "no finite points to plot"));
    }
    let pad = |lo: f64, hi: f64| {
        let w = if hi > lo { hi - lo } else { 1.0 };
        (lo - 0.05 * w, hi + 0.05 * w)
    };
    let ((x0, x1), (y0, y1)) = (pad(x_lo, x_hi), pad(y_lo, y_hi));
    let outcome = out["outcome"].as_str().unwrap_or("outcome");
    let x_desc = match (&x_node, by_value) {
        (Some(k), true) => format!("do({k})"),
        _ => "setting".to_string(),
    };
    let root = SVGBackend::new(path, (900, 550)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| io(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{outcome} under intervention ({} samples per setting)",
                out["samples"]
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| io(&e))?;
    // the setting index takes whole numbers only
    let index_labels = |x: &f64| {
        if x.fract() == 0.0 {
            format!("{x}")
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc).y_desc(outcome);
    if !by_value {
        mesh.x_label_formatter(&index_labels);
    }
    mesh.draw().map_err(|e| io(&e))?;
    let palette = [
        BLUE,
        RED,
        GREEN,
        MAGENTA,
        CYAN,
        BLACK,
        RGBColor(255, 140, 0),
        RGBColor(128, 0, 128),
    ];
    for (c, (label, rows)) in curves.iter().enumerate() {
        let color = palette[c % palette.len()];
        let nq = rows.iter().map(|r| r.2.len()).min().unwrap_or(0);
        // bands: outermost quantiles, then the next pair inwards
        for (k, alpha) in [(0usize, 0.15), (1, 0.25)] {
            if nq >= 2 * (k + 1) {
                let upper = rows.iter().map(|r| (r.0, r.2[nq - 1 - k].1));
                let lower = rows.iter().rev().map(|r| (r.0, r.2[k].1));
                let (qa, qb) = (rows[0].2[k].0, rows[0].2[nq - 1 - k].0);
                let name = if label.is_empty() {
                    format!("quantiles {qa}–{qb}")
                } else {
                    format!("quantiles {qa}–{qb} ({label})")
                };
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        upper.chain(lower).collect::<Vec<_>>(),
                        color.mix(alpha).filled(),
                    )))
                    .map_err(|e| io(&e))?
                    .label(name)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.mix(alpha).filled())
                    });
            }
        }
        let name = if label.is_empty() {
            "mean".to_string()
        } else {
            format!("mean ({label})")
        };
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (r.0, r.1)),
                color.stroke_width(2),
            ))
            .map_err(|e| io(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(
                rows.iter()
                    .map(|r| Circle::new((r.0, r.1), 3, color.filled())),
            )
            .map_err(|e| io(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| io(&e))?;
    root.present().map_err(|e| io(&e))?;
    Ok(())
}

/// The histogram of `ceteris bootstrap --plot`: the finite replicates in 60 bins, each interval as a
/// horizontal bar near the top, and the estimate as a vertical line.
pub(crate) fn bootstrap(r: &BootstrapResult, path: &str) -> Result<(), Error> {
    use plotters::prelude::*;
    let reps: Vec<f64> = r
        .replicates
        .as_ref()
        .map(|v| v.iter().copied().filter(|x| x.is_finite()).collect())
        .unwrap_or_default();
    if reps.is_empty() {
        return Err(Error::param("plot", "no finite replicates to plot"));
    }
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: path.to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let (lo, hi) = reps
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let width = if hi > lo { hi - lo } else { 1.0 };
    let bins = 60usize;
    let mut counts = vec![0u32; bins];
    for &x in &reps {
        let i = (((x - lo) / width) * bins as f64) as usize;
        counts[i.min(bins - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.1;
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| io(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "bootstrap replicates of {} ({} resamples)",
                r.statistic, r.resamples
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(lo - 0.05 * width..hi + 0.05 * width, 0.0..top)
        .map_err(|e| io(&e))?;
    chart
        .configure_mesh()
        .x_desc(r.statistic.as_str())
        .y_desc("count")
        .draw()
        .map_err(|e| io(&e))?;
    let bw = width / bins as f64;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = lo + i as f64 * bw;
            Rectangle::new([(x0, 0.0), (x0 + bw, c as f64)], BLUE.mix(0.4).filled())
        }))
        .map_err(|e| io(&e))?;
    let palette = [RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, (m, [a, b])) in r.intervals.iter().enumerate() {
        let color = palette[i % palette.len()];
        let y = top * (0.95 - 0.05 * i as f64);
        chart
            .draw_series(LineSeries::new([(*a, y), (*b, y)], color.stroke_width(3)))
            .map_err(|e| io(&e))?
            .label(m.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
    }
    chart
        .draw_series(LineSeries::new(
            [(r.estimate, 0.0), (r.estimate, top)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| io(&e))?
        .label("estimate")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| io(&e))?;
    root.present().map_err(|e| io(&e))?;
    Ok(())
}
