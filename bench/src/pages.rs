//! `dl-bench pages`: the newest page (20 entries) of a store, and a lookup
//! by a unique index, as the store grows from 10,000 to 1,000,000 entries,
//! served by an executable `dlc build` makes from `programs/pages.dl`
//! (`store.page`, `posts.by_slug`) and by Deno running `programs/pages.js`
//! (`kv.list` with `limit` and `reverse`; a secondary key written in the
//! same atomic commit), under wrk: whether both cost the same however large
//! the store, and how the two compare at each size.

use std::path::Path;
use std::process::Command;

use crate::http::{self, Load, LoadArgs, Server, Target, WrkResult};
use crate::{dlc, peers};

#[derive(clap::Args)]
pub struct Args {
    /// Store sizes at which the page is measured, ascending; the store is
    /// filled up to each in turn.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000u64, 100_000, 1_000_000])]
    sizes: Vec<u64>,
    #[command(flatten)]
    load: LoadArgs,
}

/// Posts inserted per `POST /fill` request (one transaction on Distlang's side).
const FILL_CHUNK: u64 = 5_000;

/// Goals: the page's throughput at the largest size within 2× of the
/// smallest's (flat in the store's size), and 3× Deno's at the largest.
const FLAT: f64 = 2.0;
const VERSUS_DENO: f64 = 3.0;

pub fn run(args: &Args) -> Result<(), String> {
    let opts = &args.load;
    let mut versions = vec![http::wrk_version(&opts.wrk)?];
    let dlc = dlc::locate(opts.dlc.as_deref())?;
    let bench = dlc::bench_dir()?;
    let out = bench.join("pages");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");

    let exe = out.join("pages-dl");
    http::build(&dlc, &programs.join("pages.dl"), &exe)?;
    let mut command = Command::new(&exe);
    command.arg("--port").arg("0").arg("--db").arg(http::fresh(&out, "dl.db")?);
    let mut servers = vec![Server::start("dl", command, &out.join("dl.stderr"))?];
    match peers::deno(&bench) {
        Ok(deno) => {
            versions.extend(peers::version(deno.as_os_str()));
            let command = http::deno_command(&deno, &programs.join("pages.js"), &out, &http::fresh(&out, "deno.sqlite")?);
            servers.push(Server::start("deno", command, &out.join("deno.stderr"))?);
        }
        Err(why) => println!("note: deno is left out: {why}"),
    }
    println!("peers: {}", versions.join("; "));
    println!("load average (1 min) before: {}", http::load_average());
    println!(
        "wrk: {} threads, {} connections, GET /newest and GET /slug/post-N for {} s each per size, server and round after {} s of warm-up",
        opts.threads, opts.connections, opts.duration, opts.warmup
    );

    let load = Load { opts, programs: &programs };
    let (newest, lookup) = (Target::Path("/newest".into()), Target::Script("lookup.lua"));
    // Per size: each server's rounds, of the page and of the lookup.
    let (mut pages, mut lookups): (Vec<Vec<Vec<WrkResult>>>, Vec<Vec<Vec<WrkResult>>>) = (vec![], vec![]);
    let mut stored = 0;
    for &size in &args.sizes {
        for server in &servers {
            fill(server, stored, size)?;
            check(server, size)?;
        }
        stored = size;
        pages.push(load.rounds(&servers, &newest, &format!("GET /newest ({size} posts)"), |_| String::new())?);
        lookups.push(load.rounds(&servers, &lookup, &format!("GET /slug/post-N ({size} posts)"), |_| size.to_string())?);
        for server in &servers {
            check(server, size)?;
        }
    }
    report("GET /newest: the newest 20", &servers, &args.sizes, &pages);
    report("GET /slug/post-N: one post by a unique index", &servers, &args.sizes, &lookups);
    println!("load average (1 min) after: {}", http::load_average());
    for server in servers {
        server.stop();
    }
    Ok(())
}

