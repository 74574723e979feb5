use aca_eval::{
    op_channels, ChannelPlan, EvalNetConfig, EvalNetwork, ScorerKind, Setting, Strategy,
};
use std::path::Path;

use aca_space::{published, CellType, Genotype, Primitive};
use tch::{Device, Kind, Tensor};

/// Parameter count of DARTS's model.py, from its structure, independently of the Rust modules:
/// (network without the auxiliary head, auxiliary head).
fn reference(g: &Genotype, c: i64, layers: usize, classes: i64, imagenet: bool) -> (i64, i64) {
    let op = |p: Primitive, c: i64, stride: i64| match p {
        Primitive::SepConv3x3 => 2 * (c * 9 + c * c + 2 * c),
        Primitive::SepConv5x5 => 2 * (c * 25 + c * c + 2 * c),
        Primitive::DilConv3x3 => c * 9 + c * c + 2 * c,
        Primitive::DilConv5x5 => c * 25 + c * c + 2 * c,
        Primitive::SkipConnect if stride == 2 => c * c + 2 * c,
        _ => 0,
    };
    let (mut total, mut cpp, mut cp) = if imagenet {
        (
            3 * (c / 2) * 9 + c + (c / 2) * c * 9 + 2 * c + c * c * 9 + 2 * c,
            c,
            c,
        )
    } else {
        (3 * 3 * c * 9 + 6 * c, 3 * c, 3 * c)
    };
    let (mut cc, mut c_aux) = (c, 0);
    for i in 0..layers {
        let red = i == layers / 3 || i == 2 * layers / 3;
        if red {
            cc *= 2;
        }
        total += cpp * cc + 2 * cc + cp * cc + 2 * cc;
        let cell = g.cell(aca_space::CellType::of(red));
        for &(p, input) in cell {
            total += op(p, cc, if red && input < 2 { 2 } else { 1 });
        }
        cpp = cp;
        cp = g.concat(aca_space::CellType::of(red)).states().len() as i64 * cc;
        if i == 2 * layers / 3 {
            c_aux = cp;
        }
    }
    total += cp * classes + classes;
    let aux = c_aux * 128
        + 256
        + 128 * 768 * 4
        + if imagenet { 0 } else { 1536 }
        + 768 * classes
        + classes;
    (total, aux)
}

fn counts(g: &Genotype, c: i64, layers: usize, classes: i64, setting: Setting) -> (i64, i64) {
    let cfg = crate::net_config(c, layers, classes, setting);
    let net = EvalNetwork::new(&ChannelPlan::full(g.clone()), &cfg, Device::Cpu).unwrap();
    (net.param_count(), net.aux_param_count())
}

#[test]
fn parameter_counts_equal_the_reference_implementation() {
    let _serial = crate::serial();
    let v2 = published("darts_v2").unwrap();
    // DARTS's logs: DARTS_V2 3.349342M on CIFAR-10, 4.718752M on ImageNet.
    assert_eq!(counts(&v2, 36, 20, 10, Setting::Cifar).0, 3_349_342);
    assert_eq!(counts(&v2, 48, 14, 1000, Setting::Imagenet).0, 4_718_752);
    // FairDARTS-a, a sparse cell: the code's genotypes.py gives "Params: 2.83" (its count
    // includes the auxiliary head) and "FLOPS: 373M".
    let fair = published("fair_darts_a").unwrap();
    assert_eq!(
        counts(&fair, 36, 20, 10, Setting::Cifar),
        (2_360_782, 476_426)
    );
    for name in ["darts_v1", "darts_v2", "pc_darts", "fair_darts_a"] {
        let g = published(name).unwrap();
        for classes in [10, 100] {
            assert_eq!(
                counts(&g, 36, 20, classes, Setting::Cifar),
                reference(&g, 36, 20, classes, false),
                "{name} {classes}"
            );
        }
        assert_eq!(
            counts(&g, 48, 14, 1000, Setting::Imagenet),
            reference(&g, 48, 14, 1000, true),
            "{name} imagenet"
        );
    }
    let cfg = EvalNetConfig {
        auxiliary: false,
        ..Default::default()
    };
    let no_aux = EvalNetwork::new(&ChannelPlan::full(v2), &cfg, Device::Cpu).unwrap();
    assert_eq!(
        (no_aux.param_count(), no_aux.aux_param_count()),
        (3_349_342, 0)
    );
}

