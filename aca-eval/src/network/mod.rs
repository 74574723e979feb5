//! The evaluation network, built from a channel plan: DARTS's `NetworkCIFAR` / `NetworkImageNet`
//! where each edge's op produces `k` of the `C` channels and the remaining `C - k` are the edge
//! input's channels passed through skip (identity, or FactorizedReduce at stride 2).

use aca_space::nn::ops::{
    batch_norm, channels_last, conv2d, conv_apply, count_macs, linear, linear_apply,
};
use aca_space::topology::cell_slots;
use aca_space::CellType;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::error::{EvalError, Result};
use crate::plan::ChannelPlan;

mod aux_head;
mod cell;

use aux_head::AuxHead;
use cell::EvalCell;

/// The network family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    /// DARTS's `NetworkCIFAR` (any image size and channels; CIFAR is 32x32x3).
    Cifar,
    /// DARTS's `NetworkImageNet` (mobile setting, 224x224).
    Imagenet,
}

/// Shape of an evaluation network. Defaults: DARTS's CIFAR-10 network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalNetConfig {
    /// Initial channels C. DARTS CIFAR: 36; ImageNet: 48.
    pub channels: i64,
    /// Cells. DARTS CIFAR: 20; ImageNet: 14.
    pub layers: usize,
    /// Classes.
    pub classes: i64,
    /// Image channels the stem reads.
    pub image_channels: i64,
    /// Auxiliary head after cell `2*layers/3`.
    pub auxiliary: bool,
    /// CIFAR or ImageNet network.
    pub setting: Setting,
}

