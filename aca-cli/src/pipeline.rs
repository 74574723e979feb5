//! `aca run`: search, allocate, train, test and report in one resumable run directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aca_core::{write_atomic, CoreError, RunLock};
use aca_eval::{
    allocate_run, files as train_files, test_run, ChannelPlan, RunConfig, RunLayout, RunState,
    StageSeconds,
};
use aca_search::{files as search_files, search, search_at_epoch, MethodKind, Preset, SearchError};
use aca_space::{CellType, Space};
use anyhow::{bail, Context, Result};

use crate::cli::{
    PresetArg, RunControlArgs, SearchChoiceArgs, SearchMemoryArgs, SnapshotArgs, StageDataArgs,
    TensorBoardArgs,
};
use crate::progress::EpochBar;
use crate::{default_out, device_name};
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
    let preset = args.preset.preset;
    let patch = args
        .config
        .as_deref()
        .map(crate::config_file::read_patch)
        .transpose()?;
    let method =
        crate::config_file::chosen_method(args.choice.method, patch.as_ref(), "/search/method")?;
    let file_space = patch
        .as_ref()
        .and_then(|p| p.pointer("/search/space"))
        .and_then(|m| m.as_str())
        .map(|s| s.parse::<Space>())
        .transpose()?;
    let space = args.choice.space.or(file_space).unwrap_or_default();
    let mut config = RunConfig::preset(preset, method, space);
    if let (Some(path), Some(patch)) = (&args.config, patch) {
        let mut value = serde_json::to_value(&config)?;
        crate::config_file::merge(&mut value, patch);
        config = serde_json::from_value(value)
            .with_context(|| format!("run configuration {}", path.display()))?;
    }
    config.search.method = method;
    config.search.space = space;
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

/// Everything the final summary shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub dataset: aca_data::DatasetKind,
    pub space: Space,
    pub method: MethodKind,
    pub preset: Preset,
    pub genotype: String,
    pub identity_normal: f64,
    pub identity_reduce: f64,
    pub skip_normal: usize,
    pub learning: Option<aca_space::ArchLearning>,
    pub params: i64,
    pub aux_params: i64,
    pub flops: u64,
    pub top1: f64,
    pub top5: f64,
    pub test_images: usize,
    pub seconds: StageSeconds,
    pub report: PathBuf,
}

fn duration(s: f64) -> String {
    humantime::format_duration(Duration::from_secs(s.round() as u64)).to_string()
}

/// The summary printed at the end of `aca run` (and saved as summary.txt).
pub(crate) fn render_summary(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "aca run: {} search ({}) on {}, preset {}",
        s.space, s.method, s.dataset, s.preset
    );
    let _ = writeln!(out, "  genotype        {}", s.genotype);
    let _ = writeln!(
        out,
        "  identity share  normal cells {:.1}%, reduction cells {:.1}%  (skip_connect edges in the normal cell: {})",
        100.0 * s.identity_normal,
        100.0 * s.identity_reduce,
        s.skip_normal
    );
    if let Some(l) = &s.learning {
        let _ = writeln!(
            out,
            "  architecture    alphas moved {:.1}x their initial noise, normal-cell entropy {:.1}% of uniform{}",
            l.shift,
            100.0 * l.relative_entropy_normal(),
            if s.method == MethodKind::Random {
                " (random baseline: no architecture step)"
            } else if l.learned() {
                ""
            } else {
                " (not learned)"
            }
        );
        if !l.learned() && s.method != MethodKind::Random {
            let _ = writeln!(
                out,
                "  warning         {}",
                aca_search::not_learned_message(l)
            );
        }
    }
    let _ = writeln!(
        out,
        "  parameters      {} ({:.2}M), auxiliary head {}",
        s.params,
        s.params as f64 / 1e6,
        s.aux_params
    );
    let _ = writeln!(
        out,
        "  multiply-adds   {:.1}M per image",
        s.flops as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "  test accuracy   top-1 {:.2}%, top-5 {:.2}% on {} images",
        100.0 * s.top1,
        100.0 * s.top5,
        s.test_images
    );
    let t = &s.seconds;
    let _ = writeln!(
        out,
        "  time            search {}, allocate {}, train {}, test {}, report {}",
        duration(t.search),
        duration(t.allocate),
        duration(t.train),
        duration(t.test),
        duration(t.report)
    );
    let _ = writeln!(out, "  report          {}", s.report.display());
    out
}

