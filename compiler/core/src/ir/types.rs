//! The program's concrete types, interned, and their encoding as the type
//! table the runtime reads (format in `vm/README.md`).

use std::collections::HashMap;

use dl_abi::TypeTag;

use super::Repr;
use crate::check::types::{Type, TypeDefKind, TypeDefs};

/// Index of a concrete type in the [`TypeTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeIdx(pub u32);

#[derive(Debug, Default)]
pub struct TypeTable {
    types: Vec<Type>,
    names: Vec<String>,
    index: HashMap<String, TypeIdx>,
}

impl TypeTable {
    /// The index of a concrete type (no parameters or variables), added on
    /// first use.
    pub fn intern(&mut self, ty: &Type, defs: &TypeDefs) -> TypeIdx {
        let key = format!("{ty:?}");
        if let Some(&idx) = self.index.get(&key) {
            return idx;
        }
        let idx = TypeIdx(self.types.len() as u32);
        self.types.push(ty.clone());
        self.names.push(defs.show(ty));
        self.index.insert(key, idx);
        idx
    }

    pub fn get(&self, idx: TypeIdx) -> &Type {
        &self.types[idx.0 as usize]
    }

    /// The type as the programmer writes it (`List<Int>`).
    pub fn name(&self, idx: TypeIdx) -> &str {
        &self.names[idx.0 as usize]
    }

    pub fn repr(&self, idx: TypeIdx) -> Repr {
        match self.get(idx) {
            Type::Float => Repr::Float,
            _ => Repr::Word,
        }
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The table as the runtime reads it. Encoding a record or enum interns
    /// its field types, so the table may grow while it is encoded.
    pub fn encode(&mut self, defs: &TypeDefs) -> Vec<u32> {
        let mut entries: Vec<Vec<u32>> = Vec::new();
        let mut i = 0;
        while i < self.types.len() {
            let ty = self.types[i].clone();
            let mut entry = Vec::new();
            match &ty {
                Type::Int => entry.push(TypeTag::Int as u32),
                Type::Float => entry.push(TypeTag::Float as u32),
                Type::Bool => entry.push(TypeTag::Bool as u32),
                Type::String => entry.push(TypeTag::String as u32),
                Type::List(elem) => entry.extend([TypeTag::List as u32, self.intern(elem, defs).0]),
                Type::Dict(value) => entry.extend([TypeTag::Dict as u32, self.intern(value, defs).0]),
                Type::Tuple(items) => {
                    entry.extend([TypeTag::Tuple as u32, items.len() as u32]);
                    for item in items {
                        entry.push(self.intern(item, defs).0);
                    }
                }
                Type::Named(id, args) => {
                    let def = defs.get(*id);
                    match &def.kind {
                        TypeDefKind::Record(fields) => {
                            entry.push(TypeTag::Record as u32);
                            push_name(&mut entry, &def.name);
                            entry.push(fields.len() as u32);
                            for (name, field) in fields {
                                push_name(&mut entry, name);
                                entry.push(self.intern(&field.instantiate(args), defs).0);
                            }
                            // After the fields, so readers that need no JSON skip them;
                            // a default is its JSON text, none the empty name.
                            for (name, _) in fields {
                                push_name(&mut entry, def.json_key(name));
                            }
                            for (name, _) in fields {
                                push_name(&mut entry, def.default(name).map_or("", |d| &d.json));
                            }
                        }
                        TypeDefKind::Enum(variants) => {
                            entry.push(TypeTag::Enum as u32);
                            push_name(&mut entry, &def.name);
                            entry.push(variants.len() as u32);
                            for (name, payload) in variants {
                                push_name(&mut entry, name);
                                entry.push(payload.len() as u32);
                                for field in payload {
                                    entry.push(self.intern(&field.instantiate(args), defs).0);
                                }
                            }
                        }
                    }
                }
                Type::Fn(..) => entry.push(TypeTag::Function as u32),
                // Stores are never values; the checker leaves no others.
                Type::Store(_) | Type::Param(..) | Type::Var(_) | Type::Error => entry.extend([TypeTag::Tuple as u32, 0]),
            }
            entries.push(entry);
            i += 1;
        }
        let count = entries.len();
        let mut table = vec![count as u32];
        let mut offset = 1 + count;
        for entry in &entries {
            table.push(offset as u32);
            offset += entry.len();
        }
        for entry in entries {
            table.extend(entry);
        }
        table
    }
}

fn push_name(out: &mut Vec<u32>, name: &str) {
    out.push(name.len() as u32);
    for chunk in name.as_bytes().chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        out.push(u32::from_le_bytes(word));
    }
}
