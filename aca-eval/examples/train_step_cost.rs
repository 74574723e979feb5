//! Time per training step of the evaluation network at given shapes, the counterpart of the
//! peers' `darts_ref_train_step.py`; run it under `/usr/bin/time -v` for the peak memory:
//!
//! `cargo run --release -p aca-eval --example train_step_cost -- darts_v2 96 36 32 20 4 3 1 1`
//!
//! Arguments: a published genotype, a genotype file or a channel plan (`plan.json`), batch N,
//! channels C, image size H, cells, steps (the first is a warm-up), image channels (3), auxiliary
//! head (1 or 0), threads (libtorch's default if absent), the bound on kept pages' growth
//! ([`aca_core::KeepFreedPages::with_growth_limit`], 1.5 if absent).
//! Drop path 0.2, SGD lr 0.025 momentum 0.9 weight decay 3e-4, gradient clip 5, auxiliary weight 0.4.
use std::time::Instant;

use aca_core::{clip_grad_norm, Sgd, SgdConfig};
use aca_eval::{ChannelPlan, EvalNetConfig, EvalNetwork};
use aca_space::nn::cross_entropy;
use tch::{Device, Kind, Tensor};

// The allocator of the `aca` binary, so that the example measures what users run.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: i64| -> Result<i64, std::num::ParseIntError> {
        args.get(i).map_or(Ok(default), |s| s.parse())
    };
    let name = args.first().map_or("darts_v2", String::as_str);
    let (n, c, h, layers, steps) = (
        arg(1, 96)?,
        arg(2, 36)?,
        arg(3, 32)?,
        arg(4, 20)?,
        arg(5, 4)?,
    );
    let (image_channels, aux) = (arg(6, 3)?, arg(7, 1)? == 1);
    if let Some(threads) = args.get(8) {
        tch::set_num_threads(threads.parse()?);
    }
    let path = std::path::Path::new(name);
    let plan = match aca_space::published(name) {
        Ok(genotype) => ChannelPlan::full(genotype),
        Err(_) => match ChannelPlan::read(path) {
            Ok(plan) => plan,
            Err(_) => ChannelPlan::full(aca_space::Genotype::read(path)?),
        },
    };
    tch::manual_seed(0);
    let config = EvalNetConfig {
        channels: c,
        layers: layers as usize,
        classes: 10,
        image_channels,
        auxiliary: aux,
        ..EvalNetConfig::default()
    };
    let mut net = EvalNetwork::new(&plan, &config, Device::Cpu)?;
    net.drop_path_prob = 0.2;
    let weights = net.weights();
    let mut sgd = Sgd::new(SgdConfig::default(), weights.len());
    let x = Tensor::randn([n, image_channels, h, h], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(10, [n], (Kind::Int64, Device::Cpu));
    // As `aca train` runs its steps: freed pages kept for the next step's activations, returned
    // when the process has grown past the bound (a tenth argument sets it; 1.5 by default).
    let mut pages = match args.get(9) {
        Some(limit) => aca_core::KeepFreedPages::with_growth_limit(limit.parse()?),
        None => aca_core::KeepFreedPages::new(),
    };
    let mut total = 0.0;
    for i in 0..steps {
        let t = Instant::now();
        let out = net.forward_t(&x, true);
        let mut loss = cross_entropy(&out.logits, &y);
        if let Some(a) = &out.aux {
            loss += cross_entropy(a, &y) * 0.4;
        }
        let grads = Tensor::f_run_backward(&[&loss], &weights, false, false)?;
        clip_grad_norm(&grads, 5.0)?;
        sgd.step(&weights, &grads)?;
        pages.after_step();
        if i > 0 || steps == 1 {
            total += t.elapsed().as_secs_f64();
        }
    }
    println!(
        "genotype={name} N={n} C={c} H={h} layers={layers} params={} threads={} train_step_s={:.4} kept_pages_returned={}",
        net.param_count(),
        tch::get_num_threads(),
        total / (steps - 1).max(1) as f64,
        pages.purges()
    );
    Ok(())
}
