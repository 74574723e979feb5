//! `metrics.jsonl`: one JSON object per epoch, appended as epochs end.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::fsutil::write_atomic;

/// Appends one JSON line per record to a metrics file.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
}

impl MetricsLog {
    /// Opens `path` for a run that starts at `start_epoch`: lines of epochs at or after it (left
    /// by an interrupted run past its last checkpoint) are dropped, so a resumed run's log holds
    /// each epoch once.
    pub fn open(path: &Path, start_epoch: usize) -> Result<Self> {
        let io = |source| CoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let epoch_of = |l: &str| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("epoch").and_then(|e| e.as_u64()))
                .map(|e| e as usize)
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let kept: Vec<&str> = text
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter(|l| epoch_of(l).is_some_and(|e| e < start_epoch))
            .collect();
        // A resumed run must not silently lose the epochs before its checkpoint.
        let present: std::collections::BTreeSet<usize> =
            kept.iter().filter_map(|l| epoch_of(l)).collect();
        if present.len() < start_epoch {
            let missing: Vec<String> = (0..start_epoch)
                .filter(|e| !present.contains(e))
                .take(5)
                .map(|e| e.to_string())
                .collect();
            return Err(CoreError::RunDir {
                dir: path.to_path_buf(),
                reason: format!(
                    "{} {} of the {start_epoch} epochs the checkpoint has finished (missing epochs: {}{}); resuming would lose them: restore the file, or start the run again",
                    if text.is_some() { "holds" } else { "is missing: it holds" },
                    present.len(),
                    missing.join(", "),
                    if start_epoch - present.len() > 5 { ", .." } else { "" }
                ),
            });
        }
        if text.is_some() {
            let kept: String = kept.iter().map(|l| format!("{l}\n")).collect();
            write_atomic(path, kept.as_bytes())?;
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Appends one record (it should hold an `epoch` field).
    pub fn append<T: Serialize>(&self, record: &T) -> Result<()> {
        let mut line = serde_json::to_vec(record).map_err(|source| CoreError::Json {
            path: self.path.clone(),
            source,
        })?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|source| CoreError::Io {
                path: self.path.clone(),
                source,
            })?;
        let before = f.metadata().map(|m| m.len()).ok();
        f.write_all(&line).map_err(|source| {
            // A full disk must not leave half a line behind.
            if let Some(len) = before {
                let _ = f.set_len(len);
            }
            CoreError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }
}

/// Loss and accuracy over a pass through a loader.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Accuracy {
    /// Mean loss per example.
    pub loss: f64,
    /// Top-1 accuracy.
    pub top1: f64,
    /// Top-5 accuracy (`None` when not counted).
    pub top5: Option<f64>,
}

/// Sums losses and correct predictions batch by batch: the one bookkeeping of every training,
/// validation and test loop.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    loss: f64,
    top1: i64,
    top5: Option<i64>,
    seen: i64,
}

impl Tally {
    /// Counts top-1 only (the prediction is the argmax).
    pub fn top1() -> Self {
        Self::default()
    }

    /// Counts top-1 and top-5 (the five largest logits, sorted).
    pub fn top5() -> Self {
        Self {
            top5: Some(0),
            ..Self::default()
        }
    }

    /// Adds one batch: its mean `loss`, its `logits` (N, classes) and `labels` (N).
    pub fn add(&mut self, loss: f64, logits: &tch::Tensor, labels: &tch::Tensor) -> Result<()> {
        use tch::Kind;
        let n = labels.size()[0];
        self.loss += loss * n as f64;
        tch::no_grad(|| -> Result<()> {
            match &mut self.top5 {
                None => {
                    self.top1 += logits
                        .f_argmax(-1, false)?
                        .f_eq_tensor(labels)?
                        .f_sum(Kind::Int64)?
                        .f_int64_value(&[])?;
                }
                Some(top5) => {
                    let k = logits.size()[1].min(5);
                    let (_, idx) = logits.f_topk(k, -1, true, true)?;
                    let hits = idx.f_eq_tensor(&labels.unsqueeze(1))?;
                    self.top1 += hits
                        .f_narrow(1, 0, 1)?
                        .f_sum(Kind::Int64)?
                        .f_int64_value(&[])?;
                    *top5 += hits.f_sum(Kind::Int64)?.f_int64_value(&[])?;
                }
            }
            Ok(())
        })?;
        self.seen += n;
        Ok(())
    }

    /// Examples counted so far.
    pub fn seen(&self) -> i64 {
        self.seen
    }

    /// The means over everything added (NaN when nothing was).
    pub fn finish(&self) -> Accuracy {
        let n = self.seen as f64;
        Accuracy {
            loss: self.loss / n,
            top1: self.top1 as f64 / n,
            top5: self.top5.map(|t| t as f64 / n),
        }
    }
}
