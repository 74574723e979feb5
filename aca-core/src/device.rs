use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::error::{CoreError, Result};

/// Where to run: `auto` takes CUDA when libtorch sees a GPU, otherwise the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA if available, else CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA device; an error where there is none.
    Cuda,
}

impl DeviceChoice {
    /// The tch device, or an error naming why `cuda` cannot be used.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            DeviceChoice::Cuda => Err(CoreError::Device {
                name: "cuda".into(),
                reason: if tch::utils::has_cuda() {
                    "libtorch's CUDA library is linked but sees no GPU (does `nvidia-smi` list one, and does its driver run?)".into()
                } else {
                    "this build has no CUDA libtorch: on a machine with an NVIDIA GPU `make run` prepares one and builds with it (scripts/setup, docs/gpu.md); by hand, `--features cuda`".into()
                },
            }),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            _ => Err(CoreError::Device {
                name: s.into(),
                reason: "expected auto, cpu or cuda".into(),
            }),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

/// Seeds libtorch's generators (CPU and CUDA) for a reproducible run.
pub fn seed_everything(seed: u64) {
    // tch takes an i64; the bit pattern is what matters.
    tch::manual_seed(seed as i64);
}
