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
}
