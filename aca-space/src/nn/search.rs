//! The DARTS search network (supernet), with PC-DARTS's partial channels and edge normalisation
//! as options of the same network, and the relaxations of FairDARTS (sigmoid) and DrNAS (Dirichlet).
//! One file although long: every option changes the same forward pass of one network, and reads
//! best beside it (the gradient checks live in `search_grads`, the widening in `widen`).

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use super::ops::{batch_norm, channels_last, conv, conv_apply, count_macs, linear, linear_apply};
use crate::derive::{ArchParams, OpMask, Relaxation};
use crate::error::{Result, SpaceError};
use crate::genotype::{CellType, Genotype};
use crate::ops::{OpSet, Primitive};
use crate::topology::{cell_slots, EDGES, NODES};

use super::search_cell::SearchCell;

/// Shape of a search network. Defaults: DARTS's CIFAR-10 supernet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchNetConfig {
    /// Initial channels C. DARTS: 16.
    pub channels: i64,
    /// Cells. DARTS: 8.
    pub layers: usize,
    /// Classes.
    pub classes: i64,
    /// Image channels the stem reads (3 for CIFAR, 1 for the MNIST family).
    pub image_channels: i64,
    /// Stem output = `stem_multiplier * C`. DARTS: 3.
    pub stem_multiplier: i64,
    /// PC-DARTS partial channels K: each mixed op sees `C/K` channels; `None` for plain DARTS.
    pub partial_channels: Option<i64>,
    /// PC-DARTS edge normalisation (one beta per edge).
    pub edge_normalization: bool,
    /// DARTS-'s auxiliary skip connection on every edge, outside the softmax (identity, or a
    /// non-affine FactorizedReduce at stride 2), scaled by a coefficient the search schedules
    /// ([`SearchNetwork::set_auxiliary_skip`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auxiliary_skip: bool,
    /// How alphas become op weights: softmax (DARTS), sigmoid (FairDARTS) or a Dirichlet sample
    /// (DrNAS). The search method sets it.
    #[serde(skip_serializing_if = "Relaxation::is_softmax")]
    pub relaxation: Relaxation,
    /// The first N cells recompute their activations in the backward pass instead of keeping
    /// them (gradient checkpointing, one segment per cell) in [`SearchNetwork::loss_and_grads`]:
    /// less memory (the first cells, at the largest images, hold the most) for one more forward
    /// pass of those cells. Gradients equal the stored pass's to rounding. 0 (the default): none,
    /// as DARTS; `layers` or more: every cell.
    #[serde(skip_serializing_if = "is_zero")]
    pub recompute_cells: usize,
}

impl SearchNetConfig {
    /// Checks that the partial channels K, if any, divide C. (The reduction cells, the only
    /// ones with `skip_connect` as a FactorizedReduce, then get an even `2^j C / K`.)
    pub fn check_partial_channels(&self) -> Result<()> {
        match self.partial_channels {
            Some(k) if k < 1 || self.channels % k != 0 => Err(SpaceError::InvalidNetwork {
                reason: format!("partial channels K = {k} must divide C = {}", self.channels),
            }),
            _ => Ok(()),
        }
    }
}

impl Default for SearchNetConfig {
    fn default() -> Self {
        Self {
            channels: 16,
            layers: 8,
            classes: 10,
            image_channels: 3,
            stem_multiplier: 3,
            partial_channels: None,
            edge_normalization: false,
            auxiliary_skip: false,
            relaxation: Relaxation::Softmax,
            recompute_cells: 0,
        }
    }
}

/// The architecture parameters as tensors that take gradients.
#[derive(Debug)]
pub(super) struct ArchTensors {
    pub(super) alphas_normal: Tensor,
    pub(super) alphas_reduce: Tensor,
    pub(super) betas: Option<(Tensor, Tensor)>,
}

