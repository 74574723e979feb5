use aca_core::{Sgd, SgdConfig};
use aca_data::Batch;
use aca_search::step::weight_step;
use aca_search::{ArchStep, FirstOrder, StepContext, Unrolled};
use aca_space::nn::{SearchNetConfig, SearchNetwork};
use aca_space::OpSet;
use tch::{Device, Kind, Tensor};

fn tiny_net(kind: Kind, ops: &OpSet, partial: Option<i64>) -> SearchNetwork {
    let cfg = SearchNetConfig {
        channels: 4,
        layers: 3,
        classes: 3,
        image_channels: 1,
        partial_channels: partial,
        edge_normalization: partial.is_some(),
        ..Default::default()
    };
    let mut net = SearchNetwork::new(&cfg, ops, Device::Cpu).unwrap();
    net.set_kind(kind);
    // Larger alphas than the 1e-3 start, so that the architecture matters.
    tch::no_grad(|| {
        for a in net.arch_parameters() {
            a.shallow_clone()
                .copy_(&(Tensor::randn(a.size(), (kind, Device::Cpu)) * 0.5));
        }
    });
    net
}

fn batch(kind: Kind, n: i64) -> Batch {
    Batch {
        images: Tensor::randn([n, 1, 8, 8], (kind, Device::Cpu)),
        labels: Tensor::randint(3, [n], (Kind::Int64, Device::Cpu)),
    }
}

fn max_abs(ts: &[Tensor]) -> f64 {
    ts.iter()
        .map(|t| t.abs().max().double_value(&[]))
        .fold(0.0, f64::max)
}

fn max_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    max_abs(&a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>())
}

#[test]
fn first_order_gradient_equals_autograd() {
    let _serial = crate::serial();
    tch::manual_seed(3);
    for partial in [None, Some(2)] {
        let net = tiny_net(Kind::Double, &OpSet::darts(), partial);
        let sgd = Sgd::new(SgdConfig::default(), net.weights().len());
        let (train, valid) = (batch(Kind::Double, 4), batch(Kind::Double, 4));
        let ctx = StepContext {
            net: &net,
            weight_optimizer: &sgd,
            lr: 0.025,
            progress: 0.0,
        };
        let (ours, _) = FirstOrder.arch_gradient(&ctx, &train, &valid).unwrap();
        // Only architecture gradients were computed: no weight received a .grad.
        assert!(net.weights().iter().all(|w| !w.grad().defined()));
        // Reference: plain backward() into .grad of the architecture parameters.
        net.loss(&valid.images, &valid.labels, true).backward();
        let reference: Vec<Tensor> = net.arch_parameters().iter().map(|a| a.grad()).collect();
        assert!(max_abs(&reference) > 0.0);
        assert!(
            max_diff(&ours, &reference) < 1e-12,
            "{}",
            max_diff(&ours, &reference)
        );
    }
}

