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
