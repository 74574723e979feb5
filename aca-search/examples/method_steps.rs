//! Time of one search step (architecture step, the method's perturbation or sample, weight step)
//! for every method, side by side on the same batches, as a Markdown table with each method's
//! time relative to first-order DARTS:
//!
//! `cargo run --release -p aca-search --example method_steps -- tiny 20 1`
//!
//! Arguments: `tiny|paper` (the preset's supernet and batch size), rounds (default 20), threads
//! (libtorch's default if absent). The methods take turns within each round, so that a machine
//! whose load changes slows them alike; the table gives each method's median.
use std::time::Instant;

use aca_core::{Adam, Sgd};
use aca_data::Batch;
use aca_search::step::{search_step, StepPosition};
use aca_search::{MethodKind, Preset, SearchConfig};
use aca_space::nn::SearchNetwork;
use aca_space::Space;
use tch::{Device, Kind, Tensor};

// The allocator of the `aca` binary, so that the example measures what users run.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

struct Arm {
    config: SearchConfig,
    net: SearchNetwork,
    weights: Vec<Tensor>,
    sgd: Sgd,
    adam: Adam,
    arch_step: Box<dyn aca_search::ArchStep>,
    times: Vec<f64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset: Preset = match args.first().map_or("tiny", String::as_str) {
        "paper" => Preset::Paper,
        _ => Preset::Tiny,
    };
    let rounds: usize = args.get(1).map_or(Ok(20), |s| s.parse())?;
    if let Some(threads) = args.get(2) {
        tch::set_num_threads(threads.parse()?);
    }
    let (size, image_channels) = match preset {
        Preset::Paper | Preset::Imagenet => (32, 3),
        Preset::Tiny => (16, 1),
    };
    let mut arms = Vec::new();
    for method in MethodKind::ALL {
        let mut config = SearchConfig::preset(preset, method);
        config.space = Space::Darts;
        config.network.image_channels = image_channels;
        config.network.classes = 10;
        tch::manual_seed(0);
        let net = SearchNetwork::new(&config.network, &config.op_set()?, Device::Cpu)?;
        let weights = net.weights();
        arms.push(Arm {
            sgd: Sgd::new(config.weight_optimizer, weights.len()),
            adam: Adam::new(config.arch_optimizer, net.arch_parameters().len()),
            arch_step: method.arch_step(&config.method_options),
            config,
            net,
            weights,
            times: Vec::new(),
        });
    }
    let batch_size = arms[0].config.data.batch_size as i64;
    let make = || Batch {
        images: Tensor::randn(
            [batch_size, image_channels, size, size],
            (Kind::Float, Device::Cpu),
        ),
        labels: Tensor::randint(10, [batch_size], (Kind::Int64, Device::Cpu)),
    };
    let (train, valid) = (make(), make());
    // Round 0 warms up (allocations, libtorch's kernels) and is not counted.
    for round in 0..=rounds {
        for arm in &mut arms {
            let at = StepPosition {
                epoch: 1,
                step: round,
                lr: arm.config.weight_optimizer.lr,
                progress: 0.5,
                arch_updates: arm.config.method.updates_architecture(),
            };
            let t = Instant::now();
            search_step(
                &arm.config,
                arm.arch_step.as_ref(),
                &arm.net,
                &arm.weights,
                &mut arm.sgd,
                &mut arm.adam,
                &train,
                &valid,
                at,
            )?;
            if round > 0 {
                arm.times.push(t.elapsed().as_secs_f64());
            }
        }
    }
    let median = |t: &[f64]| {
        let mut t = t.to_vec();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let darts = median(&arms[0].times);
    println!(
        "{preset} supernet (batch {batch_size}, {size}x{size}, C={}, {} cells, op set darts), {} threads, median of {rounds} steps:\n",
        arms[0].config.network.channels,
        arms[0].config.network.layers,
        tch::get_num_threads()
    );
    println!("| method | ms per search step | relative to darts |");
    println!("|---|---:|---:|");
    for arm in &arms {
        let m = median(&arm.times);
        println!(
            "| {} | {:.1} | {:.2} |",
            arm.config.method,
            1e3 * m,
            m / darts
        );
    }
    Ok(())
}
