use crate::aca;
use std::path::Path;

/// A smoke-sized sweep on synthetic MNIST-style files in DATA: two allocation strategies on one
/// shared search.
const SWEEP: &str = r#"
preset = "tiny"

[base.search]
epochs = 2
snapshot_epochs = [1]
data = { dataset = "mnist", data_dir = "DATA", resize = 8, batch_size = 16, split = { train_limit = 48, valid_limit = 32 } }
network = { channels = 4, layers = 3 }
tensorboard = { step_every = 1 }

[base.allocate]
batches = 1

[base.train]
epochs = 1
data = { dataset = "mnist", data_dir = "DATA", resize = 8, batch_size = 32, train_limit = 96 }
network = { channels = 4, layers = 3 }
tensorboard = { step_every = 1 }

[axes]
seed = [0]
strategy = ["otsu", "all"]
eval_epoch = [1]
"#;

/// Writes `text` as `dir/name` with DATA pointing at synthetic data in `dir/data`.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let data = dir.join("data");
    if !data.exists() {
        std::fs::create_dir_all(&data).unwrap();
        aca_data::write_synthetic_mnist(&data, 200, 40).unwrap();
    }
    let p = dir.join(name);
    std::fs::write(&p, text.replace("DATA", data.to_str().unwrap())).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn plan_lists_runs_and_refuses_bad_axes_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "s.toml", SWEEP);
    let (ok, out, err) = aca(&["sweep", "plan", &file]);
    assert!(ok, "{err}");
    assert!(out.contains("2 runs"), "{out}");
    assert!(out.contains("eval_epoch=1,seed=0,strategy=otsu"), "{out}");
    assert!(out.contains("searches/eval_epoch=1,seed=0"), "{out}");
    for (axes, expected) in [
        ("\"search.epoch\" = [3]", "epoch"),
        ("seed = []", "axis `seed` has no values"),
        ("seed = [\"x\"]", "seed"),
        ("strategy = [\"median\"]", "median"),
    ] {
        let text = format!("preset = \"tiny\"\n[axes]\n{axes}\n");
        let bad = write(tmp.path(), "bad.toml", &text);
        let (ok, _, err) = aca(&["sweep", "plan", &bad]);
        assert!(!ok, "{axes} accepted");
        assert!(err.contains(expected), "{axes}: {err}");
    }
}

#[test]
fn method_is_an_axis_and_misplaced_top_level_keys_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "m.toml",
        "preset = \"tiny\"\n[axes]\nmethod = [\"darts\", \"random\", \"beta-darts\"]\nseed = [0]\n",
    );
    let (ok, out, err) = aca(&["sweep", "plan", &file]);
    assert!(ok, "{err}");
    assert!(
        out.contains("3 runs") && out.contains("method=random,seed=0"),
        "{out}"
    );
    let file = write(
        tmp.path(),
        "x.toml",
        "preset = \"tiny\"\n[axes]\nseed = [0, 1]\nexclude = [{ seed = 1 }]\n",
    );
    let (ok, _, err) = aca(&["sweep", "plan", &file]);
    assert!(!ok && err.contains("`exclude` is inside [axes]"), "{err}");
}

#[test]
fn a_local_sweep_runs_shares_its_search_and_collects() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "s.toml", SWEEP);
    let dir = tmp.path().join("sweep");
    let dir_s = dir.to_str().unwrap();
    let (ok, out, err) = aca(&["sweep", "run", &file, "--dir", dir_s, "--jobs", "2"]);
    assert!(ok, "{out}\n{err}");
    let runs = dir.join("runs");
    let a = runs.join("eval_epoch=1,seed=0,strategy=otsu");
    let b = runs.join("eval_epoch=1,seed=0,strategy=all");
    for run in [&a, &b] {
        assert!(run.join("summary.txt").is_file(), "{}", run.display());
        assert!(std::fs::symlink_metadata(run.join("search"))
            .unwrap()
            .is_symlink());
    }
    // One search, two evaluations of its epoch-1 snapshot.
    let search = dir.join("searches/eval_epoch=1,seed=0");
    assert!(search.join("snapshots/epoch-001/supernet.ot").is_file());
    let lines = std::fs::read_to_string(search.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2, "the shared search ran once");
    let all: aca_eval::ChannelPlan =
        serde_json::from_str(&std::fs::read_to_string(b.join("plan.json")).unwrap()).unwrap();
    assert!(all.normal.iter().all(|&f| f == 1.0));

    let (ok, out, err) = aca(&["sweep", "status", dir_s]);
    assert!(ok, "{err}");
    assert!(out.contains("2 runs: 2 done"), "{out}");

    let (ok, out, err) = aca(&["sweep", "collect", dir_s]);
    assert!(ok, "{err}");
    assert!(out.contains("2 of 2 runs collected"), "{out}");
    let csv = std::fs::read_to_string(dir.join("collect/runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.starts_with("run,eval_epoch,seed,strategy,top1,"),
        "{csv}"
    );
    let groups = std::fs::read_to_string(dir.join("collect/groups.csv")).unwrap();
    assert!(
        groups.starts_with("eval_epoch,strategy,n,top1_mean"),
        "{groups}"
    );

    // A second run of the sweep finds everything done and skips it.
    let (ok, out, err) = aca(&["sweep", "run", &file, "--dir", dir_s]);
    assert!(ok, "{err}");
    assert!(out.contains("2 done, 0 failed"), "{out}");

    // TensorBoard reads the runs' curves and lines them up by their axes in its HParams
    // dashboard.
    crate::tb_check(&[&a, &b, Path::new("--sweep"), &dir]);
}

