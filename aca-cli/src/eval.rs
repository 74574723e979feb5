use std::path::Path;

use aca_core::DeviceChoice;
use aca_eval::{
    allocate_run, files, test_run, train as train_run, AllocateOptions, ChannelPlan, TrainConfig,
    TrainObserver, TrainRecord, TrainResults,
};
use anyhow::{bail, Context, Result};

use crate::cli::{AllocateArgs, ExportArgs, PredictArgs, TestArgs, TrainArgs};
use crate::progress::EpochBar;
use crate::search::{default_out, device_name};

pub(crate) fn allocate(args: AllocateArgs, quiet: bool) -> Result<()> {
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
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

/// Training progress on an [`EpochBar`].
pub(crate) struct Bars<'a>(&'a EpochBar);

impl<'a> Bars<'a> {
    pub(crate) fn new(bar: &'a EpochBar) -> Self {
        Self(bar)
    }
}

impl TrainObserver for Bars<'_> {
    fn epoch_started(&self, epoch: usize, epochs: usize, steps: usize) {
        self.0.start(format!("train {}/{epochs}", epoch + 1), steps);
    }
    fn step_done(&self) {
        self.0.step();
    }
    fn epoch_done(&self, r: &TrainRecord) {
        self.0.line(train_line(r));
    }
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
    let mut c = match args.preset.as_str() {
        "tiny" => TrainConfig::tiny(),
        "paper" => TrainConfig::paper(),
        other => bail!("preset = {other}: expected tiny or paper"),
    };
    if let Some(v) = &args.dataset {
        let d = &mut c.data;
        crate::search::switch_dataset(&mut d.dataset, &mut d.augment, &mut d.resize, v.parse()?);
    }
    if let Some(v) = &args.data_dir {
        c.data.data_dir = Some(v.clone());
    }
    if let Some(v) = args.resize {
        c.data.resize = Some(v);
    }
    if let Some(v) = args.epochs {
        c.epochs = v;
    }
    if let Some(v) = args.seed {
        c.seed = v;
    }
    if let Some(v) = args.batch_size {
        c.data.batch_size = v;
    }
    if let Some(v) = args.channels {
        c.network.channels = v;
    }
    if let Some(v) = args.layers {
        c.network.layers = v;
    }
    if let Some(v) = args.train_limit {
        c.data.train_limit = Some(v);
    }
    c.validate()?;
    Ok(c)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Runs (or resumes) a training into `out`, with progress bars.
pub(crate) fn run_training(
    plan: &ChannelPlan,
    config: &TrainConfig,
    out: &Path,
    device_arg: &str,
    resume: bool,
    quiet: bool,
    no_progress: bool,
) -> Result<TrainResults> {
    let device = device_arg.parse::<DeviceChoice>()?.resolve()?;
    let bar = EpochBar::new(quiet, no_progress);
    let bars = Bars(&bar);
    bars.0.line(format!(
        "training {} on {} ({} epochs, C={}, {} cells, {}) -> {}",
        if plan.strategy == "all" {
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
    let results = train_run(plan, config, out, device, resume, &bars)?;
    bars.0.finish();
    Ok(results)
}

pub(crate) fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| default_out("train"));
    let (plan, config) = if args.resume {
        (
            read_json::<ChannelPlan>(&out.join(files::PLAN))?,
            read_json::<TrainConfig>(&out.join(files::CONFIG))?,
        )
    } else {
        (
            plan_from(args.plan.as_deref(), args.genotype.as_deref())?,
            train_config(&args)?,
        )
    };
    args.device.parse::<DeviceChoice>()?.resolve()?;
    let r = crate::in_run_dir(&out, || {
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        crate::init_tracing(quiet, Some(&out.join("log.txt")))?;
        run_training(
            &plan,
            &config,
            &out,
            &args.device,
            args.resume,
            quiet,
            args.no_progress,
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
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    let (top1, top5, loss, n) =
        test_run(&args.run, device).with_context(|| format!("testing {}", args.run.display()))?;
    outln!(
        "test top-1 {:.2}%  top-5 {:.2}%  loss {loss:.4}  ({n} test images)",
        100.0 * top1,
        100.0 * top5
    );
    Ok(())
}

pub(crate) fn predict(args: PredictArgs) -> Result<()> {
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
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
    let out = |name: &str| args.out.clone().unwrap_or_else(|| args.run.join(name));
    match args.format.as_str() {
        "onnx" => {
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
        "safetensors" => {
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
        other => bail!("--format {other}: expected onnx or safetensors"),
    }
    Ok(())
}
