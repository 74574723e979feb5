//! Genotypes: the discrete cells a search derives, and their validation.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Result, SpaceError};
use crate::ops::{OpSet, Primitive};
use crate::topology::{INPUTS, NODES};

/// Normal or reduction cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellType {
    /// Keeps the spatial size and channel count.
    Normal,
    /// Halves the spatial size, doubles the channels.
    Reduce,
}

impl CellType {
    /// Both cell types, normal first.
    pub const BOTH: [CellType; 2] = [CellType::Normal, CellType::Reduce];

    /// The type of a cell that reduces (`true`) or not.
    pub fn of(reduction: bool) -> Self {
        if reduction {
            CellType::Reduce
        } else {
            CellType::Normal
        }
    }

    /// `normal` or `reduce`.
    pub fn name(self) -> &'static str {
        match self {
            CellType::Normal => "normal",
            CellType::Reduce => "reduce",
        }
    }
}

impl fmt::Display for CellType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The states a cell concatenates into its output.
///
/// Remembers whether it was written as `range(a, b)`, so that DARTS's text form prints back
/// exactly; equality only compares the states.
#[derive(Debug, Clone, Eq)]
pub struct Concat {
    states: Vec<usize>,
    as_range: bool,
}

impl Concat {
    /// A plain list, printed as `[2, 3, 4, 5]`.
    pub fn list(states: Vec<usize>) -> Self {
        Self {
            states,
            as_range: false,
        }
    }

    /// `range(start, end)`, as DARTS's search code writes it.
    pub fn range(start: usize, end: usize) -> Self {
        Self {
            states: (start..end).collect(),
            as_range: true,
        }
    }

    /// DARTS's default: the 4 intermediate nodes, written `range(2, 6)`.
    pub fn intermediate() -> Self {
        Self::range(INPUTS, INPUTS + NODES)
    }

    /// The concatenated states (0, 1 = inputs, 2.. = intermediate nodes).
    pub fn states(&self) -> &[usize] {
        &self.states
    }

    /// Whether the text form is `range(a, b)`.
    pub fn is_range(&self) -> bool {
        self.as_range
    }
}

impl PartialEq for Concat {
    fn eq(&self, other: &Self) -> bool {
        self.states == other.states
    }
}

impl Serialize for Concat {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.states.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Concat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Vec::<usize>::deserialize(d).map(Concat::list)
    }
}

/// One kept edge of a genotype: the op and the state it reads.
pub type GenePair = (Primitive, usize);

/// A discrete DARTS cell pair, as DARTS's `Genotype` namedtuple.
///
/// `normal[2*i]` and `normal[2*i + 1]` feed intermediate node `i` (state `i + 2`); a pair's
/// number is the state it reads: 0 = cell k-2, 1 = cell k-1, 2..5 = intermediate nodes.
///
/// A genotype is valid by construction: [`Genotype::new`], the text forms and the derivation
/// rule check it, and its parts are read through [`Genotype::cell`] and [`Genotype::concat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Genotype {
    /// Edges of the normal cell.
    pub(crate) normal: Vec<GenePair>,
    /// States concatenated into the normal cell's output.
    pub(crate) normal_concat: Concat,
    /// Edges of the reduction cell.
    pub(crate) reduce: Vec<GenePair>,
    /// States concatenated into the reduction cell's output.
    pub(crate) reduce_concat: Concat,
}

/// The JSON object form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenotypeObject {
    normal: Vec<GenePair>,
    normal_concat: Concat,
    reduce: Vec<GenePair>,
    reduce_concat: Concat,
}

impl<'de> Deserialize<'de> for Genotype {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Genotype::from_json_value(value).map_err(serde::de::Error::custom)
    }
}

impl Genotype {
    /// Builds and validates a genotype.
    pub fn new(
        normal: Vec<GenePair>,
        normal_concat: Concat,
        reduce: Vec<GenePair>,
        reduce_concat: Concat,
    ) -> Result<Self> {
        let g = Self {
            normal,
            normal_concat,
            reduce,
            reduce_concat,
        };
        g.validate()?;
        Ok(g)
    }

    /// The edges of one cell type.
    pub fn cell(&self, cell: CellType) -> &[GenePair] {
        match cell {
            CellType::Normal => &self.normal,
            CellType::Reduce => &self.reduce,
        }
    }

    /// The concat list of one cell type.
    pub fn concat(&self, cell: CellType) -> &Concat {
        match cell {
            CellType::Normal => &self.normal_concat,
            CellType::Reduce => &self.reduce_concat,
        }
    }

