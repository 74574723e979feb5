//! The statistics of `aca sweep compare`: paired differences, their intervals and tests.
//!
//! Distributions come from `statrs`; the tests follow SciPy's definitions (two-sided), which
//! the tests of this module pin to reference values computed with SciPy and statsmodels.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF, Normal, StudentsT};

/// Two values closer than this count as a tie (metrics are printed with at most 4 decimals).
const TIE: f64 = 1e-9;

/// Wins, ties and losses of a set of differences (a win is a positive difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Tally {
    pub wins: usize,
    pub ties: usize,
    pub losses: usize,
}

pub(crate) fn tally(d: &[f64]) -> Tally {
    Tally {
        wins: d.iter().filter(|x| **x > TIE).count(),
        ties: d.iter().filter(|x| x.abs() <= TIE).count(),
        losses: d.iter().filter(|x| **x < -TIE).count(),
    }
}

pub(crate) fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (n - 1); 0 for fewer than two values.
pub(crate) fn sd(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

pub(crate) fn median(x: &[f64]) -> f64 {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal")
}

fn student(df: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, df).expect("positive degrees of freedom")
}

/// A t statistic with its degrees of freedom, two-sided p-value and 95 % interval of the
/// difference it tests.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct TTest {
    pub t: f64,
    pub df: f64,
    pub p: f64,
    pub ci: (f64, f64),
}

fn t_test_from(estimate: f64, se: f64, df: f64) -> Option<TTest> {
    if se.is_nan() || se <= 0.0 || df.is_nan() || df <= 0.0 {
        return None;
    }
    let dist = student(df);
    let t = estimate / se;
    let half = dist.inverse_cdf(0.975) * se;
    Some(TTest {
        t,
        df,
        p: (2.0 * dist.sf(t.abs())).min(1.0),
        ci: (estimate - half, estimate + half),
    })
}

/// One-sample (paired) t-test of mean zero: `scipy.stats.ttest_1samp(d, 0)`. `None` with fewer
/// than two values or no spread.
pub(crate) fn t_test(d: &[f64]) -> Option<TTest> {
    if d.len() < 2 {
        return None;
    }
    t_test_from(
        mean(d),
        sd(d) / (d.len() as f64).sqrt(),
        (d.len() - 1) as f64,
    )
}

/// Welch's unequal-variance t-test of `a - b`: `scipy.stats.ttest_ind(a, b, equal_var=False)`.
pub(crate) fn welch(a: &[f64], b: &[f64]) -> Option<TTest> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (va, vb) = (
        sd(a).powi(2) / a.len() as f64,
        sd(b).powi(2) / b.len() as f64,
    );
    let se = (va + vb).sqrt();
    let df =
        (va + vb).powi(2) / (va.powi(2) / (a.len() - 1) as f64 + vb.powi(2) / (b.len() - 1) as f64);
    t_test_from(mean(a) - mean(b), se, df)
}

/// How a Wilcoxon p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum WilcoxonMethod {
    /// The exact null distribution (no ties, no zeros, n <= 50).
    Exact,
    /// Every sign assignment of the (tied) ranks, as SciPy's `method="auto"` with ties or zeros
    /// and n <= 13.
    Permutation,
    /// The normal approximation with SciPy's tie correction and a continuity correction.
    Normal,
}

/// The Wilcoxon signed-rank test of a symmetric distribution about zero: zeros dropped
/// (`zero_method="wilcox"`), statistic min(W+, W-).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Wilcoxon {
    pub statistic: f64,
    pub p: f64,
    pub method: WilcoxonMethod,
}

/// Average ranks (1-based) of `x`, ties sharing the mean of their ranks.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && (x[order[j + 1]] - x[order[i]]).abs() <= TIE {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = rank;
        }
        i = j + 1;
    }
    r
}

/// The null distribution of W+ over every sign assignment of `doubled` (ranks times two, so
/// that mid-ranks are integers): `counts[s]` assignments give 2 W+ = s.
fn sign_assignment_counts(doubled: &[usize]) -> Vec<f64> {
    let total: usize = doubled.iter().sum();
    let mut counts = vec![0.0; total + 1];
    counts[0] = 1.0;
    let mut reach = 0;
    for &r in doubled {
        for s in (0..=reach).rev() {
            if counts[s] > 0.0 {
                counts[s + r] += counts[s];
            }
        }
        reach += r;
    }
    counts
}

