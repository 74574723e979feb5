use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Robust differentiable architecture search with Adaptive Channel Allocation (ACA).
///
/// Search a cell without skip connections, rank its channels, refill the unimportant ones with
/// identity, and train the result.
#[derive(Debug, Parser)]
#[command(name = "aca", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Print warnings and errors only.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// CPU threads for libtorch's operations [default: libtorch's, one per core].
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<i32>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The main job: search a cell, allocate its channels, train and test the result, report.
    Run(Box<RunArgs>),
    /// Render a run directory's report: figures, cell diagrams and a summary page.
    Report(ReportArgs),
    /// Show, convert and derive genotypes.
    #[command(subcommand)]
    Genotype(GenotypeCommand),
    /// Inspect and download datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Search a cell: bilevel optimisation of a supernet (DARTS, second-order DARTS, PC-DARTS).
    Search(Box<SearchArgs>),
    /// Rank a search run's channels and allocate them: writes plan.json into the run.
    Allocate(AllocateArgs),
    /// Train a channel plan or a genotype from scratch.
    Train(Box<TrainArgs>),
    /// Re-evaluate a trained network on its test set.
    Test(TestArgs),
    /// The top classes of image files (PNG, JPEG) by a trained network, for a check by hand.
    Predict(PredictArgs),
    /// Write a trained network out: ONNX, or safetensors under the original DARTS names.
    Export(ExportArgs),
    /// Print a network's parameter count and multiply-adds.
    Inspect(InspectArgs),
    /// Grids of runs: plan, run (locally or on Slurm), follow and collect them.
    #[command(subcommand)]
    Sweep(SweepCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SweepCommand {
    /// Print the runs of a sweep file without running anything.
    Plan {
        /// Sweep file (TOML or JSON): preset, base configuration, axes, exclude, include.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run every unfinished run of a sweep (finished ones are skipped, stopped ones resumed).
    Run(Box<SweepRunArgs>),
    /// Per run: pending, running, done, stopped or failed, with its stage and epoch.
    Status {
        /// The sweep folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Gather finished runs into CSV and Markdown tables, per run and grouped over seeds.
    Collect {
        /// The sweep folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SweepRunArgs {
    /// Sweep file (TOML or JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Sweep folder [default: sweeps/<file name>].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Where the runs run: `local` (a process pool here) or `slurm` (a job array).
    #[arg(long, default_value = "local", value_name = "local|slurm")]
    pub backend: String,

    /// Local: runs at a time.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub jobs: usize,

    /// Local: libtorch threads per run [default: cores / jobs].
    #[arg(long, value_name = "N")]
    pub threads_per_job: Option<usize>,

    /// Device of every run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,

    /// Slurm: only write sweep.sbatch, do not submit it.
    #[arg(long)]
    pub dry_run: bool,

    /// Slurm: partition.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Slurm: time limit per task (e.g. 24:00:00).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,

    /// Slurm: generic resources per task (e.g. gpu:1).
    #[arg(long, value_name = "GRES")]
    pub gres: Option<String>,

    /// Slurm: CPUs per task (also libtorch's threads).
    #[arg(long, value_name = "N")]
    pub cpus_per_task: Option<usize>,

    /// Slurm: memory per task (e.g. 16G).
    #[arg(long, value_name = "MEM")]
    pub mem: Option<String>,

    /// Slurm: at most this many tasks at once.
    #[arg(long, value_name = "N")]
    pub max_parallel: Option<usize>,

    /// Slurm: an extra `#SBATCH` line (repeatable), e.g. `--sbatch=--account=proj`.
    #[arg(long, value_name = "LINE")]
    pub sbatch: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Configuration preset for every stage: `tiny` (about 10 minutes on 2 CPU cores,
    /// Fashion-MNIST) or `paper` (DARTS's CIFAR-10 search and 600-epoch training; a GPU job).
    #[arg(
        long,
        default_value = "tiny",
        value_name = "tiny|paper",
        conflicts_with = "resume"
    )]
    pub preset: aca_search::Preset,

    /// Op set searched: `aca` (skip-free, channels allocated by ACA) or `darts` (the baseline,
    /// trained with every channel on its op) [default: the config file's, else aca].
    #[arg(long, value_name = "aca|darts", conflicts_with = "resume")]
    pub space: Option<aca_space::Space>,

    /// Search method: darts, darts2, pc-darts, beta-darts, darts-minus, sdarts-rs, sdarts-adv,
    /// fair-darts, drnas or random (docs/method.md) [default: the config file's, else darts].
    #[arg(long, value_name = "METHOD", conflicts_with = "resume")]
    pub method: Option<aca_search::MethodKind>,

    #[command(flatten)]
    pub data: StageDataArgs,

    /// Seed of every stage.
    #[arg(long, value_name = "S", conflicts_with = "resume")]
    pub seed: Option<u64>,

    /// Channel scorer [default: the config file's, else taylor].
    #[arg(long, value_name = "taylor|bn-gamma", conflicts_with = "resume")]
    pub scorer: Option<aca_eval::ScorerKind>,

    /// Allocation strategy [default: otsu for --space aca, all for --space darts].
    #[arg(long, value_name = "otsu|all|fixed:F", conflicts_with = "resume")]
    pub strategy: Option<aca_eval::Strategy>,

    #[command(flatten)]
    pub snapshots: SnapshotArgs,

    /// Allocate and train from the snapshot of this search epoch instead of the final search
    /// (the search still runs its full length and keeps the snapshot).
    #[arg(long, value_name = "E", conflicts_with = "resume")]
    pub eval_epoch: Option<usize>,

    /// A JSON run configuration {"search": {..}, "allocate": {..}, "train": {..}}, every field
    /// optional (defaults: the preset's); flags override it.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub config: Option<PathBuf>,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,

    /// Run directory [default: a new folder under runs/].
    #[arg(long, value_name = "DIR", required_if_eq("resume", "true"))]
    pub out: Option<PathBuf>,

    /// Continue the run in --out at the stage and epoch where it stopped.
    #[arg(long)]
    pub resume: bool,

    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

/// The dataset of a search, a training or both.
#[derive(Debug, Args)]
pub(crate) struct StageDataArgs {
    /// Dataset [default: the preset's: fashion-mnist for tiny, cifar10 for paper].
    #[arg(
        long,
        value_name = "fashion-mnist|mnist|cifar10|cifar100|folder",
        conflicts_with = "resume"
    )]
    pub dataset: Option<aca_data::DatasetKind>,

    /// Folder of the dataset's files.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub data_dir: Option<PathBuf>,

    /// Resize images to SIZE x SIZE once at load (an image folder: shorter side, then the
    /// centre) [default: the preset's]
    #[arg(long, value_name = "SIZE", conflicts_with = "resume")]
    pub resize: Option<usize>,
}

impl StageDataArgs {
    /// The flags onto a stage's data configuration (a new dataset first, with its defaults).
    pub(crate) fn apply(&self, data: &mut aca_data::DataConfig) {
        if let Some(kind) = self.dataset {
            data.switch_dataset(kind);
        }
        if let Some(dir) = &self.data_dir {
            data.data_dir = Some(dir.clone());
        }
        if let Some(size) = self.resize {
            data.resize = Some(size);
        }
    }
}

/// Snapshots of the search, for allocation and training from an earlier epoch.
#[derive(Debug, Args)]
pub(crate) struct SnapshotArgs {
    /// Keep the supernet, alphas and genotype at the end of these search epochs (1-based,
    /// comma-separated), e.g. `10,25,50`.
    #[arg(
        long,
        value_name = "E,..",
        value_delimiter = ',',
        conflicts_with = "resume"
    )]
    pub snapshot_epochs: Vec<usize>,

    /// Also keep a snapshot every K search epochs.
    #[arg(long, value_name = "K", conflicts_with = "resume")]
    pub snapshot_every: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A run directory of `aca run` (or a search or training run directory).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct AllocateArgs {
    /// A finished search run directory.
    #[arg(long, value_name = "SEARCH_DIR")]
    pub run: PathBuf,

    /// Channel scorer: `taylor` (first-order Taylor importance on the final search network) or
    /// `bn-gamma` (|gamma| of the last BN in an evaluation network warmed up for 2 epochs).
    #[arg(long, default_value = "taylor", value_name = "taylor|bn-gamma")]
    pub scorer: aca_eval::ScorerKind,

    /// Allocation strategy: `otsu` (parameter-free), `all` (plain DARTS), `fixed:F`.
    #[arg(long, default_value = "otsu", value_name = "otsu|all|fixed:F")]
    pub strategy: aca_eval::Strategy,

    /// Score on at most N validation batches [default: the whole validation split].
    #[arg(long, value_name = "N")]
    pub batches: Option<usize>,

    /// Start from the snapshot kept at the end of this search epoch (see `--snapshot-epochs`)
    /// [default: the final search].
    #[arg(long, value_name = "E")]
    pub epoch: Option<usize>,

    /// Where to write the plan [default: plan.json in the search (or snapshot) folder].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// A channel plan (plan.json).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["genotype", "resume"], required_unless_present_any = ["genotype", "resume"])]
    pub plan: Option<PathBuf>,

    /// A genotype (published name or file): trained as DARTS does, every channel on its op.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "resume")]
    pub genotype: Option<String>,

    /// Configuration preset: `tiny` (minutes on a CPU) or `paper` (DARTS's 600-epoch CIFAR-10
    /// training; a GPU job).
    #[arg(
        long,
        default_value = "tiny",
        value_name = "tiny|paper",
        conflicts_with = "resume"
    )]
    pub preset: aca_search::Preset,

    #[command(flatten)]
    pub data: StageDataArgs,

    /// Epochs.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub epochs: Option<usize>,

    /// Seed.
    #[arg(long, value_name = "S", conflicts_with = "resume")]
    pub seed: Option<u64>,

    /// Batch size.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub batch_size: Option<usize>,

    /// Initial channels C.
    #[arg(long, value_name = "C", conflicts_with = "resume")]
    pub channels: Option<i64>,

    /// Cells.
    #[arg(long, value_name = "L", conflicts_with = "resume")]
    pub layers: Option<usize>,

    /// Train on a class-balanced subset of N training images.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub train_limit: Option<usize>,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,

    /// Run directory [default: a new folder under runs/].
    #[arg(long, value_name = "DIR", required_if_eq("resume", "true"))]
    pub out: Option<PathBuf>,

    /// Continue the run in --out from its last checkpoint, with its saved configuration and plan.
    #[arg(long)]
    pub resume: bool,

    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// A finished training run directory.
    #[arg(long, value_name = "TRAIN_DIR")]
    pub run: PathBuf,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// A finished training run directory (`train/` of an `aca run`).
    #[arg(long, value_name = "TRAIN_DIR")]
    pub run: PathBuf,

    /// Format: `onnx`, the network in inference mode (no auxiliary head, no drop path) with
    /// input `images` (N, C, H, W) and output `logits`, dynamic batch size (opset 13); or
    /// `safetensors`, a state dict whose names and shapes are those of the original DARTS
    /// `NetworkCIFAR`/`NetworkImageNet` for a full-channel plan (aca's names when the plan refills
    /// channels with identity), with `genotype.py` beside it.
    #[arg(long, default_value = "onnx", value_name = "onnx|safetensors")]
    pub format: String,

    /// Output file [default: model.onnx or model.safetensors in the training run].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// A finished training run directory (`train/` of an `aca run`).
    #[arg(long, value_name = "TRAIN_DIR")]
    pub run: PathBuf,

    /// Image files: grey or colour as the network takes them, shorter side resized to its input
    /// size and the centre kept, as an image folder is read.
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,

    /// Classes shown per image.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub top: usize,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Configuration preset: `tiny` (minutes on a CPU, Fashion-MNIST) or `paper` (DARTS's CIFAR-10
    /// search; a GPU job).
    #[arg(
        long,
        default_value = "tiny",
        value_name = "tiny|paper",
        conflicts_with = "resume"
    )]
    pub preset: aca_search::Preset,

    /// Op set searched: `aca` has no skip_connect; `darts` is the baseline that collapses.
    #[arg(long, value_name = "aca|darts", conflicts_with = "resume")]
    pub space: Option<aca_space::Space>,

    /// Search method: darts, darts2, pc-darts, beta-darts, darts-minus, sdarts-rs, sdarts-adv,
    /// fair-darts, drnas or random (docs/method.md) [default: the config file's, else darts].
    #[arg(long, value_name = "METHOD", conflicts_with = "resume")]
    pub method: Option<aca_search::MethodKind>,

    #[command(flatten)]
    pub data: StageDataArgs,

    /// Search epochs.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub epochs: Option<usize>,

    /// Seed of every random choice.
    #[arg(long, value_name = "S", conflicts_with = "resume")]
    pub seed: Option<u64>,

    /// Batch size.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub batch_size: Option<usize>,

    /// Initial channels C of the supernet.
    #[arg(long, value_name = "C", conflicts_with = "resume")]
    pub channels: Option<i64>,

    /// Cells of the supernet.
    #[arg(long, value_name = "L", conflicts_with = "resume")]
    pub layers: Option<usize>,

    /// Search-train images (class-balanced subset).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub train_limit: Option<usize>,

    /// Search-validation images (class-balanced subset).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub valid_limit: Option<usize>,

    #[command(flatten)]
    pub snapshots: SnapshotArgs,

    /// A JSON configuration file (every field optional; defaults are DARTS's); flags override it.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub config: Option<PathBuf>,

    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,

    /// Run directory [default: a new folder under runs/].
    #[arg(long, value_name = "DIR", required_if_eq("resume", "true"))]
    pub out: Option<PathBuf>,

    /// Continue the run in --out from its last checkpoint, with its saved configuration.
    #[arg(long)]
    pub resume: bool,

    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

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
    #[arg(long, default_value = "cifar10", value_name = "cifar10|imagenet")]
    pub dataset: String,

    /// Op set.
    #[arg(long, default_value = "darts", value_name = "darts|aca")]
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

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

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
        value_name = "fashion-mnist|mnist|cifar10|cifar100|folder"
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

    /// Resize images to SIZE x SIZE (as small presets do).
    #[arg(long, value_name = "SIZE")]
    pub resize: Option<usize>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// Dataset to download.
    #[arg(value_name = "cifar10|cifar100")]
    pub dataset: aca_data::DatasetKind,

    /// Folder to put it in.
    #[arg(long, default_value = "data", value_name = "DIR")]
    pub dir: PathBuf,

    /// Download from this address instead of the official one (a mirror); the published MD5 is
    /// still checked.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GenotypeCommand {
    /// Print a published genotype or a genotype file.
    Show(ShowArgs),
    /// Derive a genotype from architecture parameters with DARTS's rule.
    Derive(DeriveArgs),
    /// Draw a genotype uniformly under DARTS's cell rules: the random-search baseline (Li and
    /// Talwalkar, 2019) a searched cell should beat.
    Random(RandomArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RandomArgs {
    /// Op set to draw from (`none` is never drawn).
    #[arg(long, value_name = "darts|aca", default_value = "aca")]
    pub space: aca_space::Space,

    /// Seed: the same seed gives the same genotype.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A published genotype (darts_v1, darts_v2, pc_darts) or a file in JSON, DARTS or table form.
    #[arg(value_name = "NAME|FILE")]
    pub genotype: String,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Also check the genotype against an op set (e.g. `aca` rejects skip_connect).
    #[arg(long, value_name = "darts|aca")]
    pub space: Option<aca_space::Space>,
}

#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    /// JSON with the alpha logits: {"normal": [[..14 rows..]], "reduce": [[..]]}, optional
    /// "betas_normal"/"betas_reduce" (PC-DARTS edge normalisation).
    #[arg(long, value_name = "FILE")]
    pub alphas: PathBuf,

    /// Op set that fixes the alpha columns.
    #[arg(long, value_name = "darts|aca", default_value = "aca")]
    pub space: aca_space::Space,

    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Text form of a genotype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// JSON object with normal, normal_concat, reduce, reduce_concat.
    Json,
    /// DARTS's own `Genotype(normal=[...], ...)`.
    Darts,
    /// A compact table, one row per node.
    Table,
}
