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
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(io)?;
            let kept: String = text
                .lines()
                .filter(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v.get("epoch").and_then(|e| e.as_u64()))
                        .is_some_and(|e| (e as usize) < start_epoch)
                })
                .map(|l| format!("{l}\n"))
                .collect();
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
