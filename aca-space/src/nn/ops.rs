//! The DARTS operations as tch modules, shared by the search and the evaluation networks.
//!
//! Every op takes input channels, output channels, stride and affine, so that an op may produce
//! fewer channels than it reads (the evaluation stage of ACA gives an op only part of an edge's
//! channels). One file although long: the ops are one family with one constructor (`Op::new`),
//! each a few lines, compared side by side with DARTS's `operations.py`.
//!
//! One file for the eight primitives and their shared spec: they are one catalogue, read side by
//! side against DARTS's `operations.py`. The layers they are built from live in `layers.rs`.

use tch::nn::{self, ModuleT};
use tch::Tensor;

use crate::error::{Result, SpaceError};
use crate::ops::Primitive;

use super::layers::add_macs;
pub(crate) use super::layers::conv;
pub use super::layers::{
    batch_norm, bn_apply, channels_last, conv2d, conv_apply, count_macs, linear, linear_apply,
    TORCH_DEFAULT_INIT,
};

/// Shape of one op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSpec {
    /// Channels read.
    pub c_in: i64,
    /// Channels produced.
    pub c_out: i64,
    /// 1, or 2 on the reduction cell's input edges.
    pub stride: i64,
    /// Affine BN (evaluation network) or not (search network).
    pub affine: bool,
}

/// ReLU, k x k convolution, BN.
#[derive(Debug)]
pub struct ReluConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl ReluConvBn {
    /// DARTS's `ReLUConvBN(C_in, C_out, kernel, stride, padding, affine)`.
    pub fn new(
        p: nn::Path,
        c_in: i64,
        c_out: i64,
        kernel: i64,
        stride: i64,
        padding: i64,
        affine: bool,
    ) -> Self {
        Self {
            conv: conv(&p / "conv", c_in, c_out, kernel, stride, padding, 1, 1),
            bn: batch_norm(&p / "bn", c_out, affine),
        }
    }
}

impl ModuleT for ReluConvBn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        bn_apply(&conv_apply(&xs.relu(), &self.conv), &self.bn, train)
    }
}

/// ReLU, two 1x1 stride-2 convolutions (one on the input shifted by a pixel), concatenated, BN.
#[derive(Debug)]
pub struct FactorizedReduce {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl FactorizedReduce {
    /// `FactorizedReduce(C_in, C_out)`; `C_out` must be even.
    pub fn new(p: nn::Path, c_in: i64, c_out: i64, affine: bool) -> Result<Self> {
        if c_out % 2 != 0 {
            return Err(SpaceError::InvalidNetwork {
                reason: format!(
                    "FactorizedReduce needs an even number of output channels, got {c_out}"
                ),
            });
        }
        Ok(Self {
            conv1: conv(&p / "conv1", c_in, c_out / 2, 1, 2, 0, 1, 1),
            conv2: conv(&p / "conv2", c_in, c_out / 2, 1, 2, 0, 1, 1),
            bn: batch_norm(&p / "bn", c_out, affine),
        })
    }
}

impl ModuleT for FactorizedReduce {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_after_relu(&xs.relu(), train)
    }
}

impl FactorizedReduce {
    /// The forward pass from the input's ReLU (shared by the ops of a mixed edge).
    fn forward_after_relu(&self, x: &Tensor, train: bool) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        // DARTS shifts by one pixel (x[:, :, 1:, 1:]); on odd sizes a zero row/column at the far
        // edge keeps both halves the same size (even sizes are unchanged).
        let shifted = x.narrow(2, 1, h - 1).narrow(3, 1, w - 1);
        let shifted = if h % 2 == 1 || w % 2 == 1 {
            shifted.constant_pad_nd([0, w % 2, 0, h % 2])
        } else {
            shifted
        };
        let cat = Tensor::cat(
            &[
                strided_pointwise(x, &self.conv1),
                strided_pointwise(&shifted, &self.conv2),
            ],
            1,
        );
        bn_apply(&cat, &self.bn, train)
    }
}

