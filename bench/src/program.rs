//! A deterministic, realistic Distlang program of a given size: units of
//! types, records, enums, generic functions, matches, lambdas, pipes,
//! routes, stores, crons, secrets and tests, written against the brief.
//!
//! Each unit is one of a few templates with its names numbered: in a
//! template `#` is the unit's number, `$M` and `$H` a cron minute and hour.

/// An inventory: records, record updates, folds, lambdas, list patterns,
/// `Result` and `?`, `Dict`, tuples, `while`, every route method.
const INVENTORY: &str = r#"
// ── unit #: an inventory ──

type Item# = { id: String, name: String, qty: Int, price: Float, tags: List<String>, note: Option<String> }

type Event# = Created#(String) | Moved#(String, Int) | Priced#(Float) | Cleared#

type Summary# = { count: Int, total: Float, names: List<String> }

store items#: Item#

fn new_item#(name: String, qty: Int, price: Float) -> Item# {
  Item# { id: "", name: String.trim(name), qty, price, tags: [], note: None }
}

fn value#(item: Item#) -> Float {
  Int.to_float(item.qty) * item.price
}

fn total#(items: List<Item#>) -> Float {
  items |> List.fold(0.0, fn(acc: Float, it: Item#) { acc + value#(it) })
}

fn describe#(e: Event#) -> String {
  match e {
    Created#(name) => "created {name}",
    Moved#(name, n) if n > 100 => "moved {name} far",
    Moved#(name, n) => "moved {name} by {n}",
    Priced#(p) => "priced at {p}",
    Cleared# => "cleared",
  }
}

fn first_or#<T>(xs: List<T>, fallback: T) -> T {
  match xs {
    [] => fallback,
    [x, ..] => x,
  }
}

fn summarize#(items: List<Item#>) -> Summary# {
  let names = items |> List.map(fn(it: Item#) { it.name }) |> List.sort
  var count = 0
  for it in items {
    if it.qty > 0 {
      count = count + 1
    }
  }
  Summary# { count, total: total#(items), names }
}

fn tagged#(items: List<Item#>, tag: String) -> List<Item#> {
  List.filter(items, fn(it: Item#) { List.contains(it.tags, tag) })
}

fn restock#(item: Item#, n: Int) -> Item# {
  { ..item, qty: item.qty + n, note: Some("restocked {n}") }
}

fn parse_qty#(s: String) -> Result<Int, String> {
  match String.to_int(String.trim(s)) {
    Some(n) if n >= 0 => Ok(n),
    Some(n) => Err("negative quantity {n}"),
    None => Err("not a number: {s}"),
  }
}

fn scaled#(s: String, factor: Int) -> Result<Int, String> {
  let n = parse_qty#(s)?
  Ok(n * factor)
}

fn index#(items: List<Item#>) -> Dict<Item#> {
  var d = Dict.empty()
  for it in items {
    d = Dict.insert(d, it.id, it)
  }
  d
}

fn digits#(n: Int) -> Int {
  var k = Int.abs(n)
  var count = 1
  while k >= 10 {
    k = k / 10
    count = count + 1
  }
  count
}

fn busiest#(pairs: List<(String, Int)>) -> Option<String> {
  var best: Option<(String, Int)> = None
  for (name, n) in pairs {
    best = match best {
      Some((_, m)) if m >= n => best,
      _ => Some((name, n)),
    }
  }
  match best {
    Some((name, _)) => Some(name),
    None => None,
  }
}

route GET /u#/items {
  json(items#.values())
}

route GET /u#/items/:id {
  match items#.get(id) {
    Some(item) => json(item),
    None => status(404, "no item {id}"),
  }
}

route POST /u#/items {
  let input: Item# = request.json()?
  let id = items#.insert({ ..input, name: String.trim(input.name) })
  status(201, id)
}

route PUT /u#/items/:id {
  let input: Item# = request.json()?
  items#.set(id, { ..input, id })
  status(200, id)
}

