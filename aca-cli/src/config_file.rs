//! Configuration files: JSON patches over a preset, by one precedence (flags > file > preset)
//! for `aca search` and `aca run`, and the base of sweep files.

use std::path::Path;

use aca_search::MethodKind;
use anyhow::{Context, Result};

/// Deep-merges `patch` into `base` (objects key by key, anything else replaced).
pub(crate) fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// The search method by the one precedence: the flag, else the config file's (at `pointer`), else
/// DARTS. The method decides the preset the file patches.
pub(crate) fn chosen_method(
    flag: Option<MethodKind>,
    patch: Option<&serde_json::Value>,
    pointer: &str,
) -> Result<MethodKind> {
    if let Some(m) = flag {
        return Ok(m);
    }
    let file = patch
        .and_then(|p| p.pointer(pointer))
        .and_then(|m| m.as_str());
    Ok(match file {
        Some(m) => m.parse()?,
        None => MethodKind::Darts,
    })
}

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
