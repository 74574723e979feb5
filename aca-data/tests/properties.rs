//! Property tests of the file readers: no bytes make them panic, and every refusal names the file.

use aca_data::{encode_cifar, encode_idx, read_cifar_file, read_idx_pair, RawImages};
use proptest::prelude::*;

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_bytes_as_idx_files_are_read_or_refused_by_name(
        images in proptest::collection::vec(any::<u8>(), 0..64),
        labels in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let i = write(dir.path(), "img-idx3-ubyte", &images);
        let l = write(dir.path(), "lab-idx1-ubyte", &labels);
        if let Err(e) = read_idx_pair(&i, &l, 10) {
            let e = e.to_string();
            prop_assert!(e.contains("idx3-ubyte") || e.contains("idx1-ubyte"), "{}", e);
        }
    }

    #[test]
    fn corrupted_headers_and_bodies_are_refused_by_name(
        n in 1usize..5, side in 1usize..6, at in 0usize..200, byte in any::<u8>(), cut in 0usize..200,
    ) {
        let raw = RawImages {
            shape: [1, side, side],
            pixels: vec![9; n * side * side],
            labels: (0..n).map(|i| (i % 10) as u16).collect(),
        };
        let (mut img, lab) = encode_idx(&raw).unwrap();
        if at < img.len() {
            img[at] = byte;
        }
        img.truncate(img.len().saturating_sub(cut % 3));
        let dir = tempfile::tempdir().unwrap();
        let i = write(dir.path(), "img-idx3-ubyte", &img);
        let l = write(dir.path(), "lab-idx1-ubyte", &lab);
        match read_idx_pair(&i, &l, 10) {
            Ok(r) => prop_assert_eq!(r.labels.len() * r.shape[1] * r.shape[2], r.pixels.len()),
            Err(e) => prop_assert!(e.to_string().contains("ubyte"), "{}", e),
        }
    }

    #[test]
    fn any_bytes_as_a_cifar_file_are_read_or_refused_by_name(
        records in 0usize..3, extra in proptest::collection::vec(any::<u8>(), 0..8), label in any::<u8>(),
    ) {
        let pixels = vec![3u8; records * 3072];
        let labels = vec![label % 12; records];
        let mut bytes = encode_cifar(&pixels, &labels, 1);
        bytes.extend(&extra);
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "data_batch_1.bin", &bytes);
        match read_cifar_file(&p, 1, 0, 10) {
            Ok(r) => prop_assert_eq!(r.labels.len(), records),
            Err(e) => prop_assert!(e.to_string().contains("data_batch_1.bin"), "{}", e),
        }
    }
}
