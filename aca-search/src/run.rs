//! The search run: epochs of architecture and weight steps, metrics, checkpoints, exact resume.
//! One file although long: the epoch loop and its resumable state (what it writes lives in
//! `records` and `results`).

use std::path::Path;
use std::time::Instant;

use aca_core::tensorboard::EventWriter;
use aca_core::{
    prefixed, run_epochs, seed_everything, with_prefix, write_json_atomic, Adam, Cosine, EpochTask,
    Observer, RunDir, Sgd, Tally,
};
use aca_data::{Endless, Loader, LoaderOptions, StreamState};
use aca_space::nn::SearchNetwork;
use aca_space::{edge_weights, ArchLearning, ArchParams, CellType, Genotype, OpMask, OpSet};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use tracing::{info, warn};

use crate::config::SearchConfig;
use crate::error::{Result, SearchError};
use crate::method::ArchStep;
use crate::step::{check_finite, evaluate, search_step, StepPosition};

mod records;
mod results;

pub use records::{
    files, open_supernet, search_at_epoch, snapshot_dir, EpochRecord, SearchOutcome,
};
pub use results::not_learned_message;
use results::{cell_images, write_search_results};

/// What a search's checkpoint keeps beside its tensors.
#[derive(Debug, Serialize, Deserialize)]
struct SearchState {
    valid_stream: StreamState,
    /// The stage of a progressive search the supernet is in (0: the first, and every search
    /// without stages).
    #[serde(default)]
    stage: usize,
    /// The ops its pruning kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kept: Option<OpMask>,
}

/// Runs (or, with `resume`, continues) the search in `dir`.
pub fn search(
    config: &SearchConfig,
    dir: &Path,
    device: Device,
    resume: bool,
    observer: &dyn Observer<EpochRecord>,
) -> Result<SearchOutcome> {
    let started = Instant::now();
    config.validate()?;
    let ops = config.op_set()?;
    let mut data = config.data.load()?;
    // Once on the device: the three loaders below then share it instead of copying it.
    data.to_device(device)?;
    let config = config.resolved(&data.info);
    // One process per run directory, held until the search returns.
    let run = RunDir::open(dir, resume, "search")?;
    run.pin(files::CONFIG, &config)?;

    seed_everything(config.seed);
    let net = SearchNetwork::new(&config.network_at(0), &ops, device)?;
    // The seeded initial alphas: the reference of the learning indicators (also on resume).
    let init_arch = net.arch_params()?;
    let split = config.search_split(&data)?;
    let stream_opts = |stream| LoaderOptions {
        batch_size: config.data.batch_size,
        shuffle: true,
        drop_last: false,
        augment: config.data.augment.clone(),
        seed: config.seed,
        stream,
    };
    let train_loader = Loader::new(
        &data.train,
        &split.train,
        &data.info,
        stream_opts(aca_data::streams::SEARCH_TRAIN),
        device,
    )?;
    let arch_loader = Loader::new(
        &data.train,
        &split.valid,
        &data.info,
        stream_opts(aca_data::streams::SEARCH_VALID),
        device,
    )?;
    let eval_loader = Loader::new(
        &data.train,
        &split.valid,
        &data.info,
        LoaderOptions {
            shuffle: false,
            augment: aca_data::Augment::none(),
            ..stream_opts(aca_data::streams::SEARCH_EVAL)
        },
        device,
    )?;
    let mut task = SearchTask {
        weights: net.weights(),
        sgd: Sgd::new(config.weight_optimizer, net.weights().len()),
        adam: Adam::new(config.arch_optimizer, net.arch_parameters().len()),
        schedule: Cosine {
            base: config.weight_optimizer.lr,
            min: config.lr_min,
            epochs: config.epochs,
        },
        step_method: config.method.arch_step(&config.method_options),
        stream: Endless::new(&arch_loader, StreamState::default()),
        config: &config,
        ops: &ops,
        dir,
        init_arch: &init_arch,
        net,
        train_loader: &train_loader,
        arch_loader: &arch_loader,
        eval_loader: &eval_loader,
        device,
        sparse_fallback_warned: false,
        stage: 0,
    };
    info!(params = task.net.param_count(), space = %ops, method = %config.method, "search network ready");
    let start_epoch = run_epochs(
        &run,
        &config,
        config.epochs,
        &mut task,
        observer,
        config.tensorboard,
    )?;
    let net = task.net;

    let arch_params = net.arch_params()?;
    let genotype =
        match config
            .method
            .derive(&arch_params, &ops, &config.method_options, config.seed)
        {
            Err(SearchError::Space(source @ aca_space::SpaceError::EmptyCell { .. })) => {
                // The search's result is its alphas: keep them for a derivation by another rule.
                let alphas = dir.join(files::ALPHAS);
                write_json_atomic(&alphas, &arch_params)?;
                return Err(SearchError::EmptySparseCell { alphas, source });
            }
            derived => derived?,
        };
    write_search_results(dir, false, &config, &ops, &net, &genotype, &arch_params)?;
    if config.tensorboard.enabled {
        cell_images(dir, &genotype, config.epochs.saturating_sub(1) as i64)?;
    }
    if genotype.is_sparse() {
        info!(
            normal = genotype.op_count(CellType::Normal),
            reduce = genotype.op_count(CellType::Reduce),
            "the sparse cell keeps {} of 8 normal-cell ops and {} of 8 reduction-cell ops",
            genotype.op_count(CellType::Normal),
            genotype.op_count(CellType::Reduce)
        );
    }
    let learning = ArchLearning::measure(&arch_params, &init_arch);
    if config.method.updates_architecture() && !learning.learned() {
        warn!(
            shift = learning.shift,
            entropy = learning.relative_entropy_normal(),
            "{}",
            not_learned_message(&learning)
        );
    }
    Ok(SearchOutcome {
        dir: dir.into(),
        genotype,
        arch: arch_params,
        params: net.param_count(),
        epochs_run: config.epochs.saturating_sub(start_epoch),
        seconds: started.elapsed().as_secs_f64(),
        learning,
    })
}

