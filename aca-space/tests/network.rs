use aca_space::nn::ops::{Op, OpSpec};
use aca_space::nn::{SearchNetConfig, SearchNetwork};
use aca_space::{topology, OpSet, Primitive};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

#[test]
fn every_op_keeps_or_halves_the_size_for_odd_and_even_inputs() {
    tch::manual_seed(0);
    for size in [7i64, 8] {
        for stride in [1i64, 2] {
            for prim in Primitive::ALL {
                for c_out in [4i64, 2] {
                    let vs = VarStore::new(Device::Cpu);
                    let spec = OpSpec {
                        c_in: 4,
                        c_out,
                        stride,
                        affine: true,
                    };
                    let op = Op::new(vs.root(), prim, spec, true).unwrap();
                    let y = op.forward_t(
                        &Tensor::randn([2, 4, size, size], (Kind::Float, Device::Cpu)),
                        true,
                    );
                    let out = (size + stride - 1) / stride;
                    assert_eq!(
                        y.size(),
                        [2, c_out, out, out],
                        "{prim} stride {stride} size {size} c_out {c_out}"
                    );
                }
            }
        }
    }
}

#[test]
fn ops_given_the_shared_relu_compute_what_they_compute_alone() {
    tch::manual_seed(8);
    for stride in [1i64, 2] {
        for prim in Primitive::ALL {
            let vs = VarStore::new(Device::Cpu);
            let spec = OpSpec {
                c_in: 4,
                c_out: 4,
                stride,
                affine: false,
            };
            let op = Op::new(vs.root(), prim, spec, true).unwrap();
            let x = Tensor::randn([2, 4, 8, 8], (Kind::Float, Device::Cpu));
            let alone = op.forward_t(&x, false);
            let shared = op.forward_shared(&x, &x.relu(), false);
            assert_eq!(
                (alone - shared).abs().max().double_value(&[]),
                0.0,
                "{prim} stride {stride}"
            );
        }
    }
}

#[test]
fn batch_norm_of_any_channel_count_equals_libtorchs_and_keeps_the_layout() {
    // Channel counts that are not a multiple of 8 go through the NCHW kernel; the values, the
    // gradients and the channels-last layout must not change.
    tch::manual_seed(5);
    for c in [1i64, 3, 6, 8, 12, 16] {
        for train in [true, false] {
            let vs = VarStore::new(Device::Cpu);
            let bn = aca_space::nn::ops::batch_norm(vs.root() / "bn", c, true);
            let x = aca_space::nn::ops::channels_last(Tensor::randn(
                [4, c, 5, 5],
                (Kind::Float, Device::Cpu),
            ))
            .set_requires_grad(true);
            let r = Tensor::randn([4, c, 5, 5], (Kind::Float, Device::Cpu));
            let grad = |y: &Tensor| {
                Tensor::run_backward(
                    &[(y * &r).sum(Kind::Float)],
                    &[&x, bn.ws.as_ref().unwrap()],
                    false,
                    false,
                )
            };
            let got = aca_space::nn::ops::bn_apply(&x, &bn, train);
            let want = x.apply_t(&bn, train);
            if c > 1 {
                // (With one channel both layouts are the same memory.)
                assert_eq!(got.stride()[1], 1, "C = {c}: the result is channels-last");
            }
            let (g, w) = (grad(&got), grad(&want));
            for (what, a, b) in [
                ("output", &got, &want),
                ("input gradient", &g[0], &w[0]),
                ("gamma gradient", &g[1], &w[1]),
            ] {
                let err = (a - b).abs().max().double_value(&[]);
                assert!(
                    err < 1e-4,
                    "C = {c}, train {train}: {what} differs by {err}"
                );
            }
        }
    }
}