/// Input channels below which a strided 1x1 convolution avoids libtorch's kernel on the CPU:
/// oneDNN's vector block on AVX-512 (16 floats; 8 on AVX2). See [`strided_pointwise`].
const STRIDED_POINTWISE_SAFE_CHANNELS: i64 = 16;

/// A 1x1 convolution at stride 2 without padding, counted by [`count_macs`].
///
/// libtorch 2.11's oneDNN computes its weight gradient on channels-last inputs through a
/// sub-sampled copy of the input ("rtus") and, with 2 to 7 input channels on AVX2 or 2 to 15 on
/// AVX-512 (fewer than its vector block), writes past the end of its buffers: the heap is
/// corrupted, gradients come out wrong (oneDNN issue #6035; docs/benchmarks.md, "A libtorch
/// fault on the CPU"). The convolution reads only the even rows and columns, so with fewer than
/// [`STRIDED_POINTWISE_SAFE_CHANNELS`] input channels the CPU runs it at stride 1 on
/// `x[:, :, ::2, ::2]`: the same sums, without the faulty kernel. Wider inputs keep libtorch's
/// strided kernel, which is sound there and 1.4-3.5x faster than the sub-sampled form.
fn strided_pointwise(x: &Tensor, conv: &nn::Conv2D) -> Tensor {
    let c_in = conv.ws.size()[1];
    if x.device() != tch::Device::Cpu || x.dim() != 4 || c_in >= STRIDED_POINTWISE_SAFE_CHANNELS {
        return conv_apply(x, conv);
    }
    let y = x.slice(2, 0, None, 2).slice(3, 0, None, 2).conv2d(
        &conv.ws,
        conv.bs.as_ref(),
        [1, 1],
        [0, 0],
        [1, 1],
        1,
    );
    add_macs(&y, c_in);
    y
}

/// A cell's preprocessing of input k-2: a factorized reduce when the previous cell reduced,
/// ReLU-conv-BN 1x1 otherwise (DARTS's `preprocess0`).
#[derive(Debug)]
pub enum Preprocess {
    /// After a reduction.
    Reduce(FactorizedReduce),
    /// Otherwise.
    Conv(ReluConvBn),
}

impl Preprocess {
    /// The `pre0` module of a cell of width `c` reading `c_in` channels.
    pub fn new(p: nn::Path, c_in: i64, c: i64, reduction_prev: bool, affine: bool) -> Result<Self> {
        Ok(if reduction_prev {
            Self::Reduce(FactorizedReduce::new(p, c_in, c, affine)?)
        } else {
            Self::Conv(ReluConvBn::new(p, c_in, c, 1, 1, 0, affine))
        })
    }
}

impl ModuleT for Preprocess {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            Self::Reduce(m) => m.forward_t(xs, train),
            Self::Conv(m) => m.forward_t(xs, train),
        }
    }
}

/// The separable convolution block applied twice (stride in the first only).
#[derive(Debug)]
pub struct SepConv {
    dw1: nn::Conv2D,
    pw1: nn::Conv2D,
    bn1: nn::BatchNorm,
    dw2: nn::Conv2D,
    pw2: nn::Conv2D,
    bn2: nn::BatchNorm,
}

impl SepConv {
    fn new(p: nn::Path, s: OpSpec, k: i64, padding: i64) -> Self {
        let c = s.c_in;
        Self {
            dw1: conv(&p / "dw1", c, c, k, s.stride, padding, 1, c),
            pw1: conv(&p / "pw1", c, c, 1, 1, 0, 1, 1),
            bn1: batch_norm(&p / "bn1", c, s.affine),
            dw2: conv(&p / "dw2", c, c, k, 1, padding, 1, c),
            pw2: conv(&p / "pw2", c, s.c_out, 1, 1, 0, 1, 1),
            bn2: batch_norm(&p / "bn2", s.c_out, s.affine),
        }
    }
}

impl ModuleT for SepConv {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_after_relu(&xs.relu(), train)
    }
}