/// Two-sided Wilcoxon signed-rank test (SciPy 1.17's `wilcoxon(d)`, except that the normal
/// approximation has a continuity correction, `correction=True`). `None` when every
/// difference is zero.
pub(crate) fn wilcoxon(d: &[f64]) -> Option<Wilcoxon> {
    let zeros = d.iter().filter(|x| x.abs() <= TIE).count();
    let nonzero: Vec<f64> = d.iter().copied().filter(|x| x.abs() > TIE).collect();
    let n = nonzero.len();
    if n == 0 {
        return None;
    }
    let r = ranks(&nonzero.iter().map(|x| x.abs()).collect::<Vec<_>>());
    let w_plus: f64 = r
        .iter()
        .zip(&nonzero)
        .filter(|(_, x)| **x > 0.0)
        .map(|(r, _)| r)
        .sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let statistic = w_plus.min(total - w_plus);
    let ties = r
        .iter()
        .any(|a| r.iter().filter(|b| (*b - a).abs() < 1e-9).count() > 1);
    let exact = !ties && zeros == 0 && n <= 50;
    let permutation = (ties || zeros > 0) && d.len() <= 13;
    if exact || permutation {
        let doubled: Vec<usize> = r.iter().map(|x| (2.0 * x).round() as usize).collect();
        let counts = sign_assignment_counts(&doubled);
        let all: f64 = counts.iter().sum();
        let observed = (2.0 * w_plus).round() as usize;
        let below: f64 = counts[..=observed].iter().sum::<f64>() / all;
        let above: f64 = counts[observed..].iter().sum::<f64>() / all;
        return Some(Wilcoxon {
            statistic,
            p: (2.0 * below.min(above)).min(1.0),
            method: if exact {
                WilcoxonMethod::Exact
            } else {
                WilcoxonMethod::Permutation
            },
        });
    }
    let mn = total / 2.0;
    // SciPy's variance with its tie correction.
    let mut var = (n * (n + 1) * (2 * n + 1)) as f64 / 24.0;
    let mut seen: Vec<f64> = Vec::new();
    for a in &r {
        if !seen.iter().any(|b| (b - a).abs() < 1e-9) {
            seen.push(*a);
            let t = r.iter().filter(|b| (*b - a).abs() < 1e-9).count() as f64;
            var -= (t * t * t - t) / 48.0;
        }
    }
    let mut diff = statistic - mn;
    if diff != 0.0 {
        diff -= 0.5 * diff.signum();
    }
    let z = diff / var.sqrt();
    Some(Wilcoxon {
        statistic,
        p: (2.0 * normal().sf(z.abs())).min(1.0),
        method: WilcoxonMethod::Normal,
    })
}

/// Exact two-sided sign test: zeros dropped, wins against Binomial(n, 1/2)
/// (`scipy.stats.binomtest(wins, n)`). `None` when every difference is zero.
pub(crate) fn sign_test(d: &[f64]) -> Option<f64> {
    let t = tally(d);
    let n = (t.wins + t.losses) as u64;
    if n == 0 {
        return None;
    }
    let dist = Binomial::new(0.5, n).expect("a probability of one half");
    let k = t.wins.min(t.losses) as u64;
    Some((2.0 * dist.cdf(k)).min(1.0))
}

/// Holm's step-down adjustment of p-values (`None`s are left out and stay `None`).
pub(crate) fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    order.sort_by(|&i, &j| p[i].unwrap_or(1.0).total_cmp(&p[j].unwrap_or(1.0)));
    let m = order.len();
    let mut out = vec![None; p.len()];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let adjusted = ((m - rank) as f64 * p[i].unwrap_or(1.0)).min(1.0);
        running = running.max(adjusted);
        out[i] = Some(running);
    }
    out
}