impl Default for EvalNetConfig {
    fn default() -> Self {
        Self {
            channels: 36,
            layers: 20,
            classes: 10,
            image_channels: 3,
            auxiliary: true,
            setting: Setting::Cifar,
        }
    }
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per network
enum Stem {
    Cifar {
        conv: nn::Conv2D,
        bn: nn::BatchNorm,
    },
    Imagenet {
        c0a: nn::Conv2D,
        b0a: nn::BatchNorm,
        c0b: nn::Conv2D,
        b0b: nn::BatchNorm,
        c1: nn::Conv2D,
        b1: nn::BatchNorm,
    },
}

/// Logits and, while training with an auxiliary head, the auxiliary logits.
#[derive(Debug)]
pub struct Output {
    /// Main logits.
    pub logits: Tensor,
    /// Auxiliary logits (training only).
    pub aux: Option<Tensor>,
}

/// The evaluation network of a channel plan.
#[derive(Debug)]
pub struct EvalNetwork {
    config: EvalNetConfig,
    vs: nn::VarStore,
    stem: Stem,
    cells: Vec<EvalCell>,
    aux: Option<AuxHead>,
    aux_after: usize,
    classifier: nn::Linear,
    /// Drop-path probability of the current epoch (DARTS: 0.2 * epoch / epochs).
    pub drop_path_prob: f64,
}

impl EvalNetwork {
    /// Builds the network of `plan` on `device`.
    pub fn new(plan: &ChannelPlan, config: &EvalNetConfig, device: Device) -> Result<Self> {
        plan.validate()?;
        if config.channels < 2
            || config.layers < 3
            || config.classes < 1
            || config.image_channels < 1
        {
            return Err(EvalError::Config {
                field: "network",
                value: format!(
                    "C={} layers={} classes={}",
                    config.channels, config.layers, config.classes
                ),
                reason: "expected C >= 2, at least 3 cells and 1 class".into(),
            });
        }
        let c = config.channels;
        {
            let (c_pp, c_p, stem_reduces) = match config.setting {
                Setting::Cifar => (3 * c, 3 * c, false),
                Setting::Imagenet => (c, c, true),
            };
            let slots = cell_slots(config.layers, c, (c_pp, c_p, stem_reduces), |r| {
                plan.genotype.concat(CellType::of(r)).states().len() as i64
            });
            let approx: f64 = config.image_channels as f64 * 3.0 * c as f64 * 9.0
                + slots
                    .iter()
                    .map(|s| {
                        (s.c_prev_prev as f64 + s.c_prev as f64) * s.c as f64
                            + plan
                                .genotype
                                .cell(CellType::of(s.reduction))
                                .iter()
                                .map(|(op, _)| op.approx_params(s.c, s.reduction))
                                .sum::<f64>()
                    })
                    .sum::<f64>();
            aca_space::nn::check_fits("evaluation network", approx, device)?;
        }
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let conv = |p: nn::Path, i, o, k, s| {
            conv2d(
                p,
                i,
                o,
                k,
                nn::ConvConfig {
                    stride: s,
                    padding: k / 2,
                    bias: false,
                    ..Default::default()
                },
            )
        };
        let (stem, c_pp, c_p, stem_reduces) = match config.setting {
            Setting::Cifar => {
                let s = &root / "stem";
                (
                    Stem::Cifar {
                        conv: conv(&s / "conv", config.image_channels, 3 * c, 3, 1),
                        bn: batch_norm(&s / "bn", 3 * c, true),
                    },
                    3 * c,
                    3 * c,
                    false,
                )
            }
            Setting::Imagenet => {
                let s = &root / "stem";
                (
                    Stem::Imagenet {
                        c0a: conv(&s / "c0a", config.image_channels, c / 2, 3, 2),
                        b0a: batch_norm(&s / "b0a", c / 2, true),
                        c0b: conv(&s / "c0b", c / 2, c, 3, 2),
                        b0b: batch_norm(&s / "b0b", c, true),
                        c1: conv(&s / "c1", c, c, 3, 2),
                        b1: batch_norm(&s / "b1", c, true),
                    },
                    c,
                    c,
                    true,
                )
            }
        };
        let aux_after = 2 * config.layers / 3;
        let slots = cell_slots(config.layers, c, (c_pp, c_p, stem_reduces), |r| {
            plan.genotype.concat(CellType::of(r)).states().len() as i64
        });
        let mut cells = Vec::with_capacity(config.layers);
        for s in &slots {
            let cell_type = CellType::of(s.reduction);
            cells.push(EvalCell::new(
                &root / format!("cell{}", s.index),
                &plan.genotype,
                plan.fractions(cell_type),
                s.c_prev_prev,
                s.c_prev,
                s.c,
                s.reduction,
                s.reduction_prev,
            )?);
        }
        let c_aux = slots[aux_after].c_out;
        let c_last = slots.last().map_or(c_p, |s| s.c_out);
        let aux = config.auxiliary.then(|| {
            AuxHead::new(
                &root / "aux",
                c_aux,
                config.classes,
                config.setting == Setting::Imagenet,
            )
        });
        let classifier = linear(&root / "classifier", c_last, config.classes);
        Ok(Self {
            config: config.clone(),
            vs,
            stem,
            cells,
            aux,
            aux_after,
            classifier,
            drop_path_prob: 0.0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EvalNetConfig {
        &self.config
    }

    /// Per cell in network order: its type, its width C, and per edge (genotype order) the
    /// weight (gamma) of the BN that ends the edge's op, or `None` for an op without one (pools,
    /// the identity).
    pub fn edge_bn_gammas(&self) -> Vec<(CellType, i64, Vec<Option<Tensor>>)> {
        self.cells
            .iter()
            .map(|cell| {
                let gammas = cell
                    .edges
                    .iter()
                    .map(|e| e.op.last_bn().and_then(|bn| bn.ws.as_ref()))
                    .map(|ws| ws.map(Tensor::shallow_clone))
                    .collect();
                (cell.cell_type, cell.width, gammas)
            })
            .collect()
    }

    /// Forward pass.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Output {
        let stem = match &self.stem {
            Stem::Cifar { conv, bn } => channels_last(conv_apply(xs, conv).apply_t(bn, train)),
            Stem::Imagenet {
                c0a,
                b0a,
                c0b,
                b0b,
                c1,
                b1,
            } => {
                let s0 = channels_last(
                    conv_apply(&conv_apply(xs, c0a).apply_t(b0a, train).relu(), c0b)
                        .apply_t(b0b, train),
                );
                let s1 = conv_apply(&s0.relu(), c1).apply_t(b1, train);
                return self.cells_forward(s0, s1, train);
            }
        };
        self.cells_forward(stem.shallow_clone(), stem, train)
    }

    fn cells_forward(&self, mut s0: Tensor, mut s1: Tensor, train: bool) -> Output {
        let mut aux = None;
        for (i, cell) in self.cells.iter().enumerate() {
            let s2 = cell.forward_t(&s0, &s1, self.drop_path_prob, train);
            s0 = s1;
            s1 = s2;
            if i == self.aux_after && train {
                aux = self.aux.as_ref().map(|h| h.forward_t(&s1, train));
            }
        }
        let pooled = match self.config.setting {
            Setting::Imagenet if s1.size()[2] >= 7 => {
                s1.avg_pool2d([7, 7], [7, 7], [0, 0], false, true, None)
            }
            _ => s1.adaptive_avg_pool2d([1, 1]),
        };
        Output {
            logits: linear_apply(&pooled.flatten(1, -1), &self.classifier),
            aux,
        }
    }

    /// All trainable weights, auxiliary head included, in creation order.
    pub fn weights(&self) -> Vec<Tensor> {
        self.vs.trainable_variables()
    }

    /// Parameters without the auxiliary head (as DARTS reports them).
    pub fn param_count(&self) -> i64 {
        self.count(|name| !name.starts_with("aux."))
    }

    /// Parameters of the auxiliary head alone.
    pub fn aux_param_count(&self) -> i64 {
        self.count(|name| name.starts_with("aux."))
    }

    fn count(&self, keep: impl Fn(&str) -> bool) -> i64 {
        // Trainable variables require gradients; BN running statistics do not.
        self.vs
            .variables()
            .iter()
            .filter(|(n, t)| keep(n) && t.requires_grad())
            .map(|(_, t)| t.numel() as i64)
            .sum()
    }

    /// Multiply-adds of convolutions and linear layers for one image of `size x size`, without
    /// the auxiliary head.
    pub fn flops(&self, size: i64) -> u64 {
        let x = Tensor::zeros(
            [1, self.config.image_channels, size, size],
            (Kind::Float, self.vs.device()),
        );
        let (_, macs) = tch::no_grad(|| count_macs(|| self.forward_t(&x, false)));
        macs
    }

    /// Every tensor by name (buffers included), for checkpoints.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<_> = self.vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Copies saved tensors into the network; every tensor must be present with its shape.
    pub fn load_named_tensors(&mut self, saved: &[(String, Tensor)]) -> Result<()> {
        Ok(aca_space::nn::copy_named(self.named_tensors(), saved)?)
    }
}
