//! The report's figures: training curves, alpha heatmaps, the channel plan and cell diagrams
//! (plotters PNGs with the DejaVu font; Graphviz for the cells), each written whole or not at all.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aca_eval::ChannelPlan;
use aca_search::EpochRecord;
use aca_space::topology::{edges, state_name, INPUTS};
use aca_space::{CellType, OpSet};
use anyhow::{anyhow, Result};
use plotters::prelude::*;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

pub(super) fn ensure_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let bytes = FONT_PATHS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .ok_or_else(|| format!("no font for the figures (looked for {}); install fonts-dejavu-core (scripts/setup does)", FONT_PATHS.join(", ")))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| "the DejaVu font could not be read".to_string())
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Figures are drawn into a hidden `.NAME.partial.png` beside their path and renamed when
/// complete, so a full disk never leaves a truncated PNG under the real name.
pub(super) fn partial_png(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial.png"))
}

/// Writes the drawing to its temporary file, then moves it to `path` (the temporary file removed
/// if drawing fails).
fn present(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    tmp: &Path,
    path: &Path,
) -> Result<()> {
    root.present().map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        anyhow!("{}: {e:?}", path.display())
    })?;
    finish_png(tmp, path)
}

pub(super) fn finish_png(tmp: &Path, path: &Path) -> Result<()> {
    let synced = std::fs::File::open(tmp).and_then(|f| f.sync_all());
    synced
        .and_then(|()| std::fs::rename(tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(tmp);
            anyhow!("writing {}: {e}", path.display())
        })
}

pub(crate) type Series = (String, Vec<(f64, f64)>);

fn bounds(series: &[Series]) -> (f64, f64, f64, f64) {
    let pts = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    (x0, x1, y0 - pad, y1 + pad)
}

/// Draws line series into one chart area.
fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    spread: &[Vec<f64>],
    legend: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    // Error bars widen the y range.
    let widened: Vec<Series> = series
        .iter()
        .enumerate()
        .map(|(i, (n, pts))| {
            let mut all = pts.clone();
            if let Some(sd) = spread.get(i) {
                for (&(x, y), &e) in pts.iter().zip(sd) {
                    all.push((x, y - e));
                    all.push((x, y + e));
                }
            }
            (n.clone(), all)
        })
        .collect();
    let (mut x0, mut x1, y0, y1) = bounds(&widened);
    if spread.iter().any(|sd| !sd.is_empty()) {
        // Room for the error bars' caps at the first and last point.
        let pad = (x1 - x0) * 0.03;
        (x0, x1) = (x0 - pad, x1 + pad);
    }
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| anyhow!("{e:?}"))?;
    let whole = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{}", x.round())
        } else {
            String::new()
        }
    };
    c.configure_mesh()
        .x_labels(((x1 - x0).round() as usize + 1).clamp(2, 12))
        .x_label_formatter(&whole)
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| anyhow!("{e:?}"))?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        if let Some(sd) = spread.get(i) {
            c.draw_series(pts.iter().zip(sd).map(|(&(x, y), &e)| {
                ErrorBar::new_vertical(x, y - e, y, y + e, color.stroke_width(2), 8)
            }))
            .map_err(|e| anyhow!("{e:?}"))?;
        }
        let drawn = c
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)).point_size(3))
            .map_err(|e| anyhow!("{e:?}"))?;
        if legend {
            drawn.label(name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
        }
    }
    if legend {
        // Put the legend where the curves do not end: below them when they finish high.
        let ends_high = series
            .iter()
            .filter_map(|(_, p)| p.last())
            .any(|&(_, y)| y > (y0 + y1) / 2.0);
        let position = if ends_high {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        };
        c.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 14))
            .position(position)
            .draw()
            .map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(())
}