pub(crate) fn run(args: RunArgs, quiet: bool) -> Result<()> {
    let out = args
        .control
        .out
        .clone()
        .unwrap_or_else(|| default_out("run"));
    // `in_run_dir` logs the error into log.txt (and removes a folder a failed start made).
    let result = crate::in_run_dir(&out, || run_in(&out, args, quiet));
    if let Err(e) = &result {
        let locked = matches!(
            e.downcast_ref::<CoreError>(),
            Some(CoreError::Locked { .. })
        );
        let layout = RunLayout::new(&out);
        if !locked && layout.has_state() {
            let _ = write_atomic(
                &layout.file(RunLayout::ERROR),
                format!("{e:#}\n").as_bytes(),
            );
        }
    }
    result
}

fn run_in(out: &Path, args: RunArgs, quiet: bool) -> Result<()> {
    let out = out.to_path_buf();
    let layout = RunLayout::new(&out);
    // Everything is checked before the run directory is touched.
    crate::DirKind::Pipeline.expect_out(&out, args.control.resume)?;
    let device = args.control.device.resolve()?;
    let fresh = if args.control.resume {
        None
    } else {
        if layout.has_state() {
            bail!(
                "{} already holds a run; pass --resume to continue it, or choose another --out",
                out.display()
            );
        }
        Some(run_config(&args)?)
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // One process per run directory, for the whole run.
    let _lock = RunLock::acquire(&out)?;
    let _ = std::fs::remove_file(layout.file(RunLayout::ERROR));
    let mut state = match fresh {
        Some(config) => RunState::new(args.preset.preset, config),
        None => crate::read_json(&layout.file(RunLayout::RUN_JSON), " to resume")?,
    };
    layout.write_state(&state)?;
    crate::init_tracing(quiet, Some(&layout.file(RunLayout::LOG)))?;
    let bar = EpochBar::new(quiet, args.control.no_progress);
    let cfg = state.config.clone();
    bar.line(format!(
        "aca run: {} search ({}) on {}, preset {}, {} -> {}",
        cfg.search.space,
        cfg.search.method,
        cfg.search.data.dataset,
        state.preset,
        device_name(device),
        out.display()
    ));

    // 1. Search. `search/` may be a sweep's search shared by several runs (a link): while
    // another run works on it, wait, then continue from where it is.
    let search_dir = layout.search_dir();
    while !layout.search_done() {
        let t = Instant::now();
        let resume = layout.search_started();
        bar.line(format!(
            "[1/5] search: {} epochs{}",
            cfg.search.epochs,
            if resume { " (resuming)" } else { "" }
        ));
        let bars = crate::progress::Bars::new(&bar);
        match search(&cfg.search, &search_dir, device, resume, &bars) {
            Err(SearchError::Core(CoreError::Locked { holder, .. })) => {
                bar.line(format!(
                    "      the search is in use by {holder}: waiting for it"
                ));
                drop(RunLock::wait(&search_dir)?);
                continue;
            }
            result => {
                result.context("search stage")?;
            }
        }
        state.seconds.search += t.elapsed().as_secs_f64();
        layout.write_state(&state)?;
    }
    let eval_dir = search_at_epoch(&search_dir, cfg.eval_epoch)?;
    // 2. Allocate.
    let plan_path = layout.plan();
    if !plan_path.exists() {
        let t = Instant::now();
        bar.line(format!(
            "[2/5] allocate: scorer {}, strategy {}{}",
            cfg.allocate.scorer,
            cfg.allocate.strategy,
            match cfg.eval_epoch {
                Some(e) => format!(", search epoch {e}"),
                None => String::new(),
            }
        ));
        allocate_run(&eval_dir, &plan_path, &cfg.allocate, device).context("allocation stage")?;
        state.seconds.allocate += t.elapsed().as_secs_f64();
        layout.write_state(&state)?;
    }
    let plan = ChannelPlan::read(&plan_path)?;
    // 3. Train.
    let train_dir = layout.train_dir();
    if !layout.train_done() {
        let t = Instant::now();
        let resume = layout.train_started();
        bar.line(format!(
            "[3/5] train: {} epochs{}",
            cfg.train.epochs,
            if resume { " (resuming)" } else { "" }
        ));
        let bars = crate::progress::Bars::new(&bar);
        aca_eval::train(&plan, &cfg.train, &train_dir, device, resume, &bars)
            .context("training stage")?;
        state.seconds.train += t.elapsed().as_secs_f64();
        layout.write_state(&state)?;
    }
    if cfg.train.tensorboard.enabled {
        plan_and_hparams_to_tensorboard(&train_dir, &plan, &state.hparams)
            .context("TensorBoard files")?;
    }
    // 4. Test.
    let t = Instant::now();
    bar.line("[4/5] test".into());
    let (test, test_images) = test_run(&train_dir, device).context("test stage")?;
    let (top1, top5) = (test.top1, test.top5.unwrap_or(f64::NAN));
    state.seconds.test = t.elapsed().as_secs_f64();
    // 5. Report.
    let t = Instant::now();
    bar.line("[5/5] report".into());
    let report = crate::report::render(&out).context("report stage")?;
    state.seconds.report = t.elapsed().as_secs_f64();
    layout.write_state(&state)?;
    bar.finish();

    let results: aca_eval::TrainResults = serde_json::from_str(&std::fs::read_to_string(
        train_dir.join(train_files::RESULTS),
    )?)?;
    let summary = Summary {
        dataset: cfg.search.data.dataset,
        space: cfg.search.space,
        method: cfg.search.method,
        preset: state.preset,
        genotype: plan.genotype.to_darts(),
        identity_normal: plan.identity_share(CellType::Normal),
        identity_reduce: plan.identity_share(CellType::Reduce),
        skip_normal: plan.genotype.skip_count(CellType::Normal),
        learning: last_learning(&search_dir, cfg.eval_epoch),
        params: results.params,
        aux_params: results.aux_params,
        flops: results.flops,
        top1,
        top5,
        test_images,
        seconds: state.seconds.clone(),
        report,
    };
    let text = render_summary(&summary);
    write_atomic(&layout.file(RunLayout::SUMMARY), text.as_bytes())?;
    if !quiet {
        out!("{text}");
    }
    Ok(())
}

/// The learning indicators of the search epoch evaluated (the last one by default).
fn last_learning(search_dir: &Path, epoch: Option<usize>) -> Option<aca_space::ArchLearning> {
    let text = std::fs::read_to_string(search_dir.join(search_files::METRICS)).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<aca_search::EpochRecord>(l).ok())
        .find(|r| epoch.is_none_or(|e| r.epoch + 1 == e))?
        .learning
}

