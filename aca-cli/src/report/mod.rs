//! `aca report`: figures (PNG), cell diagrams (Graphviz) and a summary page of a run directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod figures;

use figures::{alphas_figure, ensure_font, line_figure, plan_figure, render_dot};
pub(crate) use figures::{error_bar_figure, forest_figure, ForestRow, Series};

use aca_core::write_atomic;
use aca_eval::{RunContents, TrainRecord};
use aca_search::EpochRecord;
use aca_space::{CellType, OpSet};
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A run directory of `aca run` (or a search or training run directory).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,
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
    let contents = RunContents::read(run)?;
    let search = contents.search_records()?;
    let train = contents.train_records()?;
    let plan = contents.read_plan()?;
    let results = contents.train_results();
    let search_metrics = contents
        .search
        .as_ref()
        .map(|(d, _)| d.join(aca_search::files::METRICS))
        .unwrap_or_default();
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
        contents.search.as_ref().map(|(_, c)| c.epochs),
        contents.search_finished(),
    );
    let train_note = stopped_early(
        train.len(),
        contents.train.as_ref().map(|(_, c)| c.epochs),
        results.is_some(),
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
        let ops = match &contents.search {
            Some((_, config)) => config.op_set()?,
            None => OpSet::aca(),
        };
        check_alphas(&search, ops.len(), &search_metrics)?;
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
                plan.genotype
                    .to_dot(cell, Some(plan.fractions(cell)))
                    .as_bytes(),
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
