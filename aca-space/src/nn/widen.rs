//! Net2Wider for the search network's ops, as DrNAS widens its supernet between stages
//! (xiangning-chen/DrNAS, `net2wider.py` and the `wider` methods of `DARTS-space/operations.py`):
//! each grown dimension keeps the old channels and appends copies of randomly chosen ones. A
//! convolution that reads a widened one reads its copies in the same order; a BN follows the
//! convolution before it.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};

use crate::error::{Result, SpaceError};

/// For each tensor that grows: the gathers `(dim, index)` that turn the old tensor into the new
/// one (`index_select` along `dim`, in order).
pub(super) type Gathers = BTreeMap<String, Vec<(i64, Vec<i64>)>>;

/// The gathers that grow every tensor of `old` into its shape in `new` (both: name to shape, the
/// same names). Only the ops of the mixed edges may change shape; the random copies are drawn
/// from `seed`.
pub(super) fn plan(
    old: &BTreeMap<String, Vec<i64>>,
    new: &BTreeMap<String, Vec<i64>>,
    seed: u64,
) -> Result<Gathers> {
    let invalid = |reason: String| SpaceError::InvalidNetwork { reason };
    if old.keys().ne(new.keys()) {
        return Err(invalid(
            "the widened network's tensors are not the old network's".into(),
        ));
    }
    let changed: Vec<&String> = old.keys().filter(|n| old[*n] != new[*n]).collect();
    let ops: BTreeSet<&str> = changed
        .iter()
        .map(|n| op_path(n).ok_or_else(|| invalid(format!("cannot widen `{n}`"))))
        .collect::<Result<_>>()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut gathers = Gathers::new();
    for op in ops {
        let mut grow = OpGrowth {
            op,
            old,
            new,
            rng: &mut rng,
            gathers: &mut gathers,
        };
        let layers: BTreeSet<&str> = old
            .keys()
            .filter_map(|n| {
                (op_path(n) == Some(op))
                    .then(|| n.rsplit('.').nth(1))
                    .flatten()
            })
            .collect();
        let has = |l: &[&str]| layers == l.iter().copied().collect();
        if has(&["dw1", "pw1", "bn1", "dw2", "pw2", "bn2"]) {
            // SepConv.wider: each depthwise conv gets fresh copies, the 1x1 after it reads them.
            let a = grow.conv("dw1", None)?;
            let b = grow.conv("pw1", Some(a))?;
            grow.bn("bn1", &b);
            let c = grow.conv("dw2", None)?;
            let d = grow.conv("pw2", Some(c))?;
            grow.bn("bn2", &d);
        } else if has(&["dw", "pw", "bn"]) {
            let a = grow.conv("dw", None)?;
            let b = grow.conv("pw", Some(a))?;
            grow.bn("bn", &b);
        } else if has(&["conv1", "conv2", "bn"]) {
            // FactorizedReduce: two convolutions side by side, the BN over both halves in the
            // order the convolutions produce them (old channels first in each half).
            let half = old[&format!("{op}.conv1.weight")][0];
            let first = grow.conv("conv1", None)?;
            let second = grow.conv("conv2", None)?;
            let index: Vec<i64> = first
                .iter()
                .copied()
                .chain(second.iter().map(|i| i + half))
                .collect();
            grow.bn("bn", &index);
        } else if has(&["bn"]) {
            let c = old[&format!("{op}.bn.running_mean")][0];
            let c_new = new[&format!("{op}.bn.running_mean")][0];
            let index = fresh(c, c_new, grow.rng);
            grow.bn("bn", &index);
        } else {
            return Err(invalid(format!(
                "cannot widen op `{op}`: its layers ({}) are not a known op's",
                layers.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    for name in changed {
        let mut shape = old[name].clone();
        for (dim, index) in gathers.get(name).into_iter().flatten() {
            shape[*dim as usize] = index.len() as i64;
        }
        if shape != new[name] {
            return Err(invalid(format!(
                "widening `{name}` from {:?} gives {shape:?}, not {:?}",
                old[name], new[name]
            )));
        }
    }
    Ok(gathers)
}

/// The op a tensor belongs to, `cellN.edgeM.OP`, for tensors named `cellN.edgeM.OP.LAYER.PARAM`.
fn op_path(name: &str) -> Option<&str> {
    let parts: Vec<&str> = name.split('.').collect();
    (parts.len() == 5 && parts[0].starts_with("cell") && parts[1].starts_with("edge"))
        .then(|| &name[..parts[0].len() + parts[1].len() + parts[2].len() + 2])
}

/// The old channels in order, then `new - old` copies of random ones (`net2wider`'s index).
fn fresh(old: i64, new: i64, rng: &mut impl Rng) -> Vec<i64> {
    (0..old)
        .chain((old..new).map(|_| rng.random_range(0..old)))
        .collect()
}

struct OpGrowth<'a, R> {
    op: &'a str,
    old: &'a BTreeMap<String, Vec<i64>>,
    new: &'a BTreeMap<String, Vec<i64>>,
    rng: &'a mut R,
    gathers: &'a mut Gathers,
}

impl<R: Rng> OpGrowth<'_, R> {
    /// Grows a convolution's weight `[out, in / groups, kh, kw]`: its input channels follow
    /// `input` (the widened layer before it) or fresh copies, its output channels get fresh
    /// copies. Returns the output index.
    fn conv(&mut self, layer: &str, input: Option<Vec<i64>>) -> Result<Vec<i64>> {
        let name = format!("{}.{layer}.weight", self.op);
        let (old, new) = (&self.old[&name], &self.new[&name]);
        let mut steps = Vec::new();
        if new[1] != old[1] {
            let index = match input {
                Some(index) if index.len() as i64 == new[1] => index,
                _ => fresh(old[1], new[1], self.rng),
            };
            steps.push((1, index));
        }
        let out = fresh(old[0], new[0], self.rng);
        if new[0] != old[0] {
            steps.push((0, out.clone()));
        }
        if !steps.is_empty() {
            self.gathers.insert(name, steps);
        }
        Ok(out)
    }

    /// Grows a BN's statistics (and affine parameters, if any) along `index`.
    fn bn(&mut self, layer: &str, index: &[i64]) {
        for param in ["weight", "bias", "running_mean", "running_var"] {
            let name = format!("{}.{layer}.{param}", self.op);
            if self
                .old
                .get(&name)
                .is_some_and(|s| s[0] != index.len() as i64)
            {
                self.gathers.insert(name, vec![(0, index.to_vec())]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(list: &[(&str, &[i64])]) -> BTreeMap<String, Vec<i64>> {
        list.iter()
            .map(|(n, s)| (n.to_string(), s.to_vec()))
            .collect()
    }

    #[test]
    fn a_separable_convolution_grows_as_a_chain() {
        let op = "cell0.edge0.sep_conv_3x3";
        let layer = |c: i64| {
            shapes(&[
                (&format!("{op}.dw1.weight"), &[c, 1, 3, 3]),
                (&format!("{op}.pw1.weight"), &[c, c, 1, 1]),
                (&format!("{op}.bn1.running_mean"), &[c]),
                (&format!("{op}.bn1.running_var"), &[c]),
                (&format!("{op}.dw2.weight"), &[c, 1, 3, 3]),
                (&format!("{op}.pw2.weight"), &[c, c, 1, 1]),
                (&format!("{op}.bn2.running_mean"), &[c]),
                (&format!("{op}.bn2.running_var"), &[c]),
                ("cell0.pre1.conv.weight", &[8, 8, 1, 1]),
            ])
        };
        let g = plan(&layer(2), &layer(3), 7).unwrap();
        let dw1 = &g[&format!("{op}.dw1.weight")];
        let pw1 = &g[&format!("{op}.pw1.weight")];
        assert_eq!(dw1.len(), 1);
        assert_eq!(dw1[0].1[..2], [0, 1]);
        // pw1 reads dw1's copies, then copies its own outputs; bn1 follows pw1's outputs.
        assert_eq!(pw1[0], (1, dw1[0].1.clone()));
        assert_eq!(pw1[1].0, 0);
        assert_eq!(g[&format!("{op}.bn1.running_mean")][0].1, pw1[1].1);
        assert!(!g.contains_key("cell0.pre1.conv.weight"));
        // Seeded: the same copies again.
        assert_eq!(plan(&layer(2), &layer(3), 7).unwrap(), g);
    }

    #[test]
    fn a_factorized_reduce_keeps_its_bn_aligned_with_both_halves() {
        let op = "cell2.edge0.skip_connect";
        let layer = |c: i64| {
            shapes(&[
                (&format!("{op}.conv1.weight"), &[c / 2, c, 1, 1]),
                (&format!("{op}.conv2.weight"), &[c / 2, c, 1, 1]),
                (&format!("{op}.bn.running_mean"), &[c]),
                (&format!("{op}.bn.running_var"), &[c]),
            ])
        };
        let g = plan(&layer(4), &layer(6), 1).unwrap();
        let bn = &g[&format!("{op}.bn.running_mean")][0].1;
        assert_eq!(bn.len(), 6);
        assert_eq!(bn[..2], [0, 1]);
        assert_eq!(bn[3..5], [2, 3]);
        assert!(bn[2] < 2 && (2..4).contains(&bn[5]));
    }

    #[test]
    fn a_tensor_outside_the_ops_is_refused() {
        let old = shapes(&[("stem.conv.weight", &[8, 3, 3, 3])]);
        let new = shapes(&[("stem.conv.weight", &[9, 3, 3, 3])]);
        let e = plan(&old, &new, 0).unwrap_err().to_string();
        assert!(e.contains("cannot widen `stem.conv.weight`"), "{e}");
    }
}
