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
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Alphas where edge `e` has logit `v` on op `k` and 0 elsewhere.
    fn alphas(ops: &OpSet, set: &[(usize, usize, f32)]) -> Array2<f32> {
        let mut a = Array2::zeros((EDGES, ops.len()));
        for &(e, k, v) in set {
            a[[e, k]] = v;
        }
        a
    }

    #[test]
    fn known_answer() {
        let ops = OpSet::darts();
        // node 0 (edges 0,1): sep3 on input 1 strongest, then max_pool on input 0.
        // node 1 (edges 2,3,4): dil5 on input 2 and skip on input 0; input 1 weak.
        // node 2 (edges 5..8): avg on input 3, sep5 on input 1.
        // node 3 (edges 9..13): dil3 on input 4 and sep3 on input 0.
        let a = alphas(
            &ops,
            &[
                (1, 4, 3.0),
                (0, 1, 2.0),
                (4, 7, 3.0),
                (2, 3, 2.0),
                (3, 6, 0.5),
                (8, 2, 3.0),
                (6, 5, 2.5),
                (13, 6, 3.0),
                (9, 4, 2.0),
            ],
        );
        let params = ArchParams {
            normal: a.clone(),
            reduce: a,
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Softmax,
            kept: None,
        };
        let g = params.derive(&ops).unwrap();
        use Primitive as P;
        assert_eq!(
            g.normal,
            vec![
                (P::SepConv3x3, 1),
                (P::MaxPool3x3, 0),
                (P::DilConv5x5, 2),
                (P::SkipConnect, 0),
                (P::AvgPool3x3, 3),
                (P::SepConv5x5, 1),
                (P::DilConv3x3, 4),
                (P::SepConv3x3, 0),
            ]
        );
        assert!(g.normal_concat.is_range());
        assert_eq!(g.normal_concat.states(), &[2, 3, 4, 5]);
    }

    #[test]
    fn relaxation_names_are_their_config_names() {
        for r in [
            Relaxation::Softmax,
            Relaxation::Sigmoid,
            Relaxation::Dirichlet,
        ] {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
    }

    #[test]
    fn threshold_rule_keeps_only_ops_above_the_threshold() {
        let ops = OpSet::darts();
        // Sigmoid weights: node 0 has sep3 at 0.95 on input 1 and max_pool at 0.6 on input 0;
        // node 1 has two ops above 0.85; node 2 nothing above it; node 3 reads node 2 (dropped)
        // with an op above it and input 0 below it.
        let mut w = Array2::<f32>::from_elem((EDGES, ops.len()), 0.5);
        w[[1, 4]] = 0.95;
        w[[0, 1]] = 0.6;
        w[[4, 7]] = 0.9;
        w[[2, 3]] = 0.86;
        w[[5, 2]] = 0.8;
        w[[9 + 4, 5]] = 0.99;
        w[[9, 6]] = 0.7;
        let (cell, concat) = sparse_cell(w.view(), &ops, 0.85, CellType::Normal).unwrap();
        use Primitive as P;
        assert_eq!(
            cell,
            vec![
                (P::SepConv3x3, 1),
                (P::None, 0),
                (P::DilConv5x5, 2),
                (P::SkipConnect, 0),
                (P::None, 0),
                (P::None, 1),
                (P::None, 4),
                (P::None, 0),
            ]
        );
        assert_eq!(concat.states(), [2, 3]);
        // Sigmoid relaxation: the genotype's ops are those of the weights above.
        let logit = |p: f32| (p / (1.0 - p)).ln();
        let params = ArchParams {
            normal: w.mapv(logit),
            reduce: w.mapv(logit),
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Sigmoid,
            kept: None,
        };
        let got = params.weights(CellType::Normal);
        assert!((got[[1, 4]] - 0.95).abs() < 1e-5);
        assert_eq!(params.derive(&ops).unwrap().normal[0], (P::SepConv3x3, 1));
        let sparse = params.derive_sparse(&ops, 0.85).unwrap();
        assert_eq!(sparse.cell(CellType::Normal), &cell[..]);
        assert_eq!(sparse.op_count(CellType::Normal), 3);
        assert!(sparse.is_sparse());
        // At a threshold nothing reaches, the rule keeps no op: an error naming the cell.
        let err = params.derive_sparse(&ops, 0.999).unwrap_err().to_string();
        assert!(
            err.contains("normal cell") && err.contains("0.990"),
            "{err}"
        );
        // A threshold that is no weight (NaN would keep every op) is refused.
        for t in [f32::NAN, 0.0, 1.0] {
            let err = params.derive_sparse(&ops, t).unwrap_err().to_string();
            assert!(err.contains(&format!("threshold {t}: expected")), "{err}");
        }
    }

    #[test]
    fn none_is_never_chosen() {
        let ops = OpSet::aca();
        // `none` dominates every edge; the choice must fall on the best other op.
        let mut a = Array2::<f32>::zeros((EDGES, ops.len()));
        a.column_mut(0).fill(10.0);
        a[[0, 3]] = 1.0;
        let g = ArchParams {
            normal: a.clone(),
            reduce: a,
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Softmax,
            kept: None,
        }
        .derive(&ops)
        .unwrap();
        assert!(g.normal.iter().all(|(op, _)| *op != Primitive::None));
        assert_eq!(g.normal[0], (Primitive::SepConv3x3, 0));
    }

    #[test]
    fn ties_resolve_as_darts() {
        let ops = OpSet::darts();
        // All equal: every edge's best op is the first non-none op (max_pool_3x3) and the two
        // lowest inputs are kept in order.
        let a = Array2::<f32>::zeros((EDGES, ops.len()));
        let g = ArchParams {
            normal: a.clone(),
            reduce: a,
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Softmax,
            kept: None,
        }
        .derive(&ops)
        .unwrap();
        let expected: Vec<_> = (0..NODES)
            .flat_map(|_| [(Primitive::MaxPool3x3, 0), (Primitive::MaxPool3x3, 1)])
            .collect();
        assert_eq!(g.normal, expected);
    }

    #[test]
    fn pc_darts_edge_weights_change_the_choice() {
        let ops = OpSet::darts();
        // Node 0: edge 0 has the stronger op, but its beta makes edge 1 win the first slot.
        let a = alphas(&ops, &[(0, 4, 2.0), (1, 5, 1.0)]);
        let mut betas = Array1::<f32>::zeros(EDGES);
        betas[1] = 3.0;
        let plain = ArchParams {
            normal: a.clone(),
            reduce: a.clone(),
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Softmax,
            kept: None,
        };
        assert_eq!(
            plain.derive(&ops).unwrap().normal[0],
            (Primitive::SepConv3x3, 0)
        );
        let pc = ArchParams {
            betas_normal: Some(betas.clone()),
            betas_reduce: Some(betas),
            relaxation: Relaxation::Softmax,
            kept: None,
            ..plain
        };
        let w = edge_weights(pc.betas_normal.as_ref().unwrap());
        assert!((w.slice(s![0..2]).sum() - 1.0).abs() < 1e-6);
        assert!((w.slice(s![9..14]).sum() - 1.0).abs() < 1e-6);
        assert_eq!(
            pc.derive(&ops).unwrap().normal[0],
            (Primitive::SepConv5x5, 1)
        );
    }

    #[test]
    fn shape_and_value_errors() {
        let ops = OpSet::aca();
        let bad = ArchParams {
            normal: Array2::zeros((14, 8)),
            reduce: Array2::zeros((14, 7)),
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Softmax,
            kept: None,
        };
        let err = bad.derive(&ops).unwrap_err().to_string();
        assert!(
            err.contains("normal alphas are 14x8, expected 14x7"),
            "{err}"
        );
        let mut nan = Array2::zeros((14, 7));
        nan[[3, 2]] = f32::NAN;
        let bad = ArchParams {
            normal: Array2::zeros((14, 7)),
            reduce: nan,
            betas_normal: None,
            betas_reduce: None,
            relaxation: Relaxation::Softmax,
            kept: None,
        };
        let err = bad.derive(&ops).unwrap_err().to_string();
        assert!(err.contains("reduce alphas: edge 3 op 2 is NaN"), "{err}");
        let ragged = r#"{"normal": [[1, 2], [1]], "reduce": []}"#;
        let err = serde_json::from_str::<ArchParams>(ragged)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 1 has 1 values but row 0 has 2"), "{err}");
    }
}