/// One search as the epoch loop drives it: the supernet, both optimizers and the data streams.
struct SearchTask<'a> {
    config: &'a SearchConfig,
    ops: &'a OpSet,
    dir: &'a Path,
    init_arch: &'a ArchParams,
    net: SearchNetwork,
    weights: Vec<Tensor>,
    sgd: Sgd,
    adam: Adam,
    schedule: Cosine,
    step_method: Box<dyn ArchStep>,
    train_loader: &'a Loader,
    arch_loader: &'a Loader,
    eval_loader: &'a Loader,
    /// The validation batches of the architecture steps, endless across epochs.
    stream: Endless<'a>,
    device: Device,
    /// Whether an epoch's sparse cell was empty and DARTS's rule stood in (warned once).
    sparse_fallback_warned: bool,
    /// The progressive search's stage the supernet is in.
    stage: usize,
}

impl SearchTask<'_> {
    /// Moves the supernet on to the next stage of a progressive search (DrNAS's `pruning` then
    /// `wider`): the ops pruned by their alphas, the mixed ops widened, and the weight
    /// optimizer's momentum grown alike (its `configure_optimizer`); the learning-rate schedule
    /// and the architecture optimizer go on unchanged.
    fn next_stage(&mut self) -> Result<()> {
        let next = self.stage + 1;
        let stage = self.config.stages[next];
        if let Some(keep) = stage.keep_ops {
            self.net.prune(keep)?;
        }
        let from = self.net.config().partial_channels;
        if stage.partial_channels != from {
            // Its own seed: a resumed search draws the same copies.
            let seed = self.config.seed ^ (0x5EED_0000 + next as u64);
            let (net, widening) = self.net.widened(stage.partial_channels, seed)?;
            let momentum = (0..self.weights.len())
                .filter_map(|i| self.sgd.momentum_buffer(i).map(|b| (i, b)))
                .map(|(i, b)| Ok((format!("momentum.{i}"), widening.apply(i, b)?)))
                .collect::<Result<Vec<_>>>()?;
            self.sgd = Sgd::new(self.config.weight_optimizer, net.weights().len());
            self.sgd.load_state(&momentum)?;
            self.weights = net.weights();
            self.net = net;
        }
        self.stage = next;
        info!(
            stage = next + 1,
            keep_ops = stage.keep_ops,
            partial_channels = stage.partial_channels,
            params = self.net.param_count(),
            "progressive search: next stage (partial channels {from:?} -> {:?})",
            stage.partial_channels
        );
        Ok(())
    }
}