#[test]
fn second_order_gradient_matches_exact_hessian_vector_product() {
    let _serial = crate::serial();
    tch::manual_seed(4);
    let net = tiny_net(Kind::Double, &OpSet::aca(), None);
    let weights = net.weights();
    let arch = net.arch_parameters();
    let mut sgd = Sgd::new(SgdConfig::default(), weights.len());
    let (train, valid) = (batch(Kind::Double, 6), batch(Kind::Double, 6));
    // One weight step first, so that the momentum buffer enters the virtual step.
    let _ = weight_step(&net, &mut sgd, &weights, &train, 5.0).unwrap();
    let eta = 0.05;
    let ctx = StepContext {
        net: &net,
        weight_optimizer: &sgd,
        lr: eta,
        progress: 0.0,
    };
    let w_before: Vec<Tensor> = weights.iter().map(|w| w.detach_copy()).collect();
    // A small finite-difference scale checks the algebra tightly; DARTS's 0.01 is checked loosely
    // (its error is the finite difference's, not the method's).
    let (ours, _) = Unrolled { scale: 1e-6 }
        .arch_gradient(&ctx, &train, &valid)
        .unwrap();
    let (darts_r, _) = Unrolled::default()
        .arch_gradient(&ctx, &train, &valid)
        .unwrap();
    assert_eq!(
        max_diff(&weights, &w_before),
        0.0,
        "the original weights are restored"
    );

    // Independent computation: the virtual step by hand, then the exact Hessian-vector product
    // grad_alpha (grad_w L_train(w, alpha) . v) by double backward.
    let g = Tensor::run_backward(
        &[net.loss(&train.images, &train.labels, true)],
        &weights,
        false,
        false,
    );
    let virtual_w: Vec<Tensor> = (0..weights.len())
        .map(|i| {
            let m = sgd.momentum_buffer(i).unwrap();
            &w_before[i] - (m * 0.9 + &g[i] + &w_before[i] * 3e-4) * eta
        })
        .collect();
    let set = |vals: &[Tensor]| {
        tch::no_grad(|| {
            for (w, v) in weights.iter().zip(vals) {
                w.shallow_clone().copy_(v);
            }
        })
    };
    set(&virtual_w);
    let inputs: Vec<Tensor> = arch
        .iter()
        .chain(&weights)
        .map(|t| t.shallow_clone())
        .collect();
    let mut grads = Tensor::run_backward(
        &[net.loss(&valid.images, &valid.labels, true)],
        &inputs,
        false,
        false,
    );
    let v = grads.split_off(arch.len());
    let g_alpha = grads;
    set(&w_before);
    let gw = Tensor::run_backward(
        &[net.loss(&train.images, &train.labels, true)],
        &weights,
        true,
        true,
    );
    let dot = gw
        .iter()
        .zip(&v)
        .map(|(a, b)| (a * b).sum(Kind::Double))
        .reduce(|a, b| a + b)
        .unwrap();
    let h = Tensor::run_backward(&[dot], &arch, false, false);
    let expected: Vec<Tensor> = g_alpha.iter().zip(&h).map(|(g, h)| g - h * eta).collect();

    let scale = max_abs(&expected);
    let err = max_diff(&ours, &expected);
    assert!(scale > 0.0);
    assert!(err / scale < 1e-4, "relative error {}", err / scale);
    // The second-order term matters: first order alone is further off.
    let first_order_err = max_diff(&g_alpha, &expected);
    assert!(
        first_order_err > 100.0 * err,
        "first order {first_order_err} vs ours {err}"
    );
    // DARTS's R = 0.01/||v|| gives a finite estimate (on this tiny, very curved network its
    // finite-difference error is large; that is the method's approximation, not a bug).
    assert!(darts_r
        .iter()
        .all(|t| bool::try_from(t.isfinite().all()).unwrap()));
}

#[test]
fn beta_decay_regulariser_value_and_gradient_match_a_hand_computed_case() {
    // Two edges: logsumexp([0, 0]) = ln 2, logsumexp([ln 3, 0]) = ln 4; mean = 1.5 ln 2.
    let a = Tensor::from_slice(&[0.0f64, 0.0, 3f64.ln(), 0.0]).view([2, 2]);
    let (value, grad) = aca_search::beta_decay(&a).unwrap();
    assert!((value - 1.5 * 2f64.ln()).abs() < 1e-12, "{value}");
    let want = [0.25, 0.25, 0.375, 0.125];
    let got = Vec::<f64>::try_from(grad.flatten(0, -1)).unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?}");
    }
    // The same gradient as autograd's.
    let x = a.set_requires_grad(true);
    let r = x
        .logsumexp([-1i64].as_slice(), false)
        .mean(tch::Kind::Double);
    let auto = Tensor::run_backward(&[&r], &[&x], false, false)
        .pop()
        .unwrap();
    assert!(f64::try_from((auto - grad).abs().max()).unwrap() < 1e-12);
}

