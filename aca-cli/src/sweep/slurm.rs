//! The Slurm backend: one job array, each task `aca run --resume` on its run directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Pass-through settings of the job array.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlurmOptions {
    pub partition: Option<String>,
    pub time: Option<String>,
    pub gres: Option<String>,
    pub cpus_per_task: Option<usize>,
    pub mem: Option<String>,
    /// At most this many tasks at once (`%MAX`).
    pub max_parallel: Option<usize>,
    /// Extra `#SBATCH` lines, without the prefix (e.g. `--account=proj`).
    pub extra: Vec<String>,
    pub device: String,
    /// Only write the script.
    pub dry_run: bool,
}

/// Writes `sweep.sbatch` and `runs.txt` into the sweep folder; returns the script's path.
pub(crate) fn write_script(dir: &Path, runs: &[PathBuf], opts: &SlurmOptions) -> Result<PathBuf> {
    if runs.is_empty() {
        bail!("no runs to submit");
    }
    let dir = std::path::absolute(dir)?;
    let exe = std::env::current_exe().context("finding the aca executable")?;
    let list: String = runs
        .iter()
        .map(|r| std::path::absolute(r).map(|p| format!("{}\n", p.display())))
        .collect::<std::io::Result<_>>()?;
    aca_core::write_atomic(&dir.join("runs.txt"), list.as_bytes())?;
    std::fs::create_dir_all(dir.join("slurm"))?;
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# Written by `aca sweep run --backend slurm`: one task per line of runs.txt."
    );
    let _ = writeln!(s, "#SBATCH --job-name=aca-sweep");
    let array = match opts.max_parallel {
        Some(m) => format!("0-{}%{m}", runs.len() - 1),
        None => format!("0-{}", runs.len() - 1),
    };
    let _ = writeln!(s, "#SBATCH --array={array}");
    let _ = writeln!(s, "#SBATCH --output={}/slurm/%A_%a.out", dir.display());
    // Every task resumes its run, so preemption and requeueing are safe.
    let _ = writeln!(s, "#SBATCH --requeue");
    for (flag, value) in [
        ("partition", opts.partition.clone()),
        ("time", opts.time.clone()),
        ("gres", opts.gres.clone()),
        ("cpus-per-task", opts.cpus_per_task.map(|c| c.to_string())),
        ("mem", opts.mem.clone()),
    ] {
        if let Some(v) = value {
            let _ = writeln!(s, "#SBATCH --{flag}={v}");
        }
    }
    for line in &opts.extra {
        let _ = writeln!(s, "#SBATCH {line}");
    }
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(
        s,
        "run=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" '{}/runs.txt')",
        dir.display()
    );
    let _ = writeln!(s, "threads=${{SLURM_CPUS_PER_TASK:-1}}");
    let _ = writeln!(
        s,
        "OMP_NUM_THREADS=$threads exec '{}' --quiet --threads \"$threads\" run --resume --no-progress --device {} --out \"$run\"",
        exe.display(),
        opts.device
    );
    let path = dir.join("sweep.sbatch");
    aca_core::write_atomic(&path, s.as_bytes())?;
    Ok(path)
}

/// Submits the script with `sbatch`; returns sbatch's answer (the job id line).
pub(crate) fn submit(script: &Path) -> Result<String> {
    let out = std::process::Command::new("sbatch")
        .arg(script)
        .output()
        .context("running sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!(
            "sbatch refused {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
