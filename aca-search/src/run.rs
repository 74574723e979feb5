//! The search run: epochs of architecture and weight steps, metrics, checkpoints, exact resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aca_core::{
    clip_grad_norm, prefixed, save_checkpoint, seed_everything, with_prefix, write_atomic,
    write_json_atomic, Accuracy, Adam, Cosine, Observer, RunDir, Sgd, Tally,
};
use aca_data::{darts_split, Batch, Endless, Loader, LoaderOptions, StreamState};
use aca_space::nn::{cross_entropy, SearchNetwork};
use aca_space::{edge_weights, ArchLearning, ArchParams, CellType, Genotype, OpSet, Relaxation};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use tracing::{info, warn};

use crate::config::SearchConfig;
use crate::error::{Result, SearchError};
use crate::method::{MethodKind, StepContext};

/// File names of a search run directory.
pub mod files {
    pub use aca_core::files::{CHECKPOINT, CONFIG, METRICS};
    /// The final genotype, JSON form.
    pub const GENOTYPE_JSON: &str = "genotype.json";
    /// The final genotype, DARTS's text form.
    pub const GENOTYPE_TXT: &str = "genotype.txt";
    /// The final architecture parameters (logits), as `aca genotype derive` reads them.
    pub const ALPHAS: &str = "alphas.json";
    /// The final supernet weights and architecture (for channel ranking).
    pub const SUPERNET: &str = "supernet.ot";
    /// Snapshots kept during the search, one folder per epoch (see [`snapshot_dir`](super::snapshot_dir)).
    pub const SNAPSHOTS: &str = "snapshots";
}

/// The folder of the snapshot kept at the end of `epoch` (1-based) in a search run directory. It
/// holds the files of a finished search (config, genotype, alphas, supernet), so that every stage
/// that reads a finished search reads a snapshot too.
pub fn snapshot_dir(search_dir: &Path, epoch: usize) -> PathBuf {
    search_dir
        .join(files::SNAPSHOTS)
        .join(format!("epoch-{epoch:03}"))
}

/// The finished search of `search_dir` at `epoch` (1-based): its snapshot folder, or the run
/// directory itself for the final epoch. Errors name what is missing.
pub fn search_at_epoch(search_dir: &Path, epoch: Option<usize>) -> Result<PathBuf> {
    let Some(epoch) = epoch else {
        return Ok(search_dir.to_path_buf());
    };
    let snap = snapshot_dir(search_dir, epoch);
    if snap.join(files::GENOTYPE_JSON).is_file() {
        return Ok(snap);
    }
    let config: Option<SearchConfig> = std::fs::read_to_string(search_dir.join(files::CONFIG))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if let Some(c) = &config {
        if c.epochs == epoch && search_dir.join(files::GENOTYPE_JSON).is_file() {
            return Ok(search_dir.to_path_buf());
        }
    }
    let kept: Vec<String> = std::fs::read_dir(search_dir.join(files::SNAPSHOTS))
        .map(|rd| {
            let mut v: Vec<String> = rd
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_prefix("epoch-")?
                        .parse::<usize>()
                        .ok()
                        .map(|n| n.to_string())
                })
                .collect();
            v.sort_by_key(|s| s.parse::<usize>().unwrap_or(0));
            v
        })
        .unwrap_or_default();
    Err(SearchError::Resume {
        dir: search_dir.into(),
        reason: format!(
            "it has no snapshot of epoch {epoch} (kept: {}{})",
            if kept.is_empty() {
                "none".to_string()
            } else {
                kept.join(", ")
            },
            match &config {
                Some(c) => format!("; final epoch {}", c.epochs),
                None => String::new(),
            }
        ),
    })
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Weight learning rate of the epoch.
    pub lr: f64,
    /// Whether the architecture was updated this epoch.
    pub arch_updates: bool,
    /// Mean training loss of the weight steps.
    pub train_loss: f64,
    /// Training accuracy of the weight steps (augmented batches).
    pub train_acc: f64,
    /// Mean validation loss seen by the architecture steps (augmented batches), if any.
    pub arch_loss: Option<f64>,
    /// Loss on the whole validation split, evaluation mode, no augmentation.
    pub valid_loss: f64,
    /// Accuracy on the whole validation split.
    pub valid_acc: f64,
    /// The derived genotype, DARTS's text form.
    pub genotype: String,
    /// `skip_connect` edges of the normal cell.
    pub skip_normal: usize,
    /// `skip_connect` edges of the reduction cell.
    pub skip_reduce: usize,
    /// Parameter-free edges (pools, skip) of the normal cell's genotype.
    #[serde(default)]
    pub param_free_normal: usize,
    /// Parameter-free edges of the reduction cell's genotype.
    #[serde(default)]
    pub param_free_reduce: usize,
    /// Whether the architecture learned: entropies, largest weight, movement from the initial
    /// noise (absent in runs written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning: Option<ArchLearning>,
    /// Softmaxed alphas of the normal cell (14 x ops).
    pub alphas_normal: Vec<Vec<f32>>,
    /// Softmaxed alphas of the reduction cell.
    pub alphas_reduce: Vec<Vec<f32>>,
    /// PC-DARTS edge weights of the normal cell (normalised betas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edges_normal: Option<Vec<f32>>,
    /// PC-DARTS edge weights of the reduction cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edges_reduce: Option<Vec<f32>>,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// What a finished search leaves.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// The run directory.
    pub dir: PathBuf,
    /// The final genotype.
    pub genotype: Genotype,
    /// The final architecture parameters.
    pub arch: ArchParams,
    /// Supernet weights.
    pub params: i64,
    /// Epochs run by this invocation (0 if the run was already complete).
    pub epochs_run: usize,
    /// Wall time of this invocation.
    pub seconds: f64,
    /// Whether the final architecture moved beyond its initial noise.
    pub learning: ArchLearning,
}