#[test]
fn robust_method_schedules_follow_the_official_code() {
    let b = aca_search::BetaDartsConfig::default();
    assert_eq!(b.lambda(0.0), 0.0);
    // Official: 50 * epoch / 100 over 50 epochs.
    for epoch in [0usize, 10, 25, 49] {
        assert!((b.lambda(epoch as f64 / 50.0) - 50.0 * epoch as f64 / 100.0).abs() < 1e-12);
    }
    let s = aca_search::SdartsConfig::default();
    // Official: 0.03 + (epsilon_alpha - 0.03) * epoch / epochs, epsilon_alpha 0.3.
    for epoch in [0usize, 7, 49] {
        let want = 0.03 + (0.3 - 0.03) * epoch as f64 / 50.0;
        assert!((s.epsilon(epoch as f64 / 50.0) - want).abs() < 1e-12);
    }
    let d = aca_search::DartsMinusConfig::default();
    // Official DecayScheduler, linear: base * (T_max - epoch) / (T_max - T_start), T_max = 50,
    // over its 50-epoch search; by default aca's horizon is the search's length.
    for epoch in [0usize, 1, 25, 49] {
        assert!((d.beta(epoch, 50) - (50 - epoch) as f64 / 50.0).abs() < 1e-12);
    }
    assert!((d.beta(39, 40) - 1.0 / 40.0).abs() < 1e-12);
    // The code's fixed horizon on a 40-epoch search: 0.22 at its last epoch, 0 from 50 on.
    let fixed = aca_search::DartsMinusConfig {
        decay_max_epoch: Some(50),
        ..d
    };
    assert!((fixed.beta(39, 40) - 11.0 / 50.0).abs() < 1e-12);
    assert_eq!(fixed.beta(60, 80), 0.0);
}

#[test]
fn the_peers_options_round_trip_and_default_to_what_configs_already_hold() {
    // Defaults stay out of a config file, so configs written before the options read the same.
    let o = aca_search::MethodOptions::default();
    let text = serde_json::to_string(&o).unwrap();
    assert!(
        !text.contains("cells") && !text.contains("with_none") && !text.contains("decay_max"),
        "{text}"
    );
    let set: aca_search::MethodOptions = serde_json::from_str(
        r#"{"beta_darts": {"cells": "mean"}, "darts_minus": {"decay_max_epoch": 50},
            "fair_darts": {"with_none": true}, "drnas": {"with_none": true}}"#,
    )
    .unwrap();
    assert_eq!(set.beta_darts.cells, aca_search::BetaCells::Mean);
    assert_eq!(set.darts_minus.decay_max_epoch, Some(50));
    assert!(set.fair_darts.with_none && set.drnas.with_none);
    let back: aca_search::MethodOptions =
        serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
    assert_eq!(back, set);
}

#[test]
fn fair_darts_and_drnas_search_darts_space_without_none_as_their_code_does() {
    use aca_search::{MethodKind, Preset, SearchConfig};
    use aca_space::{Primitive, Space};
    for method in MethodKind::ALL {
        let mut c = SearchConfig::preset(Preset::Tiny, method);
        c.space = Space::Darts;
        let ops = c.op_set().unwrap();
        let none_free = matches!(method, MethodKind::FairDarts | MethodKind::Drnas);
        assert_eq!(ops.contains(Primitive::None), !none_free, "{method}");
        assert_eq!(ops.len(), if none_free { 7 } else { 8 }, "{method}");
        // RobustDARTS's spaces keep their own definitions.
        c.space = Space::S3;
        assert!(c.op_set().unwrap().contains(Primitive::None), "{method}");
    }
    let mut c = SearchConfig::preset(Preset::Tiny, MethodKind::Drnas);
    c.space = Space::Darts;
    c.method_options.drnas.with_none = true;
    assert_eq!(c.op_set().unwrap(), Space::Darts.op_set());
    let mut c = SearchConfig::preset(Preset::Tiny, MethodKind::FairDarts);
    c.space = Space::Darts;
    c.method_options.fair_darts.with_none = true;
    assert_eq!(c.op_set().unwrap(), Space::Darts.op_set());
}

