//! Deterministic, realistic job postings for `vecsync demo`.
//!
//! Each of the 16 fields (nursing, trucking, software, finance, ...) has kinds of
//! employers (company names, blurbs about them, the roles they hire for), roles (titles,
//! seniority, role-specific duties) and field-wide pools of duties, requirements, perks,
//! schedules and pay: the data file `vocabulary.toml` (loaded by `vocabulary.rs`).
//! [`generate`] draws from them with a seeded ChaCha8 RNG (`generate.rs`), so the same
//! seed always gives byte-identical rows, and the first `k` postings of
//! `generate(n, seed)` are the postings of `generate(k, seed)`. About 2% of postings are
//! exact reposts of an earlier one, as on real job boards.
//!
//! [`populate_sqlite`] creates the demo `jobs` table and inserts the postings that are
//! not there yet.

mod generate;
mod vocabulary;

use std::collections::HashSet;

/// One row of the demo `jobs` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPosting {
    pub id: i64,
    pub title: String,
    pub company: String,
    pub location: String,
    pub employment_type: String,
    pub salary: Option<String>,
    pub description: String,
    pub is_active: bool,
}

pub const DEFAULT_SEED: u64 = 42;

/// The SQL (SQLite dialect) that creates the demo table if it is missing.
pub const SQLITE_SCHEMA: &str = include_str!("schema.sql");

/// Two example queries the demo runs, each with the field (see [`field_of`]) whose
/// postings it should find.
pub const EXAMPLE_QUERIES: &[(&str, &str)] = &[
    ("night shift nurse in a hospital", "nursing"),
    ("truck driver CDL long haul", "trucking"),
];

/// Deterministic postings with ids `1..=n`. About 5% are inactive (`is_active = false`),
/// `salary` is `None` for about 20%, and about 2% repeat an earlier posting's content.
pub fn generate(n: usize, seed: u64) -> Vec<JobPosting> {
    generate::tagged(n, seed)
        .into_iter()
        .map(|(posting, _)| posting)
        .collect()
}

/// The field (e.g. `"nursing"`, `"trucking"`, `"software"`) a generated title belongs
/// to, or `None` for a title the generator does not produce.
pub fn field_of(title: &str) -> Option<&'static str> {
    vocabulary::vocabulary()
        .fields
        .iter()
        .flat_map(|f| f.titles().map(move |t| (f.name.as_str(), t)))
        .filter(|(_, base)| title.contains(base))
        .max_by_key(|(_, base)| base.len())
        .map(|(name, _)| name)
}