impl SepConv {
    fn forward_after_relu(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = bn_apply(
            &conv_apply(&conv_apply(xs, &self.dw1), &self.pw1),
            &self.bn1,
            train,
        );
        // In place: batch norm's backward reads its input, not its output.
        let _ = x.relu_();
        bn_apply(
            &conv_apply(&conv_apply(&x, &self.dw2), &self.pw2),
            &self.bn2,
            train,
        )
    }
}

/// ReLU, dilated depthwise convolution, 1x1 convolution, BN.
#[derive(Debug)]
pub struct DilConv {
    dw: nn::Conv2D,
    pw: nn::Conv2D,
    bn: nn::BatchNorm,
    /// Stride 2 with DARTS's padding (`k - 1`): see [`DilConv::strided_dw`].
    strided: bool,
    /// Stride 1 with DARTS's padding: see [`DilConv::phased_dw`].
    same: bool,
}

impl DilConv {
    fn new(p: nn::Path, s: OpSpec, k: i64, padding: i64) -> Self {
        Self {
            dw: conv(&p / "dw", s.c_in, s.c_in, k, s.stride, padding, 2, s.c_in),
            pw: conv(&p / "pw", s.c_in, s.c_out, 1, 1, 0, 1, 1),
            bn: batch_norm(&p / "bn", s.c_out, s.affine),
            strided: s.stride == 2 && padding == k - 1,
            same: s.stride == 1 && padding == k - 1,
        }
    }

    /// Whether [`DilConv::phased_dw`] is faster than libtorch's dilated convolution for this
    /// input: on the CPU, at the small images where oneDNN's depthwise kernels give up dilated
    /// convolutions (their weight gradient falls back to im2col and GEMM). Measured forward and
    /// backward at 1 thread (docs/benchmarks.md): 0.3-0.8x with 16 or more channels up to 16x16,
    /// 0.6-0.9x for 5x5 kernels with 8 to 15 channels up to 8x8, slower with fewer channels or
    /// at 32x32 (equal there with 16 or more).
    fn phases_pay(&self, xs: &Tensor) -> bool {
        let size = xs.size();
        if !self.same || xs.device() != tch::Device::Cpu || size.len() != 4 {
            return false;
        }
        let (c, h, w, k) = (size[1], size[2], size[3], self.dw.ws.size()[2]);
        h % 2 == 0
            && w % 2 == 0
            && ((c >= 16 && h <= 16 && w <= 16) || (k == 5 && c >= 8 && h <= 8 && w <= 8))
    }

    /// The depthwise convolution at dilation 2, stride 1 and padding `k - 1` never mixes rows
    /// (or columns) of different parity: the output at even rows and even columns is the same
    /// kernel undilated, padding `(k - 1) / 2`, on the input's even rows and even columns, and
    /// so for the other three parities. So the four sub-images go through one undilated
    /// convolution as a batch of `4n`, one copy in and one out. Same multiply-adds, same values
    /// up to the order of float sums.
    fn phased_dw(&self, xs: &Tensor) -> Tensor {
        let (n, c, h, w) = xs.size4().expect("a 4-d input");
        // [n, h, w, c] -> [row parity, column parity, n, h / 2, w / 2, c], channels-last.
        let phases = xs
            .permute([0, 2, 3, 1])
            .reshape([n, h / 2, 2, w / 2, 2, c])
            .permute([2, 4, 0, 1, 3, 5])
            .reshape([4 * n, h / 2, w / 2, c])
            .permute([0, 3, 1, 2]);
        let y = self
            .undilated_dw(&phases)
            .permute([0, 2, 3, 1])
            .reshape([2, 2, n, h / 2, w / 2, c])
            .permute([2, 3, 0, 4, 1, 5])
            .reshape([n, h, w, c])
            .permute([0, 3, 1, 2]);
        add_macs(&y, self.dw.ws.size()[2].pow(2));
        y
    }

