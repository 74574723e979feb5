//! Deriving a discrete genotype from architecture parameters, exactly as DARTS and PC-DARTS do.

use std::path::Path;

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SpaceError};
use crate::genotype::{CellType, Concat, GenePair, Genotype};
use crate::ops::{OpSet, Primitive};
use crate::topology::{node_offset, EDGES, INPUTS, NODES};

/// The architecture parameters of a search: alpha logits per cell type (14 edges x ops), and
/// for PC-DARTS the edge-normalisation logits (betas, 14 per cell type).
///
/// JSON form: `{"normal": [[..], ..], "reduce": [[..], ..]}` with optional `betas_normal`,
/// `betas_reduce`; `alphas_normal`/`alphas_reduce` (DARTS's attribute names) are read too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchParams {
    /// Normal-cell alphas, one row per edge.
    #[serde(alias = "alphas_normal", with = "matrix")]
    pub normal: Array2<f32>,
    /// Reduction-cell alphas, one row per edge.
    #[serde(alias = "alphas_reduce", with = "matrix")]
    pub reduce: Array2<f32>,
    /// PC-DARTS edge-normalisation logits of the normal cell.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "vector")]
    pub betas_normal: Option<Array1<f32>>,
    /// PC-DARTS edge-normalisation logits of the reduction cell.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "vector")]
    pub betas_reduce: Option<Array1<f32>>,
    /// How the alphas become op weights (DARTS's softmax unless a method says otherwise).
    #[serde(default, skip_serializing_if = "Relaxation::is_softmax")]
    pub relaxation: Relaxation,
    /// The ops a progressive search kept on each edge (DrNAS's pruning); `None`: every op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<OpMask>,
}

/// Which ops of each edge are still searched, per cell type (14 rows of one flag per op):
/// DrNAS's pruning between its two stages. Pruned ops get weight 0 and the others' weights are
/// renormalised, as DrNAS's `process_step_vector` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpMask {
    /// Normal cell: `normal[edge][op]` is true when the op is kept.
    pub normal: Vec<Vec<bool>>,
    /// Reduction cell.
    pub reduce: Vec<Vec<bool>>,
}

impl OpMask {
    /// Every op of `ops` kept on every edge.
    pub fn all(ops: &OpSet) -> Self {
        let rows = vec![vec![true; ops.len()]; EDGES];
        Self {
            normal: rows.clone(),
            reduce: rows,
        }
    }

    /// The flags of one cell type.
    pub fn of(&self, cell: CellType) -> &[Vec<bool>] {
        match cell {
            CellType::Normal => &self.normal,
            CellType::Reduce => &self.reduce,
        }
    }

    /// Checks the shape (14 edges x `n_ops`) and that every edge keeps an op.
    pub fn validate(&self, n_ops: usize) -> Result<()> {
        for cell in CellType::BOTH {
            let rows = self.of(cell);
            if rows.len() != EDGES || rows.iter().any(|r| r.len() != n_ops) {
                return Err(SpaceError::InvalidAlphas {
                    reason: format!("the {cell} cell's op mask is not {EDGES} edges x {n_ops} ops"),
                });
            }
            if let Some(edge) = rows.iter().position(|r| !r.contains(&true)) {
                return Err(SpaceError::InvalidAlphas {
                    reason: format!("the {cell} cell's op mask keeps no op on edge {edge}"),
                });
            }
        }
        Ok(())
    }

    /// Zeroes the pruned ops' weights in `w` (edges x ops) and, for a relaxation whose weights
    /// sum to 1 per edge, renormalises the kept ones.
    fn apply(&self, cell: CellType, w: &mut Array2<f32>, renormalise: bool) {
        for (mut row, kept) in w.axis_iter_mut(Axis(0)).zip(self.of(cell)) {
            for (v, &k) in row.iter_mut().zip(kept) {
                if !k {
                    *v = 0.0;
                }
            }
            let sum = row.sum();
            if renormalise && sum > 0.0 {
                row /= sum;
            }
        }
    }
}

