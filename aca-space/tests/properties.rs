//! Property tests of the parsers and validators: no input panics, every refusal says what it
//! refused, and valid values round-trip through every text form.

use aca_space::{ArchParams, CellType, Concat, Genotype, OpSet, Relaxation};
use proptest::prelude::*;

fn genotype(seed: u64, space: bool, ranges: (bool, bool)) -> Genotype {
    let ops = if space { OpSet::darts() } else { OpSet::aca() };
    let g = Genotype::random(&ops, seed).unwrap();
    let concat = |r: bool| {
        if r {
            Concat::intermediate()
        } else {
            Concat::list(vec![2, 3, 4, 5])
        }
    };
    Genotype::new(
        g.cell(CellType::Normal).to_vec(),
        concat(ranges.0),
        g.cell(CellType::Reduce).to_vec(),
        concat(ranges.1),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_parsed_or_refused_with_a_reason(text in ".{0,400}") {
        if let Err(e) = Genotype::from_text(&text) {
            prop_assert!(!e.to_string().trim().is_empty());
        }
    }

    #[test]
    fn mangled_genotype_texts_never_panic(seed in 0u64..1000, cut in 0usize..600, byte in 0u8..128) {
        let g = genotype(seed, true, (true, false));
        for text in [g.to_darts(), g.to_json(), g.to_table()] {
            let mut bytes = text.into_bytes();
            let at = cut.min(bytes.len());
            bytes.truncate(at);
            bytes.push(byte);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Err(e) = Genotype::from_text(&text) {
                prop_assert!(!e.to_string().trim().is_empty());
            }
        }
    }

    #[test]
    fn valid_genotypes_round_trip_through_every_form(seed in any::<u64>(), darts in any::<bool>(), r0 in any::<bool>(), r1 in any::<bool>()) {
        let g = genotype(seed, darts, (r0, r1));
        let from_darts = Genotype::from_darts(&g.to_darts()).unwrap();
        prop_assert_eq!(&from_darts, &g);
        prop_assert_eq!(from_darts.to_darts(), g.to_darts());
        prop_assert_eq!(&Genotype::from_json(&g.to_json()).unwrap(), &g);
        prop_assert_eq!(&Genotype::from_table(&g.to_table()).unwrap(), &g);
        prop_assert_eq!(&Genotype::from_text(&g.to_table()).unwrap(), &g);
    }

    #[test]
    fn any_alpha_matrix_derives_or_is_refused(rows in 0usize..20, cols in 0usize..10, seed in any::<u64>(), darts in any::<bool>()) {
        let ops = if darts { OpSet::darts() } else { OpSet::aca() };
        let mut x = seed;
        let mut next = || { x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((x >> 33) as f32) / (1u64 << 31) as f32 - 0.5 };
        let normal = ndarray::Array2::from_shape_fn((rows, cols), |_| next());
        let reduce = ndarray::Array2::from_shape_fn((rows, cols), |_| next());
        let a = ArchParams { normal, reduce, betas_normal: None, betas_reduce: None, relaxation: Relaxation::Softmax, kept: None };
        match a.derive(&ops) {
            Ok(g) => {
                prop_assert_eq!(rows, 14);
                prop_assert_eq!(cols, ops.len());
                g.validate_for(&ops).unwrap();
            }
            Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
        }
    }

    #[test]
    fn any_alphas_json_is_read_or_refused(text in "[\\[\\]{}\",:0-9a-z._ -]{0,200}") {
        let dir = std::env::temp_dir().join(format!("aca-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        std::fs::write(&path, &text).unwrap();
        if let Err(e) = ArchParams::read(&path) {
            prop_assert!(e.to_string().contains("a.json") || e.to_string().contains("alphas"));
        }
    }
}
