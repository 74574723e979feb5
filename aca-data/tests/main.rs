//! Integration tests of `aca-data`.
#![allow(clippy::unwrap_used)]
mod batching;
mod fetch;
mod folder;
mod formats;
mod properties;
mod split;
mod streaming;
mod svhn;

use std::path::Path;

use aca_data::{encode_cifar, encode_idx, RawImages};

/// Synthetic images whose every pixel is a known function of (image, position).
pub fn synthetic(n: usize, shape: [usize; 3], classes: usize) -> RawImages {
    let per = shape.iter().product::<usize>();
    RawImages {
        shape,
        pixels: (0..n * per)
            .map(|i| ((i / per) * 31 + (i % per) * 7) as u8)
            .collect(),
        labels: (0..n).map(|i| (i % classes) as u16).collect(),
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes an MNIST-style folder (train and t10k), gzipped or plain.
pub fn write_idx_dir(dir: &Path, train: &RawImages, test: &RawImages, gz: bool) {
    for (prefix, raw) in [("train", train), ("t10k", test)] {
        let (img, lab) = encode_idx(raw).unwrap();
        let (img, lab, ext) = if gz {
            (gzip(&img), gzip(&lab), ".gz")
        } else {
            (img, lab, "")
        };
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte{ext}")), img).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")), lab).unwrap();
    }
}

/// Labels as CIFAR's label bytes.
pub fn bytes(labels: &[u16]) -> Vec<u8> {
    labels.iter().map(|&l| l as u8).collect()
}

/// Writes `cifar-10-batches-bin/` with 5 train batches of `per_batch` images and a test batch.
pub fn write_cifar10_dir(dir: &Path, per_batch: usize) -> (RawImages, RawImages) {
    let root = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&root).unwrap();
    let train = synthetic(5 * per_batch, [3, 32, 32], 10);
    let per = 3 * 32 * 32;
    for b in 0..5 {
        let px = &train.pixels[b * per_batch * per..(b + 1) * per_batch * per];
        let lb = bytes(&train.labels[b * per_batch..(b + 1) * per_batch]);
        std::fs::write(
            root.join(format!("data_batch_{}.bin", b + 1)),
            encode_cifar(px, &lb, 1),
        )
        .unwrap();
    }
    let test = synthetic(per_batch, [3, 32, 32], 10);
    std::fs::write(
        root.join("test_batch.bin"),
        encode_cifar(&test.pixels, &bytes(&test.labels), 1),
    )
    .unwrap();
    std::fs::write(
        root.join("batches.meta.txt"),
        "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n",
    )
    .unwrap();
    (train, test)
}