/// Linear-interpolated percentile of sorted values (NumPy's default).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The BCa bootstrap 95 % interval of the mean (`scipy.stats.bootstrap(..., method="BCa")`),
/// from `resamples` resamples drawn from a stream seeded with `seed`. `None` below 2 values.
pub(crate) fn bootstrap_bca(d: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    let n = d.len();
    if n < 2 || resamples < 2 {
        return None;
    }
    let estimate = mean(d);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| d[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let normal = normal();
    let below = means.iter().filter(|m| **m < estimate).count() as f64 / resamples as f64;
    let z0 = normal.inverse_cdf(below);
    // Acceleration from the jackknife.
    let jack: Vec<f64> = (0..n)
        .map(|i| (d.iter().sum::<f64>() - d[i]) / (n - 1) as f64)
        .collect();
    let jm = mean(&jack);
    let num: f64 = jack.iter().map(|j| (jm - j).powi(3)).sum();
    let den = 6.0 * jack.iter().map(|j| (jm - j).powi(2)).sum::<f64>().powf(1.5);
    let a = if den > 0.0 { num / den } else { 0.0 };
    if !z0.is_finite() {
        // Every resample on one side of the estimate: no bias correction is possible.
        return Some((means[0], means[resamples - 1]));
    }
    let level = |alpha: f64| {
        let z = normal.inverse_cdf(alpha);
        normal.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    };
    Some((
        percentile(&means, level(0.025)),
        percentile(&means, level(0.975)),
    ))
}

/// The power of a two-sided one-sample t-test at level 0.05 with `df` degrees of freedom and
/// noncentrality `delta`, from the noncentral t distribution: the mean over the chi-square's
/// quantiles of P(|Z + delta| > c sqrt(V / df)).
fn t_power(df: f64, delta: f64, grid: &[f64]) -> f64 {
    let c = student(df).inverse_cdf(0.975);
    let normal = normal();
    grid.iter()
        .map(|v| {
            let s = c * (v / df).sqrt();
            normal.cdf(delta - s) + normal.cdf(-s - delta)
        })
        .sum::<f64>()
        / grid.len() as f64
}

/// Midpoint quantiles of the chi-square distribution with `df` degrees of freedom.
fn chi_square_grid(df: f64) -> Vec<f64> {
    const POINTS: usize = 4000;
    let chi = ChiSquared::new(df).expect("positive degrees of freedom");
    (0..POINTS)
        .map(|i| chi.inverse_cdf((i as f64 + 0.5) / POINTS as f64))
        .collect()
}

/// The smallest standardised difference (difference / sd) that a two-sided paired t-test at
/// level 0.05 detects with 80 % power from `n` pairs (statsmodels' `TTestPower.solve_power`).
pub(crate) fn detectable_effect(n: usize) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let df = (n - 1) as f64;
    let grid = chi_square_grid(df);
    let (mut lo, mut hi) = (0.0, 100.0);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if t_power(df, mid, &grid) < 0.8 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi / (n as f64).sqrt())
}

/// How many pairs a two-sided paired t-test at level 0.05 needs to detect the standardised
/// difference `effect` with 80 % power; `None` above 100,000 or for no effect.
pub(crate) fn units_needed(effect: f64) -> Option<usize> {
    let effect = effect.abs();
    if effect.is_nan() || effect <= 0.0 {
        return None;
    }
    let powered = |n: usize| {
        let df = (n - 1) as f64;
        t_power(df, effect * (n as f64).sqrt(), &chi_square_grid(df)) >= 0.8
    };
    let mut hi = 2;
    while !powered(hi) {
        hi *= 2;
        if hi > 100_000 {
            return None;
        }
    }
    let mut lo = hi / 2;
    if lo < 2 {
        return Some(2);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if powered(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Least-squares slope of `y` against `x`; `None` when `x` has no spread.
pub(crate) fn slope(x: &[f64], y: &[f64]) -> Option<f64> {
    let (mx, my) = (mean(x), mean(y));
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    Some(
        x.iter()
            .zip(y)
            .map(|(a, b)| (a - mx) * (b - my))
            .sum::<f64>()
            / sxx,
    )
}

#[cfg(test)]
mod tests;
