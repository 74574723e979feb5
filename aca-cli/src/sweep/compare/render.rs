//! The comparison as Markdown, CSV and the forest plot's rows.

use std::fmt::Write as _;

use super::input::label;
use super::Comparison;
use crate::sweep::stats::{self, Wilcoxon};

fn signed(x: f64, d: usize) -> String {
    if x.is_nan() {
        "—".into()
    } else {
        format!("{x:+.d$}")
    }
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) if p < 0.001 => "< 0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

fn interval(ci: Option<(f64, f64)>, d: usize) -> String {
    match ci {
        Some((lo, hi)) => format!("[{lo:+.d$}, {hi:+.d$}]"),
        None => "—".into(),
    }
}

/// Decimals for a metric's differences (collect's, at least 2).
fn decimals(metric: &str) -> usize {
    match metric {
        "params" | "search_s" | "train_s" => 0,
        "identity_normal" | "identity_reduce" => 3,
        _ => 2,
    }
}

pub(crate) fn markdown(c: &Comparison) -> String {
    let d = decimals(&c.metric);
    let mut out = String::new();
    let base = label(
        &c.baseline.iter().map(|b| b.0.clone()).collect::<Vec<_>>(),
        &c.baseline.iter().map(|b| b.1.clone()).collect::<Vec<_>>(),
    );
    let _ = writeln!(out, "# {} against the baseline {base}\n", c.metric);
    if let Some(filter) = &c.filter {
        let _ = writeln!(out, "Runs: only those with {filter}.");
    }
    if !c.arms.is_empty() {
        let _ = writeln!(out, "Arms: only {}.", c.arms.join("; "));
    }
    let level_head = if c.by.is_empty() {
        "level".to_string()
    } else {
        c.by.join(",")
    };
    if c.paired {
        let shared = if c.shared.is_empty() {
            String::new()
        } else {
            format!(" and on {}", c.shared.join(", "))
        };
        let _ = writeln!(
            out,
            "Differences arm − baseline, paired on {}{shared}. 95 % intervals; two-sided p-values; \
             Holm over the arms at each level. Bootstrap: BCa, {} resamples, seed {}.",
            c.unit, c.resamples, c.seed
        );
        if c.rows.iter().any(|r| r.pooled) {
            let _ = writeln!(
                out,
                "Pooled rows average each {unit}'s differences over the levels of {by} first and \
                 test one difference per {unit} (n = {unit}s): the levels of one {unit} are not \
                 independent. Their pairs, sd and W/T/L count every pair.",
                unit = c.unit,
                by = c.by.join(",")
            );
        }
        let _ = writeln!(
            out,
            "\n| arm | {level_head} | n | pairs | mean | median | sd | W/T/L | t 95 % CI | BCa 95 % CI | p (t) | p (t, Holm) | p (Wilcoxon) | p (sign) |"
        );
        let _ = writeln!(out, "|{}", "---|".repeat(14));
        for r in &c.rows {
            let boot = match (&r.bootstrap, &r.note) {
                (Some(ci), _) => interval(Some(*ci), d),
                (None, Some(note)) => note.clone(),
                (None, None) => "—".into(),
            };
            let wil = match r.wilcoxon {
                Some(w) => format!("{} ({})", p_text(Some(w.p)), wilcoxon_name(&w)),
                None => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.d$} | {}/{}/{} | {} | {} | {} | {} | {} | {} |",
                r.arm,
                level_cell(&r.level),
                r.n,
                r.pairs,
                signed(r.mean, d),
                signed(r.median, d),
                r.sd,
                r.tally.wins,
                r.tally.ties,
                r.tally.losses,
                interval(r.t.map(|t| t.ci), d),
                boot,
                if r.n < 2 {
                    "n too small".into()
                } else {
                    p_text(r.t.map(|t| t.p))
                },
                p_text(r.t_holm),
                wil,
                p_text(r.sign_p),
            );
        }
    } else {
        let _ = writeln!(
            out,
            "Independent samples (--unpaired): mean of the arm's runs − mean of the baseline's, \
             Welch's t-test, 95 % interval, two-sided; Holm over the arms at each level. Pooled \
             rows compare one mean per {} on each side.",
            c.unit
        );
        let _ = writeln!(
            out,
            "\n| arm | {level_head} | arm runs | baseline runs | mean difference | Welch 95 % CI | df | p (Welch) | p (Welch, Holm) |"
        );
        let _ = writeln!(out, "|{}", "---|".repeat(9));
        for r in &c.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.arm,
                level_cell(&r.level),
                r.n,
                r.pairs,
                signed(r.mean, d),
                interval(r.t.map(|t| t.ci), d),
                r.t.map_or("—".into(), |t| format!("{:.1}", t.df)),
                r.note.clone().unwrap_or_else(|| p_text(r.t.map(|t| t.p))),
                p_text(r.t_holm),
            );
        }
    }
    if !c.power.is_empty() {
        let _ = writeln!(
            out,
            "\nPower (paired t-test over {}s, 80 %, α = 0.05, two-sided):",
            c.unit
        );
        for p in &c.power {
            let detectable = p.detectable.map_or("—".into(), |x| format!("±{x:.d$}"));
            let need = match p.units_needed {
                Some(n) => format!("would need {n} {}s", c.unit),
                None => "cannot be powered (no spread or no difference)".into(),
            };
            let _ = writeln!(
                out,
                "- {}: with n = {} and sd {:.d$} the smallest detectable difference is {detectable}; the observed {} {need}.",
                p.arm,
                p.n,
                p.sd,
                signed(p.observed, d),
            );
        }
    }
    if !c.trends.is_empty() {
        let _ = writeln!(
            out,
            "\nTrend: each {}'s least-squares slope of the difference against {}, t-interval over {}s:",
            c.unit, c.by[0], c.unit
        );
        for t in &c.trends {
            let span = t.range.1 - t.range.0;
            let (ci, p) = match t.t {
                Some(tt) => (
                    format!("[{:+.4}, {:+.4}]", tt.ci.0, tt.ci.1),
                    p_text(Some(tt.p)),
                ),
                None => ("—".into(), "— (n too small)".into()),
            };
            let _ = writeln!(
                out,
                "- {}: {:+.4} per {} ({} from {} to {}), 95 % CI {ci}, p = {p}, n = {}.",
                t.arm,
                t.slope,
                t.axis,
                signed(t.slope * span, d),
                t.range.0,
                t.range.1,
                t.n
            );
        }
    }
    if !c.unpartnered.is_empty() {
        let _ = writeln!(
            out,
            "\nRuns without a baseline partner (left out): {}.",
            c.unpartnered.join("; ")
        );
    }
    out
}

