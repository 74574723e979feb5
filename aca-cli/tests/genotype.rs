use crate::aca;

#[test]
fn help_snapshots() {
    let (ok, out, _) = aca(&["--help"]);
    assert!(ok);
    insta::assert_snapshot!("aca_help", out);
    let (ok, out, _) = aca(&["genotype", "show", "--help"]);
    assert!(ok);
    insta::assert_snapshot!("genotype_show_help", out);
}

#[test]
fn show_darts_v2_in_darts_form() {
    let (ok, out, err) = aca(&["genotype", "show", "darts_v2", "--format", "darts"]);
    assert!(ok, "{err}");
    assert_eq!(out, format!("{}\n", aca_space::PUBLISHED[1].1));
}

#[test]
fn show_reads_files_in_every_form_and_checks_the_space() {
    let dir = tempfile::tempdir().unwrap();
    let g = aca_space::published("pc_darts").unwrap();
    for (name, text) in [
        ("g.json", g.to_json()),
        ("g.txt", g.to_darts()),
        ("g.table", g.to_table()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let (ok, out, err) = aca(&[
            "genotype",
            "show",
            path.to_str().unwrap(),
            "--format",
            "table",
        ]);
        assert!(ok, "{name}: {err}");
        assert_eq!(out, g.to_table());
    }
    let (ok, _, err) = aca(&["genotype", "show", "pc_darts", "--space", "aca"]);
    assert!(!ok);
    assert!(
        err.contains("uses `skip_connect`, which op set `aca` does not hold"),
        "{err}"
    );
}

#[test]
fn bad_input_gives_one_clear_error() {
    let (ok, _, err) = aca(&["genotype", "show", "no_such_thing"]);
    assert!(!ok);
    assert_eq!(
        err,
        "error: `no_such_thing` is neither a published genotype (darts_v1, darts_v2, pc_darts, fair_darts_a) nor an existing file\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.txt");
    std::fs::write(&path, "Genotype(normal=[('sep_conv_9x9', 0)])").unwrap();
    let (ok, _, err) = aca(&["genotype", "show", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("broken.txt"), "{err}");
    assert!(err.contains("unknown op `sep_conv_9x9`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn derive_from_alphas_file() {
    let dir = tempfile::tempdir().unwrap();
    // aca op set (7 columns): sep_conv_3x3 (column 3) strongest everywhere, stronger on input 1.
    let row = |w: f32| format!("[0, 0, 0, {w}, 0, 0, 0]");
    let rows: Vec<_> = aca_space::topology::edges()
        .map(|e| row(if e.input == 1 { 2.0 } else { 1.0 }))
        .collect();
    let matrix = format!("[{}]", rows.join(", "));
    let path = dir.path().join("alphas.json");
    std::fs::write(
        &path,
        format!("{{\"normal\": {matrix}, \"reduce\": {matrix}}}"),
    )
    .unwrap();
    let (ok, out, err) = aca(&[
        "genotype",
        "derive",
        "--alphas",
        path.to_str().unwrap(),
        "--space",
        "aca",
        "--format",
        "darts",
    ]);
    assert!(ok, "{err}");
    let pairs = "[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)]";
    assert_eq!(
        out,
        format!("Genotype(normal={pairs}, normal_concat=range(2, 6), reduce={pairs}, reduce_concat=range(2, 6))\n")
    );
    // FairDARTS's threshold rule on the same weights (softmax: 0.55 on input 1, 0.31 on input
    // 0): a sparse cell that drops every edge from input 0.
    let derive_at = |t: &str| {
        aca(&[
            "genotype",
            "derive",
            "--alphas",
            path.to_str().unwrap(),
            "--threshold",
            t,
            "--format",
            "darts",
        ])
    };
    let (ok, out, err) = derive_at("0.5");
    assert!(ok, "{err}");
    let sparse = "[('sep_conv_3x3', 1), ('none', 0), ('sep_conv_3x3', 1), ('none', 0), ('sep_conv_3x3', 1), ('none', 0), ('sep_conv_3x3', 1), ('none', 0)]";
    assert!(
        out.starts_with(&format!("Genotype(normal={sparse}, ")),
        "{out}"
    );
    let (ok, _, err) = derive_at("0.9");
    assert!(!ok);
    assert!(
        err.contains("the threshold rule keeps no op of the normal cell") && err.contains("0.552"),
        "{err}"
    );
    let (ok, _, err) = derive_at("1.5");
    assert!(!ok);
    assert!(err.contains("--threshold 1.5: expected"), "{err}");
    // The same file read with the darts op set has the wrong width.
    let (ok, _, err) = aca(&[
        "genotype",
        "derive",
        "--alphas",
        path.to_str().unwrap(),
        "--space",
        "darts",
    ]);
    assert!(!ok);
    assert!(
        err.contains("normal alphas are 14x7, expected 14x8"),
        "{err}"
    );
    let (ok, _, err) = aca(&["genotype", "derive", "--alphas", "/nonexistent/alphas.json"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/alphas.json"), "{err}");
}
