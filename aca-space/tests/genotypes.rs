use aca_space::{published, CellType, Genotype, OpSet, Primitive, PUBLISHED};

const DARTS_V2_TEXT: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

#[test]
fn darts_v2_prints_exactly_as_darts() {
    assert_eq!(published("darts_v2").unwrap().to_darts(), DARTS_V2_TEXT);
}

#[test]
fn published_genotypes_match_the_reference_facts() {
    use Primitive::*;
    let v2 = published("darts_v2").unwrap();
    assert_eq!(
        v2.cell(CellType::Normal),
        [
            (SepConv3x3, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 1),
            (SkipConnect, 0),
            (SkipConnect, 0),
            (DilConv3x3, 2)
        ]
    );
    let v1 = published("darts_v1").unwrap();
    assert_eq!(v1.cell(CellType::Reduce)[7], (AvgPool3x3, 0));
    assert_eq!(v1.skip_count(CellType::Normal), 3);
    let pc = published("pc_darts").unwrap();
    assert_eq!(pc.cell(CellType::Reduce)[5], (SepConv3x3, 3));
    assert!(pc.concat(CellType::Normal).is_range());
    assert!(published("darts_v3")
        .unwrap_err()
        .to_string()
        .contains("darts_v1, darts_v2, pc_darts, fair_darts_a"));
    // FairDARTS-a: a sparse normal cell of 4 ops on nodes 2, 4 and 5 (node 3 keeps none).
    let fair = published("fair_darts_a").unwrap();
    assert!(fair.is_sparse());
    assert_eq!(fair.op_count(CellType::Normal), 4);
    assert_eq!(fair.op_count(CellType::Reduce), 8);
    assert_eq!(fair.concat(CellType::Normal).states(), &[2, 4, 5]);
    assert!(fair.validate_for(&OpSet::darts()).is_ok());
}

#[test]
fn pc_darts_range_text_parses_and_prints_back() {
    let text = PUBLISHED[2].1;
    assert!(text.contains("normal_concat=range(2, 6)"));
    let g = Genotype::from_darts(text).unwrap();
    assert_eq!(g.concat(CellType::Normal).states(), &[2, 3, 4, 5]);
    assert_eq!(g.to_darts(), text);
}

#[test]
fn all_three_forms_round_trip_for_every_published_genotype() {
    for (name, text) in PUBLISHED {
        let g = published(name).unwrap();
        assert_eq!(g.to_darts(), text, "{name}");
        let from_json = Genotype::from_json(&g.to_json()).unwrap();
        let from_table = Genotype::from_table(&g.to_table()).unwrap();
        let from_darts = Genotype::from_darts(&g.to_darts()).unwrap();
        for (form, other) in [
            ("json", &from_json),
            ("table", &from_table),
            ("darts", &from_darts),
        ] {
            assert_eq!(&g, other, "{name} via {form}");
        }
        // Across forms, too: table -> json -> darts -> table.
        let chain = Genotype::from_text(
            &Genotype::from_text(&from_table.to_json())
                .unwrap()
                .to_darts(),
        )
        .unwrap();
        assert_eq!(chain.to_table(), g.to_table(), "{name}");
        // from_text tells the forms apart.
        for s in [g.to_json(), g.to_darts(), g.to_table()] {
            assert_eq!(Genotype::from_text(&s).unwrap(), g, "{name}");
        }
    }
}

#[test]
fn darts_form_accepts_python_variants() {
    let text = "genotypes.Genotype(\n  reduce_concat=range(2,6), normal=[(\"sep_conv_3x3\", 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('zero', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 2),],\n normal_concat=(2, 3, 4, 5), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 2), ('max_pool_3x3', 2), ('max_pool_3x3', 1)])";
    // NASLib's `zero` reads as `none`: a dropped edge (DARTS's zero op), as in sparse cells.
    let g = Genotype::from_darts(text).unwrap();
    assert_eq!(g.cell(CellType::Normal)[5], (Primitive::None, 0));
    assert_eq!(g.op_count(CellType::Normal), 7);
    assert!(g.is_sparse());
    assert_eq!("zero".parse::<Primitive>().unwrap(), Primitive::None);
    let g = Genotype::from_darts(&text.replace("'zero'", "'skip_connect'")).unwrap();
    assert_eq!(g.cell(CellType::Normal)[5], (Primitive::SkipConnect, 0));
    assert!(g.concat(CellType::Reduce).is_range());
    assert!(!g.concat(CellType::Normal).is_range());
}

fn err_of(text: &str) -> String {
    Genotype::from_text(text).unwrap_err().to_string()
}

