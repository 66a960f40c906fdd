//! The typed program (stub).
#[derive(Default, Debug)]
pub struct Program {}
