//! DARTS's auxiliary head (CIFAR and ImageNet forms), on the cell two thirds of the way in.

use aca_space::nn::ops::{batch_norm, conv2d, conv_apply, linear, linear_apply};
use tch::nn;
use tch::Tensor;

#[derive(Debug)]
pub(super) struct AuxHead {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: Option<nn::BatchNorm>,
    classifier: nn::Linear,
    imagenet: bool,
}

impl AuxHead {
    pub(super) fn new(p: nn::Path, c: i64, classes: i64, imagenet: bool) -> Self {
        let conv = |p: nn::Path, i, o, k| {
            conv2d(
                p,
                i,
                o,
                k,
                nn::ConvConfig {
                    bias: false,
                    ..Default::default()
                },
            )
        };
        let bn = |p: nn::Path, c| batch_norm(p, c, true);
        Self {
            conv1: conv(&p / "conv1", c, 128, 1),
            bn1: bn(&p / "bn1", 128),
            conv2: conv(&p / "conv2", 128, 768, 2),
            // DARTS's ImageNet head has no BN after its second convolution (kept as in the paper).
            bn2: (!imagenet).then(|| bn(&p / "bn2", 768)),
            classifier: linear(&p / "classifier", 768, classes),
            imagenet,
        }
    }

    pub(super) fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = x.relu();
        let side = x.size()[2];
        // DARTS: AvgPool(5, stride 3) on CIFAR's 8x8 (stride 2 on ImageNet's 14x14), padding not
        // counted. Smaller inputs (small CPU presets) are pooled to 2x2 adaptively instead.
        let x = if self.imagenet && side >= 5 {
            x.avg_pool2d([5, 5], [2, 2], [0, 0], false, false, None)
        } else if !self.imagenet && side >= 8 {
            x.avg_pool2d([5, 5], [3, 3], [0, 0], false, false, None)
        } else {
            x.adaptive_avg_pool2d([2, 2])
        };
        let x = conv_apply(&x, &self.conv1).apply_t(&self.bn1, train).relu();
        let x = conv_apply(&x, &self.conv2);
        let x = match &self.bn2 {
            Some(bn) => x.apply_t(bn, train),
            None => x,
        };
        linear_apply(&x.relu().flatten(1, -1), &self.classifier)
    }
}
