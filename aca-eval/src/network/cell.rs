//! One cell of the evaluation network: each edge's op on its `k` channels, the rest refilled
//! from the edge's input (identity, or FactorizedReduce at stride 2), and DARTS's drop path.

use aca_space::nn::ops::{FactorizedReduce, Op, OpSpec, Preprocess, ReluConvBn};
use aca_space::topology::INPUTS;
use aca_space::{CellType, Genotype};
use tch::nn::{self, ModuleT};
use tch::Tensor;

use crate::error::Result;
use crate::plan::op_channels;

/// The skip part of an edge: the input's channels `k..C`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per edge
enum Refill {
    Identity {
        from: i64,
        count: i64,
    },
    Reduce {
        from: i64,
        count: i64,
        fr: FactorizedReduce,
    },
}

#[derive(Debug)]
pub(super) struct Edge {
    pub(super) op: Op,
    refill: Option<Refill>,
    input: usize,
}

impl Edge {
    fn forward_t(&self, x: &Tensor, drop_prob: f64, train: bool) -> Tensor {
        let mut y = self.op.forward_t(x, train);
        // Not on the identity (DARTS), nor on a sparse cell's dropped edge (zeros).
        if train && drop_prob > 0.0 && !self.op.is_identity() && !matches!(self.op, Op::Zero { .. })
        {
            y = drop_path(&y, drop_prob);
        }
        match &self.refill {
            None => y,
            Some(Refill::Identity { from, count }) => {
                Tensor::cat(&[y, x.narrow(1, *from, *count)], 1)
            }
            Some(Refill::Reduce { from, count, fr }) => {
                Tensor::cat(&[y, fr.forward_t(&x.narrow(1, *from, *count), train)], 1)
            }
        }
    }
}

/// DARTS's drop path: each sample's output zeroed with probability `p`, survivors scaled by 1/(1-p).
fn drop_path(x: &Tensor, p: f64) -> Tensor {
    let keep = 1.0 - p;
    let mask = Tensor::empty([x.size()[0], 1, 1, 1], (x.kind(), x.device())).bernoulli_float_(keep);
    // DARTS's `x.div_(keep).mul_(mask)` with one pass over x instead of two.
    x * (mask / keep)
}

#[derive(Debug)]
pub(super) struct EvalCell {
    pub(super) cell_type: CellType,
    pub(super) width: i64,
    pre0: Preprocess,
    pre1: ReluConvBn,
    pub(super) edges: Vec<Edge>,
    concat: Vec<usize>,
}

impl EvalCell {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        p: nn::Path,
        genotype: &Genotype,
        fractions: &[f64],
        c_pp: i64,
        c_p: i64,
        c: i64,
        reduction: bool,
        reduction_prev: bool,
    ) -> Result<Self> {
        let cell = if reduction {
            CellType::Reduce
        } else {
            CellType::Normal
        };
        let pre0 = Preprocess::new(&p / "pre0", c_pp, c, reduction_prev, true)?;
        let pre1 = ReluConvBn::new(&p / "pre1", c_p, c, 1, 1, 0, true);
        let mut edges = Vec::new();
        for (i, (&(prim, input), &f)) in genotype.cell(cell).iter().zip(fractions).enumerate() {
            let stride = if reduction && input < INPUTS { 2 } else { 1 };
            let k = op_channels(f, c, stride);
            let ep = &p / format!("edge{i}");
            let op = Op::new(
                &ep / prim.name(),
                prim,
                OpSpec {
                    c_in: c,
                    c_out: k,
                    stride,
                    affine: true,
                },
                false,
            )?;
            let refill = match (k < c, stride) {
                (false, _) => None,
                (true, 1) => Some(Refill::Identity {
                    from: k,
                    count: c - k,
                }),
                (true, _) => Some(Refill::Reduce {
                    from: k,
                    count: c - k,
                    fr: FactorizedReduce::new(&ep / "refill", c - k, c - k, true)?,
                }),
            };
            edges.push(Edge { op, refill, input });
        }
        Ok(Self {
            pre0,
            pre1,
            edges,
            concat: genotype.concat(cell).states().to_vec(),
            cell_type: cell,
            width: c,
        })
    }

    pub(super) fn forward_t(
        &self,
        s0: &Tensor,
        s1: &Tensor,
        drop_prob: f64,
        train: bool,
    ) -> Tensor {
        let s0 = self.pre0.forward_t(s0, train);
        let mut states = vec![s0, self.pre1.forward_t(s1, train)];
        for pair in self.edges.chunks(2) {
            let h1 = pair[0].forward_t(&states[pair[0].input], drop_prob, train);
            let h2 = pair[1].forward_t(&states[pair[1].input], drop_prob, train);
            states.push(h1 + h2);
        }
        Tensor::cat(
            &self
                .concat
                .iter()
                .map(|&i| states[i].shallow_clone())
                .collect::<Vec<_>>(),
            1,
        )
    }
}
