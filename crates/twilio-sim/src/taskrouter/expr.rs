//! TaskRouter's expression language: the subset the product's workflows and queues use.
//!
//! Grammar (keywords are case-insensitive):
//!
//! ```text
//! expr    := and ( ("OR" | "||") and )*
//! and     := unary ( ("AND" | "&&") unary )*
//! unary   := ("NOT" | "!") unary | "(" expr ")" | cmp
//! cmp     := operand ( op operand )?          op: == = != > >= < <= IN "NOT IN" CONTAINS HAS
//! operand := 'str' | "str" | number | true | false | null | [operand, …] | path (a.b.c)
//! ```
//!
//! A path's first segment picks the scope: `task.`, `worker.`, `workers.` (queue statistics, for `skip_if`);
//! a bare path uses the context's default scope (task attributes in workflow filters, worker attributes in queue
//! `target_workers`). A missing attribute never matches (not even with `!=`), as in TaskRouter. Input is bounded
//! ([`MAX_EXPR_LEN`], [`MAX_DEPTH`]); parsing never panics.

use serde_json::Value;

/// Longest expression accepted, in bytes.
pub const MAX_EXPR_LEN: usize = 4096;
/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid expression at byte {at}: {why}")]
pub struct ExprError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub why: &'static str,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` / `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `IN`
    In,
    /// `NOT IN`
    NotIn,
    /// `CONTAINS` / `HAS`
    Contains,
}

/// An operand: literal, array or attribute path.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal value.
    Lit(Value),
    /// `[a, b, …]`
    Array(Vec<Operand>),
    /// `task.owner_email`, `worker.department_id`, `type`, …
    Path(Vec<String>),
}

/// A parsed boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both sides true.
    And(Box<Expr>, Box<Expr>),
    /// Either side true.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A comparison.
    Cmp(Operand, CmpOp, Operand),
    /// A lone operand, true when it is `true` (e.g. `route_owner`).
    Truthy(Operand),
}

/// Which object a bare path refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Task attributes (workflow filters).
    Task,
    /// Worker attributes (queue `target_workers`).
    Worker,
}

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Scope of bare paths.
    pub default_scope: Scope,
    /// Task attributes, if any.
    pub task: Option<&'a Value>,
    /// Worker attributes, if any.
    pub worker: Option<&'a Value>,
    /// Queue statistics for `workers.*` (`available`, `idle`…), as a JSON object.
    pub workers: Option<&'a Value>,
}

impl Ctx<'_> {
    fn resolve(&self, path: &[String]) -> Option<Value> {
        let (root, rest): (Option<&Value>, &[String]) = match path.first().map(String::as_str) {
            Some("task") => (self.task, &path[1..]),
            Some("worker") => (self.worker, &path[1..]),
            Some("workers") => (self.workers, &path[1..]),
            _ => match self.default_scope {
                Scope::Task => (self.task, path),
                Scope::Worker => (self.worker, path),
            },
        };
        let mut v = root?;
        for seg in rest {
            v = v.get(seg.as_str())?;
        }
        Some(v.clone())
    }

    /// Evaluates an operand to a value (`None` when a path is missing).
    pub fn value(&self, op: &Operand) -> Option<Value> {
        match op {
            Operand::Lit(v) => Some(v.clone()),
            Operand::Array(items) => Some(Value::Array(
                items.iter().filter_map(|o| self.value(o)).collect(),
            )),
            Operand::Path(p) => self.resolve(p),
        }
    }
}

impl Expr {
    /// Parses an expression.
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        if src.len() > MAX_EXPR_LEN {
            return Err(ExprError {
                at: MAX_EXPR_LEN,
                why: "expression too long",
            });
        }
        let toks = lex(src)?;
        let mut p = Parser { toks, pos: 0 };
        let e = p.expr(0)?;
        if let Some((at, _)) = p.toks.get(p.pos) {
            return Err(ExprError {
                at: *at,
                why: "unexpected trailing input",
            });
        }
        Ok(e)
    }

    /// Evaluates the expression.
    pub fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self {
            Expr::And(a, b) => a.eval(ctx) && b.eval(ctx),
            Expr::Or(a, b) => a.eval(ctx) || b.eval(ctx),
            Expr::Not(e) => !e.eval(ctx),
            Expr::Truthy(o) => ctx.value(o) == Some(Value::Bool(true)),
            Expr::Cmp(l, op, r) => match (ctx.value(l), ctx.value(r)) {
                (Some(a), Some(b)) => compare(&a, *op, &b),
                _ => false,
            },
        }
    }
}

