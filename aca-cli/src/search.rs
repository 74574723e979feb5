use std::path::{Path, PathBuf};

use aca_core::DeviceChoice;
use aca_search::{files, search, EpochRecord, MethodKind, Observer, Preset, SearchConfig};
use anyhow::{Context, Result};

use crate::cli::SearchArgs;
use crate::progress::EpochBar;

/// Search progress on an [`EpochBar`].
pub(crate) struct Bars<'a>(&'a EpochBar);

impl<'a> Bars<'a> {
    pub(crate) fn new(bar: &'a EpochBar) -> Self {
        Self(bar)
    }
}

impl Observer for Bars<'_> {
    fn epoch_started(&self, epoch: usize, epochs: usize, steps: usize) {
        self.0
            .start(format!("search {}/{epochs}", epoch + 1), steps);
    }
    fn step_done(&self, _step: usize) {
        self.0.step();
    }
    fn epoch_done(&self, r: &EpochRecord) {
        self.0.line(epoch_line(r));
    }
}

/// The summary line of a search epoch.
pub(crate) fn epoch_line(r: &EpochRecord) -> String {
    format!(
        "search epoch {:>3}  lr {:.4}  train loss {:.3} acc {:5.1}%  valid loss {:.3} acc {:5.1}%  skip {}/{}{}  {:.0}s",
        r.epoch + 1,
        r.lr,
        r.train_loss,
        100.0 * r.train_acc,
        r.valid_loss,
        100.0 * r.valid_acc,
        r.skip_normal,
        r.skip_reduce,
        if r.arch_updates { "" } else { "  (weights only)" },
        r.seconds
    )
}

/// A fresh run folder under `runs/`, named by kind and UTC time.
pub(crate) fn default_out(kind: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = stamp
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    PathBuf::from("runs").join(format!("{kind}-{}", compact.replace('T', "-")))
}

/// The search configuration from preset, file and flags.
pub(crate) fn config_from(args: &SearchArgs) -> Result<SearchConfig> {
    let method: MethodKind = args.method.parse()?;
    let preset: Preset = args.preset.parse()?;
    let mut c = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let mut c: SearchConfig = serde_json::from_str(&text)
                .with_context(|| format!("parsing search config {}", path.display()))?;
            c.method = method;
            c
        }
        None => SearchConfig::preset(preset, method),
    };
    if let Some(v) = &args.space {
        c.space = v.clone();
    }
    if let Some(v) = &args.dataset {
        switch_dataset(
            &mut c.data.dataset,
            &mut c.data.augment,
            &mut c.data.resize,
            v.parse()?,
        );
    }
    if let Some(v) = &args.data_dir {
        c.data.data_dir = Some(v.clone());
    }
    if let Some(v) = args.epochs {
        c.epochs = v;
    }
    if let Some(v) = args.seed {
        c.seed = v;
    }
    if let Some(v) = args.batch_size {
        c.data.batch_size = v;
    }
    if let Some(v) = args.channels {
        c.network.channels = v;
    }
    if let Some(v) = args.layers {
        c.network.layers = v;
    }
    if let Some(v) = args.train_limit {
        c.data.split.train_limit = Some(v);
    }
    if let Some(v) = args.valid_limit {
        c.data.split.valid_limit = Some(v);
    }
    c.validate()?;
    Ok(c)
}

pub(crate) fn load_saved_config(dir: &Path) -> Result<SearchConfig> {
    let path = dir.join(files::CONFIG);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} to resume", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

pub(crate) fn run(args: SearchArgs, quiet: bool) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| default_out("search"));
    let config = if args.resume {
        load_saved_config(&out)?
    } else {
        config_from(&args)?
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    crate::init_tracing(quiet, Some(&out.join("log.txt")))?;
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    let bar = EpochBar::new(quiet, args.no_progress);
    let bars = Bars(&bar);
    bars.0.line(format!(
        "searching {} with {} on {} ({} epochs, {}) -> {}",
        config.space,
        config.method,
        config.data.dataset,
        config.epochs,
        device_name(device),
        out.display()
    ));
    let outcome = search(&config, &out, device, args.resume, &bars)?;
    bars.0.finish();
    if !quiet {
        println!("genotype: {}", outcome.genotype.to_darts());
        print!("{}", outcome.genotype.to_table());
        println!(
            "supernet parameters: {}; {} epochs in {:.0}s; run directory: {}",
            outcome.params,
            outcome.epochs_run,
            outcome.seconds,
            out.display()
        );
    }
    Ok(())
}

pub(crate) fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

/// Points a stage's data at another dataset: the dataset's flip default, and no resize for the
/// 32x32 colour datasets (small presets resize the 28x28 ones).
pub(crate) fn switch_dataset(
    dataset: &mut aca_data::DatasetKind,
    augment: &mut aca_data::Augment,
    resize: &mut Option<usize>,
    kind: aca_data::DatasetKind,
) {
    *dataset = kind;
    augment.hflip = kind.default_hflip();
    if kind.channels() == 3 {
        *resize = None;
    }
}
