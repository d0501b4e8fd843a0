//! The generator: draws each posting's parts from the [vocabulary](super::vocabulary)
//! with a seeded ChaCha8 RNG and writes them out as a title, a company, a location, a
//! salary and a five-part description.
//!
//! Every draw is made in a fixed order, so the same seed always gives the same rows, and
//! the rows depend on the vocabulary's lists only through their lengths and order.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::vocabulary::{vocabulary, Employer, Field, Level, Pay, Role, Schedule, Vocabulary};
use super::JobPosting;

/// Share of postings that are no longer active.
const INACTIVE_RATE: f64 = 0.05;
/// Share of postings that give no salary.
const NO_SALARY_RATE: f64 = 0.20;
/// Share of postings that are exact reposts of an earlier posting.
const REPOST_RATE: f64 = 0.02;
/// Share of remote-friendly postings that are fully remote, and that are hybrid.
const REMOTE_RATE: f64 = 0.20;
const HYBRID_RATE: f64 = 0.15;

/// Postings with ids `1..=n`, each with the name of the field it was drawn from.
pub(super) fn tagged(n: usize, seed: u64) -> Vec<(JobPosting, &'static str)> {
    let vocab = vocabulary();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<(JobPosting, &'static str)> = Vec::with_capacity(n);
    for id in 1..=n as i64 {
        let is_active = !rng.gen_bool(INACTIVE_RATE);
        let repost = out.len() >= 20 && rng.gen_bool(REPOST_RATE);
        let (mut posting, field) = if repost {
            let original = rng.gen_range(0..out.len());
            out[original].clone()
        } else {
            let field = pick_weighted(&mut rng, &vocab.fields, |f| f.weight);
            (new_posting(&mut rng, vocab, field), field.name.as_str())
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
    vocab: &'static Vocabulary,
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

fn new_posting(
    rng: &mut ChaCha8Rng,
    vocab: &'static Vocabulary,
    field: &'static Field,
) -> JobPosting {
    let employer = pick(rng, &field.employers);
    let role = field.role(pick(rng, &employer.roles).as_str());
    let employment_type = pick_weighted(rng, &field.employment_types, |(_, w)| *w)
        .0
        .as_str();
    let internship = employment_type == "Internship";
    let level = if internship {
        &vocab.intern_level
    } else {
        pick(rng, vocab.levels_of(role))
    };
    let base_title = pick(rng, &role.titles).as_str();
    let schedule = pick(rng, vocab.schedules_of(field));
    let title = title(rng, level, base_title, schedule, internship);
    let city_state = pick(rng, &vocab.shared.cities).as_str();
    let city = city_state.split(", ").next().unwrap_or(city_state);
    let company = pick(rng, &employer.names).replace("{city}", city);
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
        vocab,
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

/// `k` distinct items of `pool` (all of them if it has fewer), in random order.
fn pick_distinct<'p>(rng: &mut ChaCha8Rng, pool: &'p [String], k: usize) -> Vec<&'p str> {
    rand::seq::index::sample(rng, pool.len(), k.min(pool.len()))
        .into_iter()
        .map(|i| pool[i].as_str())
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
        title.push_str(&schedule.label);
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
        .replace("{manager}", &d.field.manager)
        .replace("{title}", &d.title)
}

fn about_company(d: &mut Draw) -> String {
    let intro = pick(d.rng, &d.employer.intros);
    let culture = pick(d.rng, &d.vocab.shared.culture);
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
    let mut duties = pick_distinct(d.rng, &d.role.duties, specific);
    duties.extend(pick_distinct(d.rng, &d.field.duties, count - specific));
    duties.shuffle(d.rng);
    format!("{opener} {}", duties.join(" "))
}

fn requirements(d: &mut Draw, bulleted: bool) -> String {
    let years = d.level.min_years + d.rng.gen_range(0..=1) * u32::from(d.level.min_years > 0);
    let experience = if years == 0 {
        pick(d.rng, &d.vocab.shared.entry_level).clone()
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
        pick_distinct(d.rng, &d.field.requirements, count)
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
        let opener = pick(d.rng, &d.vocab.shared.requirements_openers);
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
    let perks = pick_distinct(d.rng, &d.vocab.shared.benefits, 3);
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
    let field_perk = pick(d.rng, &d.field.perks);
    let closing = pick(d.rng, &d.vocab.shared.closings);
    format!("{offer} {field_perk} {closing}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_articles() {
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
    }
}