#[test]
fn validation_errors_name_the_problem() {
    let v2 = DARTS_V2_TEXT;
    // Unknown op.
    let e = err_of(&v2.replacen("dil_conv_3x3", "dil_conv_7x7", 1));
    assert!(e.contains("unknown op `dil_conv_7x7`"), "{e}");
    // Input index out of range for its node: edge 7 feeds node 5 and may read 0..=4.
    let e = err_of(&v2.replacen("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)", 1));
    assert!(
        e.contains("normal cell: edge 7 (dil_conv_3x3) feeds node 5 but reads state 5"),
        "{e}"
    );
    let e = err_of(&v2.replacen("('sep_conv_3x3', 1)", "('sep_conv_3x3', 2)", 1));
    assert!(
        e.contains("edge 1 (sep_conv_3x3) feeds node 2 but reads state 2"),
        "{e}"
    );
    // Wrong number of edges.
    let e = err_of(&v2.replacen(", ('dil_conv_3x3', 2)", "", 1));
    assert!(
        e.contains("normal cell: wrong number of edges: expected 8"),
        "{e}"
    );
    assert!(e.contains("found 7"), "{e}");
    // Concat out of range / repeated.
    let e = err_of(&v2.replacen(
        "normal_concat=[2, 3, 4, 5]",
        "normal_concat=[2, 3, 4, 6]",
        1,
    ));
    assert!(e.contains("concat lists state 6"), "{e}");
    let e = err_of(&v2.replacen("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[2, 3, 3]", 1));
    assert!(e.contains("reduce cell: concat lists state 3 twice"), "{e}");
    // A sparse cell (FairDARTS's threshold rule): node 4 drops both its edges, so it has no
    // value; the concat list must leave it out and no op may read it.
    let sparse = v2.replacen(
        "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0)",
        "('none', 1), ('none', 0), ('skip_connect', 0)",
        1,
    );
    let e = err_of(&sparse);
    assert!(
        e.contains("normal cell: concat lists node 4, whose two edges are both `none`"),
        "{e}"
    );
    let sparse = sparse.replacen("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 5]", 1);
    let g = Genotype::from_text(&sparse).unwrap();
    assert_eq!(g.op_count(CellType::Normal), 6);
    assert_eq!(g.parameter_free_count(CellType::Normal), 1);
    assert!(g.validate_for(&OpSet::darts()).is_ok());
    assert!(!g.to_dot(CellType::Normal, None).contains("none"));
    let e = err_of(&sparse.replacen("('dil_conv_3x3', 2)", "('dil_conv_3x3', 4)", 1));
    assert!(
        e.contains("edge 7 (dil_conv_3x3) reads node 4, whose two edges are both `none`"),
        "{e}"
    );
    // An op that is not in the chosen op set.
    let e = published("darts_v2")
        .unwrap()
        .validate_for(&OpSet::aca())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "invalid genotype: normal cell: edge 5 (node 4) uses `skip_connect`, which op set `aca` does not hold"
    );
    assert!(published("darts_v2")
        .unwrap()
        .validate_for(&OpSet::darts())
        .is_ok());
}

#[test]
fn parse_errors_say_where() {
    let e = err_of("Genotype(normal=[('sep_conv_3x3' 0)])");
    assert!(
        e.contains("cannot parse darts genotype: at character 34: expected `,`"),
        "{e}"
    );
    let e = err_of(&DARTS_V2_TEXT.replacen(
        "reduce_concat=[2, 3, 4, 5]",
        "reduce_concat=[2, 3, 4, 5], extra=1",
        1,
    ));
    assert!(e.contains("expected one of normal="), "{e}");
    let e = err_of(&DARTS_V2_TEXT.replacen(", reduce_concat=[2, 3, 4, 5]", "", 1));
    assert!(e.contains("`reduce_concat=` is missing"), "{e}");
    let e = err_of("Genotype(normal=[], normal_concat=range(6, 2)");
    assert!(e.contains("range(6, 2) is empty"), "{e}");
    let e = err_of(
        r#"{"normal": [], "normal_concat": [2], "reduce": [], "reduce_concat": [2], "extra": 1}"#,
    );
    assert!(e.contains("unknown field `extra`"), "{e}");
    let e = err_of("[[], [2]]");
    assert!(e.contains("positional form needs 4 items"), "{e}");
    let table = published("darts_v1")
        .unwrap()
        .to_table()
        .replacen("c_{k-1}", "c_{k-3}", 1);
    let e = err_of(&table);
    assert!(e.contains("line 2: input `c_{k-3}`"), "{e}");
    assert!(err_of("   ").contains("empty"));
}

#[test]
fn printed_forms_snapshot() {
    let g = published("pc_darts").unwrap();
    insta::assert_snapshot!("pc_darts_table", g.to_table());
    insta::assert_snapshot!("pc_darts_json", g.to_json());
    insta::assert_snapshot!("darts_v1_darts", published("darts_v1").unwrap().to_darts());
}

#[test]
fn random_genotypes_follow_the_cell_rules_and_the_seed() {
    for space in [OpSet::darts(), OpSet::aca()] {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let g = Genotype::random(&space, seed).unwrap();
            g.validate().unwrap();
            g.validate_for(&space).unwrap();
            for cell in CellType::BOTH {
                let pairs = g.cell(cell);
                for node in 0..4 {
                    let (a, b) = (pairs[2 * node], pairs[2 * node + 1]);
                    assert_ne!(a.1, b.1, "node {node} reads one state twice");
                    assert_ne!(a.0, Primitive::None);
                    assert_ne!(b.0, Primitive::None);
                }
            }
            seen.insert(g.to_darts());
        }
        assert!(seen.len() > 190, "random genotypes repeat too often");
        assert_eq!(
            Genotype::random(&space, 7).unwrap(),
            Genotype::random(&space, 7).unwrap()
        );
    }
}

