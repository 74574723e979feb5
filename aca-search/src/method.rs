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
}

impl MethodKind {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Darts => "darts",
            Self::Darts2 => "darts2",
            Self::PcDarts => "pc-darts",
            Self::Random => "random",
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
    pub fn arch_step(self) -> Box<dyn ArchStep> {
        match self {
            Self::Darts | Self::PcDarts | Self::Random => Box::new(FirstOrder),
            Self::Darts2 => Box::new(Unrolled::default()),
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
            _ => Err(SearchError::Config {
                field: "method",
                value: s.into(),
                reason: "expected darts, darts2, pc-darts or random".into(),
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