pub(super) fn line_figure(path: &Path, panels: &[(&str, &str, &str, Vec<Series>)]) -> Result<()> {
    let tmp = partial_png(path);
    let root = BitMapBackend::new(&tmp, (560 * panels.len() as u32, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let areas = root.split_evenly((1, panels.len()));
    for (area, (title, x, y, series)) in areas.iter().zip(panels) {
        chart(area, title, x, y, series, &[], true)?;
    }
    present(&root, &tmp, path)
}

/// One chart of mean curves with ± spread error bars (one spread list per series), as a PNG.
pub(crate) fn error_bar_figure(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    spread: &[Vec<f64>],
) -> Result<()> {
    ensure_font()?;
    let tmp = partial_png(path);
    let root = BitMapBackend::new(&tmp, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    chart(&root, title, x_label, y_label, series, spread, true)?;
    present(&root, &tmp, path)
}

/// One row of a forest plot.
#[derive(Debug, Clone)]
pub(crate) struct ForestRow {
    pub label: String,
    pub mean: f64,
    pub interval: Option<(f64, f64)>,
    pub n: usize,
    /// Drawn in the second colour (a row pooled over levels).
    pub pooled: bool,
}

/// A forest plot: one row per comparison, its mean difference with its interval as a
/// horizontal bar, a zero line, and the row's n beside its label.
pub(crate) fn forest_figure(path: &Path, title: &str, rows: &[ForestRow]) -> Result<()> {
    ensure_font()?;
    let tmp = partial_png(path);
    let height = 90 + 26 * rows.len().max(1) as u32;
    let root = BitMapBackend::new(&tmp, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let (mut x0, mut x1) = (0.0f64, 0.0f64);
    for r in rows {
        let (lo, hi) = r.interval.unwrap_or((r.mean, r.mean));
        x0 = x0.min(lo).min(r.mean);
        x1 = x1.max(hi).max(r.mean);
    }
    let pad = ((x1 - x0) * 0.06).max(1e-3);
    let (x0, x1) = (x0 - pad, x1 + pad);
    let n = rows.len().max(1) as f64;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{}  (n={})", r.label, r.n))
        .collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(8) as u32;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size((widest * 7 + 10).min(520))
        .build_cartesian_2d(x0..x1, -0.5..n - 0.5)
        .map_err(|e| anyhow!("{e:?}"))?;
    let row_label = |y: &f64| {
        let i = (n - 1.0 - y).round();
        if (y - y.round()).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    };
    c.configure_mesh()
        .y_labels(rows.len().max(1) * 2 + 1)
        .y_label_formatter(&row_label)
        .x_desc("difference (arm - baseline)")
        .label_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| anyhow!("{e:?}"))?;
    c.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, -0.5), (0.0, n - 0.5)],
        BLACK.mix(0.5).stroke_width(1),
    )))
    .map_err(|e| anyhow!("{e:?}"))?;
    for (i, r) in rows.iter().enumerate() {
        let y = n - 1.0 - i as f64;
        let color = PALETTE[usize::from(r.pooled)];
        if let Some((lo, hi)) = r.interval {
            c.draw_series(std::iter::once(ErrorBar::new_horizontal(
                y,
                lo,
                r.mean,
                hi,
                color.stroke_width(2),
                8,
            )))
            .map_err(|e| anyhow!("{e:?}"))?;
        }
        c.draw_series(std::iter::once(Circle::new((r.mean, y), 4, color.filled())))
            .map_err(|e| anyhow!("{e:?}"))?;
    }
    present(&root, &tmp, path)
}

