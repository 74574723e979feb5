//! `aca sweep`: grids of `aca run`s, on this machine (a process pool) or on Slurm (a job array).

mod collect;
mod compare;
mod grid;
mod local;
mod slurm;
mod stats;
mod status;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use clap::{Args, Subcommand, ValueEnum};
pub(crate) use grid::{Point, SweepFile};

#[derive(Debug, Subcommand)]
pub(crate) enum SweepCommand {
    /// Print the runs of a sweep file without running anything.
    Plan {
        /// Sweep file (TOML or JSON): preset, base configuration, axes, exclude, include.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run every unfinished run of a sweep (finished ones are skipped, stopped ones resumed).
    Run(Box<SweepRunArgs>),
    /// Per run: pending, running, done, stopped or failed, with its stage and epoch.
    Status {
        /// The sweep folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Gather finished runs into CSV and Markdown tables, per run and grouped over seeds.
    Collect {
        /// The sweep folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Compare every arm with a baseline, paired on the seed: differences, intervals, tests,
    /// power and a trend; writes collect/compare-METRIC.{md,csv,png}.
    Compare(Box<compare::CompareArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct SweepRunArgs {
    /// Sweep file (TOML or JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Sweep folder [default: sweeps/<file name>].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Where the runs run: `local` (a process pool here) or `slurm` (a job array).
    #[arg(
        long,
        default_value = "local",
        value_name = "local|slurm",
        hide_possible_values = true
    )]
    pub backend: Backend,

    /// Local: runs at a time.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least_one)]
    pub jobs: usize,

    /// Local: libtorch threads per run [default: cores / jobs].
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub threads_per_job: Option<usize>,

    /// Device of every run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,

    /// Slurm: only write sweep.sbatch, do not submit it.
    #[arg(long)]
    pub dry_run: bool,

    /// Slurm: partition.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Slurm: time limit per task (e.g. 24:00:00).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,

    /// Slurm: generic resources per task (e.g. gpu:1).
    #[arg(long, value_name = "GRES")]
    pub gres: Option<String>,

    /// Slurm: CPUs per task (also libtorch's threads).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub cpus_per_task: Option<usize>,

    /// Slurm: memory per task (e.g. 16G).
    #[arg(long, value_name = "MEM")]
    pub mem: Option<String>,

    /// Slurm: at most this many tasks at once.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub max_parallel: Option<usize>,

    /// Slurm: an extra `#SBATCH` line (repeatable), e.g. `--sbatch=--account=proj`.
    #[arg(long, value_name = "LINE", value_parser = one_line)]
    pub sbatch: Vec<String>,
}

/// Where a sweep's runs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    /// A pool of processes on this machine.
    Local,
    /// A Slurm job array.
    Slurm,
}

/// The resolved sweep kept in its folder, which `status` and `collect` read.
const SWEEP_JSON: &str = "sweep.json";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Resolved {
    preset: aca_search::Preset,
    axes: Vec<String>,
    points: Vec<Point>,
}

fn read_resolved(dir: &Path) -> Result<Resolved> {
    crate::read_json(&dir.join(SWEEP_JSON), " (not a sweep folder?)")
}

fn default_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    PathBuf::from("sweeps").join(stem)
}

pub(crate) fn run(cmd: SweepCommand, quiet: bool) -> Result<()> {
    match cmd {
        SweepCommand::Plan { file } => {
            let sweep = SweepFile::read(&file)?;
            let points = sweep.points()?;
            let shared = points.iter().filter(|p| p.shared_search.is_some()).count();
            outln!("{} runs ({} axes):", points.len(), sweep.axes.len());
            for p in &points {
                match &p.shared_search {
                    Some(s) => outln!("  {}  (search shared: searches/{s})", p.name),
                    None => outln!("  {}", p.name),
                }
            }
            if shared > 0 {
                let searches: std::collections::BTreeSet<_> = points
                    .iter()
                    .filter_map(|p| p.shared_search.as_ref())
                    .collect();
                outln!(
                    "{} searches shared by {shared} runs (runs that differ only after the search)",
                    searches.len()
                );
            }
            Ok(())
        }
        SweepCommand::Run(args) => run_sweep(*args, quiet),
        SweepCommand::Status { dir } => {
            let resolved = read_resolved(&dir)?;
            let mut counts = std::collections::BTreeMap::new();
            for p in &resolved.points {
                let st = status::run_state(&dir.join("runs").join(&p.name));
                *counts.entry(short_state(&st.state)).or_insert(0usize) += 1;
                outln!("{:<10} {:<16} {}", short_state(&st.state), st.stage, p.name);
                if let status::Standing::Failed(e) = &st.state {
                    outln!("           error: {e}");
                }
            }
            let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            outln!("{} runs: {}", resolved.points.len(), summary.join(", "));
            Ok(())
        }
        SweepCommand::Collect { dir } => collect_sweep(&dir, quiet),
        SweepCommand::Compare(args) => compare_sweep(&args, quiet),
    }
}

fn short_state(s: &status::Standing) -> String {
    match s {
        status::Standing::Failed(_) => "failed".into(),
        other => other.to_string(),
    }
}

/// A count of at least one (`--jobs`, `--max-parallel`, ..).
fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?}: expected a whole number of at least 1")),
    }
}

