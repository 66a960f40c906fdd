//! The manifest: the infrastructure a program needs, inferred from its code
//! (routes and the stores each reads and writes, stores with their value
//! schemas, crons, secrets, CORS, tests). `dlc plan` prints it; the runtime and
//! the Workers target provision from it. Its JSON form is stable and
//! documented in `spec/manifest.md`.

use serde_json::{Value, json};

/// Bumped whenever the JSON form changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    pub routes: Vec<Route>,
    pub stores: Vec<Store>,
    pub crons: Vec<Cron>,
    pub secrets: Vec<String>,
    /// The origins `cors` allows (`["*"]`: any); empty without `cors`.
    pub cors: Vec<String>,
    pub tests: Vec<String>,
    /// Whether the program has `fn main()`.
    pub main: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// Names of `:param` and `*rest` segments, in path order.
    pub params: Vec<String>,
    pub effects: Effects,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Store {
    pub name: String,
    pub schema: Schema,
    /// In declaration order, which is each index's position.
    pub indexes: Vec<Index>,
}

/// `unique(field)` or `index(field)` on a store.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    pub field: String,
    pub unique: bool,
}

impl Store {
    /// The indexes as declared: `unique(email) index(author, tags)`.
    pub fn indexes_text(&self) -> String {
        let mut groups: Vec<(bool, Vec<&str>)> = Vec::new();
        for index in &self.indexes {
            match groups.last_mut() {
                Some((unique, fields)) if *unique == index.unique => fields.push(&index.field),
                _ => groups.push((index.unique, vec![&index.field])),
            }
        }
        let kind = |unique: bool| if unique { "unique" } else { "index" };
        groups.iter().map(|(unique, fields)| format!("{}({})", kind(*unique), fields.join(", "))).collect::<Vec<_>>().join(" ")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cron {
    pub name: String,
    pub schedule: String,
    pub effects: Effects,
}

/// The stores an entry point touches, directly or through the functions
/// it calls; each list sorted and free of repeats. A store that is written
/// is not also listed as read unless the code reads it too.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    pub reads: Vec<String>,
    pub writes: Vec<String>,
    /// The indexes it looks entries up by, as `store.field`.
    pub indexes: Vec<String>,
}

/// The shape of a stored value, as recorded with its data.
#[derive(Clone, Debug, PartialEq)]
pub enum Schema {
    Int,
    Float,
    Bool,
    String,
    Unit,
    List(Box<Schema>),
    Dict(Box<Schema>),
    Option(Box<Schema>),
    Result(Box<Schema>, Box<Schema>),
    Tuple(Vec<Schema>),
    Record { name: String, fields: Vec<(String, Schema)> },
    Enum { name: String, variants: Vec<(String, Vec<Schema>)> },
    /// A recursive occurrence of the named record or enum being described.
    Ref(String),
}

impl Schema {
    pub fn to_json(&self) -> Value {
        match self {
            Schema::Int => json!("Int"),
            Schema::Float => json!("Float"),
            Schema::Bool => json!("Bool"),
            Schema::String => json!("String"),
            Schema::Unit => json!("Unit"),
            Schema::List(t) => json!({ "List": t.to_json() }),
            Schema::Dict(t) => json!({ "Dict": t.to_json() }),
            Schema::Option(t) => json!({ "Option": t.to_json() }),
            Schema::Result(t, e) => json!({ "Result": [t.to_json(), e.to_json()] }),
            Schema::Tuple(ts) => json!({ "Tuple": ts.iter().map(Schema::to_json).collect::<Vec<_>>() }),
            Schema::Record { name, fields } => json!({
                "record": name,
                "fields": fields.iter().map(|(n, t)| json!({ "name": n, "type": t.to_json() })).collect::<Vec<_>>(),
            }),
            Schema::Enum { name, variants } => json!({
                "enum": name,
                "variants": variants
                    .iter()
                    .map(|(n, ts)| json!({ "name": n, "payload": ts.iter().map(Schema::to_json).collect::<Vec<_>>() }))
                    .collect::<Vec<_>>(),
            }),
            Schema::Ref(name) => json!({ "ref": name }),
        }
    }

    /// The schema written as a Distlang type (`List<Todo>`), for the table.
    pub fn type_name(&self) -> String {
        match self {
            Schema::Int => "Int".into(),
            Schema::Float => "Float".into(),
            Schema::Bool => "Bool".into(),
            Schema::String => "String".into(),
            Schema::Unit => "Unit".into(),
            Schema::List(t) => format!("List<{}>", t.type_name()),
            Schema::Dict(t) => format!("Dict<{}>", t.type_name()),
            Schema::Option(t) => format!("Option<{}>", t.type_name()),
            Schema::Result(t, e) => format!("Result<{}, {}>", t.type_name(), e.type_name()),
            Schema::Tuple(ts) => format!("({})", ts.iter().map(Schema::type_name).collect::<Vec<_>>().join(", ")),
            Schema::Record { name, .. } | Schema::Enum { name, .. } | Schema::Ref(name) => name.clone(),
        }
    }

