//! Crons on their schedules: in real time for a served instance (a thread
//! that sleeps until the next one is due), and the due times of a span of
//! virtual time for `dlc test`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use chrono::{DateTime, Utc};

use super::descriptor::Cron;
use super::serve::Runners;
use crate::server;

/// A cron's schedule, parsed.
pub fn schedule(cron: &Cron) -> Result<croner::Cron, String> {
    cron.schedule.parse().map_err(|e| format!("cron {}: {e}", cron.name))
}

/// A running scheduler; dropping it stops it (runs already started finish).
pub struct Scheduler {
    _stop: mpsc::Sender<()>,
}

/// Starts the scheduler of the instance's crons: each runs at the times of
/// its schedule (UTC), unless its previous run is still going (then that
/// time is skipped); every run is logged.
pub fn start(runners: &Arc<Runners>) -> Result<Scheduler, String> {
    let mut jobs = Vec::new();
    for (index, cron) in runners.instance.program.crons.iter().enumerate() {
        jobs.push(Arc::new(CronJob { index, schedule: schedule(cron)?, running: AtomicBool::new(false) }));
    }
    let (stop, stopped) = mpsc::channel();
    if !jobs.is_empty() {
        let runners = Arc::clone(runners);
        std::thread::Builder::new()
            .name("dl-cron".into())
            .spawn(move || scheduler(jobs, runners, stopped))
            .map_err(|e| format!("cannot start the cron scheduler: {e}"))?;
    }
    Ok(Scheduler { _stop: stop })
}

struct CronJob {
    index: usize,
    schedule: croner::Cron,
    running: AtomicBool,
}

fn scheduler(jobs: Vec<Arc<CronJob>>, runners: Arc<Runners>, stopped: mpsc::Receiver<()>) {
    loop {
        let now = utc_now();
        let next: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.schedule.find_next_occurrence(&now, false).ok()).collect();
        let Some(when) = next.iter().flatten().min().copied() else { return };
        let wait = (when - now).to_std().unwrap_or_default();
        // Waiting is also listening for the stop (the `Scheduler` dropped).
        if !matches!(stopped.recv_timeout(wait), Err(mpsc::RecvTimeoutError::Timeout)) {
            return;
        }
        for (job, due) in jobs.iter().zip(&next) {
            if *due != Some(when) {
                continue;
            }
            let cron = &runners.instance.program.crons[job.index];
            if job.running.swap(true, Ordering::AcqRel) {
                server::log::log(format!("cron {} skipped: its previous run is still going", cron.name));
                continue;
            }
            let (job, runners) = (Arc::clone(job), Arc::clone(&runners));
            let started = std::time::Instant::now();
            let run = move || {
                let cron = &runners.instance.program.crons[job.index];
                let outcome = runners.run_unit(cron.code, cron.access);
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match outcome {
                    Ok(()) => server::log::log(format!("cron {} ok {ms:.1}ms", cron.name)),
                    Err(message) => server::log::log(format!("cron {} failed (rolled back): {}", cron.name, message)),
                }
                job.running.store(false, Ordering::Release);
            };
            if std::thread::Builder::new().name("dl-cron-run".into()).spawn(run).is_err() {
                server::log::log("cron run skipped: cannot start a thread");
            }
        }
    }
}

pub(super) fn utc_now() -> DateTime<Utc> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos()).unwrap_or_default()
}

/// Every run due after `from` and at or before `to` (milliseconds since
/// the epoch), of every cron in `schedules`, in time order (crons due at
/// one time in declaration order): `(time, cron index)`.
pub fn due_between(schedules: &[croner::Cron], from: i64, to: i64) -> Vec<(i64, usize)> {
    let mut due = Vec::new();
    for (index, schedule) in schedules.iter().enumerate() {
        let Some(mut at) = DateTime::from_timestamp_millis(from) else { continue };
        while let Ok(next) = schedule.find_next_occurrence(&at, false) {
            let ms = next.timestamp_millis();
            if ms > to {
                break;
            }
            due.push((ms, index));
            at = next;
        }
    }
    due.sort();
    due
}
