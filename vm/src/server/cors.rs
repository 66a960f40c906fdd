//! CORS, as a program's `cors` declaration asks: the answer to a browser's
//! preflight `OPTIONS` on any path a route takes, and the headers every
//! response gets (errors too). The Workers host does the same in
//! `std-targets/workers/worker.js` (`corsHeaders`, `preflight`).

use super::Reply;
use super::router::Match;

/// How long a browser may keep a preflight's answer: a day.
const MAX_AGE: &str = "86400";

/// The origins whose pages may call the routes: none (no `cors`), any
/// (`cors "*"`), or those listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// `origins` as the descriptor lists them (`["*"]`: any).
    pub fn new(origins: Vec<String>) -> Cors {
        Cors { origins }
    }

    pub fn is_declared(&self) -> bool {
        !self.origins.is_empty()
    }

    fn any(&self) -> bool {
        self.origins.iter().any(|o| o == "*")
    }

    /// The headers a response to a request with `request_headers` (names
    /// lower-case) gets: the allowed origin, and `vary: origin` when the
    /// answer depends on it.
    pub fn headers(&self, request_headers: &[(String, String)]) -> Vec<(String, String)> {
        if !self.is_declared() {
            return Vec::new();
        }
        if self.any() {
            return vec![("access-control-allow-origin".into(), "*".into())];
        }
        let mut headers = vec![("vary".to_string(), "origin".to_string())];
        if let Some(origin) = header(request_headers, "origin").filter(|o| self.origins.iter().any(|allowed| allowed == o)) {
            headers.push(("access-control-allow-origin".into(), origin.to_string()));
        }
        headers
    }

    /// The `204` for an `OPTIONS` request to a path that routes take (with
    /// the methods they allow), when `cors` is declared; the CORS headers
    /// of `headers` come on top.
    pub fn preflight(&self, unmatched: &Match, request_headers: &[(String, String)]) -> Option<Reply> {
        let Match::MethodNotAllowed { allow } = unmatched else { return None };
        if !self.is_declared() {
            return None;
        }
        let methods = allow.join(", ");
        let mut reply = Reply { status: 204, headers: vec![("allow".into(), methods.clone())], body: Vec::new() };
        reply.headers.push(("access-control-allow-methods".into(), methods));
        if let Some(asked) = header(request_headers, "access-control-request-headers") {
            reply.headers.push(("access-control-allow-headers".into(), asked.to_string()));
        }
        reply.headers.push(("access-control-max-age".into(), MAX_AGE.into()));
        Some(reply)
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(origin: &str) -> Vec<(String, String)> {
        vec![("origin".into(), origin.into())]
    }

    #[test]
    fn listed_origins_are_echoed_and_others_get_only_vary() {
        let cors = Cors::new(vec!["https://app.example.com".into()]);
        let allowed = cors.headers(&from("https://app.example.com"));
        assert!(allowed.contains(&("access-control-allow-origin".into(), "https://app.example.com".into())));
        assert_eq!(cors.headers(&from("https://evil.example")), [("vary".to_string(), "origin".to_string())]);
        assert_eq!(Cors::new(vec!["*".into()]).headers(&[]), [("access-control-allow-origin".to_string(), "*".to_string())]);
        assert!(Cors::default().headers(&from("https://app.example.com")).is_empty());
    }
}