/// Parses an operand on its own (e.g. `known_worker_sid: "task.owner_worker_sid"`).
pub fn parse_operand(src: &str) -> Result<Operand, ExprError> {
    if src.len() > MAX_EXPR_LEN {
        return Err(ExprError {
            at: MAX_EXPR_LEN,
            why: "expression too long",
        });
    }
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    let o = p.operand(0)?;
    if p.pos != p.toks.len() {
        return Err(ExprError {
            at: 0,
            why: "expected a single operand",
        });
    }
    Ok(o)
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        _ => a == b,
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    let ord = || match (num(a), num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            _ => None,
        },
    };
    let member = |needle: &Value, hay: &Value| match hay {
        Value::Array(items) => match needle {
            Value::Array(ns) => ns.iter().any(|n| items.iter().any(|i| loose_eq(n, i))),
            n => items.iter().any(|i| loose_eq(n, i)),
        },
        Value::String(h) => matches!(needle, Value::String(n) if h.contains(n.as_str())),
        other => loose_eq(needle, other),
    };
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => loose_eq(a, b),
        CmpOp::Ne => !loose_eq(a, b),
        CmpOp::Gt => ord() == Some(Greater),
        CmpOp::Ge => matches!(ord(), Some(Greater | Equal)),
        CmpOp::Lt => ord() == Some(Less),
        CmpOp::Le => matches!(ord(), Some(Less | Equal)),
        CmpOp::In => member(a, b),
        CmpOp::NotIn => !member(a, b),
        CmpOp::Contains => member(b, a),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Word(String),
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => (i += 1, out.push((start, Tok::LParen))).1,
            b')' => (i += 1, out.push((start, Tok::RParen))).1,
            b'[' => (i += 1, out.push((start, Tok::LBracket))).1,
            b']' => (i += 1, out.push((start, Tok::RBracket))).1,
            b',' => (i += 1, out.push((start, Tok::Comma))).1,
            b'\'' | b'"' => {
                let end = src[i + 1..].find(c as char).ok_or(ExprError {
                    at: start,
                    why: "unterminated string",
                })?;
                out.push((start, Tok::Str(src[i + 1..i + 1 + end].to_owned())));
                i += end + 2;
            }
            b'=' | b'!' | b'<' | b'>' | b'&' | b'|' => {
                let two = src.get(i..i + 2).unwrap_or("");
                let op = match two {
                    "==" => "==",
                    "!=" => "!=",
                    ">=" => ">=",
                    "<=" => "<=",
                    "&&" => "AND",
                    "||" => "OR",
                    _ => "",
                };
                if !op.is_empty() {
                    i += 2;
                    out.push((start, Tok::Op(op)));
                } else {
                    let op = match c {
                        b'=' => "==",
                        b'!' => "NOT",
                        b'<' => "<",
                        b'>' => ">",
                        _ => {
                            return Err(ExprError {
                                at: start,
                                why: "unexpected character",
                            })
                        }
                    };
                    i += 1;
                    out.push((start, Tok::Op(op)));
                }
            }
            b'0'..=b'9' | b'-' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                let n: f64 = src[start..i].parse().map_err(|_| ExprError {
                    at: start,
                    why: "bad number",
                })?;
                out.push((start, Tok::Num(n)));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b"_.-".contains(&b[i])) {
                    i += 1;
                }
                out.push((start, Tok::Word(src[start..i].to_owned())));
            }
            _ => {
                return Err(ExprError {
                    at: start,
                    why: "unexpected character",
                })
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map(|(a, _)| *a).unwrap_or(0)
    }
    fn err(&self, why: &'static str) -> ExprError {
        ExprError { at: self.at(), why }
    }
    fn keyword(&self, kw: &str) -> bool {
        match self.peek() {
            Some(Tok::Word(w)) => w.eq_ignore_ascii_case(kw),
            Some(Tok::Op(o)) => *o == kw,
            _ => false,
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let mut left = self.and(depth)?;
        while self.keyword("OR") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut left = self.unary(depth)?;
        while self.keyword("AND") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        if self.keyword("NOT") && !self.is_not_in() {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.expr(depth + 1)?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.err("expected ')'"));
            }
            self.pos += 1;
            return Ok(e);
        }
        self.cmp(depth)
    }

    fn is_not_in(&self) -> bool {
        matches!(self.toks.get(self.pos + 1), Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case("IN"))
    }

    fn cmp(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let left = self.operand(depth)?;
        let op = match self.peek() {
            Some(Tok::Op("==")) => CmpOp::Eq,
            Some(Tok::Op("!=")) => CmpOp::Ne,
            Some(Tok::Op(">")) => CmpOp::Gt,
            Some(Tok::Op(">=")) => CmpOp::Ge,
            Some(Tok::Op("<")) => CmpOp::Lt,
            Some(Tok::Op("<=")) => CmpOp::Le,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") => CmpOp::In,
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("CONTAINS") || w.eq_ignore_ascii_case("HAS") =>
            {
                CmpOp::Contains
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") && self.is_not_in() => {
                self.pos += 1;
                CmpOp::NotIn
            }
            Some(Tok::Op("NOT")) if self.is_not_in() => {
                self.pos += 1;
                CmpOp::NotIn
            }
            _ => return Ok(Expr::Truthy(left)),
        };
        self.pos += 1;
        let right = self.operand(depth)?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, ExprError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let tok = self
            .peek()
            .cloned()
            .ok_or_else(|| self.err("expected an operand"))?;
        self.pos += 1;
        Ok(match tok {
            Tok::Str(s) => Operand::Lit(Value::String(s)),
            Tok::Num(n) => Operand::Lit(
                serde_json::Number::from_f64(n)
                    .map(|n| {
                        if n.as_f64()
                            .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        {
                            Value::from(n.as_f64().unwrap_or(0.0) as i64)
                        } else {
                            Value::Number(n)
                        }
                    })
                    .unwrap_or(Value::Null),
            ),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Operand::Lit(Value::Bool(true)),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Operand::Lit(Value::Bool(false)),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Operand::Lit(Value::Null),
            Tok::Word(w) => Operand::Path(w.split('.').map(str::to_owned).collect()),
            Tok::LBracket => {
                let mut items = Vec::new();
                if self.peek() == Some(&Tok::RBracket) {
                    self.pos += 1;
                    return Ok(Operand::Array(items));
                }
                loop {
                    items.push(self.operand(depth + 1)?);
                    match self.peek() {
                        Some(Tok::Comma) => self.pos += 1,
                        Some(Tok::RBracket) => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
                Operand::Array(items)
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("expected an operand"));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task_ctx(task: &Value) -> Ctx<'_> {
        Ctx {
            default_scope: Scope::Task,
            task: Some(task),
            worker: None,
            workers: None,
        }
    }

    #[test]
    fn filter_expressions_match_task_attributes() {
        let t = json!({"type": "inbound_call", "route_owner": true, "vip": false, "tags": ["a", "b"], "n": 5});
        let ok = |s: &str| Expr::parse(s).unwrap().eval(&task_ctx(&t));
        assert!(ok("type == 'inbound_call' AND route_owner == true"));
        assert!(ok("type == \"inbound_call\" && route_owner"));
        assert!(!ok("type == 'outbound'"));
        assert!(ok("NOT (type == 'outbound')"));
        assert!(ok("'a' IN tags"));
        assert!(ok("tags HAS 'b'"));
        assert!(ok("type NOT IN ['x', 'y']"));
        assert!(ok("n >= 5 and n < 6"));
        assert!(ok("1 == 1"));
        assert!(!ok("missing != 'x'"), "a missing attribute never matches");
        assert!(ok("type == 'x' OR vip == false"));
    }

    #[test]
    fn target_expressions_mix_worker_and_task() {
        let t = json!({"owner_email": "a@x.jp", "department_id": 7});
        let w = json!({"email": "a@x.jp", "department_id": "7"});
        let ctx = Ctx {
            default_scope: Scope::Worker,
            task: Some(&t),
            worker: Some(&w),
            workers: None,
        };
        assert!(Expr::parse("worker.email == task.owner_email")
            .unwrap()
            .eval(&ctx));
        assert!(Expr::parse("worker.department_id == task.department_id")
            .unwrap()
            .eval(&ctx));
        assert!(Expr::parse("email == 'a@x.jp'").unwrap().eval(&ctx));
    }

    #[test]
    fn malformed_expressions_are_errors_not_panics() {
        for s in [
            "",
            "(",
            "a ==",
            "a == 'x",
            "[1,",
            "a b",
            "== 1",
            "((((",
            "a @ b",
            "NOT",
            "a IN [1 2]",
        ] {
            assert!(Expr::parse(s).is_err(), "{s:?} should not parse");
        }
        let deep = "(".repeat(100) + "1==1" + &")".repeat(100);
        assert!(Expr::parse(&deep).is_err());
        assert!(Expr::parse(&"a".repeat(MAX_EXPR_LEN + 1)).is_err());
        assert_eq!(
            parse_operand("task.owner_worker_sid").unwrap(),
            Operand::Path(vec!["task".into(), "owner_worker_sid".into()])
        );
    }

    #[test]
    fn multibyte_strings_lex() {
        let t = json!({"name": "田中 太郎"});
        assert!(Expr::parse("name == '田中 太郎'")
            .unwrap()
            .eval(&task_ctx(&t)));
    }

    proptest::proptest! {
        #[test]
        fn parse_and_eval_never_panic(src in "[a-z._ ()'\\[\\],=!<>&|0-9A-Z\"-]{0,80}", any in ".{0,80}") {
            let t = json!({"type": "inbound_call", "n": 5, "tags": ["a"]});
            for s in [src.as_str(), any.as_str()] {
                if let Ok(e) = Expr::parse(s) {
                    let _ = e.eval(&task_ctx(&t));
                }
                let _ = parse_operand(s);
            }
        }
    }
}
