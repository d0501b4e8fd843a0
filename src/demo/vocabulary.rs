//! The words the demo's job postings are made of: `vocabulary.toml`, compiled into the
//! binary and parsed once (on first use) into the typed structs below.
//!
//! The generator draws from every list by position, so the order of the items is part of
//! the generated rows. References by name (an employer's roles, a role's level set, a
//! field's shared schedule set) are checked when the file is loaded.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    Vocabulary::parse(include_str!("vocabulary.toml"))
        .unwrap_or_else(|e| panic!("src/demo/vocabulary.toml: {e}"))
});

/// The vocabulary compiled into the binary. Panics on first use if `vocabulary.toml` is
/// malformed (the unit tests load it, so such an edit cannot ship).
pub(super) fn vocabulary() -> &'static Vocabulary {
    &VOCABULARY
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Vocabulary {
    /// The level of every internship, whatever its role.
    pub intern_level: Level,
    /// Seniority level sets by name (`"entry"`, `"career"`, ...).
    levels: HashMap<String, Vec<Level>>,
    /// Schedule sets shared by several fields, by name.
    schedules: HashMap<String, Vec<Schedule>>,
    pub shared: Shared,
    pub fields: Vec<Field>,
}

/// Pools every field draws from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Shared {
    /// `"City, ST"`; the part before the comma fills `{city}`.
    pub cities: Vec<String>,
    /// The second sentence about the company.
    pub culture: Vec<String>,
    /// The experience requirement when a level asks for no experience.
    pub entry_level: Vec<String>,
    /// Opens a requirements paragraph that is not a bulleted list.
    pub requirements_openers: Vec<String>,
    /// General benefits; every posting lists three.
    pub benefits: Vec<String>,
    /// The last sentence of a posting.
    pub closings: Vec<String>,
}

/// One field of work (nursing, trucking, ...). Sentences may use `{company}`, `{city}`,
/// `{title}` and `{manager}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Field {
    pub name: String,
    /// Relative share of postings.
    pub weight: u32,
    pub pay: Pay,
    /// Who the role reports to.
    pub manager: String,
    /// Whether postings may be remote or hybrid.
    pub remote_ok: bool,
    /// Employment types (`"Full-time"`, ...) with their relative weights.
    pub employment_types: Vec<(String, u32)>,
    schedules: Schedules,
    /// Responsibilities shared by every role of the field, one sentence each.
    pub duties: Vec<String>,
    pub requirements: Vec<String>,
    /// Field-specific benefits, one sentence each.
    pub perks: Vec<String>,
    pub employers: Vec<Employer>,
    /// The roles the employers hire for, by name.
    roles: HashMap<String, Role>,
}

/// A kind of employer: company names, first sentences about such a company, and the
/// names of the roles it hires for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Employer {
    pub names: Vec<String>,
    pub intros: Vec<String>,
    pub roles: Vec<String>,
}

/// Job titles that share a level set and role-specific responsibilities.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Role {
    pub titles: Vec<String>,
    /// The name of a level set in [`Vocabulary::levels`].
    levels: String,
    pub duties: Vec<String>,
}

/// Seniority: a title prefix (`"Senior "`, or empty), the experience asked for and a pay
/// multiplier in percent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Level {
    pub prefix: String,
    pub min_years: u32,
    pub pay_pct: u32,
}

/// A sentence about working hours, and the label it may add to the title (empty: none).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Schedule {
    pub label: String,
    pub sentence: String,
}

/// A field's schedules: the name of a shared set, or its own list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Schedules {
    Shared(String),
    Own(Vec<Schedule>),
}

/// The low end of a field's pay range, before the level's multiplier.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Pay {
    /// Whole dollars per hour: (lowest, highest) low end.
    Hourly(u32, u32),
    /// Thousands of dollars per year.
    Annual(u32, u32),
    /// Cents per mile.
    PerMile(u32, u32),
}

impl Vocabulary {
    /// Parses and checks a vocabulary. Errors name the field, employer or role at fault.
    fn parse(text: &str) -> Result<Vocabulary, String> {
        let v: Vocabulary = toml::from_str(text).map_err(|e| e.to_string())?;
        v.check()?;
        Ok(v)
    }

    /// Every name resolves and every pool the generator draws from is non-empty.
    fn check(&self) -> Result<(), String> {
        let s = &self.shared;
        let pools = [
            ("shared.cities", &s.cities),
            ("shared.culture", &s.culture),
            ("shared.entry_level", &s.entry_level),
            ("shared.requirements_openers", &s.requirements_openers),
            ("shared.closings", &s.closings),
        ];
        non_empty(&pools)?;
        if s.benefits.len() < 3 {
            return Err("shared.benefits: every posting lists three, give at least three".into());
        }
        if self.fields.is_empty() {
            return Err("no [[fields]]".into());
        }
        for (name, levels) in &self.levels {
            if levels.is_empty() {
                return Err(format!("levels.{name} is empty"));
            }
        }
        for f in &self.fields {
            let name = &f.name;
            if let Schedules::Shared(set) = &f.schedules {
                if !self.schedules.contains_key(set) {
                    return Err(format!("field {name}: no schedule set [schedules].{set}"));
                }
            }
            non_empty(&[
                (&format!("field {name}: duties"), &f.duties),
                (&format!("field {name}: requirements"), &f.requirements),
                (&format!("field {name}: perks"), &f.perks),
            ])?;
            if self.schedules_of(f).is_empty() || f.employment_types.is_empty() {
                return Err(format!(
                    "field {name}: needs schedules and employment_types"
                ));
            }
            if f.employers.is_empty() || f.weight == 0 {
                return Err(format!("field {name}: needs a weight and employers"));
            }
            for (i, e) in f.employers.iter().enumerate() {
                let what = format!("field {name}, employer {}", i + 1);
                non_empty(&[
                    (&format!("{what}: names"), &e.names),
                    (&format!("{what}: intros"), &e.intros),
                    (&format!("{what}: roles"), &e.roles),
                ])?;
                if let Some(r) = e.roles.iter().find(|r| !f.roles.contains_key(*r)) {
                    return Err(format!("{what}: no role [fields.roles.{r}] in this field"));
                }
            }
            for (r, role) in &f.roles {
                if !f.employers.iter().any(|e| e.roles.contains(r)) {
                    return Err(format!("field {name}: no employer hires role {r}"));
                }
                if !self.levels.contains_key(&role.levels) {
                    return Err(format!(
                        "field {name}, role {r}: no level set [levels].{}",
                        role.levels
                    ));
                }
                non_empty(&[
                    (&format!("field {name}, role {r}: titles"), &role.titles),
                    (&format!("field {name}, role {r}: duties"), &role.duties),
                ])?;
            }
        }
        Ok(())
    }