fn level_cell(level: &str) -> String {
    match level.split_once('=') {
        Some((_, v)) if !level.contains(',') => v.to_string(),
        _ => level.to_string(),
    }
}

fn wilcoxon_name(w: &Wilcoxon) -> &'static str {
    match w.method {
        stats::WilcoxonMethod::Exact => "exact",
        stats::WilcoxonMethod::Permutation => "exact, ties",
        stats::WilcoxonMethod::Normal => "normal",
    }
}

pub(crate) fn csv(c: &Comparison) -> String {
    let mut out = String::from(
        "arm,level,pooled,n,pairs,mean,median,sd,wins,ties,losses,t,df,t_ci_low,t_ci_high,bca_low,bca_high,p_t,p_t_holm,wilcoxon_statistic,wilcoxon_method,p_wilcoxon,p_sign,note\n",
    );
    let num = |x: Option<f64>| {
        x.filter(|v| v.is_finite())
            .map_or(String::new(), |v| format!("{v}"))
    };
    for r in &c.rows {
        let fields = [
            crate::sweep::collect::csv_field(&r.arm),
            crate::sweep::collect::csv_field(&r.level),
            r.pooled.to_string(),
            r.n.to_string(),
            r.pairs.to_string(),
            num(Some(r.mean)),
            num(Some(r.median)),
            num(Some(r.sd)),
            r.tally.wins.to_string(),
            r.tally.ties.to_string(),
            r.tally.losses.to_string(),
            num(r.t.map(|t| t.t)),
            num(r.t.map(|t| t.df)),
            num(r.t.map(|t| t.ci.0)),
            num(r.t.map(|t| t.ci.1)),
            num(r.bootstrap.map(|b| b.0)),
            num(r.bootstrap.map(|b| b.1)),
            num(r.t.map(|t| t.p)),
            num(r.t_holm),
            num(r.wilcoxon.map(|w| w.statistic)),
            r.wilcoxon
                .map_or(String::new(), |w| wilcoxon_name(&w).into()),
            num(r.wilcoxon.map(|w| w.p)),
            num(r.sign_p),
            crate::sweep::collect::csv_field(r.note.as_deref().unwrap_or("")),
        ];
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

/// The forest plot's rows.
pub(crate) fn forest_rows(c: &Comparison) -> Vec<crate::report::ForestRow> {
    c.rows
        .iter()
        .filter(|r| r.mean.is_finite())
        .map(|r| {
            let label = if r.level == "all" {
                r.arm.clone()
            } else {
                format!("{} · {}", r.arm, r.level)
            };
            crate::report::ForestRow {
                label,
                mean: r.mean,
                interval: r.t.map(|t| t.ci),
                n: r.n,
                pooled: r.pooled,
            }
        })
        .collect()
}
