//! Renders pipeline events: an indicatif bar on a terminal, a log line every few seconds
//! otherwise (CI logs, `nohup`, systemd).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::{BatchReport, Event};

pub struct Progress {
    bar: Option<ProgressBar>,
    inner: Mutex<Counts>,
    /// `"<model> (next): "` when a model migration runs two pipelines; empty otherwise.
    prefix: String,
}

#[derive(Default)]
struct Counts {
    /// Rows to process: those queued at the start, or all rows claimed so far when rows
    /// queued during the run (new or changed rows, retries) make that more.
    queued: u64,
    claimed: u64,
    done: u64,
    written: u64,
    failed: u64,
    started: Option<Instant>,
    last_line: Option<Instant>,
}

const LOG_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// `follow`: a long-running worker (no total to count down to).
    pub fn new(follow: bool) -> Progress {
        Progress::labelled(follow, None)
    }

    /// Like [`Progress::new`], every line and the bar starting with `label`.
    pub fn labelled(follow: bool, label: Option<&str>) -> Progress {
        let prefix = label.map(|l| format!("{l}: ")).unwrap_or_default();
        let bar = if std::io::stderr().is_terminal() && !follow {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix}[{elapsed_precise}] {wide_bar} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(prefix.clone());
            bar.enable_steady_tick(Duration::from_millis(200));
            Some(bar)
        } else {
            None
        };
        Progress {
            bar,
            inner: Mutex::new(Counts::default()),
            prefix,
        }
    }

    pub fn handle(&self, event: Event) {
        let mut c = self.inner.lock().unwrap();
        match event {
            Event::Started { queued, embedded } => {
                c.queued = queued;
                c.started = Some(Instant::now());
                c.last_line = Some(Instant::now());
                if let Some(bar) = &self.bar {
                    bar.set_length(queued);
                    bar.reset_eta();
                } else {
                    eprintln!(
                        "{}{queued} rows to embed ({embedded} already current)",
                        self.prefix
                    );
                }
            }
            Event::Claimed { rows } => {
                c.claimed += rows;
                if c.claimed > c.queued {
                    c.queued = c.claimed;
                    if let Some(bar) = &self.bar {
                        bar.set_length(c.queued);
                    }
                }
            }
            Event::Batch(BatchReport { outcome, .. }) => {
                let n = outcome.written + outcome.skipped + outcome.failed + outcome.retrying;
                c.done += n;
                c.written += outcome.written;
                c.failed += outcome.failed;
                if let Some(bar) = &self.bar {
                    bar.set_position(c.done);
                    if c.failed > 0 {
                        bar.set_message(format!("{} failed", c.failed));
                    }
                } else if c.last_line.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                    c.last_line = Some(Instant::now());
                    eprintln!("{}{}", self.prefix, c.line());
                }
            }
            Event::StoreRetry { error, wait } => {
                let msg = crate::redact::redact(&format!(
                    "{}database unavailable, retrying in {wait:?}: {error}",
                    self.prefix
                ));
                match &self.bar {
                    Some(bar) => bar.println(msg),
                    None => eprintln!("{msg}"),
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Counts {
    fn line(&self) -> String {
        let secs = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let rate = self.done as f64 / secs.max(1e-9);
        let left = self.queued.saturating_sub(self.done);
        let eta = if rate > 0.0 && self.queued > 0 {
            format!(", ETA {:.0}s", left as f64 / rate)
        } else {
            String::new()
        };
        let pct = if self.queued > 0 {
            format!(" ({:.0}%)", 100.0 * self.done as f64 / self.queued as f64)
        } else {
            String::new()
        };
        format!(
            "processed {}/{}{pct}: {} written, {} failed, {rate:.1} rows/s{eta}",
            self.done, self.queued, self.written, self.failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteOutcome;

    fn batch(written: u64) -> Event {
        Event::Batch(BatchReport {
            outcome: WriteOutcome {
                written,
                ..WriteOutcome::default()
            },
            ..BatchReport::default()
        })
    }

    #[test]
    fn rows_queued_during_the_run_are_counted() {
        let p = Progress::new(true);
        p.handle(Event::Started {
            queued: 40,
            embedded: 0,
        });
        p.handle(Event::Claimed { rows: 32 });
        p.handle(batch(32));
        assert!(p
            .inner
            .lock()
            .unwrap()
            .line()
            .starts_with("processed 32/40 (80%)"));
        // One row was inserted meanwhile: 9 claimed, not 8.
        p.handle(Event::Claimed { rows: 9 });
        p.handle(batch(9));
        let line = p.inner.lock().unwrap().line();
        assert!(
            line.starts_with("processed 41/41 (100%): 41 written"),
            "{line}"
        );
    }
}
