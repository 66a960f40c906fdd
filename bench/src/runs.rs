//! A summary of timed runs: how many, the fastest, the median, the 90th
//! percentile and the slowest.

use std::time::Duration;

pub struct Runs {
    pub count: usize,
    pub min: Duration,
    pub median: Duration,
    /// The nearest-rank 90th percentile: 90% of the runs took this or less.
    pub p90: Duration,
    pub max: Duration,
}

impl Runs {
    /// Summarises at least one run.
    pub fn of(mut times: Vec<Duration>) -> Runs {
        assert!(!times.is_empty(), "no runs to summarise");
        times.sort();
        let count = times.len();
        let p90 = times[(count * 9).div_ceil(10) - 1];
        Runs { count, min: times[0], median: times[count / 2], p90, max: times[count - 1] }
    }
}
