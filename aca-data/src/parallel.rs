//! Ordered work on scoped threads, for decoding image files.

use std::path::Path;

use crate::error::{DataError, Result};

/// `f(position, item)` for every item, on up to `threads` scoped threads that each take one
/// contiguous run of the items; the results come back in the items' order. A thread that panics
/// becomes an error naming `file` (the split's first file).
pub(crate) fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    file: &Path,
    f: impl Fn(usize, &T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let chunk = items
        .len()
        .div_ceil(threads.clamp(1, items.len().max(1)))
        .max(1);
    let f = &f;
    let parts: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, item)| f(k * chunk + j, item))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(DataError::format(file, "an image decoder panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}
