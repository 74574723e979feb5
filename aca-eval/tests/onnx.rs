//! The ONNX export, run in another runtime (tract): the same logits as aca's own forward pass.

use aca_eval::{onnx_model, ChannelPlan, EvalNetConfig, EvalNetwork, Setting};
use aca_space::{published, CellType};
use tch::{Device, Kind, Tensor};
use tract_onnx::prelude::*;

/// A network whose batch norms have non-trivial running statistics (a few training-mode passes).
fn trained_looking(plan: &ChannelPlan, cfg: &EvalNetConfig, size: i64) -> EvalNetwork {
    tch::manual_seed(7);
    let net = EvalNetwork::new(plan, cfg, Device::Cpu).unwrap();
    for _ in 0..3 {
        let x = Tensor::randn(
            [4, cfg.image_channels, size, size],
            (Kind::Float, Device::Cpu),
        );
        let _ = tch::no_grad(|| net.forward_t(&x, true));
    }
    net
}

/// Largest difference between aca's logits and tract's on the exported model, for two batch
/// sizes (the batch is dynamic).
fn largest_difference(plan: &ChannelPlan, cfg: &EvalNetConfig, size: i64) -> f32 {
    let inputs = [1, 3].map(|batch| {
        Tensor::randn(
            [batch, cfg.image_channels, size, size],
            (Kind::Float, Device::Cpu),
        )
    });
    difference_on(plan, cfg, size, &inputs)
}

fn difference_on(plan: &ChannelPlan, cfg: &EvalNetConfig, size: i64, inputs: &[Tensor]) -> f32 {
    let net = trained_looking(plan, cfg, size);
    let bytes = onnx_model(&net, plan, size).unwrap();
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let mut worst = 0f32;
    for x in inputs {
        let batch = x.size()[0];
        let ours = tch::no_grad(|| net.forward_t(x, false).logits);
        let ours = Vec::<f32>::try_from(ours.flatten(0, -1)).unwrap();
        let input: Vec<f32> = Vec::try_from(x.flatten(0, -1)).unwrap();
        let shape = [
            batch as usize,
            cfg.image_channels as usize,
            size as usize,
            size as usize,
        ];
        let input = tract_ndarray::Array4::from_shape_vec(shape, input).unwrap();
        let out = model.run(tvec!(Tensor4::from(input).into())).unwrap();
        let theirs: Vec<f32> = out[0]
            .to_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(theirs.len(), ours.len());
        for (a, b) in ours.iter().zip(&theirs) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

type Tensor4 = tract_onnx::prelude::Tensor;

fn cfg(channels: i64, layers: usize, setting: Setting, image_channels: i64) -> EvalNetConfig {
    EvalNetConfig {
        image_channels,
        ..crate::net_config(channels, layers, 10, setting)
    }
}

#[test]
fn full_channel_genotypes_run_in_tract_with_the_same_logits() {
    let _serial = crate::serial();
    for name in ["darts_v2", "pc_darts", "fair_darts_a"] {
        let plan = ChannelPlan::full(published(name).unwrap());
        let d = largest_difference(&plan, &cfg(8, 5, Setting::Cifar, 3), 16);
        assert!(d < 1e-4, "{name}: {d}");
    }
}

#[test]
fn identity_refill_at_stride_one_and_two_runs_in_tract() {
    let _serial = crate::serial();
    // Half of every op's channels refilled: identity in the normal cell, FactorizedReduce on the
    // reduction cell's edges from its inputs (stride 2).
    let mut plan = ChannelPlan::full(published("pc_darts").unwrap());
    plan.normal = vec![0.5; 8];
    plan.reduce = vec![0.5; 8];
    assert!(plan
        .genotype
        .cell(CellType::Reduce)
        .iter()
        .any(|&(_, input)| input < 2));
    let d = largest_difference(&plan, &cfg(8, 5, Setting::Cifar, 1), 16);
    assert!(d < 1e-4, "{d}");
    // Odd sizes: the shifted half of FactorizedReduce is padded at the far edge.
    let d = largest_difference(&plan, &cfg(8, 5, Setting::Cifar, 1), 15);
    assert!(d < 1e-4, "odd size: {d}");
}

#[test]
fn the_imagenet_setting_runs_in_tract() {
    let _serial = crate::serial();
    let plan = ChannelPlan::full(published("darts_v2").unwrap());
    let d = largest_difference(&plan, &cfg(8, 5, Setting::Imagenet, 3), 224);
    assert!(d < 1e-4, "{d}");
}

#[test]
fn real_images_through_a_refilled_plan_give_the_same_logits() {
    if !aca_data::fashion_mnist_for_tests() {
        return;
    }
    let _serial = crate::serial();
    let data = aca_data::Dataset::load(
        aca_data::DatasetKind::FashionMnist,
        &aca_data::LoadOptions {
            resize: Some(16),
            ..Default::default()
        },
    )
    .unwrap();
    let (mean, std) = (data.info.mean[0] as f64, data.info.std[0] as f64);
    let images = data
        .test
        .images()
        .unwrap()
        .narrow(0, 0, 8)
        .to_kind(Kind::Float)
        .divide_scalar(255.0)
        .subtract_scalar(mean)
        .divide_scalar(std);
    let mut plan = ChannelPlan::full(published("darts_v2").unwrap());
    plan.normal = vec![0.75, 0.5, 1.0, 0.25, 0.5, 1.0, 1.0, 0.5];
    plan.reduce = vec![0.5; 8];
    let d = difference_on(&plan, &cfg(8, 5, Setting::Cifar, 1), 16, &[images]);
    assert!(d < 1e-4, "{d}");
}
