//! Progress bars for the long loops of search and training.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over the steps of one epoch, with summary lines printed above it.
#[derive(Debug)]
pub(crate) struct EpochBar {
    bar: ProgressBar,
    quiet: bool,
}

impl EpochBar {
    pub(crate) fn new(quiet: bool, no_progress: bool) -> Self {
        let bar = if quiet || no_progress {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} steps  {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        Self { bar, quiet }
    }

    pub(crate) fn start(&self, label: String, steps: usize) {
        self.bar.reset();
        self.bar.set_length(steps as u64);
        self.bar.set_prefix(label);
    }

    pub(crate) fn step(&self) {
        self.bar.inc(1);
    }

    /// A line above the bar (or on stdout when the bar is hidden), unless quiet.
    pub(crate) fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.bar.is_hidden() {
            outln!("{text}");
        } else {
            self.bar.println(text);
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
