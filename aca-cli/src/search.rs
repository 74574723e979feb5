use std::path::{Path, PathBuf};

use aca_core::Layers;
use aca_search::{files, search, EpochRecord, SearchConfig};
use anyhow::{Context, Result};

use crate::cli::{
    stage_fields, PresetArg, RunControlArgs, SearchChoiceArgs, SearchMemoryArgs, SnapshotArgs,
    StageArgs, StageDataArgs, TensorBoardArgs,
};
use crate::config_file::read_patch;
use crate::device_name;
use crate::progress::{Bars, EpochBar};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    #[command(flatten)]
    pub preset: PresetArg,

    #[command(flatten)]
    pub choice: SearchChoiceArgs,

    #[command(flatten)]
    pub data: StageDataArgs,

    #[command(flatten)]
    pub stage: StageArgs,

    /// Architecture images: a class-balanced subset of N images of the validation half.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub valid_limit: Option<usize>,

    #[command(flatten)]
    pub snapshots: SnapshotArgs,

    #[command(flatten)]
    pub memory: SearchMemoryArgs,

    #[command(flatten)]
    pub tensorboard: TensorBoardArgs,

    /// A JSON configuration file (every field optional; defaults are DARTS's); flags override it.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub control: RunControlArgs,
}

/// The summary line of a search epoch.
pub(crate) fn epoch_line(r: &EpochRecord) -> String {
    let arch = match &r.learning {
        Some(l) => format!(
            "  arch H {:.1}% moved {:.1}x",
            100.0 * l.relative_entropy_normal(),
            l.shift
        ),
        None => String::new(),
    };
    format!(
        "search epoch {:>3}  lr {:.4}  train loss {:.3} acc {:5.1}%  valid loss {:.3} acc {:5.1}%  skip {}/{}{arch}{}  {:.0}s",
        r.epoch + 1,
        r.lr,
        r.train_loss,
        100.0 * r.train_acc,
        r.valid_loss,
        100.0 * r.valid_acc,
        r.skip_normal,
        r.skip_reduce,
        if r.arch_updates { "" } else { "  (weights only)" },
        r.seconds
    )
}

/// The search configuration, by one precedence: explicit flags > config file > preset defaults
/// (the preset of the method the flags or the file name).
pub(crate) fn config_from(args: &SearchArgs) -> Result<SearchConfig> {
    let mut layers = Layers::new(format!(
        "search configuration {}",
        args.config.as_deref().unwrap_or(Path::new("")).display()
    ));
    if let Some(path) = &args.config {
        layers = layers.with(read_patch(path)?);
    }
    let mut c = SearchConfig::layered(args.preset.preset, &layers, args.choice.method)?;
    if let Some(v) = args.choice.space {
        c.space = v;
    }
    args.data.apply(&mut c.data);
    args.stage.apply(stage_fields!(c));
    if let Some(v) = args.valid_limit {
        c.data.split_mut().valid_limit = Some(v);
    }
    args.snapshots.apply(&mut c);
    args.memory.apply(&mut c);
    args.tensorboard.apply(&mut c.tensorboard);
    c.validate()?;
    Ok(c)
}

pub(crate) fn load_saved_config(dir: &Path) -> Result<SearchConfig> {
    crate::read_json(&dir.join(files::CONFIG), " to resume")
}

pub(crate) fn run(args: SearchArgs, quiet: bool) -> Result<()> {
    let out = args.control.out_or_default("search");
    crate::DirKind::Search.expect_out(&out, args.control.resume)?;
    let config = if args.control.resume {
        load_saved_config(&out)?
    } else {
        config_from(&args)?
    };
    let device = args.control.device.resolve()?;
    crate::in_run_dir(&out, || run_in(&out, args, config, device, quiet))
}

fn run_in(
    out: &Path,
    args: SearchArgs,
    config: SearchConfig,
    device: tch::Device,
    quiet: bool,
) -> Result<()> {
    let out = out.to_path_buf();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    crate::init_tracing(quiet, Some(&out.join("log.txt")))?;
    let bar = EpochBar::new(quiet, args.control.no_progress);
    let bars = Bars::new(&bar);
    bar.line(format!(
        "searching {} with {} on {} ({} epochs, {}) -> {}",
        config.space,
        config.method,
        config.data.dataset,
        config.epochs,
        device_name(device),
        out.display()
    ));
    let outcome = search(&config, &out, device, args.control.resume, &bars)?;
    bar.finish();
    if !quiet {
        outln!("genotype: {}", outcome.genotype.to_darts());
        out!("{}", outcome.genotype.to_table());
        outln!("{}", learning_line(&outcome.learning));
        outln!(
            "supernet parameters: {}; {} epochs in {:.0}s; run directory: {}",
            outcome.params,
            outcome.epochs_run,
            outcome.seconds,
            out.display()
        );
    }
    Ok(())
}

/// One line on whether the architecture learned (with the plain-words warning when it did not).
pub(crate) fn learning_line(l: &aca_space::ArchLearning) -> String {
    let base = format!(
        "architecture: alphas moved {:.1}x their initial noise; normal-cell op weights at {:.1}% of the uniform entropy, largest weight {:.3}",
        l.shift,
        100.0 * l.relative_entropy_normal(),
        l.max_weight
    );
    if l.learned() {
        base
    } else {
        format!("{base}\nwarning: {}", aca_search::not_learned_message(l))
    }
}
