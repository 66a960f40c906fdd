//! Static data: one image of linear memory, from [`BASE`] up, holding the
//! string literals as `Str` objects (`dl_abi::layout`), the type table, the
//! closure objects of top-level functions and a service's descriptor. The
//! heap starts after it.

use std::collections::HashMap;

use dl_abi::layout::STR_BYTES;
use wasm_encoder::{ConstExpr, DataSection};

use crate::{Linker, Part};

/// The runtime's state words (`Mem.state()`): address 0 stays unused, so
/// that no object is ever at "null"; the state follows it.
pub const STATE: u32 = 8;
const STATE_WORDS: u32 = 4;

/// Where the image starts.
pub const BASE: u32 = STATE + 8 * STATE_WORDS;

pub struct Data {
    bytes: Vec<u8>,
    strings: HashMap<String, u32>,
}

impl Data {
    pub fn new() -> Data {
        Data { bytes: Vec::new(), strings: HashMap::new() }
    }

    /// The address after the last byte.
    pub fn end(&self) -> u32 {
        BASE + self.bytes.len() as u32
    }

    /// Appends 8-aligned bytes; their address.
    fn push(&mut self, bytes: &[u8]) -> u32 {
        self.bytes.resize(self.bytes.len().next_multiple_of(8), 0);
        let address = self.end();
        self.bytes.extend_from_slice(bytes);
        address
    }

    pub fn words(&mut self, words: &[u64]) -> u32 {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.push(&bytes)
    }

    pub fn u32s(&mut self, words: &[u32]) -> u32 {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.push(&bytes)
    }

    /// A static `Str` `[len, ptr = self + 24, buf = 0, bytes…]`, one per text.
    pub fn string(&mut self, text: &str) -> u32 {
        if let Some(&address) = self.strings.get(text) {
            return address;
        }
        let address = self.end().next_multiple_of(8);
        let mut bytes = Vec::with_capacity(STR_BYTES as usize + text.len());
        bytes.extend((text.len() as u64).to_le_bytes());
        bytes.extend(u64::from(address + STR_BYTES).to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        bytes.extend(text.as_bytes());
        let at = self.push(&bytes);
        debug_assert_eq!(at, address);
        self.strings.insert(text.to_string(), address);
        address
    }

    /// The image as one active segment at [`BASE`].
    pub fn section(&self) -> DataSection {
        let mut section = DataSection::new();
        section.active(0, &ConstExpr::i32_const(BASE as i32), self.bytes.iter().copied());
        section
    }
}

/// The descriptor of a service, as native's (`dl_abi::descriptor`, read by
/// the Workers host): words, counts first, then the entries; texts are
/// `Str` addresses, code words table slots (0: none).
pub fn service_descriptor(linker: &mut Linker) -> u32 {
    let program = linker.program;
    let mut words = vec![
        program.routes.len() as u64,
        program.crons.len() as u64,
        program.stores.len() as u64,
        program.secrets.len() as u64,
        program.tests.len() as u64,
    ];
    words.push(program.main.map_or(0, |main| code(linker, main)));
    for r in &program.routes {
        words.extend([text(linker, &r.method), text(linker, &r.path), code(linker, r.func), r.access as u64]);
    }
    for c in &program.crons {
        words.extend([text(linker, &c.name), text(linker, &c.schedule), code(linker, c.func), c.access as u64]);
    }
    for s in &program.stores {
        words.extend([text(linker, &s.name), u64::from(s.value.0)]);
    }
    for name in &program.secrets {
        words.push(text(linker, name));
    }
    for t in &program.tests {
        words.extend([text(linker, &t.name), code(linker, t.func)]);
    }
    linker.data.words(&words)
}

fn code(linker: &mut Linker, func: dlc_core::ir::FuncIdx) -> u64 {
    let index = linker.function_index(Part::Program, func);
    u64::from(linker.table_slot(index))
}

fn text(linker: &mut Linker, text: &str) -> u64 {
    u64::from(linker.data.string(text))
}
