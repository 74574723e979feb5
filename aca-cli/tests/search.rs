use crate::aca;

#[test]
fn search_help_snapshot() {
    let (ok, out, _) = aca(&["search", "--help"]);
    assert!(ok);
    insta::assert_snapshot!("search_help", out);
}

#[test]
fn inspect_supernet_counts_equal_the_reference() {
    let (ok, out, err) = aca(&[
        "inspect",
        "--supernet",
        "--space",
        "darts",
        "--channels",
        "16",
        "--layers",
        "8",
        "--classes",
        "10",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["params"], 1_930_618);
    // Multiply-adds by hand: stem 3x3 3->48 at 32x32; per cell the two 1x1 preprocessings (a
    // factorized reduce after a reduction) and on each of the 14 edges sep_conv 3x3/5x5 (two
    // depthwise + pointwise pairs), dil_conv 3x3/5x5 (one pair) and, on stride-2 edges, the
    // skip's factorized reduce; pools and `none` cost none; the classifier 256x10.
    assert_eq!(v["flops"], 300_255_744);
    // DrNAS's progressive supernet, stage 1 (aca-space's tests/progressive.rs holds how the
    // official count was obtained).
    let (ok, out, err) = aca(&[
        "inspect",
        "--supernet",
        "--method",
        "drnas",
        "--preset",
        "paper",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(
            "supernet (darts-no-none, C=36, 20 cells, 10 classes, K=6) at stage 1 of 2: 2221750 parameters"
        ),
        "{out}"
    );
    let (ok, out, _) = aca(&["inspect", "--supernet", "--space", "aca"]);
    assert!(ok);
    assert_eq!(
        out,
        "supernet (aca, C=16, 8 cells, 10 classes): 1889658 parameters (1.89M); 296.1M multiply-adds per 32x32 image\n"
    );
}

#[test]
fn search_flags_are_checked() {
    let (ok, _, err) = aca(&["search", "--method", "enas"]);
    assert!(!ok);
    assert_eq!(
        err,
        "error: search config: method = enas: expected one of darts, darts2, pc-darts, beta-darts, darts-minus, sdarts-rs, sdarts-adv, fair-darts, drnas, random\n"
    );
    // A resume continues with the run's saved configuration: flags that would change it are
    // refused, not silently ignored.
    for args in [
        ["search", "--resume", "--epochs", "3", "--out", "x"],
        ["train", "--resume", "--epochs", "3", "--out", "x"],
        ["train", "--resume", "--dataset", "mnist", "--out", "x"],
        ["run", "--resume", "--resize", "8", "--out", "x"],
    ] {
        let (ok, _, err) = aca(&args);
        assert!(!ok, "{args:?}");
        assert!(err.contains("cannot be used with"), "{args:?}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = aca(&["search", "--resume", "--out", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("config.json to resume"), "{err}");
}

#[test]
fn tiny_search_runs_from_the_command_line_and_resumes() {
    if !aca_data::fashion_mnist_for_tests() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = out.to_str().unwrap();
    let small = [
        "--train-limit",
        "64",
        "--valid-limit",
        "64",
        "--channels",
        "4",
        "--layers",
        "3",
        "--batch-size",
        "32",
        "--no-progress",
    ];
    let mut args = vec!["search", "--epochs", "2", "--space", "darts", "--out", o];
    args.extend(small);
    let (ok, stdout, err) = aca(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("search epoch   2"), "{stdout}");
    assert!(stdout.contains("genotype: Genotype(normal=["), "{stdout}");
    assert!(std::fs::read_to_string(out.join("log.txt"))
        .unwrap()
        .contains("search epoch"));
    // A finished run resumed does nothing more and prints the same genotype.
    let (ok, again, err) = aca(&["search", "--resume", "--out", o, "--no-progress"]);
    assert!(ok, "{err}");
    let genotype = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("genotype:"))
            .map(String::from)
    };
    assert_eq!(genotype(&stdout), genotype(&again));
    assert!(again.contains("0 epochs"), "{again}");
    // The same command again, without --resume: the library's error plus the flags that answer it.
    let (ok, _, err) = aca(&args);
    assert!(!ok);
    assert!(
        err.contains("it already holds a search; pass --resume to continue it"),
        "{err}"
    );
}
