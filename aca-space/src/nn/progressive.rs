//! DrNAS's progressive search on the supernet (Chen et al., ICLR 2021; xiangning-chen/DrNAS,
//! `DARTS-space/train_search.py`): between stages the ops of every edge are pruned to the best
//! few by their alphas, and the partial-channel ops are widened (fewer groups K, more channels
//! per op) with Net2Wider.

use std::collections::BTreeMap;

use tch::{Device, Kind, Tensor};

use super::search::SearchNetwork;
use super::widen::{self, Gathers};
use crate::derive::OpMask;
use crate::error::{Result, SpaceError};
use crate::genotype::CellType;

/// How a widening maps the old network's weights onto the new one's, for the state kept beside
/// each weight (the weight optimizer's momentum buffers, grown the same way).
#[derive(Debug)]
pub struct Widening {
    gathers: Gathers,
    /// The old network's trainable weights' names, in [`SearchNetwork::weights`] order.
    names: Vec<String>,
}

impl Widening {
    /// `state` (shaped like the old network's weight `i`) grown as that weight was.
    pub fn apply(&self, i: usize, state: &Tensor) -> Result<Tensor> {
        let name = self
            .names
            .get(i)
            .ok_or_else(|| SpaceError::InvalidNetwork {
                reason: format!("the widened network has no weight {i}"),
            })?;
        gather(state, self.gathers.get(name).map(Vec::as_slice))
    }
}

fn gather(t: &Tensor, steps: Option<&[(i64, Vec<i64>)]>) -> Result<Tensor> {
    let mut out = t.shallow_clone();
    for (dim, index) in steps.into_iter().flatten() {
        let index = Tensor::f_from_slice(index)?.f_to_device(out.device())?;
        out = out.f_index_select(*dim, &index)?;
    }
    Ok(out)
}

impl SearchNetwork {
    /// The ops still searched per edge, if any were pruned.
    pub fn op_mask(&self) -> Option<&OpMask> {
        self.op_mask.as_ref().map(|(mask, _)| mask)
    }

    /// Sets the ops still searched per edge (pruned ones no longer run, the others' weights are
    /// renormalised per edge); `None` restores the op set's own (every op, or S1's pairs).
    pub fn set_op_mask(&mut self, mask: Option<OpMask>) -> Result<()> {
        let mask = mask.or_else(|| self.ops.edge_ops().cloned());
        self.op_mask = match mask {
            None => None,
            Some(mask) => {
                mask.validate(self.ops.len())
                    .map_err(|e| SpaceError::InvalidNetwork {
                        reason: e.to_string(),
                    })?;
                let kind = self.arch_tensors.alphas_normal.kind();
                let to_tensor = |rows: &[Vec<bool>]| -> Result<Tensor> {
                    let flat: Vec<f32> = rows
                        .iter()
                        .flatten()
                        .map(|&k| if k { 1.0 } else { 0.0 })
                        .collect();
                    Ok(Tensor::f_from_slice(&flat)?
                        .f_view([rows.len() as i64, self.ops.len() as i64])?
                        .f_to_kind(kind)?
                        .f_to_device(self.device())?)
                };
                let tensors = [
                    to_tensor(mask.of(CellType::Normal))?,
                    to_tensor(mask.of(CellType::Reduce))?,
                ];
                Some((mask, tensors))
            }
        };
        Ok(())
    }

    /// DrNAS's pruning (`utils.prune`): per edge, the `keep` ops with the largest alphas among
    /// those still searched stay (ties to the lower op index), their alphas unchanged; every
    /// other alpha becomes 0 and its op is masked out.
    pub fn prune(&mut self, keep: usize) -> Result<()> {
        let n_ops = self.ops.len();
        let keep = keep.clamp(1, n_ops);
        let mut mask = self
            .op_mask()
            .cloned()
            .unwrap_or_else(|| OpMask::all(&self.ops));
        for (cell, alphas) in [
            (CellType::Normal, &self.arch_tensors.alphas_normal),
            (CellType::Reduce, &self.arch_tensors.alphas_reduce),
        ] {
            let values = Vec::<f32>::try_from(
                alphas
                    .detach()
                    .f_to_device(Device::Cpu)?
                    .f_to_kind(Kind::Float)?
                    .f_flatten(0, -1)?,
            )?;
            let rows = match cell {
                CellType::Normal => &mut mask.normal,
                CellType::Reduce => &mut mask.reduce,
            };
            let mut pruned = vec![0f32; values.len()];
            for (edge, kept) in rows.iter_mut().enumerate() {
                let row = &values[edge * n_ops..(edge + 1) * n_ops];
                // Already pruned ops sit 1e6 lower, as DrNAS subtracts before its topk.
                let score: Vec<f32> = (0..n_ops)
                    .map(|op| row[op] - if kept[op] { 0.0 } else { 1e6 })
                    .collect();
                let mut order: Vec<usize> = (0..n_ops).collect();
                order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
                *kept = vec![false; n_ops];
                for &op in &order[..keep] {
                    kept[op] = true;
                    pruned[edge * n_ops + op] = score[op];
                }
            }
            let pruned = Tensor::f_from_slice(&pruned)?
                .f_view(alphas.size().as_slice())?
                .f_to_kind(alphas.kind())?
                .f_to_device(alphas.device())?;
            tch::no_grad(|| alphas.shallow_clone().f_copy_(&pruned))?;
        }
        self.set_op_mask(Some(mask))
    }

    /// The same network with PC-DARTS's partial channels set to `partial_channels` (DrNAS's
    /// `wider(k)`): architecture parameters, op mask and every weight carried over, the mixed
    /// ops' weights grown by Net2Wider with copies drawn from `seed`. The [`Widening`] grows the
    /// weight optimizer's state alike.
    pub fn widened(&self, partial_channels: Option<i64>, seed: u64) -> Result<(Self, Widening)> {
        let mut config = self.config.clone();
        config.partial_channels = partial_channels;
        let mut net = SearchNetwork::new(&config, &self.ops, self.device())?;
        net.set_kind(self.arch_tensors.alphas_normal.kind());
        net.aux_beta.set(self.aux_beta.get());
        net.set_op_mask(self.op_mask().cloned())?;
        let old = self.weights.variables();
        let new = net.weights.variables();
        let shapes = |vars: &std::collections::HashMap<String, Tensor>| -> BTreeMap<_, _> {
            vars.iter().map(|(n, t)| (n.clone(), t.size())).collect()
        };
        let gathers = widen::plan(&shapes(&old), &shapes(&new), seed)?;
        tch::no_grad(|| -> Result<()> {
            for (name, mut target) in new {
                let grown = gather(&old[&name], gathers.get(&name).map(Vec::as_slice))?;
                target.f_copy_(&grown)?;
            }
            let old_arch = self.arch.variables();
            for (name, mut target) in net.arch.variables() {
                target.f_copy_(&old_arch[&name])?;
            }
            Ok(())
        })?;
        let names = self.weight_names();
        Ok((net, Widening { gathers, names }))
    }

    /// The names of [`SearchNetwork::weights`], in its order.
    fn weight_names(&self) -> Vec<String> {
        let by_address: std::collections::HashMap<usize, String> = self
            .weights
            .variables()
            .into_iter()
            .map(|(n, t)| (t.data_ptr() as usize, n))
            .collect();
        self.weights()
            .iter()
            .map(|t| by_address[&(t.data_ptr() as usize)].clone())
            .collect()
    }
}
