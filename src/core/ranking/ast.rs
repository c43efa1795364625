//! The compiled form of a score expression, and its printed form: printing
//! parenthesises every operation, so `parse(print(e))` gives `e` back.

use std::fmt;

/// A variable the expression reads from the activity being scored (or from
/// the read, for `External`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Var {
    /// Creation time, UNIX seconds.
    Time,
    /// Seconds since creation, at the evaluation's `now`.
    Age,
    Type,
    Popularity,
    ReactionCount,
    ReactionCounts(String),
    CommentCount,
    BookmarkCount,
    ShareCount,
    InterestScore,
    PreferenceScore,
    SelectorSource,
    /// A path into the activity's `custom` data.
    Custom(Vec<String>),
    /// Any other bare name: a read-time input (`external_ranking`) or a
    /// `defaults` entry.
    External(String),
}

/// What a variable holds, for the config-time type check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Num,
    Text,
    /// Known only at evaluation time (custom data, external inputs).
    Any,
}

const NUMERIC: &[(&str, Var)] = &[
    ("time", Var::Time),
    ("age", Var::Age),
    ("popularity", Var::Popularity),
    ("reaction_count", Var::ReactionCount),
    ("comment_count", Var::CommentCount),
    ("bookmark_count", Var::BookmarkCount),
    ("share_count", Var::ShareCount),
    ("interest_score", Var::InterestScore),
    ("preference_score", Var::PreferenceScore),
];

impl Var {
    /// The variable a name in an expression (or a `defaults` key) means.
    pub fn resolve(name: &str) -> Result<Var, String> {
        if let Some((_, v)) = NUMERIC.iter().find(|(n, _)| *n == name) {
            return Ok(v.clone());
        }
        match name {
            "type" => return Ok(Var::Type),
            "selector_source" => return Ok(Var::SelectorSource),
            "reaction_counts" | "custom" => return Err(format!("'{name}' needs a key, as in '{name}.like'")),
            _ => {}
        }
        if let Some(kind) = name.strip_prefix("reaction_counts.") {
            if kind.contains('.') {
                return Err(format!("unknown variable '{name}'"));
            }
            return Ok(Var::ReactionCounts(kind.to_string()));
        }
        if let Some(path) = name.strip_prefix("custom.") {
            return Ok(Var::Custom(path.split('.').map(str::to_string).collect()));
        }
        if name.contains('.') {
            return Err(format!("unknown variable '{name}'"));
        }
        Ok(Var::External(name.to_string()))
    }

    pub fn ty(&self) -> Ty {
        match self {
            Var::Type | Var::SelectorSource => Ty::Text,
            Var::Custom(_) | Var::External(_) => Ty::Any,
            _ => Ty::Num,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Var::ReactionCounts(kind) => format!("reaction_counts.{kind}"),
            Var::Custom(path) => format!("custom.{}", path.join(".")),
            Var::External(name) => name.clone(),
            Var::Type => "type".into(),
            Var::SelectorSource => "selector_source".into(),
            other => NUMERIC.iter().find(|(_, v)| v == other).map(|(n, _)| n.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Func {
    Ln,
    Log,
    Sin,
    Cos,
    Tan,
    Abs,
    Min,
    Max,
    Trunc,
    Round,
    DecayLinear,
    DecayExp,
    DecayGauss,
    Rand,
    RandNormal,
    ToUnixTimestamp,
    Dist,
    /// A decay function of the config's `functions`, by name and by its
    /// index in the compiled table.
    User(String, usize),
}

pub const BUILT_IN: &[(&str, Func)] = &[
    ("ln", Func::Ln),
    ("log", Func::Log),
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("tan", Func::Tan),
    ("abs", Func::Abs),
    ("min", Func::Min),
    ("max", Func::Max),
    ("trunc", Func::Trunc),
    ("round", Func::Round),
    ("decay_linear", Func::DecayLinear),
    ("decay_exp", Func::DecayExp),
    ("decay_gauss", Func::DecayGauss),
    ("rand", Func::Rand),
    ("rand_normal", Func::RandNormal),
    ("to_unix_timestamp", Func::ToUnixTimestamp),
    ("dist", Func::Dist),
];

impl Func {
    pub fn name(&self) -> &str {
        match self {
            Func::User(name, _) => name,
            other => BUILT_IN.iter().find(|(_, f)| f == other).map(|(n, _)| *n).unwrap_or_default(),
        }
    }

    /// The argument counts the function accepts.
    pub fn arities(&self) -> &'static [usize] {
        match self {
            Func::Min | Func::Max => &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
            Func::Rand => &[0, 2],
            Func::RandNormal => &[0, 4],
            Func::Dist => &[4, 5],
            _ => &[1],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    Var(Var),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `{:?}` prints the shortest text that reads back as the same f64.
            Expr::Num(n) => write!(f, "{n:?}"),
            Expr::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Expr::Var(v) => f.write_str(&v.name()),
            Expr::Unary(UnOp::Neg, e) => write!(f, "(-{e})"),
            Expr::Unary(UnOp::Not, e) => write!(f, "(!{e})"),
            Expr::Binary(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Expr::Ternary(c, a, b) => write!(f, "({c} ? {a} : {b})"),
            Expr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}
