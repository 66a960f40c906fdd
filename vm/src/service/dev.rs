//! `dlc serve`: one server whose program is replaced while it serves (a
//! reload). The listening socket and the open store file stay; a request
//! finishes on the version it began with, and the next goes to the new one.
//! `dlc` compiles each version into its own process and hands it here.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::dashboard::{Dashboard, Info};
use super::descriptor::{Access, Program};
use super::instance::Instance;
use super::scheduler::{self, Scheduler};
use super::serve::{Runners, site_with};
use crate::output;
use crate::server::{self, ServerConfig, Sites};
use crate::store::Stores;

/// A program being served, replaced by `reload`.
pub struct DevServer {
    sites: Arc<Sites>,
    db: PathBuf,
    /// The store file, once a version declares a store: every later
    /// version reopens it (`Stores::reopen`).
    stores: Mutex<Option<Stores>>,
    /// The version serving now (its crons run on their schedule).
    current: Mutex<Version>,
    pub dashboard: Arc<Dashboard>,
}

struct Version {
    runners: Arc<Runners>,
    /// Its crons on their schedule, once it serves.
    crons: Option<Scheduler>,
}

impl DevServer {
    /// Starts `program` on the store file `db`: its stores checked, `main`
    /// run once, its crons on their schedule. `keep` is what its code needs
    /// alive (dropped once no request or cron run uses this version).
    pub fn start(program: Arc<Program>, secrets: Vec<String>, db: PathBuf, keep: Box<dyn Any + Send + Sync>, info: Info) -> Result<DevServer, String> {
        let stores = Mutex::new(None);
        let dashboard = Dashboard::new(info);
        let (mut version, site, _) = Self::version(&stores, &db, &dashboard, program, secrets, keep)?;
        version.crons = Some(scheduler::start(&version.runners)?);
        let runners = Arc::clone(&version.runners);
        let dev = DevServer { sites: Sites::new(site), db, stores, current: Mutex::new(version), dashboard };
        if let Some(main) = runners.instance.program.main {
            runners.run_unit(main, Access::Writes).map_err(|message| {
                output::flush();
                runners.instance.redact(&message)
            })?;
        }
        Ok(dev)
    }

    /// Serves `program` from now on, if its stores are compatible with the
    /// file (else `Err` says why, and the old version goes on serving,
    /// the file unchanged). `main` does not run again.
    pub fn reload(&self, program: Arc<Program>, secrets: Vec<String>, keep: Box<dyn Any + Send + Sync>, info: Info) -> Result<(), String> {
        let (mut version, site, opened) = Self::version(&self.stores, &self.db, &self.dashboard, program, secrets, keep)?;
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        // The old crons stop before the new ones start: no cron runs twice at one time.
        current.crons.take();
        match scheduler::start(&version.runners) {
            Ok(crons) => version.crons = Some(crons),
            Err(message) => {
                current.crons = scheduler::start(&current.runners).ok();
                return Err(message);
            }
        }
        let old = std::mem::replace(&mut *current, version);
        self.sites.replace(site);
        self.dashboard.served(info);
        if let Some(stores) = opened {
            // The old version's last writes did not keep the indexes this
            // one built: once its writer is done with them, they are built
            // again (`rebuild` does nothing when there are none).
            let old = Arc::clone(&old.runners);
            std::thread::spawn(move || {
                let _ = old.run(Access::Writes, || Ok(()));
                drop(old);
                if let Err(e) = stores.rebuild() {
                    server::log::log(format!("error: {}; restart dlc serve to build the index again", e.message));
                }
            });
        }
        Ok(())
    }

    /// A version of the program: its instance on the store file, its
    /// invocation threads and its site (its crons start when it serves),
    /// and its stores.
    fn version(
        stores: &Mutex<Option<Stores>>,
        db: &Path,
        dashboard: &Arc<Dashboard>,
        program: Arc<Program>,
        secrets: Vec<String>,
        keep: Box<dyn Any + Send + Sync>,
    ) -> Result<(Version, server::Site, Option<Stores>), String> {
        let opened = if program.stores.is_empty() {
            None
        } else {
            let mut file = stores.lock().unwrap_or_else(|p| p.into_inner());
            let opened = match &*file {
                Some(open) => open.reopen(&program.stores, program.types),
                None => Stores::open(db, &program.stores, program.types),
            };
            let opened = opened.map_err(|e| format!("{}: {}", db.display(), e.message))?;
            file.get_or_insert_with(|| opened.clone());
            Some(opened)
        };
        let instance = Arc::new(Instance::with_stores(program, secrets, opened.clone(), Some(keep)));
        let runners = Arc::new(Runners::new(instance).map_err(|e| format!("cannot start the invocation threads: {e}"))?);
        let site = site_with(Arc::clone(&runners), dashboard.extra(&runners))?;
        Ok((Version { runners, crons: None }, site, opened))
    }

    /// Serves on `listener` until SIGTERM or SIGINT: the exit status.
    pub fn serve(&self, listener: std::net::TcpListener, config: ServerConfig) -> i32 {
        match server::serve_sites(listener, config, Arc::clone(&self.sites), server::signal_shutdown()) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("error: {err}");
                1
            }
        }
    }
}