/// The DARTS supernet: every edge a [`MixedOp`] over an op set, architecture parameters kept apart
/// from the weights.
#[derive(Debug)]
pub struct SearchNetwork {
    pub(super) config: SearchNetConfig,
    pub(super) ops: OpSet,
    pub(super) weights: nn::VarStore,
    pub(super) arch: nn::VarStore,
    pub(super) arch_tensors: ArchTensors,
    pub(super) stem_conv: nn::Conv2D,
    pub(super) stem_bn: nn::BatchNorm,
    pub(super) cells: Vec<SearchCell>,
    pub(super) classifier: nn::Linear,
    /// DARTS-'s coefficient of the auxiliary skips (used when the config has them).
    pub(super) aux_beta: std::cell::Cell<f64>,
    /// SDARTS's perturbation of the op weights (normal, reduce), added after the softmax.
    pub(super) perturbation: std::cell::RefCell<Option<[Tensor; 2]>>,
    /// The ops still searched per edge after DrNAS's pruning ([`SearchNetwork::prune`]), and the
    /// same as 0/1 tensors (normal, reduce) that multiply the op weights.
    pub(super) op_mask: Option<(OpMask, [Tensor; 2])>,
}

impl SearchNetwork {
    /// Builds the network on `device`; alphas start as `1e-3 * N(0, 1)` (DARTS), as do betas.
    pub fn new(config: &SearchNetConfig, ops: &OpSet, device: Device) -> Result<Self> {
        let invalid = |reason: String| SpaceError::InvalidNetwork { reason };
        if config.channels < 1
            || config.layers < 3
            || config.classes < 1
            || config.image_channels < 1
        {
            return Err(invalid(format!(
                "channels {}, layers {}, classes {}, image channels {}: each must be at least 1 (layers at least 3)",
                config.channels, config.layers, config.classes, config.image_channels
            )));
        }
        if config.auxiliary_skip && config.partial_channels.is_some() {
            return Err(invalid(
                "DARTS-'s auxiliary skip and PC-DARTS's partial channels do not combine here"
                    .into(),
            ));
        }
        config.check_partial_channels()?;
        let c = config.channels;
        let c_stem = config.stem_multiplier * c;
        let slots = cell_slots(config.layers, c, (c_stem, c_stem, false), |_| NODES as i64);
        let op_channels = |c: i64| config.partial_channels.map_or(c, |k| (c / k).max(1));
        let approx: f64 = config.image_channels as f64 * c_stem as f64 * 9.0
            + slots
                .iter()
                .map(|s| {
                    (s.c_prev_prev as f64 + s.c_prev as f64) * s.c as f64
                        + EDGES as f64
                            * ops
                                .ops()
                                .iter()
                                .map(|op| op.approx_params(op_channels(s.c), s.reduction))
                                .sum::<f64>()
                })
                .sum::<f64>();
        super::check_fits("search network", approx, device)?;
        let weights = nn::VarStore::new(device);
        let root = weights.root();
        let stem_conv = conv(
            &root / "stem" / "conv",
            config.image_channels,
            c_stem,
            3,
            1,
            1,
            1,
            1,
        );
        let stem_bn = batch_norm(&root / "stem" / "bn", c_stem, true);
        let mut cells = Vec::with_capacity(config.layers);
        for s in &slots {
            cells.push(SearchCell::new(
                &root / format!("cell{}", s.index),
                ops,
                s.c_prev_prev,
                s.c_prev,
                s.c,
                s.reduction,
                s.reduction_prev,
                config.partial_channels,
                config.auxiliary_skip,
            )?);
        }
        let c_last = slots.last().map_or(c_stem, |s| s.c_out);
        let classifier = linear(&root / "classifier", c_last, config.classes);
        let arch = nn::VarStore::new(device);
        let a = arch.root();
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 1e-3,
        };
        let n_ops = ops.len() as i64;
        let alphas_normal = a.var("alphas_normal", &[EDGES as i64, n_ops], init);
        let alphas_reduce = a.var("alphas_reduce", &[EDGES as i64, n_ops], init);
        let betas = config.edge_normalization.then(|| {
            (
                a.var("betas_normal", &[EDGES as i64], init),
                a.var("betas_reduce", &[EDGES as i64], init),
            )
        });
        let mut net = Self {
            config: config.clone(),
            ops: ops.clone(),
            weights,
            arch,
            arch_tensors: ArchTensors {
                alphas_normal,
                alphas_reduce,
                betas,
            },
            stem_conv,
            stem_bn,
            cells,
            classifier,
            aux_beta: std::cell::Cell::new(1.0),
            perturbation: std::cell::RefCell::new(None),
            op_mask: None,
        };
        // S1's per-edge pairs: the other ops weigh 0 (and were not built).
        net.set_op_mask(None)?;
        Ok(net)
    }

    /// Sets the coefficient of DARTS-'s auxiliary skips (DARTS-: 1 decayed linearly to 0 over the
    /// search); no effect on a network built without them.
    pub fn set_auxiliary_skip(&self, beta: f64) {
        self.aux_beta.set(beta);
    }

    /// Adds `delta` (normal, reduce; each edges x ops) to the relaxed op weights of every
    /// forward pass until cleared with `None` (SDARTS's smoothing of the weight step).
    pub fn set_perturbation(&self, delta: Option<[Tensor; 2]>) {
        *self.perturbation.borrow_mut() = delta;
    }

    /// Converts every tensor (weights, buffers, architecture) to `kind`, e.g. `Kind::Double` for
    /// numerical checks.
    pub fn set_kind(&mut self, kind: Kind) {
        self.weights.set_kind(kind);
        self.arch.set_kind(kind);
    }

    /// The device the network lives on.
    pub fn device(&self) -> Device {
        self.weights.device()
    }

    /// Per cell in network order: its type.
    pub fn cell_types(&self) -> Vec<CellType> {
        self.cells
            .iter()
            .map(|c| CellType::of(c.reduction))
            .collect()
    }

    /// The op set searched.
    pub fn ops(&self) -> &OpSet {
        &self.ops
    }

    /// The configuration.
    pub fn config(&self) -> &SearchNetConfig {
        &self.config
    }

    /// Multiply-adds of one forward pass of one `size x size` image through every op of every
    /// edge (`none` costs nothing), convolutions and the classifier.
    pub fn flops(&self, size: i64) -> u64 {
        let x = Tensor::zeros(
            [1, self.config.image_channels, size, size],
            (Kind::Float, self.device()),
        );
        tch::no_grad(|| count_macs(|| self.forward_t(&x, false))).1
    }

    /// Logits for a batch of images.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_tapped(xs, train, &[[].as_slice(), [].as_slice()])
            .0
    }

    /// Logits, and the weighted op outputs `w * op(x)` named by `taps`: `taps[0]` for normal
    /// cells, `taps[1]` for reduction cells, each a list of (edge index, op) pairs. Returns, per
    /// cell in network order, the tapped tensors in the order of that cell type's list.
    pub fn forward_with_taps(
        &self,
        xs: &Tensor,
        train: bool,
        taps: &[&[(usize, Primitive)]; 2],
    ) -> Result<(Tensor, Vec<Vec<Tensor>>)> {
        let mut cols: [Vec<(usize, i64)>; 2] = Default::default();
        for (k, list) in taps.iter().enumerate() {
            for &(edge, op) in list.iter() {
                let col = self
                    .ops
                    .index_of(op)
                    .ok_or_else(|| SpaceError::InvalidNetwork {
                        reason: format!("op set `{}` does not hold `{op}`", self.ops),
                    })?;
                cols[k].push((edge, col as i64));
            }
        }
        let (logits, tapped) =
            self.forward_tapped(xs, train, &[cols[0].as_slice(), cols[1].as_slice()]);
        Ok((logits, tapped))
    }

    pub(super) fn forward_tapped(
        &self,
        xs: &Tensor,
        train: bool,
        taps: &[&[(usize, i64)]; 2],
    ) -> (Tensor, Vec<Vec<Tensor>>) {
        let relaxed = self.relaxed_weights(train);
        let stem = self.stem(xs, train);
        let (mut s0, mut s1) = (stem.shallow_clone(), stem);
        let mut all_taps = Vec::with_capacity(self.cells.len());
        for cell in &self.cells {
            let (w, e) = relaxed.of(cell.reduction);
            let mut tapped = Vec::new();
            let s2 = cell.forward_t(
                &s0,
                &s1,
                w,
                e,
                self.kept_ops(cell.reduction),
                self.aux_beta.get(),
                train,
                taps[usize::from(cell.reduction)],
                &mut tapped,
            );
            tapped.sort_by_key(|(i, _)| *i);
            all_taps.push(tapped.into_iter().map(|(_, t)| t).collect());
            s0 = s1;
            s1 = s2;
        }
        (self.classify(&s1), all_taps)
    }

    /// The op weights every cell sees (perturbed, if a perturbation is set) and PC-DARTS's edge
    /// weights, differentiable in the architecture parameters.
    pub(super) fn relaxed_weights(&self, train: bool) -> Relaxed {
        let [w_normal, w_reduce] = self.op_weights(train);
        // Out of place: the relaxed weights stay intact for autograd.
        let ops = match self.perturbation.borrow().as_ref() {
            Some([dn, dr]) => [w_normal + dn, w_reduce + dr],
            None => [w_normal, w_reduce],
        };
        let edges = self
            .arch_tensors
            .betas
            .as_ref()
            .map(|(bn, br)| [edge_softmax(bn), edge_softmax(br)]);
        Relaxed { ops, edges }
    }

    pub(super) fn stem(&self, xs: &Tensor, train: bool) -> Tensor {
        channels_last(conv_apply(xs, &self.stem_conv).apply_t(&self.stem_bn, train))
    }

    pub(super) fn classify(&self, last: &Tensor) -> Tensor {
        linear_apply(
            &last.adaptive_avg_pool2d([1, 1]).flatten(1, -1),
            &self.classifier,
        )
    }

    /// The op weights of the normal and the reduction cell (edges x ops) under the network's
    /// relaxation, differentiable in the alphas. A Dirichlet relaxation samples in training passes
    /// (from libtorch's generator: seed it for a reproducible pass) and takes the Dirichlet's mean
    /// otherwise.
    pub fn op_weights(&self, train: bool) -> [Tensor; 2] {
        let a = &self.arch_tensors;
        let relax = |alphas: &Tensor| match self.config.relaxation {
            Relaxation::Softmax => alphas.softmax(-1, alphas.kind()),
            Relaxation::Sigmoid => alphas.sigmoid(),
            Relaxation::Dirichlet => {
                let concentration = alphas.elu() + 1.0;
                let draw = if train {
                    // Gamma draws normalised per edge are a Dirichlet sample; libtorch
                    // differentiates the gamma draw implicitly (pathwise gradient).
                    concentration.internal_standard_gamma()
                } else {
                    concentration
                };
                let total = draw.sum_dim_intlist(-1, true, draw.kind());
                draw / total
            }
        };
        let [normal, reduce] = [relax(&a.alphas_normal), relax(&a.alphas_reduce)];
        match &self.op_mask {
            // DrNAS's `process_step_vector`: pruned ops zeroed, the rest renormalised per edge.
            Some((_, [mask_normal, mask_reduce])) => {
                let prune = |w: Tensor, mask: &Tensor| {
                    let w = w * mask;
                    if self.config.relaxation == Relaxation::Sigmoid {
                        w
                    } else {
                        let total = w.sum_dim_intlist(-1, true, w.kind());
                        w / total
                    }
                };
                [prune(normal, mask_normal), prune(reduce, mask_reduce)]
            }
            None => [normal, reduce],
        }
    }

    /// The kept-op flags of each edge of a cell type, when ops were pruned.
    pub(super) fn kept_ops(&self, reduction: bool) -> Option<&[Vec<bool>]> {
        self.op_mask
            .as_ref()
            .map(|(mask, _)| mask.of(CellType::of(reduction)))
    }

    /// Mean cross-entropy loss of a batch.
    pub fn loss(&self, xs: &Tensor, labels: &Tensor, train: bool) -> Tensor {
        super::cross_entropy(&self.forward_t(xs, train), labels)
    }

    /// The weights in a fixed order (creation order), for the weight optimizer.
    pub fn weights(&self) -> Vec<Tensor> {
        self.weights.trainable_variables()
    }

    /// The architecture parameters: alphas (normal, reduce), then betas if any.
    pub fn arch_parameters(&self) -> Vec<Tensor> {
        let a = &self.arch_tensors;
        let mut out = vec![
            a.alphas_normal.shallow_clone(),
            a.alphas_reduce.shallow_clone(),
        ];
        if let Some((bn, br)) = &a.betas {
            out.push(bn.shallow_clone());
            out.push(br.shallow_clone());
        }
        out
    }

    /// BN running statistics (not trained; saved and restored around virtual steps).
    pub fn buffers(&self) -> Vec<Tensor> {
        let mut named: Vec<_> = self
            .weights
            .variables()
            .into_iter()
            .filter(|(n, _)| n.contains("running_"))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named.into_iter().map(|(_, t)| t).collect()
    }

    /// Number of weights (architecture parameters not counted, as DARTS counts).
    pub fn param_count(&self) -> i64 {
        self.weights
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    /// Every tensor of the network by name, for a checkpoint: `weights.NAME` (buffers included)
    /// and `arch.NAME`.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = self
            .weights
            .variables()
            .into_iter()
            .map(|(n, t)| (format!("weights.{n}"), t))
            .chain(
                self.arch
                    .variables()
                    .into_iter()
                    .map(|(n, t)| (format!("arch.{n}"), t)),
            )
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Copies saved tensors (as [`SearchNetwork::named_tensors`] names them) into the network.
    /// Every tensor of the network must be present with the same shape.
    pub fn load_named_tensors(&mut self, saved: &[(String, Tensor)]) -> Result<()> {
        super::copy_named(self.named_tensors(), saved)
    }

    /// The architecture parameters as plain arrays (for derivation and saving).
    pub fn arch_params(&self) -> Result<ArchParams> {
        let a = &self.arch_tensors;
        let to2 = |t: &Tensor| -> Result<Array2<f32>> {
            let (r, c) = t.size2()?;
            let v = Vec::<f32>::try_from(
                t.detach()
                    .to_device(Device::Cpu)
                    .to_kind(Kind::Float)
                    .flatten(0, -1),
            )?;
            Array2::from_shape_vec((r as usize, c as usize), v).map_err(|e| {
                SpaceError::InvalidNetwork {
                    reason: e.to_string(),
                }
            })
        };
        let to1 = |t: &Tensor| -> Result<Array1<f32>> {
            Ok(Array1::from(Vec::<f32>::try_from(
                t.detach().to_device(Device::Cpu).to_kind(Kind::Float),
            )?))
        };
        let (betas_normal, betas_reduce) = match &a.betas {
            Some((bn, br)) => (Some(to1(bn)?), Some(to1(br)?)),
            None => (None, None),
        };
        Ok(ArchParams {
            normal: to2(&a.alphas_normal)?,
            reduce: to2(&a.alphas_reduce)?,
            betas_normal,
            betas_reduce,
            relaxation: self.config.relaxation,
            kept: self.op_mask.as_ref().map(|(mask, _)| mask.clone()),
        })
    }

    /// The genotype the current architecture parameters derive.
    pub fn genotype(&self) -> Result<Genotype> {
        self.arch_params()?.derive(&self.ops)
    }
}

