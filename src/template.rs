//! The text template: `{title} at {company}\n\n{description}`.
//!
//! A template is parsed once into literal and column parts. Stores compile it into a SQL
//! expression ([`Template::to_sql`]) so that the database renders the text: the same
//! expression renders the text to embed, the hash that decides whether a row is stale,
//! and the guard that refuses to write a vector for text that changed mid-flight. One
//! renderer means the three can never disagree. [`Template::render`] is the same rule in
//! Rust, used where no database is involved (tests, fuzzing, documentation).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Column(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// `{name}` is a column; `{{` and `}}` are literal braces.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) => {
                                return Err(TemplateError(format!(
                                    "'{{' inside a column name at byte {pos}"
                                )))
                            }
                            Some((_, c)) => name.push(c),
                            None => {
                                return Err(TemplateError(format!(
                                    "unclosed '{{' at byte {pos} (write '{{{{' for a literal brace)"
                                )))
                            }
                        }
                    }
                    let name = name.trim().to_string();
                    if name.is_empty() {
                        return Err(TemplateError(format!("empty column name at byte {pos}")));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Column(name));
                }
                '}' => {
                    return Err(TemplateError(format!(
                        "unmatched '}}' at byte {pos} (write '}}}}' for a literal brace)"
                    )))
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Column(_))) {
            return Err(TemplateError(
                "names no column; write column names in braces, e.g. \"{title}\"".into(),
            ));
        }
        Ok(Template { parts })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Distinct column names in order of first use.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.parts {
            if let Part::Column(c) = p {
                if !out.contains(&c.as_str()) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Renders with `value(column)`; `None` (SQL NULL) renders as the empty string.
    pub fn render<'a>(&self, mut value: impl FnMut(&str) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::Column(c) => out.push_str(value(c).unwrap_or("")),
            }
        }
        out
    }

    /// A SQL expression that renders the template: `column(name)` must return a text
    /// expression that is `''` for NULL; `literal(s)` a bound or quoted literal; `concat`
    /// joins the pieces. The store supplies the dialect.
    pub fn to_sql(
        &self,
        column: impl Fn(&str) -> String,
        literal: impl Fn(&str) -> String,
        concat: impl Fn(&[String]) -> String,
    ) -> String {
        let pieces: Vec<String> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => literal(l),
                Part::Column(c) => column(c),
            })
            .collect();
        concat(&pieces)
    }
}

/// A SQL string literal with quotes doubled (standard SQL; valid for SQLite and for
/// PostgreSQL with standard_conforming_strings, the default since 9.1).
pub fn sql_string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Hex MD5 of the rendered text: what PostgreSQL's `md5(text)` returns, so the database can
/// compare a row's current text with the text that was embedded without sending it back.
pub fn text_hash(text: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_and_literals() {
        let t = Template::parse("{title} at {company}\n\n{description} {title}").unwrap();
        assert_eq!(t.columns(), vec!["title", "company", "description"]);
        let text = t.render(|c| match c {
            "title" => Some("Nurse"),
            "company" => Some("Mercy"),
            _ => None,
        });
        assert_eq!(text, "Nurse at Mercy\n\n Nurse");
    }

    #[test]
    fn escaped_braces() {
        let t = Template::parse("{{x}} {a}").unwrap();
        assert_eq!(t.render(|_| Some("1")), "{x} 1");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("{a").unwrap_err().0.contains("unclosed"));
        assert!(Template::parse("a}").unwrap_err().0.contains("unmatched"));
        assert!(Template::parse("{}").unwrap_err().0.contains("empty"));
        assert!(Template::parse("plain")
            .unwrap_err()
            .0
            .contains("no column"));
    }

    #[test]
    fn sql_literal_escapes_quotes() {
        assert_eq!(sql_string_literal("it's"), "'it''s'");
    }

    #[test]
    fn hash_matches_postgres_md5() {
        // SELECT md5('hello') in PostgreSQL.
        assert_eq!(text_hash("hello"), "5d41402abc4b2a76b9719d911017c592");
    }
}
