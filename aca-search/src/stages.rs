//! Progressive searches: stages that prune the ops and widen the partial-channel supernet
//! between them (DrNAS, Chen et al., ICLR 2021; xiangning-chen/DrNAS, `DARTS-space/
//! train_search.py`: `ks = [6, 4]`, `num_keeps = [7, 4]`, `train_epochs = [25, 25]`).

use std::ops::Range;

use aca_space::nn::SearchNetConfig;
use serde::{Deserialize, Serialize};

use crate::config::SearchConfig;
use crate::error::{Result, SearchError};
use crate::method::MethodKind;

/// One stage of a progressive search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchStage {
    /// Epochs of the stage (DrNAS: 25 and 25). When the stages do not sum to the search's
    /// `epochs`, each keeps its share of them ([`SearchConfig::stage_spans`]).
    pub epochs: usize,
    /// PC-DARTS's partial channels K during the stage (DrNAS: 6, then 4); `None`: every channel.
    /// The first stage's is the network's `partial_channels`.
    #[serde(default)]
    pub partial_channels: Option<i64>,
    /// Ops kept per edge from the stage's start, the rest pruned by their alphas (DrNAS: 4 in the
    /// second stage); `None`: no pruning. Not for the first stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_ops: Option<usize>,
}

impl SearchConfig {
    /// The epochs of each stage, `0..epochs` for a search without stages. Stages whose epochs do
    /// not sum to `epochs` are scaled to it: stage `i` ends at its cumulative share, rounded
    /// (the last at `epochs`).
    pub fn stage_spans(&self) -> Vec<Range<usize>> {
        if self.stages.is_empty() {
            return std::iter::once(0..self.epochs).collect();
        }
        let total: usize = self.stages.iter().map(|s| s.epochs).sum::<usize>().max(1);
        let mut spans = Vec::with_capacity(self.stages.len());
        let (mut start, mut cumulative) = (0, 0);
        for (i, stage) in self.stages.iter().enumerate() {
            cumulative += stage.epochs;
            let end = if i + 1 == self.stages.len() {
                self.epochs
            } else {
                (cumulative * self.epochs + total / 2) / total
            };
            spans.push(start..end);
            start = end;
        }
        spans
    }

    /// The stage that `epoch` (0-based) belongs to, and the epoch counted from that stage's start.
    pub fn stage_of(&self, epoch: usize) -> (usize, usize) {
        let spans = self.stage_spans();
        let i = spans
            .iter()
            .position(|s| s.contains(&epoch))
            .unwrap_or(spans.len() - 1);
        (i, epoch.saturating_sub(spans[i].start))
    }

    /// Whether the architecture is updated in `epoch`: from `arch_start_epoch` of each stage.
    pub fn updates_architecture_in(&self, epoch: usize) -> bool {
        self.method.updates_architecture() && self.stage_of(epoch).1 >= self.arch_start_epoch
    }

    /// The supernet of stage `stage`: the network with that stage's partial channels.
    pub fn network_at(&self, stage: usize) -> SearchNetConfig {
        let mut network = self.network.clone();
        if let Some(s) = self.stages.get(stage) {
            network.partial_channels = s.partial_channels;
        }
        network
    }

    pub(crate) fn validate_stages(&self) -> Result<()> {
        let bad = |value: String, reason: String| {
            Err(SearchError::Config {
                field: "stages",
                value,
                reason,
            })
        };
        let Some(first) = self.stages.first() else {
            return Ok(());
        };
        if self.method != MethodKind::Drnas {
            return bad(
                format!("{} stages", self.stages.len()),
                "a progressive search is DrNAS's: use method drnas, or leave stages out".into(),
            );
        }
        if first.partial_channels != self.network.partial_channels {
            return bad(
                format!("{:?}", first.partial_channels),
                format!(
                    "the first stage's partial_channels must be the network's ({:?})",
                    self.network.partial_channels
                ),
            );
        }
        if first.keep_ops.is_some() {
            return bad(
                "keep_ops in stage 1".into(),
                "pruning starts a later stage (the first stage's alphas are still at their initial noise)".into(),
            );
        }
        if let Some(i) = self.stages.iter().position(|s| s.keep_ops == Some(0)) {
            return bad(
                format!("keep_ops 0 in stage {}", i + 1),
                "expected at least 1 op kept per edge".into(),
            );
        }
        if self.network.edge_normalization || self.network.auxiliary_skip {
            return bad(
                format!("{} stages", self.stages.len()),
                "a progressive search widens plain mixed ops: no edge normalisation or auxiliary skip".into(),
            );
        }
        let spans = self.stage_spans();
        if let Some(i) = spans.iter().position(|s| s.is_empty()) {
            return bad(
                format!("{} stages in {} epochs", spans.len(), self.epochs),
                format!("stage {} would have no epoch", i + 1),
            );
        }
        let per_op = |k: Option<i64>| self.network.channels / k.unwrap_or(1).max(1);
        for (i, pair) in self.stages.windows(2).enumerate() {
            if per_op(pair[1].partial_channels) < per_op(pair[0].partial_channels) {
                return bad(
                    format!(
                        "partial_channels {:?} in stage {}",
                        pair[1].partial_channels,
                        i + 2
                    ),
                    "a stage may widen the mixed ops (a smaller K) but not narrow them".into(),
                );
            }
        }
        for (i, stage) in self.stages.iter().enumerate().skip(1) {
            SearchNetConfig {
                partial_channels: stage.partial_channels,
                ..self.network.clone()
            }
            .check_partial_channels()
            .map_err(|e| SearchError::Config {
                field: "stages",
                value: format!(
                    "partial_channels {:?} in stage {}",
                    stage.partial_channels,
                    i + 1
                ),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}