/// Compares a dilated conv op (ReLU, depthwise conv at dilation 2, 1x1 conv, BN in evaluation
/// mode) with libtorch's dilated convolution on the same weights: values and the input's and the
/// depthwise weight's gradients.
fn check_dil_conv(c_in: i64, stride: i64, sizes: &[i64], channels_last: bool) {
    for (prim, k) in [(Primitive::DilConv3x3, 3i64), (Primitive::DilConv5x5, 5)] {
        for &size in sizes {
            let vs = VarStore::new(Device::Cpu);
            let spec = OpSpec {
                c_in,
                c_out: 3,
                stride,
                affine: false,
            };
            let op = Op::new(vs.root(), prim, spec, true).unwrap();
            let vars = vs.variables();
            let (dw, pw) = (&vars["dw.weight"], &vars["pw.weight"]);
            let mut x = Tensor::randn([2, c_in, size, size], (Kind::Float, Device::Cpu));
            if channels_last {
                x = aca_space::nn::ops::channels_last(x);
            }
            let x = x.set_requires_grad(true);
            let reference = |x: &Tensor| {
                let y = x
                    .relu()
                    .conv2d(
                        dw,
                        None::<Tensor>,
                        [stride, stride],
                        [k - 1, k - 1],
                        [2, 2],
                        c_in,
                    )
                    .conv2d(pw, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
                // BN in evaluation mode with fresh running statistics: x / sqrt(1 + eps).
                y / (1.0f64 + 1e-5).sqrt()
            };
            let out = op.forward_t(&x, false);
            let want = reference(&x);
            let case = format!("{prim}, {c_in} channels, stride {stride}, size {size}");
            assert_eq!(out.size(), want.size(), "{case}");
            let r = Tensor::randn(out.size(), (Kind::Float, Device::Cpu));
            let grads = |y: Tensor| {
                let g = Tensor::run_backward(&[(y * &r).sum(Kind::Float)], &[&x, dw], false, false);
                (g[0].copy(), g[1].copy())
            };
            let (gx, gw) = grads(out.shallow_clone());
            let (gx_ref, gw_ref) = grads(want.shallow_clone());
            for (what, a, b) in [
                ("output", &out, &want),
                ("input gradient", &gx, &gx_ref),
                ("weight gradient", &gw, &gw_ref),
            ] {
                let err = (a - b).abs().max().double_value(&[]);
                assert!(err < 1e-5, "{case}: {what} differs by {err}");
            }
        }
    }
}

#[test]
fn strided_dilated_convs_equal_the_dilated_convolution_with_its_gradients() {
    // The op runs a strided dilated depthwise conv as an undilated one on the even sub-image.
    tch::manual_seed(3);
    check_dil_conv(4, 2, &[7, 8, 9], false);
    check_dil_conv(4, 2, &[8], true);
}

#[test]
fn dilated_convs_on_small_images_equal_the_dilated_convolution_with_its_gradients() {
    // At stride 1 on small images the op runs the four parity sub-images through one undilated
    // convolution (16 channels up to 16x16, 5x5 kernels with 8 channels up to 8x8); odd sizes,
    // larger images and fewer channels take libtorch's dilated convolution.
    tch::manual_seed(4);
    for channels_last in [true, false] {
        check_dil_conv(16, 1, &[2, 4, 8, 16, 7, 32], channels_last);
        check_dil_conv(8, 1, &[4, 8, 16], channels_last);
    }
}

#[test]
fn factorized_reduce_equals_darts_strided_convolutions_with_its_gradients() {
    // The op runs its two 1x1 stride-2 convolutions at stride 1 on the even sub-image (libtorch
    // 2.11's strided form corrupts memory on AVX2 with few channels, docs/benchmarks.md). The
    // reference is DARTS's form, computed on NCHW inputs, where libtorch's kernel is sound; the
    // shapes include the faulty ones (2-7 channels, channels-last, 6x6 and larger), so
    // `make test`'s memory check of this binary under valgrind would catch the fault's return.
    tch::manual_seed(5);
    for (c_in, c_out) in [(2i64, 2i64), (4, 2), (6, 6), (7, 4), (16, 8)] {
        for size in [6i64, 7, 8, 9, 16] {
            for channels_last in [true, false] {
                let vs = VarStore::new(Device::Cpu);
                let spec = OpSpec {
                    c_in,
                    c_out,
                    stride: 2,
                    affine: false,
                };
                let op = Op::new(vs.root(), Primitive::SkipConnect, spec, true).unwrap();
                let vars = vs.variables();
                let (w1, w2) = (&vars["conv1.weight"], &vars["conv2.weight"]);
                let x = Tensor::randn([4, c_in, size, size], (Kind::Float, Device::Cpu));
                let x = if channels_last {
                    aca_space::nn::ops::channels_last(x)
                } else {
                    x
                }
                .set_requires_grad(true);
                let reference = |x: &Tensor| {
                    let r = x.relu().contiguous();
                    let shifted = r
                        .narrow(2, 1, size - 1)
                        .narrow(3, 1, size - 1)
                        .constant_pad_nd([0, size % 2, 0, size % 2]);
                    let conv = |x: &Tensor, w: &Tensor| {
                        x.conv2d(w, None::<Tensor>, [2, 2], [0, 0], [1, 1], 1)
                    };
                    let y = Tensor::cat(&[conv(&r, w1), conv(&shifted, w2)], 1);
                    y / (1.0f64 + 1e-5).sqrt() // BN in evaluation mode, fresh statistics
                };
                let out = op.forward_t(&x, false);
                let want = reference(&x);
                let case = format!(
                    "{c_in} -> {c_out} channels, {size}x{size}, channels-last {channels_last}"
                );
                assert_eq!(out.size(), want.size(), "{case}");
                let r = Tensor::randn(out.size(), (Kind::Float, Device::Cpu));
                let grads = |y: &Tensor| {
                    let g = Tensor::run_backward(
                        &[(y * &r).sum(Kind::Float)],
                        &[&x, w1, w2],
                        false,
                        false,
                    );
                    (g[0].copy(), g[1].copy(), g[2].copy())
                };
                let (gx, gw1, gw2) = grads(&out);
                let (gx_ref, gw1_ref, gw2_ref) = grads(&want);
                for (what, a, b) in [
                    ("output", &out, &want),
                    ("input gradient", &gx, &gx_ref),
                    ("conv1 weight gradient", &gw1, &gw1_ref),
                    ("conv2 weight gradient", &gw2, &gw2_ref),
                ] {
                    let err = (a - b).abs().max().double_value(&[]);
                    assert!(err < 1e-4, "{case}: {what} differs by {err}");
                }
            }
        }
    }
}

#[test]
fn every_op_runs_forward_and_backward_on_every_shape_class() {
    // The op shapes both networks meet on the CPU: every primitive at stride 1 and 2, few and
    // many channels (below, at and above oneDNN's vector blocks), narrowed outputs (ACA's
    // allocated ops), odd and even sizes, both layouts, training mode. `scripts/memcheck` runs
    // this test under valgrind on oneDNN's AVX2 kernels, where a kernel that writes out of
    // bounds is reported even when it neither crashes nor changes a value.
    tch::manual_seed(6);
    for prim in Primitive::ALL {
        for stride in [1i64, 2] {
            for (c_in, c_out) in [
                (1i64, 1i64),
                (2, 2),
                (4, 2),
                (6, 4),
                (7, 7),
                (9, 8),
                (16, 6),
            ] {
                if prim == Primitive::SkipConnect && stride == 2 && c_out % 2 == 1 {
                    continue; // FactorizedReduce needs an even width (tested above)
                }
                for size in [7i64, 8, 16] {
                    for channels_last in [true, false] {
                        let vs = VarStore::new(Device::Cpu);
                        let spec = OpSpec {
                            c_in,
                            c_out,
                            stride,
                            affine: true,
                        };
                        let op = Op::new(vs.root(), prim, spec, true).unwrap();
                        let x = Tensor::randn([3, c_in, size, size], (Kind::Float, Device::Cpu));
                        let x = if channels_last {
                            aca_space::nn::ops::channels_last(x)
                        } else {
                            x
                        }
                        .set_requires_grad(true);
                        let y = op.forward_t(&x, true);
                        let case = format!("{prim}, {c_in} -> {c_out}, stride {stride}, {size}x{size}, channels-last {channels_last}");
                        let out = (size + stride - 1) / stride;
                        assert_eq!(y.size(), [3, c_out, out, out], "{case}");
                        if !y.requires_grad() {
                            continue; // `none`: no graph
                        }
                        let mut leaves = vs.trainable_variables();
                        leaves.push(x.shallow_clone());
                        let g = Tensor::run_backward(
                            &[(&y * &y).sum(Kind::Float)],
                            &leaves,
                            false,
                            false,
                        );
                        for (grad, leaf) in g.iter().zip(&leaves) {
                            assert_eq!(grad.size(), leaf.size(), "{case}");
                            let finite = grad.isfinite().all().int64_value(&[]) == 1;
                            assert!(finite, "{case}: a gradient is not finite");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn factorized_reduce_needs_even_channels_and_ops_cannot_widen() {
    let vs = VarStore::new(Device::Cpu);
    let e = Op::new(
        vs.root(),
        Primitive::SkipConnect,
        OpSpec {
            c_in: 5,
            c_out: 5,
            stride: 2,
            affine: true,
        },
        false,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("even number of output channels, got 5"),
        "{e}"
    );
    let e = Op::new(
        vs.root(),
        Primitive::SepConv3x3,
        OpSpec {
            c_in: 4,
            c_out: 8,
            stride: 1,
            affine: true,
        },
        false,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("8 output channels from 4 input channels"),
        "{e}"
    );
}

#[test]
fn pools_and_identity_pass_the_first_channels_and_zero_is_zero() {
    let vs = VarStore::new(Device::Cpu);
    let x = Tensor::arange(2 * 4 * 4 * 4, (Kind::Float, Device::Cpu)).view([2, 4, 4, 4]);
    let id = Op::new(
        vs.root(),
        Primitive::SkipConnect,
        OpSpec {
            c_in: 4,
            c_out: 3,
            stride: 1,
            affine: true,
        },
        false,
    )
    .unwrap();
    assert!(id.is_identity());
    assert!(id.forward_t(&x, true).equal(&x.narrow(1, 0, 3)));
    let max = Op::new(
        vs.root(),
        Primitive::MaxPool3x3,
        OpSpec {
            c_in: 4,
            c_out: 4,
            stride: 1,
            affine: true,
        },
        false,
    )
    .unwrap();
    // A 3x3 max pool of an increasing ramp takes the bottom-right neighbour.
    assert_eq!(max.forward_t(&x, false).double_value(&[0, 0, 0, 0]), 5.0);
    let avg = Op::new(
        vs.root(),
        Primitive::AvgPool3x3,
        OpSpec {
            c_in: 4,
            c_out: 4,
            stride: 1,
            affine: true,
        },
        false,
    )
    .unwrap();
    // Padding is not counted: the corner averages 4 pixels (0, 1, 4, 5).
    assert_eq!(avg.forward_t(&x, false).double_value(&[0, 0, 0, 0]), 2.5);
    let zero = Op::new(
        vs.root(),
        Primitive::None,
        OpSpec {
            c_in: 4,
            c_out: 4,
            stride: 2,
            affine: true,
        },
        false,
    )
    .unwrap();
    let z = zero.forward_t(&x, true);
    assert_eq!(z.size(), [2, 4, 2, 2]);
    assert_eq!(z.abs().sum(Kind::Float).double_value(&[]), 0.0);
}

/// The reference implementation's parameter count, computed from the structure of DARTS's
/// model_search.py independently of the Rust modules.
fn reference_count(
    c: i64,
    layers: usize,
    classes: i64,
    image_channels: i64,
    k: i64,
    with_skip: bool,
) -> i64 {
    let mixed = |cc: i64, stride2: bool| {
        let q = cc / k;
        let convs = 2 * (9 * q + q * q) + 2 * (25 * q + q * q) + (9 * q + q * q) + (25 * q + q * q);
        convs + if with_skip && stride2 { q * q } else { 0 }
    };
    let mut total = image_channels * 3 * c * 9 + 2 * 3 * c;
    let (mut cpp, mut cp, mut cc) = (3 * c, 3 * c, c);
    for i in 0..layers {
        let red = i == layers / 3 || i == 2 * layers / 3;
        if red {
            cc *= 2;
        }
        total += cpp * cc + cp * cc; // FactorizedReduce(cpp, cc) or ReLUConvBN(cpp, cc, 1) both cost cpp*cc
        for e in topology::edges() {
            total += mixed(cc, red && e.input < 2);
        }
        cpp = cp;
        cp = 4 * cc;
    }
    total + cp * classes + classes
}

fn count(
    c: i64,
    layers: usize,
    classes: i64,
    image_channels: i64,
    ops: &OpSet,
    partial: Option<i64>,
) -> i64 {
    let cfg = SearchNetConfig {
        channels: c,
        layers,
        classes,
        image_channels,
        partial_channels: partial,
        edge_normalization: partial.is_some(),
        ..Default::default()
    };
    SearchNetwork::new(&cfg, ops, Device::Cpu)
        .unwrap()
        .param_count()
}

#[test]
fn parameter_counts_equal_the_reference() {
    // DARTS's log line for the CIFAR-10 supernet: "param size = 1.930618MB".
    assert_eq!(count(16, 8, 10, 3, &OpSet::darts(), None), 1_930_618);
    assert_eq!(reference_count(16, 8, 10, 3, 1, true), 1_930_618);
    // The skip-free set loses the 8 stride-2 FactorizedReduce skips of each reduction cell.
    assert_eq!(
        count(16, 8, 10, 3, &OpSet::aca(), None),
        1_930_618 - 8 * (32 * 32 + 64 * 64)
    );
    for (c, layers, classes, img, k) in [(8, 5, 10, 1, 1), (16, 8, 100, 3, 4), (8, 5, 10, 1, 2)] {
        for (ops, skip) in [(OpSet::darts(), true), (OpSet::aca(), false)] {
            let partial = (k > 1).then_some(k);
            assert_eq!(
                count(c, layers, classes, img, &ops, partial),
                reference_count(c, layers, classes, img, k, skip),
                "C={c} layers={layers} classes={classes} K={k} {}",
                ops.name()
            );
        }
    }
}

#[test]
fn search_network_forward_and_genotype() {
    tch::manual_seed(1);
    for partial in [None, Some(2)] {
        let cfg = SearchNetConfig {
            channels: 4,
            layers: 3,
            classes: 5,
            image_channels: 1,
            partial_channels: partial,
            edge_normalization: partial.is_some(),
            ..Default::default()
        };
        let net = SearchNetwork::new(&cfg, &OpSet::aca(), Device::Cpu).unwrap();
        let x = Tensor::randn([2, 1, 9, 9], (Kind::Float, Device::Cpu));
        let logits = net.forward_t(&x, true);
        assert_eq!(logits.size(), [2, 5]);
        let arch = net.arch_parameters();
        assert_eq!(arch.len(), if partial.is_some() { 4 } else { 2 });
        assert_eq!(arch[0].size(), [14, 7]);
        let std = f64::try_from(arch[0].std(true)).unwrap();
        assert!(
            std > 1e-4 && std < 1e-2,
            "alphas start as 1e-3 * N(0,1): std {std}"
        );
        let g = net.genotype().unwrap();
        g.validate_for(&OpSet::aca()).unwrap();
    }
    let bad = SearchNetConfig {
        channels: 6,
        partial_channels: Some(4),
        ..Default::default()
    };
    let e = SearchNetwork::new(&bad, &OpSet::darts(), Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("K = 4 must divide C = 6"), "{e}");
}

#[test]
fn named_tensors_round_trip() {
    tch::manual_seed(2);
    let cfg = SearchNetConfig {
        channels: 4,
        layers: 3,
        classes: 3,
        image_channels: 1,
        ..Default::default()
    };
    let a = SearchNetwork::new(&cfg, &OpSet::aca(), Device::Cpu).unwrap();
    let mut b = SearchNetwork::new(&cfg, &OpSet::aca(), Device::Cpu).unwrap();
    let x = Tensor::randn([2, 1, 8, 8], (Kind::Float, Device::Cpu));
    assert!(!a.forward_t(&x, false).equal(&b.forward_t(&x, false)));
    b.load_named_tensors(&a.named_tensors()).unwrap();
    assert!(a.forward_t(&x, false).equal(&b.forward_t(&x, false)));
    assert!(a
        .named_tensors()
        .iter()
        .any(|(n, _)| n == "arch.alphas_normal"));
    assert!(a
        .named_tensors()
        .iter()
        .any(|(n, _)| n.ends_with("running_mean")));
}

/// Every conv and linear weight lies in ±1/sqrt(fan_in) with the variance of that uniform
/// (PyTorch's default); linear biases in ±1/sqrt(fan_in). Returns how many layers were checked.
pub fn assert_torch_default_init(named: &[(String, Tensor)]) -> usize {
    let mut checked = 0;
    for (name, t) in named {
        let dims = t.size();
        let is_weight = name.ends_with("weight") && (dims.len() == 4 || dims.len() == 2);
        let is_linear_bias = name.ends_with("bias") && name.contains("classifier");
        if !is_weight && !is_linear_bias {
            continue;
        }
        let fan_in = if is_linear_bias {
            let w = named
                .iter()
                .find(|(n, _)| *n == name.replace("bias", "weight"))
                .unwrap();
            w.1.size()[1]
        } else {
            dims[1..].iter().product()
        };
        let bound = 1.0 / (fan_in as f64).sqrt();
        let max = t.abs().max().double_value(&[]);
        assert!(
            max <= bound * (1.0 + 1e-6),
            "{name}: |w| up to {max}, bound {bound}"
        );
        if t.numel() >= 2000 {
            let var = t.to_kind(Kind::Double).var(false).double_value(&[]);
            let want = bound * bound / 3.0;
            assert!(
                (var / want - 1.0).abs() < 0.15,
                "{name}: variance {var:.3e}, PyTorch's default gives {want:.3e}"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn search_network_layers_start_as_pytorch_initialises_them() {
    tch::manual_seed(3);
    let config = SearchNetConfig {
        channels: 8,
        layers: 5,
        ..SearchNetConfig::default()
    };
    let net = SearchNetwork::new(&config, &OpSet::darts(), Device::Cpu).unwrap();
    let checked = assert_torch_default_init(&net.named_tensors());
    // stem, preprocessing, every conv of every op, the classifier and its bias.
    assert!(checked > 300, "only {checked} layers checked");
}

/// Loss, logits, gradients and BN running statistics after one `loss_and_grads` call.
fn one_pass(
    cfg: &SearchNetConfig,
    ops: &OpSet,
    state: &[(String, Tensor)],
    x: &Tensor,
    y: &Tensor,
    train: bool,
    perturbed: bool,
) -> (Tensor, Tensor, Vec<Tensor>, Vec<Tensor>) {
    let mut net = SearchNetwork::new(cfg, ops, Device::Cpu).unwrap();
    net.set_kind(Kind::Double);
    net.load_named_tensors(state).unwrap();
    net.set_auxiliary_skip(0.7);
    let mut wrt = net.weights();
    wrt.extend(net.arch_parameters());
    if perturbed {
        // SDARTS-ADV's case: the gradient with respect to a perturbation of the op weights.
        let edges = net.arch_parameters()[0].size();
        let delta = [0.01, 0.02].map(|v| {
            Tensor::full(edges.as_slice(), v, (Kind::Double, Device::Cpu)).set_requires_grad(true)
        });
        net.set_perturbation(Some([delta[0].shallow_clone(), delta[1].shallow_clone()]));
        wrt.extend(delta);
    }
    tch::manual_seed(11); // DrNAS's Dirichlet draw
    let out = net.loss_and_grads(x, y, train, &wrt).unwrap();
    let buffers = net.buffers().iter().map(Tensor::copy).collect();
    (out.loss, out.logits, out.grads, buffers)
}

#[test]
fn recomputing_cells_gives_the_stored_passs_loss_gradients_and_statistics() {
    tch::manual_seed(3);
    let x = Tensor::randn([3, 1, 8, 8], (Kind::Double, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 3, 1]);
    let plain = SearchNetConfig {
        channels: 4,
        layers: 3,
        classes: 4,
        image_channels: 1,
        ..Default::default()
    };
    let pc = SearchNetConfig {
        partial_channels: Some(2),
        edge_normalization: true,
        ..plain.clone()
    };
    let minus = SearchNetConfig {
        auxiliary_skip: true,
        ..plain.clone()
    };
    let drnas = SearchNetConfig {
        relaxation: aca_space::Relaxation::Dirichlet,
        ..plain.clone()
    };
    // (network, op set, training mode, perturbed, cells recomputed: of 3, a normal then two
    // reduction cells)
    let cases = [
        (&plain, OpSet::darts(), true, false, 3),
        (&plain, OpSet::darts(), true, false, 1),
        (&drnas, OpSet::aca(), true, false, 2),
        (&plain, OpSet::aca(), false, true, 100),
        (&pc, OpSet::darts(), true, false, 2),
        (&minus, OpSet::darts(), true, false, 1),
    ];
    for (cfg, ops, train, perturbed, recompute_cells) in cases {
        tch::manual_seed(7);
        let state = SearchNetwork::new(cfg, &ops, Device::Cpu)
            .unwrap()
            .named_tensors();
        let stored = one_pass(cfg, &ops, &state, &x, &y, train, perturbed);
        let recompute = SearchNetConfig {
            recompute_cells,
            ..cfg.clone()
        };
        let again = one_pass(&recompute, &ops, &state, &x, &y, train, perturbed);
        let what = format!(
            "{} train={train} perturbed={perturbed} recomputed={recompute_cells} {cfg:?}",
            ops.name()
        );
        let close = |a: &Tensor, b: &Tensor, name: &str| {
            assert_eq!(a.defined(), b.defined(), "{name} defined, {what}");
            if a.defined() {
                let diff = f64::try_from((a - b).abs().max()).unwrap();
                let scale = f64::try_from(a.abs().max()).unwrap().max(1e-12);
                assert!(
                    diff <= 1e-10 * scale,
                    "{name}: differs by {diff:e} (scale {scale:e}), {what}"
                );
            }
        };
        close(&stored.0, &again.0, "loss");
        close(&stored.1, &again.1, "logits");
        assert_eq!(stored.2.len(), again.2.len());
        let mut nonzero = 0;
        for (k, (a, b)) in stored.2.iter().zip(&again.2).enumerate() {
            close(a, b, &format!("gradient {k}"));
            if a.defined() && f64::try_from(a.abs().max()).unwrap() > 0.0 {
                nonzero += 1;
            }
        }
        assert!(
            nonzero > stored.2.len() / 2,
            "most gradients are nonzero ({nonzero}), {what}"
        );
        for (k, (a, b)) in stored.3.iter().zip(&again.3).enumerate() {
            close(a, b, &format!("BN statistic {k}"));
        }
    }
}

#[test]
fn noise_draws_fresh_standard_normal_values_in_the_strided_shape() {
    // (Its draws come from libtorch's global generator, which the other tests of this binary
    // share in parallel; that seeded runs repeat them is checked on whole runs, in aca-cli.)
    let vs = VarStore::new(Device::Cpu);
    for stride in [1i64, 2] {
        let spec = OpSpec {
            c_in: 4,
            c_out: 3,
            stride,
            affine: true,
        };
        let op = Op::new(
            vs.root() / format!("noise{stride}"),
            Primitive::Noise,
            spec,
            true,
        )
        .unwrap();
        let x = Tensor::randn([64, 4, 8, 8], (Kind::Float, Device::Cpu));
        let a = op.forward_t(&x, true);
        let b = op.forward_t(&x, false);
        assert_eq!(a.size(), [64, 3, 8 / stride, 8 / stride]);
        assert!(!a.equal(&b), "a new draw on every call");
        let (mean, std) = (
            a.mean(Kind::Float).double_value(&[]),
            a.std(true).double_value(&[]),
        );
        assert!(
            mean.abs() < 0.05 && (std - 1.0).abs() < 0.05,
            "N(0, 1): {mean} {std}"
        );
    }
    assert!(vs.trainable_variables().is_empty(), "noise has no weights");
    assert!(Primitive::Noise.is_parameter_free());
    assert_eq!("noise".parse::<Primitive>().unwrap(), Primitive::Noise);
}

#[test]
fn s4_supernets_run_with_noise_on_every_edge() {
    for space in [aca_space::Space::S4, aca_space::Space::S4Aca] {
        let cfg = SearchNetConfig {
            channels: 4,
            layers: 3,
            ..Default::default()
        };
        let net = SearchNetwork::new(&cfg, &space.op_set(), Device::Cpu).unwrap();
        let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
        let a = net.forward_t(&x, false);
        let b = net.forward_t(&x, false);
        assert!(!a.equal(&b), "{space}: new noise on every pass");
        assert_eq!(a.size(), [2, 10]);
        let g = net.genotype().unwrap();
        assert!(g.validate_for(&space.op_set()).is_ok());
    }
}

/// S1's supernet parameters by hand: the stem (3x3 conv, 3 -> 3C, and an affine BN), per cell the
/// two 1x1 preprocessings (`c_pp x C` and `c_p x C`; a factorized reduce has the same count;
/// non-affine BNs have none), per edge the ops of its pair (sep_conv_3x3: two depthwise 3x3 and
/// two 1x1, `2 (9C + C^2)`; dil_conv_3x3: `9C + C^2`; dil_conv_5x5: `25C + C^2`; skip_connect at
/// stride 2, a factorized reduce: `C^2`; pools and a stride-1 skip: none), and the classifier.
fn s1_params_by_hand(c: i64, layers: usize) -> i64 {
    use aca_space::{topology::cell_slots, Primitive as P};
    let stem = 3 * 3 * c * 9 + 2 * 3 * c;
    let slots = cell_slots(layers, c, (3 * c, 3 * c, false), |_| 4);
    let mut total = stem;
    for s in &slots {
        total += (s.c_prev_prev + s.c_prev) * s.c;
        let pairs = if s.reduction {
            aca_space::S1_REDUCE
        } else {
            aca_space::S1_NORMAL
        };
        for (edge, pair) in topology::edges().zip(pairs) {
            let strided = edge.stride(s.reduction) == 2;
            for op in pair {
                let k = s.c;
                total += match op {
                    P::SepConv3x3 => 2 * (9 * k + k * k),
                    P::DilConv3x3 => 9 * k + k * k,
                    P::DilConv5x5 => 25 * k + k * k,
                    P::SkipConnect if strided => k * k,
                    _ => 0,
                };
            }
        }
    }
    let c_last = slots.last().unwrap().c_out;
    total + c_last * 10 + 10
}

#[test]
fn s1_supernet_counts_equal_the_hand_count_and_robust_dartss_code() {
    // RobustDARTS's own count (automl/RobustDARTS 3dec3fe, `src/search/model_search.py`
    // `Network(C, 10, layers, CrossEntropyLoss(), spaces_dict['s1'])` run on the CPU with torch
    // 2.11, `sum(p.numel() for p in model.parameters())`): 405,146 at DARTS's shape, 71,138 at
    // the tiny one. S1 without the skip has the same: its skips are all at stride 1.
    for (channels, layers, official) in [(16, 8, 405_146), (8, 5, 71_138)] {
        assert_eq!(s1_params_by_hand(channels, layers), official);
        for space in [aca_space::Space::S1, aca_space::Space::S1Aca] {
            let cfg = SearchNetConfig {
                channels,
                layers,
                ..Default::default()
            };
            let net = SearchNetwork::new(&cfg, &space.op_set(), Device::Cpu).unwrap();
            assert_eq!(net.param_count(), official, "{space} C={channels}");
            // Every edge's weights sit on its pair alone, and the derived cell keeps to it.
            let [w, _] = net.op_weights(false);
            let mask = space.op_set().edge_ops().unwrap().clone();
            let w = Vec::<f32>::try_from(w.flatten(0, -1)).unwrap();
            let n = space.op_set().len();
            for (i, v) in w.iter().enumerate() {
                assert!(mask.normal[i / n][i % n] || *v == 0.0);
            }
            let g = net.genotype().unwrap();
            let ops = space.op_set();
            for (cell, pairs) in [
                (aca_space::CellType::Normal, &mask.normal),
                (aca_space::CellType::Reduce, &mask.reduce),
            ] {
                for (i, &(op, input)) in g.cell(cell).iter().enumerate() {
                    let edge = topology::node_offset(i / 2) + input;
                    assert!(
                        pairs[edge][ops.index_of(op).unwrap()],
                        "{space}: {op} on {edge}"
                    );
                }
            }
        }
    }
}
