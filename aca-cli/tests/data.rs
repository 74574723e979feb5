use crate::aca;

fn write_idx(dir: &std::path::Path, prefix: &str, n: u32, side: u32) {
    let mut images = Vec::new();
    for v in [0x803u32, n, side, side] {
        images.extend(v.to_be_bytes());
    }
    images.extend((0..n * side * side).map(|i| (i % 251) as u8));
    let mut labels = Vec::new();
    for v in [0x801u32, n] {
        labels.extend(v.to_be_bytes());
    }
    labels.extend((0..n).map(|i| (i % 10) as u8));
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

#[test]
fn info_on_written_mnist_files() {
    let dir = tempfile::tempdir().unwrap();
    write_idx(dir.path(), "train", 40, 28);
    write_idx(dir.path(), "t10k", 20, 28);
    let d = dir.path().to_str().unwrap();
    let (ok, out, err) = aca(&[
        "data",
        "info",
        "--dataset",
        "mnist",
        "--data-dir",
        d,
        "--resize",
        "16",
    ]);
    assert!(ok, "{err}");
    insta::assert_snapshot!("data_info_mnist", out.replace(d, "DIR"));
    let (ok, out, err) = aca(&[
        "data",
        "info",
        "--dataset",
        "mnist",
        "--data-dir",
        d,
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["search_train"], 20);
    assert_eq!(v["info"]["channels"], 1);
}

#[test]
fn info_on_real_fashion_mnist_needs_no_flag() {
    if !aca_data::fashion_mnist_for_tests() {
        return;
    }
    let (ok, out, err) = aca(&["data", "info"]);
    assert!(ok, "{err}");
    assert!(out.contains("dataset   fashion-mnist"), "{out}");
    assert!(out.contains("train     60000 (6000 per class)"), "{out}");
    assert!(out.contains("  search  30000 train / 30000 valid"), "{out}");
    assert!(out.contains("test      10000 (1000 per class)"), "{out}");
    assert!(out.contains("T-shirt/top, Trouser"), "{out}");
}

#[test]
fn data_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) = aca(&["data", "info", "--dataset", "cifar10", "--data-dir", d]);
    assert!(!ok);
    assert!(err.starts_with("error: cifar10 not found in"), "{err}");
    assert!(err.contains("aca data fetch cifar10 --dir DIR"), "{err}");
    let (ok, _, err) = aca(&["data", "info", "--dataset", "imagenet"]);
    assert!(!ok);
    assert_eq!(
        err,
        "error: dataset = imagenet: expected fashion-mnist, mnist, cifar10 or cifar100\n"
    );
    let (ok, _, err) = aca(&["data", "fetch", "mnist", "--dir", d]);
    assert!(!ok);
    assert!(
        err.contains("mnist has no official archive to fetch"),
        "{err}"
    );
}
