//! Checkpoint files: named tensors plus a JSON state, in one file written atomically.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::Tensor;

use crate::error::{CoreError, Result};
use crate::fsutil::write_atomic;

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
    // Serialised into memory, then written, synced and renamed by Rust: libtorch never touches the
    // file, so a full disk is an ordinary error naming the file (not an exception through the FFI),
    // the previous checkpoint stays intact and no temporary file is left.
    let mut bytes = Vec::new();
    Tensor::save_multi_to_stream(&named, &mut bytes).map_err(|e| CoreError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("cannot serialise: {}", torch_message(&e)),
    })?;
    write_atomic(path, &bytes)?;
    tracing::debug!(path = %path.display(), tensors = tensors.len(), bytes = bytes.len(), "checkpoint written");
    Ok(())
}

/// The first line of a libtorch error, without its C++ stack frames.
pub fn torch_message(e: &tch::TchError) -> String {
    let text = e.to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("libtorch error");
    first
        .split(" (Exception raised from")
        .next()
        .unwrap_or(first)
        .to_string()
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
    let mut tensors = Tensor::load_multi(path).map_err(|e| {
        bad(format!(
            "unreadable: truncated or not a libtorch file ({})",
            torch_message(&e)
        ))
    })?;
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
