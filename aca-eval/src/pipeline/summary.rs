//! The summary of a finished `aca run` (`summary.txt`, and what the command prints).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aca_data::DatasetKind;
use aca_search::{files as search_files, EpochRecord, MethodKind, Preset};
use aca_space::{ArchLearning, Space};

use super::config::StageSeconds;

/// Everything the final summary shows.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Summary {
    pub dataset: DatasetKind,
    pub space: Space,
    pub method: MethodKind,
    pub preset: Preset,
    /// The genotype as DARTS writes it.
    pub genotype: String,
    pub identity_normal: f64,
    pub identity_reduce: f64,
    /// `skip_connect` edges in the normal cell.
    pub skip_normal: usize,
    /// The learning indicators of the search epoch evaluated.
    pub learning: Option<ArchLearning>,
    pub params: i64,
    pub aux_params: i64,
    /// Multiply-adds per image.
    pub flops: u64,
    pub top1: f64,
    pub top5: f64,
    pub test_images: usize,
    pub seconds: StageSeconds,
    /// The report's page, when the front end renders one.
    pub report: Option<PathBuf>,
}

fn duration(s: f64) -> String {
    humantime::format_duration(Duration::from_secs(s.round() as u64)).to_string()
}

impl Summary {
    /// The text of `summary.txt`, which `aca run` prints at its end.
    pub fn render(&self) -> String {
        let s = self;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "aca run: {} search ({}) on {}, preset {}",
            s.space, s.method, s.dataset, s.preset
        );
        let _ = writeln!(out, "  genotype        {}", s.genotype);
        let _ = writeln!(
            out,
            "  identity share  normal cells {:.1}%, reduction cells {:.1}%  (skip_connect edges in the normal cell: {})",
            100.0 * s.identity_normal,
            100.0 * s.identity_reduce,
            s.skip_normal
        );
        if let Some(l) = &s.learning {
            let _ = writeln!(
                out,
                "  architecture    alphas moved {:.1}x their initial noise, normal-cell entropy {:.1}% of uniform{}",
                l.shift,
                100.0 * l.relative_entropy_normal(),
                if s.method == MethodKind::Random {
                    " (random baseline: no architecture step)"
                } else if l.learned() {
                    ""
                } else {
                    " (not learned)"
                }
            );
            if !l.learned() && s.method != MethodKind::Random {
                let _ = writeln!(
                    out,
                    "  warning         {}",
                    aca_search::not_learned_message(l)
                );
            }
        }
        let _ = writeln!(
            out,
            "  parameters      {} ({:.2}M), auxiliary head {}",
            s.params,
            s.params as f64 / 1e6,
            s.aux_params
        );
        let _ = writeln!(
            out,
            "  multiply-adds   {:.1}M per image",
            s.flops as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "  test accuracy   top-1 {:.2}%, top-5 {:.2}% on {} images",
            100.0 * s.top1,
            100.0 * s.top5,
            s.test_images
        );
        let t = &s.seconds;
        let _ = writeln!(
            out,
            "  time            search {}, allocate {}, train {}, test {}, report {}",
            duration(t.search),
            duration(t.allocate),
            duration(t.train),
            duration(t.test),
            duration(t.report)
        );
        match &s.report {
            Some(page) => {
                let _ = writeln!(out, "  report          {}", page.display());
            }
            None => {
                let _ = writeln!(out, "  report          none");
            }
        }
        out
    }
}

/// The learning indicators of the search epoch evaluated (the last one by default).
pub(super) fn last_learning(search_dir: &Path, epoch: Option<usize>) -> Option<ArchLearning> {
    let text = std::fs::read_to_string(search_dir.join(search_files::METRICS)).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<EpochRecord>(l).ok())
        .find(|r| epoch.is_none_or(|e| r.epoch + 1 == e))?
        .learning
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_snapshot() {
        let s = Summary {
            dataset: DatasetKind::FashionMnist,
            space: Space::Aca,
            method: MethodKind::Darts,
            preset: Preset::Tiny,
            genotype: "Genotype(normal=[('sep_conv_3x3', 0)], ...)".into(),
            identity_normal: 0.25,
            identity_reduce: 0.5,
            skip_normal: 0,
            learning: Some(ArchLearning {
                entropy_normal: 1.9,
                entropy_reduce: 1.8,
                uniform_entropy: 7f64.ln(),
                max_weight: 0.4,
                shift: 1.5,
            }),
            params: 123_456,
            aux_params: 7_890,
            flops: 12_345_678,
            top1: 0.8512,
            top5: 0.9934,
            test_images: 10_000,
            seconds: StageSeconds {
                search: 201.0,
                allocate: 4.2,
                train: 250.0,
                test: 3.0,
                report: 1.0,
            },
            report: Some(PathBuf::from("runs/run-x/report/report.html")),
        };
        insta::assert_snapshot!(s.render());
    }
}