/// Softmax of betas over each node's incoming edges, as one 14-vector.
fn edge_softmax(betas: &Tensor) -> Tensor {
    let parts: Vec<Tensor> = (0..NODES)
        .map(|node| {
            let start = crate::topology::node_offset(node) as i64;
            betas
                .narrow(0, start, (2 + node) as i64)
                .softmax(-1, betas.kind())
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// The relaxed weights of both cell types: op weights (normal, reduce) and PC-DARTS's edge
/// weights (normal, reduce) when the network has them.
pub(super) struct Relaxed {
    pub(super) ops: [Tensor; 2],
    pub(super) edges: Option<[Tensor; 2]>,
}

impl Relaxed {
    /// The op and edge weights a cell of this type reads.
    pub(super) fn of(&self, reduction: bool) -> (&Tensor, Option<&Tensor>) {
        let k = usize::from(reduction);
        (&self.ops[k], self.edges.as_ref().map(|e| &e[k]))
    }

    /// Op weights (normal, reduce), then edge weights (normal, reduce) if any.
    pub(super) fn list(&self) -> Vec<&Tensor> {
        self.ops.iter().chain(self.edges.iter().flatten()).collect()
    }

    pub(super) fn map(
        &self,
        f: impl Fn(&Tensor) -> Result<Tensor, tch::TchError>,
    ) -> Result<Relaxed> {
        let [n, r] = &self.ops;
        Ok(Relaxed {
            ops: [f(n)?, f(r)?],
            edges: match &self.edges {
                Some([n, r]) => Some([f(n)?, f(r)?]),
                None => None,
            },
        })
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
