//! Durable stores on redb (work in progress).
