use crate::aca;
use std::path::Path;

/// A smoke-sized sweep: two allocation strategies on one shared search.
const SWEEP: &str = r#"
preset = "tiny"

[base.search]
epochs = 2
snapshot_epochs = [1]
data = { batch_size = 32, split = { train_limit = 64, valid_limit = 64 } }
network = { channels = 4, layers = 3 }

[base.allocate]
batches = 1

[base.train]
epochs = 1
data = { batch_size = 64, train_limit = 256 }
network = { channels = 8, layers = 3 }

[axes]
seed = [0]
strategy = ["otsu", "all"]
eval_epoch = [1]
"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
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
fn a_local_sweep_runs_shares_its_search_and_collects() {
    if !crate::run::fashion_mnist() {
        return;
    }
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
