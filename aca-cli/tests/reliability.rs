//! Faults at the edges: full disks, interruptions, bad input. docs/reliability.md lists what each
//! test holds `aca` to.

use std::path::Path;
use std::process::Command;

use crate::aca;

/// A tiny whole run on synthetic files: search, allocate, train, test, report in seconds.
fn small_config(dir: &Path) -> String {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    aca_data::write_synthetic_mnist(&data, 200, 40).unwrap();
    let d = data.to_str().unwrap();
    let text = format!(
        r#"{{
  "search": {{"epochs": 2, "data": {{"dataset": "mnist", "data_dir": "{d}", "resize": 8, "batch_size": 16, "split": {{"train_limit": 48, "valid_limit": 32}}}}, "network": {{"channels": 4, "layers": 3}}}},
  "allocate": {{"batches": 1}},
  "train": {{"epochs": 2, "data": {{"dataset": "mnist", "data_dir": "{d}", "resize": 8, "batch_size": 32, "train_limit": 96}}, "network": {{"channels": 4, "layers": 3}}}}
}}"#
    );
    let path = dir.join("small.json");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The small configuration and an uninterrupted run of it in `dir/reference`.
fn reference_run(dir: &Path) -> (String, std::path::PathBuf) {
    let cfg = small_config(dir);
    let reference = dir.join("reference");
    let (ok, _, err) = aca(&[
        "run",
        "--config",
        &cfg,
        "--out",
        reference.to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(ok, "{err}");
    (cfg, reference)
}

/// Every file under `dir` (relative path -> bytes), hidden files included; none when a failed
/// start removed `dir`.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// Mounts a tmpfs of `kib` KiB at `dir` (root only); false where this machine cannot.
fn mount_tmpfs(dir: &Path, kib: usize, remount: bool) -> bool {
    let opts = if remount {
        format!("remount,size={kib}k")
    } else {
        format!("size={kib}k")
    };
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Unmount<'a>(&'a Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

/// The outputs a run's results are made of (logs, timings and the report's pages differ between
/// invocations by design).
fn results(run: &Path) -> Vec<(String, Vec<u8>)> {
    [
        "search/alphas.json",
        "search/genotype.json",
        "search/checkpoint.ot",
        "search/supernet.ot",
        "plan.json",
        "train/model.ot",
        "train/checkpoint.ot",
        "train/results.json",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            std::fs::read(run.join(f)).unwrap_or_default(),
        )
    })
    .collect()
}

#[test]
fn a_full_disk_at_any_write_is_a_clean_error_and_the_run_resumes_to_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, reference) = reference_run(tmp.path());

    let mnt = tmp.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mut kib = 256;
    if !mount_tmpfs(&mnt, kib, false) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root and must be able to mount a tmpfs for the full-disk test"
        );
        eprintln!("cannot mount a tmpfs here (not root?); full-disk test skipped");
        return;
    }
    let _unmount = Unmount(&mnt);
    let run = mnt.join("run");
    let mut failures = Vec::new();
    let mut first = true;
    loop {
        let mut args = vec!["run", "--out", run.to_str().unwrap(), "--no-progress"];
        if first {
            args.extend(["--config", &cfg]);
        } else {
            args.push("--resume");
        }
        let out = crate::aca_command().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            break;
        }
        // A clean error: exit code 1 (no abort), one line naming the file and the cause.
        assert_eq!(out.status.code(), Some(1), "at {kib} KiB: {stderr}");
        assert!(
            stderr.contains("No space left on device"),
            "at {kib} KiB: {stderr}"
        );
        assert!(
            !stderr.contains("c10::Error") && !stderr.contains("frame #"),
            "{stderr}"
        );
        // Nothing half-written under a real name: no temp files, every metrics line whole.
        for (name, bytes) in files(&run) {
            let base = name.rsplit('/').next().unwrap();
            assert!(
                !(base.starts_with('.') && (base.contains(".tmp") || base.contains(".partial"))),
                "temp file {name} left at {kib} KiB"
            );
            if name.ends_with("metrics.jsonl") {
                let text = String::from_utf8(bytes).unwrap();
                for line in text.lines() {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{name}: half a line at {kib} KiB: {e}"));
                }
            }
        }
        failures.push(stderr.lines().last().unwrap_or_default().to_string());
        first = !run.join("run.json").exists();
        kib += 1024;
        assert!(kib < 64 * 1024, "never finished");
        assert!(mount_tmpfs(&mnt, kib, true), "remount");
    }
    assert!(
        failures.len() >= 3,
        "the disk filled only {} times: {failures:?}",
        failures.len()
    );
    assert_eq!(
        results(&run),
        results(&reference),
        "results differ after full-disk failures"
    );
}

