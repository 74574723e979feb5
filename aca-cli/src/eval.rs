use std::path::Path;

use aca_core::DeviceChoice;
use aca_eval::{
    allocate_run, files, test_run, train as train_run, AllocateOptions, ChannelPlan, TrainConfig,
    TrainRecord, TrainResults,
};
use anyhow::{bail, Context, Result};

use crate::cli::{
    stage_fields, PresetArg, RunControlArgs, StageArgs, StageDataArgs, TensorBoardArgs,
};
use crate::device_name;
use crate::progress::{Bars, EpochBar};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct AllocateArgs {
    /// A finished search run directory.
    #[arg(long, value_name = "SEARCH_DIR")]
    pub run: PathBuf,

    /// Channel scorer: `taylor` (first-order Taylor importance on the final search network) or
    /// `bn-gamma` (|gamma| of the last BN in an evaluation network warmed up for 2 epochs).
    #[arg(long, default_value = "taylor", value_name = "taylor|bn-gamma")]
    pub scorer: aca_eval::ScorerKind,

    /// Allocation strategy: `otsu-log` (Otsu's split of the log scores, parameter-free, ACA's
    /// default), `otsu` (Otsu on the raw scores), `all` (plain DARTS), `fixed:F`.
    #[arg(
        long,
        default_value = "otsu-log",
        value_name = "otsu|otsu-log|all|fixed:F"
    )]
    pub strategy: aca_eval::Strategy,

    /// Score on at most N validation batches [default: the whole validation split].
    #[arg(long, value_name = "N")]
    pub batches: Option<usize>,

    /// Start from the snapshot kept at the end of this search epoch (see `--snapshot-epochs`)
    /// [default: the final search].
    #[arg(long, value_name = "E")]
    pub epoch: Option<usize>,

    /// Where to write the plan [default: plan.json in the search (or snapshot) folder].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// A channel plan (plan.json).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["genotype", "resume"], required_unless_present_any = ["genotype", "resume"])]
    pub plan: Option<PathBuf>,

    /// A genotype (published name or file): trained as DARTS does, every channel on its op.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "resume")]
    pub genotype: Option<String>,

    #[command(flatten)]
    pub preset: PresetArg,

    #[command(flatten)]
    pub data: StageDataArgs,

    #[command(flatten)]
    pub stage: StageArgs,

    #[command(flatten)]
    pub tensorboard: TensorBoardArgs,

    #[command(flatten)]
    pub control: RunControlArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// A finished training run directory.
    #[arg(long, value_name = "TRAIN_DIR")]
    pub run: PathBuf,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// A finished training run directory (`train/` of an `aca run`).
    #[arg(long, value_name = "TRAIN_DIR")]
    pub run: PathBuf,

    /// Format: `onnx`, the network in inference mode (no auxiliary head, no drop path) with
    /// input `images` (N, C, H, W) and output `logits`, dynamic batch size (opset 13); or
    /// `safetensors`, a state dict whose names and shapes are those of the original DARTS
    /// `NetworkCIFAR`/`NetworkImageNet` for a full-channel plan (aca's names when the plan refills
    /// channels with identity), with `genotype.py` beside it.
    #[arg(
        long,
        default_value = "onnx",
        value_name = "onnx|safetensors",
        hide_possible_values = true
    )]
    pub format: ExportFormat,

    /// Output file [default: model.onnx or model.safetensors in the training run].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// File format of `aca export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// ONNX (opset 13).
    Onnx,
    /// A safetensors state dict.
    Safetensors,
}

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// A finished training run directory (`train/` of an `aca run`).
    #[arg(long, value_name = "TRAIN_DIR")]
    pub run: PathBuf,

    /// Image files: grey or colour as the network takes them, shorter side resized to its input
    /// size and the centre kept, as an image folder is read.
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,

    /// Classes shown per image.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub top: usize,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,
}

pub(crate) fn allocate(args: AllocateArgs, quiet: bool) -> Result<()> {
    let device = args.device.resolve()?;
    let opts = AllocateOptions {
        scorer: args.scorer,
        strategy: args.strategy,
        batches: args.batches,
    };
    let search_dir = aca_search::search_at_epoch(&args.run, args.epoch)?;
    let plan_path = args
        .out
        .clone()
        .unwrap_or_else(|| search_dir.join(files::PLAN));
    let plan = allocate_run(&search_dir, &plan_path, &opts, device)
        .with_context(|| format!("allocating channels of {}", search_dir.display()))?;
    if !quiet {
        out!("{}", plan.to_table());
        outln!("plan written to {}", plan_path.display());
    }
    Ok(())
}

/// The summary line of a training epoch.
pub(crate) fn train_line(r: &TrainRecord) -> String {
    format!(
        "train epoch {:>3}  lr {:.4}  drop path {:.3}  train loss {:.3} acc {:5.1}%  test loss {:.3} acc {:5.1}%  {:.0}s",
        r.epoch + 1,
        r.lr,
        r.drop_path,
        r.train_loss,
        100.0 * r.train_acc,
        r.test_loss,
        100.0 * r.test_acc,
        r.seconds
    )
}

/// The plan to train: a plan file, or a genotype as a plan with every channel on its op.
pub(crate) fn plan_from(plan: Option<&Path>, genotype: Option<&str>) -> Result<ChannelPlan> {
    match (plan, genotype) {
        (Some(p), _) => Ok(ChannelPlan::read(p)?),
        (None, Some(g)) => Ok(ChannelPlan::full(crate::genotype::resolve(g)?)),
        (None, None) => bail!("give --plan FILE or --genotype NAME|FILE"),
    }
}

