//! Architecture steps behind one trait: first-order DARTS (also PC-DARTS's) and DARTS's
//! second-order unrolled step.

use std::fmt;
use std::str::FromStr;

use aca_core::{Adam, Sgd};
use aca_data::Batch;
use aca_space::nn::SearchNetwork;
use aca_space::Relaxation;
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Result, SearchError};

/// The search methods aca ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MethodKind {
    /// DARTS, first-order architecture gradient.
    #[serde(rename = "darts")]
    Darts,
    /// DARTS, second-order (unrolled) architecture gradient.
    #[serde(rename = "darts2")]
    Darts2,
    /// PC-DARTS: partial channels, edge normalisation, first order, architecture warm-up.
    #[serde(rename = "pc-darts")]
    PcDarts,
    /// The random baseline (Li and Talwalkar, 2019): the supernet's weights are trained with
    /// uniform architecture weights (no architecture step), and the genotype is drawn uniformly
    /// under DARTS's cell rules from the run's seed. Allocation and training then treat it as a
    /// searched cell, so a searched cell is compared with random ones at the same budget.
    #[serde(rename = "random")]
    Random,
    /// beta-DARTS (Ye et al., CVPR 2022): first-order DARTS with the beta-decay regularisation of
    /// the architecture parameters added to the architecture loss ([`BetaDartsConfig`]).
    #[serde(rename = "beta-darts")]
    BetaDarts,
    /// DARTS- (Chu et al., ICLR 2021): first-order DARTS with an auxiliary skip connection on every
    /// edge outside the softmax, its coefficient decayed linearly from 1 to 0 ([`DartsMinusConfig`]).
    #[serde(rename = "darts-minus")]
    DartsMinus,
    /// SDARTS-RS (Chen and Hsieh, ICML 2020): first-order DARTS whose weight steps see the
    /// softmaxed op weights perturbed uniformly in [-epsilon, epsilon] ([`SdartsConfig`]).
    #[serde(rename = "sdarts-rs")]
    SdartsRs,
    /// SDARTS-ADV (Chen and Hsieh, ICML 2020): like SDARTS-RS, but the perturbation is found by a
    /// projected-gradient attack that raises the training loss ([`SdartsConfig::pgd_steps`]).
    #[serde(rename = "sdarts-adv")]
    SdartsAdv,
    /// FairDARTS (Chu et al., ECCV 2020): sigmoid op weights (no competition between ops) and
    /// the zero-one loss pushing them to 0 or 1 ([`FairDartsConfig`]).
    #[serde(rename = "fair-darts")]
    FairDarts,
    /// DrNAS (Chen et al., ICLR 2021): op weights sampled from `Dirichlet(elu(alpha) + 1)`,
    /// pathwise gradients, and a regulariser of the concentrations ([`DrnasConfig`]).
    #[serde(rename = "drnas")]
    Drnas,
}

/// SDARTS, from the official code (xiangning-chen/SmoothDARTS, `sota/cnn/train_search.py`,
/// `attacker/perturb.py`): before each weight step the architecture parameters are replaced by
/// their softmax, perturbed within `[-epsilon, epsilon]` and clipped (`model.clip()`: clamp to
/// [0, 1], renormalise each edge), with `epsilon(e) = 0.03 + (epsilon_alpha - 0.03) * e / epochs`
/// and `--epsilon_alpha 0.3`; the architecture step is unperturbed. RS (`Random_alpha`) draws
/// the perturbation uniformly; ADV (`Linf_PGD_alpha`) starts there and takes `steps = 7` signed
/// gradient steps of size `2 epsilon / steps` up the training loss (network in evaluation mode),
/// projecting back into the box and clipping after each, and drops the perturbation if it did
/// not raise the loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SdartsConfig {
    /// Perturbation bound at the start. Code: 0.03.
    pub epsilon_min: f64,
    /// Perturbation bound at the end (`--epsilon_alpha`). Code: 0.3.
    pub epsilon_max: f64,
    /// SDARTS-ADV's attack steps (`Linf_PGD_alpha(steps=7)`). Code: 7.
    pub pgd_steps: usize,
}

impl Default for SdartsConfig {
    fn default() -> Self {
        Self {
            epsilon_min: 0.03,
            epsilon_max: 0.3,
            pgd_steps: 7,
        }
    }
}

impl SdartsConfig {
    /// The bound at `progress` = epoch / epochs of the search.
    pub fn epsilon(&self, progress: f64) -> f64 {
        self.epsilon_min + (self.epsilon_max - self.epsilon_min) * progress
    }
}