/// What a search's checkpoint keeps beside its tensors.
#[derive(Debug, Serialize, Deserialize)]
struct SearchState {
    valid_stream: StreamState,
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
    let mut net = SearchNetwork::new(&config.network, &ops, device)?;
    // The seeded initial alphas: the reference of the learning indicators (also on resume).
    let init_arch = net.arch_params()?;
    let weights = net.weights();
    let arch = net.arch_parameters();
    let mut sgd = Sgd::new(config.weight_optimizer, weights.len());
    let mut adam = Adam::new(config.arch_optimizer, arch.len());
    let split = darts_split(
        data.train.label_list(),
        data.info.classes,
        &config.data.split(),
        config.seed,
    )?;
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

    let mut start_epoch = 0;
    let mut stream_state = StreamState::default();
    if let Some(resumed) = run.load_checkpoint::<SearchState, _>(&config)? {
        let tensors = resumed.tensors;
        net.load_named_tensors(&with_prefix(&tensors, "net"))?;
        sgd.load_state(&to_device(with_prefix(&tensors, "sgd"), device)?)?;
        adam.load_state(&to_device(with_prefix(&tensors, "adam"), device)?)?;
        start_epoch = resumed.epochs_done;
        stream_state = resumed.state.valid_stream;
        info!(epoch = start_epoch, "resuming search");
    }
    let metrics = run.metrics(start_epoch)?;
    let schedule = Cosine {
        base: config.weight_optimizer.lr,
        min: config.lr_min,
        epochs: config.epochs,
    };
    let mut stream = Endless::new(&arch_loader, stream_state);
    info!(params = net.param_count(), space = %ops, method = %config.method, "search network ready");

