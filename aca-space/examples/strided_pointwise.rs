//! The fault behind aca's strided 1x1 convolutions, and what avoiding it costs.
//!
//! libtorch 2.11's oneDNN computes the weight gradient of a 1x1 convolution at stride 2 on a
//! channels-last input through a copy of the sub-sampled input ("rtus"), and with fewer input
//! channels than its vector block (8 floats on AVX2, 16 on AVX-512) it writes past the end of
//! that copy (oneDNN issue #6035). With fewer than 16 input channels `FactorizedReduce` therefore
//! runs its two convolutions at stride 1 on `x[:, :, ::2, ::2]` (aca_space::nn::ops); wider
//! inputs keep libtorch's kernel, which is sound there and faster, as `bench` shows.
//!
//! ```text
//! cargo run --release -p aca-space --example strided_pointwise -- fault [REPEATS]
//! cargo run --release -p aca-space --example strided_pointwise -- bench [ROUNDS]
//! ```
//!
//! `fault` runs libtorch's strided form on the smallest failing shape (batch 32, 4 input channels,
//! 8x8); with `DNNL_MAX_CPU_ISA=AVX2` it corrupts the heap (a crash, or glibc's "free(): invalid
//! pointer") within a few repeats. `fault sub-sampled` runs aca's form instead and finishes.
//! `bench` times both forms, forward and backward, at the shapes aca's networks use, and prints
//! the median per form and their ratio; run it once per ISA (`DNNL_MAX_CPU_ISA=AVX2` and
//! unset) on one thread. The strided form is skipped where it would corrupt memory.
use std::time::Instant;

use tch::{Device, Kind, Tensor};

fn channels_last(x: Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// One forward and backward pass (input and weight gradients) of a 1x1 convolution at stride 2.
fn pass(x: &Tensor, w: &Tensor, sub_sampled: bool) {
    let y = if sub_sampled {
        x.slice(2, 0, None, 2).slice(3, 0, None, 2).conv2d(
            w,
            None::<Tensor>,
            [1, 1],
            [0, 0],
            [1, 1],
            1,
        )
    } else {
        x.conv2d(w, None::<Tensor>, [2, 2], [0, 0], [1, 1], 1)
    };
    y.sum(Kind::Float).backward();
}

fn inputs(n: i64, c_in: i64, c_out: i64, hw: i64) -> (Tensor, Tensor) {
    let x = channels_last(Tensor::randn([n, c_in, hw, hw], (Kind::Float, Device::Cpu)))
        .set_requires_grad(true);
    let w = Tensor::randn([c_out, c_in, 1, 1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    (x, w)
}

fn fault(repeats: usize, sub_sampled: bool) {
    for i in 0..repeats {
        let (x, w) = inputs(32, 4, 2, 8);
        pass(&x, &w, sub_sampled);
        println!(
            "repeat {i}: weight gradient sum {:.4}",
            w.grad().sum(Kind::Float).double_value(&[])
        );
    }
}

/// Whether libtorch's strided form may corrupt memory on this shape (input channels below the
/// vector block of either ISA; aca takes the sub-sampled form there): such shapes are not timed.
fn faulty(c_in: i64) -> bool {
    c_in < 16
}

fn median_ms(rounds: usize, x: &Tensor, w: &Tensor, sub_sampled: bool) -> f64 {
    pass(x, w, sub_sampled); // warm-up: oneDNN creates its kernels
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            pass(x, w, sub_sampled);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[rounds / 2]
}

fn bench(rounds: usize) {
    // (where, batch, input channels, output channels, input size)
    let shapes = [
        ("tiny search, skip at stride 2", 32, 16, 16, 8),
        ("tiny search, pre0 after a reduction", 32, 32, 16, 8),
        ("paper search, skip at stride 2", 64, 32, 32, 32),
        ("paper search, pre0 after a reduction", 64, 64, 32, 32),
        ("paper training, skip at stride 2", 96, 72, 72, 32),
        ("paper training, pre0 after a reduction", 96, 144, 72, 32),
        ("PC-DARTS paper search, C/K = 8 channels", 64, 8, 8, 32),
        ("ACA refill of 4 channels, paper training", 96, 4, 4, 32),
    ];
    println!("| shape | batch x C_in -> C_out, size | libtorch's stride 2 (ms) | sub-sampled (ms) | ratio | aca runs |");
    println!("|---|---|---:|---:|---:|---|");
    for (name, n, c_in, c_out, hw) in shapes {
        let (x, w) = inputs(n, c_in, c_out / 2, hw);
        let new = median_ms(rounds, &x, &w, true);
        let (old, ratio, aca) = if faulty(c_in) {
            ("faulty".to_string(), "-".to_string(), "sub-sampled")
        } else {
            let old = median_ms(rounds, &x, &w, false);
            (
                format!("{old:.3}"),
                format!("{:.2}", new / old),
                "libtorch's",
            )
        };
        println!(
            "| {name} | {n} x {c_in} -> {}, {hw}x{hw} | {old} | {new:.3} | {ratio} | {aca} |",
            c_out / 2
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    tch::manual_seed(0);
    match args.first().map(String::as_str) {
        Some("fault") => {
            let sub_sampled = args.get(1).is_some_and(|a| a == "sub-sampled");
            fault(number(if sub_sampled { 2 } else { 1 }, 20), sub_sampled)
        }
        Some("bench") => bench(number(1, 50)),
        _ => eprintln!("usage: strided_pointwise fault [sub-sampled] [REPEATS] | bench [ROUNDS]"),
    }
}