/// beta-DARTS's settings. The official code (Sunshine-Ye/Beta-DARTS,
/// `optimizers/darts/architect.py`) adds `lambda(e) * mean_edges(logsumexp(alpha_edge))` (its
/// `mlc_loss`) to the architecture loss with `lambda(e) = 50 * e / 100`, a slope of 0.5 per
/// epoch (49.5 at the end of its default 100 epochs). Its DARTS-space path does not run (the
/// loss is handed a list of the two cells' alphas), so how the cells combine and the end value
/// in DARTS's space are aca's choices: by default the two cells' terms are summed and the weight
/// rises linearly to 25 at the end of the search (the code's slope over a 50-epoch search);
/// docs/method.md, "The peers against their official code".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BetaDartsConfig {
    /// The regularisation weight at the end of the search (reached linearly from 0): 25.
    pub lambda_max: f64,
    /// How the normal and reduction cells' terms combine: `sum` (default) or `mean` (the code's
    /// loss on the two cells stacked into one tensor; `sum` with 25 equals `mean` with 50).
    #[serde(skip_serializing_if = "BetaCells::is_sum")]
    pub cells: BetaCells,
}

/// How beta-DARTS's regulariser combines the two cell types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BetaCells {
    /// The normal and the reduction cells' terms added.
    #[default]
    Sum,
    /// Their mean.
    Mean,
}

impl BetaCells {
    fn is_sum(&self) -> bool {
        *self == Self::Sum
    }
}

impl Default for BetaDartsConfig {
    fn default() -> Self {
        Self {
            lambda_max: 25.0,
            cells: BetaCells::Sum,
        }
    }
}

impl BetaDartsConfig {
    /// The weight at `progress` = epoch / epochs of the search.
    pub fn lambda(&self, progress: f64) -> f64 {
        self.lambda_max * progress
    }
}

/// DARTS-'s settings, from the official code (Meituan-AutoML/DARTS-: `--auxiliary_skip
/// --skip_beta 1 --decay linear`, `DecayScheduler`): the auxiliary skip's coefficient is
/// `beta(e) = skip_beta * (T - e) / T` at epoch `e`, and 0 from `T` on. The code's horizon is
/// `--decay_max_epoch 50`, the length of its search; by default aca takes the search's own
/// length, so the skip has faded when any search ends (docs/method.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsMinusConfig {
    /// The coefficient at the start of the search (`--skip_beta`). Code: 1.
    pub skip_beta: f64,
    /// The decay's horizon `T` in epochs (`--decay_max_epoch`; the code's 50). Unset: the
    /// search's own length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_max_epoch: Option<usize>,
}

impl Default for DartsMinusConfig {
    fn default() -> Self {
        Self {
            skip_beta: 1.0,
            decay_max_epoch: None,
        }
    }
}

impl DartsMinusConfig {
    /// The coefficient at epoch `epoch` (0-based) of a search of `epochs` epochs.
    pub fn beta(&self, epoch: usize, epochs: usize) -> f64 {
        let horizon = self.decay_max_epoch.unwrap_or(epochs).max(1) as f64;
        self.skip_beta * (1.0 - epoch as f64 / horizon).max(0.0)
    }
}

/// FairDARTS's defaults, from the official code (xiaomi-automl/FairDARTS, `fairdarts/`:
/// `train_search.py`, `separate_loss.py` `ConvSeparateLoss`, `utils.py` `parse`): the
/// architecture loss is `L_val - w * mean((sigmoid(alpha) - 0.5)^2)` over the normal and the
/// reduction alphas together, `--aux_loss_weight 10`; the genotype rule `threshold_sparse` keeps
/// a chosen op only when its sigmoid weight reaches `--op_threshold 0.85`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairDartsConfig {
    /// Weight of the zero-one loss (`--aux_loss_weight`). Code: 10.
    pub zero_one_weight: f64,
    /// Sigmoid weight an op must reach under the threshold rule (`--op_threshold`). Code: 0.85.
    pub threshold: f64,
    /// The genotype rule (`--parse_method`). Code: `threshold_sparse`.
    pub rule: FairDartsRule,
    /// Search `none` too in DARTS's space. Code: no (its PRIMITIVES have 7 ops), so `--space
    /// darts` searches `darts-no-none` unless this is set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub with_none: bool,
}

impl Default for FairDartsConfig {
    fn default() -> Self {
        Self {
            zero_one_weight: 10.0,
            threshold: 0.85,
            rule: FairDartsRule::ThresholdSparse,
            with_none: false,
        }
    }
}

