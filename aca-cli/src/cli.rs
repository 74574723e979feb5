use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::data::DataCommand;
use crate::eval::{AllocateArgs, ExportArgs, PredictArgs, TestArgs, TrainArgs};
use crate::genotype::GenotypeCommand;
use crate::inspect::InspectArgs;
use crate::pipeline::RunArgs;
use crate::report::ReportArgs;
use crate::search::SearchArgs;
use crate::sweep::SweepCommand;

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

/// The preset every stage's configuration starts from.
#[derive(Debug, Args)]
pub(crate) struct PresetArg {
    /// Configuration preset: `tiny` (minutes on 2 CPU cores, Fashion-MNIST), `paper` (the
    /// DARTS papers' CIFAR-10 configuration: 50 search epochs, 600 training epochs; a GPU job)
    /// or `imagenet` (DARTS's ImageNet training on an image folder given by --data-dir, streamed,
    /// 224x224, 250 epochs; its search is the paper's on the folder at 32x32; a GPU job).
    #[arg(
        long,
        default_value = "tiny",
        value_name = "tiny|paper|imagenet",
        conflicts_with = "resume"
    )]
    pub preset: aca_search::Preset,
}

/// The op set and method searched.
#[derive(Debug, Args)]
pub(crate) struct SearchChoiceArgs {
    /// Op set searched: `aca` (skip-free, channels allocated by ACA) or `darts` (the baseline,
    /// trained with every channel on its op); RobustDARTS's reduced spaces `s1` (each edge its own
    /// pair of ops), `s2` (skip_connect, sep_conv_3x3), `s3` (none, skip_connect, sep_conv_3x3)
    /// and `s4` (noise, sep_conv_3x3), and their ACA forms `s1-aca` and `s3-aca` (without the
    /// skip) and `s4-aca` (S4, allocated by ACA);
    /// `darts-no-none` (DARTS's ops without none, what `darts` means for fair-darts and drnas, as
    /// their code searches) [default: the config file's, else aca].
    #[arg(long, value_name = "SPACE", conflicts_with = "resume")]
    pub space: Option<aca_space::Space>,

    /// Search method: darts, darts2, pc-darts, beta-darts, darts-minus, sdarts-rs, sdarts-adv,
    /// fair-darts, drnas or random (docs/method.md) [default: the config file's, else darts].
    #[arg(long, value_name = "METHOD", conflicts_with = "resume")]
    pub method: Option<aca_search::MethodKind>,
}

/// A stage's epochs, seed, batch and network size over its preset (and config file).
#[derive(Debug, Args)]
pub(crate) struct StageArgs {
    /// Epochs.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub epochs: Option<usize>,

    /// Seed of every random choice.
    #[arg(long, value_name = "S", conflicts_with = "resume")]
    pub seed: Option<u64>,

    /// Batch size.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub batch_size: Option<usize>,

    /// Initial channels C of the network.
    #[arg(long, value_name = "C", conflicts_with = "resume")]
    pub channels: Option<i64>,

    /// Cells of the network.
    #[arg(long, value_name = "L", conflicts_with = "resume")]
    pub layers: Option<usize>,

    /// Train the weights on a class-balanced subset of N images (a search: of its weight half).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub train_limit: Option<usize>,
}

/// TensorBoard output of a run's stages.
#[derive(Debug, Args)]
pub(crate) struct TensorBoardArgs {
    /// Write TensorBoard event files under each stage's tb/ folder (`tensorboard --logdir DIR`
    /// shows them while the run goes on) [default: the config file's, else true]
    #[arg(long, value_name = "true|false", conflicts_with = "resume")]
    pub tensorboard: Option<bool>,

    /// Also log the training loss every N steps (0: once per epoch only) [default: 20]
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub tensorboard_every: Option<usize>,
}

impl TensorBoardArgs {
    /// The flags given onto a stage's TensorBoard settings.
    pub(crate) fn apply(&self, tb: &mut aca_core::tensorboard::TensorBoard) {
        if let Some(on) = self.tensorboard {
            tb.enabled = on;
        }
        if let Some(n) = self.tensorboard_every {
            tb.step_every = n;
        }
    }
}

/// The fields of a stage's configuration that [`StageArgs`] sets.
pub(crate) struct StageFields<'a> {
    pub epochs: &'a mut usize,
    pub seed: &'a mut u64,
    pub data: &'a mut aca_data::DataConfig,
    pub channels: &'a mut i64,
    pub layers: &'a mut usize,
}

