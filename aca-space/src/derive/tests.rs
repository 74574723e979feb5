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
