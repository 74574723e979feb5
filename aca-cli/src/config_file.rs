//! Configuration files: JSON patches, read for [`aca_core::Layers`] (flags > file > preset) in
//! `aca search` and `aca run`; a sweep file's base is one too.

use std::path::Path;

use anyhow::{Context, Result};

/// Reads a JSON configuration file as a patch.
pub(crate) fn read_patch(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let patch = aca_core::parse_json_strict(&text)
        .map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))?;
    if !patch.is_object() {
        anyhow::bail!(
            "{}: the config must be a JSON object ({{\"search\": {{..}}, ..}}), got {}",
            path.display(),
            json_kind(&patch)
        );
    }
    Ok(patch)
}

/// What kind of JSON value `v` is, for errors ("an array", "a string", ..).
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
