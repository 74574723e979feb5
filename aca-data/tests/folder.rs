//! Image folders (torchvision's `ImageFolder` layout), written by the tests as PNG and JPEG.

use std::path::Path;

use aca_data::{Dataset, DatasetKind, LoadOptions, STATS_CACHE};
use image::{GrayImage, RgbImage};

fn load(dir: &Path, resize: Option<usize>) -> aca_data::Result<Dataset> {
    Dataset::load(
        DatasetKind::Folder,
        &LoadOptions {
            data_dir: Some(dir.to_path_buf()),
            resize,
            ..Default::default()
        },
    )
}

/// A colour image whose every pixel is a known function of (seed, x, y, channel).
fn rgb(seed: u8, w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |c: u32| (seed as u32 * 17 + x * 5 + y * 11 + c * 70) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

fn grey(seed: u8, w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        image::Luma([(seed as u32 * 13 + x + y * 7) as u8])
    })
}

fn save_rgb(path: &Path, img: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

fn chw(img: &RgbImage) -> Vec<u8> {
    (0..3)
        .flat_map(|c| img.pixels().map(move |p| p.0[c]))
        .collect()
}

fn pixels(t: &tch::Tensor) -> Vec<u8> {
    Vec::<u8>::try_from(t.flatten(0, -1)).unwrap()
}

/// train/{bee,ant,cat} with 2, 3 and 1 images; val/{ant,cat} with one each; 6x6 PNGs.
fn write_png_folder(dir: &Path) -> Vec<(String, RgbImage)> {
    let mut train = Vec::new();
    for (class, n) in [("bee", 2), ("ant", 3), ("cat", 1)] {
        for i in 0..n {
            let img = rgb(i * 3 + class.len() as u8, 6, 6);
            save_rgb(&dir.join(format!("train/{class}/{i}.png")), &img);
            train.push((class.to_string(), img));
        }
    }
    for (i, class) in ["ant", "cat"].into_iter().enumerate() {
        save_rgb(
            &dir.join(format!("val/{class}/v{i}.PNG")),
            &rgb(100 + i as u8, 6, 6),
        );
    }
    train
}

#[test]
fn png_folder_reads_back_exactly_with_sorted_classes() {
    let dir = tempfile::tempdir().unwrap();
    write_png_folder(dir.path());
    let data = load(dir.path(), None).unwrap();
    assert_eq!(data.info.class_names, ["ant", "bee", "cat"]);
    assert_eq!(data.info.classes, 3);
    assert_eq!(data.info.channels, 3);
    assert_eq!(data.train.images().unwrap().size(), [6, 3, 6, 6]);
    assert_eq!(data.test.images().unwrap().size(), [2, 3, 6, 6]);
    // Sorted by class, then file name: ant 0..3, bee 0..2, cat 0.
    assert_eq!(data.train.label_list(), &[0, 0, 0, 1, 1, 2]);
    assert_eq!(data.test.label_list(), &[0, 2]);
    let first_ant = rgb(3, 6, 6);
    assert_eq!(
        pixels(&data.train.images().unwrap().get(0)),
        chw(&first_ant),
        "PNG is lossless: pixels read back exactly, channel planes in CHW order"
    );
    assert_eq!(
        pixels(&data.test.images().unwrap().get(1)),
        chw(&rgb(101, 6, 6))
    );
    // Statistics from the training split, then cached beside the data with its fingerprint.
    let train_px = pixels(data.train.images().unwrap());
    let plane = 36;
    let red: Vec<f64> = train_px
        .chunks(3 * plane)
        .flat_map(|img| img[..plane].iter().map(|&p| p as f64 / 255.0))
        .collect();
    let mean = red.iter().sum::<f64>() / red.len() as f64;
    assert!((data.info.mean[0] as f64 - mean).abs() < 1e-5);
    assert_eq!(data.info.stats_source, "computed from the training set");
    assert!(dir.path().join(STATS_CACHE).is_file());
    let again = load(dir.path(), None).unwrap();
    assert!(
        again.info.stats_source.starts_with("cached in"),
        "{}",
        again.info.stats_source
    );
    assert_eq!(again.info.mean, data.info.mean);
    assert_eq!(again.info.std, data.info.std);
}

#[test]
fn the_statistics_cache_is_refreshed_when_files_change() {
    let dir = tempfile::tempdir().unwrap();
    write_png_folder(dir.path());
    let before = load(dir.path(), None).unwrap();
    // Another image under the same name, and a new one.
    save_rgb(&dir.path().join("train/ant/0.png"), &RgbImage::new(6, 6));
    save_rgb(&dir.path().join("train/ant/9.png"), &RgbImage::new(6, 6));
    let after = load(dir.path(), None).unwrap();
    assert_eq!(after.info.stats_source, "computed from the training set");
    assert!(after.info.mean[0] < before.info.mean[0]);
    // A resize changes the pixels, so it has its own statistics.
    let resized = load(dir.path(), Some(4)).unwrap();
    assert_eq!(resized.info.stats_source, "computed from the training set");
    // A read-only folder only loses the cache (a warning), never the load.
    let cache = dir.path().join(STATS_CACHE);
    std::fs::remove_file(&cache).unwrap();
    std::fs::create_dir(&cache).unwrap(); // the rename onto it fails
    assert!(load(dir.path(), None).is_ok());
}

#[test]
fn jpeg_and_grayscale_images_mix_into_colour() {
    let dir = tempfile::tempdir().unwrap();
    // Smooth, with channels 40 apart: JPEG keeps it close, and a channel swap would not be.
    let colour = RgbImage::from_fn(8, 8, |x, y| {
        let v = |c: u32| (50 + x * 4 + y * 2 + c * 40) as u8;
        image::Rgb([v(0), v(1), v(2)])
    });
    colour.save(dir.path().join("c.jpg")).unwrap();
    std::fs::create_dir_all(dir.path().join("train/a")).unwrap();
    std::fs::create_dir_all(dir.path().join("train/b")).unwrap();
    std::fs::create_dir_all(dir.path().join("val/a")).unwrap();
    std::fs::rename(dir.path().join("c.jpg"), dir.path().join("train/a/c.jpeg")).unwrap();
    let g = grey(1, 8, 8);
    g.save(dir.path().join("train/b/g.png")).unwrap();
    g.save(dir.path().join("val/a/g.png")).unwrap();
    let data = load(dir.path(), None).unwrap();
    assert_eq!(
        data.info.channels, 3,
        "one colour image makes the dataset colour"
    );
    assert_eq!(data.train.images().unwrap().size(), [2, 3, 8, 8]);
    // JPEG is lossy: close to the written pixels.
    let got = pixels(&data.train.images().unwrap().get(0));
    let want = chw(&colour);
    let err = got
        .iter()
        .zip(&want)
        .map(|(&a, &b)| (a as i32 - b as i32).abs())
        .sum::<i32>() as f64
        / want.len() as f64;
    assert!(err < 6.0, "mean JPEG error {err}");
    // The grayscale image is copied to each channel, in both splits.
    let grey_px = g.into_raw();
    let expected: Vec<u8> = (0..3).flat_map(|_| grey_px.clone()).collect();
    assert_eq!(pixels(&data.train.images().unwrap().get(1)), expected);
    assert_eq!(pixels(&data.test.images().unwrap().get(0)), expected);

    // All grayscale: one channel.
    let dir = tempfile::tempdir().unwrap();
    for p in ["train/x/1.png", "train/y/2.png", "val/y/3.png"] {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        grey(2, 5, 5).save(path).unwrap();
    }
    let data = load(dir.path(), None).unwrap();
    assert_eq!(data.info.channels, 1);
    assert_eq!(data.train.images().unwrap().size(), [2, 1, 5, 5]);
}

#[test]
fn resize_takes_the_shorter_side_then_the_centre() {
    let dir = tempfile::tempdir().unwrap();
    // 12 wide, 8 high; and a 20x20 one.
    save_rgb(&dir.path().join("train/a/wide.png"), &rgb(1, 12, 8));
    save_rgb(&dir.path().join("train/b/square.png"), &rgb(2, 20, 20));
    save_rgb(&dir.path().join("test/a/t.png"), &rgb(3, 8, 8));
    let err = load(dir.path(), None).unwrap_err().to_string();
    assert!(
        err.contains("wide.png") && err.contains("12x8") && err.contains("resize"),
        "{err}"
    );
    let data = load(dir.path(), Some(4)).unwrap();
    assert_eq!(data.train.images().unwrap().size(), [2, 3, 4, 4]);
    assert_eq!(data.test.images().unwrap().size(), [1, 3, 4, 4]);
    assert_eq!(data.info.size, 4);
    // A uniform image stays uniform through resize and crop.
    save_rgb(
        &dir.path().join("train/a/wide.png"),
        &RgbImage::from_pixel(12, 8, image::Rgb([10, 20, 30])),
    );
    let data = load(dir.path(), Some(4)).unwrap();
    let px = pixels(&data.train.images().unwrap().get(0));
    assert_eq!(&px[..16], &[10; 16]);
    assert_eq!(&px[32..], &[30; 16]);

    // Square images of different sizes without a resize: the odd one is named.
    let dir = tempfile::tempdir().unwrap();
    save_rgb(&dir.path().join("train/a/1.png"), &rgb(1, 6, 6));
    save_rgb(&dir.path().join("train/a/2.png"), &rgb(1, 7, 7));
    save_rgb(&dir.path().join("val/a/1.png"), &rgb(1, 6, 6));
    let err = load(dir.path(), None).unwrap_err().to_string();
    assert!(err.contains("2.png") && err.contains("7x7"), "{err}");
}

#[test]
fn bad_folders_are_refused_naming_the_file() {
    let case = |setup: &dyn Fn(&Path), needle: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        write_png_folder(dir.path());
        setup(dir.path());
        let err = load(dir.path(), None).unwrap_err().to_string();
        for n in needle {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
    };
    case(
        &|d| std::fs::write(d.join("train/ant/notes.txt"), "x").unwrap(),
        &["notes.txt", "not an image"],
    );
    case(
        &|d| std::fs::write(d.join("train/bee/broken.png"), "not a png").unwrap(),
        &["broken.png", "cannot decode"],
    );
    case(
        &|d| std::fs::create_dir(d.join("train/empty")).unwrap(),
        &["empty", "empty class folder"],
    );
    case(
        &|d| save_rgb(&d.join("val/dog/1.png"), &rgb(1, 6, 6)),
        &["dog", "no folder in train/"],
    );
    case(
        &|d| std::fs::rename(d.join("val"), d.join("elsewhere")).unwrap(),
        &["val/", "not found"],
    );
    case(
        &|d| std::fs::remove_dir_all(d.join("train")).unwrap(),
        &["train/", "not found"],
    );
    // Hidden files (.DS_Store and the like) are not images and are skipped.
    let dir = tempfile::tempdir().unwrap();
    write_png_folder(dir.path());
    std::fs::write(dir.path().join("train/ant/.DS_Store"), "x").unwrap();
    assert_eq!(load(dir.path(), None).unwrap().train.len(), 6);
}

#[test]
fn folder_parses_as_a_dataset_name() {
    assert_eq!(
        "folder".parse::<DatasetKind>().unwrap(),
        DatasetKind::Folder
    );
    assert_eq!(DatasetKind::Folder.channels(), None);
    let err = "imagenet".parse::<DatasetKind>().unwrap_err().to_string();
    assert!(err.contains("folder"), "{err}");
}

#[test]
fn a_centre_crop_without_a_resize_crops_the_folder_images() {
    let dir = tempfile::tempdir().unwrap();
    write_png_folder(dir.path());
    let data = Dataset::load(
        DatasetKind::Folder,
        &LoadOptions {
            data_dir: Some(dir.path().to_path_buf()),
            center_crop: Some(4),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.info.size, 4);
    assert_eq!(data.train.images().unwrap().size(), [6, 3, 4, 4]);
    // The centre 4x4 (rows and columns 1..5) of the first ant image.
    let full = rgb(3, 6, 6);
    let centre: Vec<u8> = (0..3)
        .flat_map(|c| {
            let full = &full;
            (1..5).flat_map(move |y| (1..5).map(move |x| full.get_pixel(x, y).0[c]))
        })
        .collect();
    assert_eq!(pixels(&data.train.images().unwrap().get(0)), centre);
}

#[test]
fn links_in_an_image_folder_are_followed_but_a_loop_or_a_dangling_one_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_png_folder(tmp.path());
    let class = tmp.path().join("train").join(
        std::fs::read_dir(tmp.path().join("train"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name(),
    );
    // A link to an image elsewhere is read like the image.
    let outside = tempfile::tempdir().unwrap();
    save_rgb(&outside.path().join("far.png"), &rgb(9, 6, 6));
    std::os::unix::fs::symlink(outside.path().join("far.png"), class.join("linked.png")).unwrap();
    load(tmp.path(), None).unwrap();
    // A loop (a link to a folder above) was followed 40 levels deep before.
    let loopy = class.join("loopy");
    std::os::unix::fs::symlink("..", &loopy).unwrap();
    let e = load(tmp.path(), None).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: a link back to", loopy.display())) && e.contains("(a loop)"),
        "{e}"
    );
    std::fs::remove_file(&loopy).unwrap();
    // A dangling link: named with its target, the OS message not doubled.
    let dangling = class.join("gone.png");
    std::os::unix::fs::symlink("/nonexistent/x.png", &dangling).unwrap();
    let e = load(tmp.path(), None).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: a link to /nonexistent/x.png, which does not exist: remove the link or restore its target",
            dangling.display()
        )
    );
}
