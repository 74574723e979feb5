//! Streamed image folders and the ImageNet recipe's per-image transforms.

use std::path::Path;

use aca_data::{
    random_crop_box, Augment, ColorJitter, DataConfig, Dataset, DatasetKind, Endless, JitterDraw,
    LoadOptions, Loader, LoaderOptions, StreamState, CROP_RATIO,
};
use image::RgbImage;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn load(
    dir: &Path,
    stream: bool,
    resize: Option<usize>,
    crop: Option<usize>,
) -> aca_data::Result<Dataset> {
    Dataset::load(
        DatasetKind::Folder,
        &LoadOptions {
            data_dir: Some(dir.to_path_buf()),
            resize,
            center_crop: crop,
            stream,
            ..Default::default()
        },
    )
}

/// train/{a,b} and val/{a,b}: colour PNGs of assorted sizes (none square), so every image is
/// resized and cropped.
fn write_folder(dir: &Path) {
    let sizes = [(10, 8), (12, 15), (9, 14), (16, 11), (13, 10)];
    for (split, n) in [("train", 5), ("val", 2)] {
        for (k, class) in ["a", "b"].into_iter().enumerate() {
            for i in 0..n {
                let (w, h) = sizes[(i + k) % sizes.len()];
                let img = RgbImage::from_fn(w, h, |x, y| {
                    let v =
                        |c: u32| ((i as u32 + 3 * k as u32) * 29 + x * 13 + y * 7 + c * 50) as u8;
                    image::Rgb([v(0), v(1), v(2)])
                });
                let path = dir.join(format!("{split}/{class}/{i}.png"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                img.save(path).unwrap();
            }
        }
    }
}

fn opts(augment: Augment, shuffle: bool, seed: u64) -> LoaderOptions {
    LoaderOptions {
        batch_size: 3,
        shuffle,
        drop_last: false,
        augment,
        seed,
        stream: 7,
    }
}

fn batches(loader: &Loader, epoch: u64, start: usize) -> Vec<(Vec<f32>, Vec<i64>)> {
    loader
        .epoch_from(epoch, start)
        .map(|b| {
            let b = b.unwrap();
            (
                Vec::<f32>::try_from(b.images.flatten(0, -1)).unwrap(),
                Vec::<i64>::try_from(&b.labels).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_streamed_folder_delivers_what_the_folder_in_memory_does() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path());
    let memory = load(dir.path(), false, Some(8), Some(6)).unwrap();
    let streamed = load(dir.path(), true, Some(8), Some(6)).unwrap();
    assert!(streamed.train.is_streamed() && !memory.train.is_streamed());
    assert!(streamed.train.images().is_none());
    assert_eq!(memory.train.images().unwrap().size(), [10, 3, 6, 6]);
    assert_eq!((streamed.info.size, streamed.info.channels), (6, 3));
    assert_eq!(streamed.train.label_list(), memory.train.label_list());
    // Every training image is in the sample here: the same statistics.
    for (a, b) in streamed.info.mean.iter().zip(&memory.info.mean) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    assert_eq!(
        streamed.info.stats_source,
        "computed from 10 training images"
    );
    // Sequential batches: resized and centre-cropped the same way, image for image.
    for (m, s) in [
        (&memory.train, &streamed.train),
        (&memory.test, &streamed.test),
    ] {
        let all: Vec<usize> = (0..m.len()).collect();
        let a = Loader::new(
            m,
            &all,
            &memory.info,
            opts(Augment::none(), false, 0),
            tch::Device::Cpu,
        )
        .unwrap();
        let b = Loader::new(
            s,
            &all,
            &streamed.info,
            opts(Augment::none(), false, 0),
            tch::Device::Cpu,
        )
        .unwrap();
        assert_eq!(batches(&a, 0, 0), batches(&b, 0, 0));
    }
    // The statistics are cached with the sample: a second load reads them.
    let again = load(dir.path(), true, Some(8), Some(6)).unwrap();
    assert!(
        again.info.stats_source.starts_with("cached in"),
        "{}",
        again.info.stats_source
    );
    assert_eq!(again.info.mean, streamed.info.mean);
}

#[test]
fn the_imagenet_augmentation_is_seeded_resumable_and_thread_independent() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path());
    let data = load(dir.path(), true, Some(8), Some(6)).unwrap();
    let all: Vec<usize> = (0..data.train.len()).collect();
    let make = |seed| {
        Loader::new(
            &data.train,
            &all,
            &data.info,
            opts(Augment::imagenet(6), true, seed),
            tch::Device::Cpu,
        )
        .unwrap()
    };
    let epoch = batches(&make(3), 1, 0);
    assert_eq!(epoch.len(), 4);
    assert_eq!(
        epoch,
        batches(&make(3), 1, 0),
        "a pure function of the seed"
    );
    assert_eq!(epoch[2..], batches(&make(3), 1, 2)[..], "resumes mid-epoch");
    assert_ne!(epoch, batches(&make(4), 1, 0));
    // The endless stream (prefetching within a pass) gives pass 1 as epoch 1, then goes on.
    let loader = make(3);
    let mut endless = Endless::new(&loader, StreamState { pass: 1, batch: 0 });
    let streamed: Vec<_> = (0..4)
        .map(|_| {
            let b = endless.next_batch().unwrap();
            (
                Vec::<f32>::try_from(b.images.flatten(0, -1)).unwrap(),
                Vec::<i64>::try_from(&b.labels).unwrap(),
            )
        })
        .collect();
    assert_eq!(streamed, epoch);
    assert_eq!(endless.state(), StreamState { pass: 1, batch: 4 });
    let next = endless.next_batch().unwrap();
    assert_eq!(endless.state(), StreamState { pass: 2, batch: 1 });
    assert_eq!(
        Vec::<i64>::try_from(&next.labels).unwrap(),
        batches(&make(3), 2, 0)[0].1
    );
    assert_ne!(epoch, batches(&make(3), 2, 0));
    // Not the plain resize and centre crop.
    let plain = Loader::new(
        &data.train,
        &all,
        &data.info,
        opts(Augment::none(), true, 3),
        tch::Device::Cpu,
    )
    .unwrap();
    assert_ne!(epoch, batches(&plain, 1, 0));
    // The draws are per image, not per thread.
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    let one = batches(&make(3), 1, 0);
    tch::set_num_threads(threads);
    assert_eq!(epoch, one);
}

#[test]
fn decode_time_transforms_and_streams_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path());
    let err = |r: aca_data::Result<Dataset>| r.unwrap_err().to_string();
    let e = err(load(dir.path(), true, None, None));
    assert!(e.contains("resize") && e.contains("streamed"), "{e}");
    let e = err(load(dir.path(), false, Some(8), Some(9)));
    assert!(
        e.contains("center_crop = 9") && e.contains("at most 8"),
        "{e}"
    );
    let e = err(Dataset::load(
        DatasetKind::Mnist,
        &LoadOptions {
            stream: true,
            resize: Some(8),
            ..Default::default()
        },
    ));
    assert!(
        e.contains("stream") && e.contains("only image folders"),
        "{e}"
    );
    // Random resized crops and colour jitter happen at decode: an in-memory set refuses them.
    let loader_error = |data: &Dataset, augment: Augment| {
        let all: Vec<usize> = (0..data.train.len()).collect();
        Loader::new(
            &data.train,
            &all,
            &data.info,
            opts(augment, true, 0),
            tch::Device::Cpu,
        )
        .unwrap_err()
        .to_string()
    };
    let memory = load(dir.path(), false, Some(8), None).unwrap();
    let e = loader_error(&memory, Augment::imagenet(8));
    assert!(e.contains("streamed image folder"), "{e}");
    // The random crop's size must be the test images' size.
    let streamed = load(dir.path(), true, Some(8), Some(6)).unwrap();
    let e = loader_error(&streamed, Augment::imagenet(7));
    assert!(
        e.contains("random_resized_crop = 7") && e.contains("expected 6"),
        "{e}"
    );
    // Jitter values that could not be drawn are refused by name, not left to panic in a draw.
    let imagenet = ColorJitter::imagenet();
    for (jitter, field) in [
        (
            ColorJitter {
                brightness: -0.4,
                ..imagenet
            },
            "augment.color_jitter.brightness = -0.4",
        ),
        (
            ColorJitter {
                contrast: f32::NAN,
                ..imagenet
            },
            "augment.color_jitter.contrast = NaN",
        ),
        (
            ColorJitter {
                hue: 0.6,
                ..imagenet
            },
            "augment.color_jitter.hue = 0.6",
        ),
    ] {
        let augment = Augment {
            color_jitter: Some(jitter),
            ..Augment::imagenet(6)
        };
        let e = loader_error(&streamed, augment);
        assert!(e.contains(field), "{e}");
    }
}

