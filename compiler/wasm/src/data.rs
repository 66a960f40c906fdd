//! Static data: one image of linear memory, from [`BASE`] up, holding the
//! string literals as `Str` objects (`dl_abi::layout`), the type table, the
//! closure objects of top-level functions and a service's descriptor. The
//! heap starts after it.

use std::collections::HashMap;

use dl_abi::layout::STR_BYTES;
use dlc_core::ir::DescriptorWord;
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
    let words: Vec<u64> = linker
        .program
        .descriptor()
        .into_iter()
        .map(|word| match word {
            DescriptorWord::Int(n) => n,
            DescriptorWord::Text(text) => u64::from(linker.data.string(text)),
            DescriptorWord::Code(func) => {
                let index = linker.function_index(Part::Program, func);
                u64::from(linker.table_slot(index))
            }
        })
        .collect();
    linker.data.words(&words)
}
