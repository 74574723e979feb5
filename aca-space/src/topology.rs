//! The DARTS cell topology: 2 inputs, 4 intermediate nodes, 14 edges.

/// Intermediate nodes per cell.
pub const NODES: usize = 4;
/// Inputs per cell (the outputs of cells k-2 and k-1).
pub const INPUTS: usize = 2;
/// Edges per cell: node i has `INPUTS + i` incoming edges.
pub const EDGES: usize = 14;

/// One edge of the cell's DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Position in the alpha matrix (DARTS's edge order).
    pub index: usize,
    /// Intermediate node the edge feeds, 0..4 (state `node + 2`).
    pub node: usize,
    /// State the edge reads: 0 = cell k-2, 1 = cell k-1, 2.. = intermediate nodes.
    pub input: usize,
}

impl Edge {
    /// Stride of the edge: 2 in a reduction cell for edges leaving the two inputs.
    pub fn stride(&self, reduction: bool) -> usize {
        if reduction && self.input < INPUTS {
            2
        } else {
            1
        }
    }
}

/// First edge index of each node: 0, 2, 5, 9.
pub fn node_offset(node: usize) -> usize {
    (0..node).map(|n| INPUTS + n).sum()
}

/// All 14 edges in DARTS's order: node by node, inputs in increasing order.
pub fn edges() -> impl Iterator<Item = Edge> {
    (0..NODES).flat_map(|node| {
        (0..INPUTS + node).map(move |input| Edge {
            index: node_offset(node) + input,
            node,
            input,
        })
    })
}

/// The edge from state `input` into intermediate node `node`, if it exists.
pub fn edge(node: usize, input: usize) -> Option<Edge> {
    (node < NODES && input < INPUTS + node).then(|| Edge {
        index: node_offset(node) + input,
        node,
        input,
    })
}

/// Indices of the reduction cells in a network of `layers` cells: `layers/3` and `2*layers/3`.
pub fn reduction_cells(layers: usize) -> [usize; 2] {
    [layers / 3, 2 * layers / 3]
}

/// One cell of a DARTS network: its place, its kind and its channel widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellSlot {
    /// Position in the network, 0-based.
    pub index: usize,
    /// Whether it is a reduction cell.
    pub reduction: bool,
    /// Whether its input k-2 has twice the spatial size of input k-1 (the previous cell, or a
    /// reducing stem, reduced): that input then goes through a factorized reduce.
    pub reduction_prev: bool,
    /// Channels of input k-2.
    pub c_prev_prev: i64,
    /// Channels of input k-1.
    pub c_prev: i64,
    /// The cell's width C: the base width, doubled at each reduction so far.
    pub c: i64,
    /// Channels of the cell's output (its concatenated states times C).
    pub c_out: i64,
}

/// The cells of a network of `layers` cells and base width `c`, as DARTS lays them out: the
/// reductions of [`reduction_cells`] double the width, and each cell's output has
/// `concat(reduction)` states of its width. `stem` gives the stem's two outputs' channels and
/// whether the stem reduces (the ImageNet setting).
pub fn cell_slots(
    layers: usize,
    c: i64,
    stem: (i64, i64, bool),
    concat: impl Fn(bool) -> i64,
) -> Vec<CellSlot> {
    let reductions = reduction_cells(layers);
    let (mut c_prev_prev, mut c_prev, mut reduction_prev) = stem;
    let mut width = c;
    let mut slots = Vec::with_capacity(layers);
    for index in 0..layers {
        let reduction = reductions.contains(&index);
        if reduction {
            width *= 2;
        }
        let c_out = concat(reduction) * width;
        slots.push(CellSlot {
            index,
            reduction,
            reduction_prev,
            c_prev_prev,
            c_prev,
            c: width,
            c_out,
        });
        (c_prev_prev, c_prev, reduction_prev) = (c_prev, c_out, reduction);
    }
    slots
}

/// Name of a state as the table form prints it: `c_{k-2}`, `c_{k-1}`, then `2`..`5`.
pub fn state_name(state: usize) -> String {
    match state {
        0 => "c_{k-2}".into(),
        1 => "c_{k-1}".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darts_edge_order() {
        let all: Vec<_> = edges().collect();
        assert_eq!(all.len(), EDGES);
        let offsets: Vec<_> = (0..NODES).map(node_offset).collect();
        assert_eq!(offsets, [0, 2, 5, 9]);
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.index, i);
            assert_eq!(edge(e.node, e.input), Some(*e));
        }
        assert_eq!((all[13].node, all[13].input), (3, 4));
        assert_eq!(edge(0, 2), None);
        assert_eq!(edge(4, 0), None);
    }

    #[test]
    fn strides_and_reduction_cells() {
        let reduce: Vec<_> = edges()
            .filter(|e| e.stride(true) == 2)
            .map(|e| e.index)
            .collect();
        assert_eq!(reduce, [0, 1, 2, 3, 5, 6, 9, 10]);
        assert!(edges().all(|e| e.stride(false) == 1));
        assert_eq!(reduction_cells(8), [2, 5]);
        assert_eq!(reduction_cells(20), [6, 13]);
        assert_eq!(reduction_cells(5), [1, 3]);
    }

    #[test]
    fn cell_slots_follow_darts() {
        // DARTS's CIFAR network, C = 36, 20 cells, stem 3C: widths double at cells 6 and 13.
        let slots = cell_slots(20, 36, (108, 108, false), |_| 4);
        assert_eq!(slots.len(), 20);
        assert_eq!(
            (slots[0].c_prev_prev, slots[0].c_prev, slots[0].c),
            (108, 108, 36)
        );
        assert_eq!((slots[1].c_prev_prev, slots[1].c_prev), (108, 144));
        assert!(slots[6].reduction && slots[7].reduction_prev && !slots[6].reduction_prev);
        assert_eq!((slots[6].c, slots[6].c_out), (72, 288));
        assert_eq!((slots[19].c, slots[19].c_out), (144, 576));
        // A reducing stem (ImageNet) makes the first cell's input k-2 reduce; concat per kind.
        let slots = cell_slots(14, 48, (48, 48, true), |r| if r { 3 } else { 4 });
        assert!(slots[0].reduction_prev);
        assert_eq!(slots[4].c_out, 3 * 96);
        assert_eq!(slots[5].c_prev, 3 * 96);
    }
}
