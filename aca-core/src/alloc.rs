//! jemalloc's page policy while a network trains.
//!
//! `aca` allocates through jemalloc, libtorch's allocations included. By default jemalloc hands
//! freed pages back to the system after a decay time, which keeps a search step's peak memory low
//! (docs/benchmarks.md). A training loop frees and reallocates the same activations at every step,
//! so the returned pages fault back in each time: at DARTS's training shapes the page faults were
//! half the step. [`KeepFreedPages`] keeps freed pages for reuse while it lives, and returns them
//! when the process has grown past a bound: jemalloc does not reuse every kept page, and without
//! the bound a training's resident size grew by about 2.5 GB per epoch of the tiny preset.

// The one place aca calls into C by hand: jemalloc's settings have no safe wrapper in
// tikv-jemalloc-ctl, only `raw::{read, write}`, which are unsafe because the value's type must
// match the setting's (`ssize_t` for both used here).
#![allow(unsafe_code)]

use tikv_jemalloc_ctl::raw;
use tracing::debug;

/// The decay time of arenas created later (`arena.<i>.dirty_decay_ms` sets an existing one's).
const NEW_ARENAS: &[u8] = b"arenas.dirty_decay_ms\0";

/// Returns the freed pages of every arena (`MALLCTL_ARENAS_ALL` is arena 4096).
const PURGE_ALL: &[u8] = b"arena.4096.purge\0";

/// While it lives, jemalloc keeps freed pages for reuse instead of returning them (its
/// `dirty_decay_ms = -1`): fewer page faults per training step. jemalloc does not find a use for
/// every kept page, so the resident size creeps up from step to step; [`Self::after_step`] returns
/// the kept pages whenever it has grown past [`Self::growth_limit`] times its size after the first
/// step. Dropping it restores the previous decay time. Without jemalloc in the process (the
/// setting cannot be read) it does nothing.
#[derive(Debug)]
#[must_use = "the policy holds only while the value lives"]
pub struct KeepFreedPages {
    previous: Option<isize>,
    growth_limit: f64,
    /// Resident bytes after the first step: its working set, every freed page kept.
    first_step: Option<u64>,
    purges: usize,
}

impl KeepFreedPages {
    /// The default bound on growth: the resident size may reach 1.5 times the first step's.
    pub const GROWTH_LIMIT: f64 = 1.5;

    /// Starts keeping freed pages, with the default bound on growth.
    pub fn new() -> Self {
        Self::with_growth_limit(Self::GROWTH_LIMIT)
    }

    /// Starts keeping freed pages; kept pages are returned whenever the resident size passes
    /// `growth_limit` (at least 1) times its size after the first step.
    pub fn with_growth_limit(growth_limit: f64) -> Self {
        // SAFETY: jemalloc's documented `ssize_t` setting.
        let previous = unsafe { raw::read::<isize>(NEW_ARENAS) }.ok();
        if previous.is_some() {
            set_decay(-1);
        }
        Self {
            previous,
            growth_limit: growth_limit.max(1.0),
            first_step: None,
            purges: 0,
        }
    }

    /// Whether the policy took effect (jemalloc is there).
    pub fn active(&self) -> bool {
        self.previous.is_some()
    }

    /// The bound on growth: kept pages are returned when the resident size passes this many
    /// times the first step's.
    pub fn growth_limit(&self) -> f64 {
        self.growth_limit
    }

    /// Call after every step: the first call records the resident size; a later one returns the
    /// kept pages to the system when the resident size has passed the bound. Does nothing where
    /// the resident size cannot be read (`/proc/self/status`, Linux).
    pub fn after_step(&mut self) {
        if !self.active() {
            return;
        }
        let Some(resident) = resident_bytes() else {
            return;
        };
        match self.first_step {
            None => self.first_step = Some(resident),
            Some(first) if resident as f64 > self.growth_limit * first as f64 => {
                purge_all();
                self.purges += 1;
                debug!(
                    resident_mb = resident / 1_000_000,
                    after_mb = resident_bytes().unwrap_or(0) / 1_000_000,
                    first_step_mb = first / 1_000_000,
                    "kept pages returned"
                );
            }
            Some(_) => {}
        }
    }

