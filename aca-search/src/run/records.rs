//! What a search run directory holds: its file names, the snapshots of earlier epochs, the
//! per-epoch record and the outcome, and its supernet reopened.

use std::path::{Path, PathBuf};

use aca_core::load_checkpoint;
use aca_space::nn::SearchNetwork;
use aca_space::{ArchLearning, ArchParams, Genotype};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::config::SearchConfig;
use crate::error::{Result, SearchError};

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

/// Opens the supernet a finished search (or one of its snapshots) in `dir` left: the network it
/// ended with (a progressive search's last stage, with its pruned ops), weights and architecture
/// loaded. `config` is the search's.
pub fn open_supernet(dir: &Path, config: &SearchConfig, device: Device) -> Result<SearchNetwork> {
    let (tensors, meta): (_, serde_json::Value) = load_checkpoint(&dir.join(files::SUPERNET))?;
    // Files from before the network was recorded hold the configured (single-stage) network.
    let network = match meta.get("network") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| SearchError::Supernet {
            path: dir.join(files::SUPERNET),
            reason: format!("its `network` record: {e}"),
        })?,
        None => config.network_at(config.stages.len().saturating_sub(1)),
    };
    let mut net = SearchNetwork::new(&network, &config.op_set()?, device)?;
    let kept = ArchParams::read(&dir.join(files::ALPHAS))?.kept;
    net.set_op_mask(kept)?;
    net.load_named_tensors(&tensors)?;
    Ok(net)
}
