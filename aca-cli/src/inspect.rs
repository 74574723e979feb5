use aca_space::nn::{SearchNetConfig, SearchNetwork};
use aca_space::OpSet;
use anyhow::Result;

use crate::cli::InspectArgs;

pub(crate) fn run(args: InspectArgs) -> Result<()> {
    let ops = OpSet::by_name(&args.space)?;
    let cfg = SearchNetConfig {
        channels: args.channels,
        layers: args.layers,
        classes: args.classes,
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
            "channels": args.channels,
            "layers": args.layers,
            "classes": args.classes,
            "partial_channels": args.partial_channels,
            "params": params,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "supernet ({}, C={}, {} cells, {} classes): {params} parameters ({:.2}M)",
            ops.name(),
            args.channels,
            args.layers,
            args.classes,
            params as f64 / 1e6
        );
    }
    Ok(())
}
