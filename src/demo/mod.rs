//! Deterministic, realistic job postings for `vecsync demo`.
//!
//! Each of the 16 fields (nursing, trucking, software, finance, ...) has kinds of
//! employers (company names, blurbs about them, the roles they hire for), roles (titles,
//! seniority, role-specific duties) and field-wide pools of duties, requirements, perks,
//! schedules and pay. [`generate`] draws from them with a seeded ChaCha8 RNG, so the same
//! seed always gives byte-identical rows, and the first `k` postings of
//! `generate(n, seed)` are the postings of `generate(k, seed)`. About 2% of postings are
//! exact reposts of an earlier one, as on real job boards.
//!
//! [`populate_sqlite`] creates the demo `jobs` table and inserts the postings that are
//! not there yet.

use std::collections::HashSet;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
pub const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    company TEXT NOT NULL,
    location TEXT NOT NULL,
    employment_type TEXT NOT NULL,
    salary TEXT,
    description TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    embedding BLOB
)";

/// Two example queries the demo runs, each with the field (see [`field_of`]) whose
/// postings it should find.
pub const EXAMPLE_QUERIES: &[(&str, &str)] = &[
    ("night shift nurse in a hospital", "nursing"),
    ("truck driver CDL long haul", "trucking"),
];

/// Share of postings that are no longer active.
const INACTIVE_RATE: f64 = 0.05;
/// Share of postings that give no salary.
const NO_SALARY_RATE: f64 = 0.20;
/// Share of postings that are exact reposts of an earlier posting.
const REPOST_RATE: f64 = 0.02;
/// Share of remote-friendly postings that are fully remote, and that are hybrid.
const REMOTE_RATE: f64 = 0.20;
const HYBRID_RATE: f64 = 0.15;

/// Deterministic postings with ids `1..=n`. About 5% are inactive (`is_active = false`),
/// `salary` is `None` for about 20%, and about 2% repeat an earlier posting's content.
pub fn generate(n: usize, seed: u64) -> Vec<JobPosting> {
    generate_tagged(n, seed)
        .into_iter()
        .map(|(posting, _)| posting)
        .collect()
}

/// The field (e.g. `"nursing"`, `"trucking"`, `"software"`) a generated title belongs
/// to, or `None` for a title the generator does not produce.
pub fn field_of(title: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .flat_map(|f| f.titles().map(move |t| (f.name, t)))
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
        let mut insert = tx.prepare(
            "INSERT INTO jobs (id, title, company, location, employment_type, salary, description, is_active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
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
// Generation
// ---------------------------------------------------------------------------------------

/// Postings with the name of the field each was drawn from.
fn generate_tagged(n: usize, seed: u64) -> Vec<(JobPosting, &'static str)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<(JobPosting, &'static str)> = Vec::with_capacity(n);
    for id in 1..=n as i64 {
        let is_active = !rng.gen_bool(INACTIVE_RATE);
        let repost = out.len() >= 20 && rng.gen_bool(REPOST_RATE);
        let (mut posting, field) = if repost {
            let original = rng.gen_range(0..out.len());
            out[original].clone()
        } else {
            let field = pick_weighted(&mut rng, FIELDS, |f| f.weight);
            (new_posting(&mut rng, field), field.name)
        };
        posting.id = id;
        posting.is_active = is_active;
        out.push((posting, field));
    }
    out
}

/// An item of `pool`, drawn with probability proportional to its weight.
fn pick_weighted<'p, T>(rng: &mut ChaCha8Rng, pool: &'p [T], weight: impl Fn(&T) -> u32) -> &'p T {
    let total: u32 = pool.iter().map(&weight).sum();
    let mut ticket = rng.gen_range(0..total);
    for item in pool {
        if ticket < weight(item) {
            return item;
        }
        ticket -= weight(item);
    }
    unreachable!("the ticket is below the total weight")
}

/// Everything drawn for one posting, shared by the functions that write its parts.
struct Draw<'a> {
    field: &'static Field,
    employer: &'static Employer,
    role: &'static Role,
    level: &'static Level,
    base_title: &'static str,
    title: String,
    company: String,
    city: &'static str,
    workplace: Workplace,
    location: String,
    employment_type: &'static str,
    schedule: &'static Schedule,
    salary: Option<String>,
    rng: &'a mut ChaCha8Rng,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workplace {
    OnSite,
    Hybrid,
    Remote,
}

fn new_posting(rng: &mut ChaCha8Rng, field: &'static Field) -> JobPosting {
    let employer = pick(rng, field.employers);
    let role = pick(rng, employer.roles);
    let employment_type = pick_weighted(rng, field.employment_types, |&(_, w)| w).0;
    let internship = employment_type == "Internship";
    let level = if internship {
        &INTERN_LEVEL
    } else {
        pick(rng, role.levels)
    };
    let base_title = *pick(rng, role.titles);
    let schedule = pick(rng, field.schedules);
    let title = title(rng, level, base_title, schedule, internship);
    let city_state = *pick(rng, CITIES);
    let city = city_state.split(", ").next().unwrap_or(city_state);
    let company = pick(rng, employer.names).replace("{city}", city);
    let workplace = workplace(rng, field);
    let location = match workplace {
        Workplace::OnSite => city_state.to_string(),
        Workplace::Hybrid => format!("{city_state} (Hybrid)"),
        Workplace::Remote => "Remote (US)".to_string(),
    };
    let salary = if rng.gen_bool(NO_SALARY_RATE) {
        None
    } else {
        Some(salary(rng, field.pay, level.pay_pct, employment_type))
    };
    let mut draw = Draw {
        field,
        employer,
        role,
        level,
        base_title,
        title,
        company,
        city,
        workplace,
        location,
        employment_type,
        schedule,
        salary,
        rng,
    };
    let description = description(&mut draw);
    JobPosting {
        id: 0,
        title: draw.title,
        company: draw.company,
        location: draw.location,
        employment_type: employment_type.to_string(),
        salary: draw.salary,
        description,
        is_active: true,
    }
}

fn pick<'p, T>(rng: &mut ChaCha8Rng, pool: &'p [T]) -> &'p T {
    pool.choose(rng).expect("data pools are never empty")
}

/// `k` distinct items of `pool`, in random order.
fn pick_distinct<T: Copy>(rng: &mut ChaCha8Rng, pool: &[T], k: usize) -> Vec<T> {
    rand::seq::index::sample(rng, pool.len(), k.min(pool.len()))
        .into_iter()
        .map(|i| pool[i])
        .collect()
}

fn title(
    rng: &mut ChaCha8Rng,
    level: &Level,
    base: &str,
    schedule: &Schedule,
    internship: bool,
) -> String {
    if internship {
        return format!("{base} Intern");
    }
    let mut title = format!("{}{base}", level.prefix);
    if !schedule.label.is_empty() && rng.gen_bool(0.5) {
        title.push_str(" - ");
        title.push_str(schedule.label);
    }
    title
}

fn workplace(rng: &mut ChaCha8Rng, field: &Field) -> Workplace {
    if !field.remote_ok {
        return Workplace::OnSite;
    }
    let roll: f64 = rng.gen();
    if roll < REMOTE_RATE {
        Workplace::Remote
    } else if roll < REMOTE_RATE + HYBRID_RATE {
        Workplace::Hybrid
    } else {
        Workplace::OnSite
    }
}

/// Employment types paid by the hour even in fields with yearly salaries.
fn paid_hourly(employment_type: &str) -> bool {
    matches!(
        employment_type,
        "Part-time" | "Contract" | "Temporary" | "Per diem" | "Internship"
    )
}

fn salary(rng: &mut ChaCha8Rng, pay: Pay, pay_pct: u32, employment_type: &str) -> String {
    let single = rng.gen_bool(0.2);
    match pay {
        Pay::Annual(lo, hi) if !paid_hourly(employment_type) => {
            let low = rng.gen_range(lo..=hi) * pay_pct / 100;
            let high = low * rng.gen_range(115..=140) / 100;
            if single {
                format!("{} per year", dollars(low * 1000))
            } else {
                format!(
                    "{} - {} per year",
                    dollars(low * 1000),
                    dollars(high * 1000)
                )
            }
        }
        Pay::Annual(lo, hi) => {
            // Thousands a year to cents an hour (2,080 working hours a year).
            let low = rng.gen_range(lo..=hi) * pay_pct / 100 * 100_000 / 2080;
            hourly_range(rng, low, single)
        }
        Pay::Hourly(lo, hi) => {
            let low = rng.gen_range(lo * 100..=hi * 100) * pay_pct / 100;
            hourly_range(rng, low, single)
        }
        Pay::PerMile(lo, hi) => {
            let low = rng.gen_range(lo..=hi) * pay_pct / 100;
            let high = low + rng.gen_range(4..=15);
            if single {
                format!("{} per mile", cents(low))
            } else {
                format!("{} - {} per mile", cents(low), cents(high))
            }
        }
    }
}

/// An hourly rate (or range) from a low end in cents, rounded to half dollars.
fn hourly_range(rng: &mut ChaCha8Rng, low_cents: u32, single: bool) -> String {
    let low = (low_cents / 50).max(1) * 50;
    let high = (low * rng.gen_range(110..=130) / 100 / 50) * 50;
    if single {
        format!("{} per hour", cents(low))
    } else {
        format!("{} - {} per hour", cents(low), cents(high))
    }
}

/// `85000` → `$85,000`.
fn dollars(amount: u32) -> String {
    // Groups of three digits, lowest first.
    let mut groups = Vec::new();
    let mut rest = amount;
    while rest >= 1000 {
        groups.push(format!("{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.push(rest.to_string());
    groups.reverse();
    format!("${}", groups.join(","))
}

/// `2450` → `$24.50`.
fn cents(amount: u32) -> String {
    format!("{}.{:02}", dollars(amount / 100), amount % 100)
}

/// "a" or "an" for a title or phrase, including common acronyms read letter by letter.
fn article(phrase: &str) -> &'static str {
    const AN_ACRONYMS: &[&str] = &["HR ", "HVAC", "FP&A", "SEO", "RN", "LPN", "MRI"];
    let starts_with_vowel = phrase
        .chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c));
    if starts_with_vowel || AN_ACRONYMS.iter().any(|a| phrase.starts_with(a)) {
        "an"
    } else {
        "a"
    }
}

fn plural_years(years: u32) -> String {
    if years == 1 {
        "1 year".to_string()
    } else {
        format!("{years} years")
    }
}

// ---------------------------------------------------------------------------------------
// Description: about the company, the role, requirements, schedule and pay, benefits
// ---------------------------------------------------------------------------------------

fn description(d: &mut Draw) -> String {
    let headed = d.rng.gen_bool(0.4);
    let about = about_company(d);
    let role = responsibilities(d);
    let requirements = requirements(d, headed);
    let logistics = schedule_and_pay(d);
    let benefits = benefits(d);
    let text = if headed {
        format!(
            "About {{company}}\n{about}\n\nWhat you will do\n{role}\n\nWhat we are looking for\n{requirements}\n\nSchedule and pay\n{logistics}\n\nBenefits\n{benefits}"
        )
    } else {
        format!("{about}\n\n{role}\n\n{requirements}\n\n{logistics}\n\n{benefits}")
    };
    text.replace("{company}", &d.company)
        .replace("{city}", d.city)
        .replace("{manager}", d.field.manager)
        .replace("{title}", &d.title)
}

fn about_company(d: &mut Draw) -> String {
    let intro = *pick(d.rng, d.employer.intros);
    let culture = *pick(d.rng, CULTURE);
    format!("{intro} {culture}")
}

fn responsibilities(d: &mut Draw) -> String {
    let team = d.rng.gen_range(4..=40);
    let opener = match d.rng.gen_range(0..4) {
        0 => format!(
            "As {} {{title}} at {{company}}, you will report to the {{manager}} and work alongside a team of {team}.",
            article(&d.title)
        ),
        1 => format!(
            "We are looking for {} {{title}} to join our team of {team} in {{city}}.",
            article(&d.title)
        ),
        2 => "In this role, you will report to the {manager}. Here is what the job involves.".to_string(),
        _ => "Your day-to-day responsibilities will include the following.".to_string(),
    };
    // A few duties of the role itself, the rest shared by the whole field.
    let count = d.rng.gen_range(3..=5);
    let specific = d.rng.gen_range(2..=3).min(d.role.duties.len());
    let mut duties = pick_distinct(d.rng, d.role.duties, specific);
    duties.extend(pick_distinct(d.rng, d.field.duties, count - specific));
    duties.shuffle(d.rng);
    format!("{opener} {}", duties.join(" "))
}

fn requirements(d: &mut Draw, bulleted: bool) -> String {
    let years = d.level.min_years + d.rng.gen_range(0..=1) * u32::from(d.level.min_years > 0);
    let experience = if years == 0 {
        pick(d.rng, ENTRY_LEVEL).to_string()
    } else {
        match d.rng.gen_range(0..3) {
            0 => format!(
                "At least {} of experience in a similar role.",
                plural_years(years)
            ),
            1 => format!("{years}+ years of relevant, hands-on experience."),
            _ => format!(
                "A minimum of {} of experience as {} {} or in a closely related position.",
                plural_years(years),
                article(d.base_title),
                d.base_title
            ),
        }
    };
    let count = d.rng.gen_range(3..=4);
    let mut items = vec![experience];
    items.extend(
        pick_distinct(d.rng, d.field.requirements, count)
            .into_iter()
            .map(String::from),
    );
    if bulleted {
        items
            .iter()
            .map(|item| format!("- {item}"))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        let opener = *pick(d.rng, REQUIREMENTS_OPENERS);
        format!("{opener} {}", items.join(" "))
    }
}