route PATCH /u#/items/:id/restock/:n {
  match (items#.get(id), parse_qty#(n)) {
    (Some(item), Ok(k)) => {
      items#.set(id, restock#(item, k))
      json(k)
    }
    (None, _) => status(404, "no item {id}"),
    (_, Err(message)) => status(400, message),
  }
}

route DELETE /u#/items/:id {
  if items#.delete(id) { status(204, "") } else { status(404, "no item {id}") }
}

route GET /u#/summary {
  let s = summarize#(items#.values())
  let top = items#.values()
    |> List.sort_by(fn(it: Item#) { it.price })
    |> List.reverse
    |> List.take(3)
  text("{s.count} items worth {s.total}; top: {List.length(top)}")
}

cron sweep# "$M $H * * *" {
  for key in items#.keys() {
    match items#.get(key) {
      Some(item) => if item.qty == 0 { items#.delete(key) },
      None => (),
    }
  }
}

test "unit # totals" {
  let a = new_item#("a", 2, 1.5)
  let b = restock#(new_item#("b", 0, 2.0), 3)
  assert total#([a, b]) == 9.0
  assert describe#(Moved#("x", 5)) == "moved x by 5"
  assert first_or#([], 7) == 7
  assert scaled#(" 4 ", 3) == Ok(12)
  assert digits#(-1234) == 4
  assert busiest#([("a", 1), ("b", 3)]) == Some("b")
  assert Dict.size(index#([a, b])) == 1
}
"#;

/// Accounts: enums with payloads, `Result` chains, `?` in loops, nested
/// matches, tuple scrutinees, `return`, `@daily` crons.
const ACCOUNTS: &str = r#"
// ── unit #: accounts ──

type Limits# = { daily: Int, single: Int }

type Tx# = Deposit#(Int) | Withdraw#(Int) | Transfer#(String, Int) | Fee#

type TxError# = Insufficient#(Int) | OverLimit#(Int, Int) | Frozen#

type Account# = { owner: String, balance: Int, history: List<Tx#>, limits: Limits#, frozen: Bool }

store accounts#: Account#

fn open#(owner: String) -> Account# {
  Account# { owner, balance: 0, history: [], limits: Limits# { daily: 1_000, single: 500 }, frozen: false }
}

fn apply#(acc: Account#, tx: Tx#) -> Result<Account#, TxError#> {
  if acc.frozen {
    return Err(Frozen#)
  }
  let next = match tx {
    Deposit#(n) => acc.balance + n,
    Withdraw#(n) if n > acc.limits.single => return Err(OverLimit#(n, acc.limits.single)),
    Withdraw#(n) => acc.balance - n,
    Transfer#(_, n) => acc.balance - n,
    Fee# => acc.balance - 1,
  }
  if next < 0 {
    Err(Insufficient#(next))
  } else {
    Ok({ ..acc, balance: next, history: List.push(acc.history, tx) })
  }
}

fn apply_all#(acc: Account#, txs: List<Tx#>) -> Result<Account#, TxError#> {
  var current = acc
  for tx in txs {
    current = apply#(current, tx)?
  }
  Ok(current)
}

fn explain#(e: TxError#) -> String {
  match e {
    Insufficient#(n) => "balance would be {n}",
    OverLimit#(n, limit) => "{n} is over the limit of {limit}",
    Frozen# => "account frozen",
  }
}

fn deposits#(acc: Account#) -> Int {
  acc.history
    |> List.map(fn(tx: Tx#) { match tx { Deposit#(n) => n, _ => 0 } })
    |> List.sum
}

fn amount#(tx: Tx#) -> Int {
  match tx {
    Deposit#(n) => n,
    Withdraw#(n) => n,
    Transfer#(_, n) => n,
    Fee# => 1,
  }
}