pub(super) fn alphas_figure(
    path: &Path,
    records: &[EpochRecord],
    cell: CellType,
    ops: &OpSet,
) -> Result<()> {
    let tmp = partial_png(path);
    let root = BitMapBackend::new(&tmp, (1600, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let (title_area, body) = root.split_vertically(40);
    title_area
        .titled(
            &format!("{cell} cell: softmaxed alphas per edge over search epochs"),
            ("sans-serif", 24),
        )
        .map_err(|e| anyhow!("{e:?}"))?;
    let areas = body.split_evenly((4, 4));
    for (e, area) in edges().zip(areas.iter()) {
        let series: Vec<Series> = ops
            .ops()
            .iter()
            .enumerate()
            .map(|(k, op)| {
                let pts = records
                    .iter()
                    .map(|r| {
                        let a = if cell == CellType::Normal {
                            &r.alphas_normal
                        } else {
                            &r.alphas_reduce
                        };
                        ((r.epoch + 1) as f64, f64::from(a[e.index][k]))
                    })
                    .collect();
                (op.name().to_string(), pts)
            })
            .collect();
        let title = format!(
            "edge {}: {} -> node {}",
            e.index,
            state_name(e.input),
            e.node + INPUTS
        );
        chart(area, &title, "epoch", "weight", &series, &[], false)?;
    }
    // Legend in the spare panels.
    let legend = &areas[14];
    for (k, op) in ops.ops().iter().enumerate() {
        let y = 30 + 24 * k as i32;
        let color = PALETTE[k % PALETTE.len()];
        legend
            .draw(&PathElement::new(
                vec![(20, y), (50, y)],
                color.stroke_width(4),
            ))
            .map_err(|e| anyhow!("{e:?}"))?;
        legend
            .draw(&Text::new(op.name(), (60, y - 8), ("sans-serif", 16)))
            .map_err(|e| anyhow!("{e:?}"))?;
    }
    present(&root, &tmp, path)
}

pub(super) fn plan_figure(path: &Path, plan: &ChannelPlan) -> Result<()> {
    let tmp = partial_png(path);
    let root = BitMapBackend::new(&tmp, (1200, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let areas = root.split_evenly((1, 2));
    for (area, cell) in areas.iter().zip(CellType::BOTH) {
        let g = &plan.genotype;
        let f = plan.fractions(cell);
        let mut c = ChartBuilder::on(area)
            .caption(
                format!("{cell} cell: op share (blue) and identity share (grey) per edge"),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(70)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..f.len() as f64, 0f64..1f64)
            .map_err(|e| anyhow!("{e:?}"))?;
        let labels: Vec<String> = g
            .cell(cell)
            .iter()
            .enumerate()
            .map(|(i, (op, input))| format!("{i}: {op} <- {}", state_name(*input)))
            .collect();
        c.configure_mesh()
            .disable_x_mesh()
            .x_labels(f.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 0.26 && i < labels.len() {
                    labels[i].split(':').next().unwrap_or("").to_string()
                } else {
                    String::new()
                }
            })
            .x_desc("edge (see the table in the report)")
            .y_desc("share of channels")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| anyhow!("{e:?}"))?;
        for (i, (&share, (op, _))) in f.iter().zip(g.cell(cell)).enumerate() {
            if *op == aca_space::Primitive::None {
                continue; // a sparse cell's dropped edge: no bar
            }
            let x = i as f64;
            c.draw_series([
                Rectangle::new([(x + 0.1, 0.0), (x + 0.9, share)], PALETTE[0].filled()),
                Rectangle::new(
                    [(x + 0.1, share), (x + 0.9, 1.0)],
                    RGBColor(200, 200, 200).filled(),
                ),
            ])
            .map_err(|e| anyhow!("{e:?}"))?;
        }
    }
    present(&root, &tmp, path)
}

pub(super) fn render_dot(dot_path: &Path) -> Vec<PathBuf> {
    let mut made = Vec::new();
    for fmt in ["svg", "png"] {
        let target = dot_path.with_extension(fmt);
        let tmp = partial_png(&target);
        let ok = std::process::Command::new("dot")
            .arg(format!("-T{fmt}"))
            .arg(dot_path)
            .arg("-o")
            .arg(&tmp)
            .status()
            .is_ok_and(|s| s.success());
        if ok && finish_png(&tmp, &target).is_ok() {
            made.push(target);
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    made
}
