//! How far a migration has got, on stderr: a bar with counts and time left
//! on a terminal, plain lines otherwise (a CI log, a file), so that neither
//! fills a log with redraws nor leaves a person staring at nothing.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain line is written while a phase runs.
const LINE_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Copy)]
pub struct Progress {
    terminal: bool,
}

impl Progress {
    pub fn on_stderr() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// A phase of `total` units (pacts, versions, ...) named `what`.
    pub fn phase(&self, what: &str, total: u64) -> Phase {
        let bar = self.terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} ({eta} left)")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(what.to_owned());
            bar
        });
        if bar.is_none() {
            eprintln!("{what}: 0/{total}");
        }
        Phase {
            bar,
            what: what.to_owned(),
            total,
            state: Mutex::new((0, Instant::now())),
            started: Instant::now(),
        }
    }
}

pub struct Phase {
    bar: Option<ProgressBar>,
    what: String,
    total: u64,
    /// Units done, and when the last plain line was written.
    state: Mutex<(u64, Instant)>,
    started: Instant,
}

impl Phase {
    pub fn advance(&self, units: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(units);
            return;
        }
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 += units;
        if state.1.elapsed() >= LINE_EVERY {
            state.1 = Instant::now();
            eprintln!(
                "{}: {}/{}{}",
                self.what,
                state.0,
                self.total,
                self.left(state.0)
            );
        }
    }

    /// The time left at the pace so far, for plain lines.
    fn left(&self, done: u64) -> String {
        if done == 0 || done >= self.total {
            return String::new();
        }
        let per_unit = self.started.elapsed().as_secs_f64() / done as f64;
        let left = Duration::from_secs_f64(per_unit * (self.total - done) as f64);
        format!(
            " ({} left)",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        )
    }

    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let done = match &self.bar {
            Some(bar) => bar.position(),
            None => {
                self.state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
        };
        eprintln!(
            "{}: {done}/{} in {}",
            self.what,
            self.total,
            humantime::format_duration(Duration::from_millis(
                u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
            ))
        );
    }
}