fn schedule_and_pay(d: &mut Draw) -> String {
    let kind = d.employment_type.to_lowercase();
    let article = article(&kind);
    let place = match d.workplace {
        Workplace::OnSite => match d.rng.gen_range(0..3) {
            0 => format!("This is {article} {kind} position located in {}.", d.location),
            1 => format!("This {kind} role is based on site in {}.", d.location),
            _ => format!("This is {article} {kind} job at our {{city}} location."),
        },
        Workplace::Hybrid => format!(
            "This is {article} {kind} hybrid role: three days a week in our {{city}} office and two from home."
        ),
        Workplace::Remote => format!(
            "This is {article} {kind}, fully remote role open to candidates anywhere in the United States."
        ),
    };
    let pay = match &d.salary {
        Some(s) if !s.contains(" - ") => format!(" The pay for this position is {s}."),
        Some(s) => match d.rng.gen_range(0..3) {
            0 => format!(" The pay for this position is {s}, depending on experience."),
            1 => format!(" Compensation: {s}."),
            _ => format!(" The expected pay range is {s}, based on skills and qualifications."),
        },
        None => String::new(),
    };
    format!("{} {place}{pay}", d.schedule.sentence)
}

fn benefits(d: &mut Draw) -> String {
    let perks = pick_distinct(d.rng, BENEFITS, 3);
    let offer = match d.rng.gen_range(0..3) {
        0 => format!("We offer {}, {} and {}.", perks[0], perks[1], perks[2]),
        1 => format!(
            "Benefits include {}, {}, and {}.",
            perks[0], perks[1], perks[2]
        ),
        _ => format!(
            "Eligible team members receive {}, {} and {}.",
            perks[0], perks[1], perks[2]
        ),
    };
    let field_perk = *pick(d.rng, d.field.perks);
    let closing = *pick(d.rng, CLOSINGS);
    format!("{offer} {field_perk} {closing}")
}

// ---------------------------------------------------------------------------------------
// Data pools
// ---------------------------------------------------------------------------------------

/// One field of work and the vocabulary its postings are drawn from. Templates may use
/// `{company}`, `{city}`, `{title}` and `{manager}`.
struct Field {
    name: &'static str,
    /// Relative share of postings.
    weight: u32,
    employers: &'static [Employer],
    /// Responsibilities shared by every role in the field, one sentence each.
    duties: &'static [&'static str],
    requirements: &'static [&'static str],
    /// A field-specific benefit, one sentence each.
    perks: &'static [&'static str],
    schedules: &'static [Schedule],
    /// Employment types with their relative weights.
    employment_types: &'static [(&'static str, u32)],
    pay: Pay,
    /// Who the role reports to.
    manager: &'static str,
    /// Whether postings may be remote or hybrid.
    remote_ok: bool,
}

impl Field {
    /// Every base title of the field (a title may appear under several employers).
    fn titles(&'static self) -> impl Iterator<Item = &'static str> {
        self.employers
            .iter()
            .flat_map(|e| e.roles)
            .flat_map(|r| r.titles.iter().copied())
    }
}

/// A kind of employer: company names, first sentences about such a company, and the
/// roles it hires for.
struct Employer {
    names: &'static [&'static str],
    intros: &'static [&'static str],
    roles: &'static [Role],
}

/// Job titles that share seniority levels and role-specific responsibilities.
/// No base title is part of another field's title.
struct Role {
    titles: &'static [&'static str],
    levels: &'static [Level],
    duties: &'static [&'static str],
}

/// Seniority: a title prefix, the experience asked for and a pay multiplier in percent.
struct Level {
    prefix: &'static str,
    min_years: u32,
    pay_pct: u32,
}

const fn level(prefix: &'static str, min_years: u32, pay_pct: u32) -> Level {
    Level {
        prefix,
        min_years,
        pay_pct,
    }
}

/// A sentence about working hours, and the label it may add to the title (`""`: none).
struct Schedule {
    label: &'static str,
    sentence: &'static str,
}

const fn schedule(label: &'static str, sentence: &'static str) -> Schedule {
    Schedule { label, sentence }
}

#[derive(Clone, Copy)]
enum Pay {
    /// Whole dollars per hour, low end range.
    Hourly(u32, u32),
    /// Thousands of dollars per year, low end range.
    Annual(u32, u32),
    /// Cents per mile, low end range.
    PerMile(u32, u32),
}

/// Entry-level jobs: little or no experience asked for.
const ENTRY_LEVELS: &[Level] = &[
    level("", 0, 95),
    level("", 0, 100),
    level("", 1, 100),
    level("", 1, 105),
    level("", 2, 110),
];
/// Skilled jobs without title prefixes.
const PLAIN_LEVELS: &[Level] = &[
    level("", 0, 90),
    level("", 1, 100),
    level("", 2, 100),
    level("", 3, 108),
    level("", 5, 118),
];
const SENIOR_LEVELS: &[Level] = &[
    level("", 1, 90),
    level("", 2, 100),
    level("", 3, 105),
    level("Senior ", 5, 125),
    level("Senior ", 7, 135),
];
const CAREER_LEVELS: &[Level] = &[
    level("Junior ", 0, 75),
    level("", 2, 100),
    level("", 3, 100),
    level("Senior ", 5, 130),
    level("Senior ", 6, 135),
    level("Lead ", 8, 150),
];
/// Supervisors and managers in hourly fields.
const MANAGER_LEVELS: &[Level] = &[level("", 2, 135), level("", 3, 145), level("", 5, 160)];
const ATTORNEY_LEVELS: &[Level] = &[
    level("", 1, 150),
    level("", 3, 170),
    level("Senior ", 6, 200),
];
const INTERN_LEVEL: Level = level("", 0, 55);

const OFFICE_SCHEDULES: &[Schedule] = &[
    schedule(
        "",
        "The team works Monday through Friday and protects evenings and weekends.",
    ),
    schedule(
        "",
        "Core collaboration hours are 10 a.m. to 3 p.m. Eastern; the rest of your day is flexible.",
    ),
    schedule(
        "",
        "Meetings are kept to a minimum, and most collaboration happens in writing.",
    ),
    schedule(
        "",
        "Most of the team works 9 to 5, with flexibility for appointments and family needs.",
    ),
];

const CITIES: &[&str] = &[
    "New York, NY",
    "Los Angeles, CA",
    "Chicago, IL",
    "Houston, TX",
    "Phoenix, AZ",
    "Philadelphia, PA",
    "San Antonio, TX",
    "San Diego, CA",
    "Dallas, TX",
    "Austin, TX",
    "Jacksonville, FL",
    "Columbus, OH",
    "Charlotte, NC",
    "Indianapolis, IN",
    "Seattle, WA",
    "Denver, CO",
    "Nashville, TN",
    "Oklahoma City, OK",
    "Boston, MA",
    "Portland, OR",
    "Las Vegas, NV",
    "Detroit, MI",
    "Memphis, TN",
    "Louisville, KY",
    "Baltimore, MD",
    "Milwaukee, WI",
    "Albuquerque, NM",
    "Tucson, AZ",
    "Fresno, CA",
    "Sacramento, CA",
    "Kansas City, MO",
    "Atlanta, GA",
    "Omaha, NE",
    "Raleigh, NC",
    "Miami, FL",
    "Minneapolis, MN",
    "Tampa, FL",
    "Cleveland, OH",
    "Pittsburgh, PA",
    "Salt Lake City, UT",
    "Boise, ID",
    "Des Moines, IA",
    "Birmingham, AL",
    "Richmond, VA",
    "Spokane, WA",
    "Madison, WI",
    "Little Rock, AR",
    "Charleston, SC",
];

const CULTURE: &[&str] = &[
    "We are proud of our low turnover and promote from within whenever we can.",
    "New team members are paired with a mentor for their first 90 days.",
    "Our people stay because they are trusted, listened to and given room to grow.",
    "We have been named one of the best places to work in the region three years running.",
    "We are a close-knit team that values honesty, hard work and a sense of humor.",
    "Safety, respect and accountability guide everything we do.",
    "We invest in our people with training, clear career paths and fair pay.",
    "Our leadership team keeps an open door, and good ideas can come from anyone.",
    "We are growing quickly and adding new roles across the company this year.",
    "We are committed to an inclusive workplace where everyone is treated with respect.",
    "We give back through paid volunteer days and partnerships with local charities.",
    "Many of our leaders started in entry-level roles and grew with us.",
];

const ENTRY_LEVEL: &[&str] = &[
    "No prior experience is required; we provide paid, on-the-job training.",
    "Entry-level candidates and recent graduates are encouraged to apply.",
    "This is an entry-level opportunity, and we will teach you what you need to know.",
];

const REQUIREMENTS_OPENERS: &[&str] = &[
    "What we are looking for:",
    "To be successful in this role, you will bring the following.",
    "Requirements and qualifications:",
    "You are a great fit if you have the following.",
];

const BENEFITS: &[&str] = &[
    "medical, dental and vision insurance",
    "a 401(k) with a 4% company match",
    "paid time off starting at 15 days a year",
    "paid parental leave",
    "tuition reimbursement",
    "an employee assistance program",
    "life and disability insurance",
    "a health savings account with employer contributions",
    "employee discounts",
    "a yearly wellness stipend",
    "ten paid holidays",
    "flexible spending accounts",
    "commuter benefits",
    "an employee stock purchase plan",
    "pet insurance",
];

const CLOSINGS: &[&str] = &[
    "Apply today, and a recruiter will reach out within two business days.",
    "If this sounds like you, we would love to hear from you.",
    "{company} is an equal opportunity employer and welcomes applicants of all backgrounds.",
    "Interviews are being scheduled now, so apply soon.",
    "Join us and build a career you can be proud of.",
    "Applying takes less than five minutes, and no cover letter is required.",
    "We review every application and respond to every candidate.",
];

const FIELDS: &[Field] = &[
    NURSING,
    TRUCKING,
    WAREHOUSE,
    SOFTWARE,
    FINANCE,
    HOSPITALITY,
    RETAIL,
    CONSTRUCTION,
    EDUCATION,
    MARKETING,
    CUSTOMER_SUPPORT,
    MANUFACTURING,
    LEGAL,
    HUMAN_RESOURCES,
    DATA_SCIENCE,
    ADMINISTRATIVE,
];

// --- Nursing ---------------------------------------------------------------------------

const NURSING: Field = Field {
    name: "nursing",
    weight: 10,
    employers: &[
        Employer {
            names: &[
                "Mercy General Hospital",
                "St. Vincent Medical Center",
                "{city} Regional Medical Center",
                "Riverside Health System",
                "Baptist Memorial Hospital",
                "Lakeview Community Hospital",
                "Providence Valley Health",
                "Northside Medical Center",
                "Summit Health Partners",
            ],
            intros: &[
                "{company} is a 420-bed acute care hospital serving {city} and the surrounding counties, with a Level II trauma center and a nationally recognized cardiac program.",
                "{company} has cared for families in {city} for more than 90 years, and our nurses are the heart of the hospital.",
                "At {company}, patient-centered care is more than a slogan: our nurse-to-patient ratios are among the best of any hospital in the region.",
                "{company} is a not-for-profit health system with three hospitals, a cancer institute and a network of urgent care clinics across the {city} area.",
                "{company} is a Magnet-designated teaching hospital where nurses work side by side with physicians, residents and pharmacists.",
            ],
            roles: &[
                RN_GENERAL, RN_ICU, RN_EMERGENCY, RN_MED_SURG, RN_LABOR_DELIVERY, RN_OPERATING_ROOM,
                RN_TELEMETRY, RN_ONCOLOGY, RN_CHARGE,
            ],
        },
        Employer {
            names: &["Sunrise Children's Hospital", "Rainbow Valley Children's Hospital"],
            intros: &[
                "{company} is a 250-bed pediatric hospital caring for children from newborns to teenagers across {city} and the surrounding region.",
                "{company} is the region's only dedicated children's hospital, with a Level IV NICU and a pediatric emergency department.",
            ],
            roles: &[RN_PEDIATRIC, RN_NICU, RN_CHARGE],
        },
    ],
    duties: &[
        "Assess, plan and document patient care in the electronic health record throughout each shift.",
        "Administer medications, IV fluids and blood products safely and monitor patients for reactions.",
        "Monitor vital signs and lab results, and escalate changes in condition to the attending physician.",
        "Educate patients and families about diagnoses, medications and discharge instructions.",
        "Collaborate with physicians, respiratory therapists and case managers during interdisciplinary rounds.",
        "Respond to rapid response and code blue events as part of the hospital's emergency team.",
        "Perform wound care, catheter insertion and central line care following hospital protocols.",
        "Give clear, thorough handoff reports at shift change using the SBAR format.",
        "Precept nursing students and mentor newly graduated nurses on the unit.",
        "Take part in shared governance and quality projects that reduce patient falls and infections.",
        "Coordinate admissions, transfers and discharges with bed management.",
        "Advocate for every patient's comfort, dignity and safety during their hospital stay.",
    ],
    requirements: &[
        "Current, unrestricted Registered Nurse (RN) license in the state, or a compact multistate license.",
        "Active BLS and ACLS certifications from the American Heart Association.",
        "Associate degree in nursing required; BSN strongly preferred.",
        "Bachelor of Science in Nursing (BSN) from an accredited program.",
        "PALS certification, or willingness to obtain it within six months.",
        "Experience charting in Epic or Cerner.",
        "Ability to stand, walk and lift up to 50 pounds during a 12-hour shift.",
        "Strong critical thinking and prioritization skills in a fast-paced acute care setting.",
        "A compassionate bedside manner and clear communication with patients of all ages.",
        "Specialty certification such as CCRN, CEN or CMSRN is a plus.",
        "Willingness to float to other hospital units when census requires.",
        "Acute care hospital nursing experience preferred.",
    ],
    perks: &[
        "New graduates join a 12-week nurse residency program with a dedicated preceptor.",
        "Experienced nurses are eligible for a sign-on bonus of up to $15,000.",
        "Night and weekend shift differentials add up to $6 an hour.",
        "We pay for specialty certification exams and give a yearly continuing education allowance.",
        "Free parking and discounted meals in the hospital cafeteria are included.",
    ],
    schedules: &[
        schedule("Night Shift", "This is a night shift position: three 12-hour shifts a week from 7 p.m. to 7 a.m., with a night differential."),
        schedule("Day Shift", "This is a day shift position: three 12-hour shifts a week from 7 a.m. to 7 p.m., with every third weekend."),
        schedule("Nights", "The schedule is 36 hours a week on nights, including every other weekend and one rotating holiday."),
        schedule("", "Shifts rotate between days and nights, and the unit self-schedules six weeks in advance."),
        schedule("Evenings", "This role works 8-hour evening shifts, 3 p.m. to 11:30 p.m., five days a week."),
    ],
    employment_types: &[("Full-time", 6), ("Part-time", 2), ("Per diem", 2), ("Contract", 1)],
    pay: Pay::Hourly(34, 52),
    manager: "nurse manager",
    remote_ok: false,
};

