use aca_data::{encode_cifar, encode_idx, Dataset, DatasetKind, LoadOptions};

use crate::{gzip, synthetic, write_cifar10_dir, write_idx_dir};

fn load(kind: DatasetKind, dir: &std::path::Path) -> aca_data::Result<Dataset> {
    Dataset::load(
        kind,
        &LoadOptions {
            data_dir: Some(dir.to_path_buf()),
            ..Default::default()
        },
    )
}

fn pixels(t: &tch::Tensor) -> Vec<u8> {
    Vec::<u8>::try_from(t.flatten(0, -1)).unwrap()
}

#[test]
fn idx_plain_and_gzipped_read_back_exactly() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let train = synthetic(30, [1, 28, 28], 10);
        let test = synthetic(12, [1, 28, 28], 10);
        write_idx_dir(dir.path(), &train, &test, gz);
        let data = load(DatasetKind::Mnist, dir.path()).unwrap();
        assert_eq!(data.train.images().unwrap().size(), [30, 1, 28, 28]);
        assert_eq!(
            pixels(data.train.images().unwrap()),
            train.pixels,
            "gz={gz}"
        );
        assert_eq!(data.train.label_list(), &train.labels[..]);
        assert_eq!(
            Vec::<i64>::try_from(data.test.labels()).unwrap(),
            test.labels.iter().map(|&l| l as i64).collect::<Vec<_>>()
        );
        assert_eq!(data.info.channels, 1);
        assert_eq!(data.info.classes, 10);
        assert_eq!(data.info.class_names[3], "3");
        assert_eq!(data.info.stats_source, "computed from the training set");
        // Statistics equal a direct computation.
        let mean =
            train.pixels.iter().map(|&p| p as f64 / 255.0).sum::<f64>() / train.pixels.len() as f64;
        assert!((data.info.mean[0] as f64 - mean).abs() < 1e-6);
    }
}

#[test]
fn cifar10_reads_back_exactly_with_names_and_published_stats() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = write_cifar10_dir(dir.path(), 4);
    let data = load(DatasetKind::Cifar10, dir.path()).unwrap();
    assert_eq!(data.train.images().unwrap().size(), [20, 3, 32, 32]);
    assert_eq!(pixels(data.train.images().unwrap()), train.pixels);
    assert_eq!(pixels(data.test.images().unwrap()), test.pixels);
    assert_eq!(data.train.label_list(), &train.labels[..]);
    assert_eq!(data.info.class_names[9], "truck");
    assert_eq!(data.info.mean, vec![0.4914, 0.4822, 0.4465]);
    assert_eq!(data.info.stats_source, "published");
    // The folder itself works as --data-dir too.
    let direct = load(
        DatasetKind::Cifar10,
        &dir.path().join("cifar-10-batches-bin"),
    )
    .unwrap();
    assert_eq!(direct.train.len(), 20);
}