/// The genotype an epoch records (and a snapshot keeps): the method's. While FairDARTS's
/// threshold rule keeps no op of a cell (early in a search, when no sigmoid weight has reached
/// the threshold yet), DARTS's rule stands in, with a warning (once: `warned`); only the search's
/// final genotype must come from the method's rule.
fn epoch_genotype(
    config: &SearchConfig,
    ops: &OpSet,
    warned: &mut bool,
    arch: &ArchParams,
    epoch: usize,
) -> Result<Genotype> {
    match config
        .method
        .derive(arch, ops, &config.method_options, config.seed)
    {
        Err(SearchError::Space(e @ aca_space::SpaceError::EmptyCell { .. })) => {
            if !*warned {
                *warned = true;
                warn!(
                    epoch,
                    "{e}; until it keeps one, each epoch's record and snapshot hold the cell of \
                     DARTS's rule on the same weights"
                );
            }
            Ok(arch.derive(ops)?)
        }
        derived => derived,
    }
}

impl EpochTask for SearchTask<'_> {
    type Record = EpochRecord;
    type State = SearchState;
    type Error = SearchError;

    fn stage(&self) -> &'static str {
        "search"
    }

    fn steps_per_epoch(&self) -> usize {
        self.train_loader.batches_per_epoch()
    }

    fn run_epoch(&mut self, epoch: usize, on_step: &mut dyn FnMut(f64)) -> Result<EpochRecord> {
        let config = self.config;
        let epoch_start = Instant::now();
        while self.stage < config.stage_of(epoch).0 {
            self.next_stage()?;
        }
        let net = &self.net;
        let lr = self.schedule.lr(epoch);
        self.sgd.config.lr = lr;
        let arch_updates = config.updates_architecture_in(epoch);
        let progress = epoch as f64 / config.epochs as f64;
        if config.network.auxiliary_skip {
            net.set_auxiliary_skip(config.method_options.darts_minus.beta(epoch, config.epochs));
        }
        let mut tally = Tally::top1();
        let (mut arch_loss_sum, mut arch_steps) = (0.0, 0usize);
        for (step, batch) in self.train_loader.epoch(epoch as u64).enumerate() {
            let batch = batch?;
            let valid = self.stream.next_batch()?;
            let at = StepPosition {
                epoch,
                step,
                lr,
                progress,
                arch_updates,
            };
            let out = search_step(
                config,
                self.step_method.as_ref(),
                net,
                &self.weights,
                &mut self.sgd,
                &mut self.adam,
                &batch,
                &valid,
                at,
            )?;
            if let Some(loss) = out.arch_loss {
                arch_loss_sum += loss;
                arch_steps += 1;
            }
            tally.add(out.loss, &out.logits, &batch.labels)?;
            on_step(out.loss);
        }
        let train = tally.finish();
        let valid = evaluate(net, self.eval_loader)?;
        check_finite(valid.loss, "validation", epoch, self.steps_per_epoch())?;
        let arch_params = net.arch_params()?;
        let genotype = epoch_genotype(
            config,
            self.ops,
            &mut self.sparse_fallback_warned,
            &arch_params,
            epoch,
        )?;
        let record = EpochRecord {
            epoch,
            lr,
            arch_updates,
            train_loss: train.loss,
            train_acc: train.top1,
            arch_loss: (arch_steps > 0).then(|| arch_loss_sum / arch_steps as f64),
            valid_loss: valid.loss,
            valid_acc: valid.top1,
            genotype: genotype.to_darts(),
            skip_normal: genotype.skip_count(CellType::Normal),
            skip_reduce: genotype.skip_count(CellType::Reduce),
            param_free_normal: genotype.parameter_free_count(CellType::Normal),
            param_free_reduce: genotype.parameter_free_count(CellType::Reduce),
            learning: Some(ArchLearning::measure(&arch_params, self.init_arch)),
            alphas_normal: rows(&arch_params.op_weights(CellType::Normal)),
            alphas_reduce: rows(&arch_params.op_weights(CellType::Reduce)),
            edges_normal: arch_params
                .betas_normal
                .as_ref()
                .map(|b| edge_weights(b).to_vec()),
            edges_reduce: arch_params
                .betas_reduce
                .as_ref()
                .map(|b| edge_weights(b).to_vec()),
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        if config.keeps_snapshot(epoch + 1) {
            write_search_results(
                &snapshot_dir(self.dir, epoch + 1),
                true,
                config,
                self.ops,
                net,
                &genotype,
                &arch_params,
            )?;
        }
        info!(
            epoch,
            lr,
            train_loss = record.train_loss,
            train_acc = record.train_acc,
            valid_acc = record.valid_acc,
            skip_normal = record.skip_normal,
            "search epoch"
        );
        Ok(record)
    }

    /// Per epoch: each cell's op weights as a heat map (edges x ops) and the largest per edge,
    /// a histogram of all of them, and the derived genotype as text.
    fn tensorboard(
        &self,
        record: &EpochRecord,
        epoch: usize,
        tb: &mut EventWriter,
    ) -> std::result::Result<(), aca_core::CoreError> {
        let step = epoch as i64;
        tb.op_weights(
            "search",
            step,
            &[
                ("normal", &record.alphas_normal),
                ("reduce", &record.alphas_reduce),
            ],
        )?;
        tb.text("search/genotype", step, &record.genotype)
    }

    fn checkpoint(&self) -> (Vec<(String, Tensor)>, SearchState) {
        let mut tensors = prefixed("net", self.net.named_tensors());
        tensors.extend(prefixed("sgd", self.sgd.state()));
        tensors.extend(prefixed("adam", self.adam.state()));
        let state = SearchState {
            valid_stream: self.stream.state(),
            stage: self.stage,
            kept: self.net.op_mask().cloned(),
        };
        (tensors, state)
    }

    fn restore(&mut self, tensors: Vec<(String, Tensor)>, state: SearchState) -> Result<()> {
        if state.stage != self.stage {
            let network = self.config.network_at(state.stage);
            self.net = SearchNetwork::new(&network, self.ops, self.device)?;
            self.weights = self.net.weights();
            self.sgd = Sgd::new(self.config.weight_optimizer, self.weights.len());
            self.stage = state.stage;
        }
        self.net.set_op_mask(state.kept)?;
        self.net.load_named_tensors(&with_prefix(&tensors, "net"))?;
        self.sgd
            .load_state(&to_device(with_prefix(&tensors, "sgd"), self.device)?)?;
        self.adam
            .load_state(&to_device(with_prefix(&tensors, "adam"), self.device)?)?;
        self.stream = Endless::new(self.arch_loader, state.valid_stream);
        Ok(())
    }
}

fn rows(a: &ndarray::Array2<f32>) -> Vec<Vec<f32>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

fn to_device(ts: Vec<(String, Tensor)>, device: Device) -> Result<Vec<(String, Tensor)>> {
    ts.into_iter()
        .map(|(n, t)| Ok((n, t.f_to_device(device)?)))
        .collect()
}
