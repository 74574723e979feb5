use super::*;

#[test]
fn names_round_trip_and_zero_alias() {
    for p in Primitive::known() {
        assert_eq!(p.name().parse::<Primitive>().unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", p.name()));
        assert_eq!(serde_json::from_str::<Primitive>(&json).unwrap(), p);
    }
    assert_eq!("zero".parse::<Primitive>().unwrap(), Primitive::None);
    assert_eq!(
        serde_json::from_str::<Primitive>("\"zero\"").unwrap(),
        Primitive::None
    );
    let err = "sep_conv3x3".parse::<Primitive>().unwrap_err();
    assert!(err.to_string().contains("sep_conv3x3"), "{err}");
}

#[test]
fn built_in_sets() {
    let darts = OpSet::darts();
    assert_eq!(darts.len(), 8);
    assert_eq!(darts.index_of(Primitive::SkipConnect), Some(3));
    let aca = OpSet::aca();
    let names: Vec<_> = aca.ops().iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "none",
            "max_pool_3x3",
            "avg_pool_3x3",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "dil_conv_5x5"
        ]
    );
    assert!(!aca.contains(Primitive::SkipConnect));
    assert_eq!(OpSet::by_name("aca").unwrap(), aca);
    assert!(OpSet::by_name("nasbench").is_err());
}

#[test]
fn robust_darts_reduced_spaces_hold_their_papers_ops() {
    // RobustDARTS (Zela et al. 2020), spaces.py: S2 and S3 on every edge of both cells.
    let names = |s: Space| -> Vec<&str> { s.op_set().ops().iter().map(|p| p.name()).collect() };
    assert_eq!(names(Space::S2), ["skip_connect", "sep_conv_3x3"]);
    assert_eq!(names(Space::S3), ["none", "skip_connect", "sep_conv_3x3"]);
    assert_eq!(names(Space::S3Aca), ["none", "sep_conv_3x3"]);
    // FairDARTS's and DrNAS's PRIMITIVES: DARTS's without `none`, in DARTS's order.
    assert_eq!(
        names(Space::DartsNoNone),
        [
            "max_pool_3x3",
            "avg_pool_3x3",
            "skip_connect",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "dil_conv_5x5"
        ]
    );
    for space in Space::ALL {
        assert_eq!(space.name().parse::<Space>().unwrap(), space);
        assert_eq!(OpSet::by_name(space.name()).unwrap(), space.op_set());
        assert_eq!(space.op_set().name(), space.name());
        assert!(OpSet::BUILT_IN.contains(&space.name()));
        assert_eq!(
            serde_json::to_value(space).unwrap(),
            serde_json::json!(space.name())
        );
    }
    assert!(Space::S3.has_skip() && Space::S2.has_skip() && Space::Darts.has_skip());
    assert!(!Space::S3Aca.has_skip() && !Space::Aca.has_skip());
    // S4: `noise` against a convolution; its ACA form searches the same ops.
    assert_eq!(names(Space::S4), ["noise", "sep_conv_3x3"]);
    assert_eq!(names(Space::S4Aca), ["noise", "sep_conv_3x3"]);
    assert!(Space::S4Aca.is_aca() && !Space::S4.is_aca() && !Space::S4.has_skip());
    assert!(Space::Aca.is_aca() && Space::S3Aca.is_aca() && !Space::DartsNoNone.is_aca());
    // S1: per-edge pairs in DARTS's edge order; without the skip an edge keeps its other op.
    let s1 = Space::S1.op_set();
    let names1: Vec<&str> = s1.ops().iter().map(|p| p.name()).collect();
    assert_eq!(
        names1,
        [
            "max_pool_3x3",
            "avg_pool_3x3",
            "skip_connect",
            "sep_conv_3x3",
            "dil_conv_3x3",
            "dil_conv_5x5"
        ]
    );
    let kept = |set: &OpSet, cell: crate::CellType, edge: usize| -> Vec<&'static str> {
        let row = &set.edge_ops().unwrap().of(cell)[edge];
        set.ops()
            .iter()
            .zip(row)
            .filter(|(_, &k)| k)
            .map(|(p, _)| p.name())
            .collect()
    };
    use crate::CellType::{Normal, Reduce};
    assert_eq!(kept(&s1, Normal, 0), ["skip_connect", "dil_conv_3x3"]);
    assert_eq!(kept(&s1, Normal, 5), ["max_pool_3x3", "skip_connect"]);
    assert_eq!(kept(&s1, Normal, 13), ["dil_conv_3x3", "dil_conv_5x5"]);
    assert_eq!(kept(&s1, Reduce, 1), ["max_pool_3x3", "dil_conv_3x3"]);
    assert_eq!(kept(&s1, Reduce, 6), ["max_pool_3x3", "sep_conv_3x3"]);
    let s1a = Space::S1Aca.op_set();
    assert!(!s1a.contains(Primitive::SkipConnect));
    assert_eq!(kept(&s1a, Normal, 0), ["dil_conv_3x3"]);
    assert_eq!(kept(&s1a, Normal, 5), ["max_pool_3x3"]);
    assert_eq!(kept(&s1a, Reduce, 4), ["dil_conv_5x5"]);
    assert!(Space::S1Aca.is_aca() && !Space::S1.is_aca());
    assert!(Space::S3.op_set().edge_ops().is_none());
    let e = "s5".parse::<Space>().unwrap_err().to_string();
    assert!(e.contains("`s5`") && e.contains("s4-aca"), "{e}");
}

#[test]
fn custom_sets_are_checked() {
    assert!(OpSet::new("x", vec![Primitive::None]).is_err());
    assert!(OpSet::new("x", vec![Primitive::SepConv3x3, Primitive::SepConv3x3]).is_err());
    let s = OpSet::new("convs", vec![Primitive::None, Primitive::SepConv3x3]).unwrap();
    assert_eq!(s.name(), "convs");
}