/// The channel plan ([`ChannelPlan::to_tensorboard`]) and, for a sweep's run, its HParams session
/// (its axis values) in the training's TensorBoard folder.
fn plan_and_hparams_to_tensorboard(
    train_dir: &Path,
    plan: &ChannelPlan,
    hparams: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<()> {
    let tb_dir = train_dir.join(aca_core::tensorboard::TB_DIR);
    let mut tb = aca_core::tensorboard::EventWriter::open(&tb_dir, |tag, _| {
        !tag.starts_with("plan/") && !tag.starts_with("_hparams_/")
    })?;
    plan.to_tensorboard(&mut tb)?;
    if !hparams.is_empty() {
        tb.hparams_session(hparams)?;
    }
    tb.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aca_eval::{Strategy, TrainConfig};

    #[test]
    fn summary_snapshot() {
        let s = Summary {
            dataset: aca_data::DatasetKind::FashionMnist,
            space: Space::Aca,
            method: MethodKind::Darts,
            preset: Preset::Tiny,
            genotype: "Genotype(normal=[('sep_conv_3x3', 0)], ...)".into(),
            identity_normal: 0.25,
            identity_reduce: 0.5,
            skip_normal: 0,
            learning: Some(aca_space::ArchLearning {
                entropy_normal: 1.9,
                entropy_reduce: 1.8,
                uniform_entropy: 7f64.ln(),
                max_weight: 0.4,
                shift: 1.5,
            }),
            params: 123_456,
            aux_params: 7_890,
            flops: 12_345_678,
            top1: 0.8512,
            top5: 0.9934,
            test_images: 10_000,
            seconds: StageSeconds {
                search: 201.0,
                allocate: 4.2,
                train: 250.0,
                test: 3.0,
                report: 1.0,
            },
            report: PathBuf::from("runs/run-x/report/report.html"),
        };
        insta::assert_snapshot!(render_summary(&s));
    }

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

    #[test]
    fn config_files_patch_the_preset() {
        let mut base = serde_json::json!({"a": {"b": 1, "c": 2}, "d": 3});
        crate::config_file::merge(&mut base, serde_json::json!({"a": {"c": 5}, "e": 6}));
        assert_eq!(
            base,
            serde_json::json!({"a": {"b": 1, "c": 5}, "d": 3, "e": 6})
        );
    }
}
