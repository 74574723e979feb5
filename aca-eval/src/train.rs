//! Training from scratch as a run-directory operation (plan -> trained network with metrics,
//! checkpoints and results), and the test of a trained run.

use std::path::Path;
use std::time::Instant;

use aca_core::{
    check_finite, clip_grad_norm, load_checkpoint, prefixed, run_epochs, save_checkpoint,
    seed_everything, with_prefix, write_json_atomic, Accuracy, EpochTask, KeepFreedPages, NoState,
    Observer, RunDir, Sgd, Tally,
};
use aca_data::{balanced_subset, Loader, LoaderOptions};
use aca_space::nn::cross_entropy;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use tracing::info;

use crate::error::{EvalError, Result};
use crate::network::EvalNetwork;
use crate::plan::ChannelPlan;

/// File names of a training run directory.
pub mod files {
    pub use aca_core::files::{CHECKPOINT, CONFIG, METRICS};
    /// The channel plan trained.
    pub const PLAN: &str = "plan.json";
    /// The final weights.
    pub const MODEL: &str = "model.ot";
    /// Final test accuracy, parameters, multiply-adds.
    pub const RESULTS: &str = "results.json";
    /// The dataset's facts (classes, names, size, normalisation), for predictions later.
    pub const DATASET: &str = "dataset.json";
}

pub(crate) fn run_dir_error(dir: &Path, reason: impl Into<String>) -> EvalError {
    EvalError::RunDir {
        dir: dir.into(),
        reason: reason.into(),
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| run_dir_error(path, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| run_dir_error(path, e.to_string()))
}

mod config;

pub use config::{LrSchedule, TrainConfig};

/// One line of a training run's `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRecord {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Drop-path probability.
    pub drop_path: f64,
    /// Mean training loss (auxiliary term included).
    pub train_loss: f64,
    /// Training accuracy (augmented batches).
    pub train_acc: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test top-1 accuracy.
    pub test_acc: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// Final numbers of a training run (`results.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainResults {
    /// Test top-1 accuracy.
    pub test_top1: f64,
    /// Test top-5 accuracy.
    pub test_top5: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Parameters without the auxiliary head.
    pub params: i64,
    /// Parameters of the auxiliary head.
    pub aux_params: i64,
    /// Multiply-adds for one image.
    pub flops: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Test images.
    pub test_images: usize,
}

/// Loss, top-1 and top-5 accuracy of `net` over `loader`.
pub fn test_accuracy(net: &EvalNetwork, loader: &Loader) -> Result<Accuracy> {
    tch::no_grad(|| {
        let mut tally = Tally::top5();
        for batch in loader.epoch(0) {
            let batch = batch?;
            let logits = net.forward_t(&batch.images, false).logits;
            let loss = cross_entropy(&logits, &batch.labels).f_double_value(&[])?;
            tally.add(loss, &logits, &batch.labels)?;
        }
        Ok(tally.finish())
    })
}

