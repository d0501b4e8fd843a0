//! Property tests ("fuzzing") of what turns user input into SQL: the template parser and
//! renderer, SQL literals, identifier validation and config parsing. None may panic, and
//! nothing a user writes may escape its quotes.

use proptest::prelude::*;
use vecsync::config::{validate_identifier, Config};
use vecsync::template::{sql_string_literal, Template};

/// Escapes text so the template parser reads it as a literal.
fn escape(s: &str) -> String {
    s.replace('{', "{{").replace('}', "}}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn template_parser_never_panics(text in ".{0,200}") {
        if let Ok(t) = Template::parse(&text) {
            let _ = t.render(|_| Some("v"));
            prop_assert!(!t.columns().is_empty());
        }
    }

    #[test]
    fn escaped_literals_round_trip(prefix in ".{0,80}", suffix in ".{0,80}", value in ".{0,40}") {
        let t = Template::parse(&format!("{}{{col}}{}", escape(&prefix), escape(&suffix))).unwrap();
        prop_assert_eq!(t.columns(), vec!["col"]);
        prop_assert_eq!(t.render(|_| Some(value.as_str())), format!("{prefix}{value}{suffix}"));
    }

    /// Whatever a template's literal text holds, SQLite reads back exactly that text from
    /// the SQL the stores generate: no quote escapes.
    #[test]
    fn sql_literals_cannot_escape(s in "[^\u{0}]{0,120}") {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = format!("SELECT {}", sql_string_literal(&s));
        let back: String = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
        prop_assert_eq!(back, s);
    }

    #[test]
    fn accepted_identifiers_are_plain(name in ".{0,80}") {
        if validate_identifier("x", &name).is_ok() {
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            prop_assert!(!name.is_empty() && name.len() <= 63);
        }
    }

    #[test]
    fn config_parser_never_panics(text in "(\\[[a-z]{0,8}\\]\n)?([a-z_]{1,12} = (\"[^\"\n]{0,20}\"|[0-9]{1,4}|true)\n){0,6}") {
        if let Ok(c) = Config::from_toml(&text, "fuzz.toml") {
            let _ = c.validate();
        }
    }

    #[test]
    fn config_errors_are_one_line(text in ".{0,200}") {
        if let Err(e) = Config::from_toml(&text, "fuzz.toml") {
            prop_assert!(e.to_string().starts_with("fuzz.toml"));
        }
    }
}
