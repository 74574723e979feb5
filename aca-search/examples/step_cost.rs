//! Time per weight step and per architecture step of the supernet at given shapes; run it under
//! `/usr/bin/time -v` for the peak memory:
//!
//! `cargo run --release -p aca-search --example step_cost -- paper darts first 3`
//!
//! Arguments: `tiny|paper`, `darts|aca`, `first|second|pc` (`pc`: PC-DARTS's first-order step with
//! partial channels K = 4 and edge normalisation, its code's defaults; `+recompute` appended, e.g.
//! `first+recompute`: every cell recomputed in the backward pass, `first+recompute2`: the first
//! two), steps (default 3; the first is a warm-up), threads (libtorch's default if absent).
use std::time::Instant;

use aca_core::{Adam, AdamConfig, Sgd, SgdConfig};
use aca_data::Batch;
use aca_search::step::weight_step;
use aca_search::{ArchStep, FirstOrder, StepContext, Unrolled};
use aca_space::nn::{SearchNetConfig, SearchNetwork};
use aca_space::OpSet;
use tch::{Device, Kind, Tensor};

// The allocator of the `aca` binary, so that the example measures what users run.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = args.first().map_or("tiny", String::as_str);
    let space = args.get(1).map_or("darts", String::as_str);
    let order = args.get(2).map_or("first", String::as_str);
    // `first+recompute` (any order): every cell recomputes its activations in the backward pass;
    // `first+recompute2`: the first two.
    let (order, recompute_cells) = match order.split_once("+recompute") {
        Some((order, "")) => (order, usize::MAX),
        Some((order, n)) => (order, n.parse()?),
        None => (order, 0),
    };
    let steps: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    if let Some(threads) = args.get(4) {
        tch::set_num_threads(threads.parse()?);
    }
    let (batch, size, image_channels, channels, layers) = match shape {
        "paper" => (64, 32, 3, 16, 8),
        _ => (32, 16, 1, 8, 5),
    };
    tch::manual_seed(0);
    let pc_darts = order == "pc";
    let cfg = SearchNetConfig {
        channels,
        layers,
        classes: 10,
        image_channels,
        partial_channels: pc_darts.then_some(4),
        edge_normalization: pc_darts,
        recompute_cells,
        ..Default::default()
    };
    let net = SearchNetwork::new(&cfg, &OpSet::by_name(space)?, Device::Cpu)?;
    let weights = net.weights();
    let mut sgd = Sgd::new(SgdConfig::default(), weights.len());
    let mut adam = Adam::new(AdamConfig::default(), net.arch_parameters().len());
    let make = || Batch {
        images: Tensor::randn(
            [batch, image_channels, size, size],
            (Kind::Float, Device::Cpu),
        ),
        labels: Tensor::randint(10, [batch], (Kind::Int64, Device::Cpu)),
    };
    let (train, valid) = (make(), make());
    let step: Box<dyn ArchStep> = if order == "second" {
        Box::new(Unrolled::default())
    } else {
        Box::new(FirstOrder)
    };
    // A sixth argument keeps freed pages between steps within that bound on growth, as training
    // does (aca_core::KeepFreedPages); absent, jemalloc's default.
    let mut pages = match args.get(5) {
        Some(limit) => Some(aca_core::KeepFreedPages::with_growth_limit(limit.parse()?)),
        None => None,
    };
    let (mut w_time, mut a_time) = (0.0, 0.0);
    for i in 0..steps {
        let t = Instant::now();
        let ctx = StepContext {
            net: &net,
            weight_optimizer: &sgd,
            lr: 0.025,
            progress: 0.0,
        };
        step.step(&ctx, &mut adam, &train, &valid)?;
        if let Some(pages) = &mut pages {
            pages.after_step();
        }
        let a = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = weight_step(&net, &mut sgd, &weights, &train, 5.0)?;
        if let Some(pages) = &mut pages {
            pages.after_step();
        }
        let w = t.elapsed().as_secs_f64();
        if i > 0 || steps == 1 {
            a_time += a;
            w_time += w;
        }
    }
    let n = (steps - 1).max(1) as f64;
    println!(
        "{shape} shapes (batch {batch}, {size}x{size}, {layers} cells, C={channels}), op set {space}, {}, {} threads: {:.3} s per architecture step, {:.3} s per weight step, {} parameters",
        match order {
            "pc" => "PC-DARTS (K = 4)",
            "second" => "second-order",
            _ => "first-order",
        },
        tch::get_num_threads(),
        a_time / n,
        w_time / n,
        net.param_count()
    );
    if let Some(pages) = pages {
        println!("kept pages returned {} times", pages.purges());
    }
    Ok(())
}
