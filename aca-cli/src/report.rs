//! `aca report`: figures (PNG), cell diagrams (Graphviz) and a summary page of a run directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aca_core::write_atomic;
use aca_eval::{ChannelPlan, TrainRecord, TrainResults};
use aca_search::EpochRecord;
use aca_space::topology::{edges, state_name, INPUTS};
use aca_space::{CellType, Genotype, OpSet, Primitive};
use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use plotters::prelude::*;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

fn ensure_font() -> Result<()> {
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

fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1))
        })
        .collect()
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
fn partial_png(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial.png"))
}

fn finish_png(tmp: &Path, path: &Path) -> Result<()> {
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
    let (x0, x1, y0, y1) = bounds(&widened);
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

fn line_figure(path: &Path, panels: &[(&str, &str, &str, Vec<Series>)]) -> Result<()> {
    let tmp = partial_png(path);
    let root = BitMapBackend::new(&tmp, (560 * panels.len() as u32, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
    let areas = root.split_evenly((1, panels.len()));
    for (area, (title, x, y, series)) in areas.iter().zip(panels) {
        chart(area, title, x, y, series, &[], true)?;
    }
    root.present().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("{}: {e:?}", path.display())
    })?;
    finish_png(&tmp, path)
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
    root.present().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("{}: {e:?}", path.display())
    })?;
    finish_png(&tmp, path)
}

fn alphas_figure(path: &Path, records: &[EpochRecord], cell: CellType, ops: &OpSet) -> Result<()> {
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
    root.present().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("{}: {e:?}", path.display())
    })?;
    finish_png(&tmp, path)
}

fn plan_figure(path: &Path, plan: &ChannelPlan) -> Result<()> {
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
        for (i, &share) in f.iter().enumerate() {
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
    root.present().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("{}: {e:?}", path.display())
    })?;
    finish_png(&tmp, path)
}

/// A Graphviz DOT drawing of one cell, edges labelled with their op and, for a plan, the op's
/// share of the channels.
pub(crate) fn cell_dot(genotype: &Genotype, fractions: Option<&[f64]>, cell: CellType) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {cell} {{");
    let _ = writeln!(out, "  rankdir=LR; node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\"]; edge [fontname=\"DejaVu Sans\", fontsize=11];");
    let _ = writeln!(
        out,
        "  label=\"{cell} cell\"; labelloc=t; fontname=\"DejaVu Sans\";"
    );
    let _ = writeln!(out, "  \"c_{{k-2}}\" [fillcolor=darkseagreen2]; \"c_{{k-1}}\" [fillcolor=darkseagreen2]; \"c_{{k}}\" [fillcolor=palegoldenrod];");
    for node in 0..genotype.cell(cell).len() / 2 {
        let _ = writeln!(out, "  \"{}\" [fillcolor=lightblue];", node + INPUTS);
    }
    for (i, (op, input)) in genotype.cell(cell).iter().enumerate() {
        let label = match fractions.map(|f| f[i]) {
            Some(f) if f < 1.0 => format!(
                "{op}\\n{:.0}% op / {:.0}% identity",
                100.0 * f,
                100.0 * (1.0 - f)
            ),
            _ => op.to_string(),
        };
        let style = if *op == Primitive::SkipConnect {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{label}\"{style}];",
            state_name(*input),
            i / 2 + INPUTS
        );
    }
    for s in genotype.concat(cell).states() {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"c_{{k}}\" [color=gray50];",
            state_name(*s)
        );
    }
    out.push_str("}\n");
    out
}