#[test]
fn identity_channels_remove_exactly_the_op_channels() {
    let _serial = crate::serial();
    // Normal edge 0 of DARTS_V2 is sep_conv_3x3 at stride 1. Giving it half of C's channels
    // shrinks its last 1x1 conv (C x C -> C x k) and last BN (2C -> 2k) in every normal cell.
    let g = published("darts_v2").unwrap();
    let cfg = EvalNetConfig {
        channels: 16,
        layers: 8,
        auxiliary: false,
        ..Default::default()
    };
    let full = EvalNetwork::new(&ChannelPlan::full(g.clone()), &cfg, Device::Cpu)
        .unwrap()
        .param_count();
    let mut plan = ChannelPlan::full(g);
    plan.normal[0] = 0.5;
    let half = EvalNetwork::new(&plan, &cfg, Device::Cpu)
        .unwrap()
        .param_count();
    // Normal cells: 6 of 8, with C = 16 (cells 0, 1), 32 (3, 4), 64 (6, 7).
    let removed: i64 = [16i64, 16, 32, 32, 64, 64]
        .iter()
        .map(|&c| (c - c / 2) * (c + 2))
        .sum();
    assert_eq!(full - half, removed);
}

#[test]
fn stride_two_refill_keeps_an_even_identity_part() {
    let _serial = crate::serial();
    assert_eq!(op_channels(0.5, 16, 1), 8);
    assert_eq!(op_channels(0.45, 16, 1), 7);
    assert_eq!(
        op_channels(0.45, 16, 2),
        8,
        "16 - 7 = 9 identity channels would be odd"
    );
    assert_eq!(
        op_channels(0.01, 16, 1),
        1,
        "an op keeps at least one channel"
    );
    assert_eq!(op_channels(1.0, 16, 2), 16);
    let mut plan = ChannelPlan::full(published("pc_darts").unwrap());
    plan.reduce = vec![0.45; 8];
    plan.normal = vec![0.3; 8];
    let cfg = EvalNetConfig {
        channels: 8,
        layers: 5,
        classes: 10,
        image_channels: 1,
        ..Default::default()
    };
    let net = EvalNetwork::new(&plan, &cfg, Device::Cpu).unwrap();
    for size in [16, 28, 32] {
        let out = net.forward_t(
            &Tensor::randn([2, 1, size, size], (Kind::Float, Device::Cpu)),
            true,
        );
        assert_eq!(out.logits.size(), [2, 10]);
        assert_eq!(
            out.aux.unwrap().size(),
            [2, 10],
            "the auxiliary head adapts to small inputs"
        );
    }
    let out = net.forward_t(
        &Tensor::randn([2, 1, 16, 16], (Kind::Float, Device::Cpu)),
        false,
    );
    assert!(out.aux.is_none(), "no auxiliary logits outside training");
}

fn all_sep_conv() -> Genotype {
    let pairs = [(Primitive::SepConv3x3, 0), (Primitive::SepConv3x3, 1)].repeat(4);
    Genotype::new(
        pairs.clone(),
        aca_space::Concat::intermediate(),
        pairs,
        aca_space::Concat::intermediate(),
    )
    .unwrap()
}

