//! Batching: shuffled epochs and the endless validation stream of the search.

use std::sync::Arc;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::augment::{apply, Augment, Normalize};
use crate::dataset::{ImageSet, Pixels};
use crate::error::{DataError, Result};
use crate::kind::DatasetInfo;
use crate::rng::rng;
use crate::stream::FileSource;

/// One batch: normalised f32 images `[B, C, H, W]` and i64 labels `[B]`, on the loader's device.
#[derive(Debug)]
pub struct Batch {
    /// Images.
    pub images: Tensor,
    /// Labels.
    pub labels: Tensor,
}

/// Loader settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoaderOptions {
    /// Images per batch.
    pub batch_size: usize,
    /// Shuffle each epoch (training) or keep the index order (evaluation).
    pub shuffle: bool,
    /// Drop the last batch when it is smaller than `batch_size`; otherwise it is yielded short.
    pub drop_last: bool,
    /// Augmentation.
    pub augment: Augment,
    /// Seed of the shuffles and augmentation draws.
    pub seed: u64,
    /// Tells apart loaders that share a seed (e.g. search-train and search-valid).
    pub stream: u64,
}

/// A loader's pixels: on its device, or decoded per batch.
#[derive(Debug)]
enum Source {
    Memory(Tensor),
    Files(Arc<FileSource>),
}

/// Batches over a subset of an [`ImageSet`]. Batch `b` of epoch `e` is a pure function of
/// (seed, stream, e, b): resuming at any batch reproduces the run exactly.
#[derive(Debug)]
pub struct Loader {
    pixels: Source,
    labels: Tensor,
    indices: Vec<i64>,
    opts: LoaderOptions,
    size: usize,
    norm: Normalize,
    device: Device,
}

impl Loader {
    /// A loader over `indices` of `set`, normalised with `info`'s statistics, delivering on
    /// `device`.
    pub fn new(
        set: &ImageSet,
        indices: &[usize],
        info: &DatasetInfo,
        opts: LoaderOptions,
        device: Device,
    ) -> Result<Self> {
        if opts.batch_size == 0 {
            return Err(DataError::Config {
                field: "batch_size",
                value: "0".into(),
                reason: "expected at least 1".into(),
            });
        }
        if indices.is_empty() {
            return Err(DataError::Config {
                field: "indices",
                value: "[]".into(),
                reason: "a loader needs at least one image".into(),
            });
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= set.len()) {
            return Err(DataError::Config {
                field: "indices",
                value: bad.to_string(),
                reason: format!("out of range for a split of {} images", set.len()),
            });
        }
        if opts.drop_last && indices.len() < opts.batch_size {
            return Err(DataError::Config {
                field: "batch_size",
                value: opts.batch_size.to_string(),
                reason: format!("larger than the {} images, and the last partial batch is dropped: no batch at all", indices.len()),
            });
        }
        let pixels = match &set.pixels {
            Pixels::Memory(images) => {
                if opts.augment.at_decode() {
                    return Err(DataError::Config {
                        field: "augment",
                        value: "random_resized_crop/color_jitter".into(),
                        reason: "these are done as each image is decoded: they need a streamed image folder (data.stream = true)".into(),
                    });
                }
                Source::Memory(images.f_to_device(device)?)
            }
            Pixels::Files(files) => Source::Files(Arc::clone(files)),
        };
        if let Some(jitter) = &opts.augment.color_jitter {
            jitter.validate()?;
        }
        if let Some(s) = opts
            .augment
            .random_resized_crop
            .filter(|&s| s != set.size())
        {
            return Err(DataError::Config {
                field: "augment.random_resized_crop",
                value: s.to_string(),
                reason: format!(
                    "the test images are {0}x{0} (the centre crop): expected {0}, one size for both",
                    set.size()
                ),
            });
        }
        Ok(Self {
            pixels,
            labels: set.labels().f_to_device(device)?,
            indices: indices.iter().map(|&i| i as i64).collect(),
            size: set.size(),
            norm: Normalize::new(&info.mean, &info.std, device)?,
            opts,
            device,
        })
    }

    /// A loader over every image of `set`, in order, without augmentation (evaluation).
    pub fn sequential(
        set: &ImageSet,
        info: &DatasetInfo,
        batch_size: usize,
        device: Device,
    ) -> Result<Self> {
        let all: Vec<usize> = (0..set.len()).collect();
        let opts = LoaderOptions {
            batch_size,
            shuffle: false,
            drop_last: false,
            augment: Augment::none(),
            seed: 0,
            stream: 0,
        };
        Self::new(set, &all, info, opts, device)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether there are no images (never true for a constructed loader).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.opts.drop_last {
            self.len() / self.opts.batch_size
        } else {
            self.len().div_ceil(self.opts.batch_size)
        }
    }

    /// The options.
    pub fn options(&self) -> &LoaderOptions {
        &self.opts
    }

    /// The image order of `epoch`.
    pub fn order(&self, epoch: u64) -> Vec<i64> {
        let mut order = self.indices.clone();
        if self.opts.shuffle {
            order.shuffle(&mut rng(self.opts.seed, &[self.opts.stream, epoch]));
        }
        order
    }

