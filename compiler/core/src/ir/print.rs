//! The IR as text (`dlc build --emit ir`), for golden tests and debugging.

use std::fmt;

use super::*;

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, function) in self.functions.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            Printer { module: self, function, out: f }.function(FuncIdx(i as u32))?;
        }
        Ok(())
    }
}

struct Printer<'m, 'f, 'o> {
    module: &'m Module,
    function: &'m Function,
    out: &'o mut fmt::Formatter<'f>,
}

impl Printer<'_, '_, '_> {
    fn function(&mut self, idx: FuncIdx) -> fmt::Result {
        let f = self.function;
        let abi = match f.abi {
            Abi::Direct => "",
            Abi::Closure => "closure ",
        };
        let params: Vec<String> = f.params.iter().map(|&p| self.typed_var(p)).collect();
        let ret = self.module.types.name(f.ret);
        writeln!(self.out, "{abi}fn f{}`{}`({}) -> {ret} {{", idx.0, f.name, params.join(", "))?;
        self.block(&f.body, 1)?;
        writeln!(self.out, "}}")
    }

    fn typed_var(&self, v: VarId) -> String {
        format!("{}: {}", self.var(v), self.module.types.name(self.function.var(v).ty))
    }

    fn var(&self, v: VarId) -> String {
        let name = &self.function.var(v).name;
        if name.is_empty() { format!("v{}", v.0) } else { format!("v{}_{name}", v.0) }
    }

    fn block(&mut self, block: &Block, depth: usize) -> fmt::Result {
        for stmt in block {
            self.stmt(stmt, depth)?;
        }
        Ok(())
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize) -> fmt::Result {
        let pad = "  ".repeat(depth);
        match stmt {
            Stmt::Let(v, rvalue) => {
                let target = self.typed_var(*v);
                let rvalue = self.rvalue(rvalue);
                writeln!(self.out, "{pad}{target} = {rvalue}")
            }
            Stmt::Do(rvalue) => {
                let rvalue = self.rvalue(rvalue);
                writeln!(self.out, "{pad}{rvalue}")
            }
            Stmt::Init { object, index, value } => {
                let (object, value) = (self.operand(object), self.operand(value));
                writeln!(self.out, "{pad}{object}[{index}] := {value}")
            }
            Stmt::If { cond, then, else_ } => {
                writeln!(self.out, "{pad}if {} {{", self.operand(cond))?;
                self.block(then, depth + 1)?;
                if !else_.is_empty() {
                    writeln!(self.out, "{pad}}} else {{")?;
                    self.block(else_, depth + 1)?;
                }
                writeln!(self.out, "{pad}}}")
            }
            Stmt::Switch { on, cases, default } => {
                writeln!(self.out, "{pad}switch {} {{", self.operand(on))?;
                for (value, body) in cases {
                    writeln!(self.out, "{pad}  {value} =>")?;
                    self.block(body, depth + 2)?;
                }
                writeln!(self.out, "{pad}  _ =>")?;
                self.block(default, depth + 2)?;
                writeln!(self.out, "{pad}}}")
            }
            Stmt::Block { label, body } => {
                writeln!(self.out, "{pad}block L{} {{", label.0)?;
                self.block(body, depth + 1)?;
                writeln!(self.out, "{pad}}}")
            }
            Stmt::Loop { label, body } => {
                writeln!(self.out, "{pad}loop L{} {{", label.0)?;
                self.block(body, depth + 1)?;
                writeln!(self.out, "{pad}}}")
            }
            Stmt::Break(label) => writeln!(self.out, "{pad}break L{}", label.0),
            Stmt::Continue(label) => writeln!(self.out, "{pad}continue L{}", label.0),
            Stmt::Return(value) => writeln!(self.out, "{pad}return {}", self.operand(value)),
            Stmt::Fail { kind, loc } => writeln!(self.out, "{pad}fail {kind:?} at {}", self.operand(loc)),
        }
    }

    fn rvalue(&self, rvalue: &Rvalue) -> String {
        let list = |ops: &[Operand]| ops.iter().map(|o| self.operand(o)).collect::<Vec<_>>().join(", ");
        match rvalue {
            Rvalue::Use(o) => self.operand(o),
            Rvalue::Unary(op, o) => format!("{op:?} {}", self.operand(o)),
            Rvalue::Binary { op, lhs, rhs, .. } => format!("{op:?} {}, {}", self.operand(lhs), self.operand(rhs)),
            Rvalue::Call { func, args } => format!("call f{}`{}`({})", func.0, self.func_name(*func), list(args)),
            Rvalue::CallExtern { func, args } => {
                format!("call {}({})", self.module.externs[func.0 as usize].symbol, list(args))
            }
            Rvalue::CallClosure { callee, args } => format!("call_closure {}({})", self.operand(callee), list(args)),
            Rvalue::Alloc { words } => format!("alloc {words}"),
            Rvalue::Load { object, index } => format!("{}[{index}]", self.operand(object)),
            Rvalue::Closure { func, captures } => format!("closure f{}({})", func.0, list(captures)),
            Rvalue::ListLen(list) => format!("list_len {}", self.operand(list)),
            Rvalue::ListItem { list, index } => format!("list_item {}, {}", self.operand(list), self.operand(index)),
        }
    }

    fn operand(&self, operand: &Operand) -> String {
        match operand {
            Operand::Var(v) => self.var(*v),
            Operand::Const(c) => match c {
                Const::Int(n) => n.to_string(),
                Const::Float(x) => format!("{x:?}"),
                Const::Bool(b) => b.to_string(),
                Const::Unit => "()".to_string(),
                Const::Str(s) => format!("{:?}", self.string(*s)),
                Const::Type(t) => format!("type {}", self.module.types.name(*t)),
                Const::Func(func) => format!("f{}`{}`", func.0, self.func_name(*func)),
            },
        }
    }

    fn string(&self, idx: StrIdx) -> &str {
        &self.module.strings[idx.0 as usize]
    }

    fn func_name(&self, idx: FuncIdx) -> &str {
        &self.module.functions[idx.0 as usize].name
    }
}