/// How FairDARTS derives its genotype (`--parse_method` of the official code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FairDartsRule {
    /// `threshold_sparse`: DARTS's two edges per node and strongest op on each, each kept only
    /// when its sigmoid weight reaches the threshold: a sparse cell
    /// ([`aca_space::ArchParams::derive_sparse`]), trained as the code's `DCOCell` trains it.
    ThresholdSparse,
    /// `darts`: DARTS's rule on the sigmoid weights, a cell of 8 ops.
    Darts,
}

/// DrNAS's regulariser of the Dirichlet concentrations (`--reg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrnasRegulariser {
    /// `scale / 2 * ||alpha||^2` (the code passes `reg_scale` to Adam as weight decay): the
    /// default of the official DARTS-space search.
    L2,
    /// `scale * sum_edges KL(Dir(elu(alpha) + 1) || Dir(1))`.
    Kl,
}

/// DrNAS's defaults, from the official code (xiangning-chen/DrNAS, `DARTS-space/train_search.py`,
/// `model_search.py`, `architect.py`): `--reg_type l2 --reg_scale 1e-3`, Adam lr 6e-4 with betas
/// (0.5, 0.999), architecture updates from epoch 10. Not implemented: the progressive schedule
/// (partial channels K 6 then 4, pruning to 4 ops per edge after 25 epochs); aca's `drnas`
/// searches the full supernet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DrnasConfig {
    /// Which regulariser (`--reg_type`). Code: l2.
    pub regulariser: DrnasRegulariser,
    /// Its scale (`--reg_scale`). Code: 1e-3.
    pub scale: f64,
    /// Search `none` too in DARTS's space. Code: no (`none` is commented out of its
    /// PRIMITIVES), so `--space darts` searches `darts-no-none` unless this is set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub with_none: bool,
}

impl Default for DrnasConfig {
    fn default() -> Self {
        Self {
            regulariser: DrnasRegulariser::L2,
            scale: 1e-3,
            with_none: false,
        }
    }
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

/// What an architecture step needs besides the batches.
#[derive(Debug)]
pub struct StepContext<'a> {
    /// The supernet.
    pub net: &'a SearchNetwork,
    /// The weight optimizer (its momentum buffers enter the unrolled step).
    pub weight_optimizer: &'a Sgd,
    /// The current weight learning rate (eta).
    pub lr: f64,
    /// How far the search is: epoch / epochs (0 at the start), for methods with schedules.
    pub progress: f64,
}

/// One architecture update. New search methods implement this trait.
pub trait ArchStep: fmt::Debug {
    /// The gradient of the validation loss with respect to the architecture parameters (in
    /// `net.arch_parameters()` order), and the validation loss.
    fn arch_gradient(
        &self,
        ctx: &StepContext<'_>,
        train: &Batch,
        valid: &Batch,
    ) -> Result<(Vec<Tensor>, f64)>;

    /// Computes the gradient and applies the architecture optimizer; returns the validation loss.
    fn step(
        &self,
        ctx: &StepContext<'_>,
        optimizer: &mut Adam,
        train: &Batch,
        valid: &Batch,
    ) -> Result<f64> {
        let (grads, loss) = self.arch_gradient(ctx, train, valid)?;
        optimizer.step(&ctx.net.arch_parameters(), &grads)?;
        Ok(loss)
    }
}

/// First order: `grad_alpha L_val(w, alpha)`; only architecture gradients are computed.
#[derive(Debug, Clone, Copy, Default)]
pub struct FirstOrder;

impl ArchStep for FirstOrder {
    fn arch_gradient(
        &self,
        ctx: &StepContext<'_>,
        _train: &Batch,
        valid: &Batch,
    ) -> Result<(Vec<Tensor>, f64)> {
        let out = ctx.net.loss_and_grads(
            &valid.images,
            &valid.labels,
            true,
            &ctx.net.arch_parameters(),
        )?;
        Ok((out.grads, out.loss.f_double_value(&[])?))
    }
}

/// A regulariser of the architecture parameters, added to the architecture loss of another step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Regulariser {
    /// beta-DARTS: `lambda(e) * sum over cell types of mean_edges(logsumexp(alpha_edge))`.
    BetaDecay(BetaDartsConfig),
    /// FairDARTS's zero-one loss: `-w * mean((sigmoid(alpha) - 0.5)^2)` over both cell types.
    ZeroOne(FairDartsConfig),
    /// DrNAS's L2 or KL regulariser of the Dirichlet concentrations.
    Dirichlet(DrnasConfig),
}

