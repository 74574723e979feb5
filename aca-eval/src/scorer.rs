//! Channel scorers: how important is each output channel of each kept edge.

use std::fmt;

use aca_data::Batch;
use aca_space::nn::{cross_entropy, SearchNetwork};
use aca_space::topology::{node_offset, INPUTS};
use aca_space::{CellType, Genotype, Primitive};
use tch::{Kind, Tensor};

use crate::error::{EvalError, Result};
use crate::plan::EdgeScores;

/// Scores every output channel of every kept edge in every search cell.
pub trait ChannelScorer: fmt::Debug {
    /// The scorer's name as `--scorer` writes it.
    fn name(&self) -> &'static str;
    /// Scores `[normal, reduce]`: per kept edge (genotype order), per search cell of that type,
    /// per channel.
    fn score(
        &self,
        net: &SearchNetwork,
        genotype: &Genotype,
        batches: &mut dyn Iterator<Item = Result<Batch>>,
    ) -> Result<[EdgeScores; 2]>;
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

    fn score(
        &self,
        net: &SearchNetwork,
        genotype: &Genotype,
        batches: &mut dyn Iterator<Item = Result<Batch>>,
    ) -> Result<[EdgeScores; 2]> {
        let kept = kept_edges(genotype)?;
        let cell_types: Vec<usize> = net.cell_types().iter().map(|&r| usize::from(r)).collect();
        let mut scores: [EdgeScores; 2] = Default::default();
        let mut seen = 0;
        for batch in batches {
            let batch = batch?;
            let (logits, taps) =
                net.forward_with_taps(&batch.images, false, &[&kept[0], &kept[1]])?;
            let loss = cross_entropy(&logits, &batch.labels);
            let flat: Vec<&Tensor> = taps.iter().flatten().collect();
            let grads = Tensor::f_run_backward(&[&loss], &flat, false, false)?;
            let mut g = grads.iter();
            let mut per_type_cell = [0usize; 2];
            for (cell, cell_taps) in taps.iter().enumerate() {
                let k = cell_types[cell];
                let nth = per_type_cell[k];
                per_type_cell[k] += 1;
                for (edge, y) in cell_taps.iter().enumerate() {
                    let grad = g.next().expect("one gradient per tap");
                    let s = tch::no_grad(|| {
                        y.f_mul(grad)?
                            .f_sum_dim_intlist([0, 2, 3].as_slice(), false, Kind::Double)?
                            .f_abs()
                    })?;
                    let s: Vec<f64> = Vec::<f64>::try_from(s)?;
                    let slot = &mut scores[k];
                    if slot.len() <= edge {
                        slot.resize(edge + 1, Vec::new());
                    }
                    if slot[edge].len() <= nth {
                        slot[edge].resize(nth + 1, Vec::new());
                    }
                    let acc = &mut slot[edge][nth];
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

/// A scorer by name.
pub fn scorer(name: &str) -> Result<Box<dyn ChannelScorer>> {
    match name {
        "taylor" => Ok(Box::new(Taylor)),
        _ => Err(EvalError::Config {
            field: "scorer",
            value: name.into(),
            reason: "expected taylor".into(),
        }),
    }
}
