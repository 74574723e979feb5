//! One row of the comparison: the paired or unpaired statistics of one arm at one level.

use crate::sweep::stats;

use super::{CompareArgs, Row, BOOTSTRAP_MIN};

/// A paired row from the differences of its pairs; `unit_means` are the per-unit mean
/// differences the tests use (the differences themselves for one level).
pub(super) fn paired_row(
    arm: &str,
    level: String,
    diffs: &[f64],
    unit_means: &[f64],
    args: &CompareArgs,
) -> Row {
    let n = unit_means.len();
    let note = if n < 2 {
        Some("n too small".to_string())
    } else if n < BOOTSTRAP_MIN {
        Some(format!("n < {BOOTSTRAP_MIN}: not informative"))
    } else {
        None
    };
    let mean = if n > 0 {
        stats::mean(unit_means)
    } else {
        f64::NAN
    };
    Row {
        arm: arm.to_string(),
        pooled: level == "pooled",
        level,
        n,
        pairs: diffs.len(),
        mean,
        median: if diffs.is_empty() {
            f64::NAN
        } else {
            stats::median(diffs)
        },
        sd: stats::sd(diffs),
        tally: stats::tally(diffs),
        t: stats::t_test(unit_means),
        t_holm: None,
        bootstrap: (n >= BOOTSTRAP_MIN)
            .then(|| stats::bootstrap_bca(unit_means, args.resamples, args.seed))
            .flatten(),
        wilcoxon: (n >= 2).then(|| stats::wilcoxon(unit_means)).flatten(),
        sign_p: (n >= 2).then(|| stats::sign_test(unit_means)).flatten(),
        note,
    }
}

pub(super) fn unpaired_row(arm: &str, level: String, a: &[f64], b: &[f64]) -> Row {
    let n = a.len().min(b.len());
    Row {
        arm: arm.to_string(),
        pooled: level == "pooled",
        level,
        n: a.len(),
        pairs: b.len(),
        mean: if a.is_empty() || b.is_empty() {
            f64::NAN
        } else {
            stats::mean(a) - stats::mean(b)
        },
        median: f64::NAN,
        sd: f64::NAN,
        tally: stats::tally(&[]),
        t: stats::welch(a, b),
        t_holm: None,
        bootstrap: None,
        wilcoxon: None,
        sign_p: None,
        note: (n < 2).then(|| "n too small".to_string()),
    }
}