#[test]
fn beta_darts_mean_over_cells_halves_the_summed_regulariser() {
    let alphas = [
        Tensor::randn([14, 8], (Kind::Double, tch::Device::Cpu)),
        Tensor::randn([14, 8], (Kind::Double, tch::Device::Cpu)),
    ];
    let value = |cells| {
        let r = aca_search::Regulariser::BetaDecay(aca_search::BetaDartsConfig {
            cells,
            ..Default::default()
        });
        f64::try_from(r.value(&alphas, 0.5).unwrap()).unwrap()
    };
    let (sum, mean) = (
        value(aca_search::BetaCells::Sum),
        value(aca_search::BetaCells::Mean),
    );
    assert!((sum - 2.0 * mean).abs() < 1e-12, "{sum} {mean}");
}

#[test]
fn beta_darts_adds_exactly_its_regulariser_to_the_first_order_gradient() {
    let _serial = crate::serial();
    tch::manual_seed(0);
    let net = tiny_net(Kind::Double, &OpSet::darts(), None);
    let (train, valid) = (batch(Kind::Double, 4), batch(Kind::Double, 4));
    let sgd = Sgd::new(SgdConfig::default(), net.weights().len());
    let ctx = StepContext {
        net: &net,
        weight_optimizer: &sgd,
        lr: 0.025,
        progress: 0.5,
    };
    let (plain, _) = FirstOrder.arch_gradient(&ctx, &train, &valid).unwrap();
    let beta = aca_search::Regularised {
        inner: FirstOrder,
        regulariser: aca_search::Regulariser::BetaDecay(aca_search::BetaDartsConfig::default()),
    };
    let (reg, _) = beta.arch_gradient(&ctx, &train, &valid).unwrap();
    for (i, a) in net.arch_parameters().iter().enumerate().take(2) {
        let (_, g) = aca_search::beta_decay(a).unwrap();
        let diff = (&reg[i] - &plain[i] - g * 12.5)
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-12, "alphas {i}: {diff}");
    }
}

#[test]
fn darts_minus_auxiliary_skips_add_a_scheduled_skip_to_every_edge() {
    let _serial = crate::serial();
    tch::manual_seed(1);
    let cfg = SearchNetConfig {
        auxiliary_skip: true,
        ..SearchNetConfig::default()
    };
    let plain = SearchNetwork::new(&SearchNetConfig::default(), &OpSet::darts(), Device::Cpu)
        .unwrap()
        .param_count();
    let net = SearchNetwork::new(&cfg, &OpSet::darts(), Device::Cpu).unwrap();
    // Stride-2 edges (8 per reduction cell, cells at C = 32 and 64) get a non-affine
    // FactorizedReduce(C, C): C * C weights each; identity elsewhere.
    assert_eq!(net.param_count() - plain, 8 * (32 * 32 + 64 * 64));
    // The coefficient enters the output: beta = 0 and beta = 1 differ, and beta = 0 is stable.
    let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
    net.set_auxiliary_skip(0.0);
    let a = net.forward_t(&x, false);
    net.set_auxiliary_skip(1.0);
    let b = net.forward_t(&x, false);
    net.set_auxiliary_skip(0.0);
    let c = net.forward_t(&x, false);
    assert!((&a - &b).abs().max().double_value(&[]) > 1e-6);
    assert_eq!((&a - &c).abs().max().double_value(&[]), 0.0);
    // DARTS- and PC-DARTS's partial channels do not combine.
    let pc = SearchNetConfig {
        auxiliary_skip: true,
        partial_channels: Some(4),
        ..SearchNetConfig::default()
    };
    assert!(SearchNetwork::new(&pc, &OpSet::darts(), Device::Cpu).is_err());
}