/// Creates the table `jobs` if missing and inserts the rows `1..=n` that are not there
/// yet, in one transaction with a prepared statement. Returns the number of rows
/// inserted. Must not be called inside an open transaction.
pub fn populate_sqlite(
    conn: &rusqlite::Connection,
    n: usize,
    seed: u64,
) -> rusqlite::Result<usize> {
    conn.execute_batch(SQLITE_SCHEMA)?;
    let tx = conn.unchecked_transaction()?;
    let existing: HashSet<i64> = {
        let mut stmt = tx.prepare("SELECT id FROM jobs WHERE id BETWEEN 1 AND ?1")?;
        let ids = stmt.query_map([n as i64], |row| row.get(0))?;
        ids.collect::<rusqlite::Result<_>>()?
    };
    let mut inserted = 0;
    if existing.len() < n {
        let mut insert = tx.prepare(include_str!("insert.sql"))?;
        for p in generate(n, seed) {
            if existing.contains(&p.id) {
                continue;
            }
            insert.execute(rusqlite::params![
                p.id,
                p.title,
                p.company,
                p.location,
                p.employment_type,
                p.salary,
                p.description,
                p.is_active,
            ])?;
            inserted += 1;
        }
    }
    tx.commit()?;
    Ok(inserted)
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    #[test]
    fn same_seed_gives_identical_rows_and_prefixes_are_stable() {
        let a = generate(1000, DEFAULT_SEED);
        let b = generate(1000, DEFAULT_SEED);
        assert_eq!(a, b);
        let short = generate(300, DEFAULT_SEED);
        assert_eq!(short[..], a[..300]);
        let other = generate(1000, 7);
        assert_ne!(a, other);
        let ids: Vec<i64> = a.iter().map(|p| p.id).collect();
        assert_eq!(ids, (1..=1000).collect::<Vec<i64>>());
    }

    #[test]
    fn five_thousand_rows_are_varied() {
        let rows = generate(5000, DEFAULT_SEED);
        assert_eq!(rows.len(), 5000);

        let titles: BTreeSet<&str> = rows.iter().map(|p| p.title.as_str()).collect();
        let companies: BTreeSet<&str> = rows.iter().map(|p| p.company.as_str()).collect();
        let locations: BTreeSet<&str> = rows.iter().map(|p| p.location.as_str()).collect();
        let types: BTreeSet<&str> = rows.iter().map(|p| p.employment_type.as_str()).collect();
        assert!(titles.len() >= 30, "{} distinct titles", titles.len());
        assert!(
            companies.len() >= 50,
            "{} distinct companies",
            companies.len()
        );
        assert!(
            locations.len() >= 40,
            "{} distinct locations",
            locations.len()
        );
        assert!(types.len() >= 5, "{types:?}");

        let descriptions: BTreeSet<&str> = rows.iter().map(|p| p.description.as_str()).collect();
        let duplicates = rows.len() - descriptions.len();
        assert!(duplicates > 0, "job boards repeat some postings");
        assert!(
            duplicates * 100 < rows.len() * 5,
            "{duplicates} duplicate descriptions"
        );

        let in_range = rows
            .iter()
            .filter(|p| (100..=300).contains(&words(&p.description)))
            .count();
        assert!(
            in_range * 100 >= rows.len() * 95,
            "{in_range} descriptions of 100-300 words"
        );
        assert!(rows
            .iter()
            .all(|p| (80..=340).contains(&words(&p.description))));

        let inactive = rows.iter().filter(|p| !p.is_active).count();
        assert!((150..=350).contains(&inactive), "{inactive} inactive");
        let no_salary = rows.iter().filter(|p| p.salary.is_none()).count();
        assert!(
            (800..=1200).contains(&no_salary),
            "{no_salary} without salary"
        );
    }

    #[test]
    fn text_is_fully_rendered() {
        for p in generate(2000, DEFAULT_SEED) {
            for text in [&p.title, &p.company, &p.location, &p.description] {
                assert!(!text.contains('{') && !text.contains('}'), "{text}");
                assert!(!text.contains("  ") && !text.contains(" ."), "{text}");
                assert!(!text.to_lowercase().contains("lorem"), "{text}");
            }
            for vowel in ["A", "E", "I", "O", "U"] {
                assert!(
                    !p.description.contains(&format!(" a {vowel}")),
                    "{}",
                    p.description
                );
            }
            if let Some(s) = &p.salary {
                assert!(s.starts_with('$'), "{s}");
                assert!(
                    p.description.contains(s.as_str()),
                    "salary is stated in the text"
                );
            }
        }
    }

    #[test]
    fn every_field_appears_and_titles_map_back_to_it() {
        let rows = generate::tagged(5000, DEFAULT_SEED);
        let mut per_field: BTreeMap<&str, usize> = BTreeMap::new();
        for (posting, field) in &rows {
            *per_field.entry(field).or_default() += 1;
            assert_eq!(field_of(&posting.title), Some(*field), "{}", posting.title);
        }
        for field in &vocabulary::vocabulary().fields {
            let count = per_field.get(field.name.as_str()).copied().unwrap_or(0);
            assert!(count >= 50, "{}: {count} postings", field.name);
        }
        assert_eq!(field_of("Astronaut"), None);
    }

    #[test]
    fn example_queries_have_their_vocabulary_in_their_field() {
        let rows = generate::tagged(5000, DEFAULT_SEED);
        let fields = &vocabulary::vocabulary().fields;
        for (query, field) in EXAMPLE_QUERIES {
            assert!(
                fields.iter().any(|f| f.name == *field),
                "{query}: unknown field {field}"
            );
        }
        let nursing: Vec<&JobPosting> = rows
            .iter()
            .filter(|(_, f)| *f == "nursing")
            .map(|(p, _)| p)
            .collect();
        assert!(nursing.iter().all(|p| p.title.contains("Nurse")));
        let night_hospital = nursing
            .iter()
            .filter(|p| p.description.contains("hospital") && p.description.contains("night"))
            .count();
        assert!(
            night_hospital * 4 > nursing.len(),
            "{night_hospital} of {}",
            nursing.len()
        );

        let trucking: Vec<&JobPosting> = rows
            .iter()
            .filter(|(_, f)| *f == "trucking")
            .map(|(p, _)| p)
            .collect();
        assert!(trucking.iter().all(|p| p.title.contains("Truck Driver")));
        assert!(trucking.iter().all(|p| p.description.contains("truck")));
        assert!(trucking.iter().any(|p| p.title.contains("Long Haul")));
    }

    #[test]
    fn salaries_are_hourly_yearly_or_per_mile() {
        let salaries: BTreeSet<String> = generate(5000, DEFAULT_SEED)
            .into_iter()
            .filter_map(|p| p.salary)
            .collect();
        for unit in ["per hour", "per year", "per mile"] {
            assert!(salaries.iter().any(|s| s.ends_with(unit)), "{unit}");
        }
    }

    #[test]
    fn generating_five_thousand_rows() {
        let rows = generate(5000, DEFAULT_SEED);
        assert_eq!(rows.last().map(|p| p.id), Some(5000));
    }

    /// md5 of every field of every row, each field followed by a 0 byte (a missing
    /// salary is one 0xff byte, which no UTF-8 text contains).
    fn fingerprint(rows: &[JobPosting]) -> String {
        use md5::{Digest, Md5};
        let mut h = Md5::new();
        for p in rows {
            let id = p.id.to_string();
            let active = if p.is_active { "1" } else { "0" };
            let fields = [
                Some(id.as_str()),
                Some(p.title.as_str()),
                Some(p.company.as_str()),
                Some(p.location.as_str()),
                Some(p.employment_type.as_str()),
                p.salary.as_deref(),
                Some(p.description.as_str()),
                Some(active),
            ];
            for field in fields {
                match field {
                    Some(text) => h.update(text.as_bytes()),
                    None => h.update([0xff]),
                }
                h.update([0]);
            }
        }
        hex::encode(h.finalize())
    }

    /// The demo's rows are part of its figures (search examples, benchmarks, docs): any
    /// change to the vocabulary or the generator that alters them fails here. If the
    /// change is wanted, update the pins and say so in the commit message.
    #[test]
    fn rows_are_pinned() {
        let pins = [
            (DEFAULT_SEED, "d9adfe4f6cdcc9ef6ca490dff776639c"),
            (7, "de2ec1155852b6f745707ddf1dbdc042"),
            (99, "b575f95cd45e28372f215399e1953a67"),
        ];
        for (seed, pin) in pins {
            assert_eq!(fingerprint(&generate(5000, seed)), pin, "seed {seed}");
        }
    }

    #[test]
    fn populate_sqlite_is_idempotent_and_fills_gaps() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        assert_eq!(populate_sqlite(&conn, 200, DEFAULT_SEED).unwrap(), 200);
        assert_eq!(populate_sqlite(&conn, 200, DEFAULT_SEED).unwrap(), 0);
        assert_eq!(populate_sqlite(&conn, 300, DEFAULT_SEED).unwrap(), 100);
        conn.execute("DELETE FROM jobs WHERE id IN (5, 17)", [])
            .unwrap();
        assert_eq!(populate_sqlite(&conn, 300, DEFAULT_SEED).unwrap(), 2);
        assert_eq!(populate_sqlite(&conn, 100, DEFAULT_SEED).unwrap(), 0);

        let count: i64 = conn
            .query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 300);

        let expected = generate(300, DEFAULT_SEED);
        let mut stmt = conn
            .prepare(
                "SELECT id, title, company, location, employment_type, salary, description, is_active
                 FROM jobs ORDER BY id",
            )
            .unwrap();
        let stored: Vec<JobPosting> = stmt
            .query_map([], |r| {
                Ok(JobPosting {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    company: r.get(2)?,
                    location: r.get(3)?,
                    employment_type: r.get(4)?,
                    salary: r.get(5)?,
                    description: r.get(6)?,
                    is_active: r.get(7)?,
                })
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored, expected);

        let embedded: i64 = conn
            .query_row(
                "SELECT count(*) FROM jobs WHERE embedding IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(embedded, 0);
    }

    #[test]
    fn schema_enforces_not_null() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        populate_sqlite(&conn, 10, DEFAULT_SEED).unwrap();
        let not_null: BTreeMap<String, bool> = conn
            .prepare("PRAGMA table_info(jobs)")
            .unwrap()
            .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, bool>(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for column in [
            "title",
            "company",
            "location",
            "employment_type",
            "description",
            "is_active",
        ] {
            assert_eq!(not_null.get(column), Some(&true), "{column}");
        }
        for column in ["salary", "embedding"] {
            assert_eq!(not_null.get(column), Some(&false), "{column}");
        }
        let null_title = conn.execute(
            "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
             VALUES (1000, NULL, 'c', 'l', 'Full-time', 'd', 1)",
            [],
        );
        assert!(null_title.is_err());
        let null_salary = conn.execute(
            "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
             VALUES (1001, 't', 'c', 'l', 'Full-time', 'd', 1)",
            [],
        );
        assert_eq!(null_salary.unwrap(), 1);
    }
}
