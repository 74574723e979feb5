//! The trained network out: its weights as a safetensors state dict. For a full-channel plan the
//! tensor names and shapes are those of the original DARTS `NetworkCIFAR` / `NetworkImageNet`
//! (`model.py`), so that a PyTorch user loads them into the original code with the genotype's
//! DARTS text.

use std::path::{Path, PathBuf};

use aca_core::write_atomic;
use tch::{Kind, Tensor};

use crate::error::{EvalError, Result};
use crate::network::EvalNetwork;
use crate::plan::ChannelPlan;

/// How the exported tensors are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The original DARTS code's `state_dict()` names (full-channel plans only), with the
    /// `num_batches_tracked` counters PyTorch's batch norms carry.
    Darts,
    /// `aca`'s own names (any plan; identity-refill edges have no DARTS counterpart).
    Aca,
}

/// The DARTS `state_dict()` names of `aca`'s evaluation-network tensors, `None` for a tensor
/// without a DARTS counterpart (a refill's reduction).
pub fn darts_names(aca: &[&str]) -> Vec<Option<String>> {
    // A cell after a reduction preprocesses its first input with a FactorizedReduce, whose batch
    // norm is `bn`, not the ReLUConvBN's `op.2`.
    let factorized: Vec<&str> = aca
        .iter()
        .filter_map(|n| n.strip_suffix(".pre0.conv1.weight"))
        .collect();
    aca.iter()
        .map(|n| {
            let cell = n.split('.').next().unwrap_or_default();
            darts_name(n, factorized.contains(&cell))
        })
        .collect()
}

fn darts_name(aca: &str, factorized_pre0: bool) -> Option<String> {
    let parts: Vec<&str> = aca.split('.').collect();
    let bn_or = |module: &str, rest: &[&str]| format!("{module}.{}", rest.join("."));
    match parts.as_slice() {
        ["stem", "conv", rest @ ..] => Some(bn_or("stem.0", rest)),
        ["stem", "bn", rest @ ..] => Some(bn_or("stem.1", rest)),
        ["stem", "c0a", rest @ ..] => Some(bn_or("stem0.0", rest)),
        ["stem", "b0a", rest @ ..] => Some(bn_or("stem0.1", rest)),
        ["stem", "c0b", rest @ ..] => Some(bn_or("stem0.3", rest)),
        ["stem", "b0b", rest @ ..] => Some(bn_or("stem0.4", rest)),
        ["stem", "c1", rest @ ..] => Some(bn_or("stem1.1", rest)),
        ["stem", "b1", rest @ ..] => Some(bn_or("stem1.2", rest)),
        ["classifier", rest @ ..] => Some(bn_or("classifier", rest)),
        ["aux", part, rest @ ..] => {
            let module = match *part {
                "conv1" => "features.2",
                "bn1" => "features.3",
                "conv2" => "features.5",
                "bn2" => "features.6",
                "classifier" => "classifier",
                _ => return None,
            };
            Some(bn_or(&format!("auxiliary_head.{module}"), rest))
        }
        [cell, pre @ ("pre0" | "pre1"), part, rest @ ..] => {
            let i = cell.strip_prefix("cell")?;
            let first = *pre == "pre0";
            let module_name = if first { "preprocess0" } else { "preprocess1" };
            let module = match *part {
                // ReLUConvBN: Sequential(ReLU, Conv, BN).
                "conv" => "op.1",
                "bn" if first && factorized_pre0 => "bn",
                "bn" => "op.2",
                // FactorizedReduce.
                "conv1" => "conv_1",
                "conv2" => "conv_2",
                _ => return None,
            };
            Some(bn_or(&format!("cells.{i}.{module_name}.{module}"), rest))
        }
        [cell, edge, prim, part, rest @ ..] => {
            let i = cell.strip_prefix("cell")?;
            let j = edge.strip_prefix("edge")?;
            let module = match (*prim, *part) {
                // SepConv: Sequential(ReLU, dw, pw, BN, ReLU, dw, pw, BN).
                (p, "dw1") if p.starts_with("sep_conv") => "op.1",
                (p, "pw1") if p.starts_with("sep_conv") => "op.2",
                (p, "bn1") if p.starts_with("sep_conv") => "op.3",
                (p, "dw2") if p.starts_with("sep_conv") => "op.5",
                (p, "pw2") if p.starts_with("sep_conv") => "op.6",
                (p, "bn2") if p.starts_with("sep_conv") => "op.7",
                // DilConv: Sequential(ReLU, dw, pw, BN).
                (p, "dw") if p.starts_with("dil_conv") => "op.1",
                (p, "pw") if p.starts_with("dil_conv") => "op.2",
                (p, "bn") if p.starts_with("dil_conv") => "op.3",
                // A strided skip: FactorizedReduce.
                ("skip_connect", "conv1") => "conv_1",
                ("skip_connect", "conv2") => "conv_2",
                ("skip_connect", "bn") => "bn",
                _ => return None,
            };
            Some(bn_or(&format!("cells.{i}._ops.{j}.{module}"), rest))
        }
        _ => None,
    }
}

