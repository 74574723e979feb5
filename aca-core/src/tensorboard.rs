//! TensorBoard event files: scalars, images, histograms, text and the HParams plugin's records,
//! written so that `tensorboard --logdir RUN` reads them without conversion.
//!
//! The format is TensorFlow's record file of `Event` protos (`tensorflow/core/util/event.proto`,
//! `summary.proto`; the HParams plugin's `plugin_data.proto` and `api.proto`): each record is its
//! length (u64, little-endian), the length's masked CRC-32C, the bytes, and their masked CRC-32C.
//! The messages (`proto`) are the subset `aca` writes, field numbers as in those protos, encoded by
//! `prost`. A resumed run rewrites its folder's events up to where it resumes ([`EventWriter::open`]),
//! so every step appears once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use prost::Message;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// TensorBoard output of a stage. Defaults: on, losses every 20 steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TensorBoard {
    /// Write event files under the run directory's `tb/`.
    pub enabled: bool,
    /// Also log the training loss every N steps (0: per epoch only).
    pub step_every: usize,
}

impl Default for TensorBoard {
    fn default() -> Self {
        Self {
            enabled: true,
            step_every: 20,
        }
    }
}

impl TensorBoard {
    /// Whether these are the defaults (then configs leave the field out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The folder of a run directory's event files.
pub const TB_DIR: &str = "tb";

mod heat_map;
mod proto;
mod records;

pub use heat_map::heat_map_png;
pub use records::scalars;

use proto::*;
use records::{io, is_event_file, now, read_events, write_record};

/// One writer of a folder's event file.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Opens `dir` for writing. Events already there for which `keep(tag, step)` is false (a
    /// resumed run's, from the steps it redoes) are dropped: the kept ones are rewritten into a
    /// new file, which replaces the old ones once complete, so each step appears once.
    pub fn open(dir: &Path, keep: impl Fn(&str, i64) -> bool) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut old: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_event_file(p))
            .collect();
        old.sort();
        let mut kept = Vec::new();
        for path in &old {
            for mut event in read_events(path)? {
                if let Some(What::Summary(s)) = &mut event.what {
                    s.value.retain(|v| keep(&v.tag, event.step));
                    if s.value.is_empty() {
                        continue;
                    }
                }
                if !matches!(event.what, Some(What::FileVersion(_))) {
                    kept.push(event);
                }
            }
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let name = format!(
            "events.out.tfevents.{:010}.{host}.{}.aca",
            now() as u64,
            std::process::id()
        );
        let path = dir.join(&name);
        let partial = dir.join(format!(".{name}.partial"));
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&partial)
            .map_err(|e| io(&partial, e))?;
        let mut writer = Self {
            path: partial.clone(),
            out: BufWriter::new(file),
        };
        writer.write(&Event {
            wall_time: now(),
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        })?;
        for event in &kept {
            writer.write(event)?;
        }
        writer.flush()?;
        std::fs::rename(&partial, &path).map_err(|e| io(&path, e))?;
        for p in old.iter().filter(|p| **p != path) {
            std::fs::remove_file(p).map_err(|e| io(p, e))?;
        }
        writer.path = path;
        Ok(writer)
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, event: &Event) -> Result<()> {
        let path = &self.path;
        write_record(&mut self.out, &event.encode_to_vec()).map_err(|e| io(path, e))
    }

    fn summary(&mut self, step: i64, value: SummaryValue) -> Result<()> {
        self.write(&Event {
            wall_time: now(),
            step,
            what: Some(What::Summary(Summary { value: vec![value] })),
        })
    }

    /// A scalar.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f64) -> Result<()> {
        self.summary(
            step,
            SummaryValue {
                tag: tag.into(),
                metadata: None,
                value: Some(Value::Simple(value as f32)),
            },
        )
    }

    /// An image given as PNG bytes of `width` x `height` pixels with `channels` channels.
    pub fn png(&mut self, tag: &str, step: i64, png: Vec<u8>, size: (u32, u32, u32)) -> Result<()> {
        let (width, height, channels) = size;
        self.summary(
            step,
            SummaryValue {
                tag: tag.into(),
                metadata: None,
                value: Some(Value::Image(Image {
                    height: height as i32,
                    width: width as i32,
                    colorspace: channels as i32,
                    encoded_image_string: png,
                })),
            },
        )
    }

    /// A histogram of `values` in `buckets` equal buckets between their minimum and maximum.
    pub fn histogram(
        &mut self,
        tag: &str,
        step: i64,
        values: &[f64],
        buckets: usize,
    ) -> Result<()> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let (min, max) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if finite.is_empty() {
            return Ok(());
        }
        let buckets = buckets.max(1);
        let width = ((max - min) / buckets as f64).max(f64::EPSILON);
        let mut counts = vec![0.0; buckets];
        for v in &finite {
            let i = (((v - min) / width) as usize).min(buckets - 1);
            counts[i] += 1.0;
        }
        let bucket_limit = (1..=buckets).map(|i| min + width * i as f64).collect();
        self.summary(
            step,
            SummaryValue {
                tag: tag.into(),
                metadata: None,
                value: Some(Value::Histo(Histogram {
                    min,
                    max,
                    num: finite.len() as f64,
                    sum: finite.iter().sum(),
                    sum_squares: finite.iter().map(|v| v * v).sum(),
                    bucket_limit,
                    bucket: counts,
                })),
            },
        )
    }

    /// Text (Markdown), as the text plugin shows it.
    pub fn text(&mut self, tag: &str, step: i64, text: &str) -> Result<()> {
        self.summary(
            step,
            SummaryValue {
                tag: tag.into(),
                metadata: Some(SummaryMetadata {
                    plugin_data: Some(PluginData {
                        plugin_name: "text".into(),
                        content: Vec::new(),
                    }),
                }),
                value: Some(Value::Tensor(TensorProto {
                    dtype: 7,
                    tensor_shape: Some(TensorShape {
                        dim: vec![TensorShapeDim { size: 1 }],
                    }),
                    string_val: vec![text.as_bytes().to_vec()],
                })),
            },
        )
    }

    fn hparams(&mut self, tag: &str, data: HParamsData) -> Result<()> {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        }
        .encode_to_vec();
        self.summary(
            0,
            SummaryValue {
                tag: tag.into(),
                metadata: Some(SummaryMetadata {
                    plugin_data: Some(PluginData {
                        plugin_name: "hparams".into(),
                        content,
                    }),
                }),
                value: None,
            },
        )
    }

    /// The HParams plugin's experiment: the hyperparameters (name and the values they take) and
    /// the metric tags its table shows.
    pub fn hparams_experiment(
        &mut self,
        hparams: &BTreeMap<String, Vec<serde_json::Value>>,
        metrics: &[&str],
    ) -> Result<()> {
        let hparam_infos = hparams
            .iter()
            .map(|(name, values)| {
                let kind = match values.first() {
                    Some(serde_json::Value::Bool(_)) => 2,
                    Some(serde_json::Value::Number(_)) => 3,
                    _ => 1,
                };
                HParamInfo {
                    name: name.clone(),
                    r#type: kind,
                    domain_discrete: Some(ListValue {
                        values: values.iter().map(proto_value).collect(),
                    }),
                }
            })
            .collect();
        let metric_infos = metrics
            .iter()
            .map(|tag| MetricInfo {
                name: Some(MetricName {
                    group: String::new(),
                    tag: (*tag).into(),
                }),
            })
            .collect();
        self.hparams(
            "_hparams_/experiment",
            HParamsData::Experiment(Experiment {
                hparam_infos,
                metric_infos,
            }),
        )
    }

    /// The HParams plugin's session: this run's hyperparameter values.
    pub fn hparams_session(&mut self, hparams: &BTreeMap<String, serde_json::Value>) -> Result<()> {
        self.hparams(
            "_hparams_/session_start_info",
            HParamsData::SessionStartInfo(SessionStartInfo {
                hparams: hparams
                    .iter()
                    .map(|(k, v)| (k.clone(), proto_value(v)))
                    .collect(),
                start_time_secs: now(),
            }),
        )?;
        self.hparams(
            "_hparams_/session_end_info",
            HParamsData::SessionEndInfo(SessionEndInfo {
                status: 1,
                end_time_secs: now(),
            }),
        )
    }

    /// Writes everything buffered to the file, so that a live TensorBoard sees it.
    pub fn flush(&mut self) -> Result<()> {
        let path = &self.path;
        self.out.flush().map_err(|e| io(path, e))?;
        self.out.get_ref().sync_data().map_err(|e| io(path, e))
    }

    /// A search epoch's architecture weights: per cell (name, edges x ops in [0, 1]) a heat map
    /// `PREFIX/alphas/CELL` and the largest weight per edge `PREFIX/largest_op_weight/CELL/edgeNN`,
    /// then one histogram of them all, `PREFIX/op_weights`.
    pub fn op_weights(
        &mut self,
        prefix: &str,
        step: i64,
        cells: &[(&str, &[Vec<f32>])],
    ) -> Result<()> {
        for (cell, rows) in cells {
            let (png, size) = heat_map_png(rows, 12)?;
            self.png(&format!("{prefix}/alphas/{cell}"), step, png, size)?;
            for (edge, row) in rows.iter().enumerate() {
                let largest = row.iter().copied().fold(0f32, f32::max);
                self.scalar(
                    &format!("{prefix}/largest_op_weight/{cell}/edge{edge:02}"),
                    step,
                    f64::from(largest),
                )?;
            }
        }
        let all: Vec<f64> = cells
            .iter()
            .flat_map(|(_, rows)| rows.iter().flatten())
            .map(|&w| f64::from(w))
            .collect();
        self.histogram(&format!("{prefix}/op_weights"), step, &all, 30)
    }

    /// Every numeric field of `record` (nested objects as `a/b`) as a scalar `prefix/field` at
    /// `step`; booleans as 0 or 1. Strings, arrays and nulls are left out.
    pub fn scalars_of(
        &mut self,
        prefix: &str,
        step: i64,
        record: &serde_json::Value,
    ) -> Result<()> {
        let mut flat = Vec::new();
        flatten(prefix, record, &mut flat);
        for (tag, value) in flat {
            self.scalar(&tag, step, value)?;
        }
        Ok(())
    }
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, f64)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}/{k}"), v, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.into(), x));
            }
        }
        serde_json::Value::Bool(b) => out.push((prefix.into(), f64::from(u8::from(*b)))),
        _ => {}
    }
}

fn proto_value(v: &serde_json::Value) -> ProtoValue {
    ProtoValue {
        kind: Some(match v {
            serde_json::Value::Bool(b) => Kind::Bool(*b),
            serde_json::Value::Number(n) => Kind::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Kind::Text(s.clone()),
            other => Kind::Text(other.to_string()),
        }),
    }
}