#[test]
fn sdarts_perturbation_shifts_the_softmaxed_weights_until_cleared() {
    let _serial = crate::serial();
    tch::manual_seed(2);
    let net = tiny_net(Kind::Double, &OpSet::darts(), None);
    let x = batch(Kind::Double, 4);
    let before = net.loss(&x.images, &x.labels, false).double_value(&[]);
    let arch = net.arch_parameters();
    // Subtracting the softmax itself leaves all-zero op weights: every edge outputs zero, and the
    // logits are the classifier's bias alone (the same for every image).
    let minus_softmax = |a: &Tensor| -a.softmax(-1, Kind::Double).detach();
    net.set_perturbation(Some([minus_softmax(&arch[0]), minus_softmax(&arch[1])]));
    let logits = net.forward_t(&x.images, false);
    let spread = (logits.get(0) - logits.get(1))
        .abs()
        .max()
        .double_value(&[]);
    assert!(spread < 1e-12, "{spread}");
    net.set_perturbation(None);
    let after = net.loss(&x.images, &x.labels, false).double_value(&[]);
    assert_eq!(before, after);
}

/// The regulariser's value and its autograd gradient for alphas `a` (one matrix as both cells).
fn regulariser_at(reg: aca_search::Regulariser, a: &Tensor) -> (f64, Tensor) {
    let x = a.set_requires_grad(true);
    let v = reg.value(&[x.shallow_clone()], 0.5).unwrap();
    let g = Tensor::run_backward(&[&v], &[&x], false, false)
        .pop()
        .unwrap();
    (v.double_value(&[]), g)
}

#[test]
fn fair_darts_zero_one_loss_matches_a_hand_computed_case() {
    // sigmoid(ln 3) = 0.75, sigmoid(0) = 0.5: mean((s - 0.5)^2) over 2 entries = 0.0625 / 2.
    let a = Tensor::from_slice(&[3f64.ln(), 0.0]).view([1, 2]);
    let reg = aca_search::Regulariser::ZeroOne(aca_search::FairDartsConfig::default());
    let (value, grad) = regulariser_at(reg, &a);
    assert!((value - (-10.0 * 0.0625 / 2.0)).abs() < 1e-12, "{value}");
    // d/da of -w (s - 0.5)^2 / n = -w * 2 (s - 0.5) s (1 - s) / n.
    let want = [-10.0 * 2.0 * 0.25 * 0.75 * 0.25 / 2.0, 0.0];
    let got = Vec::<f64>::try_from(grad.flatten(0, -1)).unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?}");
    }
}

#[test]
fn drnas_regularisers_match_hand_computed_cases() {
    use aca_search::{DrnasConfig, DrnasRegulariser, Regulariser};
    // alpha (1, 0): concentration elu + 1 = (2, 1); KL(Dir(2, 1) || Dir(1, 1)) = ln 2 - 1/2
    // (lnG(3) - lnG(2) - lnG(1) - lnG(2) + (2 - 1)(psi(2) - psi(3)), psi(3) = psi(2) + 1/2).
    let a = Tensor::from_slice(&[1.0f64, 0.0]).view([1, 2]);
    let kl = Regulariser::Dirichlet(DrnasConfig {
        regulariser: DrnasRegulariser::Kl,
        scale: 1.0,
        ..Default::default()
    });
    let (value, grad) = regulariser_at(kl, &a);
    assert!((value - (2f64.ln() - 0.5)).abs() < 1e-12, "{value}");
    // The gradient against central differences.
    for i in 0..2 {
        let h = 1e-6;
        let bump = |d: f64| {
            let mut v = vec![1.0f64, 0.0];
            v[i] += d;
            let t = Tensor::from_slice(&v).view([1, 2]);
            kl.value(&[t], 0.5).unwrap().double_value(&[])
        };
        let fd = (bump(h) - bump(-h)) / (2.0 * h);
        let g = grad.flatten(0, -1).double_value(&[i as i64]);
        assert!((g - fd).abs() < 1e-6, "op {i}: {g} vs {fd}");
    }
    // Uniform concentrations (alpha = 0) are the prior itself.
    let (zero, _) = regulariser_at(kl, &Tensor::zeros([14, 7], (Kind::Double, Device::Cpu)));
    assert!(zero.abs() < 1e-12, "{zero}");
    // L2: scale / 2 * ||alpha||^2, gradient scale * alpha (the official code's Adam weight decay).
    let l2 = Regulariser::Dirichlet(DrnasConfig::default());
    let (value, grad) = regulariser_at(l2, &Tensor::from_slice(&[3.0f64, -4.0]).view([1, 2]));
    assert!((value - 1e-3 * 12.5).abs() < 1e-15, "{value}");
    let got = Vec::<f64>::try_from(grad.flatten(0, -1)).unwrap();
    assert!(
        (got[0] - 3e-3).abs() < 1e-15 && (got[1] + 4e-3).abs() < 1e-15,
        "{got:?}"
    );
}

