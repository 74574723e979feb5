use aca_data::{darts_split, SplitConfig};

fn labels(n: usize, classes: usize) -> Vec<u16> {
    (0..n).map(|i| ((i * 7) % classes) as u16).collect()
}

#[test]
fn darts_split_takes_first_portion_for_weights() {
    let l = labels(101, 10);
    let s = darts_split(&l, 10, &SplitConfig::default(), 0).unwrap();
    assert_eq!(s.train, (0..50).collect::<Vec<_>>());
    assert_eq!(s.valid, (50..101).collect::<Vec<_>>());
    let s = darts_split(
        &l,
        10,
        &SplitConfig {
            portion: 0.8,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert_eq!(s.train.len(), 80);
}

#[test]
fn limits_are_class_balanced_and_deterministic_by_seed() {
    let l = labels(2000, 10);
    let cfg = SplitConfig {
        portion: 0.5,
        train_limit: Some(105),
        valid_limit: Some(40),
    };
    let a = darts_split(&l, 10, &cfg, 7).unwrap();
    let b = darts_split(&l, 10, &cfg, 7).unwrap();
    let c = darts_split(&l, 10, &cfg, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.train, c.train);
    assert_eq!((a.train.len(), a.valid.len()), (105, 40));
    assert!(a.train.iter().all(|&i| i < 1000) && a.valid.iter().all(|&i| i >= 1000));
    let mut counts = [0; 10];
    a.train.iter().for_each(|&i| counts[l[i] as usize] += 1);
    assert_eq!(counts, [11, 11, 11, 11, 11, 10, 10, 10, 10, 10]);
    let mut counts = [0; 10];
    a.valid.iter().for_each(|&i| counts[l[i] as usize] += 1);
    assert_eq!(counts, [4; 10]);
    assert!(
        a.train.windows(2).all(|w| w[0] < w[1]),
        "sorted, no repeats"
    );
}

#[test]
fn a_short_class_is_made_up_by_the_others() {
    // Class 0 has only 2 images in the first half.
    let mut l = vec![1u16; 100];
    l[3] = 0;
    l[9] = 0;
    let cfg = SplitConfig {
        portion: 0.5,
        train_limit: Some(10),
        valid_limit: None,
    };
    let s = darts_split(&l, 2, &cfg, 1).unwrap();
    assert_eq!(s.train.len(), 10);
    assert_eq!(s.train.iter().filter(|&&i| l[i] == 0).count(), 2);
}

#[test]
fn bad_split_options_are_named() {
    let l = labels(100, 10);
    let e = darts_split(
        &l,
        10,
        &SplitConfig {
            portion: 1.0,
            ..Default::default()
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(e, "portion = 1: expected a share strictly between 0 and 1");
    let e = darts_split(
        &l,
        10,
        &SplitConfig {
            train_limit: Some(51),
            ..Default::default()
        },
        0,
    )
    .unwrap();
    // A limit is a cap: 51 of 50 images uses all 50 (it was an error before).
    assert_eq!(e.train, (0..50).collect::<Vec<_>>());
    let e = darts_split(
        &l,
        10,
        &SplitConfig {
            valid_limit: Some(0),
            ..Default::default()
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("valid_limit = 0"), "{e}");
}

#[test]
fn a_training_image_limit_lands_on_each_stage_own_field() {
    let mut search = aca_data::DataConfig::search();
    search.limit_training_images(800);
    assert_eq!(search.split().train_limit, Some(800));
    assert_eq!(search.train_limit, None, "a search's limit is its split's");
    let mut train = aca_data::DataConfig::train();
    train.limit_training_images(500);
    assert_eq!(train.train_limit, Some(500));
    assert!(train.split.is_none(), "a training has no split to limit");
}
