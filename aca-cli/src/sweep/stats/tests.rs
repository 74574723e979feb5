use super::*;

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} against {b}");
}

// Reference values: SciPy 1.17.1 and statsmodels 0.15.0 (Python 3.11, NumPy 2), each call
// written beside its value. The tests need neither.
const D: [f64; 9] = [0.62, -0.31, 0.94, 0.15, 0.48, -0.07, 1.21, 0.33, 0.56];

#[test]
fn t_test_and_its_interval_match_scipy() {
    // r = scipy.stats.ttest_1samp(D, 0); r.confidence_interval(0.95)
    let t = t_test(&D).expect("a test");
    close(t.t, 2.740_201_741_092_523, 1e-9, "t");
    close(t.df, 8.0, 0.0, "df");
    close(t.p, 0.025_441_297_854_086_053, 1e-9, "p");
    close(t.ci.0, 0.068_839_726_229_086_4, 1e-9, "low");
    close(t.ci.1, 0.800_049_162_659_802_4, 1e-9, "high");
    assert!(t_test(&[0.4]).is_none(), "one value");
    assert!(t_test(&[0.4, 0.4]).is_none(), "no spread");
}

#[test]
fn welch_matches_scipy() {
    // r = scipy.stats.ttest_ind(A, B, equal_var=False); r.df; r.confidence_interval(0.95)
    let a = [85.1, 84.7, 85.9, 84.2, 85.5];
    let b = [84.3, 84.9, 83.8, 84.1, 84.6, 83.9];
    let w = welch(&a, &b).expect("a test");
    close(w.t, 2.365_923_303_935_586, 1e-9, "t");
    close(w.df, 6.553_776_254_906_745, 1e-9, "df");
    close(w.p, 0.052_312_812_529_869_26, 1e-9, "p");
    close(w.ci.0, -0.010_908_912_867_037_213, 1e-9, "low");
    close(w.ci.1, 1.637_575_579_533_730_8, 1e-9, "high");
}

#[test]
fn wilcoxon_matches_scipy_exact_permutation_and_normal() {
    // scipy.stats.wilcoxon(D): exact (no ties, no zeros)
    let w = wilcoxon(&D).expect("a test");
    assert_eq!(w.method, WilcoxonMethod::Exact);
    close(w.statistic, 4.0, 0.0, "W");
    close(w.p, 0.027_343_75, 1e-12, "p");
    // E = [(-1 if i % 3 == 0 else 1) * (i + 1) * 0.1 for i in range(30)]: exact at n = 30
    let e: Vec<f64> = (0..30)
        .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 } * ((i + 1) as f64 * 0.1))
        .collect();
    let w = wilcoxon(&e).expect("a test");
    assert_eq!(w.method, WilcoxonMethod::Exact);
    close(w.statistic, 145.0, 1e-9, "W");
    close(w.p, 0.073_244_074_359_536_17, 1e-12, "p");
    // scipy.stats.wilcoxon([0.3, -0.3, 0.5, 0.5, 0.0, 1.2, -0.1, 0.8]): ties and a zero,
    // n <= 13, so every sign assignment of the tied ranks
    let t = [0.3, -0.3, 0.5, 0.5, 0.0, 1.2, -0.1, 0.8];
    let w = wilcoxon(&t).expect("a test");
    assert_eq!(w.method, WilcoxonMethod::Permutation);
    close(w.statistic, 3.5, 1e-12, "W");
    close(w.p, 0.093_75, 1e-12, "p");
    // scipy.stats.wilcoxon(L, correction=True): ties and zeros, n = 18
    let l = [
        0.3, -0.3, 0.5, 0.5, 0.0, 1.2, -0.1, 0.8, 0.2, 0.2, -0.6, 0.9, 0.4, 0.7, -0.2, 1.1, 0.0,
        0.3,
    ];
    let w = wilcoxon(&l).expect("a test");
    assert_eq!(w.method, WilcoxonMethod::Normal);
    close(w.statistic, 21.0, 1e-12, "W");
    close(w.p, 0.016_036_566_875_676_565, 1e-10, "p");
    // F = [(-1 if i % 4 == 0 else 1) * (i + 1) * 0.1 for i in range(60)]:
    // scipy.stats.wilcoxon(F, correction=True), n > 50
    let f: Vec<f64> = (0..60)
        .map(|i| if i % 4 == 0 { -1.0 } else { 1.0 } * ((i + 1) as f64 * 0.1))
        .collect();
    let w = wilcoxon(&f).expect("a test");
    assert_eq!(w.method, WilcoxonMethod::Normal);
    close(w.statistic, 435.0, 1e-9, "W");
    close(w.p, 0.000_415_734_614_324_144_8, 1e-10, "p");
    // 14 differences, 2 of them zeros: SciPy counts the zeros in its n <= 13 rule, so the
    // normal approximation; scipy.stats.wilcoxon(M, correction=True, method="asymptotic")
    let m = [
        0.3, -0.3, 0.5, 0.5, 0.0, 1.2, -0.1, 0.8, 0.2, 0.0, -0.6, 0.9, 0.4, 0.7,
    ];
    let w = wilcoxon(&m).expect("a test");
    assert_eq!(w.method, WilcoxonMethod::Normal);
    close(w.statistic, 12.5, 1e-12, "W");
    close(w.p, 0.041_233_083_252_632_72, 1e-10, "p");
    assert!(wilcoxon(&[0.0, 0.0]).is_none(), "only zeros");
}

