//! A summary of timed runs: how many, the fastest and the median.

use std::time::Duration;

pub struct Runs {
    pub count: usize,
    pub min: Duration,
    pub median: Duration,
}

impl Runs {
    /// Summarises at least one run.
    pub fn of(mut times: Vec<Duration>) -> Runs {
        assert!(!times.is_empty(), "no runs to summarise");
        times.sort();
        Runs { count: times.len(), min: times[0], median: times[times.len() / 2] }
    }
}