impl Regulariser {
    /// The regulariser's value for the alphas (normal, reduce) at `progress` of the search,
    /// differentiable in them.
    pub fn value(&self, alphas: &[Tensor], progress: f64) -> Result<Tensor> {
        let kind = alphas.first().map_or(tch::Kind::Float, Tensor::kind);
        let mut total = Tensor::f_zeros(
            [],
            (
                kind,
                alphas.first().map_or(tch::Device::Cpu, Tensor::device),
            ),
        )?;
        match *self {
            Self::BetaDecay(config) => {
                let share = match config.cells {
                    BetaCells::Sum => 1.0,
                    BetaCells::Mean => 1.0 / alphas.len().max(1) as f64,
                };
                for a in alphas {
                    let term = a.f_logsumexp([-1i64].as_slice(), false)?.f_mean(kind)?;
                    total = total.f_add(&term.f_mul_scalar(config.lambda(progress) * share)?)?;
                }
            }
            Self::ZeroOne(config) => {
                let all = Tensor::f_cat(alphas, 0)?;
                let spread = all
                    .f_sigmoid()?
                    .f_sub_scalar(0.5)?
                    .f_square()?
                    .f_mean(kind)?;
                total = spread.f_mul_scalar(-config.zero_one_weight)?;
            }
            Self::Dirichlet(config) => {
                for a in alphas {
                    let term = match config.regulariser {
                        DrnasRegulariser::L2 => a.f_square()?.f_sum(kind)?.f_mul_scalar(0.5)?,
                        DrnasRegulariser::Kl => {
                            dirichlet_kl_to_uniform(&a.f_elu()?.f_add_scalar(1.0)?)?
                        }
                    };
                    total = total.f_add(&term.f_mul_scalar(config.scale)?)?;
                }
            }
        }
        Ok(total)
    }
}

/// `sum over rows of KL(Dir(c_row) || Dir(1, .., 1))`, in closed form:
/// `lnG(c0) - sum lnG(c_i) - lnG(K) + sum (c_i - 1)(psi(c_i) - psi(c0))`.
pub fn dirichlet_kl_to_uniform(concentration: &Tensor) -> Result<Tensor> {
    let kind = concentration.kind();
    let k = concentration.size().last().copied().unwrap_or(1) as f64;
    let c0 = concentration.f_sum_dim_intlist(-1, true, kind)?;
    let ln_gamma_k = Tensor::f_from_slice(&[k])?
        .f_lgamma()?
        .f_double_value(&[0])?;
    let kl = c0
        .f_lgamma()?
        .f_squeeze_dim(-1)?
        .f_sub(
            &concentration
                .f_lgamma()?
                .f_sum_dim_intlist(-1, false, kind)?,
        )?
        .f_sub_scalar(ln_gamma_k)?
        .f_add(
            &concentration
                .f_sub_scalar(1.0)?
                .f_mul(&concentration.f_digamma()?.f_sub(&c0.f_digamma()?)?)?
                .f_sum_dim_intlist(-1, false, kind)?,
        )?;
    Ok(kl.f_sum(kind)?)
}

/// Another step with a [`Regulariser`]: its gradient (autograd) is added to the inner step's
/// architecture gradient of the alphas (PC-DARTS's betas are not regularised).
#[derive(Debug, Clone, Copy)]
pub struct Regularised<S> {
    /// The step regularised.
    pub inner: S,
    /// The regulariser with its settings.
    pub regulariser: Regulariser,
}

/// The beta-decay regulariser `mean_edges(logsumexp(alpha_edge))` of one alpha matrix, and its
/// gradient `softmax(alpha_edge) / edges`.
pub fn beta_decay(alphas: &Tensor) -> Result<(f64, Tensor)> {
    let edges = alphas.size().first().copied().unwrap_or(1).max(1) as f64;
    tch::no_grad(|| {
        let value = alphas
            .f_logsumexp([-1i64].as_slice(), false)?
            .f_mean(alphas.kind())?
            .f_double_value(&[])?;
        let grad = alphas.f_softmax(-1, alphas.kind())?.f_div_scalar(edges)?;
        Ok((value, grad))
    })
}

impl<S: ArchStep> ArchStep for Regularised<S> {
    fn arch_gradient(
        &self,
        ctx: &StepContext<'_>,
        train: &Batch,
        valid: &Batch,
    ) -> Result<(Vec<Tensor>, f64)> {
        let (mut grads, loss) = self.inner.arch_gradient(ctx, train, valid)?;
        let alphas: Vec<Tensor> = ctx.net.arch_parameters().into_iter().take(2).collect();
        let value = self.regulariser.value(&alphas, ctx.progress)?;
        let reg = Tensor::f_run_backward(&[&value], &alphas, false, false)?;
        for (g, r) in grads.iter_mut().zip(reg) {
            *g = g.f_add(&r)?;
        }
        Ok((grads, loss))
    }
}

