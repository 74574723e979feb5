//! One op, one mixed op and one full search step (architecture + weight) at the tiny preset's
//! shapes; with ACA_BENCH_PAPER=1 also at the paper's (batch 64, 32x32, 8 cells, C = 16).
#![allow(clippy::unwrap_used)]
use aca_core::{Adam, AdamConfig, Sgd, SgdConfig};
use aca_data::Batch;
use aca_search::step::weight_step;
use aca_search::{ArchStep, FirstOrder, StepContext, Unrolled};
use aca_space::nn::ops::{Op, OpSpec};
use aca_space::nn::{SearchNetConfig, SearchNetwork};
use aca_space::{OpSet, Primitive};
use criterion::{criterion_group, criterion_main, Criterion};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

struct Shape {
    name: &'static str,
    batch: i64,
    size: i64,
    image_channels: i64,
    channels: i64,
    layers: usize,
}

const TINY: Shape = Shape {
    name: "tiny",
    batch: 32,
    size: 16,
    image_channels: 1,
    channels: 8,
    layers: 5,
};
const PAPER: Shape = Shape {
    name: "paper",
    batch: 64,
    size: 32,
    image_channels: 3,
    channels: 16,
    layers: 8,
};

fn batch(s: &Shape) -> Batch {
    Batch {
        images: Tensor::randn(
            [s.batch, s.image_channels, s.size, s.size],
            (Kind::Float, Device::Cpu),
        ),
        labels: Tensor::randint(10, [s.batch], (Kind::Int64, Device::Cpu)),
    }
}

fn bench_shape(c: &mut Criterion, s: &Shape) {
    tch::manual_seed(0);
    let mut g = c.benchmark_group(s.name);
    g.sample_size(10);
    // One op and one mixed op on the first cell's edge shape, forward + backward.
    let x = Tensor::randn(
        [s.batch, s.channels, s.size, s.size],
        (Kind::Float, Device::Cpu),
    )
    .set_requires_grad(true);
    let vs = VarStore::new(Device::Cpu);
    let spec = OpSpec {
        c_in: s.channels,
        c_out: s.channels,
        stride: 1,
        affine: false,
    };
    let op = Op::new(vs.root(), Primitive::SepConv3x3, spec, true).unwrap();
    g.bench_function("sep_conv_3x3_fwd_bwd", |b| {
        b.iter(|| op.forward_t(&x, true).sum(Kind::Float).backward())
    });
    let ops: Vec<Op> = OpSet::darts()
        .ops()
        .iter()
        .map(|&p| Op::new(vs.root(), p, spec, true).unwrap())
        .collect();
    let w = Tensor::ones([ops.len() as i64], (Kind::Float, Device::Cpu)) / ops.len() as f64;
    g.bench_function("mixed_op_darts_fwd_bwd", |b| {
        b.iter(|| {
            let y = ops
                .iter()
                .enumerate()
                .map(|(i, op)| op.forward_t(&x, true) * w.get(i as i64))
                .reduce(|a, b| a + b)
                .unwrap();
            y.sum(Kind::Float).backward()
        })
    });
    let cfg = SearchNetConfig {
        channels: s.channels,
        layers: s.layers,
        classes: 10,
        image_channels: s.image_channels,
        ..Default::default()
    };
    for space in ["darts", "aca"] {
        let net = SearchNetwork::new(&cfg, &OpSet::by_name(space).unwrap(), Device::Cpu).unwrap();
        let weights = net.weights();
        let mut sgd = Sgd::new(SgdConfig::default(), weights.len());
        let mut adam = Adam::new(AdamConfig::default(), net.arch_parameters().len());
        let (train, valid) = (batch(s), batch(s));
        g.bench_function(format!("weight_step_{space}"), |b| {
            b.iter(|| weight_step(&net, &mut sgd, &weights, &train, 5.0).unwrap())
        });
        g.bench_function(format!("arch_step_first_order_{space}"), |b| {
            b.iter(|| {
                let ctx = StepContext {
                    net: &net,
                    weight_optimizer: &sgd,
                    lr: 0.025,
                    progress: 0.0,
                };
                FirstOrder.arch_gradient(&ctx, &train, &valid).unwrap()
            })
        });
        if s.name == "tiny" {
            g.bench_function(format!("search_step_first_order_{space}"), |b| {
                b.iter(|| {
                    let ctx = StepContext {
                        net: &net,
                        weight_optimizer: &sgd,
                        lr: 0.025,
                        progress: 0.0,
                    };
                    FirstOrder.step(&ctx, &mut adam, &train, &valid).unwrap();
                    weight_step(&net, &mut sgd, &weights, &train, 5.0).unwrap()
                })
            });
            g.bench_function(format!("arch_step_unrolled_{space}"), |b| {
                b.iter(|| {
                    let ctx = StepContext {
                        net: &net,
                        weight_optimizer: &sgd,
                        lr: 0.025,
                        progress: 0.0,
                    };
                    Unrolled::default()
                        .arch_gradient(&ctx, &train, &valid)
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_shape(c, &TINY);
    if std::env::var_os("ACA_BENCH_PAPER").is_some() {
        bench_shape(c, &PAPER);
    }
}

criterion_group!(search_step, benches);
criterion_main!(search_step);
