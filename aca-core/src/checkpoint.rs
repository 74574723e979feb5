//! Checkpoint files: named tensors plus a JSON state, in one file written atomically.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::Tensor;

use crate::error::{CoreError, Result};

const META: &str = "__state_json__";

/// Writes `tensors` and `state` (any serialisable value) to `path` atomically: a reader sees the
/// previous checkpoint or the new one, never a half-written file.
pub fn save_checkpoint<S: Serialize>(
    path: &Path,
    tensors: &[(String, Tensor)],
    state: &S,
) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|source| CoreError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let meta = Tensor::f_from_slice(&json)?;
    let mut named: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.as_str(), t.f_to_device(tch::Device::Cpu)?)))
        .collect::<Result<_>>()?;
    named.push((META, meta));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let written = Tensor::save_multi(&named, &tmp)
        .map_err(CoreError::from)
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|source| CoreError::Io {
                path: path.to_path_buf(),
                source,
            })
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Reads a checkpoint: its named tensors (on the CPU) and its JSON state.
pub fn load_checkpoint<S: DeserializeOwned>(path: &Path) -> Result<(Vec<(String, Tensor)>, S)> {
    let bad = |reason: String| CoreError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(bad("no such file".into()));
    }
    let mut tensors = Tensor::load_multi(path).map_err(|e| bad(format!("unreadable ({e})")))?;
    let pos = tensors
        .iter()
        .position(|(n, _)| n == META)
        .ok_or_else(|| bad("not an aca checkpoint (no state record)".into()))?;
    let (_, meta) = tensors.swap_remove(pos);
    let bytes = Vec::<u8>::try_from(&meta).map_err(|e| bad(e.to_string()))?;
    let state = serde_json::from_slice(&bytes).map_err(|e| bad(format!("state record: {e}")))?;
    Ok((tensors, state))
}

/// Takes the tensor named `name` out of a loaded checkpoint.
pub fn take_tensor(tensors: &mut Vec<(String, Tensor)>, name: &str, path: &Path) -> Result<Tensor> {
    let pos = tensors
        .iter()
        .position(|(n, _)| n == name)
        .ok_or_else(|| CoreError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("no tensor `{name}`"),
        })?;
    Ok(tensors.swap_remove(pos).1)
}

/// The tensors whose names start with `prefix.`, with the prefix removed.
pub fn with_prefix(tensors: &[(String, Tensor)], prefix: &str) -> Vec<(String, Tensor)> {
    let p = format!("{prefix}.");
    tensors
        .iter()
        .filter_map(|(n, t)| {
            n.strip_prefix(&p)
                .map(|rest| (rest.to_string(), t.shallow_clone()))
        })
        .collect()
}

/// Prefixes every name with `prefix.`.
pub fn prefixed(prefix: &str, tensors: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    tensors
        .into_iter()
        .map(|(n, t)| (format!("{prefix}.{n}"), t))
        .collect()
}
