//! Configuration in layers, the one mechanism behind `aca search`, `aca run` and sweeps: a base
//! (a preset's typed defaults), then JSON patches from named sources (a config file; a sweep's
//! base, method and axes), merged key by key in order, the last layer winning, then read back
//! into the typed configuration. Flags go on top, typed, since some set several fields at once
//! (a new dataset brings its flips). A preset depends on choices (the search method, the op
//! set) that a higher layer may make: [`Layers::choice`] reads the highest layer's.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{CoreError, Result};

/// JSON patches over a typed base, lowest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layers {
    /// What the layers are, for errors: `run configuration c.json`, `the run with seed = 1`.
    label: String,
    patches: Vec<Value>,
}

impl Layers {
    /// No layer yet; `label` names the configuration in errors.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            patches: Vec::new(),
        }
    }

    /// A patch over the layers so far: objects merge key by key, anything else replaces.
    pub fn with(mut self, patch: Value) -> Self {
        self.patches.push(patch);
        self
    }

    /// A patch that sets one value at a dotted path (`search.epochs`).
    pub fn with_value(self, path: &str, value: Value) -> Self {
        let patch = path.rsplit('.').fold(value, |inner, key| {
            Value::Object(Map::from_iter([(key.into(), inner)]))
        });
        self.with(patch)
    }

    /// The value at the JSON `pointer` (`/search/method`) in the highest layer that sets it,
    /// parsed: a choice the base depends on.
    pub fn choice<T: FromStr>(&self, pointer: &str) -> std::result::Result<Option<T>, T::Err> {
        self.patches
            .iter()
            .rev()
            .find_map(|p| p.pointer(pointer).and_then(Value::as_str))
            .map(str::parse)
            .transpose()
    }

    /// `base` with every layer merged over it, in order.
    pub fn apply<T: Serialize + DeserializeOwned>(&self, base: &T) -> Result<T> {
        let layered = |source| CoreError::Layers {
            label: self.label.clone(),
            source,
        };
        let mut value = serde_json::to_value(base).map_err(layered)?;
        for patch in &self.patches {
            merge(&mut value, patch.clone());
        }
        serde_json::from_value(value).map_err(layered)
    }
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        method: String,
        epochs: u32,
        data: Data,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Data {
        batch: u32,
        flip: bool,
    }

    /// The precedence, tested once: base < each layer in order; a patch keeps the fields it
    /// does not name; the highest layer's choice wins; errors carry the label.
    #[test]
    fn layers_merge_in_order_over_the_base() {
        let base = Config {
            method: "darts".into(),
            epochs: 50,
            data: Data {
                batch: 64,
                flip: true,
            },
        };
        let layers = Layers::new("run configuration c.json")
            .with(serde_json::json!({"method": "pc-darts", "epochs": 7, "data": {"batch": 32}}))
            .with_value("data.batch", serde_json::json!(16));
        let c = layers.apply(&base).unwrap();
        assert_eq!(
            c,
            Config {
                method: "pc-darts".into(),
                epochs: 7,
                data: Data {
                    batch: 16,
                    flip: true
                },
            }
        );
        assert_eq!(
            layers.choice::<String>("/method"),
            Ok(Some("pc-darts".into()))
        );
        let higher = layers
            .clone()
            .with_value("method", serde_json::json!("drnas"));
        assert_eq!(higher.choice::<String>("/method"), Ok(Some("drnas".into())));
        assert_eq!(higher.choice::<String>("/space"), Ok(None));
        assert!(higher.choice::<u32>("/method").is_err());
        assert_eq!(Layers::new("x").apply(&base).unwrap(), base);
        let e = layers
            .with(serde_json::json!({"data": {"batchh": 8}}))
            .apply(&base)
            .unwrap_err();
        let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(
            text.starts_with("run configuration c.json: unknown field `batchh`"),
            "{text}"
        );
    }
}