    /// Number of `skip_connect` edges in one cell type (the DARTS collapse indicator).
    pub fn skip_count(&self, cell: CellType) -> usize {
        self.cell(cell)
            .iter()
            .filter(|(op, _)| *op == Primitive::SkipConnect)
            .count()
    }

    /// Number of parameter-free edges (pools, `skip_connect`) in one cell type; a sparse cell's
    /// dropped edges (`none`) are not ops and do not count.
    pub fn parameter_free_count(&self, cell: CellType) -> usize {
        self.cell(cell)
            .iter()
            .filter(|(op, _)| *op != Primitive::None && op.is_parameter_free())
            .count()
    }

    /// Number of ops a cell type keeps: its edges less the dropped ones (`none`, only in a
    /// sparse cell such as FairDARTS's threshold rule derives).
    pub fn op_count(&self, cell: CellType) -> usize {
        self.cell(cell)
            .iter()
            .filter(|(op, _)| *op != Primitive::None)
            .count()
    }

    /// Whether some edge is dropped (`none`): a sparse cell, as FairDARTS's threshold rule derives.
    pub fn is_sparse(&self) -> bool {
        CellType::BOTH
            .into_iter()
            .any(|cell| self.op_count(cell) < self.cell(cell).len())
    }

    /// A genotype drawn uniformly under DARTS's cell rules, as the random-search baseline of Li and
    /// Talwalkar (2019) samples it: for every intermediate node, two distinct earlier states, each
    /// with an op drawn uniformly from `ops` without `none`; concat = the intermediate nodes.
    /// The same `seed` gives the same genotype on every machine.
    pub fn random(ops: &OpSet, seed: u64) -> Result<Self> {
        use rand::{Rng, SeedableRng};
        let choices: Vec<Primitive> = ops
            .ops()
            .iter()
            .copied()
            .filter(|&op| op != Primitive::None)
            .collect();
        if choices.is_empty() {
            return Err(SpaceError::InvalidGenotype {
                cell: "normal",
                reason: format!("op set `{ops}` has no op besides `none` to draw from"),
            });
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut cell = || {
            let mut pairs = Vec::with_capacity(2 * NODES);
            for node in 0..NODES {
                let states = INPUTS + node;
                let first = rng.random_range(0..states);
                let mut second = rng.random_range(0..states - 1);
                if second >= first {
                    second += 1;
                }
                for input in [first.min(second), first.max(second)] {
                    pairs.push((choices[rng.random_range(0..choices.len())], input));
                }
            }
            pairs
        };
        let normal = cell();
        let reduce = cell();
        Self::new(
            normal,
            Concat::intermediate(),
            reduce,
            Concat::intermediate(),
        )
    }

    /// How many kept edges two genotypes share: the same op reading the same state at the same
    /// node, counted over both cell types (0 to 16; a dropped edge, `none`, is no op and shares
    /// nothing). Seeds of a search that learns agree on more edges than random genotypes do.
    pub fn agreement(&self, other: &Genotype) -> usize {
        let mut shared = 0;
        for cell in CellType::BOTH {
            let (a, b) = (self.cell(cell), other.cell(cell));
            for node in 0..a.len().min(b.len()) / 2 {
                let mut theirs: Vec<GenePair> = b[2 * node..2 * node + 2].to_vec();
                for pair in &a[2 * node..2 * node + 2] {
                    if pair.0 == Primitive::None {
                        continue;
                    }
                    if let Some(k) = theirs.iter().position(|p| p == pair) {
                        theirs.remove(k);
                        shared += 1;
                    }
                }
            }
        }
        shared
    }

    /// Checks the topology: 2 edges per intermediate node, each reading an earlier state, and
    /// concat lists of distinct existing states.
    ///
    /// An edge may be `none`: dropped, as in the sparse cells of FairDARTS's threshold rule (and
    /// as DARTS's `Cell` reads it: the zero op). A node both of whose edges are dropped has no
    /// value, so no op may read it and the concat list must leave it out.
    pub fn validate(&self) -> Result<()> {
        for cell in CellType::BOTH {
            let invalid = |reason: String| SpaceError::InvalidGenotype {
                cell: cell.name(),
                reason,
            };
            let pairs = self.cell(cell);
            if pairs.len() != 2 * NODES {
                return Err(invalid(format!(
                    "wrong number of edges: expected {} (2 for each of {NODES} nodes), found {}",
                    2 * NODES,
                    pairs.len()
                )));
            }
            // Whether each state has a value: the inputs do, a node when one of its ops is kept.
            let mut valued = [true; INPUTS + NODES];
            for (i, &(op, input)) in pairs.iter().enumerate() {
                let state = i / 2 + INPUTS;
                if input >= state {
                    return Err(invalid(format!(
                        "edge {i} ({op}) feeds node {state} but reads state {input}; node {state} can only read states 0..={}",
                        state - 1
                    )));
                }
                if op != Primitive::None && !valued[input] {
                    return Err(invalid(format!(
                        "edge {i} ({op}) reads node {input}, whose two edges are both `none` (dropped), so it has no value"
                    )));
                }
                if i % 2 == 1 {
                    valued[state] = pairs[i - 1].0 != Primitive::None || op != Primitive::None;
                }
            }
            let states = self.concat(cell).states();
            if states.is_empty() {
                return Err(invalid("concat list is empty".into()));
            }
            for (i, &s) in states.iter().enumerate() {
                if s >= INPUTS + NODES {
                    return Err(invalid(format!(
                        "concat lists state {s}, but a cell has states 0..={}",
                        INPUTS + NODES - 1
                    )));
                }
                if states[..i].contains(&s) {
                    return Err(invalid(format!("concat lists state {s} twice")));
                }
                if !valued[s] {
                    return Err(invalid(format!(
                        "concat lists node {s}, whose two edges are both `none` (dropped), so it has no value"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks that every op of the genotype belongs to `ops` (e.g. no `skip_connect` for `aca`);
    /// a dropped edge (`none`) is no op and needs none.
    pub fn validate_for(&self, ops: &OpSet) -> Result<()> {
        for cell in CellType::BOTH {
            for (i, &(op, _)) in self.cell(cell).iter().enumerate() {
                if op != Primitive::None && !ops.contains(op) {
                    return Err(SpaceError::InvalidGenotype {
                        cell: cell.name(),
                        reason: format!(
                            "edge {i} (node {}) uses `{op}`, which op set `{ops}` does not hold",
                            i / 2 + INPUTS
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The JSON object form `{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [...], ...}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a genotype always serialises")
    }

    /// Reads the JSON object form, or the positional array form that `json.dumps` gives for
    /// DARTS's namedtuple (`[normal, normal_concat, reduce, reduce_concat]`), and validates it.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SpaceError::Parse {
                format: "json",
                reason: e.to_string(),
            })?;
        Self::from_json_value(value)
    }

    fn from_json_value(value: serde_json::Value) -> Result<Self> {
        let parse = |reason: String| SpaceError::Parse {
            format: "json",
            reason,
        };
        let obj: GenotypeObject = match value {
            serde_json::Value::Object(_) => {
                serde_json::from_value(value).map_err(|e| parse(e.to_string()))?
            }
            serde_json::Value::Array(items) if items.len() == 4 => {
                let (normal, normal_concat, reduce, reduce_concat) =
                    serde_json::from_value(serde_json::Value::Array(items))
                        .map_err(|e| parse(format!("positional form: {e}")))?;
                GenotypeObject {
                    normal,
                    normal_concat,
                    reduce,
                    reduce_concat,
                }
            }
            serde_json::Value::Array(items) => {
                return Err(parse(format!(
                    "positional form needs 4 items [normal, normal_concat, reduce, reduce_concat], found {}",
                    items.len()
                )))
            }
            _ => {
                return Err(parse(
                    "expected an object with keys normal, normal_concat, reduce, reduce_concat"
                        .into(),
                ))
            }
        };
        Genotype::new(obj.normal, obj.normal_concat, obj.reduce, obj.reduce_concat)
    }

    /// Parses any of the three text forms, telling them apart by their first character:
    /// `{`/`[` JSON, `G` (`Genotype(`) DARTS's form, otherwise the table.
    pub fn from_text(text: &str) -> Result<Self> {
        let trimmed = text.trim_start();
        match trimmed.chars().next() {
            Some('{') | Some('[') => Self::from_json(trimmed),
            Some(_) if trimmed.starts_with("cell") => Self::from_table(trimmed),
            Some(_) => Self::from_darts(trimmed),
            None => Err(SpaceError::Parse {
                format: "darts",
                reason: "the text is empty".into(),
            }),
        }
    }

    /// Reads a genotype file in any of the three text forms.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SpaceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // A UTF-8 byte-order mark (some editors write one) is not part of the text.
        Self::from_text(text.strip_prefix('\u{feff}').unwrap_or(&text))
    }
}

#[cfg(test)]
mod tests;
