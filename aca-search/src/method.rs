//! Architecture steps behind one trait: first-order DARTS (also PC-DARTS's) and DARTS's
//! second-order unrolled step.

use std::fmt;
use std::str::FromStr;

use aca_core::{Adam, Sgd};
use aca_data::Batch;
use aca_space::nn::SearchNetwork;
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
}

/// SDARTS's random smoothing, from the official code (xiangning-chen/SmoothDARTS,
/// `sota/cnn/train_search.py`, `attacker/perturb.py` `Random_alpha`): before each weight step
/// the architecture parameters are replaced by their softmax plus noise uniform in
/// `[-epsilon, epsilon]`, with `epsilon(e) = 0.03 + (epsilon_alpha - 0.03) * e / epochs` and
/// `--epsilon_alpha 0.3`; the architecture step is unperturbed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SdartsConfig {
    /// Perturbation bound at the start. Code: 0.03.
    pub epsilon_min: f64,
    /// Perturbation bound at the end (`--epsilon_alpha`). Code: 0.3.
    pub epsilon_max: f64,
}

impl Default for SdartsConfig {
    fn default() -> Self {
        Self {
            epsilon_min: 0.03,
            epsilon_max: 0.3,
        }
    }
}

impl SdartsConfig {
    /// The bound at `progress` = epoch / epochs of the search.
    pub fn epsilon(&self, progress: f64) -> f64 {
        self.epsilon_min + (self.epsilon_max - self.epsilon_min) * progress
    }
}

/// beta-DARTS's defaults, from the official code (Sunshine-Ye/Beta-DARTS,
/// `optimizers/darts/architect.py`): the architecture loss is
/// `L_val + lambda(e) * mean_edges(logsumexp(alpha_edge))` (the `mlc_loss`, summed here over the
/// normal and the reduction alphas), with `lambda(e) = 50 * e / 100` at epoch `e` of a 50-epoch
/// search, i.e. rising linearly from 0 to 25 at the end of the search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BetaDartsConfig {
    /// The regularisation weight at the end of the search (reached linearly from 0). Code: 25.
    pub lambda_max: f64,
}

impl Default for BetaDartsConfig {
    fn default() -> Self {
        Self { lambda_max: 25.0 }
    }
}

impl BetaDartsConfig {
    /// The weight at `progress` = epoch / epochs of the search.
    pub fn lambda(&self, progress: f64) -> f64 {
        self.lambda_max * progress
    }
}

/// DARTS-'s defaults, from the official code (Meituan-AutoML/DARTS-: `--auxiliary_skip
/// --skip_beta 1 --decay linear`, `DecayScheduler`): the auxiliary skip's coefficient is
/// `beta(e) = skip_beta * (epochs - e) / epochs` at epoch `e`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsMinusConfig {
    /// The coefficient at the start of the search (`--skip_beta`). Code: 1.
    pub skip_beta: f64,
}

impl Default for DartsMinusConfig {
    fn default() -> Self {
        Self { skip_beta: 1.0 }
    }
}

impl DartsMinusConfig {
    /// The coefficient at `progress` = epoch / epochs of the search.
    pub fn beta(&self, progress: f64) -> f64 {
        self.skip_beta * (1.0 - progress)
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
    /// SDARTS-RS.
    pub sdarts: SdartsConfig,
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
        }
    }

    /// Whether the method updates the architecture (the random baseline does not).
    pub fn updates_architecture(self) -> bool {
        self != Self::Random
    }

    /// The genotype this method derives from architecture parameters: DARTS's rule, or for the
    /// random baseline a genotype drawn from `seed`.
    pub fn derive(
        self,
        arch: &aca_space::ArchParams,
        ops: &aca_space::OpSet,
        seed: u64,
    ) -> Result<aca_space::Genotype> {
        Ok(match self {
            Self::Random => aca_space::Genotype::random(ops, seed)?,
            _ => arch.derive(ops)?,
        })
    }

    /// The architecture step of this method.
    pub fn arch_step(self, options: &MethodOptions) -> Box<dyn ArchStep> {
        match self {
            Self::Darts | Self::PcDarts | Self::Random | Self::DartsMinus | Self::SdartsRs => {
                Box::new(FirstOrder)
            }
            Self::Darts2 => Box::new(Unrolled::default()),
            Self::BetaDarts => Box::new(BetaDecay {
                inner: FirstOrder,
                config: options.beta_darts,
            }),
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
        match s {
            "darts" => Ok(Self::Darts),
            "darts2" => Ok(Self::Darts2),
            "pc-darts" => Ok(Self::PcDarts),
            "random" => Ok(Self::Random),
            "beta-darts" => Ok(Self::BetaDarts),
            "darts-minus" => Ok(Self::DartsMinus),
            "sdarts-rs" => Ok(Self::SdartsRs),
            _ => Err(SearchError::Config {
                field: "method",
                value: s.into(),
                reason:
                    "expected darts, darts2, pc-darts, beta-darts, darts-minus, sdarts-rs or random"
                        .into(),
            }),
        }
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
        let loss = ctx.net.loss(&valid.images, &valid.labels, true);
        let value = loss.f_double_value(&[])?;
        let grads = Tensor::f_run_backward(&[&loss], &ctx.net.arch_parameters(), false, false)?;
        Ok((grads, value))
    }
}

/// beta-DARTS's beta-decay regularisation on top of another step: the gradient of
/// `lambda * sum over cell types of mean_edges(logsumexp(alpha_edge))` is added to the inner step's
/// architecture gradient; that gradient is `lambda * softmax(alpha_edge) / edges` per alpha.
#[derive(Debug, Clone, Copy)]
pub struct BetaDecay<S> {
    /// The step regularised.
    pub inner: S,
    /// Its weight schedule.
    pub config: BetaDartsConfig,
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

impl<S: ArchStep> ArchStep for BetaDecay<S> {
    fn arch_gradient(
        &self,
        ctx: &StepContext<'_>,
        train: &Batch,
        valid: &Batch,
    ) -> Result<(Vec<Tensor>, f64)> {
        let (mut grads, loss) = self.inner.arch_gradient(ctx, train, valid)?;
        let lambda = self.config.lambda(ctx.progress);
        // Alphas come first (normal, reduce); PC-DARTS's betas are not regularised.
        for (g, a) in grads.iter_mut().zip(ctx.net.arch_parameters()).take(2) {
            let (_, reg) = beta_decay(&a)?;
            *g = g.f_add(&reg.f_mul_scalar(lambda)?)?;
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
        let loss = net.loss(&train.images, &train.labels, true);
        let g = Tensor::f_run_backward(&[&loss], &weights, false, false)?;
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
        let valid_loss = net.loss(&valid.images, &valid.labels, true);
        let value = valid_loss.f_double_value(&[])?;
        let inputs: Vec<Tensor> = arch
            .iter()
            .chain(&weights)
            .map(Tensor::shallow_clone)
            .collect();
        let mut grads = Tensor::f_run_backward(&[&valid_loss], &inputs, false, false)?;
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
            let loss = net.loss(&train.images, &train.labels, true);
            Ok(Tensor::f_run_backward(&[&loss], &arch, false, false)?)
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
