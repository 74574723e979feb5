use std::path::Path;

use aca_space::{published, Genotype, PUBLISHED};
use anyhow::{bail, Context, Result};

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(crate) enum GenotypeCommand {
    /// Print a published genotype or a genotype file.
    Show(ShowArgs),
    /// Derive a genotype from architecture parameters with DARTS's rule.
    Derive(DeriveArgs),
    /// Draw a genotype uniformly under DARTS's cell rules: the random-search baseline (Li and
    /// Talwalkar, 2019) a searched cell should beat.
    Random(RandomArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A published genotype (darts_v1, darts_v2, pc_darts, fair_darts_a) or a file in JSON, DARTS or
    /// table form.
    #[arg(value_name = "NAME|FILE")]
    pub genotype: String,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Also check the genotype against an op set: aca, darts, darts-no-none, s1, s1-aca, s2, s3, s3-aca, s4 or s4-aca
    /// (e.g. `aca` rejects skip_connect).
    #[arg(long, value_name = "SPACE")]
    pub space: Option<aca_space::Space>,
}

#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    /// JSON with the alpha logits: {"normal": [[..14 rows..]], "reduce": [[..]]}, optional
    /// "betas_normal"/"betas_reduce" (PC-DARTS edge normalisation).
    #[arg(long, value_name = "FILE")]
    pub alphas: PathBuf,

    /// Op set that fixes the alpha columns: aca, darts, darts-no-none, s1, s1-aca, s2, s3, s3-aca, s4 or s4-aca.
    #[arg(long, value_name = "SPACE", default_value = "aca")]
    pub space: aca_space::Space,

    /// FairDARTS's threshold rule: keep a chosen op only when its weight reaches T (FairDARTS:
    /// 0.85 on its sigmoid weights), a sparse cell [default: DARTS's rule].
    #[arg(long, value_name = "T")]
    pub threshold: Option<f32>,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct RandomArgs {
    /// Op set to draw from: aca, darts, darts-no-none, s1, s1-aca, s2, s3, s3-aca, s4 or s4-aca (`none` is never drawn).
    #[arg(long, value_name = "SPACE", default_value = "aca")]
    pub space: aca_space::Space,

    /// Seed: the same seed gives the same genotype.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

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

pub(crate) fn run(cmd: GenotypeCommand) -> Result<()> {
    match cmd {
        GenotypeCommand::Show(args) => {
            let genotype = resolve(&args.genotype)?;
            if let Some(space) = &args.space {
                let ops = space.op_set();
                genotype.validate_for(&ops).with_context(|| {
                    format!("checking `{}` against op set `{space}`", args.genotype)
                })?;
            }
            out!("{}", render(&genotype, args.format));
        }
        GenotypeCommand::Derive(args) => {
            let ops = args.space.op_set();
            let params = aca_space::ArchParams::read(&args.alphas)?;
            let genotype = match args.threshold {
                Some(t) if !(t > 0.0 && t < 1.0) => {
                    anyhow::bail!("--threshold {t}: expected an op weight between 0 and 1")
                }
                Some(t) => params.derive_sparse(&ops, t),
                None => params.derive(&ops),
            }
            .with_context(|| format!("deriving from {}", args.alphas.display()))?;
            out!("{}", render(&genotype, args.format));
        }
        GenotypeCommand::Random(args) => {
            let ops = args.space.op_set();
            out!(
                "{}",
                render(&Genotype::random(&ops, args.seed)?, args.format)
            );
        }
    }
    Ok(())
}

/// A published genotype by name, or a genotype file in any text form.
pub(crate) fn resolve(name_or_file: &str) -> Result<Genotype> {
    if PUBLISHED.iter().any(|(n, _)| *n == name_or_file) {
        return Ok(published(name_or_file)?);
    }
    let path = Path::new(name_or_file);
    if !path.exists() {
        let known: Vec<_> = PUBLISHED.iter().map(|(n, _)| *n).collect();
        bail!(
            "`{name_or_file}` is neither a published genotype ({}) nor an existing file",
            known.join(", ")
        );
    }
    Genotype::read(path).with_context(|| format!("reading genotype file {}", path.display()))
}

pub(crate) fn render(genotype: &Genotype, format: Format) -> String {
    match format {
        Format::Json => genotype.to_json() + "\n",
        Format::Darts => genotype.to_darts() + "\n",
        Format::Table => genotype.to_table(),
    }
}