#[test]
fn a_closed_stdout_does_not_stop_a_search() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path());
    let out = tmp.path().join("s");
    // Keep only the search part of the small configuration.
    let search: serde_json::Value =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&cfg).unwrap()).unwrap()
            ["search"]
            .clone();
    let scfg = tmp.path().join("search.json");
    std::fs::write(&scfg, search.to_string()).unwrap();
    let script = format!(
        "'{}' search --config '{}' --out '{}' --no-progress | head -c 1 > /dev/null; echo ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_aca"),
        scfg.display(),
        out.display()
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        code == "0",
        "aca exited {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.join("genotype.json").is_file(),
        "the search went on to its end"
    );
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
}

#[test]
fn kill_9_at_any_moment_of_any_stage_resumes_to_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, reference) = reference_run(tmp.path());
    // One kill in each stage: when the stage's first file appears, plus a seeded delay of up to
    // 300 ms, so that the kill lands anywhere in it (or just after).
    let stages = [
        "run.json",
        "search/metrics.jsonl",
        "plan.json",
        "train/metrics.jsonl",
        "train/results.json",
        "report",
    ];
    let mut x: u64 = 0x5eed;
    for (trial, marker) in stages.iter().enumerate() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = std::time::Duration::from_millis((x >> 33) % 300);
        let run = tmp.path().join(format!("cut{trial}"));
        let mut child = crate::aca_command()
            .args([
                "run",
                "--config",
                &cfg,
                "--out",
                run.to_str().unwrap(),
                "--no-progress",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        while !run.join(marker).exists() && child.try_wait().unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{marker} never appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let (ok, _, err) = aca(&[
            "run",
            "--resume",
            "--out",
            run.to_str().unwrap(),
            "--no-progress",
        ]);
        assert!(ok, "killed after {marker} + {delay:?}: {err}");
        assert_eq!(
            results(&run),
            results(&reference),
            "results differ after kill -9 after {marker} + {delay:?}"
        );
    }
}

