//! Architecture steps behind one trait: first-order DARTS (also PC-DARTS's and the peers'),
//! a regularised step, and DARTS's second-order unrolled step.

use std::fmt;

use aca_core::{Adam, Sgd};
use aca_data::Batch;
use aca_space::nn::SearchNetwork;
use tch::Tensor;

use crate::error::Result;

use super::{
    dirichlet_kl_to_uniform, BetaCells, BetaDartsConfig, DrnasConfig, DrnasRegulariser,
    FairDartsConfig,
};

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

/// Another step with a [`Regulariser`]: its gradient (autograd) is added to the inner step's
/// architecture gradient of the alphas (PC-DARTS's betas are not regularised).
#[derive(Debug, Clone, Copy)]
pub struct Regularised<S> {
    /// The step regularised.
    pub inner: S,
    /// The regulariser with its settings.
    pub regulariser: Regulariser,
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
