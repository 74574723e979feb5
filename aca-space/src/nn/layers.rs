//! The building blocks the ops and both networks share: tch layers with PyTorch's initialisation,
//! channels-last and BN application, and multiply-add counting.

use tch::nn;
use tch::Tensor;

thread_local! {
    static MACS: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` and counts the multiply-adds of every convolution and linear layer applied through
/// [`conv_apply`] / [`linear_apply`] meanwhile, per image (the batch size is divided out).
pub fn count_macs<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let outer = MACS.with(|m| m.replace(Some(0)));
    let out = f();
    let macs = MACS.with(|m| m.replace(outer)).unwrap_or(0);
    (out, macs)
}

pub(crate) fn add_macs(out: &Tensor, fan_in: i64) {
    MACS.with(|m| {
        if let Some(total) = m.get() {
            let per_image = out.numel() as i64 / out.size()[0].max(1);
            m.set(Some(total + (per_image * fan_in) as u64));
        }
    });
}

/// The same values laid out channels-last (NHWC strides) on the CPU, where libtorch's oneDNN
/// convolutions take a faster path (depthwise ones 2-3x, docs/benchmarks.md); the ops after keep
/// the layout, so the networks convert once, after the stem. Other devices keep their layout.
pub fn channels_last(xs: Tensor) -> Tensor {
    if xs.device() != tch::Device::Cpu || xs.dim() != 4 {
        return xs;
    }
    xs.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Applies a batch norm. On the CPU, libtorch's channels-last BN is vectorised across channels
/// and pays a scalar pass over every position for the channels beyond a multiple of 8: with
/// fewer than 16 channels (PC-DARTS's C/K channels, ACA's small allocated ops) that is 2-10x the
/// NCHW kernel's time (docs/benchmarks.md), so such inputs go through the NCHW kernel, one copy
/// each way; the result is channels-last again. With more channels the copies cost more.
pub fn bn_apply(xs: &Tensor, bn: &nn::BatchNorm, train: bool) -> Tensor {
    let size = xs.size();
    let slow = xs.device() == tch::Device::Cpu
        && size.len() == 4
        && size[1] > 1
        && size[1] < 16
        && size[1] % 8 != 0
        && xs.stride()[1] == 1;
    if slow {
        channels_last(xs.contiguous().apply_t(bn, train))
    } else {
        xs.apply_t(bn, train)
    }
}

/// Applies a convolution, counted by [`count_macs`].
pub fn conv_apply(xs: &Tensor, conv: &nn::Conv2D) -> Tensor {
    let y = xs.apply(conv);
    let w = conv.ws.size();
    add_macs(&y, w[1] * w[2] * w[3]);
    y
}

/// Applies a linear layer, counted by [`count_macs`].
pub fn linear_apply(xs: &Tensor, linear: &nn::Linear) -> Tensor {
    let y = xs.apply(linear);
    add_macs(&y, linear.ws.size()[1]);
    y
}

/// PyTorch's default initialisation of `Conv2d` and `Linear` weights:
/// `kaiming_uniform_(a = sqrt(5))`, i.e. uniform in ±1/sqrt(fan_in) (tch's own default is
/// Kaiming-uniform with the ReLU gain, sqrt(6) ≈ 2.45x wider). Every conv and linear layer of
/// both networks starts from this, as in the original DARTS code.
pub const TORCH_DEFAULT_INIT: nn::Init = nn::Init::Kaiming {
    dist: nn::init::NormalOrUniform::Uniform,
    fan: nn::init::FanInOut::FanIn,
    // gain / sqrt(fan_in) * sqrt(3) = 1 / sqrt(fan_in) with gain = sqrt(1 / 3).
    non_linearity: nn::init::NonLinearity::ExplicitGain(0.577_350_269_189_625_8),
};

/// A 2-D convolution initialised as PyTorch's `Conv2d` (weights by [`TORCH_DEFAULT_INIT`], bias,
/// if any, uniform in ±1/sqrt(fan_in)).
pub fn conv2d(p: nn::Path, c_in: i64, c_out: i64, k: i64, cfg: nn::ConvConfig) -> nn::Conv2D {
    let fan_in = (c_in / cfg.groups.max(1)) * k * k;
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    let cfg = nn::ConvConfig {
        ws_init: TORCH_DEFAULT_INIT,
        bs_init: nn::Init::Uniform {
            lo: -bound,
            up: bound,
        },
        ..cfg
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

/// A linear layer initialised as PyTorch's `Linear` (weights by [`TORCH_DEFAULT_INIT`], bias
/// uniform in ±1/sqrt(fan_in)).
pub fn linear(p: nn::Path, c_in: i64, c_out: i64) -> nn::Linear {
    let cfg = nn::LinearConfig {
        ws_init: TORCH_DEFAULT_INIT,
        bs_init: None, // tch's default bias init is PyTorch's: uniform in ±1/sqrt(fan_in)
        bias: true,
    };
    nn::linear(p, c_in, c_out, cfg)
}

/// PyTorch's `BatchNorm2d`: eps 1e-5, momentum 0.1, weight 1, bias 0 (without them unless
/// `affine`).
pub fn batch_norm(p: nn::Path, c: i64, affine: bool) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        affine,
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, c, cfg)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    p: nn::Path,
    c_in: i64,
    c_out: i64,
    k: i64,
    stride: i64,
    padding: i64,
    dilation: i64,
    groups: i64,
) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding,
        dilation,
        groups,
        bias: false,
        ..Default::default()
    };
    conv2d(p, c_in, c_out, k, cfg)
}