    /// The depthwise convolution at dilation 2, stride 2 and padding `k - 1` reads only the
    /// even rows and columns of its input: output `i` sums `x[2i + 2t - (k - 1)]` over the taps
    /// `t`. So it equals the same kernel undilated at stride 1 and padding `(k - 1) / 2` on the
    /// even-indexed sub-image, which libtorch's CPU kernels run about 10x faster (oneDNN has no
    /// fast path for strided dilated depthwise convolutions; docs/benchmarks.md). Same
    /// multiply-adds, same values up to the order of float sums.
    fn strided_dw(&self, xs: &Tensor) -> Tensor {
        let (h, w) = (xs.size()[2], xs.size()[3]);
        let y = self.undilated_dw(&xs.slice(2, 0, h, 2).slice(3, 0, w, 2));
        add_macs(&y, self.dw.ws.size()[2].pow(2));
        y
    }

    /// The depthwise kernel undilated at stride 1 with "same" padding `(k - 1) / 2`; the
    /// callers count the multiply-adds on the output they return.
    fn undilated_dw(&self, xs: &Tensor) -> Tensor {
        let pad = (self.dw.ws.size()[2] - 1) / 2;
        let groups = self.dw.ws.size()[0];
        xs.conv2d(
            &self.dw.ws,
            None::<Tensor>,
            [1, 1],
            [pad, pad],
            [1, 1],
            groups,
        )
    }
}

impl ModuleT for DilConv {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_after_relu(&xs.relu(), train)
    }
}

impl DilConv {
    fn forward_after_relu(&self, xs: &Tensor, train: bool) -> Tensor {
        let dw = if self.strided && xs.device() == tch::Device::Cpu {
            self.strided_dw(xs)
        } else if self.phases_pay(xs) {
            self.phased_dw(xs)
        } else {
            conv_apply(xs, &self.dw)
        };
        bn_apply(&conv_apply(&dw, &self.pw), &self.bn, train)
    }
}

/// One operation on an edge.
#[derive(Debug)]
pub enum Op {
    /// Zeros at the strided size.
    Zero {
        /// Stride.
        stride: i64,
        /// Channels produced.
        c_out: i64,
    },
    /// The first `c_out` input channels unchanged.
    Identity {
        /// Channels produced.
        c_out: i64,
    },
    /// 3x3 max or average pooling of the first `c_out` channels, with a BN in the search network.
    Pool {
        /// Max (true) or average pooling.
        max: bool,
        /// Stride.
        stride: i64,
        /// Channels produced.
        c_out: i64,
        /// Non-affine BN after pooling (search network only).
        bn: Option<nn::BatchNorm>,
    },
    /// Separable convolution.
    Sep(Box<SepConv>),
    /// Dilated separable convolution.
    Dil(DilConv),
    /// Skip at stride 2.
    Reduce(FactorizedReduce),
    /// RobustDARTS's `noise`: N(0, 1) values in the shape of the (strided) first `c_out`
    /// channels, drawn from libtorch's generator (which the search seeds per step and the
    /// training per epoch, so runs and resumes repeat their draws). In training and test alike,
    /// as RobustDARTS's evaluation network keeps it.
    Noise {
        /// Stride.
        stride: i64,
        /// Channels produced.
        c_out: i64,
    },
}

impl Op {
    /// Builds `primitive` with shape `spec`. `bn_after_pool` adds DARTS's non-affine BN after the
    /// pools (search network).
    pub fn new(
        p: nn::Path,
        primitive: Primitive,
        spec: OpSpec,
        bn_after_pool: bool,
    ) -> Result<Self> {
        if spec.c_out > spec.c_in || spec.c_out < 1 {
            return Err(SpaceError::InvalidNetwork {
                reason: format!(
                    "{primitive}: {} output channels from {} input channels",
                    spec.c_out, spec.c_in
                ),
            });
        }
        Ok(match primitive {
            Primitive::None => Op::Zero {
                stride: spec.stride,
                c_out: spec.c_out,
            },
            Primitive::MaxPool3x3 | Primitive::AvgPool3x3 => Op::Pool {
                max: primitive == Primitive::MaxPool3x3,
                stride: spec.stride,
                c_out: spec.c_out,
                bn: bn_after_pool.then(|| batch_norm(&p / "bn", spec.c_out, false)),
            },
            Primitive::SkipConnect if spec.stride == 1 => Op::Identity { c_out: spec.c_out },
            Primitive::SkipConnect => Op::Reduce(FactorizedReduce::new(
                p,
                spec.c_in,
                spec.c_out,
                spec.affine,
            )?),
            Primitive::SepConv3x3 => Op::Sep(Box::new(SepConv::new(p, spec, 3, 1))),
            Primitive::SepConv5x5 => Op::Sep(Box::new(SepConv::new(p, spec, 5, 2))),
            Primitive::DilConv3x3 => Op::Dil(DilConv::new(p, spec, 3, 2)),
            Primitive::DilConv5x5 => Op::Dil(DilConv::new(p, spec, 5, 4)),
            Primitive::Noise => Op::Noise {
                stride: spec.stride,
                c_out: spec.c_out,
            },
        })
    }