#[test]
fn bad_starts_leave_nothing_behind_and_errors_are_one_line_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path());
    // Invalid values are refused before the run directory is touched, in one line. `--device
    // cuda` is one where no GPU is seen; a CPU build says how to get a CUDA one.
    let no_cuda = if tch::utils::has_cuda() {
        "sees no GPU"
    } else {
        "this build has no CUDA libtorch"
    };
    for (args, expected) in [
        (vec!["search", "--channels", "0"], "channels"),
        (vec!["run", "--device", "cuda"], no_cuda),
        (
            vec![
                "run",
                "--config",
                &cfg,
                "--seed",
                "1",
                "--strategy",
                "median",
            ],
            "strategy = median: expected otsu, otsu-log, all or fixed:F",
        ),
    ]
    .into_iter()
    .filter(|(args, _)| !(args.contains(&"cuda") && tch::Cuda::is_available()))
    {
        let out = tmp.path().join("never");
        let mut full = args.clone();
        full.extend(["--out", out.to_str().unwrap(), "--no-progress"]);
        let (ok, _, err) = aca(&full);
        assert!(!ok, "{args:?} accepted");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.matches("error:").count(), 1, "printed once: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
    // A failure after the folder was made but before any checkpoint (missing data) removes it
    // too, also through `aca run`, whose log is set up before the search fails: still one line.
    let out = tmp.path().join("nodata");
    let nothing = tmp.path().join("nothing");
    for command in ["search", "run"] {
        let (ok, _, err) = aca(&[
            command,
            "--dataset",
            "mnist",
            "--data-dir",
            nothing.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ]);
        assert!(!ok && err.contains("missing"), "{command}: {err}");
        assert_eq!(
            err.matches("missing").count(),
            1,
            "{command}: printed once: {err}"
        );
        assert!(
            !out.exists(),
            "a failed start of aca {command} leaves no folder"
        );
    }
    // Optimizer values out of range are refused by name.
    for (patch, expected) in [
        (
            r#"{"search": {"weight_optimizer": {"momentum": 1.5}}}"#,
            "weight_optimizer.momentum = 1.5",
        ),
        (
            r#"{"search": {"arch_optimizer": {"betas": [0.5, 1.0]}}}"#,
            "arch_optimizer.betas",
        ),
        (r#"{"train": {"optimizer": {"lr": 1e30}}}"#, "optimizer.lr"),
    ] {
        let bad = tmp.path().join("bad.json");
        std::fs::write(&bad, patch).unwrap();
        let out = tmp.path().join("bad-run");
        let (ok, _, err) = aca(&[
            "run",
            "--config",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!ok && err.contains(expected), "{patch}: {err}");
        assert!(!out.exists());
    }
    // inspect checks a genotype against --space, as genotype show does.
    let (ok, _, err) = aca(&["inspect", "--genotype", "darts_v2", "--space", "aca"]);
    assert!(!ok && err.contains("skip_connect"), "{err}");
}

/// The third reliability pass (issue 38): each defect a probe found, held by an assertion that
/// failed before its fix.
#[test]
fn third_pass_bad_inputs_get_clear_errors_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str| tmp.path().join(name);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let refused = |args: &[&str], expected: &str| {
        let (ok, _, err) = aca(args);
        assert!(!ok, "{args:?} accepted");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        err
    };

    // 1. A network that cannot fit is refused before anything is allocated, not a panic with
    // libtorch frames or a process the kernel kills at 24 GB.
    small_config(tmp.path());
    let data = s(&t("data"));
    for channels in ["100000000", "100000"] {
        let c = t("huge.json");
        std::fs::write(
            &c,
            format!(
                r#"{{"data": {{"dataset": "mnist", "data_dir": "{data}"}}, "network": {{"channels": {channels}}}}}"#
            ),
        )
        .unwrap();
        let out = t("huge-search");
        refused(
            &[
                "--threads",
                "1",
                "search",
                "--config",
                &s(&c),
                "--out",
                &s(&out),
                "--no-progress",
            ],
            "search network too large: about",
        );
        assert!(!out.exists(), "a refused search leaves no folder");
        let out = t("huge-train");
        let err = refused(
            &[
                "train",
                "--genotype",
                "darts_v2",
                "--dataset",
                "mnist",
                "--data-dir",
                &data,
                "--channels",
                channels,
                "--out",
                &s(&out),
            ],
            "evaluation network too large",
        );
        assert!(err.contains("lower channels or layers"), "{err}");
        assert!(!out.exists());
    }

    // 2. A sweep file's TOML error keeps its reason.
    for (text, expected) in [
        (
            "colour = \"red\"\n[axes]\nseed = [0]\n",
            "unknown field `colour`",
        ),
        (
            "preset = \"huge\"\n[axes]\nseed = [0]\n",
            "unknown variant `huge`",
        ),
    ] {
        let f = t("bad.toml");
        std::fs::write(&f, text).unwrap();
        refused(&["sweep", "plan", &s(&f)], expected);
    }

    // 3, 4. Duplicate values, colliding names and overlapping axes are refused at plan time.
    for (axes, expected) in [
        ("seed = [0, 0, 1]", "axis `seed` lists the value 0 twice"),
        (
            "\"search.data.data_dir\" = [\"a/b\", \"a_b\"]",
            "two runs would be named `data_dir=a_b`",
        ),
        (
            "seed = [0]\n\"search.seed\" = [1]",
            "axes `search.seed` and `seed` both set search.seed",
        ),
    ] {
        let f = t("clash.toml");
        std::fs::write(&f, format!("[axes]\n{axes}\n")).unwrap();
        refused(&["sweep", "plan", &s(&f)], expected);
    }

    // 5. A configuration or sweep file must be an object, not an array (`[]` ran the paper preset).
    let a = t("a.json");
    std::fs::write(&a, "[]").unwrap();
    let out = t("array-run");
    refused(
        &["search", "--config", &s(&a), "--out", &s(&out)],
        "the config must be a JSON object",
    );
    assert!(!out.exists());
    for text in ["[]", "[\"tiny\"]", "[1, 2]"] {
        std::fs::write(&a, text).unwrap();
        refused(
            &["sweep", "plan", &s(&a)],
            "a sweep file must be a JSON object ({\"axes\": {..}, ..}), got an array",
        );
    }

    // A finished small run for the checks on directories.
    let (_, reference) = reference_run(tmp.path());
    let search = reference.join("search");
    let train = reference.join("train");

    // 6. A sweep is not written into a run directory (or beside the user's files).
    let sweep = t("s.toml");
    std::fs::write(&sweep, "[axes]\nseed = [0, 1]\n").unwrap();
    let before = files(&train);
    refused(
        &[
            "sweep",
            "run",
            &s(&sweep),
            "--backend",
            "slurm",
            "--dry-run",
            "--dir",
            &s(&train),
        ],
        "it holds a run directory",
    );
    assert_eq!(files(&train), before, "nothing added to the training run");

    // 7. Export: genotype.py is not written over a file aca did not write; a missing folder is
    // a plain message naming the output (libtorch's was debug text naming the temp file).
    let mine = t("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("genotype.py"), "# my own notes\n").unwrap();
    let m = mine.join("m.safetensors");
    refused(
        &[
            "export",
            "--run",
            &s(&train),
            "--format",
            "safetensors",
            "--out",
            &s(&m),
        ],
        "genotype.py exists and was not written by aca export",
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("genotype.py")).unwrap(),
        "# my own notes\n"
    );
    assert!(!m.exists());
    let err = refused(
        &[
            "export",
            "--run",
            &s(&train),
            "--format",
            "safetensors",
            "--out",
            &s(&t("no/such/m.safetensors")),
        ],
        "no/such/m.safetensors: cannot write it: No such file or directory",
    );
    assert!(
        !err.contains("Os {") && !err.contains("safetensors.tmp"),
        "{err}"
    );

    // 8. A directory of the wrong kind says what it is and what was expected.
    refused(
        &["train", "--genotype", "darts_v2", "--out", &s(&search)],
        "it is a search run, expected a training run",
    );
    for command in ["predict", "export"] {
        let mut args = vec![command, "--run", search.to_str().unwrap()];
        if command == "predict" {
            args.push("x.png");
        }
        refused(&args, "it is a search run, expected a training run");
    }
    refused(
        &["search", "--resume", "--out", &s(&train)],
        "it is a training run, expected a search run",
    );
    refused(
        &["predict", "--run", &s(&reference), "x.png"],
        "it is an `aca run` directory (its training is",
    );

    // Minor: a new run's --out among the user's files; predict on a missing file.
    let notes = t("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "x").unwrap();
    for command in ["search", "train", "run"] {
        let mut args = vec![command, "--out", notes.to_str().unwrap()];
        if command == "train" {
            args.extend(["--genotype", "darts_v2"]);
        }
        refused(&args, "it holds other files (todo.txt) and no aca run");
    }
    assert_eq!(std::fs::read_dir(&notes).unwrap().count(), 1);
    refused(
        &["predict", "--run", &s(&train), &s(&t("missing.png"))],
        "missing.png: no such file",
    );

    // 9. Sweep options out of range, refused before any folder is made.
    let dir = t("sweep-opts");
    for (flag, value, expected) in [
        ("--jobs", "0", "expected a whole number of at least 1"),
        (
            "--threads-per-job",
            "0",
            "expected a whole number of at least 1",
        ),
        (
            "--max-parallel",
            "0",
            "expected a whole number of at least 1",
        ),
        (
            "--sbatch",
            "--account=x\n#SBATCH --evil",
            "expected one line",
        ),
    ] {
        let flag_value = format!("{flag}={value}");
        refused(
            &[
                "sweep",
                "run",
                &s(&sweep),
                "--dir",
                &s(&dir),
                "--backend",
                "slurm",
                "--dry-run",
                &flag_value,
            ],
            expected,
        );
        assert!(!dir.exists(), "{flag} {value:?} made {}", dir.display());
    }
}

/// Issue 38, items 11 and 13: a small image folder trains under the tiny preset (its 8,000-image
/// limit is a cap), saying so in one warning, and warnings in a redirected stderr carry no colour
/// codes.
#[test]
fn a_small_image_folder_trains_with_a_plain_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("folder");
    for (split, n) in [("train", 12), ("val", 4)] {
        for class in ["ant", "bee"] {
            let dir = data.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                let v = (i * 20 + class.len() * 7) as u8;
                image::RgbImage::from_pixel(8, 8, image::Rgb([v, 255 - v, v / 2]))
                    .save(dir.join(format!("{i}.png")))
                    .unwrap();
            }
        }
    }
    let out = tmp.path().join("train");
    let (ok, _, err) = aca(&[
        "train",
        "--genotype",
        "darts_v2",
        "--dataset",
        "folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--channels",
        "4",
        "--layers",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("train_limit = 8000 is more than the 24 images there are: using all of them"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a redirected stderr: {err:?}"
    );
}

/// A random JSON value of any shape, its object keys drawn from the names sweep files and run
/// configurations use, so that wrong shapes land on real fields.
fn random_value(rng: &mut impl rand::Rng, depth: usize) -> serde_json::Value {
    use serde_json::Value;
    const KEYS: [&str; 22] = [
        "preset",
        "method",
        "axes",
        "exclude",
        "include",
        "base",
        "search",
        "train",
        "allocate",
        "eval_epoch",
        "seed",
        "space",
        "strategy",
        "epochs",
        "data",
        "network",
        "channels",
        "layers",
        "batch_size",
        "lr",
        "split",
        "train_limit",
    ];
    const STRINGS: [&str; 8] = ["", "tiny", "paper", "darts", "otsu", "x/y", "-1", "fixed:2"];
    let leaf = depth >= 3;
    match rng.random_range(0..if leaf { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => Value::from([-1i64, 0, 1, 3, 1 << 40, i64::MIN][rng.random_range(0..6)]),
        3 => Value::from([0.5, -2.5, 1e300, 3.0][rng.random_range(0..4)]),
        4 => Value::from(STRINGS[rng.random_range(0..STRINGS.len())]),
        5 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..4))
                .map(|_| {
                    (
                        KEYS[rng.random_range(0..KEYS.len())].to_string(),
                        random_value(rng, depth + 1),
                    )
                })
                .collect(),
        ),
    }
}

