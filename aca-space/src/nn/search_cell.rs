//! One cell of the search network: every edge a mixed op (all ops of the set, weighted by the
//! relaxation), with PC-DARTS's partial channels and DARTS-'s auxiliary skip as edge options.

use tch::nn::{self, ModuleT};
use tch::Tensor;

use super::ops::{FactorizedReduce, Op, OpSpec, Preprocess, ReluConvBn};
use crate::error::Result;
use crate::ops::{OpSet, Primitive};
use crate::topology::{edges, NODES};

/// DARTS-'s auxiliary skip of one edge.
#[derive(Debug)]
enum AuxSkip {
    Identity,
    Reduce(Box<FactorizedReduce>),
}

/// A softmax-weighted sum of every op of the set on one edge.
#[derive(Debug)]
struct MixedOp {
    /// (alpha column, op); `none` is left out: its output is exactly zero.
    ops: Vec<(i64, Op)>,
    partial: Option<i64>,
    stride: i64,
    aux: Option<AuxSkip>,
}

impl MixedOp {
    fn new(
        p: nn::Path,
        ops: &OpSet,
        allowed: Option<&[bool]>,
        c: i64,
        stride: i64,
        partial: Option<i64>,
        auxiliary_skip: bool,
    ) -> Result<Self> {
        let aux = if !auxiliary_skip {
            None
        } else if stride == 2 {
            Some(AuxSkip::Reduce(Box::new(FactorizedReduce::new(
                &p / "aux_skip",
                c,
                c,
                false,
            )?)))
        } else {
            Some(AuxSkip::Identity)
        };
        let c_op = partial.map_or(c, |k| c / k);
        let spec = OpSpec {
            c_in: c_op,
            c_out: c_op,
            stride,
            affine: false,
        };
        let built = ops
            .ops()
            .iter()
            .enumerate()
            // `none` is left out (its output is exactly zero), and so are the ops this edge does
            // not search (S1's per-edge pairs).
            .filter(|(col, &prim)| prim != Primitive::None && allowed.is_none_or(|a| a[*col]))
            .map(|(col, &prim)| Ok((col as i64, Op::new(&p / prim.name(), prim, spec, true)?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            ops: built,
            partial,
            stride,
            aux,
        })
    }

    /// The mixed op's output; the weighted output `w * op(x)` of the op in alpha column `tap` is also
    /// pushed to `taps`.
    #[allow(clippy::too_many_arguments)]
    fn forward_tapped(
        &self,
        x: &Tensor,
        weights: &Tensor,
        kept: Option<&[bool]>,
        aux_beta: f64,
        train: bool,
        tap: Option<i64>,
        taps: &mut Vec<Tensor>,
    ) -> Tensor {
        let c = x.size()[1];
        let input = match self.partial {
            Some(k) => x.narrow(1, 0, c / k),
            None => x.shallow_clone(),
        };
        // Ops pruned by DrNAS's progressive search do not run (their weight is 0).
        let active = |col: i64| kept.is_none_or(|k| k[col as usize]);
        // One ReLU per edge, shared by every op that starts with it.
        let relu = self
            .ops
            .iter()
            .any(|(col, op)| active(*col) && op.starts_with_relu())
            .then(|| input.relu());
        let mut out: Option<Tensor> = None;
        for (col, op) in self.ops.iter().filter(|(col, _)| active(*col)) {
            let y = match &relu {
                Some(r) => op.forward_shared(&input, r, train),
                None => op.forward_t(&input, train),
            };
            let w = weights.get(*col);
            out = Some(match out {
                // `acc + y * w` in one pass over the activations (one autograd node, one
                // allocation) instead of two; a tapped op's weighted output is kept whole.
                Some(acc) if tap != Some(*col) => acc.addcmul(&y, &w),
                acc => {
                    let weighted = y * w;
                    if tap == Some(*col) {
                        taps.push(weighted.shallow_clone());
                    }
                    match acc {
                        Some(acc) => acc + weighted,
                        None => weighted,
                    }
                }
            });
        }
        // Only `none` left (an op set of `none` alone, or a pruning that kept nothing else).
        let mut out = out.unwrap_or_else(|| {
            if self.stride == 1 {
                input.zeros_like()
            } else {
                input.slice(2, 0, None, 2).slice(3, 0, None, 2).zeros_like()
            }
        });
        match &self.aux {
            Some(AuxSkip::Identity) => out += x * aux_beta,
            Some(AuxSkip::Reduce(fr)) => out += fr.forward_t(x, train) * aux_beta,
            None => {}
        }
        match self.partial {
            None => out,
            Some(k) => {
                let rest = x.narrow(1, c / k, c - c / k);
                let rest = if self.stride == 2 {
                    rest.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], true)
                } else {
                    rest
                };
                channel_shuffle(&Tensor::cat(&[out, rest], 1), k)
            }
        }
    }
}