    /// How many times [`Self::after_step`] has returned the kept pages.
    pub fn purges(&self) -> usize {
        self.purges
    }
}

impl Default for KeepFreedPages {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for KeepFreedPages {
    fn drop(&mut self) {
        if let Some(ms) = self.previous {
            set_decay(ms);
        }
    }
}

/// Sets the dirty-page decay time of every arena and of arenas created later; best effort (only
/// speed and memory depend on it).
fn set_decay(ms: isize) {
    // One arena at a time: jemalloc refuses this setting for all arenas at once
    // (`MALLCTL_ARENAS_ALL`), and for arena numbers not yet in use, which take the new default.
    let arenas = tikv_jemalloc_ctl::arenas::narenas::read().unwrap_or(0);
    for i in 0..arenas {
        let name = format!("arena.{i}.dirty_decay_ms\0");
        // SAFETY: jemalloc's documented `ssize_t` setting.
        let _ = unsafe { raw::write(name.as_bytes(), ms) };
    }
    // SAFETY: as above.
    let _ = unsafe { raw::write(NEW_ARENAS, ms) };
}

/// Returns every arena's freed pages to the system; best effort.
fn purge_all() {
    // SAFETY: `arena.<i>.purge` takes and returns nothing, so every pointer is null (jemalloc
    // refuses a non-null one for this setting).
    unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// The process's resident size (`VmRSS` of `/proc/self/status`); `None` off Linux.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The allocator of the `aca` binary, whose kept pages these tests watch.
    #[global_allocator]
    static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// jemalloc's settings are the process's: one test at a time changes them.
    static SETTINGS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn keeps_freed_pages_while_it_lives_and_restores_the_decay_after() {
        let _one = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        let read = || unsafe { raw::read::<isize>(NEW_ARENAS) }.unwrap();
        let before = read();
        assert_ne!(before, -1, "jemalloc's default returns freed pages");
        let arena0 = || unsafe { raw::read::<isize>(b"arena.0.dirty_decay_ms\0") }.unwrap();
        assert_eq!(arena0(), before);
        {
            let keep = KeepFreedPages::new();
            assert!(keep.active());
            assert_eq!((read(), arena0()), (-1, -1), "new arenas and arena 0");
        }
        assert_eq!((read(), arena0()), (before, before));
    }

    /// Touches `bytes` of fresh heap memory in 4 MB blocks (under jemalloc's 8 MB threshold for
    /// its separate arena of huge allocations) and frees it.
    fn churn(bytes: usize) {
        let blocks: Vec<Vec<u8>> = (0..bytes.div_ceil(4 << 20))
            .map(|_| {
                let mut block = vec![0u8; 4 << 20];
                for page in block.chunks_mut(4096) {
                    page[0] = 1;
                }
                block
            })
            .collect();
        std::hint::black_box(&blocks);
    }

    #[test]
    fn returns_the_kept_pages_once_the_process_grows_past_the_bound() {
        let _one = SETTINGS.lock().unwrap_or_else(|e| e.into_inner());
        let mut keep = KeepFreedPages::with_growth_limit(1.5);
        keep.after_step();
        let first = resident_bytes().unwrap();
        // Freed pages are kept: the resident size stays up after the free.
        churn(first as usize + (256 << 20));
        let grown = resident_bytes().unwrap();
        assert!(grown as f64 > 1.5 * first as f64, "{grown} {first}");
        // The next step's check returns them.
        keep.after_step();
        assert_eq!(keep.purges(), 1);
        let after = resident_bytes().unwrap();
        assert!(
            after + (128 << 20) < grown,
            "{after} after the purge, {grown} before"
        );
        // Under the bound nothing is returned.
        keep.after_step();
        assert_eq!(keep.purges(), 1);
    }
}