/// DARTS's second-order step (darts.md): a virtual SGD step of the weights, the validation
/// gradient there, and a finite-difference Hessian-vector product on the original weights.
#[derive(Debug, Clone, Copy)]
pub struct Unrolled {
    /// Finite-difference scale: `R = scale / ||v||`. DARTS: 0.01.
    pub scale: f64,
}

/// DARTS's finite-difference scale of the Hessian-vector product.
pub const HVP_SCALE: f64 = 0.01;

impl Default for Unrolled {
    fn default() -> Self {
        Self { scale: HVP_SCALE }
    }
}

fn copy_into(dst: &[Tensor], src: &[Tensor]) -> Result<()> {
    tch::no_grad(|| {
        for (d, s) in dst.iter().zip(src) {
            d.shallow_clone().f_copy_(s)?;
        }
        Ok(())
    })
}

fn snapshot(ts: &[Tensor]) -> Result<Vec<Tensor>> {
    ts.iter().map(|t| Ok(t.f_detach_copy()?)).collect()
}

impl ArchStep for Unrolled {
    fn arch_gradient(
        &self,
        ctx: &StepContext<'_>,
        train: &Batch,
        valid: &Batch,
    ) -> Result<(Vec<Tensor>, f64)> {
        let net = ctx.net;
        let weights = net.weights();
        let arch = net.arch_parameters();
        let eta = ctx.lr;
        let cfg = ctx.weight_optimizer.config;
        let w0 = snapshot(&weights)?;

        // Virtual step: w' = w - eta * (momentum * m + grad_w L_train(w) + wd * w).
        let g = net
            .loss_and_grads(&train.images, &train.labels, true, &weights)?
            .grads;
        let virtual_w = tch::no_grad(|| -> Result<Vec<Tensor>> {
            w0.iter()
                .zip(&g)
                .enumerate()
                .map(|(i, (w, g))| {
                    let mut d = g.f_add(&w.f_mul_scalar(cfg.weight_decay)?)?;
                    if let Some(m) = ctx.weight_optimizer.momentum_buffer(i) {
                        d = d.f_add(&m.f_mul_scalar(cfg.momentum)?)?;
                    }
                    Ok(w.f_sub(&d.f_mul_scalar(eta)?)?)
                })
                .collect()
        })?;

        // The validation gradients at w' (DARTS evaluates a copy of the model: its BN running
        // statistics are restored afterwards).
        let buffers = net.buffers();
        let saved_buffers = snapshot(&buffers)?;
        copy_into(&weights, &virtual_w)?;
        let inputs: Vec<Tensor> = arch
            .iter()
            .chain(&weights)
            .map(Tensor::shallow_clone)
            .collect();
        let valid = net.loss_and_grads(&valid.images, &valid.labels, true, &inputs)?;
        let value = valid.loss.f_double_value(&[])?;
        let mut grads = valid.grads;
        let v = grads.split_off(arch.len());
        let mut dalpha = grads;
        copy_into(&buffers, &saved_buffers)?;

        // Hessian-vector product on the ORIGINAL weights: (grad_a L_train(w+) - grad_a L_train(w-)) / 2R.
        let norm = tch::no_grad(|| -> Result<f64> {
            let mut sq = 0.0;
            for t in &v {
                sq += t
                    .f_square()?
                    .f_sum(tch::Kind::Double)?
                    .f_double_value(&[])?;
            }
            Ok(sq.sqrt())
        })?;
        let r = self.scale / norm.max(f64::MIN_POSITIVE);
        let arch_grad_at = |sign: f64| -> Result<Vec<Tensor>> {
            let shifted = tch::no_grad(|| -> Result<Vec<Tensor>> {
                w0.iter()
                    .zip(&v)
                    .map(|(w, v)| Ok(w.f_add(&v.f_mul_scalar(sign * r)?)?))
                    .collect()
            })?;
            copy_into(&weights, &shifted)?;
            Ok(net
                .loss_and_grads(&train.images, &train.labels, true, &arch)?
                .grads)
        };
        let gp = arch_grad_at(1.0)?;
        let gn = arch_grad_at(-1.0)?;
        copy_into(&weights, &w0)?;
        tch::no_grad(|| -> Result<()> {
            for ((d, p), n) in dalpha.iter_mut().zip(&gp).zip(&gn) {
                let h = p.f_sub(n)?.f_div_scalar(2.0 * r)?;
                *d = d.f_sub(&h.f_mul_scalar(eta)?)?;
            }
            Ok(())
        })?;
        Ok((dalpha, value))
    }
}