#[test]
fn relaxations_give_sigmoid_weights_and_differentiable_dirichlet_samples() {
    use aca_space::Relaxation;
    let _serial = crate::serial();
    tch::manual_seed(4);
    let net_with = |relaxation| {
        let cfg = SearchNetConfig {
            channels: 4,
            layers: 3,
            classes: 3,
            image_channels: 1,
            relaxation,
            ..Default::default()
        };
        let mut net = SearchNetwork::new(&cfg, &OpSet::darts(), Device::Cpu).unwrap();
        net.set_kind(Kind::Double);
        net
    };
    let fair = net_with(Relaxation::Sigmoid);
    let [w, _] = fair.op_weights(true);
    let a = &fair.arch_parameters()[0];
    assert!((&w - a.sigmoid()).abs().max().double_value(&[]) < 1e-15);
    assert_eq!(fair.arch_params().unwrap().relaxation, Relaxation::Sigmoid);

    let dr = net_with(Relaxation::Dirichlet);
    let [s1, _] = dr.op_weights(true);
    let [s2, _] = dr.op_weights(true);
    // Samples: on the simplex, different from draw to draw, the same from the same seed.
    let sums = s1.sum_dim_intlist(-1, false, Kind::Double);
    assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-12);
    assert!((&s1 - &s2).abs().max().double_value(&[]) > 1e-3);
    tch::manual_seed(9);
    let [r1, _] = dr.op_weights(true);
    tch::manual_seed(9);
    let [r2, _] = dr.op_weights(true);
    assert_eq!((&r1 - &r2).abs().max().double_value(&[]), 0.0);
    // Evaluation takes the mean: concentration elu(alpha) + 1 over its sum.
    let [mean, _] = dr.op_weights(false);
    let c = dr.arch_parameters()[0].elu() + 1.0;
    let want = &c / c.sum_dim_intlist(-1, true, Kind::Double);
    assert!((mean - want).abs().max().double_value(&[]) < 1e-15);
    // Pathwise gradients reach the alphas through the sample and through the loss.
    let x = batch(Kind::Double, 4);
    let loss = dr.loss(&x.images, &x.labels, true);
    let g = Tensor::run_backward(&[&loss], &dr.arch_parameters(), false, false);
    assert!(
        max_abs(&g) > 0.0
            && g.iter()
                .all(|t| bool::try_from(t.isfinite().all()).unwrap())
    );
}

#[test]
fn sdarts_clip_keeps_every_edge_on_the_simplex() {
    let p = Tensor::from_slice(&[0.7f64, 0.5, -0.2, -0.1, -0.3, -0.05, 1.4, 0.2, 0.0]).view([3, 3]);
    let c = aca_search::step::clip_edges(&p).unwrap();
    let got = Vec::<f64>::try_from(c.flatten(0, -1)).unwrap();
    // Row 0: (0.7, 0.5, 0) / 1.2. Row 1: all negative -> 1 on the largest (-0.05).
    // Row 2: (1, 0.2, 0) / 1.2.
    let want = [
        0.7 / 1.2,
        0.5 / 1.2,
        0.0,
        0.0,
        0.0,
        1.0,
        1.0 / 1.2,
        0.2 / 1.2,
        0.0,
    ];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?}");
    }
}

