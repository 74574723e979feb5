//! The published genotypes, by name, in DARTS's text form as the original repositories define them.

use crate::error::{Result, SpaceError};
use crate::genotype::Genotype;

/// `(name, DARTS text)` of every published genotype shipped.
pub const PUBLISHED: [(&str, &str); 4] = [
    ("darts_v1", "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"),
    ("darts_v2", "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"),
    ("pc_darts", "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))"),
    // FairDARTS's `FairDARTS_a` (xiaomi-automl/FairDARTS, fairdarts/genotypes.py), a sparse cell.
    // The code writes (op, to, from) triples and its `DCOCell` concatenates the nodes that keep an
    // op; here in DARTS's pair form, a dropped edge `none` and the concat list those nodes.
    ("fair_darts_a", "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('none', 0), ('none', 1), ('max_pool_3x3', 0), ('none', 1), ('sep_conv_3x3', 0), ('none', 1)], normal_concat=[2, 4, 5], reduce=[('max_pool_3x3', 0), ('avg_pool_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_5x5', 1), ('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2, 3, 4, 5])"),
];

/// A published genotype by name: `darts_v1`, `darts_v2`, `pc_darts` or `fair_darts_a`.
pub fn published(name: &str) -> Result<Genotype> {
    let (_, text) =
        PUBLISHED
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| SpaceError::UnknownGenotype {
                name: name.to_string(),
                known: PUBLISHED.map(|(n, _)| n).join(", "),
            })?;
    Genotype::from_darts(text)
}
