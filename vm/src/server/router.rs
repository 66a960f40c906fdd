//! The route table: matches a request's method and path to a declared route.
//!
//! Matching rules (README.md, "Server", is the user-facing statement):
//!
//! - The path (without its query; it must start with `/`) is split on `/`; **empty segments are
//!   ignored**, so `/todos/`, `//todos` and `/todos` are the same path and a
//!   parameter is never empty. Each segment is then percent-decoded (`%2F`
//!   inside a segment is a `/` in that segment's value, not a separator; a
//!   `%` not followed by two hex digits stays as it is; bytes that are not
//!   UTF-8 become U+FFFD). `.` and `..` are ordinary segments.
//! - At each position a static segment is tried first, then a parameter,
//!   then a `*rest`; when a choice leads nowhere the next one is tried
//!   (backtracking), so the most specific route that matches wins. A path
//!   that ends exactly where a route ends beats a `*rest` that would match
//!   it with an empty rest.
//! - `*rest` (last segment only) matches the remaining segments, possibly
//!   none, joined with `/`.
//! - Matching is per method: `POST /a/b` may match `POST /a/:x` although a
//!   `GET /a/b` exists. `HEAD` matches the `GET` routes. A path that some
//!   route matches with another method gives the allowed methods (sorted;
//!   `HEAD` listed wherever `GET` is); a path no route matches is not found.

use std::collections::HashMap;
use std::fmt;

/// The methods a route can be declared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The declarable method named exactly `s` (methods are case-sensitive).
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One segment of a route's path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Must equal the (percent-decoded) path segment.
    Static(String),
    /// `:name` — any one non-empty segment.
    Param(String),
    /// `*name` — the rest of the path, possibly empty; last segment only.
    Rest(String),
}

/// A declared route: `route METHOD /path/:param/*rest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    pub segments: Vec<Segment>,
}

impl RouteSpec {
    /// Parses the route syntax `/a/:param/*rest` (`/` alone is the root).
    /// Empty segments are ignored, as they are in request paths.
    pub fn parse(method: Method, pattern: &str) -> Result<RouteSpec, String> {
        if !pattern.starts_with('/') {
            return Err(format!("route path '{pattern}' must start with '/'"));
        }
        let segments = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if let Some(name) = s.strip_prefix(':') {
                    Segment::Param(name.to_string())
                } else if let Some(name) = s.strip_prefix('*') {
                    Segment::Rest(name.to_string())
                } else {
                    Segment::Static(s.to_string())
                }
            })
            .collect();
        let spec = RouteSpec { method, segments };
        spec.validate()?;
        Ok(spec)
    }

    /// The names of the parameters, in the order `Match::Found` gives their values.
    pub fn param_names(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Static(_) => None,
                Segment::Param(n) | Segment::Rest(n) => Some(n.as_str()),
            })
            .collect()
    }

    fn validate(&self) -> Result<(), String> {
        let mut names: Vec<&str> = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Static(s) => {
                    if s.is_empty() || s.contains('/') {
                        return Err(format!("{self}: invalid static segment '{s}'"));
                    }
                }
                Segment::Param(n) | Segment::Rest(n) => {
                    if n.is_empty() {
                        return Err(format!("{self}: a parameter needs a name"));
                    }
                    if names.contains(&n.as_str()) {
                        return Err(format!("{self}: parameter '{n}' appears twice"));
                    }
                    names.push(n);
                    if matches!(seg, Segment::Rest(_)) && i + 1 != self.segments.len() {
                        return Err(format!("{self}: '*{n}' must be the last segment"));
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.method)?;
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for seg in &self.segments {
            match seg {
                Segment::Static(s) => write!(f, "/{s}")?,
                Segment::Param(n) => write!(f, "/:{n}")?,
                Segment::Rest(n) => write!(f, "/*{n}")?,
            }
        }
        Ok(())
    }
}

/// The result of matching a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// `route` indexes the list given to `Router::new`; `params` are the
    /// values of its `:param`s and `*rest`, in declaration order.
    Found {
        route: usize,
        params: Vec<String>,
    },
    /// Some route matches the path, none with this method. `allow` is
    /// sorted (for the `Allow` header), `HEAD` included wherever `GET` is.
    MethodNotAllowed {
        allow: Vec<&'static str>,
    },
    NotFound,
}