    /// The batches of `epoch`, starting at batch `start`.
    pub fn epoch_from(&self, epoch: u64, start: usize) -> EpochIter<'_> {
        EpochIter {
            loader: self,
            order: self.order(epoch),
            epoch,
            next: start,
            pending: None,
        }
    }

    /// All batches of `epoch`.
    pub fn epoch(&self, epoch: u64) -> EpochIter<'_> {
        self.epoch_from(epoch, 0)
    }

    fn chunk<'o>(&self, order: &'o [i64], b: usize) -> &'o [i64] {
        let bs = self.opts.batch_size;
        &order[b * bs..((b + 1) * bs).min(order.len())]
    }

    /// Starts decoding batch `b` of a streamed split on its own thread, so that it overlaps the
    /// step on the batch before; `None` for a split in memory or past the last batch.
    fn prefetch(&self, order: &[i64], epoch: u64, b: usize) -> Option<Pending> {
        let Source::Files(files) = &self.pixels else {
            return None;
        };
        if b >= self.batches_per_epoch() {
            return None;
        }
        let (files, chunk) = (Arc::clone(files), self.chunk(order, b).to_vec());
        let (augment, seed) = (self.opts.augment.clone(), self.opts.seed);
        let path = [self.opts.stream, epoch, b as u64 + 1];
        let bytes = std::thread::spawn(move || files.decode_batch(&chunk, &augment, seed, &path));
        Some(Pending {
            epoch,
            batch: b,
            bytes,
        })
    }

    fn make_batch(
        &self,
        order: &[i64],
        epoch: u64,
        b: usize,
        pending: Option<Pending>,
    ) -> Result<Batch> {
        let chunk = self.chunk(order, b);
        let idx = Tensor::f_from_slice(chunk)?.f_to_device(self.device)?;
        let path = [self.opts.stream, epoch, b as u64 + 1];
        let raw = match &self.pixels {
            Source::Memory(images) => images.f_index_select(0, &idx)?,
            Source::Files(files) => {
                let bytes = match pending.filter(|p| (p.epoch, p.batch) == (epoch, b)) {
                    Some(p) => p.bytes.join().map_err(|_| {
                        DataError::format(&files.paths[0], "an image decoder panicked")
                    })??,
                    None => files.decode_batch(chunk, &self.opts.augment, self.opts.seed, &path)?,
                };
                let (c, s) = (files.channels as i64, files.crop as i64);
                Tensor::f_from_slice(&bytes)?
                    .f_view([chunk.len() as i64, c, s, s])?
                    .f_to_device(self.device)?
            }
        };
        let labels = self.labels.f_index_select(0, &idx)?;
        let mut r = rng(self.opts.seed, &path);
        let draws = self.opts.augment.draw(chunk.len(), self.size, &mut r);
        let images = apply(&raw, &self.opts.augment, &draws, &self.norm)?;
        debug_assert_eq!(images.kind(), Kind::Float);
        Ok(Batch { images, labels })
    }
}

/// A streamed batch being decoded on its own thread.
#[derive(Debug)]
struct Pending {
    epoch: u64,
    batch: usize,
    bytes: std::thread::JoinHandle<Result<Vec<u8>>>,
}

/// The batches of one epoch; a streamed split's next batch decodes while the caller uses this one.
#[derive(Debug)]
pub struct EpochIter<'a> {
    loader: &'a Loader,
    order: Vec<i64>,
    epoch: u64,
    next: usize,
    pending: Option<Pending>,
}

impl EpochIter<'_> {
    /// Index of the next batch.
    pub fn position(&self) -> usize {
        self.next
    }
}

impl Iterator for EpochIter<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.loader.batches_per_epoch() {
            return None;
        }
        let b = self.next;
        self.next += 1;
        let batch = self
            .loader
            .make_batch(&self.order, self.epoch, b, self.pending.take());
        self.pending = self.loader.prefetch(&self.order, self.epoch, self.next);
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.loader.batches_per_epoch().saturating_sub(self.next);
        (left, Some(left))
    }
}

/// Where an [`Endless`] stream stands: pass number and next batch in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// Completed passes over the data.
    pub pass: u64,
    /// Next batch of the current pass.
    pub batch: usize,
}

/// One persistent shuffled stream that never ends: reshuffled at each pass (DARTS's validation
/// batches for the architecture step, without re-creating an iterator per step).
#[derive(Debug)]
pub struct Endless<'a> {
    loader: &'a Loader,
    order: Vec<i64>,
    state: StreamState,
    pending: Option<Pending>,
}

impl<'a> Endless<'a> {
    /// Starts (or resumes) the stream at `state`.
    pub fn new(loader: &'a Loader, state: StreamState) -> Self {
        Self {
            loader,
            order: loader.order(state.pass),
            state,
            pending: None,
        }
    }

    /// Where the stream stands, for a checkpoint.
    pub fn state(&self) -> StreamState {
        self.state
    }

    /// The next batch.
    pub fn next_batch(&mut self) -> Result<Batch> {
        if self.state.batch >= self.loader.batches_per_epoch() {
            self.state = StreamState {
                pass: self.state.pass + 1,
                batch: 0,
            };
            self.order = self.loader.order(self.state.pass);
        }
        let b = self.state.batch;
        self.state.batch += 1;
        let pass = self.state.pass;
        let batch = self
            .loader
            .make_batch(&self.order, pass, b, self.pending.take());
        // Within a pass; the first batch of the next decodes when it is asked for.
        self.pending = self.loader.prefetch(&self.order, pass, self.state.batch);
        batch
    }
}
