//! SGD and Adam with PyTorch's exact update rules, over explicit (parameter, gradient) lists, with
//! state that can be exported and restored (momentum buffers, Adam moments and step count).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{CoreError, Result};

/// A named set of optimizer state tensors, as saved in a checkpoint.
pub type OptimizerState = Vec<(String, Tensor)>;

/// SGD settings. Defaults: DARTS's weight optimizer (lr 0.025, momentum 0.9, weight decay 3e-4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdConfig {
    /// Learning rate (the schedule overrides it each epoch).
    pub lr: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
}

/// The largest learning rate accepted: far above any published setting (DARTS 0.025, PC-DARTS
/// 0.1, ImageNet 0.1 to 0.5), far below values that only ever diverge.
pub const MAX_LR: f64 = 10.0;

/// A refused optimizer value: (field, value, what was expected).
pub type BadValue = (&'static str, f64, &'static str);

fn check_lr_and_decay(lr: f64, weight_decay: f64) -> std::result::Result<(), BadValue> {
    if !(lr.is_finite() && lr > 0.0 && lr <= MAX_LR) {
        return Err(("lr", lr, "expected 0 < lr <= 10"));
    }
    if !(0.0..1.0).contains(&weight_decay) {
        return Err((
            "weight_decay",
            weight_decay,
            "expected 0 <= weight_decay < 1",
        ));
    }
    Ok(())
}

impl SgdConfig {
    /// Checks the values the types do not: `(field, value, expected)` for the first bad one.
    pub fn check(&self) -> std::result::Result<(), BadValue> {
        check_lr_and_decay(self.lr, self.weight_decay)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(("momentum", self.momentum, "expected 0 <= momentum <= 1"));
        }
        Ok(())
    }
}

impl AdamConfig {
    /// Checks the values the types do not: `(field, value, expected)` for the first bad one.
    pub fn check(&self) -> std::result::Result<(), BadValue> {
        check_lr_and_decay(self.lr, self.weight_decay)?;
        for (i, beta) in [self.betas.0, self.betas.1].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                let field = if i == 0 { "betas.0" } else { "betas.1" };
                return Err((field, beta, "expected 0 <= beta < 1"));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(("eps", self.eps, "expected a small positive number"));
        }
        Ok(())
    }
}

impl Default for SgdConfig {
    fn default() -> Self {
        // DARTS train_search.py: --learning_rate 0.025 --momentum 0.9 --weight_decay 3e-4.
        Self {
            lr: 0.025,
            momentum: 0.9,
            weight_decay: 3e-4,
        }
    }
}

/// `torch.optim.SGD` (no dampening, no Nesterov): `d = g + wd*p; b = d` on the first step,
/// `b = momentum*b + d` after; `p -= lr*b`.
#[derive(Debug)]
pub struct Sgd {
    /// Settings; `lr` may be changed between steps.
    pub config: SgdConfig,
    buffers: Vec<Option<Tensor>>,
}

impl Sgd {
    /// An optimizer for `n` parameters.
    pub fn new(config: SgdConfig, n: usize) -> Self {
        Self {
            config,
            buffers: (0..n).map(|_| None).collect(),
        }
    }

    /// The momentum buffer of parameter `i` (None before its first step).
    pub fn momentum_buffer(&self, i: usize) -> Option<&Tensor> {
        self.buffers.get(i).and_then(Option::as_ref)
    }

    /// One step on `params` with `grads` (same order and length as at construction).
    pub fn step(&mut self, params: &[Tensor], grads: &[Tensor]) -> Result<()> {
        check_lengths("sgd", self.buffers.len(), params.len(), grads.len())?;
        let SgdConfig {
            lr,
            momentum,
            weight_decay,
        } = self.config;
        tch::no_grad(|| -> Result<()> {
            for ((p, g), buf) in params.iter().zip(grads).zip(&mut self.buffers) {
                // As torch.optim skips a parameter without a gradient (one the loss did not
                // reach, e.g. an op pruned by DrNAS): no decay, no momentum update.
                if !g.defined() {
                    continue;
                }
                let mut d = if weight_decay != 0.0 {
                    g.f_add(&p.f_mul_scalar(weight_decay)?)?
                } else {
                    g.shallow_clone()
                };
                if momentum != 0.0 {
                    let b = match buf.take() {
                        None => d.f_detach_copy()?,
                        Some(mut b) => {
                            let _ = b.f_mul_scalar_(momentum)?.f_add_(&d)?;
                            b
                        }
                    };
                    d = b.shallow_clone();
                    *buf = Some(b);
                }
                let mut p = p.shallow_clone();
                let _ = p.f_sub_(&d.f_mul_scalar(lr)?)?;
            }
            Ok(())
        })
    }

    /// The state to save: `momentum.{i}` for each parameter that has a buffer.
    pub fn state(&self) -> OptimizerState {
        self.buffers
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.as_ref()
                    .map(|b| (format!("momentum.{i}"), b.shallow_clone()))
            })
            .collect()
    }

    /// Restores what [`Sgd::state`] gave.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.buffers.iter_mut().for_each(|b| *b = None);
        for (name, t) in state {
            let i = parse_index(name, "momentum.", self.buffers.len())?;
            self.buffers[i] = Some(t.f_detach_copy()?);
        }
        Ok(())
    }
}