/// A value written as one line of the Slurm script.
fn one_line(s: &str) -> std::result::Result<String, String> {
    if s.contains(['\n', '\r']) {
        return Err(format!(
            "{s:?}: expected one line (it is written as one `#SBATCH` line)"
        ));
    }
    Ok(s.to_string())
}

/// Refuses a `--dir` that holds something other than a sweep (a run directory, the user's
/// files): the sweep would write its folders beside them.
fn check_sweep_dir(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() || names.iter().any(|n| n == SWEEP_JSON) {
        return Ok(());
    }
    let what = if names.iter().any(|n| n == "run.json" || n == "config.json") {
        "a run directory"
    } else {
        "other files"
    };
    let mut shown = names.clone();
    shown.sort();
    shown.truncate(3);
    bail!(
        "--dir {}: it holds {what} ({}{}) and no {SWEEP_JSON}: expected a sweep folder, an empty folder or a new path",
        dir.display(),
        shown.join(", "),
        if names.len() > 3 { ", .." } else { "" }
    )
}

fn run_sweep(args: SweepRunArgs, quiet: bool) -> Result<()> {
    let sweep = SweepFile::read(&args.file)?;
    let points = sweep.points()?;
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(&args.file));
    check_sweep_dir(&dir)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let resolved = Resolved {
        preset: sweep.preset,
        axes: sweep.axes.keys().cloned().collect(),
        points: points.clone(),
    };
    // A sweep folder may grow (new axis values add runs beside the finished ones, sharing their
    // searches) but not lose runs.
    if let Ok(old) = read_resolved(&dir) {
        let missing: Vec<&str> = old
            .points
            .iter()
            .filter(|o| !points.iter().any(|p| p.name == o.name))
            .map(|o| o.name.as_str())
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} holds another sweep: {} of its runs are not in {} (first: {}); a sweep folder can gain runs but not lose them, so choose another --dir",
                dir.display(),
                missing.len(),
                args.file.display(),
                missing[0]
            );
        }
        let added = points.len() - old.points.len();
        if added > 0 {
            tracing::info!(added, "the sweep file adds runs to the sweep folder");
        }
    }
    let runs = grid::lay_out(&dir, &points, sweep.preset)?;
    aca_core::write_json_atomic(&dir.join(SWEEP_JSON), &resolved)?;
    grid::write_hparams_experiment(&dir, &sweep.axes)?;
    match args.backend {
        Backend::Local => {
            let opts = local::LocalOptions {
                jobs: args.jobs,
                threads: args.threads_per_job,
                device: args.device.to_string(),
            };
            let (done, failed) = local::run_pool(&runs, &opts)?;
            if !quiet {
                outln!(
                    "{} runs: {done} done, {failed} failed; `aca sweep collect {}` gathers the results",
                    runs.len(),
                    dir.display()
                );
            }
            if failed > 0 {
                bail!(
                    "{failed} run(s) failed: `aca sweep status {}` shows why",
                    dir.display()
                );
            }
            Ok(())
        }
        Backend::Slurm => {
            let opts = slurm::SlurmOptions {
                partition: args.partition,
                time: args.time,
                gres: args.gres,
                cpus_per_task: args.cpus_per_task,
                mem: args.mem,
                max_parallel: args.max_parallel,
                extra: args.sbatch,
                device: args.device.to_string(),
                dry_run: args.dry_run,
            };
            let pending: Vec<PathBuf> = runs
                .into_iter()
                .filter(|r| status::run_state(r).state != status::Standing::Done)
                .collect();
            let script = slurm::write_script(&dir, &pending, &opts)?;
            if opts.dry_run {
                outln!(
                    "wrote {} ({} tasks); not submitted",
                    script.display(),
                    pending.len()
                );
            } else {
                let answer = slurm::submit(&script)?;
                outln!(
                    "{answer} ({} tasks, script {})",
                    pending.len(),
                    script.display()
                );
            }
            Ok(())
        }
    }
}

