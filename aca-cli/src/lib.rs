//! The `aca` command line. `main` only calls [`run`]; every command lives in a module here with
//! its flags (`search`, `eval`: allocate/train/test/predict/export, `pipeline`: `aca run`,
//! `sweep`, `report`, `genotype`, `data`, `inspect`); `cli` holds the command list and the flag
//! groups commands share, `config_file` the JSON patches over presets, `progress` the bars.

/// `print!` for results and summaries, but a closed pipe or terminal is not an error: a long run
/// goes on writing its run directory when nobody reads its output any more (`aca search | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!` that ignores a closed standard output, as [`out!`] does.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cli;
mod config_file;
mod data;
mod eval;
mod genotype;
mod hints;
mod inspect;
mod pipeline;
mod progress;
mod report;
mod search;
mod sweep;

use clap::Parser;

pub use cli::Cli;

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<()> {
    run_command().map_err(hints::with_flags)
}

fn run_command() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A value our own types refuse (a method, strategy or dataset name): their message names
        // the field, the value and what was expected, and is printed as one line like any error.
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            use std::error::Error as _;
            match e.source() {
                Some(reason) => anyhow::bail!("{reason}"),
                None => e.exit(),
            }
        }
        Err(e) => e.exit(),
    };
    if let Some(n) = cli.threads {
        anyhow::ensure!(n >= 1, "--threads {n}: expected at least 1");
        tch::set_num_threads(n);
    }
    // Commands that write a run directory start logging into its log.txt themselves.
    let writes_run_dir = matches!(
        cli.command,
        cli::Command::Run(_) | cli::Command::Search(_) | cli::Command::Train(_)
    );
    if !writes_run_dir {
        init_tracing(cli.quiet, None)?;
    }
    match cli.command {
        cli::Command::Run(args) => pipeline::run(*args, cli.quiet),
        cli::Command::Report(args) => {
            let index = report::render(&args.run)?;
            if !cli.quiet {
                outln!("report written to {}", index.display());
            }
            Ok(())
        }
        cli::Command::Genotype(cmd) => genotype::run(cmd),
        cli::Command::Data(cmd) => data::run(cmd, cli.quiet),
        cli::Command::Search(args) => search::run(*args, cli.quiet),
        cli::Command::Allocate(args) => eval::allocate(args, cli.quiet),
        cli::Command::Train(args) => eval::train(*args, cli.quiet),
        cli::Command::Test(args) => eval::test(args),
        cli::Command::Export(args) => eval::export(args, cli.quiet),
        cli::Command::Predict(args) => eval::predict(args),
        cli::Command::Sweep(cmd) => sweep::run(cmd, cli.quiet),
        cli::Command::Inspect(args) => inspect::run(args),
    }
}

/// An error as the binary prints it: the whole chain (each message once), but only the first line of a libtorch
/// message (pages of C++ frames follow it); other messages keep every line (a TOML parse error
/// shows the line and the reason below it).
pub fn error_text(err: &anyhow::Error) -> String {
    // The chain, without a cause its error already printed (`path: {source}` displays would
    // print the OS message twice).
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let message = cause.to_string();
        if parts.last().is_some_and(|p| p.ends_with(&message)) {
            continue;
        }
        parts.push(message);
    }
    let text = parts.join(": ");
    match text.find(" (Exception raised from") {
        Some(at) => text[..at]
            .lines()
            .next()
            .unwrap_or("")
            .trim_end()
            .to_string(),
        None if text.contains("Exception raised from") => {
            text.lines().next().unwrap_or("").trim_end().to_string()
        }
        None => text.trim_end().to_string(),
    }
}

/// The kinds of folder aca writes, told apart by their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirKind {
    Search,
    Training,
    Pipeline,
    Sweep,
}