#[test]
fn sdarts_adv_perturbation_raises_the_training_loss_within_the_simplex() {
    let _serial = crate::serial();
    tch::manual_seed(6);
    let net = tiny_net(Kind::Double, &OpSet::darts(), None);
    let x = batch(Kind::Double, 8);
    let eps = 0.3;
    let loss_with = |delta: Option<[Tensor; 2]>| {
        net.set_perturbation(delta);
        let l = tch::no_grad(|| net.loss(&x.images, &x.labels, false)).double_value(&[]);
        net.set_perturbation(None);
        l
    };
    let clean = loss_with(None);
    let noise = aca_search::step::uniform_noise(&net, eps, 11).unwrap();
    let rs =
        aca_search::step::sdarts_perturbation(&net, noise.each_ref().map(|t| t.copy()), eps, 0, &x)
            .unwrap();
    let adv = aca_search::step::sdarts_perturbation(&net, noise, eps, 7, &x).unwrap();
    let w = tch::no_grad(|| net.op_weights(false));
    for (d, w) in rs.iter().chain(&adv).zip(w.iter().chain(&w)) {
        let p = w + d;
        let sums = p.sum_dim_intlist(-1, false, Kind::Double);
        assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-12);
        assert!(p.min().double_value(&[]) >= 0.0 && p.max().double_value(&[]) <= 1.0);
    }
    let (l_rs, l_adv) = (loss_with(Some(rs)), loss_with(Some(adv)));
    assert!(
        l_adv > clean,
        "the attack raised nothing: {l_adv} vs clean {clean}"
    );
    assert!(
        l_adv > l_rs,
        "the attack is no stronger than its random start: {l_adv} vs {l_rs}"
    );
}

/// A copy of `net` (same tensors) whose first `n` cells recompute in the backward pass.
fn with_recomputed_cells(net: &SearchNetwork, n: usize) -> SearchNetwork {
    let cfg = SearchNetConfig {
        recompute_cells: n,
        ..net.config().clone()
    };
    let mut copy = SearchNetwork::new(&cfg, net.ops(), Device::Cpu).unwrap();
    copy.set_kind(Kind::Double);
    copy.load_named_tensors(&net.named_tensors()).unwrap();
    copy
}

#[test]
fn recomputed_cells_give_the_stored_passs_weight_and_architecture_steps() {
    let _serial = crate::serial();
    tch::manual_seed(5);
    let start = tiny_net(Kind::Double, &OpSet::darts(), Some(2));
    let (train, valid) = (batch(Kind::Double, 6), batch(Kind::Double, 6));
    // Per network: the weight step's loss and logits, the weights after it, and the first- and
    // second-order architecture gradients there.
    let run = |n: usize| {
        let net = with_recomputed_cells(&start, n);
        let weights = net.weights();
        let mut sgd = Sgd::new(SgdConfig::default(), weights.len());
        let (loss, logits) = weight_step(&net, &mut sgd, &weights, &train, 5.0).unwrap();
        let ctx = StepContext {
            net: &net,
            weight_optimizer: &sgd,
            lr: 0.05,
            progress: 0.0,
        };
        let (first, first_loss) = FirstOrder.arch_gradient(&ctx, &train, &valid).unwrap();
        let (second, second_loss) = Unrolled::default()
            .arch_gradient(&ctx, &train, &valid)
            .unwrap();
        let losses = Tensor::from_slice(&[loss, first_loss, second_loss]);
        let after: Vec<Tensor> = weights.iter().map(Tensor::detach_copy).collect();
        [vec![losses, logits], after, first, second]
    };
    let stored = run(0);
    for n in [1, 3] {
        let recomputed = run(n);
        for (what, (a, b)) in [
            "losses and logits",
            "weights after the step",
            "first order",
            "second order",
        ]
        .iter()
        .zip(stored.iter().zip(&recomputed))
        {
            let (err, scale) = (max_diff(a, b), max_abs(a));
            assert!(scale > 0.0, "{what}");
            assert!(
                err <= 1e-9 * scale,
                "{what}, {n} cells recomputed: {err:e} of {scale:e}"
            );
        }
    }
}