fn render_dot(dot_path: &Path) -> Vec<PathBuf> {
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

/// Every epoch's alphas must be 14 rows of one weight per op, or the figures cannot be drawn.
fn check_alphas(records: &[EpochRecord], ops: usize, path: &Path) -> Result<()> {
    for r in records {
        for (cell, a) in [("normal", &r.alphas_normal), ("reduce", &r.alphas_reduce)] {
            if a.len() != aca_space::topology::EDGES || a.iter().any(|row| row.len() != ops) {
                bail!(
                    "{}: epoch {}: alphas_{cell} is not {} rows of {ops} weights",
                    path.display(),
                    r.epoch,
                    aca_space::topology::EDGES
                );
            }
        }
    }
    Ok(())
}

/// Renders the report of `run` (an `aca run` directory, or a search or training run) into
/// `run/report/`; returns the HTML page.
pub(crate) fn render(run: &Path) -> Result<PathBuf> {
    if !run.is_dir() {
        bail!("{} is not a run directory", run.display());
    }
    ensure_font()?;
    let search_dir = if run.join("search").is_dir() {
        run.join("search")
    } else {
        run.to_path_buf()
    };
    let train_dir = if run.join("train").is_dir() {
        run.join("train")
    } else {
        run.to_path_buf()
    };
    let search: Vec<EpochRecord> = if search_dir.join("genotype.txt").exists()
        || search_dir.join("alphas.json").exists()
        || run.join("search").is_dir()
    {
        read_lines(&search_dir.join("metrics.jsonl"))?
    } else {
        Vec::new()
    };
    let train: Vec<TrainRecord> = if train_dir.join("model.ot").exists()
        || train_dir.join("checkpoint.ot").exists() && !train_dir.join("alphas.json").exists()
    {
        read_lines(&train_dir.join("metrics.jsonl"))?
    } else {
        Vec::new()
    };
    let plan_path = [
        run.join("plan.json"),
        search_dir.join("plan.json"),
        train_dir.join("plan.json"),
    ]
    .into_iter()
    .find(|p| p.exists());
    let plan = plan_path.map(|p| ChannelPlan::read(&p)).transpose()?;
    let results: Option<TrainResults> = std::fs::read_to_string(train_dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let search_config: Option<serde_json::Value> =
        std::fs::read_to_string(search_dir.join("config.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let space: Option<String> = search_config
        .as_ref()
        .and_then(|v| v.get("space").and_then(|s| s.as_str()).map(String::from));
    let planned_epochs = |config: Option<&serde_json::Value>| {
        config
            .and_then(|v| v.get("epochs"))
            .and_then(|e| e.as_u64())
            .map(|e| e as usize)
    };
    let train_config: Option<serde_json::Value> =
        std::fs::read_to_string(train_dir.join("config.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    // A run that stopped before its planned epochs (diverged, interrupted, failed) says so.
    let stopped_early = |done: usize, planned: Option<usize>, finished: bool| match planned {
        Some(p) if done < p && !finished => format!(
            "\n\n**Stopped early:** {done} of {p} epochs ran (see log.txt{}).",
            if run.join("error.txt").is_file() {
                " and error.txt"
            } else {
                ""
            }
        ),
        _ => String::new(),
    };
    let search_note = stopped_early(
        search.len(),
        planned_epochs(search_config.as_ref()),
        search_dir.join("genotype.json").is_file(),
    );
    let train_note = stopped_early(
        train.len(),
        planned_epochs(train_config.as_ref()),
        train_dir.join("results.json").is_file(),
    );
    if search.is_empty() && train.is_empty() && plan.is_none() {
        bail!(
            "{} holds no search metrics, training metrics or plan to report on",
            run.display()
        );
    }
    let dir = run.join("report");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut sections: Vec<(String, Vec<PathBuf>, String)> = Vec::new();

    if !search.is_empty() {
        let ep = |f: &dyn Fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
            search
                .iter()
                .map(|r| ((r.epoch + 1) as f64, f(r)))
                .collect()
        };
        let p = dir.join("search_curves.png");
        line_figure(
            &p,
            &[
                (
                    "Search: loss",
                    "epoch",
                    "cross-entropy",
                    vec![
                        ("train".into(), ep(&|r| r.train_loss)),
                        ("validation".into(), ep(&|r| r.valid_loss)),
                    ],
                ),
                (
                    "Search: accuracy",
                    "epoch",
                    "accuracy",
                    vec![
                        ("train".into(), ep(&|r| r.train_acc)),
                        ("validation".into(), ep(&|r| r.valid_acc)),
                    ],
                ),
            ],
        )?;
        let s = dir.join("skip_count.png");
        line_figure(
            &s,
            &[(
                "skip_connect edges in the derived genotype",
                "epoch",
                "edges (of 8)",
                vec![
                    ("skip, normal cell".into(), ep(&|r| r.skip_normal as f64)),
                    ("skip, reduction cell".into(), ep(&|r| r.skip_reduce as f64)),
                    (
                        "parameter-free, normal cell".into(),
                        ep(&|r| r.param_free_normal as f64),
                    ),
                ],
            )],
        )?;
        let mut figures = vec![p, s];
        let learned: Vec<&EpochRecord> = search.iter().filter(|r| r.learning.is_some()).collect();
        let mut learning_text = String::new();
        if let Some(last) = learned.last().and_then(|r| r.learning) {
            let lp = |f: &dyn Fn(&aca_space::ArchLearning) -> f64| -> Vec<(f64, f64)> {
                learned
                    .iter()
                    .filter_map(|r| r.learning.as_ref().map(|l| ((r.epoch + 1) as f64, f(l))))
                    .collect()
            };
            let l = dir.join("learning.png");
            line_figure(
                &l,
                &[
                    (
                        "Op-weight entropy (share of uniform)",
                        "epoch",
                        "mean entropy / ln(ops)",
                        vec![
                            (
                                "normal cell".into(),
                                lp(&|l| l.entropy_normal / l.uniform_entropy),
                            ),
                            (
                                "reduction cell".into(),
                                lp(&|l| l.entropy_reduce / l.uniform_entropy),
                            ),
                        ],
                    ),
                    (
                        "Alphas moved from their initial noise",
                        "epoch",
                        "shift (x initial noise)",
                        vec![("shift".into(), lp(&|l| l.shift))],
                    ),
                ],
            )?;
            figures.push(l);
            learning_text = format!(
                "\n\nArchitecture learning at the last epoch: alphas moved {:.1}x their initial noise; the normal cell's op weights keep {:.1}% of the uniform entropy (largest weight {:.3}).{}",
                last.shift,
                100.0 * last.relative_entropy_normal(),
                last.max_weight,
                if last.learned() {
                    String::new()
                } else {
                    format!(" **Warning:** {}", aca_search::not_learned_message(&last))
                }
            );
        }
        let ops =
            OpSet::by_name(space.as_deref().unwrap_or("aca")).unwrap_or_else(|_| OpSet::aca());
        let ops = if search[0].alphas_normal.first().map(Vec::len) == Some(ops.len()) {
            ops
        } else {
            OpSet::darts()
        };
        check_alphas(&search, ops.len(), &search_dir.join("metrics.jsonl"))?;
        let an = dir.join("alphas_normal.png");
        let ar = dir.join("alphas_reduce.png");
        alphas_figure(&an, &search, CellType::Normal, &ops)?;
        alphas_figure(&ar, &search, CellType::Reduce, &ops)?;
        let last = search
            .last()
            .map(|r| r.genotype.clone())
            .unwrap_or_default();
        figures.extend([an, ar]);
        sections.push((
            "Search".into(),
            figures,
            format!(
                "{} epochs. The collapse DARTS suffers shows as skip_connect edges piling up in the normal cell; the `aca` op set has no skip to pile up.{search_note}{learning_text}\n\nFinal genotype:\n\n```\n{last}\n```\n",
                search.len()
            ),
        ));
    }
    if let Some(plan) = &plan {
        let p = dir.join("plan.png");
        plan_figure(&p, plan)?;
        let mut figs = vec![p];
        for cell in CellType::BOTH {
            let dot = dir.join(format!("{cell}_cell.dot"));
            write_atomic(
                &dot,
                cell_dot(&plan.genotype, Some(plan.fractions(cell)), cell).as_bytes(),
            )?;
            figs.extend(
                render_dot(&dot)
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "png")),
            );
        }
        sections.push((
            "Cells and channel plan".into(),
            figs,
            format!("```\n{}```\n", plan.to_table()),
        ));
    }
    if !train.is_empty() {
        let ep = |f: &dyn Fn(&TrainRecord) -> f64| -> Vec<(f64, f64)> {
            train.iter().map(|r| ((r.epoch + 1) as f64, f(r))).collect()
        };
        let p = dir.join("train_curves.png");
        line_figure(
            &p,
            &[
                (
                    "Training: loss",
                    "epoch",
                    "cross-entropy",
                    vec![
                        ("train (with auxiliary)".into(), ep(&|r| r.train_loss)),
                        ("test".into(), ep(&|r| r.test_loss)),
                    ],
                ),
                (
                    "Training: accuracy",
                    "epoch",
                    "accuracy",
                    vec![
                        ("train".into(), ep(&|r| r.train_acc)),
                        ("test".into(), ep(&|r| r.test_acc)),
                    ],
                ),
            ],
        )?;
        let text = match &results {
            Some(r) => format!(
                "Test top-1 **{:.2}%**, top-5 {:.2}% on {} images; {} parameters (+{} in the auxiliary head); {:.1}M multiply-adds per image.\n",
                100.0 * r.test_top1,
                100.0 * r.test_top5,
                r.test_images,
                r.params,
                r.aux_params,
                r.flops as f64 / 1e6
            ),
            None => format!(
                "{} epochs so far (training not finished).{train_note}\n",
                train.len()
            ),
        };
        sections.push(("Training from scratch".into(), vec![p], text));
    }

    let summary = std::fs::read_to_string(run.join("summary.txt")).ok();
    let mut md = String::from("# aca run report\n\n");
    let mut html = String::from("<!doctype html><html><head><meta charset=\"utf-8\"><title>aca run report</title><style>body{font-family:'DejaVu Sans',sans-serif;max-width:1700px;margin:2em auto;padding:0 1em}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}</style></head><body><h1>aca run report</h1>\n");
    if let Some(s) = &summary {
        let _ = write!(md, "```\n{s}```\n\n");
        let _ = writeln!(html, "<pre>{}</pre>", escape(s));
    }
    for (title, figs, text) in &sections {
        let _ = write!(md, "## {title}\n\n{text}\n");
        let _ = write!(
            html,
            "<h2>{}</h2>\n{}\n",
            escape(title),
            markdown_to_html(text)
        );
        for f in figs {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = write!(md, "![{name}]({name})\n\n");
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            let _ = writeln!(
                html,
                "<p><img alt=\"{name}\" src=\"data:image/png;base64,{}\"></p>",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
        }
    }
    html.push_str("</body></html>\n");
    write_atomic(&dir.join("report.md"), md.as_bytes())?;
    let index = dir.join("report.html");
    write_atomic(&index, html.as_bytes())?;
    Ok(index)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The little Markdown the report writes: code fences and paragraphs with **bold**.
fn markdown_to_html(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split("```").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<pre>{}</pre>", escape(part.trim_start_matches('\n')));
        } else {
            for para in part.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                // Text between pairs of `**` is bold; an unpaired `**` stays as it is.
                let pieces: Vec<&str> = para.split("**").collect();
                let mut p = String::new();
                for (k, piece) in pieces.iter().enumerate() {
                    let piece = escape(&piece.replace('`', ""));
                    match (k % 2, k + 1 == pieces.len()) {
                        (1, false) => {
                            let _ = write!(p, "<b>{piece}</b>");
                        }
                        (1, true) => {
                            let _ = write!(p, "**{piece}");
                        }
                        _ => p.push_str(&piece),
                    }
                }
                let _ = write!(out, "<p>{p}</p>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_alphas_are_an_error_not_a_panic() {
        let record = |rows: usize| -> EpochRecord {
            serde_json::from_value(serde_json::json!({
                "epoch": 0, "lr": 0.1, "arch_updates": true, "train_loss": 1.0, "train_acc": 0.5,
                "arch_loss": null, "valid_loss": 1.0, "valid_acc": 0.5, "genotype": "", "skip_normal": 0,
                "skip_reduce": 0, "alphas_normal": vec![vec![0.1f32; 7]; 14],
                "alphas_reduce": vec![vec![0.1f32; 7]; rows], "seconds": 1.0
            }))
            .unwrap()
        };
        let path = Path::new("m.jsonl");
        assert!(check_alphas(&[record(14)], 7, path).is_ok());
        let e = check_alphas(&[record(14), record(3)], 7, path)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "m.jsonl: epoch 0: alphas_reduce is not 14 rows of 7 weights"
        );
        assert!(check_alphas(&[record(14)], 8, path).is_err());
    }

    #[test]
    fn markdown_subset_to_html() {
        assert_eq!(markdown_to_html("x"), "<p>x</p>");
        assert_eq!(
            markdown_to_html("Test **84%** on `a<b`.\n\nnext"),
            "<p>Test <b>84%</b> on a&lt;b.</p><p>next</p>"
        );
        assert_eq!(markdown_to_html("odd ** marker"), "<p>odd ** marker</p>");
        assert_eq!(
            markdown_to_html("before\n```\ncode <x>\n```\n"),
            "<p>before</p><pre>code &lt;x&gt;\n</pre>"
        );
    }
}