    /// Whether the op has no parameters and passes its input through (DARTS never drops it).
    pub fn is_identity(&self) -> bool {
        matches!(self, Op::Identity { .. })
    }

    /// The BN that ends the op, if it has one: the convolutions', FactorizedReduce's (skip at
    /// stride 2), and the search network's BN after a pool.
    pub fn last_bn(&self) -> Option<&nn::BatchNorm> {
        match self {
            Op::Sep(m) => Some(&m.bn2),
            Op::Dil(m) => Some(&m.bn),
            Op::Reduce(m) => Some(&m.bn),
            Op::Pool { bn, .. } => bn.as_ref(),
            Op::Zero { .. } | Op::Identity { .. } | Op::Noise { .. } => None,
        }
    }

    /// Whether the op starts with a ReLU of its input (the convolutions and FactorizedReduce).
    pub fn starts_with_relu(&self) -> bool {
        matches!(self, Op::Sep(_) | Op::Dil(_) | Op::Reduce(_))
    }

    /// The forward pass given the input and its ReLU, so that the ops of one mixed edge compute
    /// and keep a single ReLU of their shared input (one saved activation instead of one per op).
    /// `relu_xs` must be `xs.relu()`; the result equals [`ModuleT::forward_t`]'s.
    pub fn forward_shared(&self, xs: &Tensor, relu_xs: &Tensor, train: bool) -> Tensor {
        match self {
            Op::Sep(m) => m.forward_after_relu(relu_xs, train),
            Op::Dil(m) => m.forward_after_relu(relu_xs, train),
            Op::Reduce(m) => m.forward_after_relu(relu_xs, train),
            _ => self.forward_t(xs, train),
        }
    }
}

fn first_channels(xs: &Tensor, c: i64) -> Tensor {
    if xs.size()[1] == c {
        xs.shallow_clone()
    } else {
        xs.narrow(1, 0, c)
    }
}

impl ModuleT for Op {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            Op::Zero { stride, c_out } => {
                let x = first_channels(xs, *c_out);
                let x = if *stride == 1 {
                    x
                } else {
                    x.slice(2, 0, None, *stride).slice(3, 0, None, *stride)
                };
                x.zeros_like()
            }
            Op::Identity { c_out } => first_channels(xs, *c_out),
            Op::Noise { stride, c_out } => {
                let x = first_channels(xs, *c_out);
                let x = if *stride == 1 {
                    x
                } else {
                    x.slice(2, 0, None, *stride).slice(3, 0, None, *stride)
                };
                x.randn_like()
            }
            Op::Pool {
                max,
                stride,
                c_out,
                bn,
            } => {
                let x = first_channels(xs, *c_out);
                let y = if *max {
                    x.max_pool2d([3, 3], [*stride, *stride], [1, 1], [1, 1], false)
                } else {
                    x.avg_pool2d([3, 3], [*stride, *stride], [1, 1], false, false, None)
                };
                match bn {
                    Some(bn) => bn_apply(&y, bn, train),
                    None => y,
                }
            }
            Op::Sep(m) => m.forward_t(xs, train),
            Op::Dil(m) => m.forward_t(xs, train),
            Op::Reduce(m) => m.forward_t(xs, train),
        }
    }
}
