//! A Pratt parser for score expressions that type-checks as it goes, so a
//! config error names the column of the operator or call at fault.
//!
//! Precedence, loosest first: `? :` (right), `||`, `&&`, `== !=`,
//! `< <= > >=`, `+ -`, `* /`, unary `- !`, `^` (right; `-a^b` is `-(a^b)`).
//! Recursion is bounded by `MAX_DEPTH`, both the parser's own and the depth
//! of the tree it builds (a long `a+b+c+…` chain is deep too).

use super::ast::{BinOp, Expr, Func, Ty, UnOp, Var, BUILT_IN};
use super::lexer::{tokenize, Tok};
use super::syntax::{SyntaxError, MAX_ARGS, MAX_DEPTH};

/// Units `dist` accepts as its fifth argument.
pub const DIST_UNITS: &[&str] = &["km", "K", "M", "mi", "N", "nm"];

/// A parsed subtree with what the checks need to know of it.
struct Node {
    expr: Expr,
    ty: Ty,
    depth: usize,
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    /// Names of the config's decay functions, lowercase, by index.
    user_functions: &'a [String],
    recursion: usize,
}

/// Parses and checks `text`; `user_functions` are the names callable besides
/// the built-in ones.
pub fn parse(text: &str, user_functions: &[String]) -> Result<Expr, SyntaxError> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0, user_functions, recursion: 0 };
    if p.peek() == &Tok::Eof {
        return Err(SyntaxError::new("empty expression", 1));
    }
    let node = p.expr(0)?;
    match p.peek() {
        Tok::Eof => Ok(node.expr),
        t => Err(SyntaxError::new(format!("unexpected {}", t.describe()), p.at())),
    }
}

fn infix(tok: &Tok) -> Option<(u8, u8)> {
    Some(match tok {
        Tok::Question => (2, 1),
        Tok::OrOr => (3, 4),
        Tok::AndAnd => (5, 6),
        Tok::Eq | Tok::Ne => (7, 8),
        Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => (9, 10),
        Tok::Plus | Tok::Minus => (11, 12),
        Tok::Star | Tok::Slash => (13, 14),
        Tok::Caret => (18, 17),
        _ => return None,
    })
}

const PREFIX_BP: u8 = 15;

fn binop(tok: &Tok) -> BinOp {
    match tok {
        Tok::OrOr => BinOp::Or,
        Tok::AndAnd => BinOp::And,
        Tok::Eq => BinOp::Eq,
        Tok::Ne => BinOp::Ne,
        Tok::Lt => BinOp::Lt,
        Tok::Le => BinOp::Le,
        Tok::Gt => BinOp::Gt,
        Tok::Ge => BinOp::Ge,
        Tok::Plus => BinOp::Add,
        Tok::Minus => BinOp::Sub,
        Tok::Star => BinOp::Mul,
        Tok::Slash => BinOp::Div,
        _ => BinOp::Pow,
    }
}

fn too_deep(at: usize) -> SyntaxError {
    SyntaxError::new(format!("expression nests deeper than {MAX_DEPTH} levels"), at)
}

