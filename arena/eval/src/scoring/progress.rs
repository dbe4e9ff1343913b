//! Progress over perturbations on stderr (indicatif), drawn only when stderr is a terminal, plus
//! optional per-phase timings (`arena score --timings`) for profiling.

use std::time::Instant;

use indicatif::ProgressBar;

pub struct Progress {
    bar: ProgressBar,
    timings: bool,
    start: Instant,
    phase_start: std::sync::Mutex<Instant>,
}

impl Progress {
    /// A bar of `total` steps (hidden unless stderr is a terminal); `timings` prints each phase's
    /// wall time to stderr.
    pub fn new(total: u64, timings: bool) -> Self {
        let bar =
            arena_data::progress::stderr_bar(Some(total), "{msg:>18} [{bar:40}] {pos}/{len} perturbations ({eta})");
        let now = Instant::now();
        Progress { bar, timings, start: now, phase_start: std::sync::Mutex::new(now) }
    }

    /// Starts a phase: ends the previous one (printing its time with `--timings`).
    pub fn phase(&self, name: &'static str) {
        self.bar.set_message(name);
        self.mark(name);
    }

    /// Prints the time since the previous mark, labelled `next` as the phase that now starts.
    fn mark(&self, next: &str) {
        let now = Instant::now();
        let mut phase_start = self.phase_start.lock().unwrap_or_else(|e| e.into_inner());
        if self.timings {
            self.bar.suspend(|| {
                eprintln!(
                    "[timings] {:>8.3} s  (+{:.3} s)  -> {next}",
                    now.duration_since(self.start).as_secs_f64(),
                    now.duration_since(*phase_start).as_secs_f64()
                )
            });
        }
        *phase_start = now;
    }

    /// Sets the number of steps (known once the inputs are read).
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    pub fn inc(&self) {
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
        self.mark("done");
    }
}
