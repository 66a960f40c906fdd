//! HTTP server core (hyper 1 + tokio).
