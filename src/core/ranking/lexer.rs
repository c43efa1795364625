//! Tokens of the score language, each with the 1-based character column it
//! starts at (what error messages name).

use super::syntax::{SyntaxError, MAX_LEN};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(f64),
    Str(String),
    /// A name, dots included: `time`, `reaction_counts.like`, `custom.a.b`.
    Ident(String),
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Bang,
    AndAnd,
    OrOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Question,
    Colon,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        let s = match self {
            Tok::Num(n) => return format!("number {n}"),
            Tok::Str(_) => return "string".to_string(),
            Tok::Ident(name) => return format!("'{name}'"),
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Caret => "^",
            Tok::Bang => "!",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Question => "?",
            Tok::Colon => ":",
            Tok::Eof => return "end of expression".to_string(),
        };
        format!("'{s}'")
    }
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits `text` into tokens, ending with `Eof`.
pub fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > MAX_LEN {
        return Err(SyntaxError::new(format!("longer than {MAX_LEN} characters"), MAX_LEN + 1));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let two = |t: Tok| (t, 2);
        let (tok, len) = match (c, next) {
            ('&', Some('&')) => two(Tok::AndAnd),
            ('|', Some('|')) => two(Tok::OrOr),
            ('=', Some('=')) => two(Tok::Eq),
            ('!', Some('=')) => two(Tok::Ne),
            ('<', Some('=')) => two(Tok::Le),
            ('>', Some('=')) => two(Tok::Ge),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('^', _) => (Tok::Caret, 1),
            ('!', _) => (Tok::Bang, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('?', _) => (Tok::Question, 1),
            (':', _) => (Tok::Colon, 1),
            ('"' | '\'', _) => string(&chars, i)?,
            (c, _) if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                number(&chars, i)?
            }
            (c, _) if ident_start(c) => ident(&chars, i)?,
            ('=', _) => return Err(SyntaxError::new("unexpected '=' (comparison is '==')", at)),
            ('&', _) => return Err(SyntaxError::new("unexpected '&' (logical and is '&&')", at)),
            ('|', _) => return Err(SyntaxError::new("unexpected '|' (logical or is '||')", at)),
            (c, _) => return Err(SyntaxError::new(format!("unexpected character {c:?}"), at)),
        };
        out.push((tok, at));
        i += len;
    }
    out.push((Tok::Eof, chars.len() + 1));
    Ok(out)
}

fn number(chars: &[char], start: usize) -> Result<(Tok, usize), SyntaxError> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_ascii_digit()) {
            *i += 1;
        }
    };
    digits(&mut i);
    if chars.get(i) == Some(&'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            i = j;
            digits(&mut i);
        }
    }
    let text: String = chars[start..i].iter().collect();
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok((Tok::Num(n), i - start)),
        _ => Err(SyntaxError::new(format!("number {text} is out of range"), start + 1)),
    }
}

fn string(chars: &[char], start: usize) -> Result<(Tok, usize), SyntaxError> {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(SyntaxError::new("unterminated string", start + 1)),
            Some(&c) if c == quote => return Ok((Tok::Str(out), i + 1 - start)),
            Some('\\') => {
                match chars.get(i + 1) {
                    Some(&c @ ('\\' | '"' | '\'')) => out.push(c),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    _ => return Err(SyntaxError::new("unknown escape in string", i + 1)),
                }
                i += 2;
            }
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

fn ident(chars: &[char], start: usize) -> Result<(Tok, usize), SyntaxError> {
    let mut i = start;
    loop {
        while chars.get(i).is_some_and(|&c| ident_char(c)) {
            i += 1;
        }
        // A dot continues the name only when a name part follows it.
        if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|&c| ident_char(c)) {
            i += 1;
        } else {
            break;
        }
    }
    Ok((Tok::Ident(chars[start..i].iter().collect()), i - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_column() {
        let toks = tokenize("a.b >= 1.5e3 && 'x'").unwrap();
        assert_eq!(
            toks,
            vec![
                (Tok::Ident("a.b".into()), 1),
                (Tok::Ge, 5),
                (Tok::Num(1500.0), 8),
                (Tok::AndAnd, 14),
                (Tok::Str("x".into()), 17),
                (Tok::Eof, 20),
            ]
        );
    }

    #[test]
    fn bad_input_names_the_column() {
        assert_eq!(tokenize("1 = 2").unwrap_err().at, 3);
        assert_eq!(tokenize("1 + 'abc").unwrap_err().at, 5);
        assert_eq!(tokenize("1e999").unwrap_err().at, 1);
        assert_eq!(tokenize("1 # 2").unwrap_err().at, 3);
    }
}