const RN_GENERAL: Role = Role {
    titles: &["Registered Nurse", "Staff Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Provide bedside nursing care for a caseload of four to five adult patients.",
        "Start IVs, draw blood and collect specimens for the lab.",
    ],
};
const RN_ICU: Role = Role {
    titles: &["ICU Registered Nurse", "Critical Care Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Care for one or two critically ill patients on ventilators, vasoactive drips and continuous monitoring.",
        "Titrate sedation and critical care medications according to protocols.",
        "Assist with bedside procedures such as central line and arterial line placement.",
    ],
};
const RN_EMERGENCY: Role = Role {
    titles: &["Emergency Room Nurse", "ER Triage Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Triage patients arriving by ambulance and walk-in, and prioritize care by acuity.",
        "Start IVs, draw labs and assist physicians with trauma and emergency procedures.",
        "Stabilize patients with chest pain, stroke symptoms and injuries from accidents.",
    ],
};
const RN_MED_SURG: Role = Role {
    titles: &["Med-Surg Registered Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Care for a caseload of five adult medical-surgical patients recovering from surgery or acute illness.",
        "Manage pain assessment and post-operative recovery for surgical patients.",
        "Help patients walk after surgery and prevent complications such as blood clots and pneumonia.",
    ],
};
const RN_LABOR_DELIVERY: Role = Role {
    titles: &["Labor and Delivery Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Monitor laboring mothers and fetal heart rates, and support families through delivery.",
        "Assist with vaginal and cesarean births and provide newborn and postpartum care.",
        "Recognize obstetric emergencies such as hemorrhage and fetal distress and act quickly.",
    ],
};
const RN_OPERATING_ROOM: Role = Role {
    titles: &["Operating Room Nurse", "Perioperative Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Serve as circulating nurse during surgical procedures and keep the sterile field safe.",
        "Prepare operating rooms, count instruments and sponges, and document each case.",
        "Prepare patients for surgery and hand them off safely to the recovery room nurse.",
    ],
};
const RN_TELEMETRY: Role = Role {
    titles: &["Telemetry Nurse", "Cardiac Step-Down Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Interpret cardiac rhythms on telemetry monitors and respond quickly to arrhythmias.",
        "Care for cardiac patients before and after catheterization and pacemaker procedures.",
    ],
};
const RN_ONCOLOGY: Role = Role {
    titles: &["Oncology Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Administer chemotherapy and biotherapy safely following oncology nursing protocols.",
        "Support patients with cancer and their families through treatment and its side effects.",
    ],
};
const RN_CHARGE: Role = Role {
    titles: &["Charge Nurse"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Make patient assignments and manage patient flow for the unit as charge nurse.",
        "Coach staff nurses and solve staffing and bed problems during the shift.",
        "Round on patients and families and resolve concerns before they escalate.",
    ],
};
const RN_PEDIATRIC: Role = Role {
    titles: &["Pediatric Nurse", "Pediatric ICU Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Care for infants, children and teenagers and explain treatment in ways children understand.",
        "Calculate weight-based medication doses for pediatric patients and double-check them.",
        "Partner with child life specialists to keep young patients calm during procedures.",
    ],
};
const RN_NICU: Role = Role {
    titles: &["NICU Nurse"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Care for premature and critically ill newborns in the neonatal intensive care unit.",
        "Teach parents to feed, hold and care for their newborns before discharge.",
        "Manage incubators, feeding tubes and respiratory support for fragile infants.",
    ],
};

// --- Trucking --------------------------------------------------------------------------

const TRUCKING: Field = Field {
    name: "trucking",
    weight: 8,
    employers: &[
        Employer {
            names: &[
                "Red Rock Freight Lines",
                "Prairie Express Trucking",
                "Interstate Carriers Inc.",
                "Blue Ridge Transport",
                "Lone Star Freight",
                "Great Lakes Freightways",
                "Summit Hauling Co.",
                "Cross Country Carriers",
                "{city} Freight Services",
            ],
            intros: &[
                "{company} is a family-owned trucking company running more than 600 late-model tractors across the lower 48 states.",
                "Since 1987, {company} has hauled freight for some of the country's largest retailers and manufacturers from its truck terminal in {city}.",
                "{company} is an asset-based carrier specializing in dry van and flatbed freight, with truck drivers who average over 2,500 miles a week.",
                "At {company}, truck drivers are not just a number: our dispatchers know you by name, and our safety record is one of the best in trucking.",
            ],
            roles: &[DRY_VAN_DRIVER, FLATBED_DRIVER, TANKER_DRIVER, TEAM_DRIVER, OWNER_OPERATOR],
        },
        Employer {
            names: &["Heartland Refrigerated Transport", "Polar Express Logistics"],
            intros: &[
                "{company} hauls refrigerated and frozen food for grocery chains and restaurants, with a fleet of 400 trucks and reefer trailers.",
                "{company} is a temperature-controlled trucking company that keeps produce, dairy and frozen goods moving coast to coast.",
            ],
            roles: &[REEFER_DRIVER, TEAM_DRIVER, OWNER_OPERATOR],
        },
    ],
    duties: &[
        "Safely operate a tractor-trailer on interstate and regional routes in compliance with DOT and FMCSA regulations.",
        "Perform thorough pre-trip and post-trip truck inspections and report any defects to the maintenance shop.",
        "Record hours of service accurately on the electronic logging device (ELD).",
        "Deliver freight on time to distribution centers, warehouses and retail stores.",
        "Communicate with dispatch about delays, weather, traffic and route changes.",
        "Complete bills of lading, delivery receipts and trip paperwork on the in-cab tablet.",
        "Plan fuel stops and rest breaks to maximize miles while staying within hours-of-service limits.",
        "Keep the truck and trailer clean and presentable as a representative of the company.",
        "Follow defensive driving practices and company safety policies at all times.",
        "Handle drop-and-hook and live unload appointments at shipper and receiver facilities.",
    ],
    requirements: &[
        "Valid Class A commercial driver's license (CDL-A).",
        "A clean motor vehicle record with no more than two moving violations in the past three years.",
        "Current DOT medical card and the ability to pass a pre-employment drug screen.",
        "Hazmat and tanker endorsements are a plus and come with extra pay.",
        "Minimum age of 21 to drive interstate.",
        "Ability to work a flexible schedule, including early mornings and weekends.",
        "No DUI or DWI convictions in the past five years.",
        "Ability to lift up to 50 pounds and climb in and out of the cab safely.",
        "Familiarity with ELD systems and truck GPS navigation.",
    ],
    perks: &[
        "New drivers receive a $5,000 sign-on bonus paid over the first six months.",
        "Our fleet is made up of late-model Freightliner and Peterbilt trucks with automatic transmissions and APUs.",
        "Drivers are paid weekly by direct deposit, plus detention and layover pay.",
        "Pet and rider policies let you bring your dog or a partner on the road.",
        "Safety and fuel-efficiency bonuses are paid every quarter.",
    ],
    schedules: &[
        schedule("Long Haul", "Long haul over-the-road routes keep you out two to three weeks at a time, followed by guaranteed home time."),
        schedule("OTR", "This is an OTR position running all 48 states, averaging 2,800 miles a week with 4 days home every 3 weeks."),
        schedule("Regional", "Regional routes stay within a 500-mile radius, and drivers are home every weekend."),
        schedule("Home Daily", "Local routes mean you are home every night, running Monday through Friday with an early morning start."),
        schedule("Dedicated", "This dedicated lane runs the same customer and route each week, with consistent miles and predictable home time."),
    ],
    employment_types: &[("Full-time", 8), ("Contract", 1)],
    pay: Pay::PerMile(55, 72),
    manager: "fleet manager",
    remote_ok: false,
};

const DRY_VAN_DRIVER: Role = Role {
    titles: &["CDL-A Truck Driver", "Class A Truck Driver", "Company Truck Driver", "Dry Van Truck Driver"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Haul dry van freight for retail, grocery and manufacturing customers.",
        "Assist with loading and unloading at customer docks when required.",
        "Check seals and load counts at pickup and report any discrepancies before leaving the shipper.",
    ],
};
const FLATBED_DRIVER: Role = Role {
    titles: &["Flatbed Truck Driver"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Secure loads of steel, lumber and building materials with straps, chains and tarps.",
        "Check cargo securement at required intervals and after the first 50 miles.",
        "Deliver building materials to construction sites and customer yards.",
    ],
};
const TANKER_DRIVER: Role = Role {
    titles: &["Tanker Truck Driver"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Load and unload liquid bulk products following tanker safety procedures.",
        "Manage liquid surge by driving smoothly, braking early and taking turns slowly.",
        "Connect hoses and operate pumps safely at customer sites.",
    ],
};
const REEFER_DRIVER: Role = Role {
    titles: &["Refrigerated Truck Driver", "Reefer Truck Driver"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Monitor reefer temperatures and keep temperature-controlled loads within specification.",
        "Pre-cool trailers and log temperatures for food-grade loads.",
        "Deliver refrigerated and frozen food to grocery distribution centers on tight appointment times.",
    ],
};
const TEAM_DRIVER: Role = Role {
    titles: &["Team Truck Driver"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Share the driving with a co-driver to keep time-sensitive freight moving around the clock.",
        "Coordinate sleeper berth breaks with your co-driver to stay within hours-of-service limits.",
    ],
};
const OWNER_OPERATOR: Role = Role {
    titles: &["Owner Operator Truck Driver", "Lease Purchase Truck Driver"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Run your own truck under our authority and choose the loads that fit your plans.",
        "Keep your tractor maintained and inspected, with discounts at our partner repair shops.",
        "Track your fuel, maintenance and revenue to keep your trucking business profitable.",
    ],
};

// --- Warehouse and logistics -------------------------------------------------------------

const WAREHOUSE: Field = Field {
    name: "warehouse",
    weight: 6,
    employers: &[
        Employer {
            names: &[
                "Pinnacle Distribution",
                "Keystone Fulfillment Center",
                "Harbor Logistics Group",
                "Northwind Supply Chain",
                "Cardinal 3PL Services",
                "Evergreen Distribution Co.",
                "Atlas Warehousing",
            ],
            intros: &[
                "{company} operates a 750,000-square-foot distribution center that ships home goods and electronics to stores and customers nationwide.",
                "{company} is a third-party logistics (3PL) provider that stores, picks and ships products for more than 200 brands.",
                "From our warehouse in {city}, {company} moves over 40,000 orders a day for e-commerce and retail partners.",
            ],
            roles: &[WAREHOUSE_ASSOCIATE, FORKLIFT, RECEIVING, LOGISTICS_COORDINATION, WAREHOUSE_SUPERVISOR],
        },
        Employer {
            names: &["{city} Cold Storage", "Polar Peak Cold Chain"],
            intros: &[
                "{company} provides temperature-controlled warehousing and distribution for grocery and food service customers across the region.",
                "{company} runs freezer and cooler warehouses for food brands, and our teams work in insulated gear provided by the company.",
            ],
            roles: &[WAREHOUSE_ASSOCIATE, FORKLIFT, WAREHOUSE_SUPERVISOR],
        },
    ],
    duties: &[
        "Load and unload trucks and containers, and stage freight at the dock.",
        "Keep aisles, racking and work areas clean, organized and free of hazards.",
        "Meet daily productivity and accuracy targets while following safety procedures.",
        "Wear the required safety gear and follow all warehouse safety rules.",
        "Report damaged product, equipment problems and safety concerns to the shift lead.",
        "Help out in other areas of the warehouse when volume is high.",
    ],
    requirements: &[
        "High school diploma or GED preferred.",
        "Forklift certification, or willingness to be certified on site.",
        "Ability to lift up to 50 pounds repeatedly and stand for a full shift.",
        "Comfort working in a warehouse that can be hot in summer and cold in winter.",
        "Basic computer skills and experience with handheld scanners.",
        "Experience with a warehouse management system such as Manhattan or SAP is a plus.",
        "Reliable transportation and a strong attendance record.",
        "Attention to detail and the ability to count and verify product accurately.",
        "Ability to pass a background check and drug screen.",
        "Good communication skills and a team-first attitude.",
    ],
    perks: &[
        "Pay is weekly, with early access to earned wages through our app.",
        "Paid forklift and equipment training starts on day one.",
        "Attendance bonuses are paid every month.",
        "Associates can move into lead and supervisor roles through our in-house career program.",
        "Break rooms are climate-controlled, with free snacks on every shift.",
    ],
    schedules: &[
        schedule("1st Shift", "First shift runs Monday through Friday from 6 a.m. to 2:30 p.m."),
        schedule("2nd Shift", "Second shift runs 3 p.m. to 11:30 p.m. with a $2-an-hour shift differential."),
        schedule("Overnight", "The overnight shift works four 10-hour nights, Sunday through Wednesday."),
        schedule("Weekend Shift", "Weekend shift works three 12-hour days, Friday through Sunday, and is paid for 40 hours."),
    ],
    employment_types: &[("Full-time", 6), ("Part-time", 1), ("Temporary", 2), ("Seasonal", 1)],
    pay: Pay::Hourly(17, 24),
    manager: "operations manager",
    remote_ok: false,
};