impl DirKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Search => "a search run",
            Self::Training => "a training run",
            Self::Pipeline => "an `aca run` directory",
            Self::Sweep => "a sweep folder",
        }
    }

    /// What `dir` is, if aca wrote it: by sweep.json, run.json, or the fields of config.json (a
    /// search's has `space`, a training's `drop_path`).
    pub(crate) fn of(dir: &std::path::Path) -> Option<Self> {
        if dir.join("sweep.json").is_file() {
            return Some(Self::Sweep);
        }
        if dir.join("run.json").is_file() {
            return Some(Self::Pipeline);
        }
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).ok()?).ok()?;
        if config.get("space").is_some() {
            Some(Self::Search)
        } else if config.get("drop_path").is_some() {
            Some(Self::Training)
        } else {
            None
        }
    }

    /// Refuses a new run's `--out` that holds files aca did not write (the run would write
    /// beside them); an empty folder or a new path is fine, and a run of this kind is left to
    /// the stage (which refuses it without `--resume`).
    pub(crate) fn expect_out(self, out: &std::path::Path, resume: bool) -> anyhow::Result<()> {
        self.expect(out, "--out")?;
        if resume || Self::of(out).is_some() {
            return Ok(());
        }
        let Ok(entries) = std::fs::read_dir(out) else {
            return Ok(());
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        names.sort();
        let more = if names.len() > 3 { ", .." } else { "" };
        names.truncate(3);
        anyhow::bail!(
            "--out {}: it holds other files ({}{more}) and no aca run: choose an empty folder or a new path",
            out.display(),
            names.join(", ")
        )
    }

    /// Refuses `dir` (given as `flag`) when aca wrote it as another kind of folder.
    pub(crate) fn expect(self, dir: &std::path::Path, flag: &str) -> anyhow::Result<()> {
        match Self::of(dir) {
            Some(kind) if kind != self => {
                let hint = match (kind, self) {
                    (Self::Pipeline, Self::Training) => {
                        format!(" (its training is {})", dir.join("train").display())
                    }
                    (Self::Pipeline, Self::Search) => {
                        format!(" (its search is {})", dir.join("search").display())
                    }
                    _ => String::new(),
                };
                anyhow::bail!(
                    "{flag} {}: it is {}{hint}, expected {}",
                    dir.display(),
                    kind.describe(),
                    self.describe()
                )
            }
            _ => Ok(()),
        }
    }
}

/// Reads a JSON file into `T`; errors name the file and, with `why` (e.g. " to resume"), what
/// it was read for.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    why: &str,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}{why}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Events with this target go to the run's `log.txt` only, never to the terminal.
pub(crate) const LOG_ONLY: &str = "aca::log_only";

/// Logging: warnings on the terminal (more with `ACA_LOG=info`), through the progress bars so
/// that lines do not break them; with `log_file`, everything at info level into that file too.
pub(crate) fn init_tracing(quiet: bool, log_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    let terminal_level = if quiet { "error" } else { "warn" };
    let terminal_filter = EnvFilter::try_from_env("ACA_LOG")
        .unwrap_or_else(|_| EnvFilter::new(terminal_level))
        .add_directive(
            format!("{LOG_ONLY}=off")
                .parse()
                .expect("a valid filter directive"),
        );
    let indicatif = tracing_indicatif::IndicatifLayer::new();
    // Colour only on a terminal, and never under NO_COLOR (https://no-color.org).
    let colour = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    };
    let terminal = fmt::layer()
        .with_target(false)
        .with_ansi(colour)
        .with_writer(indicatif.get_stderr_writer())
        .with_filter(terminal_filter);
    let file = match log_file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("opening log file {}: {e}", path.display()))?;
            Some(
                fmt::layer()
                    .with_ansi(false)
                    .with_target(false)
                    .with_writer(std::sync::Mutex::new(f))
                    .with_filter(EnvFilter::new("info")),
            )
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(terminal)
        .with(file)
        .with(indicatif)
        .try_init();
    Ok(())
}

/// Runs a command that writes the run directory `out`. A failure is logged into the directory's
/// `log.txt` when it exists; a failed start (a folder this command created, in which no stage got
/// as far as a checkpoint) removes the folder, so that the same command can simply be run again.
pub(crate) fn in_run_dir<T>(
    out: &std::path::Path,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let created = !out.exists();
    let result = f();
    if let Err(e) = &result {
        let locked = is_locked(e);
        if created && !locked && !has_progress(out) {
            let _ = std::fs::remove_dir_all(out);
        } else if out.is_dir() && !locked {
            // Into the run's log only: `main` prints the error on the terminal once.
            tracing::error!(target: LOG_ONLY, "{e:#}");
        }
    }
    result
}

/// Whether the error is another process holding a run directory's lock.
fn is_locked(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<aca_core::CoreError>(),
        Some(aca_core::CoreError::Locked { .. })
    ) || matches!(
        e.downcast_ref::<aca_search::SearchError>(),
        Some(aca_search::SearchError::Core(
            aca_core::CoreError::Locked { .. }
        ))
    ) || e
        .downcast_ref::<aca_eval::EvalError>()
        .is_some_and(aca_eval::EvalError::is_locked)
}

/// Whether a run directory holds any stage's checkpoint (its work is worth keeping).
fn has_progress(dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        name == "checkpoint.ot" || name == "genotype.json" || (is_dir && has_progress(&e.path()))
    })
}

/// A fresh run folder under `runs/`, named by kind and UTC time.
pub(crate) fn default_out(kind: &str) -> std::path::PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = stamp
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    std::path::PathBuf::from("runs").join(format!("{kind}-{}", compact.replace('T', "-")))
}

/// The device as logs and progress lines name it.
pub(crate) fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}
