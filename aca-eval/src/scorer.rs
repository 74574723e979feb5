//! Channel scorers: how important is each output channel of each kept edge.

use std::fmt;

use aca_core::{seed_everything, Cosine, Sgd};
use aca_data::{Augment, Batch, Dataset, Loader, LoaderOptions, Split};
use aca_search::SearchConfig;
use aca_space::nn::{cross_entropy, SearchNetwork};
use aca_space::topology::{node_offset, INPUTS};
use aca_space::{CellType, Genotype, Primitive};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::error::{EvalError, Result};
use crate::network::{EvalNetConfig, EvalNetwork, Setting};
use crate::plan::{ChannelPlan, EdgeScores};

/// What a scorer may use: the finished search run and its data.
#[derive(Debug)]
pub struct ScoringContext<'a> {
    /// The search's configuration.
    pub config: &'a SearchConfig,
    /// The derived genotype.
    pub genotype: &'a Genotype,
    /// The final search network.
    pub supernet: &'a SearchNetwork,
    /// The dataset the search ran on.
    pub data: &'a Dataset,
    /// Its search split.
    pub split: &'a Split,
    /// Where to compute.
    pub device: Device,
    /// At most this many validation batches.
    pub batches: Option<usize>,
}

/// Scores every output channel of every kept edge in every cell.
pub trait ChannelScorer: fmt::Debug {
    /// The scorer's name as `--scorer` writes it.
    fn name(&self) -> &'static str;
    /// Scores `[normal, reduce]`: per kept edge (genotype order), per cell of that type, per
    /// channel.
    fn score(&self, ctx: &ScoringContext<'_>) -> Result<[EdgeScores; 2]>;
}

/// First-order Taylor importance of each channel of the edge's weighted op output
/// `y = w_op * op(x)`: `|sum over batch and pixels of y * dL/dy|` per batch, summed over batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Taylor;

/// The supernet edges a genotype keeps, per cell type: (edge index, op).
pub fn kept_edges(genotype: &Genotype) -> Result<[Vec<(usize, Primitive)>; 2]> {
    let mut out: [Vec<(usize, Primitive)>; 2] = Default::default();
    for (k, cell) in CellType::BOTH.into_iter().enumerate() {
        for (i, &(op, input)) in genotype.cell(cell).iter().enumerate() {
            let edge = node_offset(i / 2) + input;
            if out[k].iter().any(|(e, _)| *e == edge) {
                return Err(EvalError::InvalidPlan {
                    path: None,
                    reason: format!("{cell} cell: node {} takes two ops from state {input}; channel scoring needs distinct edges", i / 2 + INPUTS),
                });
            }
            out[k].push((edge, op));
        }
    }
    Ok(out)
}

impl ChannelScorer for Taylor {
    fn name(&self) -> &'static str {
        "taylor"
    }

    fn score(&self, ctx: &ScoringContext<'_>) -> Result<[EdgeScores; 2]> {
        let c = ctx.config;
        let loader = Loader::new(
            &ctx.data.train,
            &ctx.split.valid,
            &ctx.data.info,
            LoaderOptions {
                batch_size: c.data.batch_size,
                shuffle: false,
                drop_last: false,
                augment: Augment::none(),
                seed: c.seed,
                stream: aca_data::streams::SCORE_TAYLOR,
            },
            ctx.device,
        )?;
        let mut batches = loader
            .epoch(0)
            .take(ctx.batches.unwrap_or(usize::MAX))
            .map(|b| b.map_err(EvalError::from));
        self.score_batches(ctx.supernet, ctx.genotype, &mut batches)
    }
}

