//! The safetensors export under the original DARTS code's names.

use aca_eval::{darts_names, state_dict, ChannelPlan, EvalNetConfig, EvalNetwork, Naming, Setting};
use aca_space::published;
use tch::Device;

fn net(setting: Setting, c: i64, layers: usize, classes: i64) -> (EvalNetwork, ChannelPlan) {
    let plan = ChannelPlan::full(published("darts_v2").unwrap());
    let cfg = crate::net_config(c, layers, classes, setting);
    (EvalNetwork::new(&plan, &cfg, Device::Cpu).unwrap(), plan)
}

/// Names and shapes of DARTS_V2's `NetworkCIFAR(36, 10, 20, auxiliary=True)` state dict, read
/// off DARTS's `model.py` and `operations.py` (cells 6 and 13 reduce; the auxiliary head after
/// cell 13).
const CIFAR_TABLE: [(&str, &[i64]); 16] = [
    ("stem.0.weight", &[108, 3, 3, 3]),
    ("stem.1.running_var", &[108]),
    ("stem.1.num_batches_tracked", &[]),
    ("cells.0.preprocess0.op.1.weight", &[36, 108, 1, 1]),
    ("cells.0.preprocess1.op.2.bias", &[36]),
    // DARTS_V2 normal edge 0: sep_conv_3x3 from input 0.
    ("cells.0._ops.0.op.1.weight", &[36, 1, 3, 3]),
    ("cells.0._ops.0.op.2.weight", &[36, 36, 1, 1]),
    ("cells.0._ops.0.op.7.weight", &[36]),
    // Normal edge 7: dil_conv_3x3 from node 2.
    ("cells.0._ops.7.op.1.weight", &[36, 1, 3, 3]),
    ("cells.0._ops.7.op.3.running_mean", &[36]),
    // The cell after a reduction: preprocess0 is a FactorizedReduce.
    ("cells.7.preprocess0.conv_1.weight", &[36, 144, 1, 1]),
    ("cells.7.preprocess0.bn.weight", &[72]),
    ("auxiliary_head.features.2.weight", &[128, 576, 1, 1]),
    ("auxiliary_head.features.6.running_mean", &[768]),
    ("auxiliary_head.classifier.weight", &[10, 768]),
    ("classifier.weight", &[10, 576]),
];

#[test]
fn darts_names_and_shapes_match_the_original_network() {
    let _serial = crate::serial();
    let (net, plan) = net(Setting::Cifar, 36, 20, 10);
    let dict = state_dict(&net, &plan, Naming::Darts).unwrap();
    let find = |name: &str| dict.iter().find(|(n, _)| n == name).map(|(_, t)| t.size());
    for (name, shape) in CIFAR_TABLE {
        assert_eq!(find(name).as_deref(), Some(shape), "{name}");
    }
    // Trainable tensors without the auxiliary head: DARTS_V2's 3,349,342 parameters.
    let params: i64 = dict
        .iter()
        .filter(|(n, _)| !n.starts_with("auxiliary_head."))
        .filter(|(n, _)| !n.contains("running_") && !n.ends_with("num_batches_tracked"))
        .map(|(_, t)| t.numel() as i64)
        .sum();
    assert_eq!(params, 3_349_342);
    // One counter per batch norm, and every name unique.
    let bns = dict
        .iter()
        .filter(|(n, _)| n.ends_with(".running_var"))
        .count();
    let counters = dict
        .iter()
        .filter(|(n, _)| n.ends_with(".num_batches_tracked"))
        .count();
    assert_eq!(bns, counters);
    let mut names: Vec<_> = dict.iter().map(|(n, _)| n.clone()).collect();
    names.dedup();
    assert_eq!(names.len(), dict.len());
    // The same values under either naming.
    let aca = state_dict(&net, &plan, Naming::Aca).unwrap();
    let names: Vec<&str> = aca.iter().map(|(n, _)| n.as_str()).collect();
    for ((n, t), d) in aca.iter().zip(darts_names(&names)) {
        let d = d.unwrap();
        assert!(find(&d).is_some(), "{n} -> {d}");
        let (_, dt) = dict.iter().find(|(m, _)| *m == d).unwrap();
        assert!(t.equal(dt), "{n}");
    }
}

#[test]
fn imagenet_stem_and_head_names() {
    let _serial = crate::serial();
    let (net, plan) = net(Setting::Imagenet, 48, 14, 1000);
    let dict = state_dict(&net, &plan, Naming::Darts).unwrap();
    let find = |name: &str| dict.iter().find(|(n, _)| n == name).map(|(_, t)| t.size());
    for (name, shape) in [
        ("stem0.0.weight", &[24i64, 3, 3, 3][..]),
        ("stem0.1.weight", &[24]),
        ("stem0.3.weight", &[48, 24, 3, 3]),
        ("stem0.4.running_var", &[48]),
        ("stem1.1.weight", &[48, 48, 3, 3]),
        ("stem1.2.bias", &[48]),
        ("auxiliary_head.features.5.weight", &[768, 128, 2, 2]),
        ("classifier.weight", &[1000, 768]),
    ] {
        assert_eq!(find(name).as_deref(), Some(shape), "{name}");
    }
    // DARTS's ImageNet auxiliary head has no second batch norm.
    assert!(find("auxiliary_head.features.6.weight").is_none());
}

#[test]
fn a_refilled_plan_keeps_aca_names_and_says_why() {
    let _serial = crate::serial();
    let mut plan = ChannelPlan::full(published("darts_v2").unwrap());
    plan.normal[0] = 0.5;
    let cfg = EvalNetConfig {
        channels: 8,
        layers: 5,
        ..Default::default()
    };
    let net = EvalNetwork::new(&plan, &cfg, Device::Cpu).unwrap();
    let err = state_dict(&net, &plan, Naming::Darts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("identity"), "{err}");
    assert!(!state_dict(&net, &plan, Naming::Aca).unwrap().is_empty());
    assert_eq!(
        darts_names(&[
            "cell0.edge0.sep_conv_3x3.dw1.weight",
            "cell3.edge2.refill.conv1.weight"
        ]),
        [Some("cells.0._ops.0.op.1.weight".to_string()), None]
    );
}
