//! Integration tests of the `aca` binary.
#![allow(clippy::unwrap_used)]
mod data;
mod docs;
mod genotype;
mod reliability;
mod run;
mod search;
mod sweep;

/// The `aca` binary with one libtorch thread: tests run two at a time on small machines, and
/// oversubscribed OpenMP threads slow libtorch down many times over.
pub fn aca_command() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_aca"));
    c.env("OMP_NUM_THREADS", "1");
    c
}

/// Runs the `aca` binary: (success, stdout, stderr).
pub fn aca(args: &[&str]) -> (bool, String, String) {
    let out = aca_command().args(args).output().expect("running aca");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
