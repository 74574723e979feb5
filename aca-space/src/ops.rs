//! The DARTS primitives and named operation sets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SpaceError};

/// One candidate operation on an edge of a DARTS cell.
///
/// Names are DARTS's exactly; `zero` (NASLib's name) is read as `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Primitive {
    /// The zero operation.
    #[serde(rename = "none", alias = "zero")]
    None,
    /// 3x3 max pooling.
    #[serde(rename = "max_pool_3x3")]
    MaxPool3x3,
    /// 3x3 average pooling, padding not counted.
    #[serde(rename = "avg_pool_3x3")]
    AvgPool3x3,
    /// Identity (FactorizedReduce at stride 2).
    #[serde(rename = "skip_connect")]
    SkipConnect,
    /// Separable 3x3 convolution, applied twice.
    #[serde(rename = "sep_conv_3x3")]
    SepConv3x3,
    /// Separable 5x5 convolution, applied twice.
    #[serde(rename = "sep_conv_5x5")]
    SepConv5x5,
    /// Dilated (2) separable 3x3 convolution.
    #[serde(rename = "dil_conv_3x3")]
    DilConv3x3,
    /// Dilated (2) separable 5x5 convolution.
    #[serde(rename = "dil_conv_5x5")]
    DilConv5x5,
}

impl Primitive {
    /// Every primitive, in DARTS's order (the order of the `darts` op set).
    pub const ALL: [Primitive; 8] = [
        Primitive::None,
        Primitive::MaxPool3x3,
        Primitive::AvgPool3x3,
        Primitive::SkipConnect,
        Primitive::SepConv3x3,
        Primitive::SepConv5x5,
        Primitive::DilConv3x3,
        Primitive::DilConv5x5,
    ];

    /// Whether the op has no weights (`none`, the pools, `skip_connect`): the ops a collapsed
    /// DARTS cell fills up with.
    pub fn is_parameter_free(self) -> bool {
        matches!(
            self,
            Primitive::None
                | Primitive::MaxPool3x3
                | Primitive::AvgPool3x3
                | Primitive::SkipConnect
        )
    }

    /// DARTS's name of the primitive.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::None => "none",
            Primitive::MaxPool3x3 => "max_pool_3x3",
            Primitive::AvgPool3x3 => "avg_pool_3x3",
            Primitive::SkipConnect => "skip_connect",
            Primitive::SepConv3x3 => "sep_conv_3x3",
            Primitive::SepConv5x5 => "sep_conv_5x5",
            Primitive::DilConv3x3 => "dil_conv_3x3",
            Primitive::DilConv5x5 => "dil_conv_5x5",
        }
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Primitive {
    type Err = SpaceError;

    fn from_str(s: &str) -> Result<Self> {
        if s == "zero" {
            return Ok(Primitive::None);
        }
        Primitive::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| SpaceError::UnknownOp {
                name: s.to_string(),
            })
    }
}

/// The built-in search spaces, as configs and `--space` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Space {
    /// ACA's skip-free op set ([`OpSet::aca`]).
    #[default]
    Aca,
    /// DARTS's op set ([`OpSet::darts`]).
    Darts,
}

impl Space {
    /// The space's op set.
    pub fn op_set(self) -> OpSet {
        match self {
            Space::Aca => OpSet::aca(),
            Space::Darts => OpSet::darts(),
        }
    }

    /// `aca` or `darts`.
    pub fn name(self) -> &'static str {
        match self {
            Space::Aca => "aca",
            Space::Darts => "darts",
        }
    }
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Space {
    type Err = SpaceError;

    fn from_str(name: &str) -> Result<Self> {
        match name {
            "aca" => Ok(Space::Aca),
            "darts" => Ok(Space::Darts),
            _ => Err(SpaceError::UnknownOpSet { name: name.into() }),
        }
    }
}

/// A named, ordered set of candidate operations. The order fixes the columns of the alpha
/// matrices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSet {
    name: String,
    ops: Vec<Primitive>,
}

impl OpSet {
    /// Names of the built-in sets, as [`OpSet::by_name`] takes them.
    pub const BUILT_IN: [&'static str; 2] = ["darts", "aca"];

    /// DARTS's 8 primitives in DARTS's order.
    pub fn darts() -> Self {
        Self {
            name: "darts".into(),
            ops: Primitive::ALL.to_vec(),
        }
    }

    /// ACA's set: DARTS's without `skip_connect` (7 ops, same order otherwise).
    pub fn aca() -> Self {
        Self {
            name: "aca".into(),
            ops: Primitive::ALL
                .into_iter()
                .filter(|&p| p != Primitive::SkipConnect)
                .collect(),
        }
    }

    /// A built-in set by name (`darts`, `aca`).
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "darts" => Ok(Self::darts()),
            "aca" => Ok(Self::aca()),
            _ => Err(SpaceError::UnknownOpSet {
                name: name.to_string(),
            }),
        }
    }

    /// A custom set. It must be non-empty, without repeats, and hold at least one op other than
    /// `none` (otherwise no genotype can be derived from it).
    pub fn new(name: impl Into<String>, ops: Vec<Primitive>) -> Result<Self> {
        let name = name.into();
        let reason = if ops.iter().all(|&p| p == Primitive::None) {
            Some("it needs at least one op other than `none`".to_string())
        } else {
            ops.iter()
                .enumerate()
                .find(|(i, p)| ops[..*i].contains(p))
                .map(|(_, p)| format!("`{p}` appears twice"))
        };
        match reason {
            Some(reason) => Err(SpaceError::InvalidOpSet { name, reason }),
            None => Ok(Self { name, ops }),
        }
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ops, in alpha-column order.
    pub fn ops(&self) -> &[Primitive] {
        &self.ops
    }

    /// Number of ops (alpha columns).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the set is empty (never true for a constructed set).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Column of `op`, if the set holds it.
    pub fn index_of(&self, op: Primitive) -> Option<usize> {
        self.ops.iter().position(|&p| p == op)
    }

    /// Whether the set holds `op`.
    pub fn contains(&self, op: Primitive) -> bool {
        self.ops.contains(&op)
    }
}

impl fmt::Display for OpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_zero_alias() {
        for p in Primitive::ALL {
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
    fn custom_sets_are_checked() {
        assert!(OpSet::new("x", vec![Primitive::None]).is_err());
        assert!(OpSet::new("x", vec![Primitive::SepConv3x3, Primitive::SepConv3x3]).is_err());
        let s = OpSet::new("convs", vec![Primitive::None, Primitive::SepConv3x3]).unwrap();
        assert_eq!(s.name(), "convs");
    }
}