#[test]
fn cifar100_fine_by_default_and_coarse_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cifar-100-binary");
    std::fs::create_dir_all(&root).unwrap();
    let imgs = synthetic(6, [3, 32, 32], 1);
    let labels: Vec<u8> = (0..6u8).flat_map(|i| [i % 20, 95 - i]).collect(); // (coarse, fine)
    for f in ["train.bin", "test.bin"] {
        std::fs::write(root.join(f), encode_cifar(&imgs.pixels, &labels, 2)).unwrap();
    }
    let fine = load(DatasetKind::Cifar100, dir.path()).unwrap();
    assert_eq!(fine.info.classes, 100);
    assert_eq!(fine.train.label_list(), &[95, 94, 93, 92, 91, 90]);
    assert_eq!(pixels(fine.train.images().unwrap()), imgs.pixels);
    let coarse = Dataset::load(
        DatasetKind::Cifar100,
        &LoadOptions {
            data_dir: Some(dir.path().into()),
            coarse_labels: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(coarse.info.classes, 20);
    assert_eq!(coarse.train.label_list(), &[0, 1, 2, 3, 4, 5]);
}

fn error_of(kind: DatasetKind, dir: &std::path::Path) -> String {
    load(kind, dir).unwrap_err().to_string()
}

#[test]
fn bad_files_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Missing file.
    let e = error_of(DatasetKind::FashionMnist, p);
    assert!(
        e.contains("fashion-mnist not found in") && e.contains("train-images-idx3-ubyte"),
        "{e}"
    );
    let e = error_of(DatasetKind::Cifar10, p);
    assert!(
        e.contains("set data_dir to a folder holding the binary version"),
        "{e}"
    );

    let train = synthetic(10, [1, 28, 28], 10);
    let test = synthetic(10, [1, 28, 28], 10);
    write_idx_dir(p, &train, &test, false);
    let images = p.join("train-images-idx3-ubyte");
    let labels = p.join("train-labels-idx1-ubyte");
    let (img, lab) = encode_idx(&train).unwrap();

    // Wrong magic number.
    let mut bad = img.clone();
    bad[3] = 0x01;
    std::fs::write(&images, &bad).unwrap();
    let e = error_of(DatasetKind::Mnist, p);
    assert!(
        e.contains("train-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803"),
        "{e}"
    );
    // Truncated pixels.
    std::fs::write(&images, &img[..img.len() - 5]).unwrap();
    let e = error_of(DatasetKind::Mnist, p);
    assert!(e.contains("train-images-idx3-ubyte: truncated: the header announces 7840 bytes of pixels, the file holds 7835"), "{e}");
    // Truncated gzip stream.
    std::fs::write(&images, &gzip(&img)[..100]).unwrap();
    let e = error_of(DatasetKind::Mnist, p);
    assert!(
        e.contains("train-images-idx3-ubyte: corrupt gzip data"),
        "{e}"
    );
    std::fs::write(&images, &img).unwrap();
    // Image and label counts differ.
    let (_, lab9) = encode_idx(&synthetic(9, [1, 28, 28], 10)).unwrap();
    std::fs::write(&labels, &lab9).unwrap();
    let e = error_of(DatasetKind::Mnist, p);
    assert!(
        e.contains("train-labels-idx1-ubyte: 9 labels, but") && e.contains("holds 10 images"),
        "{e}"
    );
    // Label out of range.
    let mut lab_bad = lab.clone();
    lab_bad[8 + 4] = 10;
    std::fs::write(&labels, &lab_bad).unwrap();
    let e = error_of(DatasetKind::Mnist, p);
    assert!(
        e.contains("train-labels-idx1-ubyte: label 10 of record 4 is out of range: expected 0..10"),
        "{e}"
    );

    // CIFAR truncated record and label out of range.
    let cdir = tempfile::tempdir().unwrap();
    write_cifar10_dir(cdir.path(), 2);
    let batch3 = cdir.path().join("cifar-10-batches-bin/data_batch_3.bin");
    let bytes = std::fs::read(&batch3).unwrap();
    std::fs::write(&batch3, &bytes[..bytes.len() - 1]).unwrap();
    let e = error_of(DatasetKind::Cifar10, cdir.path());
    assert!(e.contains("data_batch_3.bin: truncated record: 6145 bytes is not a whole number of 3073-byte records (1 whole, 3072 bytes left over)"), "{e}");
    let mut bytes = bytes;
    bytes[3073] = 12;
    std::fs::write(&batch3, &bytes).unwrap();
    let e = error_of(DatasetKind::Cifar10, cdir.path());
    assert!(
        e.contains("data_batch_3.bin: label 12 of record 1 is out of range: expected 0..10"),
        "{e}"
    );
    // A batch with an extra record is refused, naming it.
    bytes[3073] = 1;
    let mut longer = bytes.clone();
    longer.extend_from_slice(&bytes[..3073]);
    std::fs::write(&batch3, &longer).unwrap();
    let e = error_of(DatasetKind::Cifar10, cdir.path());
    assert!(
        e.contains("data_batch_3.bin: 3 records, but") && e.contains("holds 2"),
        "{e}"
    );
    std::fs::write(&batch3, &bytes).unwrap();
    // A missing batch file is named.
    std::fs::remove_file(cdir.path().join("cifar-10-batches-bin/data_batch_5.bin")).unwrap();
    let e = error_of(DatasetKind::Cifar10, cdir.path());
    assert!(e.contains("data_batch_5.bin"), "{e}");
}

