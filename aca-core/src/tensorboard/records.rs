//! TensorFlow's record files: each record its length (u64, little-endian), the length's masked
//! CRC-32C, the bytes, and their masked CRC-32C.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use super::proto::{Event, Value, What};
use crate::error::{CoreError, Result};

pub(super) fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

pub(super) fn write_record(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    out.write_all(&len)?;
    out.write_all(&masked_crc(&len).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc(data).to_le_bytes())
}

/// The events of one file; a torn last record (a process killed mid-write) ends the list.
pub(super) fn read_events(path: &Path) -> Result<Vec<Event>> {
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

pub(super) fn io(path: &Path, source: std::io::Error) -> CoreError {
    CoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub(super) fn is_event_file(path: &Path) -> bool {
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