    let step_method = config.method.arch_step(&config.method_options);
    for epoch in start_epoch..config.epochs {
        let epoch_start = Instant::now();
        let lr = schedule.lr(epoch);
        sgd.config.lr = lr;
        let arch_updates = epoch >= config.arch_start_epoch && config.method.updates_architecture();
        let progress = epoch as f64 / config.epochs as f64;
        if config.network.auxiliary_skip {
            net.set_auxiliary_skip(config.method_options.darts_minus.beta(progress));
        }
        observer.epoch_started(epoch, config.epochs, train_loader.batches_per_epoch());
        let mut tally = Tally::top1();
        let (mut arch_loss_sum, mut arch_steps) = (0.0, 0usize);
        for (step, batch) in train_loader.epoch(epoch as u64).enumerate() {
            let batch = batch?;
            let valid = stream.next_batch()?;
            if config.network.relaxation == Relaxation::Dirichlet {
                // DrNAS samples op weights in every training pass: from a generator seeded by the
                // step's position, so that a resumed search draws the same samples.
                seed_everything(step_seed(config.seed, epoch, step));
            }
            if arch_updates {
                let ctx = StepContext {
                    net: &net,
                    weight_optimizer: &sgd,
                    lr,
                    progress,
                };
                let loss = step_method.step(&ctx, &mut adam, &batch, &valid)?;
                check_finite(loss, "architecture", epoch, step)?;
                arch_loss_sum += loss;
                arch_steps += 1;
            }
            if config.method.perturbs_weight_step() {
                let sdarts = config.method_options.sdarts;
                let epsilon = sdarts.epsilon(progress);
                let noise = uniform_noise(&net, epsilon, step_seed(config.seed, epoch, step))?;
                let attack_steps = match config.method {
                    MethodKind::SdartsAdv => sdarts.pgd_steps,
                    _ => 0,
                };
                let delta = sdarts_perturbation(&net, noise, epsilon, attack_steps, &batch)?;
                net.set_perturbation(Some(delta));
            }
            let stepped = weight_step(&net, &mut sgd, &weights, &batch, config.grad_clip);
            net.set_perturbation(None);
            let (loss, logits) = stepped?;
            check_finite(loss, "weight", epoch, step)?;
            tally.add(loss, &logits, &batch.labels)?;
            observer.step_done();
        }
        let train = tally.finish();
        let valid = evaluate(&net, &eval_loader)?;
        check_finite(
            valid.loss,
            "validation",
            epoch,
            train_loader.batches_per_epoch(),
        )?;
        let arch_params = net.arch_params()?;
        let genotype = config.method.derive(&arch_params, &ops, config.seed)?;
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
            learning: Some(ArchLearning::measure(&arch_params, &init_arch)),
            alphas_normal: rows(&arch_params.relaxation.weights(arch_params.normal.view())),
            alphas_reduce: rows(&arch_params.relaxation.weights(arch_params.reduce.view())),
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
        metrics.append(&record)?;
        let mut tensors = prefixed("net", net.named_tensors());
        tensors.extend(prefixed("sgd", sgd.state()));
        tensors.extend(prefixed("adam", adam.state()));
        let state = SearchState {
            valid_stream: stream.state(),
        };
        if config.keeps_snapshot(epoch + 1) {
            write_search_results(
                &snapshot_dir(dir, epoch + 1),
                true,
                &config,
                &ops,
                &net,
                &genotype,
                &arch_params,
            )?;
        }
        run.save_checkpoint(&tensors, epoch + 1, &state, &config)?;
        info!(
            epoch,
            lr,
            train_loss = record.train_loss,
            train_acc = record.train_acc,
            valid_acc = record.valid_acc,
            skip_normal = record.skip_normal,
            "search epoch"
        );
        observer.epoch_done(&record);
    }

