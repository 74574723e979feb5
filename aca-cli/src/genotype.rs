use std::path::Path;

use aca_space::{published, Genotype, PUBLISHED};
use anyhow::{bail, Context, Result};

use crate::cli::{Format, GenotypeCommand};

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
            let genotype = params
                .derive(&ops)
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
