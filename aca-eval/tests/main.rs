//! Integration tests of `aca-eval`.
#![allow(clippy::unwrap_used)]
mod export;
mod network;
mod onnx;
mod stages;

/// libtorch's random generator is global to the process. Tests that seed it and draw from it
/// (network initialisation, drop path, random batches) hold this lock, so that tests running in
/// parallel do not interleave their draws and break each other's reproducibility.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An evaluation network with the auxiliary head, 3 image channels unless changed.
pub fn net_config(
    channels: i64,
    layers: usize,
    classes: i64,
    setting: aca_eval::Setting,
) -> aca_eval::EvalNetConfig {
    aca_eval::EvalNetConfig {
        channels,
        layers,
        classes,
        auxiliary: true,
        setting,
        ..Default::default()
    }
}