/// Trains the plan's network from scratch in `dir` (or continues it with `resume`).
pub fn train(
    plan: &ChannelPlan,
    config: &TrainConfig,
    dir: &Path,
    device: Device,
    resume: bool,
    observer: &dyn Observer<TrainRecord>,
) -> Result<TrainResults> {
    config.validate()?;
    plan.validate()?;
    let data = config.data.load()?;
    let mut config = config.clone();
    config.network.classes = data.info.classes as i64;
    config.network.image_channels = data.info.channels as i64;
    // One process per run directory, held until training returns.
    let run = RunDir::open(dir, resume, "training run")?;
    run.pin(files::CONFIG, &config)?;
    run.pin(files::PLAN, plan)?;
    if !resume {
        write_json_atomic(&run.path(files::DATASET), &data.info)?;
    }
    seed_everything(config.seed);
    let net = EvalNetwork::new(plan, &config.network, device)?;
    let weights = net.weights();
    let sgd = Sgd::new(config.optimizer, weights.len());
    let all: Vec<usize> = (0..data.train.len()).collect();
    let indices = match config.data.train_limit {
        Some(limit) => balanced_subset(
            all,
            data.train.label_list(),
            data.info.classes,
            limit,
            "train_limit",
            config.seed,
            aca_data::streams::TRAIN,
        )?,
        None => all,
    };
    let train_loader = Loader::new(
        &data.train,
        &indices,
        &data.info,
        LoaderOptions {
            batch_size: config.data.batch_size,
            shuffle: true,
            drop_last: false,
            augment: config.data.augment.clone(),
            seed: config.seed,
            stream: aca_data::streams::TRAIN,
        },
        device,
    )?;
    let test_loader = Loader::sequential(
        &data.test,
        &data.info,
        config.data.batch_size.max(256),
        device,
    )?;
    let mut task = TrainTask {
        config: &config,
        net,
        weights,
        sgd,
        train_loader: &train_loader,
        test_loader: &test_loader,
        device,
        pages: KeepFreedPages::new(),
    };
    info!(params = task.net.param_count(), "evaluation network ready");
    run_epochs(
        &run,
        &config,
        config.epochs,
        &mut task,
        observer,
        config.tensorboard,
    )?;
    let net = task.net;
    save_checkpoint(
        &dir.join(files::MODEL),
        &net.named_tensors(),
        &serde_json::json!({}),
    )?;
    let test = test_accuracy(&net, &test_loader)?;
    let results = TrainResults {
        test_top1: test.top1,
        test_top5: test.top5.unwrap_or(f64::NAN),
        test_loss: test.loss,
        params: net.param_count(),
        aux_params: net.aux_param_count(),
        flops: net.flops(data.info.size as i64),
        epochs: config.epochs,
        test_images: data.test.len(),
    };
    write_json_atomic(&dir.join(files::RESULTS), &results)?;
    Ok(results)
}

/// One training as the epoch loop drives it: the evaluation network, SGD and the data.
struct TrainTask<'a> {
    config: &'a TrainConfig,
    net: EvalNetwork,
    weights: Vec<Tensor>,
    sgd: Sgd,
    train_loader: &'a Loader,
    test_loader: &'a Loader,
    device: Device,
    /// Freed pages kept for the next step's activations, within a bound (docs/benchmarks.md).
    pages: KeepFreedPages,
}

impl EpochTask for TrainTask<'_> {
    type Record = TrainRecord;
    type State = NoState;
    type Error = EvalError;

    fn stage(&self) -> &'static str {
        "training"
    }

    fn steps_per_epoch(&self) -> usize {
        self.train_loader.batches_per_epoch()
    }

    fn run_epoch(&mut self, epoch: usize, on_step: &mut dyn FnMut(f64)) -> Result<TrainRecord> {
        let config = self.config;
        let t0 = Instant::now();
        // Drop path draws from libtorch's generator: seeded per epoch, so a resumed run draws
        // exactly what an uninterrupted one would.
        seed_everything(
            config
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64 + 1),
        );
        let lr = config.lr(epoch);
        self.sgd.config.lr = lr;
        self.net.drop_path_prob = config.drop_path * epoch as f64 / config.epochs as f64;
        let pages = &mut self.pages;
        let train = train_epoch(
            &self.net,
            &self.weights,
            &mut self.sgd,
            self.train_loader,
            epoch,
            config.aux_weight,
            config.label_smoothing,
            config.grad_clip,
            &mut |loss| {
                pages.after_step();
                on_step(loss);
            },
        )?;
        let test = test_accuracy(&self.net, self.test_loader)?;
        check_finite(test.loss, "training", "test", epoch, self.steps_per_epoch())?;
        let record = TrainRecord {
            epoch,
            lr,
            drop_path: self.net.drop_path_prob,
            train_loss: train.loss,
            train_acc: train.top1,
            test_loss: test.loss,
            test_acc: test.top1,
            seconds: t0.elapsed().as_secs_f64(),
        };
        info!(
            epoch,
            lr,
            train_acc = record.train_acc,
            test_acc = record.test_acc,
            "train epoch"
        );
        Ok(record)
    }

    fn checkpoint(&self) -> (Vec<(String, Tensor)>, NoState) {
        let mut tensors = prefixed("net", self.net.named_tensors());
        tensors.extend(prefixed("sgd", self.sgd.state()));
        (tensors, NoState {})
    }

    fn restore(&mut self, tensors: Vec<(String, Tensor)>, _: NoState) -> Result<()> {
        self.net.load_named_tensors(&with_prefix(&tensors, "net"))?;
        let sgd_state: Vec<(String, Tensor)> = with_prefix(&tensors, "sgd")
            .into_iter()
            .map(|(n, t)| (n, t.to_device(self.device)))
            .collect();
        self.sgd.load_state(&sgd_state)?;
        Ok(())
    }
}

