//! The search network's loss and gradients in one pass, and with cells recomputed one at a time
//! in the backward pass ([`SearchNetConfig::recompute_cells`](super::SearchNetConfig::recompute_cells)): the memory-saving path.

use tch::Tensor;

use super::search::SearchNetwork;
use crate::error::{Result, SpaceError};

/// A batch's loss and logits (both without a graph) and the loss's gradients, as
/// [`SearchNetwork::loss_and_grads`] returns them.
#[derive(Debug)]
pub struct LossGrads {
    /// The mean cross-entropy loss (a scalar).
    pub loss: Tensor,
    /// The logits.
    pub logits: Tensor,
    /// One gradient per tensor asked for, in that order.
    pub grads: Vec<Tensor>,
}

impl SearchNetwork {
    /// The mean cross-entropy loss of a batch, its logits (both without a graph), and the loss's
    /// gradients with respect to each of `wrt` (tensors that require gradients: weights,
    /// architecture parameters, a perturbation; undefined for one the loss does not reach). With
    /// [`SearchNetConfig::recompute_cells`](super::SearchNetConfig::recompute_cells) the backward pass recomputes those cells, one at a
    /// time.
    pub fn loss_and_grads(
        &self,
        xs: &Tensor,
        labels: &Tensor,
        train: bool,
        wrt: &[Tensor],
    ) -> Result<LossGrads> {
        if self.config.recompute_cells > 0 {
            return self.loss_and_grads_recomputed(xs, labels, train, wrt);
        }
        let logits = self.forward_t(xs, train);
        let loss = super::cross_entropy(&logits, labels);
        let grads = Tensor::f_run_backward(&[&loss], wrt, false, false)?;
        Ok(LossGrads {
            loss: loss.detach(),
            logits: logits.detach(),
            grads,
        })
    }