    let arch_params = net.arch_params()?;
    let genotype = config.method.derive(&arch_params, &ops, config.seed)?;
    write_search_results(dir, false, &config, &ops, &net, &genotype, &arch_params)?;
    if config.method == MethodKind::FairDarts {
        report_threshold_rule(&config, &ops, &arch_params)?;
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

/// FairDARTS's threshold rule, reported beside the DARTS-shaped genotype aca trains: the number of
/// chosen ops whose sigmoid weight reaches the threshold (the sparse cell FairDARTS would keep).
fn report_threshold_rule(config: &SearchConfig, ops: &OpSet, arch: &ArchParams) -> Result<()> {
    let threshold = config.method_options.fair_darts.threshold as f32;
    let mut kept = [0usize; 2];
    for (k, cell) in CellType::BOTH.into_iter().enumerate() {
        let cell_kept = aca_space::threshold_cell(arch.weights(cell).view(), ops, threshold)?;
        kept[k] = cell_kept.iter().map(Vec::len).sum();
    }
    info!(
        threshold,
        normal = kept[0],
        reduce = kept[1],
        "FairDARTS's threshold rule keeps {} of 8 normal-cell ops and {} of 8 reduction-cell ops; \
         aca trains the DARTS-shaped cell (two inputs per node)",
        kept[0],
        kept[1]
    );
    Ok(())
}

/// The plain-words warning for a search whose architecture did not move beyond its initial noise.
pub fn not_learned_message(l: &ArchLearning) -> String {
    format!(
        "the architecture has not learned: its alphas moved {:.1}x their initial noise and the \
         normal cell's op weights keep {:.1}% of the uniform entropy, so no op stands out and the \
         derived genotype rests on small differences more than on what the data showed. Give the \
         search more architecture steps (more epochs, a smaller batch or more search images) or \
         a larger architecture learning rate.",
        l.shift,
        100.0 * l.relative_entropy_normal()
    )
}

/// Writes what a finished search leaves (config, genotypes, alphas, supernet) into `dir`: the run
/// directory at the end (`snapshot` false), a snapshot folder during the search. A snapshot folder
/// appears whole: it is written under a temporary name and renamed.
fn write_search_results(
    dir: &Path,
    snapshot: bool,
    config: &SearchConfig,
    ops: &OpSet,
    net: &SearchNetwork,
    genotype: &Genotype,
    arch: &ArchParams,
) -> Result<()> {
    let target = if snapshot {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        dir.with_file_name(format!(".{name}.partial"))
    } else {
        dir.to_path_buf()
    };
    let io = |path: &Path, source| aca_core::CoreError::Io {
        path: path.into(),
        source,
    };
    if snapshot {
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| io(&target, e))?;
        }
        std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
        write_json_atomic(&target.join(files::CONFIG), config)?;
    }
    write_atomic(
        &target.join(files::GENOTYPE_JSON),
        (genotype.to_json() + "\n").as_bytes(),
    )?;
    write_atomic(
        &target.join(files::GENOTYPE_TXT),
        (genotype.to_darts() + "\n").as_bytes(),
    )?;
    write_json_atomic(&target.join(files::ALPHAS), arch)?;
    save_checkpoint(
        &target.join(files::SUPERNET),
        &net.named_tensors(),
        &serde_json::json!({ "space": ops.name() }),
    )?;
    if snapshot {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&target, dir).map_err(|e| io(dir, e))?;
    }
    Ok(())
}

/// One weight step: loss on the training batch, gradients of the weights only, clipping, SGD.
/// Returns the loss and the logits (for the accuracy tally).
pub fn weight_step(
    net: &SearchNetwork,
    sgd: &mut Sgd,
    weights: &[Tensor],
    batch: &Batch,
    clip: f64,
) -> Result<(f64, Tensor)> {
    let logits = net.forward_t(&batch.images, true);
    let loss = cross_entropy(&logits, &batch.labels);
    let value = loss.f_double_value(&[])?;
    let grads = Tensor::f_run_backward(&[&loss], weights, false, false)?;
    clip_grad_norm(&grads, clip)?;
    sgd.step(weights, &grads)?;
    Ok((value, logits.detach()))
}

/// Loss and top-1 accuracy over a loader, evaluation mode, without gradients.
pub fn evaluate(net: &SearchNetwork, loader: &Loader) -> Result<Accuracy> {
    tch::no_grad(|| {
        let mut tally = Tally::top1();
        for batch in loader.epoch(0) {
            let batch = batch?;
            let logits = net.forward_t(&batch.images, false);
            let loss = cross_entropy(&logits, &batch.labels).f_double_value(&[])?;
            tally.add(loss, &logits, &batch.labels)?;
        }
        Ok(tally.finish())
    })
}

/// The seed of one step's random draws (SDARTS's noise, DrNAS's samples): a pure function of
/// (seed, epoch, step), so that a resumed search draws the same.
fn step_seed(seed: u64, epoch: usize, step: usize) -> u64 {
    seed ^ 0x5da7_5000_0000_0000 ^ ((epoch as u64) << 32) ^ step as u64
}

/// Noise uniform in [-epsilon, epsilon] for every op weight of both cell types.
pub fn uniform_noise(net: &SearchNetwork, epsilon: f64, seed: u64) -> Result<[Tensor; 2]> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let arch = net.arch_parameters();
    let mut draw = |a: &Tensor| -> Result<Tensor> {
        let n = a.numel();
        let v: Vec<f32> = (0..n)
            .map(|_| rng.random_range(-epsilon..=epsilon) as f32)
            .collect();
        Ok(Tensor::f_from_slice(&v)?
            .f_view(a.size().as_slice())?
            .f_to_kind(a.kind())?
            .f_to_device(a.device())?)
    };
    Ok([draw(&arch[0])?, draw(&arch[1])?])
}