const WAREHOUSE_ASSOCIATE: Role = Role {
    titles: &["Warehouse Associate", "Order Picker", "Material Handler"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Pick, pack and ship customer orders accurately using RF scanners.",
        "Label, sort and put away product in the correct bin locations.",
        "Build and wrap pallets so that freight arrives undamaged.",
        "Replenish pick locations so that order pickers never run out of stock.",
    ],
};
const FORKLIFT: Role = Role {
    titles: &["Forklift Operator", "Reach Truck Operator"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Operate sit-down and stand-up forklifts, reach trucks and pallet jacks safely.",
        "Move pallets between receiving, high-bay storage racks and the shipping dock.",
        "Inspect your forklift at the start of each shift and report any defects.",
    ],
};
const RECEIVING: Role = Role {
    titles: &["Shipping and Receiving Clerk", "Inventory Control Specialist"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Receive inbound shipments, check them against purchase orders and report damages or shortages.",
        "Perform cycle counts and resolve inventory discrepancies in the warehouse management system.",
        "Prepare packing lists, bills of lading and shipping labels for outbound orders.",
    ],
};
const LOGISTICS_COORDINATION: Role = Role {
    titles: &["Logistics Coordinator", "Freight Dispatcher"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Schedule inbound and outbound carrier appointments and track shipments to delivery.",
        "Coordinate with carriers on pickup times, routing and bills of lading.",
        "Resolve late, damaged or missing shipments with carriers and customers.",
    ],
};
const WAREHOUSE_SUPERVISOR: Role = Role {
    titles: &["Warehouse Supervisor", "Warehouse Shift Lead"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Lead a team of 20 to 40 associates and assign work at the start of each shift.",
        "Track productivity and accuracy and coach associates to hit their targets.",
        "Train new associates on warehouse processes and equipment.",
    ],
};

// --- Software --------------------------------------------------------------------------

const SOFTWARE: Field = Field {
    name: "software",
    weight: 10,
    employers: &[Employer {
        names: &[
            "Brightline Software",
            "Cloudnest",
            "Quantive Labs",
            "Stackwise",
            "Northstar Digital",
            "Helix Systems",
            "Pixelforge",
            "Ardent Cloud",
            "Bytewell",
            "Tidewater Technologies",
        ],
        intros: &[
            "{company} builds cloud software that helps small businesses manage scheduling, payments and payroll in one place.",
            "{company} is a Series B startup building developer tools used by more than 3,000 software engineering teams.",
            "At {company}, we make logistics software that routes millions of deliveries every day, and our engineers ship to production several times a day.",
            "{company} is a healthcare technology company whose software platform connects patients, clinics and insurers.",
            "{company} develops the point-of-sale and inventory software behind more than 20,000 independent restaurants and shops.",
        ],
        roles: &[BACKEND, FRONTEND, MOBILE, INFRASTRUCTURE, QUALITY_ENGINEERING, EMBEDDED],
    }],
    duties: &[
        "Write clean, well-tested code and keep it easy for the next engineer to change.",
        "Take part in code reviews and help raise the quality bar across the engineering team.",
        "Work with product managers and designers to turn requirements into shipped features.",
        "Improve the reliability, performance and observability of production systems.",
        "Mentor other engineers and contribute to technical design documents.",
        "Break large projects into incremental milestones and deliver them on schedule.",
        "Debug production issues, write postmortems and fix root causes.",
    ],
    requirements: &[
        "Bachelor's degree in computer science or equivalent practical experience.",
        "Strong proficiency in at least one modern programming language such as Java, Python, Go or TypeScript.",
        "Experience building and operating services in a cloud environment (AWS, GCP or Azure).",
        "A solid understanding of data structures, algorithms and software design principles.",
        "Experience with relational databases and SQL.",
        "Familiarity with Docker, Kubernetes and infrastructure as code.",
        "Comfort working with Git, pull requests and continuous integration.",
        "Clear written communication, especially in design docs and code reviews.",
        "Experience with distributed systems, message queues or event-driven architecture is a plus.",
        "A track record of shipping software that real users depend on.",
    ],
    perks: &[
        "Every engineer gets a new laptop and a $1,500 home office stipend.",
        "Meaningful equity comes with every offer through stock options.",
        "A yearly $2,000 learning budget covers conferences, courses and books.",
        "The whole company takes a four-day recharge weekend every quarter.",
    ],
    schedules: OFFICE_SCHEDULES,
    employment_types: &[("Full-time", 8), ("Contract", 2), ("Internship", 1)],
    pay: Pay::Annual(95, 150),
    manager: "engineering manager",
    remote_ok: true,
};

const BACKEND: Role = Role {
    titles: &["Software Engineer", "Backend Engineer", "Platform Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Design, build and maintain scalable backend services and REST and GraphQL APIs.",
        "Design database schemas and optimize slow queries in PostgreSQL.",
        "Build event-driven services with Kafka and background job queues.",
        "Write backend code in languages such as Python, Go, Java or Rust.",
    ],
};
const FRONTEND: Role = Role {
    titles: &["Frontend Engineer", "Full Stack Developer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Build responsive, accessible user interfaces with React and TypeScript.",
        "Turn Figma designs into polished, fast web pages.",
        "Improve page load times and Core Web Vitals across the product.",
        "Build the APIs your user interfaces need in Node.js.",
    ],
};
const MOBILE: Role = Role {
    titles: &["Mobile Developer", "iOS Engineer", "Android Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Build features for our iOS and Android apps in Swift and Kotlin.",
        "Ship app releases through the App Store and Google Play every two weeks.",
        "Keep the mobile apps fast, stable and crash-free.",
    ],
};
const INFRASTRUCTURE: Role = Role {
    titles: &["DevOps Engineer", "Site Reliability Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Automate infrastructure with Terraform and manage deployments on Kubernetes and AWS.",
        "Maintain CI/CD pipelines and keep build times fast.",
        "Define service level objectives, build alerting and take part in the on-call rotation.",
        "Reduce cloud costs by right-sizing clusters and cleaning up unused resources.",
    ],
};
const QUALITY_ENGINEERING: Role = Role {
    titles: &["QA Automation Engineer", "Software Test Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Write automated unit, integration and end-to-end tests.",
        "Build and maintain test frameworks with Playwright and Cypress.",
        "Track bugs, verify fixes and keep release quality high.",
    ],
};
const EMBEDDED: Role = Role {
    titles: &["Embedded Software Engineer", "Firmware Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Write firmware in C and C++ for microcontrollers and real-time operating systems.",
        "Bring up new hardware and debug with oscilloscopes and logic analyzers.",
        "Write device drivers for sensors, radios and displays.",
    ],
};

// --- Finance and accounting --------------------------------------------------------------

const FINANCE: Field = Field {
    name: "finance",
    weight: 7,
    employers: &[
        Employer {
            names: &["Whitfield & Crane CPAs", "Sterling Ledger Advisors"],
            intros: &[
                "{company} is a regional accounting firm providing audit, tax and advisory services to privately held businesses and nonprofits.",
                "{company} is a CPA firm in {city} whose clients range from family-owned businesses to fast-growing startups.",
            ],
            roles: &[STAFF_ACCOUNTING, TAX, AUDIT],
        },
        Employer {
            names: &["Oakmont Bancorp", "Harborview Credit Union", "First Keystone Bank"],
            intros: &[
                "{company} is a community bank with 35 branches and $4 billion in assets, headquartered in {city}.",
                "{company} is a member-owned financial institution serving 180,000 members with checking, savings, mortgages and business loans.",
            ],
            roles: &[CREDIT, FINANCIAL_ANALYSIS, STAFF_ACCOUNTING, AUDIT],
        },
        Employer {
            names: &["Meridian Capital Partners", "Redwood Asset Management"],
            intros: &[
                "{company} manages investment portfolios for families, foundations and pension plans, with over $12 billion under management.",
            ],
            roles: &[FINANCIAL_ANALYSIS, STAFF_ACCOUNTING, AUDIT],
        },
        Employer {
            names: &["Granite Peak Industries", "Bridgeport Insurance Group", "Lakeside Foods Inc."],
            intros: &[
                "The finance team at {company} supports a fast-growing business with operations in 14 states, and we are building out our accounting function.",
                "{company} is a privately held company with $900 million in annual revenue and a lean, hands-on finance team.",
            ],
            roles: &[STAFF_ACCOUNTING, PAYABLES_RECEIVABLES, FINANCIAL_ANALYSIS, TAX],
        },
    ],
    duties: &[
        "Improve accounting processes and automate manual spreadsheets.",
        "Meet month-end and year-end deadlines with accurate, well-documented work.",
        "Answer finance questions from department leaders and business partners.",
        "Keep supporting documents organized for auditors and regulators.",
        "Make sure transactions are recorded in line with GAAP and company policy.",
    ],
    requirements: &[
        "Bachelor's degree in accounting, finance or a related field.",
        "CPA license or progress toward the CPA exam preferred.",
        "Strong working knowledge of GAAP and month-end close procedures.",
        "Advanced Excel skills, including pivot tables, lookups and financial modeling.",
        "Experience with ERP systems such as NetSuite, SAP or QuickBooks.",
        "High attention to detail and accuracy with numbers.",
        "Ability to meet tight deadlines during month-end and year-end close.",
        "Experience with SOX compliance or internal controls is a plus.",
        "Strong analytical skills and the ability to explain financial results to non-finance partners.",
        "A CMA or CFA designation is a plus.",
        "Experience in public accounting is valued.",
    ],
    perks: &[
        "We reimburse CPA exam fees and give paid study time.",
        "A year-end bonus is tied to company and individual performance.",
        "Summer Fridays end at 1 p.m. from Memorial Day to Labor Day.",
        "CPE credits and professional association memberships are paid for.",
    ],
    schedules: &[
        schedule("", "Our finance team works a standard schedule, with extra hours expected only around month-end close."),
        schedule("", "Expect a regular 40-hour week, with a busier stretch during tax season from February to April."),
        schedule("", "The team follows a monthly close calendar, so the first five business days of each month are the busiest."),
    ],
    employment_types: &[("Full-time", 8), ("Contract", 1), ("Temporary", 1)],
    pay: Pay::Annual(60, 90),
    manager: "controller",
    remote_ok: true,
};

const STAFF_ACCOUNTING: Role = Role {
    titles: &["Staff Accountant", "Cost Accountant", "Payroll Accountant"],
    levels: CAREER_LEVELS,
    duties: &[
        "Prepare journal entries, account reconciliations and accruals as part of the monthly close.",
        "Maintain the general ledger and reconcile bank, credit card and intercompany accounts.",
        "Prepare monthly financial statements and management reporting packages.",
        "Track fixed assets, depreciation and prepaid expenses.",
    ],
};
const PAYABLES_RECEIVABLES: Role = Role {
    titles: &[
        "Accounts Payable Specialist",
        "Accounts Receivable Specialist",
    ],
    levels: SENIOR_LEVELS,
    duties: &[
        "Process vendor invoices, match them to purchase orders and schedule payments.",
        "Manage collections on past-due accounts and post customer payments.",
        "Answer vendor and customer questions about invoices and payment status.",
        "Set up new vendors and customers and keep their records accurate.",
    ],
};
const FINANCIAL_ANALYSIS: Role = Role {
    titles: &["Financial Analyst", "FP&A Analyst"],
    levels: CAREER_LEVELS,
    duties: &[
        "Build financial models, budgets and forecasts to support business decisions.",
        "Analyze variances between actual results and budget, and explain the drivers to leadership.",
        "Build dashboards that track revenue, margins and cash flow.",
    ],
};
const TAX: Role = Role {
    titles: &["Tax Accountant", "Tax Associate"],
    levels: CAREER_LEVELS,
    duties: &[
        "Prepare federal, state and local tax returns for corporations and partnerships.",
        "Research tax questions and prepare estimated payments and extensions.",
        "Track changes in tax law and explain what they mean for clients.",
    ],
};
const AUDIT: Role = Role {
    titles: &["Internal Auditor", "Staff Auditor"],
    levels: CAREER_LEVELS,
    duties: &[
        "Document and test internal controls in line with SOX requirements.",
        "Plan and carry out audits of business processes and report findings to management.",
        "Support the annual external audit by preparing schedules and answering auditor requests.",
    ],
};
const CREDIT: Role = Role {
    titles: &["Credit Analyst", "Commercial Loan Analyst"],
    levels: CAREER_LEVELS,
    duties: &[
        "Review credit applications and set credit limits based on financial statements.",
        "Analyze borrowers' cash flow, collateral and credit history.",
        "Write credit memos recommending loan approval or decline.",
    ],
};

// --- Hospitality and restaurants ---------------------------------------------------------

const HOSPITALITY: Field = Field {
    name: "hospitality",
    weight: 8,
    employers: &[
        Employer {
            names: &[
                "The Copper Kettle",
                "Harbor House Grill",
                "Bella Cucina Trattoria",
                "Maple Street Bistro",
                "Smokehouse 52 BBQ",
                "Blue Agave Cantina",
            ],
            intros: &[
                "{company} is a busy, chef-driven restaurant in downtown {city}, serving seasonal food to about 300 guests a night.",
                "Locally owned since 2004, {company} has become a neighborhood favorite restaurant for brunch, happy hour and family dinners.",
                "{company} is a growing restaurant group with eight locations, known for scratch cooking and warm, genuine service.",
            ],
            roles: &[KITCHEN, SOUS_CHEF, DISHWASHING, DINING_ROOM, BAR, RESTAURANT_MANAGEMENT],
        },
        Employer {
            names: &["Riverstone Hotel & Suites", "The Grand Meridian Hotel", "The {city} Plaza Hotel"],
            intros: &[
                "{company} is a 240-room full-service hotel with a rooftop bar, two restaurants and 20,000 square feet of event space.",
                "{company} is a boutique hotel in the heart of {city}, popular with business travelers and wedding parties.",
            ],
            roles: &[HOTEL_FRONT_DESK, HOUSEKEEPING, BANQUETS, KITCHEN, BAR],
        },
    ],
    duties: &[
        "Handle guest complaints calmly and find a solution that leaves them happy.",
        "Support teammates and pitch in wherever the rush demands.",
        "Keep your work area clean, stocked and organized throughout your shift.",
        "Follow health, safety and sanitation standards at all times.",
    ],
    requirements: &[
        "Previous restaurant or hotel experience preferred, but we will train the right person.",
        "A food handler card, or the ability to obtain one within 30 days.",
        "TIPS or ServSafe alcohol certification is a plus.",
        "Ability to stand and walk for an entire shift and lift up to 40 pounds.",
        "A friendly, upbeat attitude and a genuine desire to take care of people.",
        "Ability to stay calm and organized in a fast-paced environment.",
        "Flexible availability, including evenings, weekends and holidays.",
        "Knife skills and knowledge of basic cooking techniques for kitchen roles.",
        "Strong teamwork and communication with both front and back of house.",
        "Basic math skills for handling cash and payments.",
        "Experience with Toast, OpenTable or a hotel property management system is a plus.",
    ],
    perks: &[
        "Every shift comes with a free meal, and you get 50% off when dining with us.",
        "Tipped team members take home an average of $25 to $35 an hour with tips.",
        "Team members get discounted hotel stays across our partner properties.",
        "Flexible scheduling works around school and family.",
    ],
    schedules: &[
        schedule("Nights & Weekends", "Availability on nights, weekends and holidays is required."),
        schedule("", "Shifts are posted two weeks in advance, and most team members work four or five shifts a week."),
        schedule("AM Shift", "This is a morning shift starting at 6 a.m. for breakfast and lunch service."),
        schedule("", "We close at 10 p.m. on weeknights, so you will be home at a reasonable hour."),
    ],
    employment_types: &[("Full-time", 4), ("Part-time", 4), ("Seasonal", 1)],
    pay: Pay::Hourly(15, 22),
    manager: "general manager",
    remote_ok: false,
};