    /// [`SearchNetwork::loss_and_grads`] with the first `recompute_cells` cells checkpointed: a
    /// forward pass without a graph keeps their outputs only, the cells after them and the
    /// classifier run with a graph as usual, and the backward pass then rebuilds one checkpointed
    /// cell's graph at a time from its saved inputs, last first, carrying the gradient of its
    /// inputs to the cells before. The cells see the relaxed weights as leaves whose gradients are
    /// gathered over the cells and pushed through the relaxation once, with the stem's, at the
    /// end. BN running statistics are those of the first forward pass (the recomputation's
    /// updates are undone).
    fn loss_and_grads_recomputed(
        &self,
        xs: &Tensor,
        labels: &Tensor,
        train: bool,
        wrt: &[Tensor],
    ) -> Result<LossGrads> {
        let relaxed = self.relaxed_weights(train);
        let leaves = relaxed.map(|t| t.detach().f_set_requires_grad(true))?;
        let leaf_list = leaves.list();
        let aux_beta = self.aux_beta.get();
        let run_cell = |i: usize, s0: &Tensor, s1: &Tensor| {
            let cell = &self.cells[i];
            let (w, e) = leaves.of(cell.reduction);
            let kept = self.kept_ops(cell.reduction);
            cell.forward_t(s0, s1, w, e, kept, aux_beta, train, &[], &mut Vec::new())
        };
        // states[0] is the stem's output; cell i reads states[i - 1] and states[i] (the stem's
        // twice for cell 0) and writes states[i + 1].
        let inputs_of = |i: usize| (i.saturating_sub(1), i);
        let n_cells = self.cells.len();
        let k = self.config.recompute_cells.clamp(1, n_cells);
        let states = tch::no_grad(|| {
            let mut states = vec![self.stem(xs, train)];
            for i in 0..k {
                let (i0, i1) = inputs_of(i);
                let out = run_cell(i, &states[i0], &states[i1]);
                states.push(out);
            }
            states
        });
        let mut grads = GradSums::new(wrt.len());
        let mut state_grads = GradSums::new(states.len());
        let mut leaf_grads = GradSums::new(leaf_list.len());

        // The cells after the checkpointed ones and the classifier, with a graph.
        let before = states[k - 1].detach().f_set_requires_grad(true)?;
        let last = states[k].detach().f_set_requires_grad(true)?;
        let (mut s0, mut s1) = (before.shallow_clone(), last.shallow_clone());
        for i in k..n_cells {
            let s2 = run_cell(i, &s0, &s1);
            s0 = s1;
            s1 = s2;
        }
        let logits = self.classify(&s1);
        drop((s0, s1));
        let loss = super::cross_entropy(&logits, labels);
        // Statistics after every cell's first pass; the recomputation's updates are undone below.
        let saved_stats = train
            .then(|| tch::no_grad(|| self.buffers().iter().map(Tensor::copy).collect::<Vec<_>>()));
        let mut local = vec![&before, &last];
        local.extend(&leaf_list);
        let got = Tensor::f_run_backward(&[&loss], &with_wrt(&local, wrt), false, false)?;
        state_grads.add(k - 1, &got[0])?;
        state_grads.add(k, &got[1])?;
        for (j, g) in got[2..local.len()].iter().enumerate() {
            leaf_grads.add(j, g)?;
        }
        grads.add_all(&got[local.len()..])?;

        for i in (0..k).rev() {
            let (i0, i1) = inputs_of(i);
            let g_out = state_grads.take_reaching(i + 1, || format!("cell {i}'s output"))?;
            let s1 = states[i1].detach().f_set_requires_grad(true)?;
            let s0 = if i0 == i1 {
                s1.shallow_clone()
            } else {
                states[i0].detach().f_set_requires_grad(true)?
            };
            let out = run_cell(i, &s0, &s1);
            let root = out.f_mul(&g_out)?.f_sum(out.kind())?;
            let mut local = vec![&s1];
            if i0 != i1 {
                local.push(&s0);
            }
            let first_leaf = local.len();
            local.extend(&leaf_list);
            let got = Tensor::f_run_backward(&[&root], &with_wrt(&local, wrt), false, false)?;
            state_grads.add(i1, &got[0])?;
            if i0 != i1 {
                state_grads.add(i0, &got[1])?;
            }
            for (j, g) in got[first_leaf..local.len()].iter().enumerate() {
                leaf_grads.add(j, g)?;
            }
            grads.add_all(&got[local.len()..])?;
        }

        // The stem and the relaxation, in one backward pass.
        let stem = self.stem(xs, train);
        let g_stem = state_grads.take_reaching(0, || "the stem's output".into())?;
        let mut root = stem.f_mul(&g_stem)?.f_sum(stem.kind())?;
        for (k, t) in relaxed.list().into_iter().enumerate() {
            if let Some(g) = leaf_grads.take(k) {
                root = root.f_add(&t.f_mul(&g)?.f_sum(t.kind())?)?;
            }
        }
        let got = Tensor::f_run_backward(&[&root], wrt, false, false)?;
        grads.add_all(&got)?;
        if let Some(saved_stats) = saved_stats {
            tch::no_grad(|| -> Result<()> {
                for (mut b, s) in self.buffers().into_iter().zip(&saved_stats) {
                    b.f_copy_(s)?;
                }
                Ok(())
            })?;
        }
        Ok(LossGrads {
            loss: loss.detach(),
            logits: logits.detach(),
            grads: grads.finish(),
        })
    }
}

/// Sums of gradients, one slot per tensor; a slot stays empty until a defined gradient arrives.
struct GradSums(Vec<Option<Tensor>>);

impl GradSums {
    fn new(n: usize) -> Self {
        Self((0..n).map(|_| None).collect())
    }

    fn add(&mut self, k: usize, g: &Tensor) -> Result<()> {
        if g.defined() {
            let slot = &mut self.0[k];
            *slot = Some(match slot.take() {
                Some(sum) => sum.f_add(g)?,
                None => g.shallow_clone(),
            });
        }
        Ok(())
    }

    /// Adds `gs[k]` to slot `k` for every `k`.
    fn add_all(&mut self, gs: &[Tensor]) -> Result<()> {
        for (k, g) in gs.iter().enumerate() {
            self.add(k, g)?;
        }
        Ok(())
    }

    fn take(&mut self, k: usize) -> Option<Tensor> {
        self.0[k].take()
    }

    /// The sum of slot `k`, which must have received a gradient (`what` names the tensor).
    fn take_reaching(&mut self, k: usize, what: impl FnOnce() -> String) -> Result<Tensor> {
        self.take(k).ok_or_else(|| SpaceError::InvalidNetwork {
            reason: format!("{} does not reach the loss", what()),
        })
    }

    /// The sums; an undefined tensor where no gradient arrived.
    fn finish(self) -> Vec<Tensor> {
        self.0
            .into_iter()
            .map(|g| g.unwrap_or_else(Tensor::new))
            .collect()
    }
}

/// `local` followed by `wrt`, as one input list for a backward pass.
fn with_wrt<'a>(local: &[&'a Tensor], wrt: &'a [Tensor]) -> Vec<&'a Tensor> {
    local.iter().copied().chain(wrt).collect()
}