#[derive(Default)]
struct Node {
    statics: HashMap<String, Node>,
    param: Option<Box<Node>>,
    /// The route (per method) that ends at this node.
    end: [Option<usize>; 5],
    /// The route (per method) with a `*rest` at this position.
    rest: [Option<usize>; 5],
}

/// Routes compiled into a segment tree.
pub struct Router {
    routes: Vec<RouteSpec>,
    root: Node,
}

impl Router {
    /// Builds the table. Errors (one line): a route that is not valid
    /// (`*rest` not last, an empty or repeated parameter name), or two
    /// routes with the same method and the same path shape.
    pub fn new(routes: Vec<RouteSpec>) -> Result<Router, String> {
        let mut root = Node::default();
        for (index, spec) in routes.iter().enumerate() {
            spec.validate()?;
            let mut node = &mut root;
            let mut slot = None;
            for seg in &spec.segments {
                match seg {
                    Segment::Static(s) => node = node.statics.entry(s.clone()).or_default(),
                    Segment::Param(_) => node = node.param.get_or_insert_with(Default::default),
                    Segment::Rest(_) => slot = Some(&mut node.rest[spec.method.index()]),
                }
            }
            let slot = match slot {
                Some(slot) => slot,
                None => &mut node.end[spec.method.index()],
            };
            if let Some(other) = *slot {
                return Err(format!(
                    "routes '{}' and '{}' have the same method and path",
                    routes[other], spec
                ));
            }
            *slot = Some(index);
        }
        Ok(Router { routes, root })
    }

    pub fn routes(&self) -> &[RouteSpec] {
        &self.routes
    }

    /// Matches `method` (as sent: `GET`, `HEAD`, `OPTIONS`, …) and `path`
    /// (the raw request path, without the query).
    pub fn find(&self, method: &str, path: &str) -> Match {
        if !path.is_empty() && !path.starts_with('/') {
            return Match::NotFound; // `*` (OPTIONS *), an authority (CONNECT)
        }
        let segments = split_path(path);
        let wanted = if method == "HEAD" {
            Some(Method::Get)
        } else {
            Method::parse(method)
        };
        let mut params = Vec::new();
        if let Some(m) = wanted
            && let Some(route) = search(&self.root, &segments, m.index(), &mut params)
        {
            return Match::Found { route, params };
        }
        let mut allow = Vec::new();
        for m in Method::ALL {
            params.clear();
            if search(&self.root, &segments, m.index(), &mut params).is_some() {
                allow.push(m.as_str());
                if m == Method::Get {
                    allow.push("HEAD");
                }
            }
        }
        if allow.is_empty() {
            Match::NotFound
        } else {
            allow.sort_unstable();
            Match::MethodNotAllowed { allow }
        }
    }
}

fn search(node: &Node, segs: &[String], m: usize, params: &mut Vec<String>) -> Option<usize> {
    let Some((first, later)) = segs.split_first() else {
        if let Some(r) = node.end[m] {
            return Some(r);
        }
        if let Some(r) = node.rest[m] {
            params.push(String::new());
            return Some(r);
        }
        return None;
    };
    if let Some(child) = node.statics.get(first)
        && let Some(r) = search(child, later, m, params)
    {
        return Some(r);
    }
    if let Some(child) = &node.param {
        params.push(first.clone());
        if let Some(r) = search(child, later, m, params) {
            return Some(r);
        }
        params.pop();
    }
    if let Some(r) = node.rest[m] {
        params.push(segs.join("/"));
        return Some(r);
    }
    None
}

/// The path's non-empty segments, each percent-decoded.
pub fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect()
}

