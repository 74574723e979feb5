use super::*;
use crate::published;

#[test]
fn json_object_and_positional_forms() {
    let g = published("darts_v2").unwrap();
    let json = g.to_json();
    assert!(json.contains("\"normal_concat\""));
    assert_eq!(Genotype::from_json(&json).unwrap(), g);
    let positional = r#"[[["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 0], ["dil_conv_3x3", 2]], [2, 3, 4, 5], [["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 1], ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["max_pool_3x3", 1]], [2, 3, 4, 5]]"#;
    assert_eq!(Genotype::from_json(positional).unwrap(), g);
}

#[test]
fn skip_counts() {
    let g = published("darts_v2").unwrap();
    assert_eq!(g.skip_count(CellType::Normal), 2);
    assert_eq!(g.skip_count(CellType::Reduce), 3);
}
