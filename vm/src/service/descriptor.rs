//! The program as the compiler describes it: the service descriptor
//! (layout: vm/README.md) decoded once, at load.

use crate::server::Method;
use crate::store::{IndexSpec, StoreSpec};
use dl_abi::descriptor::{INDEX_EACH, INDEX_UNIQUE};
use crate::types::{self, Types};
use crate::value::{List, Str, Word, str_bytes};

/// What compiled code calls: a route, `(params, request) -> Response`.
pub type RouteCode = extern "C" fn(*mut List, Word) -> Word;
/// A cron, a test or `main`, `() -> Unit`.
pub type UnitCode = extern "C" fn() -> Word;

pub struct Route {
    pub method: Method,
    pub path: String,
    pub code: RouteCode,
    pub access: Access,
}

pub struct Cron {
    pub name: String,
    pub schedule: String,
    pub code: UnitCode,
    pub access: Access,
}

pub struct Test {
    pub name: String,
    pub code: UnitCode,
}

/// A compiled program, as loaded: its types and entry points.
pub struct Program {
    pub types: &'static Types,
    pub main: Option<UnitCode>,
    pub routes: Vec<Route>,
    pub crons: Vec<Cron>,
    pub stores: Vec<StoreSpec>,
    pub secrets: Vec<String>,
    pub tests: Vec<Test>,
    /// The origins of `cors`.
    pub cors: Cors,
}

pub use crate::server::Cors;

pub use dl_abi::Access;

impl Program {
    /// Whether it needs the server runtime (routes, crons, stores or
    /// secrets), rather than only running `main`.
    pub fn is_service(&self) -> bool {
        !(self.routes.is_empty() && self.crons.is_empty() && self.stores.is_empty() && self.secrets.is_empty())
    }

    /// Decodes a program from its types and descriptor.
    ///
    /// # Safety
    /// `words` is a descriptor as the compiler emits it for the program of
    /// `types`, whose code stays mapped for as long as the program is used.
    pub unsafe fn load(types: &'static Types, words: *const u64) -> Program {
        // SAFETY: the caller's contract: counts, `main`, then the entries.
        unsafe {
            let mut at = words;
            let mut next = || {
                let word = *at;
                at = at.add(1);
                word
            };
            let text = |word: u64| String::from_utf8_lossy(str_bytes(word as *const Str)).into_owned();
            let (n_routes, n_crons, n_stores, n_secrets, n_tests) = (next(), next(), next(), next(), next());
            let main = match next() {
                0 => None,
                code => Some(std::mem::transmute::<usize, UnitCode>(code as usize)),
            };
            let (n_origins, n_indexes) = (next(), next());
            let mut routes = Vec::new();
            for _ in 0..n_routes {
                let (method, path, code, access) = (text(next()), text(next()), next(), Access::from_word(next()));
                let method = Method::parse(&method).unwrap_or(Method::Get);
                routes.push(Route { method, path, code: std::mem::transmute::<usize, RouteCode>(code as usize), access });
            }
            let mut crons = Vec::new();
            for _ in 0..n_crons {
                let (name, schedule, code, access) = (text(next()), text(next()), next(), Access::from_word(next()));
                crons.push(Cron { name, schedule, code: std::mem::transmute::<usize, UnitCode>(code as usize), access });
            }
            let mut stores = Vec::new();
            for _ in 0..n_stores {
                let (name, value) = (text(next()), next() as types::TypeIdx);
                stores.push(StoreSpec { name, value, indexes: Vec::new() });
            }
            let secrets = (0..n_secrets).map(|_| text(next())).collect();
            let mut tests = Vec::new();
            for _ in 0..n_tests {
                let (name, code) = (text(next()), next());
                tests.push(Test { name, code: std::mem::transmute::<usize, UnitCode>(code as usize) });
            }
            let cors = Cors::new((0..n_origins).map(|_| text(next())).collect());
            for _ in 0..n_indexes {
                let (store, field, slot, key, flags) = (next(), text(next()), next(), next(), next());
                let key = dl_abi::TypeTag::from_word(key as u32).unwrap_or(dl_abi::TypeTag::String);
                let (unique, each) = (flags & INDEX_UNIQUE != 0, flags & INDEX_EACH != 0);
                if let Some(store) = stores.get_mut(store as usize) {
                    store.indexes.push(IndexSpec { field, slot: slot as usize, key, unique, each });
                }
            }
            Program { types, main, routes, crons, stores, secrets, tests, cors }
        }
    }
}
