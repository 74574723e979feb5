//! The epoch loop every stage runs: continue from the run directory's checkpoint, then one epoch
//! at a time, each ending with a metrics line and a checkpoint, with progress to an observer.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::Tensor;

use crate::error::CoreError;
use crate::run_dir::{Observer, RunDir};

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
    /// Trains and evaluates epoch `epoch` (0-based), calling `on_step` after every step.
    fn run_epoch(
        &mut self,
        epoch: usize,
        on_step: &mut dyn FnMut(),
    ) -> Result<Self::Record, Self::Error>;
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
pub fn run_epochs<T: EpochTask, C: Serialize + DeserializeOwned>(
    run: &RunDir,
    config: &C,
    epochs: usize,
    task: &mut T,
    observer: &dyn Observer<T::Record>,
) -> Result<usize, T::Error> {
    let mut start = 0;
    if let Some(resumed) = run.load_checkpoint::<T::State, _>(config)? {
        task.restore(resumed.tensors, resumed.state)?;
        start = resumed.epochs_done;
        tracing::info!(epoch = start, "resuming {}", task.stage());
    }
    let metrics = run.metrics(start)?;
    for epoch in start..epochs {
        observer.epoch_started(epoch, epochs, task.steps_per_epoch());
        let record = task.run_epoch(epoch, &mut || observer.step_done())?;
        metrics.append(&record)?;
        let (tensors, state) = task.checkpoint();
        run.save_checkpoint(&tensors, epoch + 1, &state, config)?;
        observer.epoch_done(&record);
    }
    Ok(start)
}