#[test]
fn random_crop_boxes_follow_torchvisions_rule() {
    let mut r = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..500 {
        let b = random_crop_box(300, 200, &mut r);
        assert!(b.x + b.width <= 300 && b.y + b.height <= 200, "{b:?}");
        let area = f64::from(b.width * b.height) / 60_000.0;
        let ratio = f64::from(b.width) / f64::from(b.height);
        assert!((0.075..=1.0).contains(&area), "{b:?}");
        assert!(
            ratio > CROP_RATIO.0 * 0.9 && ratio < CROP_RATIO.1 * 1.1,
            "{b:?}"
        );
    }
    // No crop of a 1000x10 strip fits in ten tries: the centre at the widest ratio allowed.
    let b = random_crop_box(1000, 10, &mut r);
    assert_eq!((b.x, b.y, b.width, b.height), ((1000 - 13) / 2, 0, 13, 10));
}

#[test]
fn colour_jitter_adjusts_as_torchvision_does() {
    let draw = |order, brightness, contrast, saturation, hue| JitterDraw {
        order,
        brightness,
        contrast,
        saturation,
        hue,
    };
    let px = vec![1.0, 0.0, 0.0, 0.2, 0.4, 0.6];
    let mut x = px.clone();
    draw([0, 1, 2, 3], 1.0, 1.0, 1.0, 0.0).apply(&mut x, 3);
    assert_eq!(x, px, "factors of one change nothing");
    let mut x = px.clone();
    draw([0, 1, 2, 3], 0.5, 1.0, 1.0, 0.0).apply(&mut x, 3);
    assert_eq!(x, vec![0.5, 0.0, 0.0, 0.1, 0.2, 0.3]);
    // Contrast 0: every pixel the mean grey; saturation 0: each pixel its own grey.
    let grey = |p: &[f32]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    let mut x = px.clone();
    draw([1, 0, 2, 3], 1.0, 0.0, 1.0, 0.0).apply(&mut x, 3);
    let mean = (grey(&px[..3]) + grey(&px[3..])) / 2.0;
    assert!(x.iter().all(|v| (v - mean).abs() < 1e-6), "{x:?}");
    let mut x = px.clone();
    draw([2, 0, 1, 3], 1.0, 1.0, 0.0, 0.0).apply(&mut x, 3);
    assert!(
        x[..3].iter().all(|v| (v - grey(&px[..3])).abs() < 1e-6),
        "{x:?}"
    );
    // A third of the hue circle turns red into green and leaves grey alone.
    let mut x = vec![1.0, 0.0, 0.0, 0.5, 0.5, 0.5];
    draw([3, 0, 1, 2], 1.0, 1.0, 1.0, 1.0 / 3.0).apply(&mut x, 3);
    let want = [0.0, 1.0, 0.0, 0.5, 0.5, 0.5];
    assert!(
        x.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5),
        "{x:?}"
    );
    // Grey images: saturation and hue do nothing.
    let mut g = vec![0.1, 0.7];
    draw([2, 3, 0, 1], 1.0, 1.0, 0.0, 0.3).apply(&mut g, 1);
    assert_eq!(g, vec![0.1, 0.7]);
    // Draws lie in DARTS's ImageNet ranges, in a random order.
    let mut r = ChaCha8Rng::seed_from_u64(1);
    let mut orders = std::collections::HashSet::new();
    for _ in 0..200 {
        let d = ColorJitter::imagenet().draw(&mut r);
        for f in [d.brightness, d.contrast, d.saturation] {
            assert!((0.6..=1.4).contains(&f), "{d:?}");
        }
        assert!((-0.2..=0.2).contains(&d.hue), "{d:?}");
        let mut o = d.order;
        o.sort_unstable();
        assert_eq!(o, [0, 1, 2, 3]);
        orders.insert(d.order);
    }
    assert!(orders.len() > 10);
}

