//! Decoding Fashion-MNIST and one epoch of augmented batches of 64.
#![allow(clippy::unwrap_used)]
use aca_data::{
    Augment, Dataset, DatasetKind, LoadOptions, Loader, LoaderOptions, DEBIAN_FASHION_MNIST,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn batching(c: &mut Criterion) {
    if !std::path::Path::new(DEBIAN_FASHION_MNIST)
        .join("train-images-idx3-ubyte.gz")
        .exists()
    {
        eprintln!("Fashion-MNIST not installed (run scripts/setup); skipping");
        return;
    }
    let mut g = c.benchmark_group("fashion_mnist");
    g.sample_size(10);
    g.bench_function("decode_train_and_test", |b| {
        b.iter(|| Dataset::load(DatasetKind::FashionMnist, &LoadOptions::default()).unwrap())
    });
    for resize in [None, Some(16)] {
        let data = Dataset::load(
            DatasetKind::FashionMnist,
            &LoadOptions {
                resize,
                ..Default::default()
            },
        )
        .unwrap();
        let all: Vec<usize> = (0..data.train.len()).collect();
        let opts = LoaderOptions {
            batch_size: 64,
            shuffle: true,
            drop_last: false,
            augment: Augment {
                crop_padding: 2,
                hflip: true,
                cutout: 8,
                ..Augment::none()
            },
            seed: 0,
            stream: 0,
        };
        let loader = Loader::new(&data.train, &all, &data.info, opts, tch::Device::Cpu).unwrap();
        let name = format!("epoch_60k_batch64_crop_flip_cutout_{}px", data.info.size);
        g.bench_function(&name, |b| {
            b.iter(|| {
                loader
                    .epoch(0)
                    .map(|r| r.unwrap().images.size()[0])
                    .sum::<i64>()
            })
        });
        g.bench_function(format!("one_batch64_{}px", data.info.size), |b| {
            let mut e = 0;
            b.iter(|| {
                e += 1;
                loader.epoch_from(e, 3).next().unwrap().unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, batching);
criterion_main!(benches);