#[test]
fn slurm_dry_run_writes_a_job_array() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "s.toml", SWEEP);
    let dir = tmp.path().join("sweep");
    let (ok, out, err) = aca(&[
        "sweep",
        "run",
        &file,
        "--dir",
        dir.to_str().unwrap(),
        "--backend",
        "slurm",
        "--dry-run",
        "--gres",
        "gpu:1",
        "--max-parallel",
        "1",
        "--partition",
        "gpu",
        "--sbatch=--account=proj",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("2 tasks"), "{out}");
    let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-1%1",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj",
        "#SBATCH --requeue",
        "run --resume",
    ] {
        assert!(script.contains(line), "{line} missing:\n{script}");
    }
    let runs = std::fs::read_to_string(dir.join("runs.txt")).unwrap();
    assert_eq!(runs.lines().count(), 2);
}

#[test]
fn a_second_process_on_a_run_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    let _held = aca_core::RunLock::acquire(&out).unwrap();
    let (ok, _, err) = aca(&["run", "--out", out.to_str().unwrap(), "--no-progress"]);
    assert!(!ok);
    assert!(
        err.contains("in use by another aca process")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(!out.join("run.json").exists(), "nothing is written");
}

/// Whether a Slurm cluster answers (`scripts/slurm-local start` makes one); under CI it must.
fn slurm_up() -> bool {
    let ok = std::process::Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("idle"));
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no Slurm cluster answers under CI: .ci/run starts one with scripts/slurm-local"
        );
        eprintln!("no Slurm cluster (run `eval \"$(scripts/slurm-local start)\"`); skipped");
    }
    ok
}

