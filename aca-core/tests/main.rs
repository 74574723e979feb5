//! Integration tests of `aca-core`.
#![allow(clippy::unwrap_used)]
use aca_core::{write_atomic, write_json_atomic, DeviceChoice};

#[test]
fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    write_atomic(&path, b"first version, longer").unwrap();
    write_json_atomic(&path, &serde_json::json!({"seed": 2})).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n  \"seed\": 2\n}\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn atomic_write_into_missing_folder_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("x.json");
    let err = write_atomic(&path, b"x").unwrap_err().to_string();
    assert!(err.contains("missing/x.json"), "{err}");
}

#[test]
fn device_choice_parses_and_cpu_resolves() {
    assert_eq!(
        "cpu".parse::<DeviceChoice>().unwrap().resolve().unwrap(),
        tch::Device::Cpu
    );
    let err = "gpu".parse::<DeviceChoice>().unwrap_err().to_string();
    assert!(err.contains("expected auto, cpu or cuda"), "{err}");
    if !tch::Cuda::is_available() {
        assert!(DeviceChoice::Cuda.resolve().is_err());
        assert_eq!(DeviceChoice::Auto.resolve().unwrap(), tch::Device::Cpu);
    }
}
