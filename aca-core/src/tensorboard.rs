//! TensorBoard event files: scalars, images, histograms, text and the HParams plugin's records,
//! written so that `tensorboard --logdir RUN` reads them without conversion.
//!
//! The format is TensorFlow's record file of `Event` protos (`tensorflow/core/util/event.proto`,
//! `summary.proto`; the HParams plugin's `plugin_data.proto` and `api.proto`): each record is its
//! length (u64, little-endian), the length's masked CRC-32C, the bytes, and their masked CRC-32C.
//! The messages below are the subset `aca` writes, field numbers as in those protos, encoded by
//! `prost`. A resumed run rewrites its folder's events up to where it resumes ([`EventWriter::open`]),
//! so every step appears once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use image::ImageEncoder;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

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

// --- The protos (field numbers from TensorFlow's and TensorBoard's .proto files) ---------------

#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "What", tags = "3, 5")]
    what: Option<What>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum What {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(message, optional, tag = "9")]
    metadata: Option<SummaryMetadata>,
    #[prost(oneof = "Value", tags = "2, 4, 5, 8")]
    value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Value {
    #[prost(float, tag = "2")]
    Simple(f32),
    #[prost(message, tag = "4")]
    Image(Image),
    #[prost(message, tag = "5")]
    Histo(Histogram),
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

#[derive(Clone, PartialEq, Message)]
struct Image {
    #[prost(int32, tag = "1")]
    height: i32,
    #[prost(int32, tag = "2")]
    width: i32,
    #[prost(int32, tag = "3")]
    colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    encoded_image_string: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct Histogram {
    #[prost(double, tag = "1")]
    min: f64,
    #[prost(double, tag = "2")]
    max: f64,
    #[prost(double, tag = "3")]
    num: f64,
    #[prost(double, tag = "4")]
    sum: f64,
    #[prost(double, tag = "5")]
    sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    bucket: Vec<f64>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, Message)]
struct PluginData {
    #[prost(string, tag = "1")]
    plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    content: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    /// `DT_STRING` = 7.
    #[prost(int32, tag = "1")]
    dtype: i32,
    #[prost(message, optional, tag = "2")]
    tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    string_val: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShape {
    #[prost(message, repeated, tag = "2")]
    dim: Vec<TensorShapeDim>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShapeDim {
    #[prost(int64, tag = "1")]
    size: i64,
}

/// `tensorboard/plugins/hparams/plugin_data.proto`.
#[derive(Clone, PartialEq, Message)]
struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    version: i32,
    #[prost(oneof = "HParamsData", tags = "2, 3, 4")]
    data: Option<HParamsData>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum HParamsData {
    #[prost(message, tag = "2")]
    Experiment(Experiment),
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}

#[derive(Clone, PartialEq, Message)]
struct Experiment {
    #[prost(message, repeated, tag = "4")]
    hparam_infos: Vec<HParamInfo>,
    #[prost(message, repeated, tag = "5")]
    metric_infos: Vec<MetricInfo>,
}

#[derive(Clone, PartialEq, Message)]
struct HParamInfo {
    #[prost(string, tag = "1")]
    name: String,
    /// `DATA_TYPE_STRING` = 1, `DATA_TYPE_BOOL` = 2, `DATA_TYPE_FLOAT64` = 3.
    #[prost(int32, tag = "4")]
    r#type: i32,
    #[prost(message, optional, tag = "5")]
    domain_discrete: Option<ListValue>,
}

#[derive(Clone, PartialEq, Message)]
struct MetricInfo {
    #[prost(message, optional, tag = "1")]
    name: Option<MetricName>,
}

#[derive(Clone, PartialEq, Message)]
struct MetricName {
    #[prost(string, tag = "1")]
    group: String,
    #[prost(string, tag = "2")]
    tag: String,
}

#[derive(Clone, PartialEq, Message)]
struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    hparams: BTreeMap<String, ProtoValue>,
    #[prost(double, tag = "5")]
    start_time_secs: f64,
}

#[derive(Clone, PartialEq, Message)]
struct SessionEndInfo {
    /// `STATUS_SUCCESS` = 1.
    #[prost(int32, tag = "1")]
    status: i32,
    #[prost(double, tag = "2")]
    end_time_secs: f64,
}

/// `google.protobuf.Value` (numbers, strings and booleans).
#[derive(Clone, PartialEq, Message)]
struct ProtoValue {
    #[prost(oneof = "Kind", tags = "2, 3, 4")]
    kind: Option<Kind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Kind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    Text(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}

#[derive(Clone, PartialEq, Message)]
struct ListValue {
    #[prost(message, repeated, tag = "1")]
    values: Vec<ProtoValue>,
}

// --- Records ------------------------------------------------------------------------------------

fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn write_record(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    out.write_all(&len)?;
    out.write_all(&masked_crc(&len).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc(data).to_le_bytes())
}

/// The events of one file; a torn last record (a process killed mid-write) ends the list.
fn read_events(path: &Path) -> Result<Vec<Event>> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| io(path, source))?;
    let mut events = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default()) as usize;
        let start = at + 12;
        let Some(end) = start.checked_add(len).filter(|e| e + 4 <= bytes.len()) else {
            break;
        };
        let crc = u32::from_le_bytes(bytes[end..end + 4].try_into().unwrap_or_default());
        if crc != masked_crc(&bytes[start..end]) {
            break;
        }
        match Event::decode(&bytes[start..end]) {
            Ok(e) => events.push(e),
            Err(_) => break,
        }
        at = end + 4;
    }
    Ok(events)
}

fn io(path: &Path, source: std::io::Error) -> CoreError {
    CoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn is_event_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("events.out.tfevents."))
}

/// Every scalar in the event files of `dir`, as (tag, step, value), file by file in name order.
pub fn scalars(dir: &Path) -> Result<Vec<(String, i64, f32)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_event_file(p))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        for event in read_events(&path)? {
            if let Some(What::Summary(s)) = event.what {
                for v in s.value {
                    if let Some(Value::Simple(x)) = v.value {
                        out.push((v.tag, event.step, x));
                    }
                }
            }
        }
    }
    Ok(out)
}

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

/// A heat map of `rows` (each a row of values in [0, 1]) as an RGB PNG, each value a `cell` x
/// `cell` square from white (0) to dark blue (1) on a square-root scale (op weights sit mostly
/// below 0.5): returns the bytes and (width, height, 3).
pub fn heat_map_png(rows: &[Vec<f32>], cell: u32) -> Result<(Vec<u8>, (u32, u32, u32))> {
    let h = rows.len() as u32;
    let w = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let (width, height) = (w.max(1) * cell, h.max(1) * cell);
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    for (r, row) in rows.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let v = v.clamp(0.0, 1.0).sqrt();
            let rgb = [
                (255.0 * (1.0 - 0.9 * v)) as u8,
                (255.0 * (1.0 - 0.7 * v)) as u8,
                (255.0 * (1.0 - 0.3 * v)) as u8,
            ];
            for y in 0..cell {
                for x in 0..cell {
                    let px = ((r as u32 * cell + y) * width + c as u32 * cell + x) as usize * 3;
                    pixels[px..px + 3].copy_from_slice(&rgb);
                }
            }
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ColorType::Rgb8)
        .map_err(|e| CoreError::Io {
            path: PathBuf::from("<heat map>"),
            source: std::io::Error::other(e),
        })?;
    Ok((png, (width, height, 3)))
}