#[test]
fn drop_path_never_drops_identity_channels() {
    let _serial = crate::serial();
    tch::manual_seed(5);
    let cfg = EvalNetConfig {
        channels: 8,
        layers: 3,
        classes: 3,
        image_channels: 1,
        auxiliary: false,
        ..Default::default()
    };
    let (a, b) = (
        Tensor::randn([4, 1, 8, 8], (Kind::Float, Device::Cpu)),
        Tensor::randn([4, 1, 8, 8], (Kind::Float, Device::Cpu)),
    );
    // Every op path dropped (p close to 1): without identity channels nothing of the input
    // reaches the classifier, so two different inputs give the same logits ...
    let mut full = EvalNetwork::new(&ChannelPlan::full(all_sep_conv()), &cfg, Device::Cpu).unwrap();
    full.drop_path_prob = 0.999_999;
    assert!(full.forward_t(&a, true).logits.allclose(
        &full.forward_t(&b, true).logits,
        1e-6,
        1e-6,
        false
    ));
    // ... while identity channels are never dropped and still carry the input.
    let mut plan = ChannelPlan::full(all_sep_conv());
    plan.normal = vec![0.5; 8];
    plan.reduce = vec![0.5; 8];
    let mut refilled = EvalNetwork::new(&plan, &cfg, Device::Cpu).unwrap();
    refilled.drop_path_prob = 0.999_999;
    assert!(!refilled.forward_t(&a, true).logits.allclose(
        &refilled.forward_t(&b, true).logits,
        1e-6,
        1e-6,
        false
    ));
    // Outside training nothing is dropped.
    assert!(!full.forward_t(&a, false).logits.allclose(
        &full.forward_t(&b, false).logits,
        1e-6,
        1e-6,
        false
    ));
}

#[test]
fn plan_round_trips_and_is_validated() {
    let _serial = crate::serial();
    let mut plan = ChannelPlan::full(published("darts_v1").unwrap());
    plan.normal[3] = 0.25;
    plan.scorer = Some(ScorerKind::Taylor);
    plan.strategy = Strategy::Otsu;
    plan.scores = Some([vec![vec![vec![0.5, 1.0]]; 8], vec![vec![vec![1.0]]; 8]]);
    let json = serde_json::to_string(&plan).unwrap();
    let back: ChannelPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, json.replace("0.25", "1.5")).unwrap();
    let e = ChannelPlan::read(&path).unwrap_err().to_string();
    assert!(
        e.contains("plan.json") && e.contains("normal edge 3: fraction 1.5 is not in (0, 1]"),
        "{e}"
    );
    std::fs::write(&path, r#"{"genotype": 3}"#).unwrap();
    assert!(ChannelPlan::read(&path)
        .unwrap_err()
        .to_string()
        .contains("plan.json"));
    assert!((plan.identity_share(CellType::Normal) - 0.75 / 8.0).abs() < 1e-12);
    insta::assert_snapshot!("plan_table", plan.to_table());
}

/// Plan files written before `scorer` and `strategy` were typed (the committed study's, which
/// hold `none`, `all`, `otsu`, `otsu-log` and `fixed:0.5`) load, and write back the same JSON.
#[test]
fn committed_plan_files_load_and_write_back_unchanged() {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../studies/robustness/confirm/runs");
    let mut strategies = std::collections::BTreeSet::new();
    for run in std::fs::read_dir(&runs).unwrap() {
        let path = run.unwrap().path().join("plan.json");
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let plan = ChannelPlan::read(&path).unwrap();
        // As JSON values, without the f32 scores: serde_json parses floats to within an ulp, so
        // text would differ in the last digit of some numbers whatever the types.
        let mut written: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut back = serde_json::to_value(&plan).unwrap();
        for v in [&mut written, &mut back] {
            v.as_object_mut().unwrap().remove("scores");
        }
        assert_eq!(back, written, "{}", path.display());
        strategies.insert(plan.strategy.to_string());
    }
    for s in ["all", "otsu", "otsu-log", "fixed:0.5"] {
        assert!(
            strategies.contains(s),
            "no committed plan with strategy {s}"
        );
    }
    // A plain genotype's plan: scorer `none`, strategy `all`; an unknown scorer is refused.
    let plain = serde_json::to_value(ChannelPlan::full(published("darts_v1").unwrap())).unwrap();
    assert_eq!(plain["scorer"], "none");
    assert_eq!(plain["strategy"], "all");
    let plan: ChannelPlan = serde_json::from_value(plain.clone()).unwrap();
    assert_eq!((plan.scorer, plan.strategy), (None, Strategy::All));
    let mut bad = plain;
    bad["scorer"] = "gamma".into();
    let e = serde_json::from_value::<ChannelPlan>(bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gamma") && e.contains("expected taylor or bn-gamma"),
        "{e}"
    );
}

