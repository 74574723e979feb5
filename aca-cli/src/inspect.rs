use aca_eval::{EvalNetConfig, EvalNetwork, Setting};
use aca_space::nn::{SearchNetConfig, SearchNetwork};
use anyhow::{bail, Result};

use crate::cli::InspectArgs;

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
    let (setting, size, c, l, k) = match args.dataset.as_str() {
        "cifar10" | "cifar" => (Setting::Cifar, 32, 36, 20, 10),
        "imagenet" => (Setting::Imagenet, 224, 48, 14, 1000),
        other => bail!("dataset = {other}: expected cifar10 or imagenet"),
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
            args.dataset,
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
    let ops = args.space.op_set();
    let (channels, layers, classes) = (
        args.channels.unwrap_or(16),
        args.layers.unwrap_or(8),
        args.classes.unwrap_or(10),
    );
    let cfg = SearchNetConfig {
        channels,
        layers,
        classes,
        image_channels: args.image_channels,
        partial_channels: args.partial_channels,
        edge_normalization: args.partial_channels.is_some(),
        ..Default::default()
    };
    let params = tch::no_grad(|| SearchNetwork::new(&cfg, &ops, tch::Device::Cpu))?.param_count();
    if args.json {
        let v = serde_json::json!({
            "network": "supernet",
            "space": ops.name(),
            "channels": channels,
            "layers": layers,
            "classes": classes,
            "partial_channels": args.partial_channels,
            "params": params,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("supernet ({}, C={channels}, {layers} cells, {classes} classes): {params} parameters ({:.2}M)", ops.name(), params as f64 / 1e6);
    }
    Ok(())
}