fn largest#(acc: Account#) -> Option<Tx#> {
  let sorted = List.sort_by(acc.history, fn(tx: Tx#) { 0 - amount#(tx) })
  List.first(sorted)
}

route GET /accounts#/:owner {
  match accounts#.get(owner) {
    Some(acc) => json({ ..acc, history: List.take(acc.history, 10) }),
    None => status(404, "no account {owner}"),
  }
}

route POST /accounts#/:owner {
  if accounts#.has(owner) {
    status(409, "{owner} already has an account")
  } else {
    accounts#.set(owner, open#(owner))
    status(201, owner)
  }
}

route POST /accounts#/:owner/deposit/:amount {
  match (accounts#.get(owner), String.to_int(amount)) {
    (Some(acc), Some(n)) => match apply#(acc, Deposit#(n)) {
      Ok(next) => {
        accounts#.set(owner, next)
        json(next.balance)
      }
      Err(e) => status(409, explain#(e)),
    },
    (None, _) => status(404, "no account {owner}"),
    (_, None) => status(400, "bad amount {amount}"),
  }
}

route PATCH /accounts#/:owner/limits {
  let limits: Limits# = request.json()?
  match accounts#.get(owner) {
    Some(acc) => {
      accounts#.set(owner, { ..acc, limits })
      status(200, "ok")
    }
    None => status(404, "no account {owner}"),
  }
}

route GET /accounts#/:owner/largest {
  let found = accounts#.get(owner) |> Option.map(largest#)
  match found {
    Some(Some(tx)) => json(amount#(tx)),
    Some(None) => status(204, ""),
    None => status(404, "no account {owner}"),
  }
}

cron fees# "@daily" {
  for (owner, acc) in accounts#.entries() {
    match apply#(acc, Fee#) {
      Ok(next) => accounts#.set(owner, next),
      Err(_) => (),
    }
  }
}

test "accounts # apply" {
  let acc = { ..open#("ann"), balance: 10 }
  assert apply#(acc, Withdraw#(5)) |> Result.is_ok
  assert apply#(acc, Withdraw#(600)) == Err(OverLimit#(600, 500))
  assert (apply_all#(acc, [Deposit#(5), Fee#]) |> Result.map(fn(a: Account#) { a.balance })) == Ok(14)
  assert explain#(Insufficient#(-3)) == "balance would be -3"
  assert deposits#({ ..acc, history: [Deposit#(2), Fee#, Deposit#(3)] }) == 5
}
"#;

/// Documents: strings, `Dict`, generic higher-order functions, recursive
/// enums, `*rest` paths, headers, queries, html and redirects.
const DOCUMENTS: &str = r#"
// ── unit #: documents ──

type Doc# = { title: String, body: String, words: Int }

type Query# = Word#(String) | Prefix#(String) | Both#(Query#, Query#)

store docs#: Doc#

fn tokenize#(s: String) -> List<String> {
  s
    |> String.lower
    |> String.split(" ")
    |> List.map(String.trim)
    |> List.filter(fn(w) { !String.is_empty(w) })
}

fn matches#(q: Query#, words: List<String>) -> Bool {
  match q {
    Word#(w) => List.contains(words, w),
    Prefix#(p) => List.any(words, fn(w) { String.starts_with(w, p) }),
    Both#(a, b) => matches#(a, words) && matches#(b, words),
  }
}

fn counts#(words: List<String>) -> Dict<Int> {
  List.fold(words, Dict.empty(), fn(d: Dict<Int>, w: String) {
    Dict.insert(d, w, Option.unwrap_or(Dict.get(d, w), 0) + 1)
  })
}

fn top#(words: List<String>, n: Int) -> List<(String, Int)> {
  let d = counts#(words)
  Dict.keys(d)
    |> List.map(fn(k) { (k, Dict.get(d, k) |> Option.unwrap_or(0)) })
    |> List.sort_by(fn(pair: (String, Int)) {
      let (_, c) = pair
      0 - c
    })
    |> List.take(n)
}

