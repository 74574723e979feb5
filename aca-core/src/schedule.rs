//! Learning-rate schedules.

use serde::{Deserialize, Serialize};

/// Cosine annealing from `base` to `min` over `epochs`, stepped once per epoch as DARTS steps it:
/// DARTS calls `scheduler.step()` at the start of every epoch, so epoch `e` (0-based) uses the
/// cosine at `t = e + 1` and the last epoch runs at `min` exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cosine {
    /// Starting learning rate.
    pub base: f64,
    /// Final learning rate.
    pub min: f64,
    /// Epochs of the schedule (T_max).
    pub epochs: usize,
}

impl Cosine {
    /// The learning rate of epoch `epoch` (0-based).
    pub fn lr(&self, epoch: usize) -> f64 {
        let t = (epoch + 1).min(self.epochs) as f64;
        let t_max = self.epochs.max(1) as f64;
        self.min + (self.base - self.min) * (1.0 + (std::f64::consts::PI * t / t_max).cos()) / 2.0
    }
}

/// Exponential decay, stepped once per epoch as DARTS's ImageNet training steps
/// `StepLR(step_size=1, gamma)` at the start of every epoch: epoch `e` (0-based) uses
/// `base * gamma^e`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Exponential {
    /// Starting learning rate.
    pub base: f64,
    /// Factor per epoch (DARTS ImageNet: 0.97).
    pub gamma: f64,
}

impl Exponential {
    /// The learning rate of epoch `epoch` (0-based).
    pub fn lr(&self, epoch: usize) -> f64 {
        self.base * self.gamma.powi(i32::try_from(epoch).unwrap_or(i32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darts_imagenet_exponential_values() {
        let s = Exponential {
            base: 0.1,
            gamma: 0.97,
        };
        assert_eq!(s.lr(0), 0.1);
        assert!((s.lr(1) - 0.097).abs() < 1e-15);
        assert!((s.lr(249) - 0.1 * 0.97f64.powi(249)).abs() < 1e-18);
        assert!(s.lr(10) > s.lr(11));
    }

    #[test]
    fn darts_cosine_values() {
        let s = Cosine {
            base: 0.025,
            min: 0.001,
            epochs: 50,
        };
        // t = 1 of 50.
        let first = 0.001 + 0.024 * (1.0 + (std::f64::consts::PI / 50.0).cos()) / 2.0;
        assert!((s.lr(0) - first).abs() < 1e-15);
        assert!((s.lr(24) - 0.013).abs() < 1e-12, "halfway at t = 25");
        assert!((s.lr(49) - 0.001).abs() < 1e-15);
        assert!(s.lr(10) > s.lr(11));
    }
}