impl Taylor {
    /// Taylor scores of `genotype`'s edges in `net` over `batches`.
    pub fn score_batches(
        &self,
        net: &SearchNetwork,
        genotype: &Genotype,
        batches: &mut dyn Iterator<Item = Result<Batch>>,
    ) -> Result<[EdgeScores; 2]> {
        let kept = kept_edges(genotype)?;
        // A sparse cell's dropped edges (`none`) have no op output to score: they are left out
        // of the taps, and `slots` maps each tap back to its edge in the genotype.
        let mut taps_of: [Vec<(usize, Primitive)>; 2] = Default::default();
        let mut slots: [Vec<usize>; 2] = Default::default();
        for k in 0..2 {
            for (slot, &(edge, op)) in kept[k].iter().enumerate() {
                if op != Primitive::None {
                    taps_of[k].push((edge, op));
                    slots[k].push(slot);
                }
            }
        }
        let cell_types: Vec<usize> = net
            .cell_types()
            .iter()
            .map(|&t| usize::from(t == CellType::Reduce))
            .collect();
        let mut scores: [EdgeScores; 2] = Default::default();
        let cells_of = |k: usize| cell_types.iter().filter(|&&t| t == k).count();
        for k in 0..2 {
            scores[k] = vec![vec![Vec::new(); cells_of(k)]; kept[k].len()];
        }
        let mut seen = 0;
        for batch in batches {
            let batch = batch?;
            let (logits, taps) =
                net.forward_with_taps(&batch.images, false, &[&taps_of[0], &taps_of[1]])?;
            let loss = cross_entropy(&logits, &batch.labels);
            let flat: Vec<&Tensor> = taps.iter().flatten().collect();
            let grads = Tensor::f_run_backward(&[&loss], &flat, false, false)?;
            let mut g = grads.iter();
            let mut per_type_cell = [0usize; 2];
            for (cell, cell_taps) in taps.iter().enumerate() {
                let k = cell_types[cell];
                let nth = per_type_cell[k];
                per_type_cell[k] += 1;
                for (tap, y) in cell_taps.iter().enumerate() {
                    let grad = g.next().expect("one gradient per tap");
                    let s = tch::no_grad(|| {
                        y.f_mul(grad)?
                            .f_sum_dim_intlist([0, 2, 3].as_slice(), false, Kind::Double)?
                            .f_abs()
                    })?;
                    let s: Vec<f64> = Vec::<f64>::try_from(s)?;
                    let acc = &mut scores[k][slots[k][tap]][nth];
                    if acc.is_empty() {
                        acc.resize(s.len(), 0.0);
                    }
                    for (a, v) in acc.iter_mut().zip(s) {
                        *a += v as f32;
                    }
                }
            }
            seen += 1;
        }
        if seen == 0 {
            return Err(EvalError::Config {
                field: "batches",
                value: "0".into(),
                reason: "channel scoring needs at least one validation batch".into(),
            });
        }
        Ok(scores)
    }
}

/// |gamma| of each op's last BN in an evaluation network (every channel on its op, the search
/// network's width and depth) warmed up for a few epochs on the search-train split. Ops without
/// a BN (pools, identity) score all channels equally, so they keep them all.
#[derive(Debug, Clone, Copy)]
pub struct BnGamma {
    /// Warm-up epochs.
    pub warmup_epochs: usize,
}

impl Default for BnGamma {
    fn default() -> Self {
        Self { warmup_epochs: 2 }
    }
}

impl ChannelScorer for BnGamma {
    fn name(&self) -> &'static str {
        "bn-gamma"
    }

    fn score(&self, ctx: &ScoringContext<'_>) -> Result<[EdgeScores; 2]> {
        let c = ctx.config;
        let net_cfg = EvalNetConfig {
            channels: c.network.channels,
            layers: c.network.layers,
            classes: c.network.classes,
            image_channels: c.network.image_channels,
            auxiliary: false,
            setting: Setting::Cifar,
        };
        seed_everything(c.seed);
        let net = EvalNetwork::new(
            &ChannelPlan::full(ctx.genotype.clone()),
            &net_cfg,
            ctx.device,
        )?;
        let loader = Loader::new(
            &ctx.data.train,
            &ctx.split.train,
            &ctx.data.info,
            LoaderOptions {
                batch_size: c.data.batch_size,
                shuffle: true,
                drop_last: false,
                augment: c.data.augment.clone(),
                seed: c.seed,
                stream: aca_data::streams::SCORE_BN_GAMMA,
            },
            ctx.device,
        )?;
        let weights = net.weights();
        let mut sgd = Sgd::new(c.weight_optimizer, weights.len());
        let schedule = Cosine {
            base: c.weight_optimizer.lr,
            min: c.lr_min,
            epochs: self.warmup_epochs,
        };
        for epoch in 0..self.warmup_epochs {
            sgd.config.lr = schedule.lr(epoch);
            crate::train::train_epoch(
                &net,
                &weights,
                &mut sgd,
                &loader,
                epoch,
                0.0,
                0.0,
                c.grad_clip,
                &mut |_| {},
            )?;
        }
        let mut scores: [EdgeScores; 2] = Default::default();
        for (k, cell) in CellType::BOTH.into_iter().enumerate() {
            scores[k] = vec![Vec::new(); ctx.genotype.cell(cell).len()];
        }
        for (cell, width, gammas) in net.edge_bn_gammas() {
            let k = usize::from(cell == CellType::Reduce);
            for (j, gamma) in gammas.into_iter().enumerate() {
                let s = match gamma {
                    Some(g) => Vec::<f32>::try_from(g.detach().abs().to_device(Device::Cpu))?,
                    // Pools and the identity have no BN: all their channels score the same.
                    None => vec![1.0; width as usize],
                };
                scores[k][j].push(s);
            }
        }
        Ok(scores)
    }
}

