//! The local backend: a pool of `aca run --resume` processes on this machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::status::{run_state, Standing};

/// How the pool runs.
#[derive(Debug, Clone)]
pub(crate) struct LocalOptions {
    /// Runs at a time.
    pub jobs: usize,
    /// libtorch threads per run (default: cores / jobs).
    pub threads: Option<usize>,
    /// Device flag passed to every run.
    pub device: String,
}

/// Runs every unfinished run of the sweep (resuming those that stopped), `jobs` at a time, one
/// `aca` process per run. Ctrl-C (or SIGTERM) stops the children; a re-run continues.
/// Returns (done, failed).
pub(crate) fn run_pool(runs: &[PathBuf], opts: &LocalOptions) -> Result<(usize, usize)> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed in one process (tests call this once per process).
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = opts.jobs.max(1);
    let threads = opts.threads.unwrap_or((cores / jobs).max(1));
    let exe = std::env::current_exe().context("finding the aca executable")?;
    let mut queue: Vec<&PathBuf> = runs
        .iter()
        .filter(|r| !matches!(run_state(r).state, Standing::Done))
        .collect();
    let skipped = runs.len() - queue.len();
    if skipped > 0 {
        tracing::info!(skipped, "runs already done");
    }
    queue.reverse();
    let mut running: Vec<(PathBuf, Child)> = Vec::new();
    let (mut done, mut failed) = (skipped, 0);
    loop {
        if stop.load(Ordering::SeqCst) {
            for (run, child) in &mut running {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("stopped {}", run.display());
            }
            anyhow::bail!(
                "interrupted: {done} runs done; run the same `aca sweep run` again to continue"
            );
        }
        while running.len() < jobs {
            let Some(run) = queue.pop() else { break };
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(run.join("sweep.log"))
                .with_context(|| format!("opening {}", run.join("sweep.log").display()))?;
            let child = Command::new(&exe)
                .args([
                    "--quiet",
                    "--threads",
                    &threads.to_string(),
                    "run",
                    "--resume",
                ])
                .args(["--no-progress", "--device", &opts.device, "--out"])
                .arg(run)
                .env("OMP_NUM_THREADS", threads.to_string())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", exe.display()))?;
            eprintln!("started {}", run.display());
            running.push((run.clone(), child));
        }
        if running.is_empty() {
            break;
        }
        let mut i = 0;
        while i < running.len() {
            if let Some(status) = running[i].1.try_wait()? {
                let (run, _) = running.remove(i);
                if status.success() {
                    done += 1;
                    eprintln!("done    {}", run.display());
                } else {
                    failed += 1;
                    eprintln!(
                        "failed  {} ({}; see its sweep.log)",
                        run.display(),
                        first_error(&run).unwrap_or_else(|| status.to_string())
                    );
                }
            } else {
                i += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((done, failed))
}

/// The first line of a run's last error, if it failed.
pub(crate) fn first_error(run: &Path) -> Option<String> {
    std::fs::read_to_string(aca_eval::RunLayout::new(run).file(aca_eval::RunLayout::ERROR))
        .ok()
        .and_then(|t| t.lines().next().map(String::from))
}
