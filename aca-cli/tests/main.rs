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

/// Checks event files with TensorBoard's own reader (`scripts/tb-check.py` in the virtual
/// environment scripts/setup makes, `.venv-tb`): `args` are run directories, then optionally
/// `--sweep DIR`. Skipped with a message where the environment is missing, except under CI=true.
pub fn tb_check(args: &[&std::path::Path]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-tb/bin/python");
    if !python.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TensorBoard's reader is missing under CI: scripts/setup makes .venv-tb"
        );
        eprintln!("TensorBoard's reader (.venv-tb) not installed; event files not checked");
        return;
    }
    let out = std::process::Command::new(python)
        .arg(root.join("scripts/tb-check.py"))
        .args(args)
        .output()
        .expect("running scripts/tb-check.py");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    eprint!("{text}");
}
