use aca_eval::{EvalNetConfig, EvalNetwork, Setting};
use aca_search::{MethodKind, Preset, SearchConfig};
use aca_space::nn::{SearchNetConfig, SearchNetwork};
use anyhow::Result;

use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("network").required(true).args(["supernet", "genotype", "plan"]))]
pub(crate) struct InspectArgs {
    /// Inspect the search network (supernet) of --space.
    #[arg(long)]
    pub supernet: bool,

    /// Inspect the evaluation network of a genotype (published name or file).
    #[arg(long, value_name = "NAME|FILE")]
    pub genotype: Option<String>,

    /// Inspect the evaluation network of a channel plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Evaluation network family: `cifar10` (DARTS's NetworkCIFAR, 32x32) or `imagenet` (mobile
    /// setting, 224x224).
    #[arg(
        long,
        default_value = "cifar10",
        value_name = "cifar10|imagenet",
        hide_possible_values = true
    )]
    pub dataset: Family,

    /// Op set: aca, darts, darts-no-none, s1, s1-aca, s2, s3, s3-aca, s4 or s4-aca.
    #[arg(long, default_value = "darts", value_name = "SPACE")]
    pub space: aca_space::Space,

    /// Initial channels C [default: 16 for the supernet, 36 for CIFAR, 48 for ImageNet].
    #[arg(long)]
    pub channels: Option<i64>,

    /// Cells [default: 8 for the supernet, 20 for CIFAR, 14 for ImageNet].
    #[arg(long)]
    pub layers: Option<usize>,

    /// Classes [default: 10, 1000 for ImageNet].
    #[arg(long)]
    pub classes: Option<i64>,

    /// Image channels of the input (3 for CIFAR, 1 for the MNIST family).
    #[arg(long, default_value_t = 3)]
    pub image_channels: i64,

    /// PC-DARTS partial channels K.
    #[arg(long, value_name = "K")]
    pub partial_channels: Option<i64>,

    /// With --supernet: the search method whose supernet to build, as its preset does (drnas:
    /// the first stage of DrNAS's progressive supernet, 20 cells at C = 36 with K = 6 in the
    /// paper preset) [default: darts]
    #[arg(long, value_name = "METHOD", requires = "supernet")]
    pub method: Option<aca_search::MethodKind>,

    /// With --supernet: the preset whose supernet to build: tiny or paper [default: paper]
    #[arg(long, value_name = "PRESET", requires = "supernet")]
    pub preset: Option<aca_search::Preset>,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The evaluation network family `aca inspect` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Family {
    /// DARTS's NetworkCIFAR, 32x32.
    #[value(alias = "cifar")]
    Cifar10,
    /// DARTS's NetworkImageNet, mobile setting, 224x224.
    Imagenet,
}

pub(crate) fn run(args: InspectArgs) -> Result<()> {
    if args.supernet {
        return supernet(&args);
    }
    let plan = crate::eval::plan_from(args.plan.as_deref(), args.genotype.as_deref())?;
    // As `genotype show --space` does: a genotype is checked against the op set named.
    let ops = args.space.op_set();
    plan.genotype.validate_for(&ops).map_err(|e| {
        anyhow::anyhow!("checking the genotype against op set `{}`: {e}", args.space)
    })?;
    let (setting, size, c, l, k) = match args.dataset {
        Family::Cifar10 => (Setting::Cifar, 32, 36, 20, 10),
        Family::Imagenet => (Setting::Imagenet, 224, 48, 14, 1000),
    };
    let cfg = EvalNetConfig {
        channels: args.channels.unwrap_or(c),
        layers: args.layers.unwrap_or(l),
        classes: args.classes.unwrap_or(k),
        image_channels: args.image_channels,
        auxiliary: true,
        setting,
    };
    let net = tch::no_grad(|| EvalNetwork::new(&plan, &cfg, tch::Device::Cpu))?;
    let (params, aux, flops) = (net.param_count(), net.aux_param_count(), net.flops(size));
    if args.json {
        let v = serde_json::json!({
            "network": if setting == Setting::Imagenet { "imagenet" } else { "cifar" },
            "channels": cfg.channels,
            "layers": cfg.layers,
            "classes": cfg.classes,
            "image_size": size,
            "params": params,
            "aux_params": aux,
            "flops": flops,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!(
            "evaluation network ({}, C={}, {} cells, {} classes, {size}x{size}): {params} parameters ({:.2}M) + {aux} in the auxiliary head; {:.1}M multiply-adds",
            match args.dataset {
                Family::Cifar10 => "cifar10",
                Family::Imagenet => "imagenet",
            },
            cfg.channels,
            cfg.layers,
            cfg.classes,
            params as f64 / 1e6,
            flops as f64 / 1e6
        );
    }
    Ok(())
}

fn supernet(args: &InspectArgs) -> Result<()> {
    let method = args.method.unwrap_or(MethodKind::Darts);
    let mut search = SearchConfig::preset(args.preset.unwrap_or(Preset::Paper), method);
    search.space = args.space;
    let ops = search.op_set()?;
    let preset = search.network_at(0);
    let (channels, layers, classes) = (
        args.channels.unwrap_or(preset.channels),
        args.layers.unwrap_or(preset.layers),
        args.classes.unwrap_or(10),
    );
    let partial_channels = args.partial_channels.or(preset.partial_channels);
    let cfg = SearchNetConfig {
        channels,
        layers,
        classes,
        image_channels: args.image_channels,
        partial_channels,
        // PC-DARTS's edge normalisation comes with its partial channels; DrNAS has none.
        edge_normalization: partial_channels.is_some() && method != MethodKind::Drnas,
        ..preset
    };
    let net = tch::no_grad(|| SearchNetwork::new(&cfg, &ops, tch::Device::Cpu))?;
    let stages = search.stages.len();
    let (params, flops) = (net.param_count(), net.flops(32));
    if args.json {
        let v = serde_json::json!({
            "network": "supernet",
            "space": ops.name(),
            "channels": channels,
            "layers": layers,
            "classes": classes,
            "partial_channels": partial_channels,
            "method": method.name(),
            "stages": stages.max(1),
            "params": params,
            "flops": flops,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let k = partial_channels.map_or(String::new(), |k| format!(", K={k}"));
        let stage = if stages > 1 {
            format!(" at stage 1 of {stages}")
        } else {
            String::new()
        };
        outln!(
            "supernet ({}, C={channels}, {layers} cells, {classes} classes{k}){stage}: {params} parameters ({:.2}M); {:.1}M multiply-adds per 32x32 image",
            ops.name(),
            params as f64 / 1e6,
            flops as f64 / 1e6
        );
    }
    Ok(())
}
