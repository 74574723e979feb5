//! `aca run`: its flags, the run configuration they give, and the bars and lines of
//! [`aca_eval::Pipeline`], which runs the stages.

use std::path::{Path, PathBuf};

use aca_core::Layers;
use aca_eval::{EvalError, Pipeline, PipelineObserver, RunConfig, RunLayout, RunState, StageError};
use anyhow::Result;

use crate::cli::{
    PresetArg, RunControlArgs, SearchChoiceArgs, SearchMemoryArgs, SnapshotArgs, StageDataArgs,
    TensorBoardArgs,
};
use crate::device_name;
use crate::progress::{Bars, EpochBar};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub preset: PresetArg,

    #[command(flatten)]
    pub choice: SearchChoiceArgs,

    #[command(flatten)]
    pub data: StageDataArgs,

    /// Seed of every stage.
    #[arg(long, value_name = "S", conflicts_with = "resume")]
    pub seed: Option<u64>,

    /// Channel scorer [default: the config file's, else taylor].
    #[arg(long, value_name = "taylor|bn-gamma", conflicts_with = "resume")]
    pub scorer: Option<aca_eval::ScorerKind>,

    /// Allocation strategy [default: otsu-log for a skip-free space (aca, s3-aca), all for one
    /// with skip_connect (darts, s2, s3)].
    #[arg(
        long,
        value_name = "otsu|otsu-log|all|fixed:F",
        conflicts_with = "resume"
    )]
    pub strategy: Option<aca_eval::Strategy>,

    #[command(flatten)]
    pub snapshots: SnapshotArgs,

    #[command(flatten)]
    pub memory: SearchMemoryArgs,

    #[command(flatten)]
    pub tensorboard: TensorBoardArgs,

    /// Allocate and train from the snapshot of this search epoch instead of the final search
    /// (the search still runs its full length and keeps the snapshot).
    #[arg(long, value_name = "E", conflicts_with = "resume")]
    pub eval_epoch: Option<usize>,

    /// A JSON run configuration {"search": {..}, "allocate": {..}, "train": {..}}, every field
    /// optional (defaults: the preset's); flags override it.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub control: RunControlArgs,
}

/// The run configuration, by one precedence: explicit flags > config file > preset defaults (the
/// preset of the method the flags or the file name).
fn run_config(args: &RunArgs) -> Result<RunConfig> {
    let mut layers = Layers::new(match &args.config {
        Some(path) => format!("run configuration {}", path.display()),
        None => "run configuration".into(),
    });
    if let Some(path) = &args.config {
        layers = layers.with(crate::config_file::read_patch(path)?);
    }
    let mut config = RunConfig::layered(
        args.preset.preset,
        &layers,
        args.choice.method,
        args.choice.space,
    )?;
    if let Some(s) = &args.scorer {
        config.allocate.scorer = *s;
    }
    if let Some(s) = &args.strategy {
        config.allocate.strategy = *s;
    }
    args.data.apply(&mut config.search.data);
    args.data.apply(&mut config.train.data);
    if let Some(seed) = args.seed {
        config.search.seed = seed;
        config.train.seed = seed;
    }
    args.snapshots.apply(&mut config.search);
    args.memory.apply(&mut config.search);
    args.tensorboard.apply(&mut config.search.tensorboard);
    args.tensorboard.apply(&mut config.train.tensorboard);
    if args.eval_epoch.is_some() {
        config.eval_epoch = args.eval_epoch;
    }
    config.resolve()?;
    Ok(config)
}

pub(crate) fn run(args: RunArgs, quiet: bool) -> Result<()> {
    let out = args.control.out_or_default("run");
    // `in_run_dir` logs the error into log.txt (and removes a folder a failed start made); the
    // pipeline keeps its stages' errors in error.txt.
    crate::in_run_dir(&out, || run_in(&out, args, quiet))
}

fn run_in(out: &Path, args: RunArgs, quiet: bool) -> Result<()> {
    // Everything is checked before the run directory is touched.
    crate::DirKind::Pipeline.expect_out(out, args.control.resume)?;
    let device = args.control.device.resolve()?;
    let pipeline = if args.control.resume {
        Pipeline::resume(out)?
    } else {
        if RunLayout::new(out).has_state() {
            return Err(EvalError::RunExists { dir: out.into() }.into());
        }
        let config = run_config(&args)?;
        Pipeline::create(out, RunState::new(args.preset.preset, config))?
    };
    let layout = pipeline.layout().clone();
    crate::init_tracing(quiet, Some(&layout.file(RunLayout::LOG)))?;
    let bar = EpochBar::new(quiet, args.control.no_progress);
    let (cfg, preset) = (&pipeline.state().config, pipeline.state().preset);
    bar.line(format!(
        "aca run: {} search ({}) on {}, preset {}, {} -> {}",
        cfg.search.space,
        cfg.search.method,
        cfg.search.data.dataset,
        preset,
        device_name(device),
        out.display()
    ));
    let summary = pipeline.run(device, &Bars::new(&bar))?;
    bar.finish();
    if !quiet {
        out!("{}", summary.render());
    }
    Ok(())
}

/// The bars and lines of `aca run`, and its report.
impl PipelineObserver for Bars<'_> {
    fn line(&self, text: String) {
        self.bar().line(text);
    }

    fn report(&self, run_dir: &Path) -> std::result::Result<Option<PathBuf>, StageError> {
        Ok(Some(crate::report::render(run_dir)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aca_eval::{Strategy, TrainConfig};
    use aca_search::MethodKind;
    use aca_space::Space;

    fn run_args(args: &[&str]) -> RunArgs {
        use clap::Parser;
        let mut full = vec!["aca", "run"];
        full.extend(args);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Run(a) => *a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_beat_the_config_file_which_beats_the_preset() {
        let dir = std::env::temp_dir().join(format!("aca-precedence-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.json");
        std::fs::write(
            &file,
            r#"{"search": {"method": "pc-darts", "space": "darts", "epochs": 7, "network": {"recompute_cells": 2}}, "allocate": {"strategy": "fixed:0.5"}}"#,
        )
        .unwrap();
        let f = file.to_str().unwrap();
        // The file's method brings its preset (PC-DARTS's partial channels), its fields win over
        // the preset's, and the explicit preset is the tiny one.
        let c = run_config(&run_args(&["--config", f])).unwrap();
        assert_eq!(c.search.method, MethodKind::PcDarts);
        assert_eq!(c.search.network.partial_channels, Some(2));
        assert_eq!(c.search.space, Space::Darts);
        assert_eq!(c.search.epochs, 7);
        assert_eq!(c.search.network.recompute_cells, 2);
        assert_eq!(c.allocate.strategy, Strategy::Fixed(0.5));
        assert_eq!(c.train.epochs, TrainConfig::tiny().epochs);
        // Explicit flags win over the file.
        let c = run_config(&run_args(&[
            "--config",
            f,
            "--space",
            "aca",
            "--strategy",
            "otsu",
            "--seed",
            "4",
            "--recompute-cells",
            "8",
        ]))
        .unwrap();
        assert_eq!(c.search.space, Space::Aca);
        assert_eq!(c.search.network.recompute_cells, 8);
        assert_eq!(c.allocate.strategy, Strategy::Otsu);
        assert_eq!((c.search.seed, c.train.seed), (4, 4));
        // A key named twice is refused, naming it.
        std::fs::write(&file, r#"{"search": {"epochs": 3, "epochs": 4}}"#).unwrap();
        let e = run_config(&run_args(&["--config", f])).unwrap_err();
        assert!(
            format!("{e:#}").contains("key `epochs` appears twice"),
            "{e:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