#[test]
fn a_folder_of_300_classes_keeps_labels_past_255() {
    let dir = tempfile::tempdir().unwrap();
    for c in 0..300 {
        for split in ["train", "val"] {
            let path = dir.path().join(format!("{split}/c{c:03}/0.png"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            RgbImage::from_pixel(2, 2, image::Rgb([c as u8, 0, 0]))
                .save(path)
                .unwrap();
        }
    }
    let data = load(dir.path(), false, None, None).unwrap();
    assert_eq!(data.info.classes, 300);
    assert_eq!(data.train.label_list()[299], 299);
    assert_eq!(data.info.class_names[299], "c299");
    let labels = Vec::<i64>::try_from(data.test.labels()).unwrap();
    assert_eq!(labels, (0..300).collect::<Vec<i64>>());
}

#[test]
fn the_imagenet_data_preset_is_darts_train_imagenet() {
    let d = DataConfig::imagenet();
    assert_eq!(d.dataset, DatasetKind::Folder);
    assert_eq!(
        (d.resize, d.center_crop, d.stream, d.batch_size),
        (Some(256), Some(224), true, 128)
    );
    assert_eq!(d.augment.random_resized_crop, Some(224));
    assert!(d.augment.hflip && d.augment.crop_padding == 0 && d.augment.cutout == 0);
    assert_eq!(
        d.augment.color_jitter,
        Some(ColorJitter {
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
            hue: 0.2
        })
    );
    // Written configurations name the new fields only when set.
    let plain = serde_json::to_string(&DataConfig::train()).unwrap();
    assert!(
        !plain.contains("stream") && !plain.contains("center_crop") && !plain.contains("jitter"),
        "{plain}"
    );
    let json = serde_json::to_string(&d).unwrap();
    let back: DataConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
}