const KITCHEN: Role = Role {
    titles: &["Line Cook", "Prep Cook", "Breakfast Cook"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Prepare dishes to recipe and plating standards during high-volume service.",
        "Prep vegetables, proteins and sauces before service.",
        "Keep the kitchen line stocked, clean and organized before, during and after service.",
        "Follow food safety, sanitation and allergen procedures at all times.",
        "Receive deliveries, label and rotate stock, and help with the weekly inventory.",
    ],
};
const SOUS_CHEF: Role = Role {
    titles: &["Sous Chef", "Kitchen Manager"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Run the kitchen line during service and lead the cooks when the chef is away.",
        "Order food, control waste and keep food costs on budget.",
        "Help develop seasonal specials and train cooks on new recipes.",
    ],
};
const DISHWASHING: Role = Role {
    titles: &["Dishwasher"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Wash dishes, pots, pans and glassware and keep the dish station running during the rush.",
        "Take out trash and recycling and keep floors, walk-ins and storage areas clean.",
        "Help the prep cooks with simple tasks such as washing produce.",
    ],
};
const DINING_ROOM: Role = Role {
    titles: &["Restaurant Server", "Restaurant Host", "Food Runner"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Greet guests warmly and make every visit feel welcoming.",
        "Take food and drink orders accurately and enter them in the point-of-sale system.",
        "Run food, bus tables and reset the dining room between seatings.",
        "Describe the menu and suggest specials and wine pairings.",
        "Manage the waitlist and seat guests so that every section stays balanced.",
    ],
};
const BAR: Role = Role {
    titles: &["Bartender"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Mix classic and signature cocktails, pour beer and wine, and check IDs responsibly.",
        "Keep the bar stocked, clean and ready for a busy night.",
        "Build rapport with regulars and make new guests feel at home.",
    ],
};
const RESTAURANT_MANAGEMENT: Role = Role {
    titles: &["Restaurant Manager", "Assistant Restaurant Manager"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Coach and schedule hourly staff, and manage labor and food costs.",
        "Open and close the restaurant, count the safe and make bank deposits.",
        "Hire and train servers, hosts and bartenders.",
    ],
};
const HOTEL_FRONT_DESK: Role = Role {
    titles: &["Hotel Front Desk Agent", "Night Auditor"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Check hotel guests in and out, handle reservations and answer questions about the area.",
        "Balance the day's transactions and run end-of-day reports.",
        "Answer phones and respond to guest requests for towels, wake-up calls and directions.",
    ],
};
const HOUSEKEEPING: Role = Role {
    titles: &["Hotel Housekeeper", "Room Attendant"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Clean and refresh guest rooms to the hotel's standards.",
        "Restock linens, towels and amenities and report maintenance issues.",
        "Log lost-and-found items and treat guests' belongings with care.",
    ],
};
const BANQUETS: Role = Role {
    titles: &["Banquet Server"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Set up and break down banquet rooms for weddings, conferences and private events.",
        "Serve plated and buffet meals for groups of 50 to 500 guests.",
        "Work with the event captain to keep courses on time.",
    ],
};

// --- Retail ----------------------------------------------------------------------------

const RETAIL: Field = Field {
    name: "retail",
    weight: 8,
    employers: &[
        Employer {
            names: &["Harvest Market Grocery", "Corner Pantry Foods", "ValueMart"],
            intros: &[
                "{company} is a neighborhood grocery chain with 60 stores, known for fresh produce, friendly service and everyday low prices.",
                "{company} is a discount grocery and general merchandise retailer with 120 stores across the South and Midwest.",
            ],
            roles: &[CASHIER, STOCKING, STORE_MANAGEMENT, SALES_FLOOR],
        },
        Employer {
            names: &[
                "Urban Thread Apparel",
                "Trailhead Outfitters",
                "Bloom & Co. Home",
                "Pages Bookshop",
                "TechTown Electronics",
                "HomeCraft Hardware",
            ],
            intros: &[
                "{company} sells its products from 45 retail stores and a fast-growing online shop.",
                "At {company}, our stores are built around customer service: we greet every shopper and know our products inside and out.",
                "{company} has served shoppers in {city} since 1972 and now runs 30 stores across three states.",
            ],
            roles: &[SALES_FLOOR, CASHIER, STOCKING, VISUAL_MERCHANDISING, STORE_MANAGEMENT],
        },
    ],
    duties: &[
        "Keep the sales floor, fitting rooms and stockroom clean and organized.",
        "Resolve customer complaints and escalate issues to store leadership when needed.",
        "Help prevent shrink by following loss prevention procedures.",
        "Work as a team to get through busy weekends and holiday rushes.",
        "Fill online orders for in-store pickup and curbside delivery.",
    ],
    requirements: &[
        "Retail or customer service experience preferred but not required.",
        "Ability to stand for long periods and lift up to 35 pounds.",
        "Availability to work evenings, weekends and holidays.",
        "A friendly, outgoing personality and strong communication skills.",
        "Basic math skills and comfort handling cash.",
        "Prior supervisory or key-holder experience for leadership roles.",
        "Reliability, punctuality and a positive attitude.",
        "Comfort using a point-of-sale system and handheld devices.",
        "High school diploma or equivalent.",
        "Ability to multitask during busy store hours.",
    ],
    perks: &[
        "Associates get a 30% discount on everything in the store.",
        "Quarterly store bonuses are paid when we hit our sales targets.",
        "Most of our store managers were promoted from within.",
        "Shift swaps are easy through our scheduling app.",
    ],
    schedules: &[
        schedule("Holiday Season", "We are staffing up for the holiday season, with shifts available through the end of January."),
        schedule("", "Store hours are 8 a.m. to 10 p.m., and shifts include opening, mid and closing."),
        schedule("", "Schedules are set weekly, and weekend availability is required."),
    ],
    employment_types: &[("Full-time", 3), ("Part-time", 5), ("Seasonal", 2)],
    pay: Pay::Hourly(14, 20),
    manager: "district manager",
    remote_ok: false,
};

const SALES_FLOOR: Role = Role {
    titles: &["Retail Sales Associate", "Sales Floor Associate"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Greet customers, answer questions and help them find the right products.",
        "Learn our products well enough to recommend the right one for each shopper.",
        "Promote the loyalty program and store credit card.",
        "Restock fitting rooms and return items to the sales floor.",
    ],
};
const CASHIER: Role = Role {
    titles: &["Cashier", "Front End Associate"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Operate the cash register, process returns and handle cash and card payments accurately.",
        "Bag orders carefully and keep checkout lanes clean and stocked.",
        "Offer the loyalty program to every customer at checkout.",
    ],
};
const STOCKING: Role = Role {
    titles: &["Stock Associate", "Overnight Stocker"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Unload trucks, stock shelves and keep displays full and faced.",
        "Rotate product and pull expired or damaged items from the shelves.",
        "Organize the stockroom so that products are easy to find.",
    ],
};
const VISUAL_MERCHANDISING: Role = Role {
    titles: &["Visual Merchandiser"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Set up merchandise displays and signage according to planograms.",
        "Refresh window and seasonal displays that draw customers into the store.",
        "Use sales data to decide which products get the best space.",
    ],
};
const STORE_MANAGEMENT: Role = Role {
    titles: &[
        "Store Manager",
        "Assistant Store Manager",
        "Department Supervisor",
        "Key Holder",
    ],
    levels: MANAGER_LEVELS,
    duties: &[
        "Open and close the store, count cash drawers and make bank deposits.",
        "Recruit, train and schedule store associates, and coach them on sales goals.",
        "Monitor sales reports and inventory levels and place replenishment orders.",
        "Manage payroll hours to stay within the store's labor budget.",
    ],
};

// --- Construction and trades -------------------------------------------------------------

const CONSTRUCTION: Field = Field {
    name: "construction",
    weight: 7,
    employers: &[
        Employer {
            names: &["Ironclad Builders", "Cornerstone Construction Group", "Benchmark General Contractors"],
            intros: &[
                "{company} is a commercial general contractor building schools, hospitals and office buildings throughout the {city} region.",
                "{company} specializes in residential construction and remodeling, completing over 400 new homes and renovations a year.",
            ],
            roles: &[CARPENTRY, DRYWALL, CONSTRUCTION_LABOR, CONSTRUCTION_LEADERSHIP],
        },
        Employer {
            names: &["Summit Electric Co.", "Brightwire Electrical Services"],
            intros: &[
                "{company} is an electrical contractor wiring commercial buildings, data centers and new homes across the {city} area.",
            ],
            roles: &[ELECTRICAL, CONSTRUCTION_LEADERSHIP],
        },
        Employer {
            names: &["BlueLine Plumbing & Heating", "Apex Mechanical Contractors"],
            intros: &[
                "{company} is a family-owned plumbing, heating and air conditioning contractor with more than 150 employees in the field.",
                "{company} installs and services plumbing and HVAC systems for homes, restaurants and commercial buildings.",
            ],
            roles: &[PLUMBING, HVAC],
        },
        Employer {
            names: &["Keystone Civil Works", "Granite Road Builders"],
            intros: &[
                "{company} builds roads, bridges and underground utilities for cities and the state department of transportation.",
            ],
            roles: &[HEAVY_EQUIPMENT, CONSTRUCTION_LABOR, CONSTRUCTION_LEADERSHIP],
        },
        Employer {
            names: &["{city} Roofing & Siding", "Top Notch Roofing"],
            intros: &[
                "{company} installs and repairs roofs, siding and gutters on homes and commercial buildings across {city}.",
            ],
            roles: &[ROOFING, CONSTRUCTION_LABOR],
        },
    ],
    duties: &[
        "Read and interpret blueprints, drawings and specifications.",
        "Keep job sites clean, safe and compliant with OSHA regulations.",
        "Use hand and power tools safely and keep them in good working order.",
        "Report progress and problems to the site superintendent.",
        "Mentor apprentices and help train new crew members.",
        "Take part in daily safety briefings and toolbox talks.",
    ],
    requirements: &[
        "A state journeyman or master license for licensed trades.",
        "OSHA 10 or OSHA 30 certification preferred.",
        "Your own basic hand tools and reliable transportation to job sites.",
        "A valid driver's license with a clean driving record.",
        "Ability to work outdoors in all weather, on ladders and at heights.",
        "Ability to lift 50 to 75 pounds and do physical work throughout the day.",
        "Knowledge of the National Electrical Code, plumbing codes or building codes as applicable.",
        "Completion of an apprenticeship or trade school program is a plus.",
        "A strong commitment to safety and quality workmanship.",
        "Experience on commercial construction sites is a plus.",
    ],
    perks: &[
        "Our paid apprenticeship program comes with a raise at every step.",
        "Tools and safety gear are provided, along with a yearly work boot allowance.",
        "We have a steady backlog of projects and year-round work.",
        "Public projects pay prevailing wage.",
    ],
    schedules: &[
        schedule("", "Typical hours are 7 a.m. to 3:30 p.m., Monday through Friday, with overtime available."),
        schedule("", "Crews work four 10-hour days during the summer construction season."),
        schedule("", "Work is done at job sites across the metro area, and some roles come with a company truck."),
    ],
    employment_types: &[("Full-time", 8), ("Contract", 1), ("Seasonal", 1)],
    pay: Pay::Hourly(24, 40),
    manager: "project superintendent",
    remote_ok: false,
};

const ELECTRICAL: Role = Role {
    titles: &[
        "Electrician",
        "Apprentice Electrician",
        "Journeyman Electrician",
    ],
    levels: PLAIN_LEVELS,
    duties: &[
        "Install, repair and maintain electrical wiring, panels, lighting and controls to code.",
        "Pull wire, bend conduit and install switches, outlets and fixtures.",
        "Troubleshoot circuits with meters and testers and fix faults safely.",
    ],
};
const PLUMBING: Role = Role {
    titles: &["Plumber", "Service Plumber"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Install and repair water lines, drains, fixtures and gas piping.",
        "Clear drain blockages and fix leaks on residential and commercial service calls.",
        "Install water heaters, sump pumps and backflow preventers.",
    ],
};
const HVAC: Role = Role {
    titles: &["HVAC Technician", "HVAC Installer"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Diagnose and repair heating, ventilation and air conditioning systems.",
        "Perform seasonal maintenance on furnaces, heat pumps and air conditioners.",
        "Handle refrigerants according to EPA rules and keep accurate records.",
    ],
};
const CARPENTRY: Role = Role {
    titles: &["Carpenter", "Framing Carpenter", "Finish Carpenter"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Frame walls, set trusses and install doors, windows and trim.",
        "Build forms for concrete footings, walls and slabs.",
        "Install cabinets, stairs and custom millwork with a careful eye for detail.",
    ],
};
const DRYWALL: Role = Role {
    titles: &["Drywall Finisher", "Drywall Hanger"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Hang, tape and finish drywall to a smooth, paint-ready surface.",
        "Patch and repair damaged walls and ceilings.",
        "Work from stilts, scaffolds and lifts safely.",
    ],
};
const CONSTRUCTION_LABOR: Role = Role {
    titles: &["Construction Laborer", "General Laborer"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Carry materials, dig trenches and help skilled tradespeople on the job site.",
        "Set up and take down scaffolding, barricades and safety signs.",
        "Clean up debris and load dumpsters at the end of each day.",
    ],
};
const HEAVY_EQUIPMENT: Role = Role {
    titles: &["Heavy Equipment Operator", "Excavator Operator"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Operate excavators, loaders and dozers to grade sites and dig trenches.",
        "Grease and inspect your equipment every day and report problems.",
        "Work with grade checkers and pipe crews to lay underground utilities.",
    ],
};
const ROOFING: Role = Role {
    titles: &["Roofer", "Roofing Installer"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Install shingles, flashing and underlayment on residential and commercial roofs.",
        "Tear off old roofing and inspect the decking for damage.",
        "Work safely at heights with harnesses and fall protection.",
    ],
};
const CONSTRUCTION_LEADERSHIP: Role = Role {
    titles: &["Construction Foreman", "Site Superintendent"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Assign work to the crew and track progress against the project schedule.",
        "Coordinate subcontractors, material deliveries and inspections.",
        "Lead daily safety briefings and toolbox talks with the crew.",
    ],
};

