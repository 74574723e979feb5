//! The epoch loop every stage runs: continue from the run directory's checkpoint, then one epoch
//! at a time, each ending with a metrics line and a checkpoint, with progress to an observer.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::Tensor;

use crate::error::CoreError;
use crate::run_dir::{Observer, RunDir};
use crate::tensorboard::{EventWriter, TensorBoard, TB_DIR};

/// A stage's model, optimizers and data, as [`run_epochs`] drives them: the search (weights and
/// architecture) and the training of the evaluation network each implement it.
pub trait EpochTask {
    /// The stage's epoch record, one metrics line.
    type Record: Serialize;
    /// What the checkpoint keeps beside the tensors (data streams and the like).
    type State: Serialize + DeserializeOwned;
    /// The stage's error, which the run directory's errors convert into.
    type Error: From<CoreError>;

    /// The stage's name in logs (`search`, `training`).
    fn stage(&self) -> &'static str;
    /// Steps (batches) per epoch.
    fn steps_per_epoch(&self) -> usize;
    /// Trains and evaluates epoch `epoch` (0-based), calling `on_step` with the step's training
    /// loss after every step.
    fn run_epoch(
        &mut self,
        epoch: usize,
        on_step: &mut dyn FnMut(f64),
    ) -> Result<Self::Record, Self::Error>;
    /// The stage's TensorBoard output beyond its record's scalars (images, histograms, text),
    /// at the end of `epoch`. None by default.
    fn tensorboard(
        &self,
        _record: &Self::Record,
        _epoch: usize,
        _tb: &mut EventWriter,
    ) -> Result<(), CoreError> {
        Ok(())
    }
    /// The tensors (network, optimizer states) and the state a checkpoint keeps.
    fn checkpoint(&self) -> (Vec<(String, Tensor)>, Self::State);
    /// Restores what [`checkpoint`](Self::checkpoint) gave.
    fn restore(
        &mut self,
        tensors: Vec<(String, Tensor)>,
        state: Self::State,
    ) -> Result<(), Self::Error>;
}

/// Runs `task` up to `epochs` epochs in `run`: a resumed run first restores its checkpoint (one
/// made with another `config` is refused) and continues after its last finished epoch; every
/// epoch appends its record to the metrics log and writes the checkpoint. Returns the epoch it
/// started from.
///
/// With `tensorboard` on, the run directory's `tb/` gets every numeric field of each record as a
/// scalar `STAGE/FIELD` at step = the epoch (what metrics.jsonl holds), the training loss every
/// `step_every` steps as `STAGE/steps/train_loss` at the global step, and the task's own output
/// ([`EpochTask::tensorboard`]); flushed every epoch. A resumed run first drops the events of
/// the epochs it redoes.
pub fn run_epochs<T: EpochTask, C: Serialize + DeserializeOwned>(
    run: &RunDir,
    config: &C,
    epochs: usize,
    task: &mut T,
    observer: &dyn Observer<T::Record>,
    tensorboard: TensorBoard,
) -> Result<usize, T::Error> {
    let mut start = 0;
    if let Some(resumed) = run.load_checkpoint::<T::State, _>(config)? {
        task.restore(resumed.tensors, resumed.state)?;
        start = resumed.epochs_done;
        tracing::info!(epoch = start, "resuming {}", task.stage());
    }
    let metrics = run.metrics(start)?;
    let steps = task.steps_per_epoch() as i64;
    let mut tb = if tensorboard.enabled {
        let done = start as i64;
        Some(EventWriter::open(&run.path(TB_DIR), |tag, step| {
            tag.starts_with("_hparams_/")
                || if tag.contains("/steps/") {
                    step <= done * steps
                } else {
                    step < done
                }
        })?)
    } else {
        None
    };
    let stage = task.stage();
    let step_tag = format!("{stage}/steps/train_loss");
    for epoch in start..epochs {
        observer.epoch_started(epoch, epochs, task.steps_per_epoch());
        let mut step_in_epoch = 0i64;
        let mut tb_error = None;
        let record = task.run_epoch(epoch, &mut |loss| {
            observer.step_done();
            step_in_epoch += 1;
            let every = tensorboard.step_every as i64;
            if let Some(tb) = tb
                .as_mut()
                .filter(|_| every > 0 && step_in_epoch % every == 0)
            {
                let global = epoch as i64 * steps + step_in_epoch;
                if let Err(e) = tb.scalar(&step_tag, global, loss) {
                    tb_error.get_or_insert(e);
                }
            }
        })?;
        if let Some(e) = tb_error {
            return Err(e.into());
        }
        metrics.append(&record)?;
        if let Some(tb) = tb.as_mut() {
            let mut value = serde_json::to_value(&record).map_err(|source| CoreError::Json {
                path: run.path(crate::files::METRICS),
                source,
            })?;
            if let Some(map) = value.as_object_mut() {
                map.remove("epoch");
            }
            tb.scalars_of(stage, epoch as i64, &value)?;
            task.tensorboard(&record, epoch, tb)?;
            tb.flush()?;
        }
        let (tensors, state) = task.checkpoint();
        run.save_checkpoint(&tensors, epoch + 1, &state, config)?;
        observer.epoch_done(&record);
    }
    Ok(start)
}
