//! Progress bars for the long loops of search and training, drawn by the tracing subscriber's
//! indicatif layer (`init_tracing`): each epoch's bar belongs to a tracing span, so log lines
//! and summary lines are printed above the bars instead of through them.

use std::io::Write as _;

use aca_core::Observer;
use aca_eval::TrainRecord;
use aca_search::EpochRecord;
use indicatif::ProgressStyle;
use tracing_indicatif::span_ext::IndicatifSpanExt;

/// A bar over the steps of one epoch, with summary lines printed above it.
#[derive(Debug)]
pub(crate) struct EpochBar {
    /// The current epoch's span; `None` before the first epoch and when bars are hidden.
    span: std::sync::Mutex<Option<tracing::Span>>,
    shown: bool,
    quiet: bool,
}

impl EpochBar {
    pub(crate) fn new(quiet: bool, no_progress: bool) -> Self {
        Self {
            span: std::sync::Mutex::new(None),
            shown: !(quiet || no_progress),
            quiet,
        }
    }

    fn style() -> ProgressStyle {
        ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {pos}/{len} steps  {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
    }

    pub(crate) fn start(&self, label: String, steps: usize) {
        if !self.shown {
            return;
        }
        let span = tracing::info_span!(target: "aca::progress", "epoch");
        span.pb_set_style(&Self::style());
        span.pb_set_length(steps as u64);
        span.pb_set_message(&label);
        span.pb_start();
        // The previous epoch's span closes here, and its bar with it.
        *self.span.lock().unwrap_or_else(|e| e.into_inner()) = Some(span);
    }

    pub(crate) fn step(&self) {
        if let Some(span) = &*self.span.lock().unwrap_or_else(|e| e.into_inner()) {
            span.pb_inc(1);
        }
    }

    /// A line above the bar (or on stdout when the bar is hidden), unless quiet. A closed
    /// standard output is not an error (as with `outln!`).
    pub(crate) fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        match tracing_indicatif::writer::get_indicatif_stdout_writer() {
            Some(mut w) if self.shown => {
                let _ = writeln!(w, "{text}");
            }
            _ => outln!("{text}"),
        }
    }

    pub(crate) fn finish(&self) {
        self.span.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Search and training progress on an [`EpochBar`]: one observer for both epoch loops.
pub(crate) struct Bars<'a>(&'a EpochBar);

impl<'a> Bars<'a> {
    pub(crate) fn new(bar: &'a EpochBar) -> Self {
        Self(bar)
    }

    pub(crate) fn bar(&self) -> &EpochBar {
        self.0
    }
}

impl Observer<EpochRecord> for Bars<'_> {
    fn epoch_started(&self, epoch: usize, epochs: usize, steps: usize) {
        self.0
            .start(format!("search {}/{epochs}", epoch + 1), steps);
    }
    fn step_done(&self) {
        self.0.step();
    }
    fn epoch_done(&self, r: &EpochRecord) {
        self.0.line(crate::search::epoch_line(r));
    }
}

impl Observer<TrainRecord> for Bars<'_> {
    fn epoch_started(&self, epoch: usize, epochs: usize, steps: usize) {
        self.0.start(format!("train {}/{epochs}", epoch + 1), steps);
    }
    fn step_done(&self) {
        self.0.step();
    }
    fn epoch_done(&self, r: &TrainRecord) {
        self.0.line(crate::eval::train_line(r));
    }
}
