//! Where invocations run: a pool of invocation threads (`Pool`) for those
//! that only read, one invocation thread for those that write (`Writer`,
//! which runs them in batches, each batch one transaction and one flush to
//! disk), and the policy (`Inline`) that lets short routes run at once on
//! the async thread that read their request, sparing them two hand-offs
//! between threads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, unbounded};

use crate::stack;

type Job = Box<dyn FnOnce() + Send>;

/// Requests waiting for an invocation thread beyond this get a 503.
pub const MAX_WAITING: usize = 256;

/// Invocation threads taking jobs from one queue. Dropping it closes the
/// queue and waits for them to finish (`dlc serve` drops each version's).
pub struct Pool {
    // Before `_threads`: dropped first, which ends their loops.
    jobs: Sender<Job>,
    _threads: Threads,
}

/// Threads joined when dropped, which gives their stacks back (one that
/// drops its own handle is left to end alone).
struct Threads(Vec<stack::Thread>);

impl Drop for Threads {
    fn drop(&mut self) {
        for thread in self.0.drain(..) {
            if !thread.is_current() {
                thread.join();
            }
        }
    }
}

impl Pool {
    /// More threads than cores, so that a few long invocations do not hold
    /// up the rest. Their stacks cost address space, not memory.
    pub fn start() -> Pool {
        let workers = cores().clamp(2, 16) * 4;
        let (jobs, queue) = unbounded::<Job>();
        let mut threads = Vec::new();
        for _ in 0..workers {
            let queue = queue.clone();
            // A worker that cannot start leaves the others to do the work.
            threads.extend(stack::spawn(move || {
                for job in queue {
                    survive(job);
                }
            }));
        }
        Pool { jobs, _threads: Threads(threads) }
    }

    /// Jobs queued and not yet started.
    pub fn waiting(&self) -> usize {
        self.jobs.len()
    }

    /// Queues `job` for an invocation thread (if the threads are gone, the
    /// job is dropped, and whoever waits on it sees that).
    pub fn submit(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    /// Runs `job` on an invocation thread and waits for its result.
    pub fn run<T: Send + 'static>(&self, job: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
        let (done, result) = mpsc::channel();
        self.submit(Box::new(move || {
            let _ = done.send(job());
        }));
        result.recv().unwrap_or_else(|_| Err("internal error: an invocation thread stopped".to_string()))
    }
}

/// The invocation thread that runs every write invocation, in batches: it
/// takes all the jobs queued (up to `MAX_WAITING`) and hands them to its
/// `batch` function at once, which runs them in one transaction. While a
/// batch flushes to disk, the next one queues, so the busier the writes,
/// the more each flush carries.
pub struct Writer<J> {
    // Before `_thread`, as in `Pool`.
    jobs: Sender<J>,
    _thread: Threads,
}

impl<J: Send + 'static> Writer<J> {
    pub fn start(mut batch: impl FnMut(Vec<J>) + Send + 'static) -> std::io::Result<Writer<J>> {
        let (jobs, queue) = unbounded::<J>();
        let thread = stack::spawn(move || {
            while let Ok(first) = queue.recv() {
                let mut jobs = vec![first];
                jobs.extend(queue.try_iter().take(MAX_WAITING - 1));
                survive(|| batch(jobs));
            }
        })?;
        Ok(Writer { jobs, _thread: Threads(vec![thread]) })
    }

    /// Jobs queued and not yet started.
    pub fn waiting(&self) -> usize {
        self.jobs.len()
    }

    /// Queues `job` for the next batch (if the writer is gone, the job is
    /// dropped, and whoever waits on it sees that).
    pub fn submit(&self, job: J) {
        let _ = self.jobs.send(job);
    }
}

/// Runs `work`; a panic in it (a bug in the runtime: runtime errors never
/// panic this far) ends only `work`, whose unanswered requests get a 500
/// as their `Answer` is dropped, and not the thread.
fn survive(work: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// An inline run longer than this (wall time, so a run the system paused
/// counts too) sends its route to the pool for a while.
const SLOW: Duration = Duration::from_millis(10);
/// How long a slow route stays on the pool before it is tried inline again.
const SLOW_FOR: Duration = Duration::from_secs(10);

/// Which routes may run inline on an async thread. An async thread busy
/// with a route serves no other connection, so at most `limit` do so at
/// once (fewer than there are async threads: however long routes run, some
/// thread goes on accepting and reading), and a route whose inline run took
/// longer than `SLOW` runs on the pool for the next `SLOW_FOR`.
pub struct Inline {
    running: AtomicUsize,
    limit: usize,
    epoch: Instant,
    /// Per route: until when (nanoseconds after `epoch`) it runs on the pool.
    pooled_until: Vec<AtomicU64>,
}

/// An inline run under way (counted until dropped).
pub struct InlineRun<'a> {
    inline: &'a Inline,
    route: usize,
    started: Instant,
}

impl Inline {
    /// The policy for `routes` routes, served by `server::async_threads()`.
    pub fn new(routes: usize) -> Inline {
        Inline {
            running: AtomicUsize::new(0),
            limit: crate::server::async_threads() - 1,
            epoch: Instant::now(),
            pooled_until: (0..routes).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Starts an inline run of `route`, or `None` when it must go to the pool.
    pub fn enter(&self, route: usize) -> Option<InlineRun<'_>> {
        let started = Instant::now();
        if self.nanos(started) < self.pooled_until[route].load(Ordering::Relaxed) {
            return None;
        }
        let running = self.running.fetch_add(1, Ordering::Acquire);
        let run = InlineRun { inline: self, route, started };
        (running < self.limit).then_some(run)
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.duration_since(self.epoch).as_nanos() as u64
    }
}

impl Drop for InlineRun<'_> {
    fn drop(&mut self) {
        let inline = self.inline;
        inline.running.fetch_sub(1, Ordering::Release);
        let ended = Instant::now();
        if ended.duration_since(self.started) > SLOW {
            inline.pooled_until[self.route].store(inline.nanos(ended + SLOW_FOR), Ordering::Relaxed);
        }
    }
}
