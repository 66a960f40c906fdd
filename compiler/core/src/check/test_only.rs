//! The functions for tests — `@test_only` in the stdlib (`App`,
//! `Time.advance`) and every function that uses one, through any chain of
//! calls or function values — may be used only where `dlc test` runs them:
//! in test bodies and in other such functions. A route, a cron or `main`
//! that uses one is E0211, at the use.

use super::typed::{Body, Expr, ExprKind, FnId, Program, Visitor, walk_expr};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

/// The functions a body calls or refers to, with where.
struct Uses(Vec<(FnId, Span)>);

impl Visitor for Uses {
    fn expr(&mut self, e: &Expr) {
        if let ExprKind::Call { id, .. } | ExprKind::Fn { id, .. } = &e.kind {
            self.0.push((*id, e.span));
        }
        walk_expr(self, e);
    }
}

fn uses(body: &Body) -> Vec<(FnId, Span)> {
    let mut uses = Uses(Vec::new());
    uses.expr(&body.value);
    uses.0
}

pub fn check(program: &Program, diagnostics: &mut Vec<Diagnostic>) {
    let calls: Vec<Vec<(FnId, Span)>> = program.functions.iter().map(|f| f.body.as_ref().map(uses).unwrap_or_default()).collect();
    // For each function for tests, the one it uses that makes it so (itself
    // for a `@test_only` one): a fixpoint over the call graph.
    let mut reason: Vec<Option<FnId>> = program.functions.iter().enumerate().map(|(i, f)| f.test_only.then_some(FnId(i as u32))).collect();
    loop {
        let mut changed = false;
        for (i, callees) in calls.iter().enumerate() {
            if reason[i].is_none()
                && let Some(&(callee, _)) = callees.iter().find(|(c, _)| reason[c.0 as usize].is_some())
            {
                reason[i] = Some(callee);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut entries: Vec<(&Body, &str)> = program.routes.iter().map(|r| (&r.body, "a route")).collect();
    entries.extend(program.crons.iter().map(|c| (&c.body, "a cron")));
    if let Some(body) = program.main.and_then(|m| program.function(m).body.as_ref()) {
        entries.push((body, "`main`"));
    }
    for (body, what) in entries {
        for (id, span) in uses(body) {
            let Some(why) = reason[id.0 as usize] else { continue };
            let name = program.function(id).qualified_name();
            let label = if why == id {
                format!("used in {what}")
            } else {
                format!("used in {what}; `{name}` uses `{}`, which works only in tests", root(program, &reason, id).qualified_name())
            };
            diagnostics.push(
                Diagnostic::error(Code::TestOnly, format!("`{name}` can only be used in a test"))
                    .label(span, label)
                    .hint("call it from a `test \"…\" { … }` block, which `dlc test` runs"),
            );
        }
    }
}

/// The `@test_only` function at the end of `id`'s chain.
fn root<'p>(program: &'p Program, reason: &[Option<FnId>], mut id: FnId) -> &'p super::typed::Function {
    // Each step follows a function that became test-only earlier, so the
    // chain ends; the bound guards against a bug.
    for _ in 0..reason.len() {
        match reason[id.0 as usize] {
            Some(next) if next != id => id = next,
            _ => break,
        }
    }
    program.function(id)
}
