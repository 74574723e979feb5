//! The channel plan: a genotype and, per kept edge, the share of channels its op keeps.

use std::fmt::Write as _;
use std::path::Path;

use aca_space::topology::{state_name, INPUTS};
use aca_space::{CellType, Genotype, Primitive};
use serde::{Deserialize, Serialize};

use crate::allocate::Strategy;
use crate::error::{EvalError, Result};
use crate::scorer::ScorerKind;

/// Channel scores behind a plan: per cell type, per kept edge (genotype order), per search cell
/// of that type, per channel.
pub type EdgeScores = Vec<Vec<Vec<f32>>>;

/// A genotype plus the fraction of channels each kept edge gives its op; the rest of the edge's
/// channels are refilled with identity (skip). A genotype alone is a plan with every fraction 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPlan {
    /// The searched cell.
    pub genotype: Genotype,
    /// Op share of the normal cell's 8 edges (genotype order), each in (0, 1].
    pub normal: Vec<f64>,
    /// Op share of the reduction cell's 8 edges.
    pub reduce: Vec<f64>,
    /// Scorer that ranked the channels (written `none` for a plain genotype).
    #[serde(default, with = "scorer_or_none")]
    pub scorer: Option<ScorerKind>,
    /// Allocation strategy (`all` for a plain genotype).
    #[serde(default = "all")]
    pub strategy: Strategy,
    /// The scores behind the fractions, `[normal, reduce]`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<[EdgeScores; 2]>,
}

fn all() -> Strategy {
    Strategy::All
}

/// `scorer` as plan files write it: the scorer's name, or `none`.
mod scorer_or_none {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::scorer::ScorerKind;

    pub fn serialize<S: Serializer>(scorer: &Option<ScorerKind>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(scorer.map_or("none", ScorerKind::name))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ScorerKind>, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "none" => Ok(None),
            _ => name.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

impl ChannelPlan {
    /// The plain DARTS plan of a genotype: every channel on its op.
    pub fn full(genotype: Genotype) -> Self {
        Self {
            normal: vec![1.0; genotype.cell(CellType::Normal).len()],
            reduce: vec![1.0; genotype.cell(CellType::Reduce).len()],
            genotype,
            scorer: None,
            strategy: Strategy::All,
            scores: None,
        }
    }

    /// Whether every op keeps all its channels (no identity refill): DARTS's own network.
    pub fn is_full(&self) -> bool {
        self.normal.iter().chain(&self.reduce).all(|&f| f >= 1.0)
    }

    /// Op shares of one cell type.
    pub fn fractions(&self, cell: CellType) -> &[f64] {
        match cell {
            CellType::Normal => &self.normal,
            CellType::Reduce => &self.reduce,
        }
    }

    /// Checks the genotype and that there is one share in (0, 1] per kept edge.
    pub fn validate(&self) -> Result<()> {
        self.genotype.validate()?;
        for cell in CellType::BOTH {
            let f = self.fractions(cell);
            let edges = self.genotype.cell(cell).len();
            if f.len() != edges {
                return Err(invalid(format!(
                    "{cell}: {} fractions for the genotype's {edges} edges",
                    f.len()
                )));
            }
            if let Some((i, v)) = f
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v > 0.0 && **v <= 1.0))
            {
                return Err(invalid(format!(
                    "{cell} edge {i}: fraction {v} is not in (0, 1]"
                )));
            }
        }
        Ok(())
    }

    /// Reads and validates `plan.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::InvalidPlan {
            path: Some(path.into()),
            reason: e.to_string(),
        })?;
        let plan: Self = serde_json::from_str(&text).map_err(|e| EvalError::InvalidPlan {
            path: Some(path.into()),
            reason: e.to_string(),
        })?;
        plan.validate().map_err(|e| EvalError::InvalidPlan {
            path: Some(path.into()),
            reason: e.to_string(),
        })?;
        Ok(plan)
    }

    /// Each edge's identity share (`1 - fraction`) as the scalar
    /// `plan/identity_share/CELL/edgeI` at step 0, and the plan as a table (`plan/channels`).
    pub fn to_tensorboard(
        &self,
        tb: &mut aca_core::tensorboard::EventWriter,
    ) -> std::result::Result<(), aca_core::CoreError> {
        let mut table =
            String::from("| cell | edge | op | input | identity share |\n|---|---|---|---|---|\n");
        for cell in CellType::BOTH {
            for (i, (&(op, input), fraction)) in self
                .genotype
                .cell(cell)
                .iter()
                .zip(self.fractions(cell))
                .enumerate()
            {
                let share = 1.0 - fraction;
                tb.scalar(&format!("plan/identity_share/{cell}/edge{i}"), 0, share)?;
                table.push_str(&format!("| {cell} | {i} | {op} | {input} | {share:.3} |\n"));
            }
        }
        tb.text("plan/channels", 0, &table)
    }

    /// Identity share of one cell type: the mean of `1 - fraction` over its ops (a sparse
    /// cell's dropped edges, `none`, hold no channels and do not count).
    pub fn identity_share(&self, cell: CellType) -> f64 {
        let kept: Vec<f64> = self
            .genotype
            .cell(cell)
            .iter()
            .zip(self.fractions(cell))
            .filter(|((op, _), _)| *op != Primitive::None)
            .map(|(_, f)| 1.0 - f)
            .collect();
        kept.iter().sum::<f64>() / kept.len().max(1) as f64
    }

    /// A per-cell table: edge, input, op, op share, identity share; then the identity share per
    /// cell type.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "plan: scorer {}, strategy {}",
            self.scorer.map_or("none", ScorerKind::name),
            self.strategy
        );
        let _ = writeln!(
            out,
            "{:<8}{:<6}{:<6}{:<9}{:<14}{:>9}{:>10}",
            "cell", "node", "edge", "input", "op", "op share", "identity"
        );
        for cell in CellType::BOTH {
            for (i, ((op, input), f)) in self
                .genotype
                .cell(cell)
                .iter()
                .zip(self.fractions(cell))
                .enumerate()
            {
                let (share, identity) = if *op == Primitive::None {
                    ("dropped".to_string(), "-".to_string())
                } else {
                    (
                        format!("{:.1}%", 100.0 * f),
                        format!("{:.1}%", 100.0 * (1.0 - f)),
                    )
                };
                let _ = writeln!(
                    out,
                    "{:<8}{:<6}{:<6}{:<9}{:<14}{:>9}{:>10}",
                    cell.name(),
                    i / 2 + INPUTS,
                    i,
                    state_name(*input),
                    op.name(),
                    share,
                    identity
                );
            }
        }
        for cell in CellType::BOTH {
            let _ = writeln!(
                out,
                "identity share, {cell} cells: {:.1}%",
                100.0 * self.identity_share(cell)
            );
        }
        out
    }
}

fn invalid(reason: String) -> EvalError {
    EvalError::InvalidPlan { path: None, reason }
}

/// Channels an edge's op keeps out of `channels`: `max(1, round(f * C))`, and at stride 2 an even
/// number of identity channels (FactorizedReduce needs it): the op takes one more channel if not.
pub fn op_channels(fraction: f64, channels: i64, stride: i64) -> i64 {
    let mut k = ((fraction * channels as f64).round() as i64).clamp(1, channels);
    if stride == 2 && (channels - k) % 2 == 1 {
        k = if k < channels { k + 1 } else { k - 1 };
    }
    k
}