#[test]
fn multiply_adds_count_convolutions_and_linear_layers() {
    let _serial = crate::serial();
    let g = published("darts_v2").unwrap();
    let cfg = EvalNetConfig {
        channels: 16,
        layers: 8,
        image_channels: 1,
        auxiliary: false,
        ..Default::default()
    };
    let full = EvalNetwork::new(&ChannelPlan::full(g.clone()), &cfg, Device::Cpu).unwrap();
    let mut plan = ChannelPlan::full(g.clone());
    plan.normal[0] = 0.5;
    let half = EvalNetwork::new(&plan, &cfg, Device::Cpu).unwrap();
    // Normal edge 0 (sep_conv_3x3, stride 1): its last 1x1 conv loses (C - k) * C * H * W
    // multiply-adds in each normal cell: C = 16 at 16x16 (cells 0, 1), 32 at 8x8, 64 at 4x4.
    let removed: u64 = [(16u64, 16u64), (16, 16), (32, 8), (32, 8), (64, 4), (64, 4)]
        .iter()
        .map(|&(c, s)| (c - c / 2) * c * s * s)
        .sum();
    assert_eq!(full.flops(16) - half.flops(16), removed);
    // The stem alone: 3x3 conv from 1 to 48 channels at 16x16.
    assert!(full.flops(16) > 48 * 9 * 16 * 16);
    // DARTS_V2 in the mobile setting: the paper reports 574M multiply-adds with its own counting;
    // convolutions and linear layers alone give 530M.
    let cfg = EvalNetConfig {
        channels: 48,
        layers: 14,
        classes: 1000,
        setting: Setting::Imagenet,
        ..Default::default()
    };
    let imagenet = EvalNetwork::new(&ChannelPlan::full(g), &cfg, Device::Cpu).unwrap();
    assert_eq!(imagenet.flops(224), 529_911_552);
}

#[test]
fn evaluation_network_layers_start_as_pytorch_initialises_them() {
    tch::manual_seed(5);
    let config = EvalNetConfig {
        channels: 8,
        layers: 6,
        auxiliary: true,
        ..EvalNetConfig::default()
    };
    let plan = ChannelPlan::full(published("darts_v2").unwrap());
    let net = EvalNetwork::new(&plan, &config, Device::Cpu).unwrap();
    let named = net.named_tensors();
    let mut layers = 0;
    for (name, w) in named.iter().filter(|(n, _)| n.ends_with("weight")) {
        let dims = w.size();
        if dims.len() < 2 {
            continue; // BN
        }
        // PyTorch: kaiming_uniform_(a = sqrt(5)) = U(±1/sqrt(fan_in)), fan_in = in * k * k.
        let bound = 1.0 / (dims[1..].iter().product::<i64>() as f64).sqrt();
        assert!(
            w.abs().max().double_value(&[]) <= bound * (1.0 + 1e-6),
            "{name}"
        );
        if w.numel() >= 5000 {
            let ratio =
                w.to_kind(Kind::Double).var(false).double_value(&[]) * 3.0 / (bound * bound);
            assert!((ratio - 1.0).abs() < 0.15, "{name}: variance ratio {ratio}");
        }
        if name.ends_with("classifier.weight") {
            let bias = &named
                .iter()
                .find(|(n, _)| *n == name.replace("weight", "bias"))
                .unwrap()
                .1;
            assert!(bias.abs().max().double_value(&[]) <= 1.0 / (dims[1] as f64).sqrt());
        }
        layers += 1;
    }
    // Stem, cells, the auxiliary head's two convs and classifier, the classifier.
    assert!(layers > 100, "{layers}");
    assert!(named.iter().any(|(n, _)| n.starts_with("aux")));
}
