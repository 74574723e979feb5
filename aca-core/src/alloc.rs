//! jemalloc's page policy while a network trains.
//!
//! `aca` allocates through jemalloc, libtorch's allocations included. By default jemalloc hands
//! freed pages back to the system after a decay time, which keeps a search step's peak memory low
//! (docs/benchmarks.md). A training loop frees and reallocates the same activations at every step,
//! so the returned pages fault back in each time: at DARTS's training shapes the page faults were
//! half the step. [`KeepFreedPages`] keeps freed pages for reuse while it lives.

// The one place aca calls into C by hand: jemalloc's settings have no safe wrapper in
// tikv-jemalloc-ctl, only `raw::{read, write}`, which are unsafe because the value's type must
// match the setting's (`ssize_t` for both used here).
#![allow(unsafe_code)]

use tikv_jemalloc_ctl::raw;

/// The decay time of arenas created later (`arena.<i>.dirty_decay_ms` sets an existing one's).
const NEW_ARENAS: &[u8] = b"arenas.dirty_decay_ms\0";

/// While it lives, jemalloc keeps freed pages for reuse instead of returning them (its
/// `dirty_decay_ms = -1`): fewer page faults per training step, at a resident size closer to the
/// largest the process has needed. Dropping it restores the previous decay time. Without
/// jemalloc in the process (the setting cannot be read) it does nothing.
#[derive(Debug)]
#[must_use = "the policy holds only while the value lives"]
pub struct KeepFreedPages {
    previous: Option<isize>,
}

impl KeepFreedPages {
    /// Starts keeping freed pages.
    pub fn new() -> Self {
        // SAFETY: jemalloc's documented `ssize_t` setting.
        let previous = unsafe { raw::read::<isize>(NEW_ARENAS) }.ok();
        if previous.is_some() {
            set_decay(-1);
        }
        Self { previous }
    }

    /// Whether the policy took effect (jemalloc is there).
    pub fn active(&self) -> bool {
        self.previous.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_freed_pages_while_it_lives_and_restores_the_decay_after() {
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
}