pub(crate) fn train_config(args: &TrainArgs) -> Result<TrainConfig> {
    let mut c = match args.preset.preset {
        aca_search::Preset::Tiny => TrainConfig::tiny(),
        aca_search::Preset::Paper => TrainConfig::paper(),
        aca_search::Preset::Imagenet => TrainConfig::imagenet(),
    };
    args.data.apply(&mut c.data);
    args.stage.apply(stage_fields!(c));
    args.tensorboard.apply(&mut c.tensorboard);
    c.validate()?;
    Ok(c)
}

/// Runs (or resumes) a training into `out`, with progress bars.
pub(crate) fn run_training(
    plan: &ChannelPlan,
    config: &TrainConfig,
    out: &Path,
    device: DeviceChoice,
    resume: bool,
    quiet: bool,
    no_progress: bool,
) -> Result<TrainResults> {
    let device = device.resolve()?;
    let bar = EpochBar::new(quiet, no_progress);
    bar.line(format!(
        "training {} on {} ({} epochs, C={}, {} cells, {}) -> {}",
        if plan.is_full() {
            "the genotype"
        } else {
            "the channel plan"
        },
        config.data.dataset,
        config.epochs,
        config.network.channels,
        config.network.layers,
        device_name(device),
        out.display()
    ));
    let results = train_run(plan, config, out, device, resume, &Bars::new(&bar))?;
    bar.finish();
    Ok(results)
}

pub(crate) fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let out = args.control.out_or_default("train");
    crate::DirKind::Training.expect_out(&out, args.control.resume)?;
    let (plan, config) = if args.control.resume {
        (
            crate::read_json::<ChannelPlan>(&out.join(files::PLAN), " to resume")?,
            crate::read_json::<TrainConfig>(&out.join(files::CONFIG), " to resume")?,
        )
    } else {
        (
            plan_from(args.plan.as_deref(), args.genotype.as_deref())?,
            train_config(&args)?,
        )
    };
    args.control.device.resolve()?;
    let r = crate::in_run_dir(&out, || {
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        crate::init_tracing(quiet, Some(&out.join("log.txt")))?;
        run_training(
            &plan,
            &config,
            &out,
            args.control.device,
            args.control.resume,
            quiet,
            args.control.no_progress,
        )
    })?;
    if !quiet {
        outln!(
            "test top-1 {:.2}%  top-5 {:.2}%  ({} test images); {} parameters (+{} auxiliary head); {:.1}M multiply-adds; run directory: {}",
            100.0 * r.test_top1,
            100.0 * r.test_top5,
            r.test_images,
            r.params,
            r.aux_params,
            r.flops as f64 / 1e6,
            out.display()
        );
    }
    Ok(())
}

pub(crate) fn test(args: TestArgs) -> Result<()> {
    crate::DirKind::Training.expect(&args.run, "--run")?;
    let device = args.device.resolve()?;
    let (acc, n) =
        test_run(&args.run, device).with_context(|| format!("testing {}", args.run.display()))?;
    outln!(
        "test top-1 {:.2}%  top-5 {:.2}%  loss {:.4}  ({n} test images)",
        100.0 * acc.top1,
        100.0 * acc.top5.unwrap_or(f64::NAN),
        acc.loss
    );
    Ok(())
}

pub(crate) fn predict(args: PredictArgs) -> Result<()> {
    crate::DirKind::Training.expect(&args.run, "--run")?;
    let device = args.device.resolve()?;
    let predictions = aca_eval::predict(&args.run, &args.images, args.top, device)
        .with_context(|| format!("predicting with {}", args.run.display()))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&predictions)?);
        return Ok(());
    }
    let mut text = String::new();
    for p in &predictions {
        text.push_str(&format!("{}\n", p.path.display()));
        for (rank, (label, name, prob)) in p.top.iter().enumerate() {
            text.push_str(&format!(
                "  {}. {name:<20} {:>6.2} %  (label {label})\n",
                rank + 1,
                100.0 * prob
            ));
        }
    }
    out!("{text}");
    Ok(())
}

pub(crate) fn export(args: ExportArgs, quiet: bool) -> Result<()> {
    crate::DirKind::Training.expect(&args.run, "--run")?;
    let out = |name: &str| args.out.clone().unwrap_or_else(|| args.run.join(name));
    match args.format {
        ExportFormat::Onnx => {
            let out = out("model.onnx");
            aca_eval::export_onnx(&args.run, &out)
                .with_context(|| format!("exporting {}", args.run.display()))?;
            if !quiet {
                outln!(
                    "ONNX model (opset {}, input `images`, output `logits`) written to {}",
                    aca_eval::ONNX_OPSET,
                    out.display()
                );
            }
        }
        ExportFormat::Safetensors => {
            let done = aca_eval::export_safetensors(&args.run, &out("model.safetensors"))
                .with_context(|| format!("exporting {}", args.run.display()))?;
            if !quiet {
                outln!(
                    "{} tensors written to {} ({} names), genotype to {}",
                    done.tensors,
                    done.weights.display(),
                    match done.naming {
                        aca_eval::Naming::Darts => "the original DARTS code's",
                        aca_eval::Naming::Aca => "aca's",
                    },
                    done.genotype.display()
                );
            }
        }
    }
    Ok(())
}