/// How a method turns an edge's alphas into op weights: the relaxation is part of the method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relaxation {
    /// DARTS: softmax over the edge's ops (the ops compete).
    #[default]
    Softmax,
    /// FairDARTS (Chu et al., ECCV 2020): an independent sigmoid per op (no competition).
    Sigmoid,
    /// DrNAS (Chen et al., ICLR 2021): weights sampled from `Dirichlet(elu(alpha) + 1)` in every
    /// training pass. Deterministic uses (derivation, evaluation) take DrNAS's own choices: the
    /// genotype from the softmax of the alphas, evaluation at the Dirichlet mean.
    Dirichlet,
}

impl Relaxation {
    /// The name in configuration files: `softmax`, `sigmoid` or `dirichlet`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Softmax => "softmax",
            Self::Sigmoid => "sigmoid",
            Self::Dirichlet => "dirichlet",
        }
    }

    /// Whether this is DARTS's softmax (the default, left out of saved files).
    pub fn is_softmax(&self) -> bool {
        *self == Self::Softmax
    }

    /// The op weights the genotype is derived from, one row per edge: softmax (DARTS, and DrNAS's
    /// genotype) or sigmoid (FairDARTS).
    pub fn weights(self, alphas: ArrayView2<f32>) -> Array2<f32> {
        match self {
            Self::Softmax | Self::Dirichlet => softmax_rows(alphas),
            Self::Sigmoid => alphas.mapv(|v| 1.0 / (1.0 + (-v).exp())),
        }
    }
}

impl ArchParams {
    /// Reads the JSON form from a file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SpaceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        serde_json::from_str(text).map_err(|e| SpaceError::InvalidAlphas {
            reason: format!("{}: {e}", path.display()),
        })
    }

    /// Alphas of one cell type.
    pub fn alphas(&self, cell: CellType) -> &Array2<f32> {
        match cell {
            CellType::Normal => &self.normal,
            CellType::Reduce => &self.reduce,
        }
    }

    /// Betas of one cell type, if any.
    pub fn betas(&self, cell: CellType) -> Option<&Array1<f32>> {
        match cell {
            CellType::Normal => self.betas_normal.as_ref(),
            CellType::Reduce => self.betas_reduce.as_ref(),
        }
    }

    /// Checks shapes against `ops` (14 x |ops|, 14 betas) and that every value is finite.
    pub fn validate(&self, ops: &OpSet) -> Result<()> {
        let invalid = |reason: String| SpaceError::InvalidAlphas { reason };
        if let Some(kept) = &self.kept {
            kept.validate(ops.len())?;
        }
        if self.betas_normal.is_some() != self.betas_reduce.is_some() {
            return Err(invalid(
                "give both betas_normal and betas_reduce, or neither".into(),
            ));
        }
        for cell in CellType::BOTH {
            let a = self.alphas(cell);
            if a.dim() != (EDGES, ops.len()) {
                return Err(invalid(format!(
                    "{cell} alphas are {}x{}, expected {EDGES}x{} ({EDGES} edges x the {} ops of op set `{ops}`)",
                    a.nrows(),
                    a.ncols(),
                    ops.len(),
                    ops.len()
                )));
            }
            if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(invalid(format!(
                    "{cell} alphas: edge {} op {} is {v}",
                    i / ops.len(),
                    i % ops.len()
                )));
            }
            if let Some(b) = self.betas(cell) {
                if b.len() != EDGES {
                    return Err(invalid(format!(
                        "betas_{cell} has {} values, expected {EDGES}",
                        b.len()
                    )));
                }
                if let Some(v) = b.iter().find(|v| !v.is_finite()) {
                    return Err(invalid(format!("betas_{cell} holds {v}")));
                }
            }
        }
        Ok(())
    }

    /// The relaxation of each edge's alphas (softmax for DARTS), pruned ops zeroed and the rest
    /// renormalised when some were pruned (DrNAS).
    pub fn op_weights(&self, cell: CellType) -> Array2<f32> {
        let mut w = self.relaxation.weights(self.alphas(cell).view());
        if let Some(kept) = &self.kept {
            kept.apply(cell, &mut w, self.relaxation != Relaxation::Sigmoid);
        }
        w
    }

    /// The op weights DARTS derives from: [`ArchParams::op_weights`], times the edge's
    /// normalised beta when betas are present (PC-DARTS).
    pub fn weights(&self, cell: CellType) -> Array2<f32> {
        let mut w = self.op_weights(cell);
        if let Some(b) = self.betas(cell) {
            let e = edge_weights(b);
            for (mut row, scale) in w.axis_iter_mut(Axis(0)).zip(e.iter()) {
                row *= *scale;
            }
        }
        w
    }

    /// Derives a sparse genotype with FairDARTS's threshold rule ([`sparse_cell`]) from the op
    /// weights ([`ArchParams::weights`]: FairDARTS's sigmoids).
    pub fn derive_sparse(&self, ops: &OpSet, threshold: f32) -> Result<Genotype> {
        self.validate(ops)?;
        let normal = sparse_cell(
            self.weights(CellType::Normal).view(),
            ops,
            threshold,
            CellType::Normal,
        )?;
        let reduce = sparse_cell(
            self.weights(CellType::Reduce).view(),
            ops,
            threshold,
            CellType::Reduce,
        )?;
        Genotype::new(normal.0, normal.1, reduce.0, reduce.1)
    }

    /// Derives the genotype with DARTS's rule (PC-DARTS's when betas are present).
    pub fn derive(&self, ops: &OpSet) -> Result<Genotype> {
        self.validate(ops)?;
        Genotype::new(
            derive_cell(self.weights(CellType::Normal).view(), ops)?,
            Concat::intermediate(),
            derive_cell(self.weights(CellType::Reduce).view(), ops)?,
            Concat::intermediate(),
        )
    }
}