#[test]
fn a_sweep_runs_as_a_real_slurm_job_array() {
    if !slurm_up() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "s.toml", SWEEP);
    let dir = tmp.path().join("sweep");
    let dir_s = dir.to_str().unwrap();
    let (ok, out, err) = aca(&[
        "sweep",
        "run",
        &file,
        "--dir",
        dir_s,
        "--backend",
        "slurm",
        "--cpus-per-task",
        "1",
        "--time",
        "00:20:00",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Submitted batch job") && out.contains("2 tasks"),
        "{out}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
    loop {
        let (_, status, _) = aca(&["sweep", "status", dir_s]);
        if status.contains("2 runs: 2 done") {
            break;
        }
        assert!(
            !status.contains("failed") && std::time::Instant::now() < deadline,
            "{status}\nslurm output: {:?}",
            std::fs::read_dir(dir.join("slurm"))
                .map(|d| d
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect::<Vec<_>>())
                .unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    let (ok, out, err) = aca(&["sweep", "collect", dir_s]);
    assert!(ok, "{err}");
    assert!(out.contains("2 of 2 runs collected"), "{out}");
}

#[test]
fn an_interrupted_local_sweep_resumes_to_the_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let one = SWEEP
        .replace("strategy = [\"otsu\", \"all\"]", "strategy = [\"otsu\"]")
        .replace("eval_epoch = [1]\n", "");
    let file = write(tmp.path(), "one.toml", &one);
    let whole = tmp.path().join("whole");
    let (ok, _, err) = aca(&["sweep", "run", &file, "--dir", whole.to_str().unwrap()]);
    assert!(ok, "{err}");

    let cut = tmp.path().join("cut");
    let run = cut.join("runs/seed=0,strategy=otsu");
    let mut child = crate::aca_command()
        .args(["sweep", "run", &file, "--dir", cut.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::fs::read_to_string(run.join("search/metrics.jsonl"))
        .map_or(true, |t| t.lines().count() < 1)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the search never finished an epoch"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted sweep exits with an error"
    );
    assert!(!run.join("summary.txt").exists(), "stopped before the end");
    let (_, out, _) = aca(&["sweep", "status", cut.to_str().unwrap()]);
    assert!(out.contains("stopped"), "{out}");

    let (ok, _, err) = aca(&["sweep", "run", &file, "--dir", cut.to_str().unwrap()]);
    assert!(ok, "{err}");
    let whole_run = whole.join("runs/seed=0,strategy=otsu");
    for f in [
        "search/alphas.json",
        "plan.json",
        "train/results.json",
        "train/model.ot",
    ] {
        assert!(
            std::fs::read(run.join(f)).unwrap() == std::fs::read(whole_run.join(f)).unwrap(),
            "{f} differs after the interrupted sweep resumed"
        );
    }
}

#[test]
fn a_sweep_folder_gains_runs_from_new_axis_values_but_never_loses_any() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let lay_out = |file: &str| {
        aca(&[
            "sweep",
            "run",
            file,
            "--dir",
            dir.to_str().unwrap(),
            "--backend",
            "slurm",
            "--dry-run",
        ])
    };
    let first = write(tmp.path(), "s.toml", SWEEP);
    let (ok, _, err) = lay_out(&first);
    assert!(ok, "{err}");
    let run_json = dir.join("runs/eval_epoch=1,seed=0,strategy=otsu/run.json");
    let before = std::fs::read_to_string(&run_json).unwrap();

    // A new strategy adds one run that shares the search; the others are left as they are.
    let grown = write(
        tmp.path(),
        "grown.toml",
        &SWEEP.replace(
            r#"strategy = ["otsu", "all"]"#,
            r#"strategy = ["otsu", "all", "otsu-log"]"#,
        ),
    );
    let (ok, out, err) = lay_out(&grown);
    assert!(ok, "{err}");
    assert!(out.contains("3 tasks"), "{out}");
    let new_run = dir.join("runs/eval_epoch=1,seed=0,strategy=otsu-log");
    assert!(new_run.join("run.json").is_file());
    assert_eq!(
        std::fs::read_link(new_run.join("search")).unwrap(),
        std::fs::read_link(run_json.with_file_name("search")).unwrap(),
        "the new run shares the search"
    );
    assert_eq!(std::fs::read_to_string(&run_json).unwrap(), before);

    // Dropping a value would lose a run: refused, naming the run.
    let (ok, _, err) = lay_out(&first);
    assert!(!ok);
    assert!(
        err.contains("1 of its runs are not in") && err.contains("strategy=otsu-log"),
        "{err}"
    );
}

/// A sweep folder as `aca sweep compare` reads it: sweep.json with AXES and collect/runs.csv
/// with RUNS (one line per run: the axes' values, then top1, top5, skip_normal).
fn compare_folder(dir: &Path, axes: &[&str], runs: &[&str]) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("collect")).unwrap();
    let json = serde_json::json!({ "preset": "tiny", "axes": axes, "points": [] });
    std::fs::write(dir.join("sweep.json"), json.to_string()).unwrap();
    let mut csv = format!("run,{},top1,top5,skip_normal\n", axes.join(","));
    for (i, r) in runs.iter().enumerate() {
        csv.push_str(&format!("run{i},{r}\n"));
    }
    std::fs::write(dir.join("collect/runs.csv"), csv).unwrap();
    dir.to_path_buf()
}