/// Property: whatever shape a sweep file (JSON or TOML) or the run configuration in its `base`
/// has, `aca sweep plan` either plans it or refuses it with one `error:` line, never a panic.
#[test]
fn sweep_file_and_config_parsers_refuse_random_shapes_without_panicking() {
    use rand::SeedableRng;
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(38);
    let mut tried = 0;
    for case in 0..60 {
        let mut v = random_value(&mut rng, 0);
        // Half the cases: a well-formed top level with a random base or axes, to reach the
        // configuration parser and the grid.
        if case % 2 == 0 {
            v = serde_json::json!({
                "axes": {"seed": [0]},
                "base": random_value(&mut rng, 1),
            });
            if case % 4 == 0 {
                v["axes"] = random_value(&mut rng, 1);
            }
        }
        let mut files = vec![("json", serde_json::to_string(&v).unwrap())];
        if let Ok(t) = toml::to_string(&v) {
            files.push(("toml", t));
        }
        for (ext, text) in files {
            let path = tmp.path().join(format!("case{case}.{ext}"));
            std::fs::write(&path, &text).unwrap();
            let out = crate::aca_command()
                .args(["sweep", "plan", path.to_str().unwrap()])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            tried += 1;
            assert!(
                matches!(out.status.code(), Some(0 | 1)) && !err.contains("panicked"),
                "{ext} {text}: exit {:?}: {err}",
                out.status.code()
            );
            if !out.status.success() {
                assert!(
                    err.starts_with("error: ") && err.matches("error:").count() == 1,
                    "{ext} {text}: {err}"
                );
            }
        }
    }
    assert!(tried >= 60);
}
