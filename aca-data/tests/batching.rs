use aca_data::{
    augment_batch, Augment, DatasetInfo, DatasetKind, Draws, Endless, ImageSet, Loader,
    LoaderOptions, Normalize, StreamState,
};
use tch::{Device, Tensor};

use crate::synthetic;

/// A 1x4x4 image holding 1..=16, normalised so that output values equal pixel values.
fn known_image() -> (Tensor, Normalize) {
    let px: Vec<u8> = (1..=16).collect();
    let x = Tensor::from_slice(&px).view([1, 1, 4, 4]);
    (
        x,
        Normalize::new(&[0.0], &[1.0 / 255.0], Device::Cpu).unwrap(),
    )
}

fn rows(t: &Tensor) -> Vec<Vec<f32>> {
    let v = Vec::<f32>::try_from(t.flatten(0, -1).round()).unwrap();
    v.chunks(4).map(|r| r.to_vec()).collect()
}

fn draws(offset: (i64, i64), flip: bool, cutout: Option<(i64, i64)>) -> Draws {
    Draws {
        offsets: vec![offset],
        flips: vec![flip],
        cutout_centres: cutout.into_iter().collect(),
    }
}

#[test]
fn crop_with_zero_padding_shifts_the_image() {
    let (x, norm) = known_image();
    let aug = Augment {
        crop_padding: 1,
        hflip: false,
        cutout: 0,
        ..Augment::none()
    };
    let out = augment_batch(&x, &aug, &draws((0, 0), false, None), &norm).unwrap();
    assert_eq!(
        rows(&out),
        vec![
            vec![0., 0., 0., 0.],
            vec![0., 1., 2., 3.],
            vec![0., 5., 6., 7.],
            vec![0., 9., 10., 11.]
        ]
    );
    let out = augment_batch(&x, &aug, &draws((2, 1), false, None), &norm).unwrap();
    assert_eq!(
        rows(&out),
        vec![
            vec![5., 6., 7., 8.],
            vec![9., 10., 11., 12.],
            vec![13., 14., 15., 16.],
            vec![0., 0., 0., 0.]
        ]
    );
}

#[test]
fn flip_mirrors_columns_and_cutout_zeroes_a_square() {
    let (x, norm) = known_image();
    let aug = Augment {
        crop_padding: 1,
        hflip: true,
        cutout: 2,
        ..Augment::none()
    };
    // Centre crop (offset = padding), flipped, cutout centred at (1, 1): rows 0..2, cols 0..2.
    let out = augment_batch(&x, &aug, &draws((1, 1), true, Some((1, 1))), &norm).unwrap();
    assert_eq!(
        rows(&out),
        vec![
            vec![0., 0., 2., 1.],
            vec![0., 0., 6., 5.],
            vec![12., 11., 10., 9.],
            vec![16., 15., 14., 13.]
        ]
    );
    // Cutout at a corner is clipped to the image: centre (3, 3) -> rows 2..4, cols 2..4.
    let aug = Augment {
        crop_padding: 0,
        hflip: false,
        cutout: 2,
        ..Augment::none()
    };
    let out = augment_batch(&x, &aug, &draws((0, 0), false, Some((3, 3))), &norm).unwrap();
    assert_eq!(rows(&out)[3], vec![13., 14., 0., 0.]);
}