/// Percent-decodes `s` (with `plus_is_space`, `+` is a space, as in query
/// strings). A `%` not followed by two hex digits is kept; bytes that are
/// not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return s.to_string();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a query string (`a=1&b=x+y&flag`) into pairs, in order: `+` is
/// a space, pieces are percent-decoded, a piece without `=` has the value
/// `""`, empty pieces are skipped.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(Method, &str)]) -> Router {
        Router::new(
            routes
                .iter()
                .map(|(m, p)| RouteSpec::parse(*m, p).unwrap())
                .collect(),
        )
        .unwrap()
    }

    fn found(route: usize, params: &[&str]) -> Match {
        Match::Found {
            route,
            params: params.iter().map(|s| s.to_string()).collect(),
        }
    }

    use Method::*;

    #[test]
    fn static_param_and_root() {
        let r = router(&[
            (Get, "/"),
            (Get, "/todos"),
            (Get, "/todos/:id"),
            (Post, "/todos"),
        ]);
        assert_eq!(r.find("GET", "/"), found(0, &[]));
        assert_eq!(r.find("GET", ""), found(0, &[]));
        assert_eq!(r.find("GET", "/todos"), found(1, &[]));
        assert_eq!(r.find("POST", "/todos"), found(3, &[]));
        assert_eq!(r.find("GET", "/todos/42"), found(2, &["42"]));
        assert_eq!(r.find("GET", "/todos/42/x"), Match::NotFound);
        assert_eq!(r.find("GET", "/nope"), Match::NotFound);
    }

    #[test]
    fn static_wins_over_param_with_backtracking() {
        let r = router(&[
            (Get, "/users/:id"),
            (Get, "/users/me"),
            (Get, "/a/b/c"),
            (Get, "/a/:x/d"),
            (Get, "/a/*rest"),
        ]);
        assert_eq!(r.find("GET", "/users/me"), found(1, &[]));
        assert_eq!(r.find("GET", "/users/mee"), found(0, &["mee"]));
        assert_eq!(r.find("GET", "/a/b/c"), found(2, &[]));
        // `b` is static, but `/a/b/d` only fits `/a/:x/d`.
        assert_eq!(r.find("GET", "/a/b/d"), found(3, &["b"]));
        // Neither fits: the rest catches it.
        assert_eq!(r.find("GET", "/a/b/e"), found(4, &["b/e"]));
        assert_eq!(r.find("GET", "/a"), found(4, &[""]));
    }

    #[test]
    fn param_wins_over_rest_and_exact_end_over_empty_rest() {
        let r = router(&[(Get, "/f/*path"), (Get, "/f/:one"), (Get, "/f")]);
        assert_eq!(r.find("GET", "/f"), found(2, &[]));
        assert_eq!(r.find("GET", "/f/x"), found(1, &["x"]));
        assert_eq!(r.find("GET", "/f/x/y/z"), found(0, &["x/y/z"]));
    }

    #[test]
    fn rest_collects_decoded_segments() {
        let r = router(&[(Get, "/files/*path"), (Get, "/*all")]);
        assert_eq!(r.find("GET", "/files"), found(0, &[""]));
        assert_eq!(r.find("GET", "/files/"), found(0, &[""]));
        assert_eq!(r.find("GET", "/files/a/b%20c/"), found(0, &["a/b c"]));
        assert_eq!(r.find("GET", "/files//a///b"), found(0, &["a/b"]));
        assert_eq!(r.find("GET", "/"), found(1, &[""]));
        assert_eq!(r.find("GET", "/x/y"), found(1, &["x/y"]));
        assert_eq!(r.find("GET", "/x/../y"), found(1, &["x/../y"]));
    }

    #[test]
    fn trailing_and_empty_segments_are_ignored() {
        let r = router(&[(Get, "/todos"), (Get, "/todos/:id/tags")]);
        assert_eq!(r.find("GET", "/todos/"), found(0, &[]));
        assert_eq!(r.find("GET", "//todos//"), found(0, &[]));
        assert_eq!(r.find("GET", "/todos//7/tags/"), found(1, &["7"]));
        assert_eq!(r.find("GET", "/todos//tags"), Match::NotFound);
    }

    #[test]
    fn percent_decoding() {
        let r = router(&[(Get, "/café/:name"), (Get, "/a b")]);
        assert_eq!(r.find("GET", "/caf%C3%A9/x%2Fy"), found(0, &["x/y"]));
        assert_eq!(r.find("GET", "/caf%c3%a9/%E2%9C%93"), found(0, &["✓"]));
        assert_eq!(r.find("GET", "/a%20b"), found(1, &[]));
        // `+` is not a space in a path.
        assert_eq!(r.find("GET", "/caf%C3%A9/a+b"), found(0, &["a+b"]));
        // Malformed escapes stay as they are; invalid UTF-8 becomes U+FFFD.
        assert_eq!(r.find("GET", "/caf%C3%A9/100%"), found(0, &["100%"]));
        assert_eq!(r.find("GET", "/caf%C3%A9/%zz%4"), found(0, &["%zz%4"]));
        assert_eq!(r.find("GET", "/caf%C3%A9/%FF"), found(0, &["\u{FFFD}"]));
        assert_eq!(r.find("GET", "/caf%C3%A9/%00"), found(0, &["\0"]));
    }

    #[test]
    fn method_not_allowed_lists_sorted_methods() {
        let r = router(&[
            (Post, "/todos"),
            (Get, "/todos"),
            (Delete, "/todos/:id"),
            (Put, "/todos/:id"),
            (Patch, "/todos/special"),
        ]);
        assert_eq!(
            r.find("PATCH", "/todos"),
            Match::MethodNotAllowed {
                allow: vec!["GET", "HEAD", "POST"]
            }
        );
        assert_eq!(
            r.find("GET", "/todos/1"),
            Match::MethodNotAllowed {
                allow: vec!["DELETE", "PUT"]
            }
        );
        // Matching is per method: PUT /todos/special uses the parameter route.
        assert_eq!(r.find("PUT", "/todos/special"), found(3, &["special"]));
        assert_eq!(
            r.find("GET", "/todos/special"),
            Match::MethodNotAllowed {
                allow: vec!["DELETE", "PATCH", "PUT"]
            }
        );
        assert_eq!(
            r.find("OPTIONS", "/todos"),
            Match::MethodNotAllowed {
                allow: vec!["GET", "HEAD", "POST"]
            }
        );
        assert_eq!(
            r.find("get", "/todos"),
            Match::MethodNotAllowed {
                allow: vec!["GET", "HEAD", "POST"]
            }
        );
        assert_eq!(r.find("BREW", "/coffee"), Match::NotFound);
        let r = router(&[(Get, "/:any"), (Get, "/*rest")]);
        assert_eq!(r.find("OPTIONS", "*"), Match::NotFound);
        assert_eq!(r.find("GET", "*"), Match::NotFound);
        assert_eq!(r.find("CONNECT", "example.com:443"), Match::NotFound);
    }

    #[test]
    fn head_uses_get_routes() {
        let r = router(&[(Get, "/a"), (Post, "/b")]);
        assert_eq!(r.find("HEAD", "/a"), found(0, &[]));
        assert_eq!(
            r.find("HEAD", "/b"),
            Match::MethodNotAllowed {
                allow: vec!["POST"]
            }
        );
    }

    #[test]
    fn params_in_declaration_order() {
        let r = router(&[(Get, "/:a/x/:b/*c")]);
        assert_eq!(r.find("GET", "/1/x/2/3/4"), found(0, &["1", "2", "3/4"]));
        assert_eq!(r.routes()[0].param_names(), vec!["a", "b", "c"]);
    }

    #[test]
    fn invalid_and_duplicate_routes_are_rejected() {
        assert!(
            RouteSpec::parse(Get, "/*rest/x")
                .unwrap_err()
                .contains("last segment")
        );
        assert!(
            RouteSpec::parse(Get, "/:a/:a")
                .unwrap_err()
                .contains("twice")
        );
        assert!(RouteSpec::parse(Get, "/:").unwrap_err().contains("name"));
        assert!(RouteSpec::parse(Get, "x").is_err());
        let spec = |m, p| RouteSpec::parse(m, p).unwrap();
        let err = Router::new(vec![spec(Get, "/a/:x"), spec(Get, "/a/:y")])
            .err()
            .unwrap();
        assert_eq!(
            err,
            "routes 'GET /a/:x' and 'GET /a/:y' have the same method and path"
        );
        assert!(Router::new(vec![spec(Get, "/a/*x"), spec(Get, "/a/*y")]).is_err());
        assert!(Router::new(vec![spec(Get, "/a/"), spec(Get, "/a")]).is_err());
        assert!(Router::new(vec![spec(Get, "/a/:x"), spec(Post, "/a/:y")]).is_ok());
        assert!(Router::new(vec![spec(Get, "/a"), spec(Get, "/a/*rest")]).is_ok());
        let bad = RouteSpec {
            method: Get,
            segments: vec![Segment::Static("a/b".into())],
        };
        assert!(Router::new(vec![bad]).is_err());
        assert_eq!(spec(Delete, "/").to_string(), "DELETE /");
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("a=1&b=x+y&c=%26%3D&flag&&=v&k=a=b"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "&=".into()),
                ("flag".into(), "".into()),
                ("".into(), "v".into()),
                ("k".into(), "a=b".into()),
            ]
        );
        assert_eq!(parse_query(""), vec![]);
        assert_eq!(
            parse_query("q=caf%C3%A9%20au+lait"),
            vec![("q".into(), "café au lait".into())]
        );
    }
}