/// PC-DARTS's channel shuffle with `groups` groups: channel `j * groups + i` of the result is
/// channel `i * (c / groups) + j` of `x`. The one copy lays the result out channels-last, as the
/// activations around it are.
fn channel_shuffle(x: &Tensor, groups: i64) -> Tensor {
    let (b, c, h, w) = x.size4().expect("a 4-d tensor");
    x.view([b, groups, c / groups, h, w])
        .permute([0, 3, 4, 2, 1])
        .contiguous()
        .view([b, h, w, c])
        .permute([0, 3, 1, 2])
}

#[derive(Debug)]
pub(super) struct SearchCell {
    pre0: Preprocess,
    pre1: ReluConvBn,
    edges: Vec<MixedOp>,
    pub(super) reduction: bool,
}

impl SearchCell {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        p: nn::Path,
        ops: &OpSet,
        c_pp: i64,
        c_p: i64,
        c: i64,
        reduction: bool,
        reduction_prev: bool,
        partial: Option<i64>,
        auxiliary_skip: bool,
    ) -> Result<Self> {
        let pre0 = Preprocess::new(&p / "pre0", c_pp, c, reduction_prev, false)?;
        let pre1 = ReluConvBn::new(&p / "pre1", c_p, c, 1, 1, 0, false);
        let per_edge = ops
            .edge_ops()
            .map(|m| m.of(crate::genotype::CellType::of(reduction)));
        let edges = edges()
            .map(|e| {
                MixedOp::new(
                    &p / format!("edge{}", e.index),
                    ops,
                    per_edge.map(|rows| rows[e.index].as_slice()),
                    c,
                    e.stride(reduction) as i64,
                    partial,
                    auxiliary_skip,
                )
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            pre0,
            pre1,
            edges,
            reduction,
        })
    }

    /// The cell's output; the weighted outputs of the ops named by `taps` ((edge, alpha column)
    /// pairs) are pushed to `tapped` with their position in `taps`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward_t(
        &self,
        s0: &Tensor,
        s1: &Tensor,
        weights: &Tensor,
        edge_weights: Option<&Tensor>,
        kept: Option<&[Vec<bool>]>,
        aux_beta: f64,
        train: bool,
        taps: &[(usize, i64)],
        tapped: &mut Vec<(usize, Tensor)>,
    ) -> Tensor {
        let mut states = vec![
            self.pre0.forward_t(s0, train),
            self.pre1.forward_t(s1, train),
        ];
        for node in 0..NODES {
            let mut sum: Option<Tensor> = None;
            for e in edges().filter(|e| e.node == node) {
                let tap = taps.iter().position(|(edge, _)| *edge == e.index);
                let mut got = Vec::new();
                let mut y = self.edges[e.index].forward_tapped(
                    &states[e.input],
                    &weights.get(e.index as i64),
                    kept.map(|k| k[e.index].as_slice()),
                    aux_beta,
                    train,
                    tap.map(|t| taps[t].1),
                    &mut got,
                );
                if let (Some(t), Some(g)) = (tap, got.pop()) {
                    tapped.push((t, g));
                }
                if let Some(ew) = edge_weights {
                    y *= ew.get(e.index as i64);
                }
                sum = Some(match sum {
                    Some(acc) => acc + y,
                    None => y,
                });
            }
            states.push(sum.expect("every node has incoming edges"));
        }
        Tensor::cat(&states[2..], 1)
    }
}

#[cfg(test)]
mod tests {
    use super::channel_shuffle;
    use crate::nn::ops::channels_last;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn channel_shuffle_interleaves_the_groups_in_either_layout() {
        // 6 channels in 2 groups: [0 1 2 | 3 4 5] -> [0 3 1 4 2 5].
        let x = Tensor::arange(6, (Kind::Float, Device::Cpu)).view([1, 6, 1, 1])
            * Tensor::ones([1, 1, 2, 3], (Kind::Float, Device::Cpu));
        for input in [x.shallow_clone(), channels_last(x.shallow_clone())] {
            let y = channel_shuffle(&input, 2);
            let firsts = Vec::<f32>::try_from(y.select(3, 2).select(2, 1).flatten(0, -1)).unwrap();
            assert_eq!(firsts, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        }
    }
}
