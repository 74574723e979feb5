//! The DARTS primitives and named operation sets (one file: each op set is a list of the
//! primitives above it, and the two are read together).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::derive::OpMask;
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
    /// RobustDARTS's `noise` (Zela et al., ICLR 2020; `src/operations.py`, `NoiseOp`): fresh
    /// N(0, 1) values of the (strided) input's shape on every call, whatever the input's values.
    /// Not one of DARTS's ops: only S4 searches it.
    #[serde(rename = "noise")]
    Noise,
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

    /// Every primitive aca knows: DARTS's ([`Primitive::ALL`]), then RobustDARTS's `noise`.
    pub fn known() -> impl Iterator<Item = Primitive> {
        Primitive::ALL.into_iter().chain([Primitive::Noise])
    }

    /// Whether the op has no weights (`none`, the pools, `skip_connect`, `noise`): the ops a
    /// collapsed DARTS cell fills up with.
    pub fn is_parameter_free(self) -> bool {
        matches!(
            self,
            Primitive::None
                | Primitive::MaxPool3x3
                | Primitive::AvgPool3x3
                | Primitive::SkipConnect
                | Primitive::Noise
        )
    }

    /// About how many weights the op has on `channels` channels (`reduces`: at stride 2), as
    /// DARTS builds it: enough to tell a network that cannot fit in memory before allocating it.
    pub fn approx_params(self, channels: i64, reduces: bool) -> f64 {
        let c = channels as f64;
        let sep = |k: f64| k * k * c + c * c + 2.0 * c;
        match self {
            Primitive::None | Primitive::MaxPool3x3 | Primitive::AvgPool3x3 | Primitive::Noise => {
                0.0
            }
            Primitive::SkipConnect if reduces => c * c + 2.0 * c,
            Primitive::SkipConnect => 0.0,
            Primitive::SepConv3x3 => 2.0 * sep(3.0),
            Primitive::SepConv5x5 => 2.0 * sep(5.0),
            Primitive::DilConv3x3 => sep(3.0),
            Primitive::DilConv5x5 => sep(5.0),
        }
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
            Primitive::Noise => "noise",
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
        Primitive::known()
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
    /// RobustDARTS's reduced space S2 (Zela et al., ICLR 2020): `skip_connect` and
    /// `sep_conv_3x3` on every edge, where DARTS collapses to skip connections quickly.
    S2,
    /// RobustDARTS's reduced space S3: `none`, `skip_connect` and `sep_conv_3x3` on every edge.
    S3,
    /// S3 without `skip_connect` (`none` and `sep_conv_3x3`), ACA's counterpart of S3: the search
    /// chooses the edges, allocation gives identity back per channel. (S2 without the skip is a
    /// single op, nothing to search.)
    #[serde(rename = "s3-aca")]
    S3Aca,
    /// DARTS's op set without `none` (7 ops): what FairDARTS and DrNAS search in their official
    /// code, and what `darts` means for those two methods unless they ask for `none`.
    #[serde(rename = "darts-no-none")]
    DartsNoNone,
    /// RobustDARTS's S4: `noise` and `sep_conv_3x3` on every edge, where DARTS picks the
    /// parameter-free `noise` though it destroys the signal. Trained with every channel on its op.
    S4,
    /// S4 with ACA's allocation: the same ops (S4 has no skip to take out), and in evaluation
    /// each op keeps its important channels and the rest become identity.
    #[serde(rename = "s4-aca")]
    S4Aca,
    /// RobustDARTS's S1: each edge of each cell type its own pair of ops ([`S1_NORMAL`],
    /// [`S1_REDUCE`]), mostly `skip_connect` against a convolution in the normal cell.
    S1,
    /// S1 without `skip_connect`: an edge whose pair holds the skip keeps its other op alone.
    #[serde(rename = "s1-aca")]
    S1Aca,
}

use Primitive::{
    AvgPool3x3 as Avg, DilConv3x3 as Dil3, DilConv5x5 as Dil5, MaxPool3x3 as Max,
    SepConv3x3 as Sep3, SkipConnect as Skip,
};

/// S1's normal-cell pairs, edge by edge in DARTS's order (node 0's 2 inputs, node 1's 3, ...):
/// RobustDARTS's `src/spaces.py`, `primitives_1['primitives_normal']`.
pub const S1_NORMAL: [[Primitive; 2]; 14] = [
    [Skip, Dil3],
    [Skip, Dil5],
    [Skip, Dil5],
    [Skip, Sep3],
    [Skip, Dil3],
    [Max, Skip],
    [Skip, Sep3],
    [Skip, Sep3],
    [Skip, Dil3],
    [Skip, Sep3],
    [Max, Skip],
    [Skip, Dil3],
    [Dil3, Dil5],
    [Dil3, Dil5],
];

/// S1's reduction-cell pairs (`primitives_1['primitives_reduct']`).
pub const S1_REDUCE: [[Primitive; 2]; 14] = [
    [Max, Avg],
    [Max, Dil3],
    [Max, Avg],
    [Max, Avg],
    [Skip, Dil5],
    [Max, Avg],
    [Max, Sep3],
    [Skip, Dil3],
    [Skip, Dil5],
    [Max, Avg],
    [Max, Avg],
    [Skip, Dil5],
    [Skip, Dil5],
    [Skip, Dil5],
];

