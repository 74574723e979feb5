use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Robust differentiable architecture search with Adaptive Channel Allocation (ACA).
///
/// Search a cell without skip connections, rank its channels, refill the unimportant ones with
/// identity, and train the result.
#[derive(Debug, Parser)]
#[command(name = "aca", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Print warnings and errors only.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show, convert and derive genotypes.
    #[command(subcommand)]
    Genotype(GenotypeCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum GenotypeCommand {
    /// Print a published genotype or a genotype file.
    Show(ShowArgs),
    /// Derive a genotype from architecture parameters with DARTS's rule.
    Derive(DeriveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A published genotype (darts_v1, darts_v2, pc_darts) or a file in JSON, DARTS or table form.
    #[arg(value_name = "NAME|FILE")]
    pub genotype: String,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Also check the genotype against an op set (e.g. `aca` rejects skip_connect).
    #[arg(long, value_name = "darts|aca")]
    pub space: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    /// JSON with the alpha logits: {"normal": [[..14 rows..]], "reduce": [[..]]}, optional
    /// "betas_normal"/"betas_reduce" (PC-DARTS edge normalisation).
    #[arg(long, value_name = "FILE")]
    pub alphas: PathBuf,

    /// Op set that fixes the alpha columns.
    #[arg(long, value_name = "darts|aca", default_value = "aca")]
    pub space: String,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Text form of a genotype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// JSON object with normal, normal_concat, reduce, reduce_concat.
    Json,
    /// DARTS's own `Genotype(normal=[...], ...)`.
    Darts,
    /// A compact table, one row per node.
    Table,
}
