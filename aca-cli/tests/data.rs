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
        "error: dataset = imagenet: expected fashion-mnist, mnist, cifar10, cifar100, svhn or folder\n"
    );
    let (ok, _, err) = aca(&["data", "fetch", "mnist", "--dir", d]);
    assert!(!ok);
    assert!(
        err.contains("mnist has no official archive to fetch"),
        "{err}"
    );
    let (ok, _, err) = aca(&["data", "fetch", "folder", "--dir", d]);
    assert!(!ok);
    assert!(err.contains("folder is your own images"), "{err}");
}

/// An image folder of two colour classes, `train` 30 and `val` 8 PNGs each, 12x10 pixels: the
/// classes differ in brightness, so a few steps learn something.
fn write_image_folder(dir: &std::path::Path) {
    for (split, n) in [("train", 30u32), ("val", 8)] {
        for (c, class) in ["dark", "light"].into_iter().enumerate() {
            let folder = dir.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..n {
                let img = image::RgbImage::from_fn(12, 10, |x, y| {
                    let base = 40 + 150 * c as u32;
                    let v = |k: u32| (base + (x * 7 + y * 3 + i * 5 + k * 11) % 50) as u8;
                    image::Rgb([v(0), v(1), v(2)])
                });
                img.save(folder.join(format!("{i:03}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn the_imagenet_preset_searches_and_trains_a_streamed_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("images");
    write_image_folder(&data);
    let d = data.to_str().unwrap();
    // `aca data info` lists a folder too large for memory without decoding it all.
    let (ok, out, err) = aca(&[
        "data",
        "info",
        "--dataset",
        "folder",
        "--data-dir",
        d,
        "--resize",
        "12",
        "--center-crop",
        "8",
        "--stream",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("3 x 8 x 8"), "{out}");
    assert!(out.contains("computed from 60 training images"), "{out}");
    // The preset's recipe at a small scale: 40 then the centre 32 instead of 256 then 224.
    let cfg = dir.path().join("small.json");
    std::fs::write(
        &cfg,
        r#"{"search": {"epochs": 1, "data": {"batch_size": 8, "split": {"train_limit": 8, "valid_limit": 8}}, "network": {"channels": 4, "layers": 3}},
  "allocate": {"batches": 1},
  "train": {"epochs": 2, "data": {"batch_size": 8, "train_limit": 16}, "network": {"channels": 4, "layers": 3}}}"#,
    )
    .unwrap();
    let out_dir = dir.path().join("run");
    let (ok, out, err) = aca(&[
        "run",
        "--preset",
        "imagenet",
        "--data-dir",
        d,
        "--resize",
        "40",
        "--center-crop",
        "32",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("imagenet"), "{out}");
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out_dir.join(p)).unwrap()).unwrap()
    };
    let train = read("train/config.json");
    assert_eq!(train["schedule"]["exponential"]["gamma"], 0.97, "{train}");
    assert_eq!(train["label_smoothing"], 0.1);
    assert_eq!(train["optimizer"]["weight_decay"], 3e-5);
    assert_eq!(train["network"]["setting"], "imagenet");
    let d_cfg = &train["data"];
    assert_eq!(
        (
            d_cfg["stream"].clone(),
            d_cfg["resize"].clone(),
            d_cfg["center_crop"].clone()
        ),
        (true.into(), 40.into(), 32.into())
    );
    assert_eq!(
        d_cfg["augment"]["random_resized_crop"], 32,
        "the random crop follows the centre crop"
    );
    assert_eq!(d_cfg["augment"]["color_jitter"]["hue"], 0.2);
    // The search held the folder in memory at the same size.
    let search = read("search/config.json");
    assert_eq!(search["data"]["dataset"], "folder");
    assert!(search["data"].get("stream").is_none(), "{search}");
    // `aca predict` reads an image as the test did (resize 40, centre 32): its top-1 over val/
    // is the test accuracy.
    let predictions = predict_val(&data, &out_dir.join("train"));
    assert_top1_is_the_test_accuracy(&predictions, &read("train/results.json"));
}

/// `aca predict --json` over the 16 images of `val/` that `write_image_folder` writes (dark ones
/// first): each prediction with its true class.
fn predict_val(
    data: &std::path::Path,
    train_dir: &std::path::Path,
) -> Vec<(serde_json::Value, &'static str)> {
    let classes: Vec<&'static str> = ["dark", "light"]
        .into_iter()
        .flat_map(|c| std::iter::repeat_n(c, 8))
        .collect();
    let images: Vec<String> = (0..16)
        .map(|i| {
            let path = data.join(format!("val/{}/{:03}.png", classes[i], i % 8));
            path.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["predict", "--json", "--run", train_dir.to_str().unwrap()];
    args.extend(images.iter().map(String::as_str));
    let (ok, out, err) = aca(&args);
    assert!(ok, "{err}");
    let predictions: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(predictions.len(), 16);
    predictions.into_iter().zip(classes).collect()
}

/// The share of predictions whose top class is the true one equals the run's test top-1: predict
/// read the images as the test did.
fn assert_top1_is_the_test_accuracy(
    predictions: &[(serde_json::Value, &str)],
    results: &serde_json::Value,
) {
    let hits = predictions
        .iter()
        .filter(|(p, class)| p["top"][0][1] == *class)
        .count();
    assert!(
        (hits as f64 / 16.0 - results["test_top1"].as_f64().unwrap()).abs() < 1e-9,
        "{hits} of 16 against {}",
        results["test_top1"]
    );
}

#[test]
fn an_image_folder_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("images");
    write_image_folder(&data);
    let d = data.to_str().unwrap();
    let info = || {
        aca(&[
            "data",
            "info",
            "--dataset",
            "folder",
            "--data-dir",
            d,
            "--resize",
            "8",
        ])
    };
    let (ok, out, err) = info();
    assert!(ok, "{err}");
    assert!(out.contains("dark, light"), "{out}");
    assert!(out.contains("train     60 (30 per class)"), "{out}");
    assert!(out.contains("test      16 (8 per class)"), "{out}");
    assert!(out.contains("3 x 8 x 8"), "{out}");
    // The whole pipeline on it: search, allocate, train, test, report.
    let cfg = small_run_config(dir.path());
    let out_dir = dir.path().join("run");
    let (ok, out, err) = aca(&[
        "run",
        "--dataset",
        "folder",
        "--data-dir",
        d,
        "--resize",
        "8",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("folder"), "{out}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("train/results.json")).unwrap())
            .unwrap();
    assert!(results["params"].as_u64().unwrap() > 0, "{results}");
    assert!(out_dir.join("summary.txt").is_file());
    assert!(data.join(aca_data::STATS_CACHE).is_file());
    // `aca predict` reads images as the run did: its top-1 over val/ is the test accuracy.
    let train_dir = out_dir.join("train");
    let predictions = predict_val(&data, &train_dir);
    assert_eq!(
        predictions[0].0["top"].as_array().unwrap().len(),
        2,
        "top-5 clamps to 2 classes"
    );
    assert_top1_is_the_test_accuracy(&predictions, &results);
    let first = data.join("val/dark/000.png");
    let (ok, out, err) = aca(&[
        "predict",
        "--run",
        train_dir.to_str().unwrap(),
        first.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("000.png\n  1. ") && out.contains(" %  (label "),
        "{out}"
    );
    // The weights out: an ACA plan that refills channels keeps aca's names, a full one DARTS's.
    let (ok, out, err) = aca(&[
        "export",
        "--run",
        train_dir.to_str().unwrap(),
        "--format",
        "safetensors",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("names), genotype to"), "{out}");
    let (ok, out, err) = aca(&["export", "--run", train_dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("model.onnx"), "{out}");
    assert!(train_dir.join("model.onnx").is_file());
    assert!(train_dir.join("model.safetensors").is_file());
    assert!(train_dir.join("genotype.py").is_file());
    let (ok, _, err) = aca(&["export", "--run", d]);
    assert!(!ok);
    assert!(err.contains("config.json"), "{err}");
    // A broken image stops the run with one line naming it.
    std::fs::write(data.join("train/dark/bad.png"), "not a png").unwrap();
    let (ok, _, err) = info();
    assert!(!ok);
    assert!(
        err.contains("bad.png") && err.contains("cannot decode"),
        "{err}"
    );
}

#[test]
fn svhn_files_run_end_to_end_in_s3_and_s3_aca() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("svhn");
    std::fs::create_dir_all(&data).unwrap();
    let images = |n: usize| -> (Vec<u8>, Vec<u16>) {
        let labels: Vec<u16> = (0..n).map(|i| (i % 10) as u16).collect();
        // Each digit class a different brightness, so that there is something to learn.
        let px = labels
            .iter()
            .flat_map(|&l| std::iter::repeat_n((l * 20 + 30) as u8, 3072))
            .collect();
        (px, labels)
    };
    let (px, labels) = images(80);
    aca_data::write_svhn_mat(&data.join("train_32x32.mat"), &px, &labels, true).unwrap();
    let (px, labels) = images(20);
    aca_data::write_svhn_mat(&data.join("test_32x32.mat"), &px, &labels, false).unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, out, err) = aca(&["data", "info", "--dataset", "svhn", "--data-dir", d]);
    assert!(ok, "{err}");
    assert!(out.contains("train     80"), "{out}");
    assert!(out.contains("3 x 32 x 32"), "{out}");
    let cfg = small_run_config(dir.path());
    for space in ["s3", "s3-aca"] {
        let out_dir = dir.path().join(space);
        let (ok, out, err) = aca(&[
            "run",
            "--dataset",
            "svhn",
            "--data-dir",
            d,
            "--resize",
            "8",
            "--space",
            space,
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--no-progress",
        ]);
        assert!(ok, "{space}: {err}");
        assert!(out.contains("svhn"), "{out}");
        assert!(out_dir.join("train/results.json").is_file());
    }
    // `aca data fetch svhn` names its files; --extra is SVHN's only.
    let (ok, _, err) = aca(&["data", "fetch", "cifar10", "--extra"]);
    assert!(!ok);
    assert!(err.contains("--extra is SVHN's"), "{err}");
}

/// A one-epoch run configuration for a few images (`dir/small.json`).
fn small_run_config(dir: &std::path::Path) -> std::path::PathBuf {
    let cfg = dir.join("small.json");
    std::fs::write(
        &cfg,
        r#"{"search": {"epochs": 1, "data": {"batch_size": 8, "split": {"train_limit": 16, "valid_limit": 16}}, "network": {"channels": 4, "layers": 3}},
  "allocate": {"batches": 1},
  "train": {"epochs": 1, "data": {"batch_size": 16, "train_limit": 32}, "network": {"channels": 4, "layers": 3}}}"#,
    )
    .unwrap();
    cfg
}