/// Softmax over each row, in f32 as DARTS computes it.
pub fn softmax_rows(a: ArrayView2<f32>) -> Array2<f32> {
    let mut out = a.to_owned();
    for mut row in out.axis_iter_mut(Axis(0)) {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    out
}

/// PC-DARTS edge normalisation: softmax of the betas over each node's incoming edges.
pub fn edge_weights(betas: &Array1<f32>) -> Array1<f32> {
    let mut out = Array1::zeros(betas.len());
    for node in 0..NODES {
        let range = node_offset(node)..node_offset(node) + INPUTS + node;
        let group = betas.slice(s![range.clone()]).insert_axis(Axis(0));
        out.slice_mut(s![range]).assign(&softmax_rows(group).row(0));
    }
    out
}

/// DARTS's `_parse`: for each node keep the 2 incoming edges whose strongest non-`none` op weight
/// is largest (ties: the lower input first, as Python's stable sort), and on each the strongest
/// non-`none` op (ties: the earlier op). `weights` is 14 x |ops|, already normalised.
pub fn derive_cell(weights: ArrayView2<f32>, ops: &OpSet) -> Result<Vec<GenePair>> {
    if weights.nrows() != EDGES || weights.ncols() != ops.len() {
        return Err(SpaceError::InvalidAlphas {
            reason: format!(
                "op weights are {}x{}, but a cell of op set `{ops}` needs {EDGES}x{}",
                weights.nrows(),
                weights.ncols(),
                ops.len()
            ),
        });
    }
    let none = ops.index_of(Primitive::None);
    if ops.ops().iter().all(|&p| p == Primitive::None) {
        return Err(SpaceError::InvalidAlphas {
            reason: format!("op set `{ops}` holds no op besides none to derive"),
        });
    }
    let best_op = |edge: usize| -> (usize, f32) {
        let mut best: Option<(usize, f32)> = None;
        for (k, &w) in weights.row(edge).iter().enumerate() {
            if Some(k) != none && best.is_none_or(|(_, b)| w > b) {
                best = Some((k, w));
            }
        }
        best.expect("an op set holds an op other than none")
    };
    let mut gene = Vec::with_capacity(2 * NODES);
    for node in 0..NODES {
        let start = node_offset(node);
        let mut inputs: Vec<usize> = (0..INPUTS + node).collect();
        // Stable sort by descending strength: equal strengths keep the lower input first.
        inputs.sort_by(|&a, &b| {
            best_op(start + b)
                .1
                .partial_cmp(&best_op(start + a).1)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        for &input in &inputs[..2] {
            gene.push((ops.ops()[best_op(start + input).0], input));
        }
    }
    Ok(gene)
}

/// FairDARTS's `threshold_sparse` rule (`--op_threshold`, on sigmoid weights): DARTS's two
/// strongest edges per node and the strongest op on each, of which only the ops whose weight
/// reaches `threshold` stay; the others become `none` (dropped). As FairDARTS's `DCOCell`
/// trains it, a node left without an op has no value: an op reading it is dropped too, and the
/// concat list holds the nodes that keep an op. Errors when the cell keeps no op at all, and
/// for a threshold outside (0, 1).
pub fn sparse_cell(
    weights: ArrayView2<f32>,
    ops: &OpSet,
    threshold: f32,
    cell: CellType,
) -> Result<(Vec<GenePair>, Concat)> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(SpaceError::InvalidAlphas {
            reason: format!(
                "threshold {threshold}: expected an op weight between 0 and 1 (exclusive)"
            ),
        });
    }
    let mut genes = derive_cell(weights, ops)?;
    let mut valued = [true; INPUTS + NODES];
    let mut largest = f32::NEG_INFINITY;
    for node in 0..NODES {
        for gene in &mut genes[2 * node..2 * node + 2] {
            let (op, input) = *gene;
            let k = ops
                .index_of(op)
                .expect("derive_cell chooses ops of the set");
            let w = weights[[node_offset(node) + input, k]];
            largest = largest.max(w);
            if w < threshold || !valued[input] {
                *gene = (Primitive::None, input);
            }
        }
        valued[INPUTS + node] = genes[2 * node..2 * node + 2]
            .iter()
            .any(|(op, _)| *op != Primitive::None);
    }
    let concat: Vec<usize> = (INPUTS..INPUTS + NODES).filter(|&s| valued[s]).collect();
    if concat.is_empty() {
        return Err(SpaceError::EmptyCell {
            cell: cell.name(),
            threshold,
            largest,
        });
    }
    Ok((genes, Concat::list(concat)))
}

/// Betas as a plain list `[b0, b1, ...]`, as alphas are plain nested lists (ndarray's own
/// `{"v": 1, "dim": .., "data": ..}` form is still read).
mod vector {
    use ndarray::Array1;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Plain(Vec<f32>),
        Ndarray(Array1<f32>),
    }

    pub fn serialize<S: Serializer>(a: &Option<Array1<f32>>, s: S) -> Result<S::Ok, S::Error> {
        a.as_ref().map(|v| v.to_vec()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Array1<f32>>, D::Error> {
        Ok(Option::<Form>::deserialize(d)?.map(|f| match f {
            Form::Plain(v) => Array1::from(v),
            Form::Ndarray(a) => a,
        }))
    }
}

mod matrix {
    use ndarray::Array2;
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(a: &Array2<f32>, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Vec<f32>> = a.outer_iter().map(|r| r.to_vec()).collect();
        rows.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Array2<f32>, D::Error> {
        let rows = Vec::<Vec<f32>>::deserialize(d)?;
        let cols = rows.first().map_or(0, Vec::len);
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != cols) {
            return Err(D::Error::custom(format!(
                "row {i} has {} values but row 0 has {cols}",
                r.len()
            )));
        }
        let n = rows.len();
        Array2::from_shape_vec((n, cols), rows.into_iter().flatten().collect())
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests;