// --- Education -------------------------------------------------------------------------

const EDUCATION: Field = Field {
    name: "education",
    weight: 6,
    employers: &[
        Employer {
            names: &["{city} Unified School District", "{city} Public Schools"],
            intros: &[
                "{company} is a public school district educating 18,000 students across 24 schools.",
                "{company} serves a diverse community of students speaking more than 40 languages at home.",
            ],
            roles: &[ELEMENTARY, SUBJECT_TEACHING, SPECIAL_EDUCATION, COUNSELING, CLASSROOM_SUPPORT, SUBSTITUTE],
        },
        Employer {
            names: &[
                "Westbrook Academy",
                "Riverside Charter School",
                "St. Mary's Catholic School",
                "Summit Preparatory Academy",
            ],
            intros: &[
                "{company} serves about 1,200 students in grades K through 12, with small class sizes and a strong tradition of family involvement.",
                "{company} is a tuition-free public charter school focused on college readiness for first-generation students.",
            ],
            roles: &[ELEMENTARY, SUBJECT_TEACHING, SPECIAL_EDUCATION, COUNSELING, TUTORING],
        },
        Employer {
            names: &["Lincoln Elementary School", "Maple Grove Elementary"],
            intros: &[
                "{company} is a neighborhood elementary school serving 600 students from kindergarten through fifth grade.",
            ],
            roles: &[ELEMENTARY, SPECIAL_EDUCATION, CLASSROOM_SUPPORT],
        },
        Employer {
            names: &["Oak Grove Middle School", "Eastview High School"],
            intros: &[
                "{company} is a public secondary school known for strong science, technology and arts programs.",
            ],
            roles: &[SUBJECT_TEACHING, SPECIAL_EDUCATION, COUNSELING, TUTORING],
        },
        Employer {
            names: &["Little Acorns Early Learning Center", "Sunny Days Preschool"],
            intros: &[
                "{company} provides early childhood education for children from six weeks to five years old, with a play-based curriculum.",
            ],
            roles: &[PRESCHOOL],
        },
    ],
    duties: &[
        "Create a safe, respectful and inclusive classroom environment.",
        "Communicate regularly with parents and guardians about student progress.",
        "Supervise students during lunch, recess and dismissal on a rotating basis.",
        "Take part in professional development, staff meetings and parent-teacher conferences.",
        "Keep accurate attendance and grade records in the student information system.",
        "Use classroom technology such as Google Classroom and interactive whiteboards.",
    ],
    requirements: &[
        "Bachelor's degree in education or in the subject area taught.",
        "A valid state teaching certificate or eligibility for alternative certification.",
        "Experience teaching or student teaching in a school setting.",
        "A clear background check and fingerprint clearance.",
        "Strong classroom management and organizational skills.",
        "Patience, creativity and a genuine passion for helping children learn.",
        "Bilingual in English and Spanish is a plus.",
        "CPR and first aid certification, or willingness to obtain it.",
        "Familiarity with state learning standards.",
    ],
    perks: &[
        "Teachers here are eligible for Public Service Loan Forgiveness.",
        "You will be enrolled in the state teachers' retirement pension plan.",
        "Every classroom gets a $500 supply budget each year.",
        "First-year teachers get a mentor and paid professional development days.",
    ],
    schedules: &[
        schedule("", "The position follows the school calendar, with summers, winter break and spring break off."),
        schedule("Fall Semester", "This position starts with the fall semester, and new-teacher orientation is held the week before students return."),
        schedule("", "The school day runs from 7:45 a.m. to 3:15 p.m., with one planning period daily."),
    ],
    employment_types: &[("Full-time", 7), ("Part-time", 2), ("Temporary", 1)],
    pay: Pay::Annual(45, 62),
    manager: "principal",
    remote_ok: false,
};

const ELEMENTARY: Role = Role {
    titles: &[
        "Elementary School Teacher",
        "Kindergarten Teacher",
        "Third Grade Teacher",
    ],
    levels: PLAIN_LEVELS,
    duties: &[
        "Teach reading, writing, math and science to a class of about 22 students.",
        "Plan engaging, standards-aligned lessons for students of varying abilities.",
        "Build classroom routines that help young students learn independence.",
        "Assess reading levels and work with small groups to close learning gaps.",
    ],
};
const SUBJECT_TEACHING: Role = Role {
    titles: &[
        "Math Teacher",
        "Science Teacher",
        "English Language Arts Teacher",
        "History Teacher",
        "Spanish Teacher",
    ],
    levels: PLAIN_LEVELS,
    duties: &[
        "Plan and teach standards-aligned lessons to five class periods a day.",
        "Prepare students for state exams and Advanced Placement courses.",
        "Design labs, projects and writing assignments that build critical thinking.",
        "Assess student progress with quizzes, tests and projects and adjust instruction.",
    ],
};
const SPECIAL_EDUCATION: Role = Role {
    titles: &["Special Education Teacher", "Special Education Resource Teacher"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Write and carry out individualized education programs (IEPs) with families and specialists.",
        "Differentiate instruction for students with learning, behavioral and physical disabilities.",
        "Coordinate with speech therapists, psychologists and general education teachers.",
    ],
};
const COUNSELING: Role = Role {
    titles: &["School Counselor"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Meet with students about academic plans, college applications and personal concerns.",
        "Run small groups on topics such as anxiety, friendship and study skills.",
        "Support students' social and emotional learning and connect families to community resources.",
    ],
};
const CLASSROOM_SUPPORT: Role = Role {
    titles: &["Teacher Assistant", "Paraprofessional"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Support the lead teacher with small-group instruction and classroom routines.",
        "Help students with special needs during lessons, lunch and transitions.",
        "Prepare materials and copies for upcoming lessons.",
    ],
};
const SUBSTITUTE: Role = Role {
    titles: &["Substitute Teacher"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Follow lesson plans left by the classroom teacher and keep the day on track.",
        "Cover classes across grade levels and subjects, sometimes on short notice.",
        "Leave clear notes for the teacher about what was covered and how students did.",
    ],
};
const TUTORING: Role = Role {
    titles: &["Academic Tutor", "Reading Interventionist"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Tutor students one-on-one and in small groups to close learning gaps.",
        "Track each student's progress and share updates with teachers and families.",
        "Use research-based reading and math programs with struggling students.",
    ],
};
const PRESCHOOL: Role = Role {
    titles: &["Preschool Teacher", "Infant and Toddler Teacher"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Plan play-based activities that build language, motor and social skills.",
        "Handle diapering, naps and meals with patience and care.",
        "Share daily updates and photos with parents through our classroom app.",
        "Observe and record each child's development.",
    ],
};

// --- Marketing -------------------------------------------------------------------------

const MARKETING: Field = Field {
    name: "marketing",
    weight: 5,
    employers: &[
        Employer {
            names: &[
                "Beacon Creative Agency",
                "Sprout & Stone Marketing",
                "Bold Compass Agency",
                "Fieldnote Media",
            ],
            intros: &[
                "{company} is a full-service marketing agency creating campaigns for consumer brands, from strategy and creative to paid media.",
                "{company} is a digital marketing agency helping software companies grow through content, SEO and paid search.",
            ],
            roles: &[DIGITAL_MARKETING, SEO, CONTENT, SOCIAL_MEDIA, MARKETING_STRATEGY],
        },
        Employer {
            names: &[
                "Lighthouse Brands",
                "Greenleaf Consumer Goods",
                "Orbit Outdoor Products",
                "Clearwater Skincare",
                "Vividly Co.",
            ],
            intros: &[
                "{company} is a direct-to-consumer brand that has grown to $80 million in annual sales largely through digital marketing.",
                "{company} makes natural personal care products sold in 4,000 stores and online, and our marketing team is growing.",
                "At {company}, marketing sits at the center of the business: we test, measure and learn fast.",
            ],
            roles: &[DIGITAL_MARKETING, CONTENT, SOCIAL_MEDIA, MARKETING_STRATEGY],
        },
    ],
    duties: &[
        "Analyze campaign performance in Google Analytics and report on return on ad spend.",
        "Coordinate with designers, agencies and freelancers to produce creative assets.",
        "Maintain brand guidelines and keep a consistent voice across every channel.",
        "Work with the sales team to turn marketing leads into customers.",
        "Share weekly marketing results and recommendations with leadership.",
    ],
    requirements: &[
        "Bachelor's degree in marketing, communications or a related field.",
        "Hands-on experience with Google Analytics, Google Ads and Meta Ads Manager.",
        "Excellent writing and editing skills, with a portfolio of work.",
        "Experience with marketing automation tools such as HubSpot, Marketo or Klaviyo.",
        "A data-driven mindset and comfort with spreadsheets and dashboards.",
        "Knowledge of SEO best practices and content management systems like WordPress.",
        "An eye for design; familiarity with Canva or Adobe Creative Suite is a plus.",
        "Ability to manage several projects and deadlines at once.",
        "Experience in B2B software or consumer packaged goods marketing is a plus.",
        "Strong presentation and stakeholder communication skills.",
    ],
    perks: &[
        "A yearly budget covers marketing conferences and courses.",
        "Summer hours give you Friday afternoons off.",
        "You get free products and a generous friends-and-family discount.",
        "Our creative, collaborative team celebrates new ideas.",
    ],
    schedules: OFFICE_SCHEDULES,
    employment_types: &[("Full-time", 7), ("Contract", 2)],
    pay: Pay::Annual(55, 95),
    manager: "director of marketing",
    remote_ok: true,
};

const DIGITAL_MARKETING: Role = Role {
    titles: &[
        "Digital Marketing Specialist",
        "Email Marketing Specialist",
        "Paid Media Specialist",
    ],
    levels: SENIOR_LEVELS,
    duties: &[
        "Plan and run multi-channel marketing campaigns across email, paid social and search.",
        "Manage paid media budgets on Google Ads and Meta and lower the cost per acquisition.",
        "Build and test email nurture sequences in HubSpot or Klaviyo.",
        "Run A/B tests on landing pages, subject lines and ad creative.",
    ],
};
const SEO: Role = Role {
    titles: &["SEO Specialist", "SEO Strategist"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Optimize website content for SEO and track keyword rankings and organic traffic.",
        "Run technical SEO audits and fix crawl, speed and indexing issues.",
        "Plan content around keyword research and search intent.",
    ],
};
const CONTENT: Role = Role {
    titles: &["Content Marketing Manager", "Copywriter", "Content Writer"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Write compelling copy for websites, landing pages, ads and emails.",
        "Plan and publish blog posts, guides and customer case studies.",
        "Edit content for clarity, tone and accuracy.",
    ],
};
const SOCIAL_MEDIA: Role = Role {
    titles: &["Social Media Manager", "Social Media Coordinator"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Manage the social media calendar and grow engagement on Instagram, TikTok and LinkedIn.",
        "Create short-form video with creators and influencers.",
        "Respond to comments and messages and nurture our online community.",
    ],
};
const MARKETING_STRATEGY: Role = Role {
    titles: &[
        "Marketing Manager",
        "Product Marketing Manager",
        "Brand Manager",
        "Marketing Coordinator",
    ],
    levels: SENIOR_LEVELS,
    duties: &[
        "Develop product positioning, messaging and launch plans with product and sales teams.",
        "Research customers and competitors to find new growth opportunities.",
        "Plan trade shows, webinars and community events.",
        "Own the marketing budget and calendar for your product line.",
    ],
};

// --- Customer support ------------------------------------------------------------------

const CUSTOMER_SUPPORT: Field = Field {
    name: "customer_support",
    weight: 6,
    employers: &[
        Employer {
            names: &["Nimbus Telecom", "ClearSky Internet", "Pulse Mobile", "Evergreen Utilities"],
            intros: &[
                "{company} provides internet, TV and phone service to more than two million homes, and our customer support team is the voice of the company.",
                "{company} serves 900,000 customers, and our support center in {city} handles billing, service and technical questions.",
            ],
            roles: &[FRONT_LINE_SUPPORT, TECHNICAL_SUPPORT],
        },
        Employer {
            names: &["ServicePoint BPO", "Connectify Solutions"],
            intros: &[
                "{company} is a customer experience outsourcing company handling calls, chats and emails for well-known consumer brands.",
            ],
            roles: &[FRONT_LINE_SUPPORT],
        },
        Employer {
            names: &["Shopwell", "Ledgerly"],
            intros: &[
                "{company} helps 50,000 small businesses run their online stores, and our support team answers customer questions around the clock.",
                "{company} makes accounting software for small businesses, and our customers rate our support team 4.8 out of 5.",
            ],
            roles: &[FRONT_LINE_SUPPORT, TECHNICAL_SUPPORT, CUSTOMER_SUCCESS],
        },
        Employer {
            names: &["BrightPath Insurance", "Hearthstone Home Services"],
            intros: &[
                "At {company}, every customer conversation matters: our support team has a 94% satisfaction score, and we intend to keep it that way.",
            ],
            roles: &[FRONT_LINE_SUPPORT, CLIENT_SERVICES],
        },
    ],
    duties: &[
        "Document every customer interaction accurately in Zendesk or Salesforce.",
        "Escalate complex cases to tier-two support or specialist teams with clear notes.",
        "Meet goals for first-contact resolution, handle time and customer satisfaction.",
        "Spot recurring problems and share customer feedback with product teams.",
        "De-escalate frustrated customers and turn difficult conversations into positive experiences.",
    ],
    requirements: &[
        "Customer service, call center or retail experience.",
        "A clear, friendly phone voice and strong written communication.",
        "A typing speed of at least 35 words per minute.",
        "Comfort navigating several computer systems at once.",
        "Patience and a calm, problem-solving attitude.",
        "Bilingual in English and Spanish is a plus.",
        "Experience with Zendesk, Salesforce Service Cloud or similar tools.",
        "High school diploma or GED.",
        "Basic technical troubleshooting skills for technical support roles.",
        "Ability to work a fixed schedule, including some weekends.",
    ],
    perks: &[
        "Two weeks of paid training come before your first customer call.",
        "Monthly bonuses are paid based on customer satisfaction scores.",
        "Many of our team leads started as front-line agents.",
        "We provide the computer and headset for every agent.",
    ],
    schedules: &[
        schedule("Evening Shift", "This is an evening shift role from 2 p.m. to 10:30 p.m., including one weekend day."),
        schedule("", "After paid training, you will work a set schedule between 8 a.m. and 8 p.m., Monday through Friday."),
        schedule("", "Our support team works shifts that cover 7 a.m. to 11 p.m., seven days a week."),
    ],
    employment_types: &[("Full-time", 6), ("Part-time", 2), ("Temporary", 1)],
    pay: Pay::Hourly(16, 23),
    manager: "support team lead",
    remote_ok: true,
};