fn collect_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("collect"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn compare_reproduces_the_s3_studys_paired_table_with_tests() {
    // The committed S3 study (docs/robustness.md): ACA arms against the collapsed S3 baseline,
    // 3 seeds x 3 search lengths.
    let study = Path::new(env!("CARGO_MANIFEST_DIR")).join("../studies/robustness/s3");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("collect")).unwrap();
    std::fs::copy(study.join("sweep.json"), tmp.path().join("sweep.json")).unwrap();
    std::fs::copy(
        study.join("collect/runs.csv"),
        tmp.path().join("collect/runs.csv"),
    )
    .unwrap();
    let dir = tmp.path().to_str().unwrap();
    let compare = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "compare",
            dir,
            "--baseline",
            "space=s3",
            "--by",
            "eval_epoch",
        ];
        args.extend_from_slice(extra);
        aca(&args)
    };
    let (ok, out, err) = compare(&[]);
    assert!(ok, "{err}");
    insta::assert_snapshot!("compare_s3", out.replace(dir, "DIR"));
    // What docs/robustness.md states: otsu-log +0.49 over 9 pairs (6 won), p = 0.13 at the
    // seed level; fixed:0.5 +0.40 (p = 0.14).
    let row = |arm: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("| space=s3-aca,strategy={arm} | pooled |")))
            .unwrap_or_else(|| panic!("no pooled row for {arm}:\n{out}"))
            .to_string()
    };
    let otsu_log = row("otsu-log");
    assert!(otsu_log.contains("| 3 | 9 | +0.49 |"), "{otsu_log}");
    assert!(otsu_log.contains("| 6/0/3 |"), "{otsu_log}");
    assert!(otsu_log.contains("| 0.126 |"), "{otsu_log}");
    assert!(row("fixed:0.5").contains("| 0.135 |"));
    assert_eq!(
        collect_files(tmp.path()),
        [
            "compare-top1.csv",
            "compare-top1.md",
            "compare-top1.png",
            "runs.csv"
        ]
    );
    let md = std::fs::read_to_string(tmp.path().join("collect/compare-top1.md")).unwrap();
    assert!(out.starts_with(&md), "the printed table is the file's");
    let png = image::open(tmp.path().join("collect/compare-top1.png")).unwrap();
    assert!(png.height() > 300, "one row per arm and level");
    let (ok, json, err) = compare(&["--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 16);
    assert_eq!(v["trends"].as_array().unwrap().len(), 4);
}

#[test]
fn compare_tests_bootstraps_names_the_unpaired_and_refuses_bad_input_writing_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // 6 seeds; arm b leads by about +1 with noise; arm c has one pair (seed 0) and a run without
    // a partner (seed 6).
    let mut runs = Vec::new();
    let lead = [1.2, 0.7, 1.5, 0.9, 1.1, 0.4];
    for (seed, lead) in lead.iter().enumerate() {
        let base = 80.0 + seed as f64 * 0.3;
        runs.push(format!("a,{seed},{base:.2},99.0,2"));
        runs.push(format!("b,{seed},{:.2},99.1,0", base + lead));
    }
    runs.push("c,0,80.50,99.0,0".into());
    runs.push("c,6,81.00,99.0,0".into());
    let runs: Vec<&str> = runs.iter().map(String::as_str).collect();
    let dir = compare_folder(tmp.path(), &["method", "seed"], &runs);
    let d = dir.to_str().unwrap();
    let (ok, out, err) = aca(&["sweep", "compare", d, "--baseline", "method=a"]);
    assert!(ok, "{err}");
    // scipy.stats.ttest_1samp([1.2, 0.7, 1.5, 0.9, 1.1, 0.4], 0): t = 6.2567, p = 0.001533
    let b = out
        .lines()
        .find(|l| l.starts_with("| method=b | all |"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(b.contains("| 6 | 6 | +0.97 |"), "{b}");
    assert!(b.contains("| 0.002 |"), "{b}");
    assert!(
        !b.contains("not informative"),
        "n = 6 gets a bootstrap: {b}"
    );
    let c = out.lines().find(|l| l.starts_with("| method=c |")).unwrap();
    assert!(c.contains("n too small"), "{c}");
    assert!(
        out.contains("without a baseline partner (left out): run13"),
        "{out}"
    );
    assert!(out.contains("the smallest detectable difference"), "{out}");

    // --arms keeps one arm (and Holm over it alone); --where selects runs, baseline included.
    let (ok, out, err) = aca(&[
        "sweep",
        "compare",
        d,
        "--baseline",
        "method=a",
        "--arms",
        "method=b",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("Arms: only method=b."), "{out}");
    assert!(!out.contains("| method=c |"), "{out}");
    let b = out
        .lines()
        .find(|l| l.starts_with("| method=b | all |"))
        .unwrap();
    assert!(
        b.contains("| 0.002 | 0.002 |"),
        "Holm over one arm is the p itself: {b}"
    );
    let (ok, out, err) = aca(&[
        "sweep",
        "compare",
        d,
        "--baseline",
        "method=a",
        "--where",
        "seed=0|1|2",
    ]);
    assert!(ok, "{err}");
    // scipy.stats.ttest_1samp([1.2, 0.7, 1.5], 0): t = 4.8571, p = 0.03987
    let b = out
        .lines()
        .find(|l| l.starts_with("| method=b | all |"))
        .unwrap();
    assert!(
        b.contains("| 3 | 3 | +1.13 |") && b.contains("| 0.040 |"),
        "{b}"
    );
    assert!(!out.contains("run13"), "seed 6 is not selected: {out}");

    let (ok, out, err) = aca(&[
        "sweep",
        "compare",
        d,
        "--baseline",
        "method=a",
        "--metric",
        "skip_normal",
        "--unpaired",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("Welch"), "{out}");
    assert!(tmp.path().join("collect/compare-skip_normal.md").is_file());

    let before = collect_files(tmp.path());
    for (args, expected) in [
        (
            vec!["--baseline", "method=z"],
            "the values of method are a, b, c",
        ),
        (
            vec!["--baseline", "colour=red"],
            "no axis \"colour\"; its axes are method, seed",
        ),
        (vec!["--baseline", "method"], "expected AXIS=VALUE"),
        (
            vec!["--baseline", "method=a", "--metric", "top3"],
            "the numeric columns are top1, top5, skip_normal",
        ),
        (
            vec!["--baseline", "method=a", "--unit", "run"],
            "--unit run: the sweep has no such axis",
        ),
        (vec!["--baseline", "seed=0"], "cannot fix the unit"),
        (
            vec!["--baseline", "method=a", "--where", "seed=9"],
            "--where seed=9: no finished run matches",
        ),
        (
            vec!["--baseline", "method=a", "--arms", "method=q"],
            "--arms method=q: no finished run outside the baseline matches",
        ),
        (
            vec!["--baseline", "method=a", "--where", "colour=red"],
            "--where: the sweep has no axis \"colour\"",
        ),
    ] {
        let mut all = vec!["sweep", "compare", d];
        all.extend(&args);
        let (ok, _, err) = aca(&all);
        assert!(!ok, "{args:?} accepted");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // A metric that is not a number names its run.
    let mut bad = runs.clone();
    bad[3] = "b,1,NaN,99.1,0";
    compare_folder(tmp.path(), &["method", "seed"], &bad);
    let (ok, _, err) = aca(&["sweep", "compare", d, "--baseline", "method=a"]);
    assert!(!ok);
    assert!(
        err.contains("run run3: top1 is \"NaN\", expected a finite number"),
        "{err}"
    );
    assert_eq!(
        collect_files(tmp.path()),
        before,
        "a refused comparison writes nothing"
    );
    // Without collect's table: say what to run.
    std::fs::remove_file(tmp.path().join("collect/runs.csv")).unwrap();
    let (ok, _, err) = aca(&["sweep", "compare", d, "--baseline", "method=a"]);
    assert!(!ok);
    assert!(err.contains("run `aca sweep collect"), "{err}");
}

#[test]
fn the_robust_darts_grid_plans_at_both_presets_with_the_dataset_in_both_stages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../studies/robustdarts-grid");
    let (ok, out, err) = aca(&["sweep", "plan", root.join("grid.toml").to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("63 runs (3 axes):"), "{out}");
    assert!(out.contains("dataset=svhn,seed=2,space=s4-aca"), "{out}");
    let (ok, out, err) = aca(&[
        "sweep",
        "plan",
        root.join("grid-tiny.toml").to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("7 runs (2 axes):"), "{out}");
    // The dataset axis sets both stages' data; each space gets its default allocation.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("g.toml");
    std::fs::write(
        &file,
        "preset = \"paper\"\n[axes]\ndataset = [\"svhn\"]\nspace = [\"s4\", \"s4-aca\"]\n",
    )
    .unwrap();
    let dir = tmp.path().join("sweep");
    let (ok, _, err) = aca(&[
        "sweep",
        "run",
        file.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        "--backend",
        "slurm",
        "--dry-run",
    ]);
    assert!(ok, "{err}");
    for (space, strategy) in [("s4", "all"), ("s4-aca", "otsu-log")] {
        let run: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("runs/dataset=svhn,space={space}/run.json")))
                .unwrap(),
        )
        .unwrap();
        let c = &run["config"];
        assert_eq!(c["search"]["data"]["dataset"], "svhn");
        assert_eq!(c["train"]["data"]["dataset"], "svhn");
        assert_eq!(c["allocate"]["strategy"], strategy);
    }
}
