//! The steps a search is made of, public for benchmarks and tests: the weight step, the
//! validation pass, and SDARTS's perturbation of the op weights.

use aca_core::{clip_grad_norm, seed_everything, Accuracy, Adam, Sgd, Tally};
use aca_data::{Batch, Loader};
use aca_space::nn::{cross_entropy, SearchNetwork};
use aca_space::Relaxation;
use tch::Tensor;

use crate::config::SearchConfig;
use crate::error::Result;
use crate::method::{ArchStep, MethodKind, StepContext};

/// Where a step stands in the search.
#[derive(Debug, Clone, Copy)]
pub struct StepPosition {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Step within the epoch, 0-based.
    pub step: usize,
    /// The epoch's weight learning rate.
    pub lr: f64,
    /// epoch / epochs, for methods with schedules.
    pub progress: f64,
    /// Whether the architecture steps (not before `arch_start_epoch`, never for `random`).
    pub arch_updates: bool,
}

/// What one search step gives.
#[derive(Debug)]
pub struct StepOutcome {
    /// The architecture step's validation loss, if the architecture stepped.
    pub arch_loss: Option<f64>,
    /// The weight step's training loss.
    pub loss: f64,
    /// The weight step's logits (detached), for the accuracy tally.
    pub logits: Tensor,
}

/// One step of `config`'s method as the search runs it: DrNAS's op-weight samples seeded by the
/// step's position, the architecture step on the validation batch, SDARTS's perturbation of the
/// op weights for the weight step, and the weight step on the training batch. A NaN or infinite
/// loss is an error naming the step.
#[allow(clippy::too_many_arguments)]
pub fn search_step(
    config: &SearchConfig,
    arch_step: &dyn ArchStep,
    net: &SearchNetwork,
    weights: &[Tensor],
    sgd: &mut Sgd,
    adam: &mut Adam,
    batch: &Batch,
    valid: &Batch,
    at: StepPosition,
) -> Result<StepOutcome> {
    let StepPosition {
        epoch,
        step,
        lr,
        progress,
        arch_updates,
    } = at;
    if config.network.relaxation == Relaxation::Dirichlet {
        // DrNAS samples op weights in every training pass: from a generator seeded by the step's
        // position, so that a resumed search draws the same samples.
        seed_everything(step_seed(config.seed, epoch, step));
    }
    let mut arch_loss = None;
    if arch_updates {
        let ctx = StepContext {
            net,
            weight_optimizer: sgd,
            lr,
            progress,
        };
        let loss = arch_step.step(&ctx, adam, batch, valid)?;
        check_finite(loss, "architecture", epoch, step)?;
        arch_loss = Some(loss);
    }
    if config.method.perturbs_weight_step() {
        let sdarts = config.method_options.sdarts;
        let epsilon = sdarts.epsilon(progress);
        let noise = uniform_noise(net, epsilon, step_seed(config.seed, epoch, step))?;
        let attack_steps = match config.method {
            MethodKind::SdartsAdv => sdarts.pgd_steps,
            _ => 0,
        };
        let delta = sdarts_perturbation(net, noise, epsilon, attack_steps, batch)?;
        net.set_perturbation(Some(delta));
    }
    let stepped = weight_step(net, sgd, weights, batch, config.grad_clip);
    net.set_perturbation(None);
    let (loss, logits) = stepped?;
    check_finite(loss, "weight", epoch, step)?;
    Ok(StepOutcome {
        arch_loss,
        loss,
        logits,
    })
}

/// A search's divergence error.
pub(crate) fn check_finite(
    value: f64,
    which: &'static str,
    epoch: usize,
    step: usize,
) -> Result<()> {
    Ok(aca_core::check_finite(value, "search", which, epoch, step)?)
}

/// One weight step: loss on the training batch, gradients of the weights only, clipping, SGD.
/// Returns the loss and the logits (for the accuracy tally).
pub fn weight_step(
    net: &SearchNetwork,
    sgd: &mut Sgd,
    weights: &[Tensor],
    batch: &Batch,
    clip: f64,
) -> Result<(f64, Tensor)> {
    let out = net.loss_and_grads(&batch.images, &batch.labels, true, weights)?;
    let value = out.loss.f_double_value(&[])?;
    clip_grad_norm(&out.grads, clip)?;
    sgd.step(weights, &out.grads)?;
    Ok((value, out.logits))
}

/// Loss and top-1 accuracy over a loader, evaluation mode, without gradients.
pub fn evaluate(net: &SearchNetwork, loader: &Loader) -> Result<Accuracy> {
    tch::no_grad(|| {
        let mut tally = Tally::top1();
        for batch in loader.epoch(0) {
            let batch = batch?;
            let logits = net.forward_t(&batch.images, false);
            let loss = cross_entropy(&logits, &batch.labels).f_double_value(&[])?;
            tally.add(loss, &logits, &batch.labels)?;
        }
        Ok(tally.finish())
    })
}