const FRONT_LINE_SUPPORT: Role = Role {
    titles: &[
        "Customer Support Representative",
        "Customer Service Representative",
        "Call Center Agent",
    ],
    levels: ENTRY_LEVELS,
    duties: &[
        "Answer inbound calls, chats and emails from customers with professionalism and empathy.",
        "Process orders, returns, refunds and account changes.",
        "Explain bills and payment options and set up payment arrangements.",
        "Make outbound calls to follow up on open cases.",
    ],
};
const TECHNICAL_SUPPORT: Role = Role {
    titles: &["Technical Support Specialist", "Help Desk Technician"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Troubleshoot connectivity, login and software issues and walk customers through solutions.",
        "Reset passwords, set up devices and resolve help desk tickets.",
        "Write and update knowledge base articles and saved replies.",
    ],
};
const CUSTOMER_SUCCESS: Role = Role {
    titles: &["Customer Success Manager"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Onboard new customers and help them get value from the product quickly.",
        "Run quarterly business reviews with your accounts and plan their next steps.",
        "Reduce churn by spotting at-risk accounts early and building a plan with them.",
    ],
};
const CLIENT_SERVICES: Role = Role {
    titles: &["Client Services Associate", "Policy Service Representative"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Answer customer questions about coverage, claims, appointments and billing.",
        "Update policies and accounts accurately after every change.",
        "Schedule service visits and confirm appointments with customers.",
    ],
};

// --- Manufacturing ---------------------------------------------------------------------

const MANUFACTURING: Field = Field {
    name: "manufacturing",
    weight: 6,
    employers: &[
        Employer {
            names: &["Precision Parts Manufacturing", "Vector Aerospace Components", "{city} Tool & Die"],
            intros: &[
                "{company} manufactures precision-machined components for the aerospace, medical and automotive industries.",
            ],
            roles: &[CNC_MACHINING, QUALITY_CONTROL, MAINTENANCE, PRODUCTION, PRODUCTION_SUPERVISION],
        },
        Employer {
            names: &["Allied Plastics Corp.", "Sunbelt Packaging"],
            intros: &[
                "{company} is an ISO 9001-certified manufacturer of injection-molded plastic parts and packaging.",
            ],
            roles: &[MACHINE_OPERATION, PROCESS_TECHNICIAN, QUALITY_CONTROL, MAINTENANCE, PRODUCTION_SUPERVISION],
        },
        Employer {
            names: &["Midwest Metal Works", "Titan Fabrication"],
            intros: &[
                "{company} builds steel structures and custom fabrications in its {city} plant, from small brackets to 40-foot assemblies.",
            ],
            roles: &[WELDING, PRODUCTION, QUALITY_CONTROL, PRODUCTION_SUPERVISION],
        },
        Employer {
            names: &["Cascade Food Processing", "Golden Valley Foods"],
            intros: &[
                "{company} runs a 24/7 food manufacturing plant in {city}, producing snacks for national grocery brands.",
            ],
            roles: &[PRODUCTION, MACHINE_OPERATION, QUALITY_CONTROL, MAINTENANCE, PRODUCTION_SUPERVISION],
        },
        Employer {
            names: &["Northbridge Automotive Components"],
            intros: &[
                "{company} supplies seats, trim and wiring assemblies to three major automakers from its plant in {city}.",
            ],
            roles: &[PRODUCTION, MACHINE_OPERATION, QUALITY_CONTROL, MAINTENANCE],
        },
    ],
    duties: &[
        "Follow lockout/tagout and all other plant safety procedures.",
        "Take part in 5S and continuous improvement projects on the shop floor.",
        "Train new team members on equipment and standard work.",
        "Keep accurate production and quality records for every shift.",
        "Keep your work area clean and report safety hazards right away.",
    ],
    requirements: &[
        "High school diploma or GED.",
        "Previous manufacturing, production or machine shop experience preferred.",
        "Ability to read blueprints and use precision measuring instruments.",
        "Mechanical aptitude and strong attention to detail.",
        "Ability to stand for a full shift and lift up to 50 pounds.",
        "Basic computer skills to enter production data.",
        "Experience with lean manufacturing or Six Sigma is a plus.",
        "Willingness to work overtime when production demands it.",
        "A commitment to safety, quality and teamwork.",
    ],
    perks: &[
        "Overtime is available most weeks at time and a half.",
        "Perfect attendance bonuses are paid every quarter.",
        "Paid skills training and certifications lead to higher pay grades.",
        "We give an allowance for steel-toe boots and safety glasses.",
    ],
    schedules: &[
        schedule("1st Shift", "First shift runs 6 a.m. to 2:30 p.m., Monday through Friday, with overtime available on Saturdays."),
        schedule("2nd Shift", "Second shift runs 2 p.m. to 10:30 p.m. and includes a $1.50-an-hour shift premium."),
        schedule("3rd Shift", "Third shift runs 10 p.m. to 6:30 a.m. with a $2-an-hour shift premium."),
        schedule("", "The plant runs 12-hour rotating shifts, so you work 14 days out of every 28 and get every other weekend off."),
    ],
    employment_types: &[("Full-time", 8), ("Temporary", 2)],
    pay: Pay::Hourly(18, 30),
    manager: "production manager",
    remote_ok: false,
};

const PRODUCTION: Role = Role {
    titles: &[
        "Production Worker",
        "Assembly Technician",
        "Production Associate",
    ],
    levels: ENTRY_LEVELS,
    duties: &[
        "Assemble components and finished products according to work instructions.",
        "Package, label and stage finished goods for shipping.",
        "Keep the production line running at target speed and report downtime.",
    ],
};
const MACHINE_OPERATION: Role = Role {
    titles: &["Machine Operator", "Packaging Machine Operator"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Set up and run production machines and keep them fed with raw materials.",
        "Adjust machine settings and clear jams to reduce scrap and downtime.",
        "Check product samples against specifications throughout the shift.",
    ],
};
const CNC_MACHINING: Role = Role {
    titles: &["CNC Machinist", "CNC Operator"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Set up and operate CNC mills and lathes to produce parts to tight tolerances.",
        "Read blueprints and use calipers, micrometers and gauges to verify part dimensions.",
        "Edit G-code programs and tool offsets, and change tooling between jobs.",
    ],
};
const QUALITY_CONTROL: Role = Role {
    titles: &["Quality Control Inspector", "Quality Technician"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Inspect parts and products for defects and record results in quality logs.",
        "Run first-article inspections and calibrate gauges and measuring equipment.",
        "Quarantine nonconforming product and help find the root cause.",
    ],
};
const MAINTENANCE: Role = Role {
    titles: &["Maintenance Technician", "Industrial Maintenance Mechanic"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Perform preventive maintenance and troubleshoot mechanical, electrical and hydraulic problems.",
        "Repair PLC-controlled equipment, motors, pumps and conveyors.",
        "Keep maintenance records and spare parts inventory up to date.",
    ],
};
const WELDING: Role = Role {
    titles: &["Welder", "Welder Fabricator"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Weld and fabricate steel parts using MIG and TIG processes.",
        "Fit up parts from drawings and check them for square and dimension.",
        "Grind and finish welds and pass visual and destructive weld tests.",
    ],
};
const PROCESS_TECHNICIAN: Role = Role {
    titles: &["Process Technician"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Set up injection molding machines and optimize process parameters.",
        "Troubleshoot defects such as short shots, flash and warping.",
        "Document process changes and train operators on new settings.",
    ],
};
const PRODUCTION_SUPERVISION: Role = Role {
    titles: &["Production Supervisor"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Lead a shift of 25 production employees and assign work.",
        "Track output, scrap and downtime and act on the numbers every day.",
        "Run shift start meetings focused on safety, quality and delivery.",
    ],
};

// --- Legal -----------------------------------------------------------------------------

const LEGAL: Field = Field {
    name: "legal",
    weight: 4,
    employers: &[
        Employer {
            names: &["Hartwell & Associates LLP", "Morrison Blake Law Group", "Fairbanks Insurance Defense Group"],
            intros: &[
                "{company} is a mid-sized law firm practicing business litigation, employment law and real estate law from offices in {city}.",
                "{company} is a law firm defending businesses and their insurers in civil lawsuits throughout the state.",
            ],
            roles: &[PARALEGAL, LEGAL_SUPPORT, ATTORNEY, LAW_CLERK],
        },
        Employer {
            names: &["Sullivan, Reyes & Park", "Greene & Castillo Attorneys"],
            intros: &[
                "{company} is a personal injury law firm that has represented injured people and their families for more than 30 years.",
            ],
            roles: &[PARALEGAL, LEGAL_SUPPORT, ATTORNEY],
        },
        Employer {
            names: &["Carter Hale LLP", "Whitmore Legal PLLC", "Lindqvist Law Offices"],
            intros: &[
                "{company} is a corporate law firm advising growing companies on contracts, financing, mergers and acquisitions.",
                "{company} is a boutique law firm focused on business formation, estate planning and real estate, known for personal attention to every client.",
            ],
            roles: &[PARALEGAL, LEGAL_SUPPORT, ATTORNEY, CONTRACTS],
        },
        Employer {
            names: &["Northfield Medical Devices", "Orion Logistics Holdings"],
            intros: &[
                "The in-house legal team at {company} supports a 3,000-employee company with contracts, compliance and litigation management.",
            ],
            roles: &[CORPORATE_COUNSEL, CONTRACTS, PARALEGAL],
        },
    ],
    duties: &[
        "Communicate professionally with clients, opposing counsel and court clerks.",
        "Track billable hours accurately and on time.",
        "Keep case files and legal documents organized and confidential.",
        "Work closely with partners and associates on active matters.",
    ],
    requirements: &[
        "A paralegal certificate or bachelor's degree; an ABA-approved program is preferred.",
        "A Juris Doctor from an accredited law school and active bar membership for attorney roles.",
        "Experience in a law firm or corporate legal department.",
        "Proficiency with Microsoft Word, Outlook and case management software such as Clio.",
        "Knowledge of state and federal court rules and e-filing procedures.",
        "Excellent writing, proofreading and organizational skills.",
        "Ability to handle confidential legal matters with discretion.",
        "Experience with Westlaw, LexisNexis or Relativity.",
        "Ability to manage competing deadlines calmly.",
        "Spanish fluency is a plus for client communication.",
    ],
    perks: &[
        "The firm pays bar dues and CLE costs.",
        "An annual discretionary bonus rewards strong performance.",
        "Attorneys and staff work as one team in a collegial, low-turnover office.",
        "The office closes between Christmas and New Year's, with pay.",
    ],
    schedules: &[
        schedule("", "The office is open 8:30 a.m. to 5:30 p.m., with occasional longer days ahead of trial."),
        schedule("", "After the first 90 days, you may work from home one day a week."),
    ],
    employment_types: &[("Full-time", 8), ("Part-time", 1), ("Contract", 1)],
    pay: Pay::Annual(50, 85),
    manager: "managing partner",
    remote_ok: false,
};

const PARALEGAL: Role = Role {
    titles: &["Paralegal", "Litigation Paralegal"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Draft pleadings, motions, discovery requests and correspondence for attorney review.",
        "Prepare exhibits, trial binders and witness materials.",
        "Summarize depositions and organize document productions in e-discovery software.",
        "E-file documents with state and federal courts.",
    ],
};
const LEGAL_SUPPORT: Role = Role {
    titles: &["Legal Assistant", "Legal Secretary"],
    levels: PLAIN_LEVELS,
    duties: &[
        "Manage court deadlines and the attorney calendar.",
        "Format, proofread and file legal documents.",
        "Answer phones, greet clients and schedule consultations.",
        "Prepare client invoices from attorney time entries.",
    ],
};
const ATTORNEY: Role = Role {
    titles: &["Associate Attorney"],
    levels: ATTORNEY_LEVELS,
    duties: &[
        "Represent clients in depositions, hearings and mediations.",
        "Conduct legal research on Westlaw or LexisNexis and draft motions and briefs.",
        "Manage your own caseload and advise clients on strategy and risk.",
    ],
};
const LAW_CLERK: Role = Role {
    titles: &["Law Clerk"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Research legal questions and write clear memos for the attorneys.",
        "Cite-check briefs and help prepare for hearings and trial.",
    ],
};
const CONTRACTS: Role = Role {
    titles: &["Contracts Administrator", "Contracts Manager"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Review and negotiate commercial contracts, NDAs and vendor agreements.",
        "Maintain the contract database and track renewal and expiration dates.",
        "Draft contract amendments from approved templates.",
    ],
};
const CORPORATE_COUNSEL: Role = Role {
    titles: &["Corporate Counsel"],
    levels: ATTORNEY_LEVELS,
    duties: &[
        "Advise business teams on legal risk, compliance and regulatory questions.",
        "Review and negotiate customer, supplier and partnership agreements.",
        "Manage outside counsel and the legal department budget.",
    ],
};