/// SDARTS's `model.clip()`: op weights clamped to [0, 1] and each edge renormalised to sum 1 (an
/// edge clamped to all zeros gets weight 1 on its largest entry before clamping).
pub fn clip_edges(p: &Tensor) -> Result<Tensor> {
    let kind = p.kind();
    let clamped = p.f_clamp(0.0, 1.0)?;
    let empty = clamped.f_sum_dim_intlist(-1, true, kind)?.f_eq(0.0)?;
    let top = p
        .f_zeros_like()?
        .f_scatter_value(-1, &p.f_argmax(-1, true)?, 1.0)?;
    let fixed = top.f_where_self(&empty, &clamped)?;
    let sums = fixed.f_sum_dim_intlist(-1, true, kind)?;
    Ok(fixed.f_div(&sums)?)
}

/// SDARTS's perturbation of the op weights for one weight step, as the change to add to the
/// softmaxed weights: the clipped noise (RS), refined by `attack_steps` projected signed-gradient
/// steps up the training loss (ADV, network in evaluation mode; the perturbation is dropped if it
/// did not raise the loss).
pub fn sdarts_perturbation(
    net: &SearchNetwork,
    noise: [Tensor; 2],
    epsilon: f64,
    attack_steps: usize,
    batch: &Batch,
) -> Result<[Tensor; 2]> {
    let clean = tch::no_grad(|| net.op_weights(false));
    let start = |w: &Tensor, n: &Tensor| -> Result<Tensor> { clip_edges(&w.f_add(n)?) };
    let mut p = [start(&clean[0], &noise[0])?, start(&clean[1], &noise[1])?];
    if attack_steps == 0 {
        return Ok([p[0].f_sub(&clean[0])?, p[1].f_sub(&clean[1])?]);
    }
    let loss_with = |delta: Option<[Tensor; 2]>| -> Result<f64> {
        net.set_perturbation(delta);
        let loss = tch::no_grad(|| net.loss(&batch.images, &batch.labels, false));
        net.set_perturbation(None);
        Ok(loss.f_double_value(&[])?)
    };
    let loss_before = loss_with(None)?;
    let step_size = 2.0 * epsilon / attack_steps as f64;
    for _ in 0..attack_steps {
        let delta = [
            p[0].f_sub(&clean[0])?.f_set_requires_grad(true)?,
            p[1].f_sub(&clean[1])?.f_set_requires_grad(true)?,
        ];
        net.set_perturbation(Some([delta[0].shallow_clone(), delta[1].shallow_clone()]));
        let loss = net.loss(&batch.images, &batch.labels, false);
        net.set_perturbation(None);
        let grads = Tensor::f_run_backward(&[&loss], &delta, false, false)?;
        p = tch::no_grad(|| -> Result<[Tensor; 2]> {
            let next = |i: usize| -> Result<Tensor> {
                let moved = delta[i]
                    .f_add(&grads[i].f_sign()?.f_mul_scalar(step_size)?)?
                    .f_clamp(-epsilon, epsilon)?;
                clip_edges(&clean[i].f_add(&moved)?)
            };
            Ok([next(0)?, next(1)?])
        })?;
    }
    let delta = [p[0].f_sub(&clean[0])?, p[1].f_sub(&clean[1])?];
    let loss_after = loss_with(Some([delta[0].shallow_clone(), delta[1].shallow_clone()]))?;
    if loss_before > loss_after {
        return Ok([clean[0].f_zeros_like()?, clean[1].f_zeros_like()?]);
    }
    Ok(delta)
}

fn check_finite(value: f64, which: &'static str, epoch: usize, step: usize) -> Result<()> {
    Ok(aca_core::check_finite(value, "search", which, epoch, step)?)
}

fn rows(a: &ndarray::Array2<f32>) -> Vec<Vec<f32>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

fn to_device(ts: Vec<(String, Tensor)>, device: Device) -> Result<Vec<(String, Tensor)>> {
    ts.into_iter()
        .map(|(n, t)| Ok((n, t.f_to_device(device)?)))
        .collect()
}