fn title_case#(s: String) -> String {
  let words = String.split(s, " ") |> List.map(fn(w) {
    match String.chars(w) {
      [] => "",
      [first, ..rest] => String.upper(first) ++ String.join(rest, ""),
    }
  })
  String.join(words, " ")
}

fn longest#<T>(xs: List<T>, size: fn(T) -> Int) -> Option<T> {
  var best = None
  var best_size = -1
  for x in xs {
    let n = size(x)
    if n > best_size {
      best = Some(x)
      best_size = n
    }
  }
  best
}

fn pairs#<A, B>(xs: List<A>, ys: List<B>) -> List<(A, B)> {
  List.zip(xs, ys)
}

fn numbered#(lines: List<String>) -> String {
  List.enumerate(lines)
    |> List.map(fn(p: (Int, String)) {
      let (i, line) = p
      "{i + 1}. {line}"
    })
    |> String.join("\n")
}

route GET /docs#/search {
  let q = request.query("q") |> Option.unwrap_or("")
  let words = tokenize#(q)
  let found = docs#.values() |> List.filter(fn(d: Doc#) {
    List.all(words, fn(w) { String.contains(String.lower(d.body), w) })
  })
  json(found |> List.map(fn(d: Doc#) { d.title }))
}

route GET /docs#/:id {
  match docs#.get(id) {
    Some(d) => html("<h1>{title_case#(d.title)}</h1><p>{d.body}</p>"),
    None => redirect("/docs#/search"),
  }
}

route GET /docs#/:id/top/*rest {
  match docs#.get(id) {
    Some(d) => json(top#(tokenize#(d.body), String.to_int(rest) |> Option.unwrap_or(5))),
    None => status(404, "no doc {id}"),
  }
}

route POST /docs# {
  let input: Doc# = request.json()?
  let doc = { ..input, words: List.length(tokenize#(input.body)) }
  let id = docs#.insert(doc)
  with_header(status(201, id), "location", "/docs#/{id}")
}

route GET /docs#/prefix/:p {
  let titles = docs#.prefix(p) |> List.map(fn(e: (String, Doc#)) {
    let (_, d) = e
    d.title
  })
  text(numbered#(titles))
}

cron reindex# "$M $H * * 1" {
  for (id, d) in docs#.entries() {
    let n = List.length(tokenize#(d.body))
    if n != d.words {
      docs#.set(id, { ..d, words: n })
    }
  }
}

test "docs # tokenize and rank" {
  assert tokenize#("  Hello  World ") == ["hello", "world"]
  assert title_case#("hello world") == "Hello World"
  assert matches#(Both#(Word#("a"), Prefix#("b")), ["a", "bc"])
  assert longest#(["a", "abc", "ab"], String.length) == Some("abc")
  assert List.length(top#(["a", "b", "a"], 1)) == 1
  assert pairs#([1, 2], ["x"]) == [(1, "x")]
  assert numbered#(["a", "b"]) == "1. a\n2. b"
}
"#;

/// Every tenth unit also has a secret and a route guarded by it.
const SECRET: &str = r#"
secret TOKEN_#

route GET /admin#/ping {
  match request.header("authorization") {
    Some(h) if h == "Bearer {TOKEN_#}" => text("pong"),
    _ => status(401, "unauthorized"),
  }
}
"#;

/// The program: units until it has at least `lines` lines.
pub fn generate(lines: usize) -> String {
    let mut out = String::from("// Generated by `dl-bench check`: a large program for timing `dlc check`.\n");
    let templates = [INVENTORY, ACCOUNTS, DOCUMENTS];
    let mut unit = 0;
    while out.lines().count() < lines {
        let mut text = templates[unit % templates.len()].to_string();
        if unit % 10 == 9 {
            text.push_str(SECRET);
        }
        let text = text
            .replace('#', &unit.to_string())
            .replace("$M", &((unit * 7) % 60).to_string())
            .replace("$H", &((unit * 5) % 24).to_string());
        out.push_str(&text);
        unit += 1;
    }
    out
}