/// Cross-entropy with label smoothing `eps`, as DARTS's `CrossEntropyLabelSmooth`: the target puts
/// `1 - eps` on the label and `eps` spread evenly over every class. Plain cross-entropy at 0.
pub fn label_smoothed_cross_entropy(logits: &Tensor, labels: &Tensor, eps: f64) -> Tensor {
    if eps == 0.0 {
        return cross_entropy(logits, labels);
    }
    logits.cross_entropy_loss::<Tensor>(labels, None, tch::Reduction::Mean, -100, eps)
}

/// One epoch of training: loss (plus `aux_weight` times the auxiliary loss), each with label
/// smoothing `label_smoothing`, gradient clipping, SGD. Returns the mean loss and the accuracy on
/// the (augmented) batches.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_epoch(
    net: &EvalNetwork,
    weights: &[Tensor],
    sgd: &mut Sgd,
    loader: &Loader,
    epoch: usize,
    aux_weight: f64,
    label_smoothing: f64,
    clip: f64,
    on_step: &mut dyn FnMut(f64),
) -> Result<Accuracy> {
    let mut tally = Tally::top1();
    for (step, batch) in loader.epoch(epoch as u64).enumerate() {
        let batch = batch?;
        let out = net.forward_t(&batch.images, true);
        let mut loss = label_smoothed_cross_entropy(&out.logits, &batch.labels, label_smoothing);
        if let Some(aux) = &out.aux {
            loss += label_smoothed_cross_entropy(aux, &batch.labels, label_smoothing) * aux_weight;
        }
        let value = loss.f_double_value(&[])?;
        check_finite(value, "training", "training", epoch, step)?;
        let grads = Tensor::f_run_backward(&[&loss], weights, false, false)?;
        clip_grad_norm(&grads, clip)?;
        sgd.step(weights, &grads)?;
        tally.add(value, &out.logits, &batch.labels)?;
        on_step(value);
    }
    Ok(tally.finish())
}

/// The trained network of the training run `dir` (its final weights) and its plan.
pub(crate) fn load_trained(dir: &Path, device: tch::Device) -> Result<(EvalNetwork, ChannelPlan)> {
    let config: TrainConfig = read_json(&dir.join(files::CONFIG))?;
    let plan: ChannelPlan = read_json(&dir.join(files::PLAN))?;
    let model = dir.join(files::MODEL);
    if !model.is_file() {
        return Err(EvalError::TrainingUnfinished { dir: dir.into() });
    }
    let mut net = EvalNetwork::new(&plan, &config.network, device)?;
    let (tensors, _): (_, serde_json::Value) = load_checkpoint(&model)?;
    net.load_named_tensors(&tensors)?;
    Ok((net, plan))
}

/// Re-evaluates a finished training run on its test set: its accuracy and the test images.
pub fn test_run(dir: &Path, device: Device) -> Result<(Accuracy, usize)> {
    let config: TrainConfig = read_json(&dir.join(files::CONFIG))?;
    let (net, _) = load_trained(dir, device)?;
    let data = config.data.load()?;
    let loader = Loader::sequential(&data.test, &data.info, 256, device)?;
    Ok((test_accuracy(&net, &loader)?, data.test.len()))
}
