//! One process per run directory: an advisory lock held for the life of the process.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

/// The lock file inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// An exclusive advisory lock (`flock`) on a run directory, released when dropped or when the
/// process ends in any way (kill -9 included), so a stale lock never blocks a resume. The lock
/// file names its holder (host and pid) for the refusal message.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    dir: PathBuf,
}

impl RunLock {
    /// Locks `dir` (which must exist) or refuses at once, naming the holder.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let mut file = open(dir)?;
        match file.try_lock() {
            Ok(()) => Self::held(file, dir),
            Err(TryLockError::WouldBlock) => Err(CoreError::Locked {
                dir: dir.into(),
                holder: holder(&mut file),
            }),
            Err(TryLockError::Error(source)) => Err(CoreError::Io {
                path: dir.join(LOCK_FILE),
                source,
            }),
        }
    }

    /// Locks `dir`, waiting while another process holds it.
    pub fn wait(dir: &Path) -> Result<Self> {
        let file = open(dir)?;
        file.lock().map_err(|source| CoreError::Io {
            path: dir.join(LOCK_FILE),
            source,
        })?;
        Self::held(file, dir)
    }

    /// The host and pid of the process holding `dir`'s lock, if one does.
    pub fn holder(dir: &Path) -> Option<String> {
        let mut file = File::open(dir.join(LOCK_FILE)).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(_) => Some(holder(&mut file)),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn held(mut file: File, dir: &Path) -> Result<Self> {
        let me = format!("host {}, pid {}\n", hostname(), std::process::id());
        let io = |source| CoreError::Io {
            path: dir.join(LOCK_FILE),
            source,
        };
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(me.as_bytes()).map_err(io)?;
        // Whatever an interrupted writer left here is stale now that we hold the directory.
        crate::fsutil::remove_stale_temps(dir)?;
        Ok(Self {
            file,
            dir: dir.into(),
        })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

fn open(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| CoreError::Io { path, source })
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    match text.trim() {
        "" => "another process".into(),
        t => t.to_string(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}
