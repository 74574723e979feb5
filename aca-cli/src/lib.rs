//! The `aca` command line. `main` only calls [`run`]; every command lives in a module here.

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
mod data;
mod eval;
mod genotype;
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
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        anyhow::ensure!(n >= 1, "--threads {n}: expected at least 1");
        tch::set_num_threads(n);
    }
    match cli.command {
        cli::Command::Run(args) => pipeline::run(*args, cli.quiet),
        cli::Command::Report(args) => {
            init_tracing(cli.quiet, None)?;
            let index = report::render(&args.run)?;
            if !cli.quiet {
                outln!("report written to {}", index.display());
            }
            Ok(())
        }
        cli::Command::Genotype(cmd) => {
            init_tracing(cli.quiet, None)?;
            genotype::run(cmd)
        }
        cli::Command::Data(cmd) => {
            init_tracing(cli.quiet, None)?;
            data::run(cmd, cli.quiet)
        }
        cli::Command::Search(args) => search::run(*args, cli.quiet),
        cli::Command::Allocate(args) => {
            init_tracing(cli.quiet, None)?;
            eval::allocate(args, cli.quiet)
        }
        cli::Command::Train(args) => eval::train(*args, cli.quiet),
        cli::Command::Test(args) => {
            init_tracing(cli.quiet, None)?;
            eval::test(args)
        }
        cli::Command::Export(args) => {
            init_tracing(cli.quiet, None)?;
            eval::export(args, cli.quiet)
        }
        cli::Command::Predict(args) => {
            init_tracing(cli.quiet, None)?;
            eval::predict(args)
        }
        cli::Command::Sweep(cmd) => {
            init_tracing(cli.quiet, None)?;
            sweep::run(cmd, cli.quiet)
        }
        cli::Command::Inspect(args) => {
            init_tracing(cli.quiet, None)?;
            inspect::run(args)
        }
    }
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
    let terminal = fmt::layer()
        .with_target(false)
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
        let locked = matches!(
            e.downcast_ref::<aca_core::CoreError>(),
            Some(aca_core::CoreError::Locked { .. })
        );
        if created && !locked && !has_progress(out) {
            let _ = std::fs::remove_dir_all(out);
        } else if out.is_dir() && !locked {
            // Into the run's log only: `main` prints the error on the terminal once.
            tracing::error!(target: LOG_ONLY, "{e:#}");
        }
    }
    result
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