#[test]
fn sign_test_matches_scipy_binomtest() {
    // scipy.stats.binomtest(7, 9).pvalue, binomtest(2, 10), binomtest(3, 3)
    close(sign_test(&D).expect("a test"), 0.179_687_5, 1e-12, "7 of 9");
    let two_of_ten = [
        1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.0,
    ];
    close(
        sign_test(&two_of_ten).expect("a test"),
        0.109_375,
        1e-12,
        "2 of 10, a tie",
    );
    close(
        sign_test(&[1.0, 2.0, 3.0]).expect("a test"),
        0.25,
        1e-12,
        "3 of 3",
    );
    assert!(sign_test(&[0.0]).is_none());
}

#[test]
fn holm_matches_statsmodels() {
    // statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.20], method="holm")[1]
    let p = holm(&[Some(0.01), Some(0.04), None, Some(0.03), Some(0.20)]);
    let want = [Some(0.04), Some(0.09), None, Some(0.09), Some(0.2)];
    for (a, b) in p.iter().zip(want) {
        match (a, b) {
            (Some(a), Some(b)) => close(*a, b, 1e-12, "holm"),
            (a, b) => assert_eq!(*a, b),
        }
    }
}

#[test]
fn bca_bootstrap_agrees_with_scipy_within_its_monte_carlo_error() {
    // scipy.stats.bootstrap((D,), np.mean, method="BCa", n_resamples=10000,
    // random_state=s) for s in range(20): low 0.14471 (sd 0.00399), high 0.72886 (sd 0.00437)
    let (lo, hi) = bootstrap_bca(&D, 10_000, 0).expect("an interval");
    close(lo, 0.144_71, 4.0 * 0.004, "low");
    close(hi, 0.728_86, 4.0 * 0.0044, "high");
    assert_eq!(
        bootstrap_bca(&D, 10_000, 0),
        bootstrap_bca(&D, 10_000, 0),
        "seeded"
    );
    assert_ne!(bootstrap_bca(&D, 10_000, 0), bootstrap_bca(&D, 10_000, 1));
}

#[test]
fn power_matches_statsmodels() {
    // statsmodels.stats.power.TTestPower().solve_power(effect_size=None, nobs=n,
    // alpha=0.05, power=0.8, alternative="two-sided")
    for (n, want) in [
        (3, 3.264_043_552_819_638),
        (5, 1.681_997_083_323_267_4),
        (9, 1.066_973_244_515_687_4),
        (20, 0.660_441_654_438_036_2),
    ] {
        close(
            detectable_effect(n).expect("n >= 2"),
            want,
            2e-4 * want,
            "effect",
        );
    }
    // ... solve_power(effect_size=e, nobs=None, ...): 33.37, 14.30, 6.80 -> whole units
    assert_eq!(units_needed(0.5), Some(34));
    assert_eq!(units_needed(-0.8), Some(15));
    assert_eq!(units_needed(1.3), Some(7));
    assert_eq!(units_needed(0.0), None);
}

#[test]
fn slope_median_and_tally() {
    // scipy.stats.linregress([10, 20, 40], [0.1, 0.4, 0.5]).slope
    close(
        slope(&[10.0, 20.0, 40.0], &[0.1, 0.4, 0.5]).expect("spread"),
        0.012_142_857_142_857_143,
        1e-12,
        "slope",
    );
    assert!(slope(&[1.0, 1.0], &[0.0, 1.0]).is_none());
    close(median(&D), 0.48, 1e-12, "median");
    close(median(&[1.0, 4.0, 2.0, 3.0]), 2.5, 1e-12, "even median");
    assert_eq!(
        tally(&[0.5, 0.0, -0.2, 0.1]),
        Tally {
            wins: 2,
            ties: 1,
            losses: 1
        }
    );
}