impl Space {
    /// Every built-in space.
    pub const ALL: [Space; 10] = [
        Space::Aca,
        Space::Darts,
        Space::S2,
        Space::S3,
        Space::S3Aca,
        Space::DartsNoNone,
        Space::S4,
        Space::S4Aca,
        Space::S1,
        Space::S1Aca,
    ];

    /// The space's op set.
    pub fn op_set(self) -> OpSet {
        use Primitive::{Noise, None as Zero, SepConv3x3, SkipConnect};
        let reduced = |ops: &[Primitive]| OpSet {
            name: self.name().into(),
            ops: ops.to_vec(),
            edges: None,
        };
        match self {
            Space::Aca => OpSet::aca(),
            Space::Darts => OpSet::darts(),
            Space::S2 => reduced(&[SkipConnect, SepConv3x3]),
            Space::S3 => reduced(&[Zero, SkipConnect, SepConv3x3]),
            Space::S3Aca => reduced(&[Zero, SepConv3x3]),
            Space::S4 | Space::S4Aca => reduced(&[Noise, SepConv3x3]),
            Space::S1 | Space::S1Aca => {
                let skip = self == Space::S1;
                let kept = |pair: &[Primitive; 2]| -> Vec<Primitive> {
                    let ops: Vec<Primitive> = pair
                        .iter()
                        .copied()
                        .filter(|&p| skip || p != Skip)
                        .collect();
                    if ops.is_empty() {
                        pair.to_vec()
                    } else {
                        ops
                    }
                };
                let union: Vec<Primitive> = Primitive::ALL
                    .into_iter()
                    .filter(|p| {
                        S1_NORMAL
                            .iter()
                            .chain(&S1_REDUCE)
                            .any(|pair| kept(pair).contains(p))
                    })
                    .collect();
                let rows = |pairs: &[[Primitive; 2]; 14]| -> Vec<Vec<bool>> {
                    pairs
                        .iter()
                        .map(|pair| union.iter().map(|p| kept(pair).contains(p)).collect())
                        .collect()
                };
                OpSet {
                    name: self.name().into(),
                    edges: Some(Box::new(OpMask {
                        normal: rows(&S1_NORMAL),
                        reduce: rows(&S1_REDUCE),
                    })),
                    ops: union,
                }
            }
            Space::DartsNoNone => OpSet {
                name: self.name().into(),
                ops: Primitive::ALL.into_iter().filter(|&p| p != Zero).collect(),
                edges: None,
            },
        }
    }

    /// `aca`, `darts`, `s2`, `s3`, `s3-aca`, `darts-no-none`, `s4`, `s4-aca`, `s1` or `s1-aca`.
    pub const fn name(self) -> &'static str {
        match self {
            Space::Aca => "aca",
            Space::Darts => "darts",
            Space::S2 => "s2",
            Space::S3 => "s3",
            Space::S3Aca => "s3-aca",
            Space::DartsNoNone => "darts-no-none",
            Space::S4 => "s4",
            Space::S4Aca => "s4-aca",
            Space::S1 => "s1",
            Space::S1Aca => "s1-aca",
        }
    }

    /// Whether `skip_connect` is searched (otherwise ACA's allocation gives identity back).
    pub fn has_skip(self) -> bool {
        self.op_set().contains(Primitive::SkipConnect)
    }

    /// Whether the space is ACA's form of its setting (`aca`, `s3-aca`, `s4-aca`): by default its
    /// cells get ACA's allocation and identity refill; the others train every channel on its op.
    pub fn is_aca(self) -> bool {
        matches!(
            self,
            Space::Aca | Space::S3Aca | Space::S4Aca | Space::S1Aca
        )
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
        Space::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| SpaceError::UnknownOpSet { name: name.into() })
    }
}

/// A named, ordered set of candidate operations. The order fixes the columns of the alpha
/// matrices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSet {
    name: String,
    ops: Vec<Primitive>,
    /// Per-edge candidates (S1): which of `ops` each edge of each cell type searches.
    edges: Option<Box<OpMask>>,
}

impl OpSet {
    /// Names of the built-in sets, as [`OpSet::by_name`] takes them: the names of [`Space::ALL`].
    pub const BUILT_IN: [&'static str; Space::ALL.len()] = {
        let mut names = [""; Space::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Space::ALL[i].name();
            i += 1;
        }
        names
    };

    /// DARTS's 8 primitives in DARTS's order.
    pub fn darts() -> Self {
        Self {
            name: "darts".into(),
            ops: Primitive::ALL.to_vec(),
            edges: None,
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
            edges: None,
        }
    }

    /// A built-in set by name (`darts`, `aca`, `darts-no-none`, and RobustDARTS's `s2`, `s3`,
    /// `s3-aca`).
    pub fn by_name(name: &str) -> Result<Self> {
        Ok(name.parse::<Space>()?.op_set())
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
            None => Ok(Self {
                name,
                ops,
                edges: None,
            }),
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

    /// Which ops each edge searches, where edges have their own candidates (S1); `None`: every
    /// op on every edge.
    pub fn edge_ops(&self) -> Option<&OpMask> {
        self.edges.as_deref()
    }
}

impl fmt::Display for OpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests;
