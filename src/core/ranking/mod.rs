//! Ranking expressions: the score language of `RankingConfig` (reference:
//! ranking.md §1, user docs: docs/ranking.md).
//!
//! A config is compiled once (`config::compile`): the `score` text is
//! tokenised (`lexer`), parsed by a bounded Pratt parser that also
//! type-checks (`parser`) into an AST (`ast`), and the named decay functions
//! are resolved (`decay`). Evaluating (`eval`) walks that AST against an
//! `Inputs` implementation and never panics: every result is a finite number.

pub mod ast;
pub mod config;
pub mod decay;
pub mod eval;
pub mod lexer;
pub mod parser;
#[cfg(test)]
mod proptests;
pub mod syntax;

pub use ast::{Expr, Func, Var};
pub use config::{compile, Ranking, RankingKind};
pub use eval::{ActivityInputs, Env, Inputs, Value};
pub use syntax::SyntaxError;
