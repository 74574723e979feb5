//! The `aca` command line. `main` only calls [`run`]; every command lives in a module here.

mod cli;
mod data;
mod genotype;

use clap::Parser;

pub use cli::Cli;

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.quiet);
    match cli.command {
        cli::Command::Genotype(cmd) => genotype::run(cmd),
        cli::Command::Data(cmd) => data::run(cmd, cli.quiet),
    }
}

fn init_tracing(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