/// Inserts posts `from` to `to - 1`, `FILL_CHUNK` to a request.
fn fill(server: &Server, from: u64, to: u64) -> Result<(), String> {
    let mut at = from;
    while at < to {
        let n = FILL_CHUNK.min(to - at);
        let path = format!("/fill/{at}/{n}");
        match http::request(server.port, "POST", &path, "") {
            Ok((204, _)) => at += n,
            Ok((status, body)) => return Err(format!("{} server, POST {path}: {status} {body:?}", server.name)),
            Err(err) => return Err(format!("{} server, POST {path}: {err}", server.name)),
        }
    }
    Ok(())
}

/// The newest page holds 20 posts, the last inserted first, and the first
/// and last posts are found by their slugs: a server that answered anything
/// else would be timed doing something else.
fn check(server: &Server, size: u64) -> Result<(), String> {
    let get = |path: &str| {
        http::request(server.port, "GET", path, "").map_err(|err| format!("{} server, GET {path}: {err}", server.name))
    };
    let (status, body) = get("/newest")?;
    let posts: Vec<&str> = body.split("\"post ").skip(1).map(|p| p.split(' ').next().unwrap_or("")).collect();
    let newest: Vec<String> = (size.saturating_sub(20)..size).rev().map(|i| i.to_string()).collect();
    if status != 200 || posts != newest {
        let shown: String = body.chars().take(200).collect();
        return Err(format!("the {} server's newest page at {size} posts is {status} {shown:?}", server.name));
    }
    for n in [0, size - 1] {
        let (status, body) = get(&format!("/slug/post-{n}"))?;
        if status != 200 || !body.contains(&format!("\"post {n} ")) {
            return Err(format!("the {} server's post-{n} at {size} posts is {status} {body:?}", server.name));
        }
    }
    Ok(())
}

/// Per size, each server's median round on one route; then the goals.
fn report(route: &str, servers: &[Server], sizes: &[u64], results: &[Vec<Vec<WrkResult>>]) {
    println!("{route}");
    println!("req/s: wrk's requests per second, p50 / p99: latency in ms (each server's median round); dl/deno: median of the rounds' ratios");
    print!("{:>10}", "posts");
    for server in servers {
        print!("{:>12}{:>17}", format!("{} req/s", server.name), "p50 / p99");
    }
    println!("{}", if servers.len() > 1 { format!("{:>10}", "dl/deno") } else { String::new() });
    let mut ratios = vec![];
    for (size, rounds) in sizes.iter().zip(results) {
        print!("{size:>10}");
        for server_rounds in rounds {
            let r = http::median_by(server_rounds, |r| r.per_second);
            print!("{:>12.0}{:>17}", r.per_second, format!("{:.2} / {:.2}", http::ms(r.p50), http::ms(r.p99)));
        }
        if let [dl, deno] = rounds.as_slice() {
            let each: Vec<f64> = dl.iter().zip(deno).map(|(d, n)| d.per_second / n.per_second).collect();
            let ratio = *http::median_by(&each, |r| *r);
            ratios.push(ratio);
            print!("{:>10}", format!("{ratio:.2}x"));
        }
        println!();
    }
    let dl_rate = |rounds: &Vec<Vec<WrkResult>>| http::median_by(&rounds[0], |r| r.per_second).per_second;
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        let slowdown = dl_rate(first) / dl_rate(last);
        let verdict = if slowdown <= FLAT { "met" } else { "MISSED" };
        println!("dl: {slowdown:.2}x slower at {} posts than at {} (goal: within {FLAT:.0}x): {verdict}", sizes[sizes.len() - 1], sizes[0]);
    }
    if let Some(ratio) = ratios.last() {
        let verdict = if *ratio >= VERSUS_DENO { "met" } else { "MISSED" };
        println!("dl/deno at {} posts: {ratio:.2}x (goal: at least {VERSUS_DENO:.0}x): {verdict}", sizes[sizes.len() - 1]);
    }
}