/// The [`StageFields`] of a search or training configuration (both have `epochs`, `seed`, `data`
/// and `network.{channels,layers}`).
macro_rules! stage_fields {
    ($c:expr) => {
        $crate::cli::StageFields {
            epochs: &mut $c.epochs,
            seed: &mut $c.seed,
            data: &mut $c.data,
            channels: &mut $c.network.channels,
            layers: &mut $c.network.layers,
        }
    };
}
pub(crate) use stage_fields;

impl StageArgs {
    /// The flags given onto a stage's configuration.
    pub(crate) fn apply(&self, c: StageFields<'_>) {
        fn set<T: Copy>(field: &mut T, flag: Option<T>) {
            if let Some(v) = flag {
                *field = v;
            }
        }
        set(c.epochs, self.epochs);
        set(c.seed, self.seed);
        set(&mut c.data.batch_size, self.batch_size);
        set(c.channels, self.channels);
        set(c.layers, self.layers);
        if let Some(n) = self.train_limit {
            c.data.limit_training_images(n);
        }
    }
}

/// Where a stage runs, and how it starts or continues.
#[derive(Debug, Args)]
pub(crate) struct RunControlArgs {
    /// Where to run.
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: aca_core::DeviceChoice,

    /// Run directory [default: a new folder under runs/].
    #[arg(long, value_name = "DIR", required_if_eq("resume", "true"))]
    pub out: Option<PathBuf>,

    /// Continue the run in --out where it stopped (its stage, epoch and step stream), with its
    /// saved configuration; flags that would change it are refused.
    #[arg(long)]
    pub resume: bool,

    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

impl RunControlArgs {
    /// `--out`, or a new folder under `runs/` named by `kind` and the time.
    pub(crate) fn out_or_default(&self, kind: &str) -> std::path::PathBuf {
        self.out.clone().unwrap_or_else(|| crate::default_out(kind))
    }
}

/// The dataset of a search, a training or both.
#[derive(Debug, Args)]
pub(crate) struct StageDataArgs {
    /// Dataset [default: the preset's: fashion-mnist for tiny, cifar10 for paper].
    #[arg(
        long,
        value_name = "fashion-mnist|mnist|cifar10|cifar100|svhn|folder",
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

    /// Keep the centre SIZE x SIZE after the resize; a random resized crop (the imagenet preset's
    /// training images) then crops to SIZE too [default: the preset's; imagenet: 224 of 256]
    #[arg(long, value_name = "SIZE", conflicts_with = "resume")]
    pub center_crop: Option<usize>,

    /// Decode an image folder batch by batch instead of holding it in memory (large folders;
    /// needs a resize) [default: the preset's; on for imagenet's training]
    #[arg(long, conflicts_with = "resume")]
    pub stream: bool,
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
        if let Some(size) = self.center_crop {
            data.center_crop = Some(size);
        }
        if self.stream {
            data.stream = true;
        }
        // A new test size moves the random resized crop (the imagenet preset's) with it.
        let resized = self.resize.is_some() || self.center_crop.is_some();
        if resized && data.augment.random_resized_crop.is_some() {
            data.augment.random_resized_crop = data.center_crop.or(data.resize);
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

impl SnapshotArgs {
    /// `--snapshot-epochs` / `--snapshot-every` onto a search configuration.
    pub(crate) fn apply(&self, c: &mut aca_search::SearchConfig) {
        if !self.snapshot_epochs.is_empty() {
            c.snapshot_epochs = self.snapshot_epochs.clone();
        }
        if self.snapshot_every.is_some() {
            c.snapshot_every = self.snapshot_every;
        }
    }
}

/// How the search spends memory.
#[derive(Debug, Args)]
pub(crate) struct SearchMemoryArgs {
    /// The first N cells of the supernet recompute their activations in the backward pass
    /// instead of keeping them: less memory (the first cells hold the most) for more time
    /// (docs/benchmarks.md, "Recomputed cells"). 0: none [default: the config file's, else 0].
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub recompute_cells: Option<usize>,
}

impl SearchMemoryArgs {
    /// `--recompute-cells` onto a search configuration.
    pub(crate) fn apply(&self, c: &mut aca_search::SearchConfig) {
        if let Some(n) = self.recompute_cells {
            c.network.recompute_cells = n;
        }
    }
}