#[test]
fn random_genotypes_draw_every_op_and_input_about_uniformly() {
    let space = OpSet::darts();
    let mut ops = std::collections::HashMap::new();
    let mut first_node_inputs = [0usize; 2];
    for seed in 0..2000 {
        let g = Genotype::random(&space, seed).unwrap();
        for (op, _) in g.cell(CellType::Normal) {
            *ops.entry(*op).or_insert(0usize) += 1;
        }
        // Node 0 has exactly two inputs: both are always taken.
        first_node_inputs[g.cell(CellType::Normal)[0].1] += 1;
        first_node_inputs[g.cell(CellType::Normal)[1].1] += 1;
    }
    assert_eq!(ops.len(), 7);
    let expected = 2000.0 * 8.0 / 7.0;
    for (op, n) in ops {
        assert!(
            (n as f64 - expected).abs() < 0.1 * expected,
            "{op}: {n} draws, expected about {expected:.0}"
        );
    }
    assert_eq!(first_node_inputs, [2000, 2000]);
}

#[test]
fn agreement_counts_shared_edges_per_node() {
    let v1 = published("darts_v1").unwrap();
    let v2 = published("darts_v2").unwrap();
    assert_eq!(v2.agreement(&v2), 16);
    // Normal: node 0 shares both edges (in the other order), node 1 (sep3,1), node 2 both,
    // node 3 none. Reduce: node 0 both, node 1 (skip,2), node 2 both, node 3 (skip,2).
    assert_eq!(v1.agreement(&v2), 5 + 6);
    assert_eq!(v1.agreement(&v2), v2.agreement(&v1));
    // A sparse cell's dropped edges are no ops: FairDARTS-a agrees with itself on its 12 ops.
    let fair = published("fair_darts_a").unwrap();
    assert_eq!(fair.agreement(&fair), 12);
}

#[test]
fn files_with_a_byte_order_mark_and_plain_beta_lists_are_read() {
    let dir = std::env::temp_dir().join(format!("aca-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let g = published("darts_v2").unwrap();
    let path = dir.join("g.json");
    std::fs::write(&path, format!("\u{feff}{}", g.to_json())).unwrap();
    assert_eq!(Genotype::read(&path).unwrap(), g);
    let rows = vec![vec![0.0f32; 8]; 14];
    let alphas = serde_json::json!({
        "normal": rows, "reduce": rows,
        "betas_normal": vec![0.5f32; 14], "betas_reduce": vec![0.0f32; 14],
    });
    let path = dir.join("a.json");
    std::fs::write(&path, format!("\u{feff}{alphas}")).unwrap();
    let a = aca_space::ArchParams::read(&path).unwrap();
    assert_eq!(a.betas_normal.as_ref().unwrap().len(), 14);
    // Betas print back as a plain list.
    let text = serde_json::to_string(&a).unwrap();
    assert!(text.contains("\"betas_normal\":[0.5,"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn odd_edge_lists_print_and_wrong_shapes_are_refused_without_panics() {
    // A genotype is valid by construction: an odd edge list is refused, not built.
    let g = published("darts_v2").unwrap();
    let mut normal = g.cell(CellType::Normal).to_vec();
    normal.pop();
    let e = Genotype::new(
        normal,
        g.concat(CellType::Normal).clone(),
        g.cell(CellType::Reduce).to_vec(),
        g.concat(CellType::Reduce).clone(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("normal"), "{e}");
    let e = aca_space::derive_cell(ndarray::Array2::zeros((13, 8)).view(), &OpSet::darts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("13x8") && e.contains("14x8"), "{e}");
}

#[test]
fn cells_draw_as_graphviz_with_their_shares() {
    let g = published("darts_v2").unwrap();
    let dot = g.to_dot(CellType::Normal, None);
    assert!(dot.starts_with("digraph normal {"), "{dot}");
    assert_eq!(dot.matches(" -> \"c_{k}\"").count(), 4, "{dot}");
    assert_eq!(dot.matches("[label=").count(), 8, "{dot}");
    // skip_connect edges are dashed; DARTS_V2's normal cell has two.
    assert_eq!(dot.matches("style=dashed").count(), 2, "{dot}");
    // A plan's shares label the edges that keep less than all channels.
    let shares = [0.25, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    let dot = g.to_dot(CellType::Normal, Some(&shares));
    assert!(
        dot.contains("sep_conv_3x3\\n25% op / 75% identity"),
        "{dot}"
    );
    assert_eq!(dot.matches("% identity").count(), 1, "{dot}");
    // Too few shares: the rest are drawn without one, no panic.
    let dot = g.to_dot(CellType::Reduce, Some(&[0.5]));
    assert_eq!(dot.matches("% identity").count(), 1, "{dot}");
}
