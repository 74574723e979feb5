use std::fmt::Write as _;

use aca_data::{darts_split, fetch, Archive, Dataset, Fetched, LoadOptions, Packing, SplitConfig};
use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Print a dataset's facts read from its files: counts per split, shape, classes, statistics.
    Info(InfoArgs),
    /// Download an official CIFAR archive, check its published MD5 and unpack it.
    Fetch(FetchArgs),
}

/// Which dataset, and where its files are.
#[derive(Debug, Args)]
pub(crate) struct DataArgs {
    /// Dataset.
    #[arg(
        long,
        default_value = "fashion-mnist",
        value_name = "fashion-mnist|mnist|cifar10|cifar100|svhn|folder"
    )]
    pub dataset: aca_data::DatasetKind,

    /// Folder of the dataset's files [default: Debian's /usr/share/datasets/fashion-mnist for
    /// Fashion-MNIST, data/mnist for MNIST, data/ for CIFAR, data/images for an image folder]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// CIFAR-100: the 20 coarse labels instead of the 100 fine ones.
    #[arg(long)]
    pub coarse: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Share of the training set for the weights in DARTS's split.
    #[arg(long, default_value_t = 0.5)]
    pub portion: f64,

    /// Resize images to SIZE x SIZE (as small presets do; an image folder: shorter side, then
    /// the centre).
    #[arg(long, value_name = "SIZE")]
    pub resize: Option<usize>,

    /// Keep the centre SIZE x SIZE after the resize.
    #[arg(long, value_name = "SIZE")]
    pub center_crop: Option<usize>,

    /// An image folder listed, not decoded, its statistics from a sample (as `--stream` runs
    /// read it; for folders too large for memory; needs --resize).
    #[arg(long)]
    pub stream: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// Dataset to download.
    #[arg(value_name = "cifar10|cifar100|svhn")]
    pub dataset: aca_data::DatasetKind,

    /// SVHN: also download `extra_32x32.mat` (531,131 more training digits, 1.3 GB).
    #[arg(long)]
    pub extra: bool,

    /// Folder to put it in.
    #[arg(long, default_value = "data", value_name = "DIR")]
    pub dir: PathBuf,

    /// Download from this address instead of the official one (a mirror; for SVHN the folder
    /// holding its `.mat` files); the published MD5 is still checked.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

pub(crate) fn run(cmd: DataCommand, quiet: bool) -> Result<()> {
    match cmd {
        DataCommand::Info(args) => info(args),
        DataCommand::Fetch(args) => fetch_cmd(args, quiet),
    }
}

impl InfoArgs {
    fn load(&self) -> Result<Dataset> {
        let opts = LoadOptions {
            data_dir: self.data.data_dir.clone(),
            coarse_labels: self.data.coarse,
            resize: self.resize,
            center_crop: self.center_crop,
            stream: self.stream,
        };
        Ok(Dataset::load(self.data.dataset, &opts)?)
    }
}

fn info(args: InfoArgs) -> Result<()> {
    let data = args.load()?;
    let cfg = SplitConfig {
        portion: args.portion,
        ..Default::default()
    };
    let split = darts_split(data.train.label_list(), data.info.classes, &cfg, 0)?;
    if args.json {
        let value = serde_json::json!({
            "info": data.info,
            "train": data.train.len(),
            "search_train": split.train.len(),
            "search_valid": split.valid.len(),
            "test": data.test.len(),
            "train_per_class": data.train.class_counts(data.info.classes),
            "test_per_class": data.test.class_counts(data.info.classes),
        });
        outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        out!(
            "{}",
            render_info(&data, split.train.len(), split.valid.len(), args.portion)
        );
    }
    Ok(())
}

fn per_class(counts: &[usize]) -> String {
    let (min, max) = (counts.iter().min(), counts.iter().max());
    match (min, max) {
        (Some(a), Some(b)) if a == b => format!("{a} per class"),
        (Some(a), Some(b)) => format!("{a} to {b} per class"),
        _ => "no images".into(),
    }
}

fn floats(v: &[f32]) -> String {
    v.iter()
        .map(|x| format!("{x:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn render_info(
    data: &Dataset,
    search_train: usize,
    search_valid: usize,
    portion: f64,
) -> String {
    let i = &data.info;
    let mut out = String::new();
    let _ = writeln!(out, "dataset   {}", i.kind);
    let _ = writeln!(out, "files     {}", i.dir.display());
    let resized = if i.size != i.original_size {
        format!(", resized from {0}x{0}", i.original_size)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "images    {} x {} x {} (channels x height x width{resized})",
        i.channels, i.size, i.size
    );
    let _ = writeln!(out, "classes   {}: {}", i.classes, i.class_names.join(", "));
    let _ = writeln!(
        out,
        "train     {} ({})",
        data.train.len(),
        per_class(&data.train.class_counts(i.classes))
    );
    let _ = writeln!(
        out,
        "  search  {search_train} train / {search_valid} valid (DARTS split, portion {portion})"
    );
    let _ = writeln!(
        out,
        "test      {} ({})",
        data.test.len(),
        per_class(&data.test.class_counts(i.classes))
    );
    let _ = writeln!(out, "mean      {}", floats(&i.mean));
    let _ = writeln!(out, "std       {} ({})", floats(&i.std), i.stats_source);
    out
}

fn fetch_cmd(args: FetchArgs, quiet: bool) -> Result<()> {
    let kind = args.dataset;
    if args.extra && kind != aca_data::DatasetKind::Svhn {
        bail!("--extra is SVHN's extra training file; {kind} has none");
    }
    let mut archives = Archive::all_official(kind, args.extra);
    if archives.is_empty() {
        return Err(match kind {
            aca_data::DatasetKind::Folder => anyhow!(
                "folder is your own images: point --data-dir at a folder of train/CLASS/ and val/CLASS/ image files"
            ),
            _ => anyhow!("{kind} has no official archive to fetch; it comes from Debian's packages (scripts/setup) or your own files (--data-dir)"),
        });
    }
    if let Some(url) = &args.url {
        for archive in &mut archives {
            archive.url = match archive.packing {
                Packing::File => format!("{}/{}", url.trim_end_matches('/'), archive.files[0]),
                Packing::TarGz => url.clone(),
            };
        }
    }
    for archive in &archives {
        fetch_one(kind, archive, &args.dir, quiet)?;
    }
    Ok(())
}

fn fetch_one(
    kind: aca_data::DatasetKind,
    archive: &Archive,
    dir: &std::path::Path,
    quiet: bool,
) -> Result<()> {
    let what = match archive.packing {
        Packing::File => format!("{kind} {}", archive.files[0]),
        Packing::TarGz => kind.to_string(),
    };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("downloading {what}"));
    let outcome = fetch(archive, dir, |done, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    })
    .with_context(|| format!("fetching {what} into {}", dir.display()))?;
    bar.finish_and_clear();
    match outcome {
        Fetched::Downloaded(path) => outln!(
            "{what}: downloaded {}, MD5 {} verified, {} {}\nuse it with: --dataset {kind} --data-dir {}",
            archive.url,
            archive.md5,
            if archive.packing == Packing::File { "saved in" } else { "unpacked into" },
            path.display(),
            dir.display()
        ),
        Fetched::AlreadyPresent(path) => outln!(
            "{what}: already present in {} (nothing downloaded)\nuse it with: --dataset {kind} --data-dir {}",
            path.display(),
            dir.display()
        ),
    }
    Ok(())
}