fn needs_number(what: &str, ty: Ty, at: usize) -> Result<(), SyntaxError> {
    if ty == Ty::Text {
        return Err(SyntaxError::new(format!("{what} needs a number, not text"), at));
    }
    Ok(())
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn at(&self) -> usize {
        self.toks[self.pos].1
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), SyntaxError> {
        if *self.peek() == want {
            self.next();
            return Ok(());
        }
        Err(SyntaxError::new(format!("expected {what}, found {}", self.peek().describe()), self.at()))
    }

    fn node(expr: Expr, ty: Ty, depth: usize, at: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(at));
        }
        Ok(Node { expr, ty, depth })
    }

    fn expr(&mut self, min_bp: u8) -> Result<Node, SyntaxError> {
        self.recursion += 1;
        // Twice the tree's bound (plus the outer parentheses), so a tree
        // within bounds always reads back from its printed form, where every
        // operation is parenthesised.
        if self.recursion > 2 * MAX_DEPTH + 4 {
            return Err(too_deep(self.at()));
        }
        let result = self.expr_inner(min_bp);
        self.recursion -= 1;
        result
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Node, SyntaxError> {
        let mut lhs = self.prefix()?;
        while let Some((l_bp, r_bp)) = infix(self.peek()) {
            if l_bp < min_bp {
                break;
            }
            let (op, at) = self.next();
            if op == Tok::Question {
                let then = self.expr(0)?;
                self.expect(Tok::Colon, "':' of the conditional")?;
                let other = self.expr(r_bp)?;
                let ty = match (then.ty, other.ty) {
                    (a, b) if a == b => a,
                    _ => Ty::Any,
                };
                let depth = 1 + lhs.depth.max(then.depth).max(other.depth);
                let expr = Expr::Ternary(Box::new(lhs.expr), Box::new(then.expr), Box::new(other.expr));
                lhs = Self::node(expr, ty, depth, at)?;
                continue;
            }
            let rhs = self.expr(r_bp)?;
            let op = binop(&op);
            self.check_binary(op, lhs.ty, rhs.ty, at)?;
            let depth = 1 + lhs.depth.max(rhs.depth);
            lhs = Self::node(Expr::Binary(op, Box::new(lhs.expr), Box::new(rhs.expr)), Ty::Num, depth, at)?;
        }
        Ok(lhs)
    }

    fn check_binary(&self, op: BinOp, a: Ty, b: Ty, at: usize) -> Result<(), SyntaxError> {
        let what = format!("operator '{}'", op.symbol());
        match op {
            BinOp::And | BinOp::Or => Ok(()),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if (a == Ty::Num && b == Ty::Text) || (a == Ty::Text && b == Ty::Num) {
                    return Err(SyntaxError::new(format!("{what} compares a number with text"), at));
                }
                Ok(())
            }
            _ => {
                needs_number(&what, a, at)?;
                needs_number(&what, b, at)
            }
        }
    }

    fn prefix(&mut self) -> Result<Node, SyntaxError> {
        let (tok, at) = self.next();
        match tok {
            Tok::Num(n) => Ok(Node { expr: Expr::Num(n), ty: Ty::Num, depth: 1 }),
            Tok::Str(s) => Ok(Node { expr: Expr::Str(s), ty: Ty::Text, depth: 1 }),
            Tok::LParen => {
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "')'")?;
                Ok(inner)
            }
            Tok::Minus | Tok::Bang => {
                let operand = self.expr(PREFIX_BP)?;
                let op = if tok == Tok::Minus { UnOp::Neg } else { UnOp::Not };
                if op == UnOp::Neg {
                    needs_number("operator '-'", operand.ty, at)?;
                }
                Self::node(Expr::Unary(op, Box::new(operand.expr)), Ty::Num, operand.depth + 1, at)
            }
            Tok::Ident(name) if *self.peek() == Tok::LParen => self.call(&name, at),
            Tok::Ident(name) => {
                let var = Var::resolve(&name).map_err(|m| SyntaxError::new(m, at))?;
                Ok(Node { ty: var.ty(), expr: Expr::Var(var), depth: 1 })
            }
            Tok::Eof => Err(SyntaxError::new("unexpected end of expression", at)),
            other => Err(SyntaxError::new(format!("unexpected {}", other.describe()), at)),
        }
    }

    fn call(&mut self, name: &str, at: usize) -> Result<Node, SyntaxError> {
        let lower = name.to_ascii_lowercase();
        let func = match BUILT_IN.iter().find(|(n, _)| *n == lower) {
            Some((_, f)) => f.clone(),
            None => match self.user_functions.iter().position(|n| *n == lower) {
                Some(i) => Func::User(lower, i),
                None => return Err(SyntaxError::new(format!("unknown function '{name}'"), at)),
            },
        };
        self.next(); // '('
        let mut args: Vec<Node> = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                if args.len() == MAX_ARGS {
                    return Err(SyntaxError::new(format!("more than {MAX_ARGS} arguments"), self.at()));
                }
                args.push(self.expr(0)?);
                if *self.peek() == Tok::Comma {
                    self.next();
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "',' or ')'")?;
        let arities = func.arities();
        if !arities.contains(&args.len()) {
            let want = match arities {
                [n] => n.to_string(),
                [a, b] => format!("{a} or {b}"),
                _ => format!("{} to {}", arities[0], arities[arities.len() - 1]),
            };
            return Err(SyntaxError::new(format!("{}() takes {want} arguments, got {}", func.name(), args.len()), at));
        }
        let what = format!("{}()", func.name());
        for (i, arg) in args.iter().enumerate() {
            match func {
                Func::ToUnixTimestamp => {
                    if let Expr::Str(s) = &arg.expr {
                        if super::decay::parse_time(s).is_none() {
                            return Err(SyntaxError::new(format!("{what}: {s:?} is not a date"), at));
                        }
                    }
                }
                Func::Dist if i == 4 => match &arg.expr {
                    Expr::Str(u) if DIST_UNITS.contains(&u.as_str()) => {}
                    _ => {
                        let units = DIST_UNITS.join(", ");
                        return Err(SyntaxError::new(format!("{what}: the unit must be one of {units}"), at));
                    }
                },
                _ => needs_number(&what, arg.ty, at)?,
            }
        }
        let depth = 1 + args.iter().map(|a| a.depth).max().unwrap_or(0);
        Self::node(Expr::Call(func, args.into_iter().map(|a| a.expr).collect()), Ty::Num, depth, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> String {
        parse(text, &["boost".into()]).map(|e| e.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(p("1 + 2 * 3"), "(1.0 + (2.0 * 3.0))");
        assert_eq!(p("1 - 2 - 3"), "((1.0 - 2.0) - 3.0)");
        assert_eq!(p("2 ^ 3 ^ 2"), "(2.0 ^ (3.0 ^ 2.0))");
        assert_eq!(p("-a ^ 2"), "(-(a ^ 2.0))");
        assert_eq!(p("2 ^ -1"), "(2.0 ^ (-1.0))");
        assert_eq!(p("a > 1 && b < 2 || !c"), "(((a > 1.0) && (b < 2.0)) || (!c))");
        assert_eq!(p("a ? b : c ? d : e"), "(a ? b : (c ? d : e))");
        assert_eq!(p("popularity > 0 ? popularity : 1"), "((popularity > 0.0) ? popularity : 1.0)");
        assert_eq!(p("MAX(1, 2, reaction_counts.like)"), "max(1.0, 2.0, reaction_counts.like)");
        assert_eq!(p("Boost(time) * custom.a.b"), "(boost(time) * custom.a.b)");
        assert_eq!(p("type == 'post'"), "(type == \"post\")");
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(p("decay_exp(time))"), "error: unexpected ')' at 16");
        assert_eq!(p("(1 + 2"), "error: expected ')', found end of expression at 7");
        assert_eq!(p("1 +"), "error: unexpected end of expression at 4");
        assert_eq!(p("foo(1)"), "error: unknown function 'foo' at 1");
        assert_eq!(p("ln(1, 2)"), "error: ln() takes 1 arguments, got 2 at 1");
        assert_eq!(p("1 + type"), "error: operator '+' needs a number, not text at 3");
        assert_eq!(p("type == 1"), "error: operator '==' compares a number with text at 6");
        assert_eq!(p("dist(1, 2, 3, 4, 'parsecs')"), "error: dist(): the unit must be one of km, K, M, mi, N, nm at 1");
        assert_eq!(p("to_unix_timestamp('soon')"), "error: to_unix_timestamp(): \"soon\" is not a date at 1");
        assert_eq!(p("reaction_counts + 1"), "error: 'reaction_counts' needs a key, as in 'reaction_counts.like' at 1");
        assert_eq!(p("a.b"), "error: unknown variable 'a.b' at 1");
        assert_eq!(p(""), "error: empty expression at 1");
        assert_eq!(p("1 2"), "error: unexpected number 2 at 3");
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(p(&deep).contains("nests deeper than 64"));
        let long = vec!["1"; 200].join(" + ");
        assert!(p(&long).contains("nests deeper than 64"));
        let negs = format!("{}1", "-".repeat(100));
        assert!(p(&negs).contains("nests deeper than 64"));
        let ok = vec!["1"; 60].join(" + ");
        assert!(!p(&ok).contains("error"));
    }
}