    /// The schema spelled out one level deep: `{ title: String, done: Bool }`.
    pub fn describe(&self) -> String {
        match self {
            Schema::Record { name, fields } => {
                let fields: Vec<String> = fields.iter().map(|(n, t)| format!("{n}: {}", t.type_name())).collect();
                format!("{name} {{ {} }}", fields.join(", "))
            }
            Schema::Enum { name, variants } => {
                let variants: Vec<String> = variants
                    .iter()
                    .map(|(n, ts)| match ts.is_empty() {
                        true => n.clone(),
                        false => format!("{n}({})", ts.iter().map(Schema::type_name).collect::<Vec<_>>().join(", ")),
                    })
                    .collect();
                format!("{name} = {}", variants.join(" | "))
            }
            other => other.type_name(),
        }
    }
}

impl Manifest {
    /// The stable JSON form (`dlc plan --json`).
    pub fn to_json(&self) -> Value {
        let effects = |e: &Effects| (json!(e.reads), json!(e.writes), json!(e.indexes));
        json!({
            "version": FORMAT_VERSION,
            "routes": self.routes.iter().map(|r| {
                let (reads, writes, indexes) = effects(&r.effects);
                json!({ "method": r.method, "path": r.path, "params": r.params, "reads": reads, "writes": writes, "indexes": indexes })
            }).collect::<Vec<_>>(),
            "stores": self.stores.iter().map(|s| json!({
                "name": s.name,
                "schema": s.schema.to_json(),
                "indexes": s.indexes.iter().map(|i| json!({ "field": i.field, "unique": i.unique })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "crons": self.crons.iter().map(|c| {
                let (reads, writes, indexes) = effects(&c.effects);
                json!({ "name": c.name, "schedule": c.schedule, "reads": reads, "writes": writes, "indexes": indexes })
            }).collect::<Vec<_>>(),
            "secrets": self.secrets,
            "cors": self.cors,
            "tests": self.tests,
            "main": self.main,
        })
    }

    /// The human-readable form (`dlc plan`): one aligned table per section.
    pub fn to_table(&self) -> String {
        let list = |xs: &[String]| if xs.is_empty() { "-".to_string() } else { xs.join(", ") };
        // Reads list the indexes read too: `users, users.by_email`.
        let reads = |e: &Effects| {
            let by = e.indexes.iter().map(|i| i.replacen('.', ".by_", 1));
            list(&e.reads.iter().cloned().chain(by).collect::<Vec<_>>())
        };
        let mut out = String::new();
        let routes: Vec<Vec<String>> = self
            .routes
            .iter()
            .map(|r| vec![r.method.clone(), r.path.clone(), reads(&r.effects), list(&r.effects.writes)])
            .collect();
        section(&mut out, "Routes", &["METHOD", "PATH", "READS", "WRITES"], &routes);
        let indexed = self.stores.iter().any(|s| !s.indexes.is_empty());
        let stores: Vec<Vec<String>> = self
            .stores
            .iter()
            .map(|s| {
                let mut row = vec![s.name.clone(), s.schema.describe()];
                if indexed {
                    row.push(if s.indexes.is_empty() { "-".to_string() } else { s.indexes_text() });
                }
                row
            })
            .collect();
        let header: &[&str] = if indexed { &["NAME", "VALUE", "INDEXES"] } else { &["NAME", "VALUE"] };
        section(&mut out, "Stores", header, &stores);
        let crons: Vec<Vec<String>> = self
            .crons
            .iter()
            .map(|c| vec![c.name.clone(), c.schedule.clone(), reads(&c.effects), list(&c.effects.writes)])
            .collect();
        section(&mut out, "Crons", &["NAME", "SCHEDULE (UTC)", "READS", "WRITES"], &crons);
        let secrets: Vec<Vec<String>> = self.secrets.iter().map(|s| vec![s.clone()]).collect();
        section(&mut out, "Secrets", &["NAME"], &secrets);
        match self.cors.as_slice() {
            [] => {}
            [any] if any == "*" => out.push_str("CORS: any origin (*); preflight answered on every route path\n\n"),
            origins => out.push_str(&format!("CORS: {}; preflight answered on every route path\n\n", origins.join(", "))),
        }
        let tests: Vec<Vec<String>> = self.tests.iter().map(|t| vec![t.clone()]).collect();
        section(&mut out, "Tests", &["NAME"], &tests);
        if self.main {
            out.push_str("Main: fn main() runs once at start-up\n");
        }
        if out.is_empty() {
            out.push_str("Nothing to provision: no routes, stores, crons, secrets, tests or main.\n");
        }
        out
    }
}

fn section(out: &mut String, title: &str, header: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("{title} ({})\n", rows.len()));
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(header.to_vec()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
}