#[test]
fn resize_keeps_labels_and_changes_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut train = synthetic(4, [1, 28, 28], 10);
    train.pixels.iter_mut().for_each(|p| *p = 200); // a flat image stays flat under resizing
    write_idx_dir(dir.path(), &train, &train, false);
    let data = Dataset::load(
        DatasetKind::Mnist,
        &LoadOptions {
            data_dir: Some(dir.path().into()),
            resize: Some(16),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.train.images().unwrap().size(), [4, 1, 16, 16]);
    assert_eq!(data.info.size, 16);
    assert_eq!(data.info.original_size, 28);
    assert!(pixels(data.train.images().unwrap())
        .iter()
        .all(|&p| p == 200));
}

#[test]
fn real_fashion_mnist_when_installed() {
    if !aca_data::fashion_mnist_for_tests() {
        return;
    }
    let data = Dataset::load(DatasetKind::FashionMnist, &LoadOptions::default()).unwrap();
    assert_eq!(data.train.len(), 60_000);
    assert_eq!(data.test.len(), 10_000);
    assert_eq!(data.info.classes, 10);
    assert_eq!(data.train.class_counts(10), vec![6000; 10]);
    assert_eq!(data.test.class_counts(10), vec![1000; 10]);
    assert_eq!(data.train.images().unwrap().size(), [60_000, 1, 28, 28]);
    assert_eq!(data.info.class_names[0], "T-shirt/top");
    // Fashion-MNIST's well-known statistics: mean 0.2860, std 0.3530.
    assert!(
        (data.info.mean[0] - 0.2860).abs() < 1e-3,
        "{:?}",
        data.info.mean
    );
    assert!(
        (data.info.std[0] - 0.3530).abs() < 1e-3,
        "{:?}",
        data.info.std
    );
}

#[test]
fn truncated_header_and_wrong_class_names_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let train = synthetic(4, [1, 28, 28], 10);
    write_idx_dir(dir.path(), &train, &train, false);
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), [0u8, 0, 8, 1, 0]).unwrap();
    let e = error_of(DatasetKind::Mnist, dir.path());
    assert!(
        e.contains("t10k-labels-idx1-ubyte: truncated header: 5 bytes, expected at least 8"),
        "{e}"
    );

    let cdir = tempfile::tempdir().unwrap();
    write_cifar10_dir(cdir.path(), 2);
    std::fs::write(
        cdir.path().join("cifar-10-batches-bin/batches.meta.txt"),
        "cat\ndog\n",
    )
    .unwrap();
    let e = error_of(DatasetKind::Cifar10, cdir.path());
    assert!(
        e.contains("batches.meta.txt: 2 class names, expected 10"),
        "{e}"
    );
}

#[test]
fn image_shapes_are_checked_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let raw = |n: usize, side: usize| aca_data::RawImages {
        shape: [1, side, side],
        pixels: vec![7; n * side * side],
        labels: (0..n).map(|i| (i % 10) as u16).collect(),
    };
    let write = |prefix: &str, r: &aca_data::RawImages| {
        let (img, lab) = encode_idx(r).unwrap();
        std::fs::write(p.join(format!("{prefix}-images-idx3-ubyte")), img).unwrap();
        std::fs::write(p.join(format!("{prefix}-labels-idx1-ubyte")), lab).unwrap();
    };
    // 0x0 images.
    write("train", &raw(10, 0));
    write("t10k", &raw(10, 0));
    let e = error_of(DatasetKind::Mnist, p);
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("10 images of 0x0"),
        "{e}"
    );
    // Test images of another size than the training images.
    write("train", &raw(10, 28));
    write("t10k", &raw(10, 14));
    let e = error_of(DatasetKind::Mnist, p);
    assert!(
        e.contains("test images are 1x14x14 but the training images 1x28x28"),
        "{e}"
    );
    // An absurd resize is refused before any allocation, naming the field.
    write("t10k", &raw(10, 28));
    let opts = LoadOptions {
        data_dir: Some(p.into()),
        resize: Some(100_000),
        ..LoadOptions::default()
    };
    let e = Dataset::load(DatasetKind::Mnist, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("resize") && e.contains("100000") && e.contains("at most"),
        "{e}"
    );
    // Coarse labels exist for CIFAR-100 only.
    let opts = LoadOptions {
        data_dir: Some(p.into()),
        coarse_labels: true,
        ..LoadOptions::default()
    };
    let e = Dataset::load(DatasetKind::Mnist, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("coarse") && e.contains("only CIFAR-100"), "{e}");
}