// --- Human resources -------------------------------------------------------------------

const HUMAN_RESOURCES: Field = Field {
    name: "human_resources",
    weight: 4,
    employers: &[
        Employer {
            names: &["Magnolia Senior Living", "Keystone Manufacturing Group", "Alder & Finch Consulting"],
            intros: &[
                "{company} employs 2,000 people in {city}, and our human resources team supports everyone from the front line to the executive suite.",
                "At {company}, we believe great companies are built by great people, and our HR team is a true partner to the business.",
            ],
            roles: &[HR_GENERALIST, RECRUITING, PAYROLL_BENEFITS, HR_LEADERSHIP],
        },
        Employer {
            names: &["Talentbridge Staffing", "BrightHire Recruiting"],
            intros: &[
                "{company} is a staffing and recruiting firm placing professionals in healthcare, technology and finance roles.",
            ],
            roles: &[RECRUITING],
        },
        Employer {
            names: &["PeopleFirst HR Solutions", "Unity Workforce Partners", "Sequoia Employer Services"],
            intros: &[
                "{company} provides outsourced HR, payroll and benefits administration to more than 600 small and midsize businesses.",
            ],
            roles: &[HR_GENERALIST, PAYROLL_BENEFITS],
        },
    ],
    duties: &[
        "Keep employee information confidential and handle sensitive conversations with care.",
        "Stay current on employment law changes and update policies to match.",
        "Support company-wide HR projects such as handbook updates and engagement surveys.",
        "Maintain accurate employee records in the HRIS.",
    ],
    requirements: &[
        "Bachelor's degree in human resources, business or a related field.",
        "SHRM-CP, SHRM-SCP or PHR certification preferred.",
        "Working knowledge of federal and state employment law, including FMLA, ADA and FLSA.",
        "Experience with an HRIS or applicant tracking system such as Workday, Greenhouse or BambooHR.",
        "Excellent interpersonal skills and sound judgment with sensitive matters.",
        "Strong organizational skills and attention to detail.",
        "Experience sourcing candidates on LinkedIn and job boards.",
        "Payroll experience with ADP, Paylocity or Gusto for payroll roles.",
        "Comfort presenting to groups of employees and leaders.",
    ],
    perks: &[
        "Generous referral bonuses are paid for every hire you bring in.",
        "We pay for SHRM membership and certification prep.",
        "A flexible schedule fits around family commitments.",
        "Our people-first culture practices what it preaches.",
    ],
    schedules: OFFICE_SCHEDULES,
    employment_types: &[("Full-time", 8), ("Contract", 2)],
    pay: Pay::Annual(55, 85),
    manager: "director of human resources",
    remote_ok: true,
};

const HR_GENERALIST: Role = Role {
    titles: &[
        "Human Resources Generalist",
        "HR Coordinator",
        "People Operations Specialist",
    ],
    levels: SENIOR_LEVELS,
    duties: &[
        "Onboard new hires and run orientation so they feel welcome from day one.",
        "Advise managers on employee relations, performance management and policy questions.",
        "Handle leaves of absence, FMLA and ADA accommodation requests.",
    ],
};
const RECRUITING: Role = Role {
    titles: &["Recruiter", "Talent Acquisition Specialist", "Technical Recruiter"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Manage full-cycle recruiting: write job descriptions, source candidates, screen resumes and schedule interviews.",
        "Build relationships with hiring managers to understand their hiring needs.",
        "Track recruiting metrics such as time-to-fill and offer acceptance rate.",
        "Source passive candidates on LinkedIn and at career fairs.",
    ],
};
const PAYROLL_BENEFITS: Role = Role {
    titles: &["Payroll Specialist", "Benefits Administrator"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Process biweekly payroll for hourly and salaried employees in ADP or Paylocity.",
        "Administer health, dental and retirement benefits and lead open enrollment.",
        "Answer employee questions about paychecks, taxes and deductions.",
    ],
};
const HR_LEADERSHIP: Role = Role {
    titles: &["HR Manager", "HR Business Partner"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Investigate workplace complaints fairly and document the findings.",
        "Lead compensation reviews, job leveling and annual performance cycles.",
        "Coach leaders on building healthy, high-performing teams.",
    ],
};

// --- Data science ----------------------------------------------------------------------

const DATA_SCIENCE: Field = Field {
    name: "data_science",
    weight: 4,
    employers: &[Employer {
        names: &[
            "Insightful Analytics",
            "Vectorly AI",
            "Numerica Labs",
            "Signal & Noise Data Co.",
            "Prism Data Partners",
            "DeepRiver AI",
            "Cobalt Retail Analytics",
            "Clearview Insurance Analytics",
        ],
        intros: &[
            "{company} uses data and machine learning to help retailers forecast demand and set prices across thousands of stores.",
            "{company} is an AI startup building machine learning models that read and summarize complex documents for insurance and legal teams.",
            "The data team at {company} turns billions of events a day into the insights and models behind our product.",
            "At {company}, decisions start with data: our analytics team partners with every department from marketing to operations.",
        ],
        roles: &[DATA_SCIENTIST, DATA_ANALYST, DATA_ENGINEERING],
    }],
    duties: &[
        "Communicate findings and recommendations clearly to non-technical audiences.",
        "Clean, join and validate large datasets from many sources.",
        "Document data models, assumptions and analysis methods.",
        "Write complex SQL queries to explore data and answer business questions.",
    ],
    requirements: &[
        "A bachelor's or master's degree in statistics, computer science, mathematics or another quantitative field.",
        "Strong SQL skills and experience with Python or R.",
        "A solid grounding in statistics, experimental design and hypothesis testing.",
        "Experience with machine learning libraries such as scikit-learn, PyTorch or XGBoost.",
        "Experience with cloud data warehouses such as Snowflake, BigQuery or Redshift.",
        "Ability to explain complex analysis in plain language.",
        "Experience with data visualization tools such as Tableau or Looker.",
        "Familiarity with Spark, Airflow or dbt is a plus.",
        "A PhD in a quantitative field is a plus for research-focused roles.",
        "Curiosity and a habit of asking the next question about the data.",
    ],
    perks: &[
        "You will have access to a dedicated GPU cluster and modern data tools.",
        "A yearly learning budget covers courses and conferences.",
        "Every offer includes equity in a fast-growing company.",
        "Time is set aside each quarter for research projects of your choosing.",
    ],
    schedules: OFFICE_SCHEDULES,
    employment_types: &[("Full-time", 8), ("Contract", 1), ("Internship", 1)],
    pay: Pay::Annual(85, 140),
    manager: "head of data",
    remote_ok: true,
};

const DATA_SCIENTIST: Role = Role {
    titles: &["Data Scientist", "Applied Scientist", "Machine Learning Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Build, validate and deploy machine learning models for forecasting, classification and recommendation.",
        "Monitor model performance in production and retrain models as the data drifts.",
        "Partner with engineers to put models into production behind APIs.",
        "Experiment with large language models and embeddings for new product features.",
    ],
};
const DATA_ANALYST: Role = Role {
    titles: &["Data Analyst", "Business Intelligence Analyst"],
    levels: CAREER_LEVELS,
    duties: &[
        "Create dashboards in Tableau, Looker or Power BI for business stakeholders.",
        "Define metrics and build a single source of truth for key business KPIs.",
        "Design and run A/B tests and analyze the results with sound statistical methods.",
    ],
};
const DATA_ENGINEERING: Role = Role {
    titles: &["Data Engineer", "Analytics Engineer"],
    levels: CAREER_LEVELS,
    duties: &[
        "Build and maintain data pipelines with Airflow, dbt and Spark.",
        "Model data in the warehouse so that analysts can trust and reuse it.",
        "Monitor data quality and fix broken pipelines before anyone notices.",
    ],
};

// --- Administrative --------------------------------------------------------------------

const ADMINISTRATIVE: Field = Field {
    name: "administrative",
    weight: 5,
    employers: &[
        Employer {
            names: &["Brookside Property Management", "Wellington Realty Group"],
            intros: &[
                "{company} manages more than 3,000 apartment homes and commercial spaces across the region.",
            ],
            roles: &[RECEPTION, OFFICE_ADMINISTRATION, OFFICE_MANAGEMENT, DATA_ENTRY],
        },
        Employer {
            names: &["Clearpoint Insurance Agency", "Pioneer Engineering Consultants", "Northgate Business Services"],
            intros: &[
                "{company} is a busy professional services office in {city} with a team of 45 and a loyal client base.",
                "{company} is a growing firm that serves clients across the state, and our office keeps it all running.",
            ],
            roles: &[RECEPTION, OFFICE_ADMINISTRATION, EXECUTIVE_SUPPORT, OFFICE_MANAGEMENT, DATA_ENTRY],
        },
        Employer {
            names: &["Lakeshore Dental Group", "Summit Family Chiropractic"],
            intros: &[
                "{company} is a community-focused practice where the front office sets the tone for every patient visit.",
            ],
            roles: &[RECEPTION],
        },
        Employer {
            names: &["Riverbend Community Foundation"],
            intros: &[
                "{company} funds and supports more than 120 local nonprofits across the {city} area.",
            ],
            roles: &[OFFICE_ADMINISTRATION, EXECUTIVE_SUPPORT, DATA_ENTRY],
        },
    ],
    duties: &[
        "Communicate professionally with clients, vendors and coworkers.",
        "Handle confidential information with discretion.",
        "Support other teams with projects and deadlines as needed.",
        "Keep shared spaces organized and supplies stocked.",
    ],
    requirements: &[
        "Office or administrative experience.",
        "Proficiency in Microsoft Word, Excel, Outlook and PowerPoint.",
        "A professional, friendly phone manner.",
        "Excellent organizational and time management skills.",
        "A typing speed of 50 words per minute or more.",
        "An associate degree or some college preferred.",
        "Experience with QuickBooks or a CRM is a plus.",
        "Strong written communication and proofreading skills.",
        "Ability to juggle interruptions and changing priorities with a smile.",
    ],
    perks: &[
        "Parking is free, and the office is close to downtown.",
        "You get paid holidays plus your birthday off.",
        "The schedule is a predictable Monday to Friday, with no weekends.",
        "There is room to grow into office management and operations roles.",
    ],
    schedules: &[
        schedule("", "Office hours are 8 a.m. to 5 p.m., Monday through Friday."),
        schedule("", "The front desk is staffed from 7:30 a.m. to 4:30 p.m., with a paid lunch break."),
        schedule("", "This role works Monday through Friday, with occasional early starts for client events."),
    ],
    employment_types: &[("Full-time", 6), ("Part-time", 2), ("Temporary", 2)],
    pay: Pay::Hourly(18, 27),
    manager: "operations director",
    remote_ok: false,
};

const RECEPTION: Role = Role {
    titles: &["Receptionist", "Front Office Coordinator"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Answer and route phone calls and greet visitors at the front desk.",
        "Schedule appointments and verify contact and insurance information.",
        "Keep the lobby tidy and welcoming throughout the day.",
    ],
};
const OFFICE_ADMINISTRATION: Role = Role {
    titles: &["Administrative Assistant", "Office Assistant"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Prepare documents, presentations and spreadsheets in Microsoft Office and Google Workspace.",
        "Process mail, invoices and expense reports.",
        "Maintain organized paper and digital filing systems.",
        "Order office supplies and track deliveries.",
    ],
};
const EXECUTIVE_SUPPORT: Role = Role {
    titles: &["Executive Assistant"],
    levels: SENIOR_LEVELS,
    duties: &[
        "Manage calendars, schedule meetings and arrange travel for executives.",
        "Take minutes in leadership meetings and follow up on action items.",
        "Prepare briefing materials and board meeting packets.",
    ],
};
const OFFICE_MANAGEMENT: Role = Role {
    titles: &["Office Manager"],
    levels: MANAGER_LEVELS,
    duties: &[
        "Manage vendor relationships, the office budget and building maintenance requests.",
        "Support onboarding of new employees, including desk setup and building access.",
        "Coordinate meetings, events and catering for staff and clients.",
    ],
};
const DATA_ENTRY: Role = Role {
    titles: &["Data Entry Clerk"],
    levels: ENTRY_LEVELS,
    duties: &[
        "Enter data accurately into databases and the company's CRM.",
        "Verify records and correct errors and duplicates.",
        "Scan, name and index documents so that they are easy to find.",
    ],
};

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
        let rows = generate_tagged(5000, DEFAULT_SEED);
        let mut per_field: BTreeMap<&str, usize> = BTreeMap::new();
        for (posting, field) in &rows {
            *per_field.entry(field).or_default() += 1;
            assert_eq!(field_of(&posting.title), Some(*field), "{}", posting.title);
        }
        for field in FIELDS {
            let count = per_field.get(field.name).copied().unwrap_or(0);
            assert!(count >= 50, "{}: {count} postings", field.name);
        }
        assert_eq!(field_of("Astronaut"), None);
    }

    #[test]
    fn base_titles_do_not_overlap_across_fields() {
        for a in FIELDS {
            for b in FIELDS.iter().filter(|b| b.name != a.name) {
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

    #[test]
    fn example_queries_have_their_vocabulary_in_their_field() {
        let rows = generate_tagged(5000, DEFAULT_SEED);
        for (query, field) in EXAMPLE_QUERIES {
            assert!(
                FIELDS.iter().any(|f| f.name == *field),
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
    fn salary_formats() {
        assert_eq!(dollars(0), "$0");
        assert_eq!(dollars(950), "$950");
        assert_eq!(dollars(85_000), "$85,000");
        assert_eq!(dollars(1_250_000), "$1,250,000");
        assert_eq!(cents(2450), "$24.50");
        assert_eq!(article("Registered Nurse"), "a");
        assert_eq!(article("ICU Registered Nurse"), "an");
        assert_eq!(article("HR Manager"), "an");
        assert_eq!(article("Human Resources Generalist"), "a");
        assert_eq!(article("internship"), "an");
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