#[test]
fn normalisation_uses_the_statistics() {
    let (x, _) = known_image();
    let norm = Normalize::new(&[0.5], &[0.25], Device::Cpu).unwrap();
    let out = augment_batch(&x, &Augment::none(), &draws((0, 0), false, None), &norm).unwrap();
    let v = Vec::<f32>::try_from(out.flatten(0, -1)).unwrap();
    assert!((v[0] - (1.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
    assert!((v[15] - (16.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
}

fn setup(n: usize) -> (ImageSet, DatasetInfo) {
    let raw = synthetic(n, [1, 8, 8], 10);
    let info = DatasetInfo {
        kind: DatasetKind::Mnist,
        dir: "synthetic".into(),
        channels: 1,
        size: 8,
        original_size: 8,
        classes: 10,
        class_names: (0..10).map(|c| c.to_string()).collect(),
        mean: vec![0.5],
        std: vec![0.5],
        stats_source: "test".into(),
    };
    (ImageSet::from_raw(raw).unwrap(), info)
}

fn opts(batch_size: usize, drop_last: bool, seed: u64) -> LoaderOptions {
    LoaderOptions {
        batch_size,
        shuffle: true,
        drop_last,
        augment: Augment {
            crop_padding: 2,
            hflip: true,
            cutout: 3,
            ..Augment::none()
        },
        seed,
        stream: 0,
    }
}

fn labels_of(loader: &Loader, epoch: u64) -> Vec<i64> {
    loader
        .epoch(epoch)
        .flat_map(|b| Vec::<i64>::try_from(b.unwrap().labels).unwrap())
        .collect()
}

#[test]
fn epochs_cover_every_image_once_and_are_deterministic() {
    let (set, info) = setup(50);
    let idx: Vec<usize> = (0..50).collect();
    let a = Loader::new(&set, &idx, &info, opts(8, false, 3), Device::Cpu).unwrap();
    let b = Loader::new(&set, &idx, &info, opts(8, false, 3), Device::Cpu).unwrap();
    let c = Loader::new(&set, &idx, &info, opts(8, false, 4), Device::Cpu).unwrap();
    assert_eq!(a.batches_per_epoch(), 7);
    let mut order = a.order(0);
    order.sort_unstable();
    assert_eq!(order, (0..50).collect::<Vec<i64>>());
    assert_eq!(labels_of(&a, 0), labels_of(&b, 0));
    assert_ne!(a.order(0), a.order(1), "reshuffled each epoch");
    assert_ne!(a.order(0), c.order(0), "the seed matters");
    let first_a = a.epoch(0).next().unwrap().unwrap();
    let first_b = b.epoch(0).next().unwrap().unwrap();
    assert!(first_a.images.equal(&first_b.images));
    assert_eq!(first_a.images.size(), [8, 1, 8, 8]);
    // Resuming at batch 4 gives exactly the batch 4 of an uninterrupted epoch.
    let uninterrupted = a.epoch(2).nth(4).unwrap().unwrap();
    let resumed = a.epoch_from(2, 4).next().unwrap().unwrap();
    assert!(uninterrupted.images.equal(&resumed.images));
    assert!(uninterrupted.labels.equal(&resumed.labels));
}

#[test]
fn last_partial_batch_is_kept_or_dropped() {
    let (set, info) = setup(10);
    let idx: Vec<usize> = (0..10).collect();
    let keep = Loader::new(&set, &idx, &info, opts(4, false, 0), Device::Cpu).unwrap();
    let sizes: Vec<i64> = keep.epoch(0).map(|b| b.unwrap().labels.size()[0]).collect();
    assert_eq!(sizes, [4, 4, 2]);
    let drop = Loader::new(&set, &idx, &info, opts(4, true, 0), Device::Cpu).unwrap();
    let sizes: Vec<i64> = drop.epoch(0).map(|b| b.unwrap().labels.size()[0]).collect();
    assert_eq!(sizes, [4, 4]);
    let e = Loader::new(&set, &idx, &info, opts(11, true, 0), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch_size = 11"), "{e}");
    let e = Loader::new(&set, &[3, 10], &info, opts(1, false, 0), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("indices = 10: out of range for a split of 10 images"),
        "{e}"
    );
}

#[test]
fn endless_stream_reshuffles_each_pass_and_resumes_from_its_state() {
    let (set, info) = setup(12);
    let idx: Vec<usize> = (2..12).collect();
    let loader = Loader::new(&set, &idx, &info, opts(4, false, 9), Device::Cpu).unwrap();
    let mut s = Endless::new(&loader, StreamState::default());
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(s.next_batch().unwrap());
    }
    assert_eq!(s.state(), StreamState { pass: 0, batch: 3 });
    let saved = s.state();
    let next = s.next_batch().unwrap();
    assert_eq!(s.state(), StreamState { pass: 1, batch: 1 });
    let mut resumed = Endless::new(&loader, saved);
    let again = resumed.next_batch().unwrap();
    assert!(next.images.equal(&again.images));
    let pass0: usize = seen.iter().map(|b| b.labels.size()[0] as usize).sum();
    assert_eq!(pass0, 10);
    assert_ne!(loader.order(0), loader.order(1));
}
