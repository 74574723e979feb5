//! The whole pipeline in one resumable run directory: search, allocate, train, test and report.
//! `aca run`, the sweeps' runs (each an `aca run --resume`) and downstream crates call
//! [`Pipeline`]; a front end watches it through a [`PipelineObserver`].

mod config;
mod summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

use aca_core::{write_atomic, CoreError, Observer, RunLock};
use aca_search::{search, search_at_epoch, EpochRecord, SearchError};
use aca_space::CellType;
use tch::Device;

pub use config::{RunConfig, RunState, StageSeconds};
pub use summary::Summary;

use crate::allocate::allocate_run;
use crate::error::{EvalError, Result};
use crate::layout::RunLayout;
use crate::plan::ChannelPlan;
use crate::train::{files as train_files, read_json, test_run, train, TrainRecord, TrainResults};

/// An error of a stage's own, boxed: the report stage is the front end's.
pub type StageError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`Pipeline`] tells its front end (progress lines, the epoch loops' bars), and the
/// report, which the front end renders: its figures need plotting libraries this crate does not
/// carry. Every method has a default: a silent observer, and no report.
pub trait PipelineObserver: Observer<EpochRecord> + Observer<TrainRecord> {
    /// A progress line: a stage starts, or waits for a shared search.
    fn line(&self, _text: String) {}

    /// Renders the report of the run in `run_dir` and returns its page.
    fn report(&self, _run_dir: &Path) -> std::result::Result<Option<PathBuf>, StageError> {
        Ok(None)
    }
}

impl PipelineObserver for aca_core::Silent {}

/// An `aca run` directory, opened by one process (its lock is held until the value drops).
#[derive(Debug)]
pub struct Pipeline {
    layout: RunLayout,
    state: RunState,
    _lock: RunLock,
}

impl Pipeline {
    /// Starts a new run in `dir` (created if missing; it must not hold a run): takes the
    /// directory's lock and writes `run.json`.
    pub fn create(dir: &Path, state: RunState) -> Result<Self> {
        let layout = RunLayout::new(dir);
        if layout.has_state() {
            return Err(EvalError::RunExists { dir: dir.into() });
        }
        Self::open(layout, state)
    }

    /// Opens the run in `dir` to continue it from its files.
    pub fn resume(dir: &Path) -> Result<Self> {
        let layout = RunLayout::new(dir);
        if !layout.has_state() {
            return Err(EvalError::RunDir {
                dir: dir.into(),
                reason: "no run.json: not an `aca run` directory to resume".into(),
            });
        }
        let state = read_json(&layout.file(RunLayout::RUN_JSON))?;
        Self::open(layout, state)
    }

    fn open(layout: RunLayout, state: RunState) -> Result<Self> {
        let dir = layout.root();
        std::fs::create_dir_all(dir).map_err(|e| CoreError::Io {
            path: dir.into(),
            source: e,
        })?;
        let lock = RunLock::acquire(dir)?;
        let _ = std::fs::remove_file(layout.file(RunLayout::ERROR));
        layout.write_state(&state)?;
        Ok(Self {
            layout,
            state,
            _lock: lock,
        })
    }

    /// The run's configuration and time spent so far.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The run directory's files.
    pub fn layout(&self) -> &RunLayout {
        &self.layout
    }

    /// Runs the stages not done yet, in order, on `device`; writes `summary.txt` and returns the
    /// summary. A failure is also written to `error.txt` (its whole chain).
    pub fn run(mut self, device: Device, observer: &impl PipelineObserver) -> Result<Summary> {
        let result = self.stages(device, observer);
        if let Err(e) = &result {
            if !e.is_locked() {
                let _ = write_atomic(
                    &self.layout.file(RunLayout::ERROR),
                    format!("{}\n", chain(e)).as_bytes(),
                );
            }
        }
        result
    }

    fn stages(&mut self, device: Device, observer: &impl PipelineObserver) -> Result<Summary> {
        let layout = self.layout.clone();
        let cfg = self.state.config.clone();
        // 1. Search. `search/` may be a sweep's search shared by several runs (a link): while
        // another run works on it, wait, then continue from where it is.
        let search_dir = layout.search_dir();
        while !layout.search_done() {
            let t = Instant::now();
            let resume = layout.search_started();
            observer.line(format!(
                "[1/5] search: {} epochs{}",
                cfg.search.epochs,
                if resume { " (resuming)" } else { "" }
            ));
            match search(&cfg.search, &search_dir, device, resume, observer) {
                Err(SearchError::Core(CoreError::Locked { holder, .. })) => {
                    observer.line(format!(
                        "      the search is in use by {holder}: waiting for it"
                    ));
                    drop(RunLock::wait(&search_dir)?);
                    continue;
                }
                result => {
                    result.stage("search stage")?;
                }
            }
            self.state.seconds.search += t.elapsed().as_secs_f64();
            layout.write_state(&self.state)?;
        }
        let eval_dir = search_at_epoch(&search_dir, cfg.eval_epoch)?;
        // 2. Allocate.
        let plan_path = layout.plan();
        if !plan_path.exists() {
            let t = Instant::now();
            observer.line(format!(
                "[2/5] allocate: scorer {}, strategy {}{}",
                cfg.allocate.scorer,
                cfg.allocate.strategy,
                match cfg.eval_epoch {
                    Some(e) => format!(", search epoch {e}"),
                    None => String::new(),
                }
            ));
            allocate_run(&eval_dir, &plan_path, &cfg.allocate, device).stage("allocation stage")?;
            self.state.seconds.allocate += t.elapsed().as_secs_f64();
            layout.write_state(&self.state)?;
        }
        let plan = ChannelPlan::read(&plan_path)?;
        // 3. Train.
        let train_dir = layout.train_dir();
        if !layout.train_done() {
            let t = Instant::now();
            let resume = layout.train_started();
            observer.line(format!(
                "[3/5] train: {} epochs{}",
                cfg.train.epochs,
                if resume { " (resuming)" } else { "" }
            ));
            train(&plan, &cfg.train, &train_dir, device, resume, observer)
                .stage("training stage")?;
            self.state.seconds.train += t.elapsed().as_secs_f64();
            layout.write_state(&self.state)?;
        }
        if cfg.train.tensorboard.enabled {
            plan_and_hparams_to_tensorboard(&train_dir, &plan, &self.state)
                .stage("TensorBoard files")?;
        }
        // 4. Test.
        let t = Instant::now();
        observer.line("[4/5] test".into());
        let (test, test_images) = test_run(&train_dir, device).stage("test stage")?;
        self.state.seconds.test = t.elapsed().as_secs_f64();
        // 5. Report.
        let t = Instant::now();
        observer.line("[5/5] report".into());
        let report = observer
            .report(layout.root())
            .map_err(|source| EvalError::Stage {
                stage: "report stage",
                source,
            })?;
        self.state.seconds.report = t.elapsed().as_secs_f64();
        layout.write_state(&self.state)?;

        let results: TrainResults = read_json(&train_dir.join(train_files::RESULTS))?;
        let summary = Summary {
            dataset: cfg.search.data.dataset,
            space: cfg.search.space,
            method: cfg.search.method,
            preset: self.state.preset,
            genotype: plan.genotype.to_darts(),
            identity_normal: plan.identity_share(CellType::Normal),
            identity_reduce: plan.identity_share(CellType::Reduce),
            skip_normal: plan.genotype.skip_count(CellType::Normal),
            learning: summary::last_learning(&search_dir, cfg.eval_epoch),
            params: results.params,
            aux_params: results.aux_params,
            flops: results.flops,
            top1: test.top1,
            top5: test.top5.unwrap_or(f64::NAN),
            test_images,
            seconds: self.state.seconds.clone(),
            report,
        };
        write_atomic(
            &layout.file(RunLayout::SUMMARY),
            summary.render().as_bytes(),
        )?;
        Ok(summary)
    }
}

/// A stage's error as [`EvalError::Stage`].
trait StageResult<T> {
    fn stage(self, stage: &'static str) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> StageResult<T> for std::result::Result<T, E> {
    fn stage(self, stage: &'static str) -> Result<T> {
        self.map_err(|e| EvalError::Stage {
            stage,
            source: Box::new(e),
        })
    }
}

/// An error and its causes, joined by `: ` (each message once), as `error.txt` keeps it.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        parts.push(c.to_string());
        cause = c.source();
    }
    parts.join(": ")
}

/// The channel plan ([`ChannelPlan::to_tensorboard`]) and, for a sweep's run, its HParams session
/// (its axis values) in the training's TensorBoard folder.
fn plan_and_hparams_to_tensorboard(
    train_dir: &Path,
    plan: &ChannelPlan,
    state: &RunState,
) -> std::result::Result<(), CoreError> {
    let tb_dir = train_dir.join(aca_core::tensorboard::TB_DIR);
    let mut tb = aca_core::tensorboard::EventWriter::open(&tb_dir, |tag, _| {
        !tag.starts_with("plan/") && !tag.starts_with("_hparams_/")
    })?;
    plan.to_tensorboard(&mut tb)?;
    if !state.hparams.is_empty() {
        tb.hparams_session(&state.hparams)?;
    }
    tb.flush()
}