fn collect_sweep(dir: &Path, quiet: bool) -> Result<()> {
    let resolved = read_resolved(dir)?;
    let mut rows = Vec::new();
    let mut missing = 0;
    for p in &resolved.points {
        match collect::read_row(&dir.join("runs").join(&p.name), p)? {
            Some(r) => rows.push(r),
            None => missing += 1,
        }
    }
    let out = dir.join("collect");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let groups = collect::group(&rows);
    aca_core::write_atomic(
        &out.join("runs.csv"),
        collect::runs_csv(&resolved.axes, &rows).as_bytes(),
    )?;
    aca_core::write_atomic(
        &out.join("groups.csv"),
        collect::groups_csv(&resolved.axes, &groups).as_bytes(),
    )?;
    let md = collect::groups_markdown(&resolved.axes, &groups, missing);
    aca_core::write_atomic(&out.join("groups.md"), md.as_bytes())?;
    // Each search once: runs sharing a search point at the same folder.
    let mut searches: Vec<(String, PathBuf)> = Vec::new();
    for p in &resolved.points {
        let (name, dir_of) = match &p.shared_search {
            Some(s) => (s.clone(), dir.join("searches").join(s)),
            None => (
                p.name.clone(),
                dir.join("runs").join(&p.name).join("search"),
            ),
        };
        if !searches.iter().any(|(n, _)| *n == name) {
            searches.push((name, dir_of));
        }
    }
    let figures = collect::figures(&out, &resolved.axes, &groups, &searches)?;
    if !quiet {
        out!("{md}");
        outln!(
            "{} of {} runs collected into {}",
            rows.len(),
            resolved.points.len(),
            out.display()
        );
        for f in &figures {
            outln!("  {}", f.display());
        }
    }
    Ok(())
}

fn compare_sweep(args: &compare::CompareArgs, quiet: bool) -> Result<()> {
    let resolved = read_resolved(&args.dir)?;
    let comparison = compare::compare(args, &resolved.axes)?;
    let out = args.dir.join("collect");
    let stem = format!("compare-{}", args.metric);
    let md = compare::markdown(&comparison);
    let figure = out.join(format!("{stem}.png"));
    crate::report::forest_figure(
        &figure,
        &format!(
            "{} difference against {} (95 % t-interval)",
            args.metric, args.baseline
        ),
        &compare::forest_rows(&comparison),
    )?;
    aca_core::write_atomic(&out.join(format!("{stem}.md")), md.as_bytes())?;
    aca_core::write_atomic(
        &out.join(format!("{stem}.csv")),
        compare::csv(&comparison).as_bytes(),
    )?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&comparison)?);
    } else if !quiet {
        out!("{md}");
        outln!(
            "written: {}, {}.md, {}.csv",
            figure.display(),
            out.join(&stem).display(),
            out.join(&stem).display()
        );
    }
    Ok(())
}