/// The seed of one step's random draws (SDARTS's noise, DrNAS's samples): a pure function of
/// (seed, epoch, step), so that a resumed search draws the same.
fn step_seed(seed: u64, epoch: usize, step: usize) -> u64 {
    seed ^ 0x5da7_5000_0000_0000 ^ ((epoch as u64) << 32) ^ step as u64
}

/// Noise uniform in [-epsilon, epsilon] for every op weight of both cell types.
pub fn uniform_noise(net: &SearchNetwork, epsilon: f64, seed: u64) -> Result<[Tensor; 2]> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let arch = net.arch_parameters();
    let mut draw = |a: &Tensor| -> Result<Tensor> {
        let n = a.numel();
        let v: Vec<f32> = (0..n)
            .map(|_| rng.random_range(-epsilon..=epsilon) as f32)
            .collect();
        Ok(Tensor::f_from_slice(&v)?
            .f_view(a.size().as_slice())?
            .f_to_kind(a.kind())?
            .f_to_device(a.device())?)
    };
    Ok([draw(&arch[0])?, draw(&arch[1])?])
}

/// SDARTS's `model.clip()`: op weights clamped to [0, 1] and each edge renormalised to sum 1 (an
/// edge clamped to all zeros gets weight 1 on its largest entry before clamping).
pub fn clip_edges(p: &Tensor) -> Result<Tensor> {
    let kind = p.kind();
    let clamped = p.f_clamp(0.0, 1.0)?;
    let empty = clamped.f_sum_dim_intlist(-1, true, kind)?.f_eq(0.0)?;
    let top = p
        .f_zeros_like()?
        .f_scatter_value(-1, &p.f_argmax(-1, true)?, 1.0)?;
    let fixed = top.f_where_self(&empty, &clamped)?;
    let sums = fixed.f_sum_dim_intlist(-1, true, kind)?;
    Ok(fixed.f_div(&sums)?)
}

/// SDARTS's perturbation of the op weights for one weight step, as the change to add to the
/// softmaxed weights: the clipped noise (RS), refined by `attack_steps` projected signed-gradient
/// steps up the training loss (ADV, network in evaluation mode; the perturbation is dropped if it
/// did not raise the loss).
pub fn sdarts_perturbation(
    net: &SearchNetwork,
    noise: [Tensor; 2],
    epsilon: f64,
    attack_steps: usize,
    batch: &Batch,
) -> Result<[Tensor; 2]> {
    let clean = tch::no_grad(|| net.op_weights(false));
    let start = |w: &Tensor, n: &Tensor| -> Result<Tensor> { clip_edges(&w.f_add(n)?) };
    let mut p = [start(&clean[0], &noise[0])?, start(&clean[1], &noise[1])?];
    if attack_steps == 0 {
        return Ok([p[0].f_sub(&clean[0])?, p[1].f_sub(&clean[1])?]);
    }
    let loss_with = |delta: Option<[Tensor; 2]>| -> Result<f64> {
        net.set_perturbation(delta);
        let loss = tch::no_grad(|| net.loss(&batch.images, &batch.labels, false));
        net.set_perturbation(None);
        Ok(loss.f_double_value(&[])?)
    };
    let loss_before = loss_with(None)?;
    let step_size = 2.0 * epsilon / attack_steps as f64;
    for _ in 0..attack_steps {
        let delta = [
            p[0].f_sub(&clean[0])?.f_set_requires_grad(true)?,
            p[1].f_sub(&clean[1])?.f_set_requires_grad(true)?,
        ];
        net.set_perturbation(Some([delta[0].shallow_clone(), delta[1].shallow_clone()]));
        let grads = net.loss_and_grads(&batch.images, &batch.labels, false, &delta);
        net.set_perturbation(None);
        let grads = grads?.grads;
        p = tch::no_grad(|| -> Result<[Tensor; 2]> {
            let next = |i: usize| -> Result<Tensor> {
                let moved = delta[i]
                    .f_add(&grads[i].f_sign()?.f_mul_scalar(step_size)?)?
                    .f_clamp(-epsilon, epsilon)?;
                clip_edges(&clean[i].f_add(&moved)?)
            };
            Ok([next(0)?, next(1)?])
        })?;
    }
    let delta = [p[0].f_sub(&clean[0])?, p[1].f_sub(&clean[1])?];
    let loss_after = loss_with(Some([delta[0].shallow_clone(), delta[1].shallow_clone()]))?;
    if loss_before > loss_after {
        return Ok([clean[0].f_zeros_like()?, clean[1].f_zeros_like()?]);
    }
    Ok(delta)
}
