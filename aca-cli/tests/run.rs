use crate::aca;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SMALL: &str = r#"{
  "search": {"epochs": 3, "data": {"batch_size": 32, "split": {"train_limit": 96, "valid_limit": 96}}, "network": {"channels": 4, "layers": 3}, "tensorboard": {"step_every": 1}},
  "allocate": {"batches": 2},
  "train": {"epochs": 2, "data": {"batch_size": 64, "train_limit": 640}, "network": {"channels": 8, "layers": 3}, "tensorboard": {"step_every": 1}}
}"#;

pub(crate) fn fashion_mnist() -> bool {
    aca_data::fashion_mnist_for_tests()
}

#[test]
fn run_help_snapshot() {
    let (ok, out, _) = aca(&["run", "--help"]);
    assert!(ok);
    insta::assert_snapshot!("run_help", out);
}

#[test]
fn run_end_to_end_writes_every_file_and_the_report() {
    if !fashion_mnist() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("small.json");
    std::fs::write(&cfg, SMALL).unwrap();
    let out = tmp.path().join("run");
    let (ok, stdout, err) = aca(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(ok, "{err}");
    for f in [
        "run.json",
        "summary.txt",
        "log.txt",
        "search/config.json",
        "search/metrics.jsonl",
        "search/checkpoint.ot",
        "search/genotype.json",
        "search/genotype.txt",
        "search/alphas.json",
        "search/supernet.ot",
        "plan.json",
        "train/config.json",
        "train/plan.json",
        "train/metrics.jsonl",
        "train/checkpoint.ot",
        "train/model.ot",
        "train/results.json",
        "report/report.html",
        "report/report.md",
        "report/search_curves.png",
        "report/skip_count.png",
        "report/learning.png",
        "report/alphas_normal.png",
        "report/alphas_reduce.png",
        "report/plan.png",
        "report/train_curves.png",
        "report/normal_cell.dot",
        "report/reduce_cell.dot",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for png in ["search_curves", "alphas_normal", "plan", "train_curves"] {
        let bytes = std::fs::read(out.join(format!("report/{png}.png"))).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{png}.png is not a real figure"
        );
    }
    let html = std::fs::read_to_string(out.join("report/report.html")).unwrap();
    assert!(
        html.contains("data:image/png;base64,"),
        "the page embeds its figures"
    );
    assert!(html.contains("Training from scratch") && html.contains("Cells and channel plan"));
    assert!(
        stdout.contains("aca run: aca search (darts) on fashion-mnist, preset tiny"),
        "{stdout}"
    );
    assert!(stdout.contains("test accuracy   top-1"), "{stdout}");
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(
        stdout.ends_with(&summary),
        "the printed summary is summary.txt"
    );
    let dot = std::fs::read_to_string(out.join("report/normal_cell.dot")).unwrap();
    assert!(dot.starts_with("digraph normal {"));
    // The report alone renders again from the directory.
    let (ok, report_out, err) = aca(&["report", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(report_out.contains("report/report.html"));
    // A second run into the same folder is refused.
    let (ok, _, err) = aca(&["run", "--out", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("already holds a run; pass --resume"), "{err}");
}

#[test]
fn killed_mid_search_and_resumed_equals_an_uninterrupted_run() {
    if !fashion_mnist() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("small.json");
    std::fs::write(&cfg, SMALL).unwrap();
    let whole = tmp.path().join("whole");
    let (ok, _, err) = aca(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        whole.to_str().unwrap(),
        "--no-progress",
        "--quiet",
    ]);
    assert!(ok, "{err}");

    let cut = tmp.path().join("cut");
    let mut child = crate::aca_command()
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            cut.to_str().unwrap(),
            "--no-progress",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let metrics = cut.join("search/metrics.jsonl");
    let start = Instant::now();
    while std::fs::read_to_string(&metrics).map_or(0, |t| t.lines().count()) < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the search never finished an epoch"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cut.join("search/genotype.json").exists(),
        "killed before the search ended"
    );
    let (ok, _, err) = aca(&[
        "run",
        "--resume",
        "--out",
        cut.to_str().unwrap(),
        "--no-progress",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    for f in [
        "search/alphas.json",
        "search/genotype.json",
        "plan.json",
        "train/model.ot",
        "train/results.json",
    ] {
        assert!(
            std::fs::read(whole.join(f)).unwrap() == std::fs::read(cut.join(f)).unwrap(),
            "{f} differs after resume"
        );
    }
    let lines = |dir: &Path| {
        std::fs::read_to_string(dir.join("search/metrics.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(&cut), 3, "each epoch logged once");
    // TensorBoard shows the resumed run's curves as the uninterrupted run's: the same tags at
    // the same steps, each once.
    for stage in ["search", "train"] {
        let points = |dir: &Path| {
            let mut p: Vec<(String, i64)> =
                aca_core::tensorboard::scalars(&dir.join(stage).join("tb"))
                    .unwrap()
                    .into_iter()
                    .map(|(tag, step, _)| (tag, step))
                    .collect();
            p.sort();
            p
        };
        assert_eq!(
            points(&whole),
            points(&cut),
            "{stage}: TensorBoard steps differ"
        );
    }
    crate::tb_check(&[&whole, &cut]);
}

#[test]
fn s4_searches_noise_trains_it_in_place_and_export_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cfg) = synthetic_small_run(tmp.path());
    let d = data.to_str().unwrap();
    // S4 trains every channel on its op; its ACA form allocates.
    for (space, strategy) in [("s4", "all"), ("s4-aca", "otsu-log")] {
        run_space(&cfg, space, &tmp.path().join(space), strategy);
    }
    // Seeded: a second S4 search draws the same noise and ends with the same alphas.
    let again = tmp.path().join("s4-again");
    run_space(&cfg, "s4", &again, "all");
    assert_eq!(
        std::fs::read(tmp.path().join("s4/search/alphas.json")).unwrap(),
        std::fs::read(again.join("search/alphas.json")).unwrap()
    );
    // A cell of noise alone trains (the op stays in place), and export names it.
    let genotype = tmp.path().join("noise.json");
    let pairs = "[[\"noise\", 0], [\"noise\", 1], [\"noise\", 0], [\"noise\", 1], [\"noise\", 0], [\"noise\", 1], [\"noise\", 0], [\"noise\", 1]]";
    std::fs::write(
        &genotype,
        format!("{{\"normal\": {pairs}, \"normal_concat\": [2, 3, 4, 5], \"reduce\": {pairs}, \"reduce_concat\": [2, 3, 4, 5]}}"),
    )
    .unwrap();
    let train = tmp.path().join("train");
    let (ok, _, err) = aca(&[
        "train",
        "--genotype",
        genotype.to_str().unwrap(),
        "--dataset",
        "mnist",
        "--data-dir",
        d,
        "--resize",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--train-limit",
        "64",
        "--channels",
        "4",
        "--layers",
        "3",
        "--out",
        train.to_str().unwrap(),
        "--no-progress",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = aca(&["export", "--run", train.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("noise on") && err.contains("not exported"),
        "{err}"
    );
    assert!(!train.join("model.onnx").exists());
}

/// Synthetic MNIST-style files in `dir/data` and [`SMALL_SYNTHETIC`] reading them:
/// (data folder, config file).
fn synthetic_small_run(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    aca_data::write_synthetic_mnist(&data, 200, 40).unwrap();
    let cfg = dir.join("small.json");
    std::fs::write(
        &cfg,
        SMALL_SYNTHETIC.replace("DATA", data.to_str().unwrap()),
    )
    .unwrap();
    (data, cfg)
}

/// `aca run --space SPACE` with `cfg` into `out`, whose plan must use `strategy`.
fn run_space(cfg: &Path, space: &str, out: &Path, strategy: &str) {
    let (ok, _, err) = aca(&[
        "run",
        "--space",
        space,
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
        "--quiet",
    ]);
    assert!(ok, "{space}: {err}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["strategy"], strategy, "{space}");
}

/// SMALL on synthetic MNIST-style files in DATA (no dataset package needed).
const SMALL_SYNTHETIC: &str = r#"{
  "search": {"epochs": 2, "data": {"dataset": "mnist", "data_dir": "DATA", "resize": 8, "batch_size": 16, "split": {"train_limit": 48, "valid_limit": 32}}, "network": {"channels": 4, "layers": 3}},
  "allocate": {"batches": 1},
  "train": {"epochs": 1, "data": {"dataset": "mnist", "data_dir": "DATA", "resize": 8, "batch_size": 32, "train_limit": 96}, "network": {"channels": 4, "layers": 3}}
}"#;

#[test]
fn s1_searches_each_edges_own_pair_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, cfg) = synthetic_small_run(tmp.path());
    for (space, strategy) in [("s1", "all"), ("s1-aca", "otsu-log")] {
        let out = tmp.path().join(space);
        run_space(&cfg, space, &out, strategy);
        // The alphas file records the pairs, and deriving from it again gives the same cell.
        let alphas = out.join("search/alphas.json");
        let a: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&alphas).unwrap()).unwrap();
        assert_eq!(a["kept"]["normal"].as_array().unwrap().len(), 14);
        let (ok, derived, err) = aca(&[
            "genotype",
            "derive",
            "--alphas",
            alphas.to_str().unwrap(),
            "--space",
            space,
            "--format",
            "json",
        ]);
        assert!(ok, "{err}");
        let derived: serde_json::Value = serde_json::from_str(&derived).unwrap();
        let searched: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("search/genotype.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(derived, searched, "{space}");
    }
}