    /// The seniority levels of `role`.
    pub fn levels_of(&self, role: &Role) -> &[Level] {
        &self.levels[&role.levels]
    }

    /// The schedules of `field`.
    pub fn schedules_of<'a>(&'a self, field: &'a Field) -> &'a [Schedule] {
        match &field.schedules {
            Schedules::Shared(set) => &self.schedules[set],
            Schedules::Own(list) => list,
        }
    }
}

impl Field {
    /// The role of this field named `name` (an employer's `roles` entry).
    pub fn role(&self, name: &str) -> &Role {
        &self.roles[name]
    }

    /// Every base title of the field, employer by employer (a title may repeat).
    pub fn titles(&self) -> impl Iterator<Item = &str> {
        self.employers
            .iter()
            .flat_map(|e| &e.roles)
            .flat_map(|r| &self.roles[r].titles)
            .map(String::as_str)
    }
}

fn non_empty(pools: &[(&str, &Vec<String>)]) -> Result<(), String> {
    match pools.iter().find(|(_, pool)| pool.is_empty()) {
        Some((what, _)) => Err(format!("{what} is empty")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_vocabulary_loads() {
        let v = vocabulary();
        assert_eq!(v.fields.len(), 16);
        assert_eq!(v.fields[0].name, "nursing");
        let nursing = &v.fields[0];
        let first_role = nursing.role(&nursing.employers[0].roles[0]);
        assert_eq!(first_role.titles, ["Registered Nurse", "Staff Nurse"]);
        assert_eq!(v.levels_of(first_role).len(), 5);
        let software = v.fields.iter().find(|f| f.name == "software").unwrap();
        assert_eq!(v.schedules_of(software).len(), 4);
        assert!(matches!(software.pay, Pay::Annual(95, 150)));
    }

    #[test]
    fn base_titles_do_not_overlap_across_fields() {
        let fields = &vocabulary().fields;
        for a in fields {
            for b in fields.iter().filter(|b| b.name != a.name) {
                for ta in a.titles() {
                    for tb in b.titles() {
                        assert!(
                            !tb.contains(ta),
                            "{ta} ({}) is part of {tb} ({})",
                            a.name,
                            b.name
                        );
                    }
                }
            }
        }
    }

    /// A small valid vocabulary with `extra` appended to its only field's role.
    fn tiny(field_extra: &str, role_levels: &str) -> String {
        format!(
            r#"
intern_level = {{ prefix = "", min_years = 0, pay_pct = 55 }}
[levels]
plain = [{{ prefix = "", min_years = 0, pay_pct = 100 }}]
[schedules]
office = [{{ label = "", sentence = "Nine to five." }}]
[shared]
cities = ["Boise, ID"]
culture = ["c"]
entry_level = ["e"]
requirements_openers = ["o"]
benefits = ["a", "b", "c"]
closings = ["x"]
[[fields]]
name = "f"
weight = 1
pay = {{ per_mile = [50, 60] }}
manager = "m"
remote_ok = false
employment_types = [["Full-time", 1]]
schedules = "office"
duties = ["d"]
requirements = ["r"]
perks = ["p"]
{field_extra}
[[fields.employers]]
names = ["n"]
intros = ["i"]
roles = ["driver"]
[fields.roles.driver]
titles = ["Truck Driver"]
levels = "{role_levels}"
duties = ["drive"]
"#
        )
    }

    #[test]
    fn bad_references_are_reported_by_name() {
        assert!(Vocabulary::parse(&tiny("", "plain")).is_ok());
        let err = Vocabulary::parse(&tiny("", "senior")).unwrap_err();
        assert_eq!(err, "field f, role driver: no level set [levels].senior");
        let err = Vocabulary::parse(
            &tiny("", "plain").replace(r#"roles = ["driver"]"#, r#"roles = ["pilot"]"#),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "field f, employer 1: no role [fields.roles.pilot] in this field"
        );
        let err = Vocabulary::parse(
            &tiny("", "plain").replace(r#"schedules = "office""#, r#"schedules = "night""#),
        )
        .unwrap_err();
        assert_eq!(err, "field f: no schedule set [schedules].night");
        let err = Vocabulary::parse(&tiny("", "plain").replace(r#"perks = ["p"]"#, "perks = []"))
            .unwrap_err();
        assert_eq!(err, "field f: perks is empty");
        let err = Vocabulary::parse(&tiny("colour = 1", "plain")).unwrap_err();
        assert!(err.contains("colour"), "{err}");
    }
}
