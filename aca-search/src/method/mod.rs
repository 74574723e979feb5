//! The search methods: their names, the robust peers' settings (one file each) and the
//! architecture steps behind one trait.

mod beta_darts;
mod darts_minus;
mod drnas;
mod fair_darts;
mod sdarts;
mod steps;

use std::fmt;
use std::str::FromStr;

use aca_space::Relaxation;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};

pub use beta_darts::{beta_decay, BetaCells, BetaDartsConfig};
pub use darts_minus::DartsMinusConfig;
pub use drnas::{dirichlet_kl_to_uniform, DrnasConfig, DrnasRegulariser};
pub use fair_darts::{FairDartsConfig, FairDartsRule};
pub use sdarts::SdartsConfig;
pub use steps::{ArchStep, FirstOrder, Regularised, Regulariser, StepContext, Unrolled, HVP_SCALE};

/// The search methods aca ships. Names: the variants in kebab case, for serde and
/// [`MethodKind::name`] alike (a test checks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodKind {
    /// DARTS, first-order architecture gradient (the default).
    #[default]
    Darts,
    /// DARTS, second-order (unrolled) architecture gradient.
    Darts2,
    /// PC-DARTS: partial channels, edge normalisation, first order, architecture warm-up.
    PcDarts,
    /// The random baseline (Li and Talwalkar, 2019): the supernet's weights are trained with
    /// uniform architecture weights (no architecture step), and the genotype is drawn uniformly
    /// under DARTS's cell rules from the run's seed. Allocation and training then treat it as a
    /// searched cell, so a searched cell is compared with random ones at the same budget.
    Random,
    /// beta-DARTS (Ye et al., CVPR 2022): first-order DARTS with the beta-decay regularisation of
    /// the architecture parameters added to the architecture loss ([`BetaDartsConfig`]).
    BetaDarts,
    /// DARTS- (Chu et al., ICLR 2021): first-order DARTS with an auxiliary skip connection on every
    /// edge outside the softmax, its coefficient decayed linearly from 1 to 0 ([`DartsMinusConfig`]).
    DartsMinus,
    /// SDARTS-RS (Chen and Hsieh, ICML 2020): first-order DARTS whose weight steps see the
    /// softmaxed op weights perturbed uniformly in [-epsilon, epsilon] ([`SdartsConfig`]).
    SdartsRs,
    /// SDARTS-ADV (Chen and Hsieh, ICML 2020): like SDARTS-RS, but the perturbation is found by a
    /// projected-gradient attack that raises the training loss ([`SdartsConfig::pgd_steps`]).
    SdartsAdv,
    /// FairDARTS (Chu et al., ECCV 2020): sigmoid op weights (no competition between ops) and
    /// the zero-one loss pushing them to 0 or 1 ([`FairDartsConfig`]).
    FairDarts,
    /// DrNAS (Chen et al., ICLR 2021): op weights sampled from `Dirichlet(elu(alpha) + 1)`,
    /// pathwise gradients, and a regulariser of the concentrations ([`DrnasConfig`]).
    Drnas,
}

/// The robust-DARTS methods' own settings (only the running method's are used).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MethodOptions {
    /// beta-DARTS.
    pub beta_darts: BetaDartsConfig,
    /// DARTS-.
    pub darts_minus: DartsMinusConfig,
    /// SDARTS-RS and SDARTS-ADV.
    pub sdarts: SdartsConfig,
    /// FairDARTS.
    pub fair_darts: FairDartsConfig,
    /// DrNAS.
    pub drnas: DrnasConfig,
}

impl MethodOptions {
    /// Whether every value is the papers' default (then configs leave it out).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl MethodKind {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Darts => "darts",
            Self::Darts2 => "darts2",
            Self::PcDarts => "pc-darts",
            Self::Random => "random",
            Self::BetaDarts => "beta-darts",
            Self::DartsMinus => "darts-minus",
            Self::SdartsRs => "sdarts-rs",
            Self::SdartsAdv => "sdarts-adv",
            Self::FairDarts => "fair-darts",
            Self::Drnas => "drnas",
        }
    }

    /// Every method, in the order the help lists them.
    pub const ALL: [Self; 10] = [
        Self::Darts,
        Self::Darts2,
        Self::PcDarts,
        Self::BetaDarts,
        Self::DartsMinus,
        Self::SdartsRs,
        Self::SdartsAdv,
        Self::FairDarts,
        Self::Drnas,
        Self::Random,
    ];

    /// How this method turns alphas into op weights.
    pub fn relaxation(self) -> Relaxation {
        match self {
            Self::FairDarts => Relaxation::Sigmoid,
            Self::Drnas => Relaxation::Dirichlet,
            _ => Relaxation::Softmax,
        }
    }

    /// Whether the weight step sees SDARTS's perturbed op weights.
    pub fn perturbs_weight_step(self) -> bool {
        matches!(self, Self::SdartsRs | Self::SdartsAdv)
    }

    /// Whether the method updates the architecture (the random baseline does not).
    pub fn updates_architecture(self) -> bool {
        self != Self::Random
    }

    /// The genotype this method derives from architecture parameters: DARTS's rule, FairDARTS's
    /// threshold rule (a sparse cell) unless its options say `darts`, or for the random
    /// baseline a genotype drawn from `seed`.
    pub fn derive(
        self,
        arch: &aca_space::ArchParams,
        ops: &aca_space::OpSet,
        options: &MethodOptions,
        seed: u64,
    ) -> Result<aca_space::Genotype> {
        let fair = options.fair_darts;
        Ok(match self {
            Self::Random => aca_space::Genotype::random(ops, seed)?,
            Self::FairDarts if fair.rule == FairDartsRule::ThresholdSparse => {
                arch.derive_sparse(ops, fair.threshold as f32)?
            }
            _ => arch.derive(ops)?,
        })
    }

    /// The architecture step of this method.
    pub fn arch_step(self, options: &MethodOptions) -> Box<dyn ArchStep> {
        let regularised = |regulariser| {
            Box::new(Regularised {
                inner: FirstOrder,
                regulariser,
            })
        };
        match self {
            Self::Darts
            | Self::PcDarts
            | Self::Random
            | Self::DartsMinus
            | Self::SdartsRs
            | Self::SdartsAdv => Box::new(FirstOrder),
            Self::Darts2 => Box::new(Unrolled::default()),
            Self::BetaDarts => regularised(Regulariser::BetaDecay(options.beta_darts)),
            Self::FairDarts => regularised(Regulariser::ZeroOne(options.fair_darts)),
            Self::Drnas => regularised(Regulariser::Dirichlet(options.drnas)),
        }
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MethodKind {
    type Err = SearchError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| SearchError::Config {
                field: "method",
                value: s.into(),
                reason: format!("expected one of {}", Self::ALL.map(Self::name).join(", ")),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_names() {
        for m in MethodKind::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.name());
            assert_eq!(m.name().parse::<MethodKind>().unwrap(), m);
        }
        for p in crate::Preset::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
            assert_eq!(p.name().parse::<crate::Preset>().unwrap(), p);
        }
    }
}
