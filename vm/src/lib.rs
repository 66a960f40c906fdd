//! The Distlang runtime: values and memory, the `extern fn`s of `stdlib/`,
//! runtime errors and the process entry point (README.md is the ABI).
//!
//! Every `#[no_mangle] extern "C"` function here is part of that ABI. The
//! Rust-side API (`region::reset`, `types::install`, `dict`, `json::decode`…)
//! is for the REPL and the server to come.
//!
//! | module | owns |
//! |---|---|
//! | `region` | the per-invocation bump allocator, `dl_alloc` |
//! | `value` | `Str`, `List`, enum and closure layouts, making values |
//! | `types` | the type table |
//! | `string`, `list`, `dict`, `num` | `dl_str_concat`, `dl_list_*`, the `String`/`List`/`Dict`/`Int`/`Float` externs |
//! | `compare`, `format`, `json` | `dl_eq`/`dl_cmp`, `dl_format_into`, `Json` |
//! | `sort` | the stable merge sort they share |
//! | `output`, `error`, `entry`, `time` | `print`/`debug`, `dl_fail` and the invocation boundary, `dl_run_main`, `Time`/`Id` |
//! | `service` | programs as instances: `dl_run_program`, serving, crons, stores, `dlc test` |
//! | `pool` | where invocations run: the pool of invocation threads, or inline on an async thread |
//! | `stack` | invocation stacks, aligned so that compiled code checks them with a mask |
//! | `symbols` | every ABI function by name, for a host that compiles programs in-process |

pub mod compare;
pub mod crypto;
pub mod dict;
pub mod entry;
pub mod error;
pub mod format;
pub mod json;
pub mod list;
pub mod num;
pub mod output;
pub mod pool;
pub mod region;
pub mod server;
pub mod service;
pub mod sort;
pub mod stack;
pub mod store;
pub mod string;
pub mod symbols;
pub mod time;
pub mod types;
pub mod value;

pub use value::{List, Str, Word};