/// A channel scorer, as `--scorer` and configs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScorerKind {
    /// [`Taylor`]: first-order Taylor importance on the final search network.
    Taylor,
    /// [`BnGamma`]: |gamma| of the last BN of each op in a briefly trained evaluation network.
    BnGamma,
}

impl ScorerKind {
    /// Every scorer.
    pub const ALL: [Self; 2] = [Self::Taylor, Self::BnGamma];

    /// The scorer.
    pub fn build(self) -> Box<dyn ChannelScorer> {
        match self {
            Self::Taylor => Box::new(Taylor),
            Self::BnGamma => Box::new(BnGamma::default()),
        }
    }

    /// The name as `--scorer` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Taylor => "taylor",
            Self::BnGamma => "bn-gamma",
        }
    }
}

impl std::str::FromStr for ScorerKind {
    type Err = EvalError;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| EvalError::Config {
                field: "scorer",
                value: name.into(),
                reason: "expected taylor or bn-gamma".into(),
            })
    }
}

impl fmt::Display for ScorerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_names() {
        for s in ScorerKind::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
            assert_eq!(s.name().parse::<ScorerKind>().unwrap(), s);
        }
    }

    #[test]
    fn convolutions_and_strided_skips_end_with_a_bn() {
        use aca_space::nn::ops::{Op, OpSpec};
        use Primitive as P;
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let ends_with_bn = |op: Primitive, stride: i64| {
            let spec = OpSpec {
                c_in: 4,
                c_out: 4,
                stride,
                affine: true,
            };
            let op = Op::new(vs.root() / format!("{op}{stride}"), op, spec, false).unwrap();
            op.last_bn().and_then(|bn| bn.ws.as_ref()).is_some()
        };
        for op in [P::SepConv3x3, P::SepConv5x5, P::DilConv3x3, P::DilConv5x5] {
            assert!(ends_with_bn(op, 1) && ends_with_bn(op, 2), "{op}");
        }
        assert!(ends_with_bn(P::SkipConnect, 2));
        assert!(!ends_with_bn(P::SkipConnect, 1));
        for op in [P::MaxPool3x3, P::AvgPool3x3, P::None] {
            assert!(!ends_with_bn(op, 1) && !ends_with_bn(op, 2), "{op}");
        }
    }

    #[test]
    fn every_edge_of_the_evaluation_network_reports_its_bn() {
        let genotype = aca_space::published("darts_v2").unwrap();
        let config = EvalNetConfig {
            channels: 4,
            layers: 5,
            classes: 3,
            image_channels: 1,
            auxiliary: false,
            setting: Setting::Cifar,
        };
        let net =
            EvalNetwork::new(&ChannelPlan::full(genotype.clone()), &config, Device::Cpu).unwrap();
        let cells = net.edge_bn_gammas();
        let kinds: Vec<CellType> = cells.iter().map(|c| c.0).collect();
        use CellType::{Normal as N, Reduce as R};
        assert_eq!(kinds, [N, R, N, R, N]);
        let widths: Vec<i64> = cells.iter().map(|c| c.1).collect();
        assert_eq!(widths, [4, 8, 8, 16, 16]);
        for (cell, _, gammas) in cells {
            let ops = genotype.cell(cell);
            assert_eq!(gammas.len(), ops.len());
            for (&(op, input), g) in ops.iter().zip(&gammas) {
                let strided = cell == R && input < 2;
                let has = match op {
                    Primitive::MaxPool3x3 | Primitive::AvgPool3x3 => false,
                    Primitive::SkipConnect => strided,
                    _ => true,
                };
                assert_eq!(g.is_some(), has, "{cell} {op} from {input}");
            }
        }
    }
}