/// The trained network's tensors under `naming`, sorted by name.
pub fn state_dict(
    net: &EvalNetwork,
    plan: &ChannelPlan,
    naming: Naming,
) -> Result<Vec<(String, Tensor)>> {
    let tensors = net.named_tensors();
    if naming == Naming::Aca {
        return Ok(tensors);
    }
    if !plan.is_full() {
        return Err(EvalError::Config {
            field: "naming",
            value: "darts".into(),
            reason: "the plan refills channels with identity, which the original DARTS network has no place for: export it with aca's names".into(),
        });
    }
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    let darts_names = darts_names(&names);
    let mut out = Vec::with_capacity(tensors.len() * 5 / 4);
    for ((name, t), darts) in tensors.iter().zip(darts_names) {
        let Some(darts) = darts else {
            return Err(EvalError::Config {
                field: "tensor",
                value: name.clone(),
                reason: "has no counterpart in the original DARTS network".into(),
            });
        };
        if let Some(module) = darts.strip_suffix(".running_var") {
            out.push((
                format!("{module}.num_batches_tracked"),
                Tensor::f_zeros([], (Kind::Int64, tch::Device::Cpu))?,
            ));
        }
        out.push((darts, t.shallow_clone()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The first words of the `genotype.py` aca writes (and may overwrite).
const GENOTYPE_HEADER: &str = "# The cell aca trained";

/// What [`export_safetensors`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The safetensors file.
    pub weights: PathBuf,
    /// The genotype in DARTS's `genotypes.py` form, beside it.
    pub genotype: PathBuf,
    /// How the tensors are named.
    pub naming: Naming,
    /// Tensors written.
    pub tensors: usize,
}

/// Writes the trained network of the training run `dir` to `out` as safetensors (DARTS names for
/// a full-channel plan, `aca`'s otherwise) and its genotype as `genotype.py` beside it.
pub fn export_safetensors(dir: &Path, out: &Path) -> Result<Exported> {
    let (net, plan) = crate::train::load_trained(dir, tch::Device::Cpu)?;
    let naming = if plan.is_full() {
        Naming::Darts
    } else {
        Naming::Aca
    };
    let dict = state_dict(&net, &plan, naming)?;
    let refuse = |reason: String| EvalError::RunDir {
        dir: out.into(),
        reason,
    };
    // genotype.py goes beside the weights: never over a file aca did not write.
    let genotype = out.with_file_name("genotype.py");
    if let Ok(old) = std::fs::read_to_string(&genotype) {
        if !old.starts_with(GENOTYPE_HEADER) {
            return Err(refuse(format!(
                "{} exists and was not written by aca export: move it, or export into another folder",
                genotype.display()
            )));
        }
    } else if genotype.exists() {
        return Err(refuse(format!(
            "{} exists and is not an aca genotype file: move it, or export into another folder",
            genotype.display()
        )));
    }
    // Temp file, then rename: never a half-written export. Creating it first turns a missing
    // folder or a read-only one into a plain message (libtorch's is debug text).
    let tmp = out.with_extension("safetensors.tmp");
    if let Err(e) = std::fs::File::create(&tmp) {
        return Err(refuse(format!("cannot write it: {e}")));
    }
    let named: Vec<(&str, &Tensor)> = dict.iter().map(|(n, t)| (n.as_str(), t)).collect();
    if let Err(e) = Tensor::write_safetensors(&named, &tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(refuse(format!(
            "cannot write it: {}",
            aca_core::torch_message(&e)
        )));
    }
    std::fs::rename(&tmp, out).map_err(|e| EvalError::RunDir {
        dir: out.into(),
        reason: e.to_string(),
    })?;
    let text = format!(
        "{GENOTYPE_HEADER} ({} channels kept per op: {}).\nfrom collections import namedtuple\n\nGenotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')\n\ngenotype = {}\n",
        if plan.is_full() { "all" } else { "a share of" },
        if plan.is_full() {
            "load the weights into DARTS's NetworkCIFAR/NetworkImageNet with this genotype"
        } else {
            "identity refill has no counterpart in DARTS's code"
        },
        plan.genotype.to_darts()
    );
    write_atomic(&genotype, text.as_bytes())?;
    Ok(Exported {
        weights: out.to_path_buf(),
        genotype,
        naming,
        tensors: dict.len(),
    })
}