/// Adam settings. Defaults: DARTS's architecture optimizer (lr 3e-4, betas (0.5, 0.999), weight
/// decay 1e-3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// L2 weight decay added to the gradient (Adam's, not AdamW's).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        // DARTS train_search.py: --arch_learning_rate 3e-4, betas (0.5, 0.999), --arch_weight_decay 1e-3.
        Self {
            lr: 3e-4,
            betas: (0.5, 0.999),
            eps: 1e-8,
            weight_decay: 1e-3,
        }
    }
}

/// `torch.optim.Adam` (amsgrad off): `g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)`.
#[derive(Debug)]
pub struct Adam {
    /// Settings.
    pub config: AdamConfig,
    step: i64,
    moments: Vec<Option<(Tensor, Tensor)>>,
}

impl Adam {
    /// An optimizer for `n` parameters.
    pub fn new(config: AdamConfig, n: usize) -> Self {
        Self {
            config,
            step: 0,
            moments: (0..n).map(|_| None).collect(),
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> i64 {
        self.step
    }

    /// One step on `params` with `grads`.
    pub fn step(&mut self, params: &[Tensor], grads: &[Tensor]) -> Result<()> {
        check_lengths("adam", self.moments.len(), params.len(), grads.len())?;
        let AdamConfig {
            lr,
            betas: (b1, b2),
            eps,
            weight_decay,
        } = self.config;
        self.step += 1;
        let t = self.step as i32;
        let bc1 = 1.0 - b1.powi(t);
        let bc2 = 1.0 - b2.powi(t);
        tch::no_grad(|| -> Result<()> {
            for ((p, g), mom) in params.iter().zip(grads).zip(&mut self.moments) {
                if !g.defined() {
                    continue;
                }
                let g = if weight_decay != 0.0 {
                    g.f_add(&p.f_mul_scalar(weight_decay)?)?
                } else {
                    g.shallow_clone()
                };
                let (mut m, mut v) = match mom.take() {
                    Some(mv) => mv,
                    None => (g.f_zeros_like()?, g.f_zeros_like()?),
                };
                let _ = m.f_mul_scalar_(b1)?.f_add_(&g.f_mul_scalar(1.0 - b1)?)?;
                let _ = v
                    .f_mul_scalar_(b2)?
                    .f_add_(&g.f_mul(&g)?.f_mul_scalar(1.0 - b2)?)?;
                let denom = v.f_sqrt()?.f_div_scalar(bc2.sqrt())?.f_add_scalar(eps)?;
                let mut p = p.shallow_clone();
                let _ = p.f_sub_(&m.f_div(&denom)?.f_mul_scalar(lr / bc1)?)?;
                *mom = Some((m, v));
            }
            Ok(())
        })
    }

    /// The state to save: `step`, `exp_avg.{i}`, `exp_avg_sq.{i}`.
    pub fn state(&self) -> OptimizerState {
        let mut out = vec![("step".to_string(), Tensor::from(self.step))];
        for (i, m) in self.moments.iter().enumerate() {
            if let Some((m, v)) = m {
                out.push((format!("exp_avg.{i}"), m.shallow_clone()));
                out.push((format!("exp_avg_sq.{i}"), v.shallow_clone()));
            }
        }
        out
    }

    /// Restores what [`Adam::state`] gave.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let n = self.moments.len();
        let mut m: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        let mut v: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        for (name, t) in state {
            if name == "step" {
                self.step = t.f_int64_value(&[])?;
            } else if let Some(rest) = name.strip_prefix("exp_avg_sq.") {
                v[parse_index(rest, "", n)?] = Some(t.f_detach_copy()?);
            } else {
                m[parse_index(name, "exp_avg.", n)?] = Some(t.f_detach_copy()?);
            }
        }
        self.moments = m.into_iter().zip(v).map(|(m, v)| m.zip(v)).collect();
        Ok(())
    }
}

/// Scales `grads` in place so that their global L2 norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_` does; returns the norm before clipping.
pub fn clip_grad_norm(grads: &[Tensor], max_norm: f64) -> Result<f64> {
    let total = tch::no_grad(|| -> Result<f64> {
        let mut sq = 0.0;
        for g in grads.iter().filter(|g| g.defined()) {
            sq += g
                .f_square()?
                .f_sum(tch::Kind::Double)?
                .f_double_value(&[])?;
        }
        Ok(sq.sqrt())
    })?;
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        tch::no_grad(|| -> Result<()> {
            for g in grads.iter().filter(|g| g.defined()) {
                let _ = g.shallow_clone().f_mul_scalar_(coef)?;
            }
            Ok(())
        })?;
    }
    Ok(total)
}

fn check_lengths(which: &str, n: usize, params: usize, grads: usize) -> Result<()> {
    if params != n || grads != n {
        return Err(CoreError::Optimizer {
            reason: format!("{which} was built for {n} parameters, got {params} parameters and {grads} gradients"),
        });
    }
    Ok(())
}

fn parse_index(name: &str, prefix: &str, n: usize) -> Result<usize> {
    name.strip_prefix(prefix)
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&i| i < n)
        .ok_or_else(|| CoreError::Optimizer {
            reason: format!("state entry `{name}` does not name one of the {n} parameters"),
        })
}
