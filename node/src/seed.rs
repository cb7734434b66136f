//! `techhire seed`: fills a node with realistic synthetic community data, for demos to city
//! staff and for benchmarks.
//!
//! Everything is derived from one `ChaCha8Rng` seeded with `--seed`, and every timestamp and
//! date is drawn inside a fixed two-year window ending 2026-10-31 (never "now"), so the same
//! seed always writes the same bytes into a fresh node. Records go through the same staging
//! functions as the API ([`stage_create`], [`stage_candidate`]), after passing the same
//! `validate()` checks, so seeded data is data the API could have written.
//!
//! Candidates are streamed: one thread generates and validates them in batches of 100 (with
//! their assessments, vetting and placements, a few hundred records), the calling thread
//! stages each batch as one atomic sled batch ([`Store::apply`], no fsync) and drops it, so
//! memory does not grow with `--candidates`. Only the small reference tables (programs,
//! employers, openings) stay in memory.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{anyhow, bail};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{
    stage_candidate, stage_create, Assessment, Certificate, Commitment, Consent, ConsentInput,
    ConsentScope, Contact, Delivery, Employer, Evidence, Level, Opening, OpeningStatus, Outreach,
    OutreachChannel, Personal, Placement, Profile, Program, Project, Provider, ProviderKind,
    Recommendation, RemotePolicy, RemotePreference, Resource, RetentionCheck, RetentionQuarter,
    Rubric, Schedule, Segment, SizeBand, SkillClaim, SkillName, SkillRequirement, Stage,
    StageChange, Vetting, WorkEntry,
};
use crate::skills::Taxonomy;
use crate::store::{Store, Table};

/// What `techhire seed` was asked to generate.
pub struct SeedOptions {
    pub candidates: u64,
    pub employers: u64,
    pub openings: u64,
    pub seed: u64,
}

type Rand = ChaCha8Rng;

/// 2024-11-01T00:00:00Z: start of the two-year window all seeded activity falls in.
const WINDOW_START: i64 = 1_730_419_200;
/// 2026-10-31T23:59:59Z: end of the window. Fixed, so output never depends on today's date.
const WINDOW_END: i64 = 1_793_491_199;
/// 2026-01-01T00:00:00Z: the sharing-consent policy "2026-01" took effect.
const POLICY_START: i64 = 1_767_225_600;
const POLICY_VERSION: &str = "2026-01";
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Candidates per atomic batch: with their assessments, vetting and placements about 230
/// records and 750 keys. Measured on sled 0.34 (200k candidates): 50–100 per batch is
/// fastest; 500 is 25% slower and 2000 70% slower (large batches hold sled's write lock
/// long and need more memory), while single-digit batches pay the per-batch overhead.
const CANDIDATE_BATCH: u64 = 100;
/// Generated batches waiting for the writer, so the generator thread can run ahead.
const PLAN_QUEUE: usize = 8;
/// Employers and openings per atomic batch.
const SMALL_BATCH: usize = 1000;
/// Flush to disk every this many candidates, so that a crash of a long run loses little and
/// sled's dirty pages do not pile up.
const FLUSH_EVERY: u64 = 100_000;

// ---------------------------------------------------------------------------------------
// Small helpers. All lists passed to `pick` are non-empty constants or checked beforehand.
// ---------------------------------------------------------------------------------------

fn pick<'a, T>(rng: &mut Rand, list: &'a [T]) -> &'a T {
    &list[rng.gen_range(0..list.len())]
}

/// Draws from a `(value, weight)` table; weights are small positive constants.
fn weighted<T: Copy>(rng: &mut Rand, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.gen_range(0..total.max(1));
    for (value, w) in table {
        if r < *w {
            return *value;
        }
        r -= w;
    }
    table[table.len() - 1].0
}

fn at(secs: i64) -> DateTime<Utc> {
    // Every caller passes a second inside (or just around) the window, which chrono always
    // represents; the default only keeps this function total.
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn date(secs: i64) -> NaiveDate {
    at(secs).date_naive()
}

/// A moment during US office hours (13:00–22:00 UTC) on a day drawn from `days` after
/// `secs`: staff record assessments, interviews and placements at work, not at 3 am.
fn office_time(rng: &mut Rand, secs: i64, days: std::ops::RangeInclusive<i64>) -> i64 {
    let days = rng.gen_range(days);
    let day = (secs + days * DAY).div_euclid(DAY) * DAY;
    day + 13 * HOUR + rng.gen_range(0..9 * HOUR)
}

/// `secs` placed at fraction `x` (0..1) of the window.
fn in_window(x: f64) -> i64 {
    WINDOW_START + ((WINDOW_END - WINDOW_START) as f64 * x.clamp(0.0, 1.0)) as i64
}

fn round_to(value: u32, step: u32) -> u32 {
    (value + step / 2) / step * step
}

/// An email-safe, lower-case ASCII form of a name ("María José" → "mariajose",
/// "O'Brien" → "obrien").
fn ascii_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'Ç' => 'c',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A hostname label from an organisation's name ("St. Mary's Health" → "st-marys-health").
fn host_slug(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .map(ascii_slug)
        .filter(|w| !w.is_empty() && w != "inc" && w != "llc")
        .take(4)
        .collect();
    let slug = words.join("-");
    if slug.is_empty() {
        "org".to_string()
    } else {
        slug
    }
}

/// A fictional phone number: the 555-0100..555-0199 block is reserved for fiction.
fn phone_number(rng: &mut Rand, area: &str) -> String {
    format!("({area}) 555-01{:02}", rng.gen_range(0..100))
}

/// Normalises and validates a generated record as the API would before storing it.
fn check<R: Resource>(record: &mut R, taxonomy: &Taxonomy) -> anyhow::Result<()> {
    let invalid = |e: crate::model::FieldError| {
        anyhow!(
            "generated {} is invalid: {}: {}",
            R::NAME,
            e.field,
            e.reason
        )
    };
    record.normalise(taxonomy).map_err(invalid)?;
    record.validate().map_err(invalid)
}

// ---------------------------------------------------------------------------------------
// The shared language of skills: tracks of related skills, each tied to a SOC 2018
// occupation, the job titles employers post for it, and the training and tests behind it.
// ---------------------------------------------------------------------------------------

struct Track {
    soc: &'static str,
    /// Relative share of openings and candidates.
    weight: u32,
    skills: &'static [&'static str],
    titles: &'static [&'static str],
    /// (lowest minimum, highest maximum) annual salary for entry-level roles.
    salary: (u32, u32),
    /// Chance that an opening of this track is fully remote.
    remote: f64,
    programs: &'static [&'static str],
    /// (credential, issuer).
    credentials: &'static [(&'static str, &'static str)],
    /// (instrument, max score, skill it tests; `None`: the candidate's own main skill).
    instruments: &'static [(&'static str, u32, Option<&'static str>)],
    /// (project name, description).
    projects: &'static [(&'static str, &'static str)],
    blurb: &'static str,
}

// A data table, laid out by hand to stay readable (rustfmt would give each skill a line).
#[rustfmt::skip]
const TRACKS: &[Track] = &[
    Track {
        soc: "15-1232",
        weight: 26,
        skills: &[
            "Windows", "macOS", "Active Directory", "Troubleshooting", "Ticketing systems",
            "Hardware repair", "Network fundamentals", "Microsoft 365", "Customer service",
            "Mobile device management", "Remote support",
        ],
        titles: &[
            "IT Support Specialist", "Help Desk Technician", "Desktop Support Technician",
            "Service Desk Analyst", "IT Support Technician I", "Field Services Technician",
        ],
        salary: (38_000, 58_000),
        remote: 0.08,
        programs: &[
            "IT Support Specialist Certificate", "CompTIA A+ Exam Prep", "Help Desk Fundamentals",
            "Google IT Support Professional Certificate", "Computer Support Technician",
        ],
        credentials: &[
            ("CompTIA A+", "CompTIA"),
            ("Google IT Support Professional Certificate", "Google"),
            ("CompTIA IT Fundamentals (ITF+)", "CompTIA"),
            ("Microsoft 365 Fundamentals (MS-900)", "Microsoft"),
        ],
        instruments: &[
            (
                "CompTIA A+ Core 1 practice exam",
                100,
                Some("Hardware repair"),
            ),
            ("TestOut PC Pro skills lab", 100, Some("Troubleshooting")),
            (
                "Help desk ticket simulation",
                50,
                Some("Ticketing systems"),
            ),
            ("TechHire IT fundamentals assessment", 50, None),
        ],
        projects: &[
            (
                "Home lab domain controller",
                "Set up Active Directory on a spare PC with user accounts, groups and policies.",
            ),
            (
                "Church office IT refresh",
                "Reimaged six donated laptops, set up Microsoft 365 and wrote a how-to sheet.",
            ),
            (
                "Library tech help desk",
                "Volunteered two evenings a week fixing patrons' phones and laptops.",
            ),
        ],
        blurb: "keep our staff's computers, phones and accounts working",
    },
    Track {
        soc: "15-1231",
        weight: 8,
        skills: &[
            "Network fundamentals", "TCP/IP", "DNS", "DHCP", "Cisco IOS", "Routing", "Switching",
            "VPN", "Wireless networking", "Structured cabling", "Firewalls", "Network monitoring",
        ],
        titles: &[
            "Network Technician", "Network Support Specialist", "NOC Technician",
            "Junior Network Administrator",
        ],
        salary: (44_000, 68_000),
        remote: 0.05,
        programs: &[
            "Network Technician (CompTIA Network+)", "Cisco CCNA Prep", "Networking Essentials",
        ],
        credentials: &[
            ("CompTIA Network+", "CompTIA"),
            ("Cisco Certified Network Associate (CCNA)", "Cisco"),
            ("Cisco Certified Support Technician Networking", "Cisco"),
        ],
        instruments: &[
            (
                "Cisco Networking Essentials final exam",
                100,
                Some("TCP/IP"),
            ),
            ("Packet Tracer configuration lab", 40, Some("Cisco IOS")),
            ("TechHire networking fundamentals assessment", 50, None),
        ],
        projects: &[
            (
                "Home network rebuild",
                "Segmented a home network into VLANs with a pfSense firewall and guest Wi-Fi.",
            ),
            (
                "Community center Wi-Fi survey",
                "Mapped dead zones and proposed access point placement for a rec center.",
            ),
        ],
        blurb: "keep our sites, switches and Wi-Fi running",
    },
    Track {
        soc: "15-1244",
        weight: 10,
        skills: &[
            "Linux", "Bash", "PowerShell", "AWS", "Azure", "Google Cloud", "Docker", "Kubernetes",
            "Terraform", "VMware", "Git", "CI/CD", "Windows Server",
        ],
        titles: &[
            "Junior Systems Administrator", "Cloud Support Associate", "Linux Administrator I",
            "Junior DevOps Engineer", "Cloud Operations Technician",
        ],
        salary: (52_000, 82_000),
        remote: 0.25,
        programs: &[
            "Cloud Support Associate", "AWS Cloud Practitioner Prep",
            "Linux System Administration", "Azure Administrator Pathway",
        ],
        credentials: &[
            ("AWS Certified Cloud Practitioner", "Amazon Web Services"),
            ("Microsoft Azure Fundamentals (AZ-900)", "Microsoft"),
            ("CompTIA Linux+", "CompTIA"),
            ("Red Hat Certified System Administrator", "Red Hat"),
        ],
        instruments: &[
            ("Linux command line lab", 40, Some("Linux")),
            ("AWS Cloud Quest practical", 100, Some("AWS")),
            ("Docker fundamentals exercise", 30, Some("Docker")),
            ("TechHire cloud fundamentals assessment", 50, None),
        ],
        projects: &[
            (
                "Self-hosted photo server",
                "Ran a photo gallery in Docker on a Raspberry Pi with nightly backups to S3.",
            ),
            (
                "Terraform static site",
                "Deployed a static website to AWS with Terraform and a GitHub Actions pipeline.",
            ),
        ],
        blurb: "run our servers and cloud accounts",
    },
    Track {
        soc: "15-1252",
        weight: 8,
        skills: &[
            "Java", "C#", ".NET", "Python", "Spring Boot", "SQL", "Git", "Data structures",
            "Unit testing", "REST APIs", "Go", "Object-oriented design",
        ],
        titles: &[
            "Junior Software Developer", "Associate Software Engineer",
            "Apprentice Software Developer", ".NET Developer I", "Java Developer I",
        ],
        salary: (58_000, 95_000),
        remote: 0.3,
        programs: &[
            "Java Developer Program", ".NET Developer Apprenticeship",
            "Python Programming Foundations", "Software Engineering Immersive",
        ],
        credentials: &[
            ("Oracle Certified Foundations Associate, Java", "Oracle"),
            (
                "Microsoft Certified: Azure Developer Associate",
                "Microsoft",
            ),
            (
                "PCEP Certified Entry-Level Python Programmer",
                "Python Institute",
            ),
        ],
        instruments: &[
            ("HackerRank Problem Solving (Basic)", 100, None),
            ("Codility programming task", 100, None),
            ("HackerRank Java (Basic)", 100, Some("Java")),
            ("HackerRank Python (Basic)", 100, Some("Python")),
        ],
        projects: &[
            (
                "Food bank volunteer scheduler",
                "A small web service that lets volunteers sign up for shifts.",
            ),
            (
                "Budget tracker",
                "Command-line app that imports bank CSVs and categorises spending.",
            ),
            (
                "Bus arrival notifier",
                "Texts riders when their bus is five minutes away, using the city's open data.",
            ),
        ],
        blurb: "build and maintain the software our teams rely on",
    },
    Track {
        soc: "15-1254",
        weight: 14,
        skills: &[
            "HTML", "CSS", "JavaScript", "TypeScript", "React", "Vue.js", "Node.js", "Express",
            "REST APIs", "Responsive design", "WordPress", "Web accessibility", "Git",
        ],
        titles: &[
            "Junior Web Developer", "Front-End Developer", "WordPress Developer",
            "Web Developer I", "Junior Full-Stack Developer",
        ],
        salary: (48_000, 85_000),
        remote: 0.35,
        programs: &[
            "Full-Stack Web Development", "Front-End Web Developer", "JavaScript Foundations",
            "Web Design and WordPress",
        ],
        credentials: &[
            ("Meta Front-End Developer Professional Certificate", "Meta"),
            ("Responsive Web Design Certification", "freeCodeCamp"),
            ("JavaScript Algorithms and Data Structures", "freeCodeCamp"),
        ],
        instruments: &[
            ("HackerRank JavaScript (Basic)", 100, Some("JavaScript")),
            ("TestDome HTML/CSS", 100, Some("CSS")),
            ("React take-home exercise", 20, Some("React")),
            ("TechHire web fundamentals assessment", 50, None),
        ],
        projects: &[
            (
                "Personal portfolio site",
                "Responsive portfolio with a contact form, deployed on a static host.",
            ),
            (
                "Barbershop booking page",
                "Booking page for a neighbourhood barbershop, built with React.",
            ),
            (
                "Accessible recipe site",
                "Recipe site that passes WCAG AA checks, with keyboard navigation.",
            ),
        ],
        blurb: "build and improve our websites and customer portals",
    },
    Track {
        soc: "15-1253",
        weight: 7,
        skills: &[
            "Manual testing", "Test case design", "Test automation", "Selenium", "Cypress",
            "API testing", "Postman", "Jira", "Bug reporting", "Regression testing", "SQL",
        ],
        titles: &[
            "QA Tester", "Software Test Analyst", "QA Automation Engineer I",
            "Quality Assurance Analyst",
        ],
        salary: (45_000, 72_000),
        remote: 0.3,
        programs: &[
            "Software Testing and QA", "Test Automation with Selenium",
            "QA Analyst Apprenticeship",
        ],
        credentials: &[("ISTQB Certified Tester Foundation Level", "ISTQB")],
        instruments: &[
            ("Test case writing exercise", 20, Some("Test case design")),
            ("Selenium automation task", 100, Some("Selenium")),
            ("Bug hunt on a sample app", 25, Some("Bug reporting")),
        ],
        projects: &[
            (
                "Automated tests for an open-source app",
                "Wrote Cypress tests for an open-source to-do app and reported three bugs.",
            ),
            (
                "API test suite",
                "Postman collection testing a public weather API, run in CI.",
            ),
        ],
        blurb: "find the bugs before our customers do",
    },
    Track {
        soc: "15-1212",
        weight: 8,
        skills: &[
            "Cybersecurity", "SIEM", "Vulnerability scanning", "Incident response",
            "Wireshark", "Network security", "Identity and access management", "Phishing analysis",
            "NIST Cybersecurity Framework", "Linux",
        ],
        titles: &[
            "SOC Analyst I", "Cybersecurity Analyst (Entry Level)",
            "Security Operations Technician", "Information Security Associate",
        ],
        salary: (52_000, 90_000),
        remote: 0.2,
        programs: &[
            "Cybersecurity Analyst Program", "CompTIA Security+ Exam Prep",
            "SOC Analyst Apprenticeship",
        ],
        credentials: &[
            ("CompTIA Security+", "CompTIA"),
            ("ISC2 Certified in Cybersecurity (CC)", "ISC2"),
            ("Google Cybersecurity Professional Certificate", "Google"),
            ("CompTIA CySA+", "CompTIA"),
        ],
        instruments: &[
            ("CompTIA Security+ practice exam", 900, Some("Cybersecurity")),
            ("Splunk log triage exercise", 30, Some("SIEM")),
            ("Phishing email analysis", 20, Some("Phishing analysis")),
            ("TechHire security fundamentals assessment", 50, None),
        ],
        projects: &[
            (
                "Home SOC lab",
                "Forwarded home router and PC logs into a free Splunk instance with alerts.",
            ),
            (
                "Capture the flag write-ups",
                "Solutions and notes for twelve beginner CTF challenges.",
            ),
        ],
        blurb: "watch for and respond to threats against our systems",
    },
    Track {
        soc: "15-2051",
        weight: 12,
        skills: &[
            "SQL", "Excel", "Python", "pandas", "Tableau", "Power BI", "Statistics",
            "Data cleaning", "R", "Data visualization", "Looker Studio",
        ],
        titles: &[
            "Data Analyst", "Junior Data Analyst", "Reporting Analyst",
            "Business Intelligence Analyst I",
        ],
        salary: (48_000, 85_000),
        remote: 0.25,
        programs: &[
            "Data Analytics Bootcamp", "Google Data Analytics Certificate",
            "SQL and Excel for Analysts", "Business Intelligence with Power BI",
        ],
        credentials: &[
            ("Google Data Analytics Professional Certificate", "Google"),
            ("Microsoft Power BI Data Analyst (PL-300)", "Microsoft"),
            ("Tableau Desktop Specialist", "Tableau"),
            ("Microsoft Office Specialist: Excel Expert", "Microsoft"),
        ],
        instruments: &[
            ("TestDome SQL", 100, Some("SQL")),
            ("HackerRank SQL (Basic)", 100, Some("SQL")),
            ("Excel skills assessment", 1000, Some("Excel")),
            ("Dashboard take-home exercise", 20, Some("Tableau")),
            ("TechHire data fundamentals assessment", 50, None),
        ],
        projects: &[
            (
                "City 311 dashboard",
                "Tableau dashboard of 311 requests by neighbourhood from the open data portal.",
            ),
            (
                "Food pantry demand analysis",
                "Cleaned two years of pantry sign-in sheets and forecast weekly demand.",
            ),
            (
                "Eviction filings map",
                "Mapped court eviction filings by ZIP code with Python and pandas.",
            ),
        ],
        blurb: "turn our data into reports people act on",
    },
    Track {
        soc: "15-1211",
        weight: 4,
        skills: &[
            "Business analysis", "Requirements gathering", "Process mapping",
            "User acceptance testing", "Agile", "Scrum", "Jira", "SQL", "Visio",
            "Technical writing",
        ],
        titles: &["Junior Business Systems Analyst", "IT Business Analyst", "Systems Analyst I"],
        salary: (52_000, 85_000),
        remote: 0.2,
        programs: &["Business Systems Analyst Certificate", "Agile Business Analysis"],
        credentials: &[
            ("Entry Certificate in Business Analysis (ECBA)", "IIBA"),
            ("Professional Scrum Master I", "Scrum.org"),
        ],
        instruments: &[
            (
                "Requirements-gathering case exercise",
                25,
                Some("Requirements gathering"),
            ),
            ("Process mapping exercise", 20, Some("Process mapping")),
        ],
        projects: &[(
            "Clinic intake process map",
            "Mapped a free clinic's patient intake and proposed a shorter paper-free flow.",
        )],
        blurb: "connect our business teams and our IT systems",
    },
    Track {
        soc: "15-1242",
        weight: 3,
        skills: &[
            "SQL", "PostgreSQL", "MySQL", "SQL Server", "Backup and recovery", "Query optimization",
            "Data modeling", "MongoDB", "Database administration",
        ],
        titles: &["Junior Database Administrator", "Database Support Analyst", "SQL Developer I"],
        salary: (55_000, 88_000),
        remote: 0.2,
        programs: &["Database Administration with SQL Server", "PostgreSQL for Developers"],
        credentials: &[
            (
                "Microsoft Certified: Azure Database Administrator Associate",
                "Microsoft",
            ),
            ("Oracle Database SQL Certified Associate", "Oracle"),
        ],
        instruments: &[
            ("TestDome SQL", 100, Some("SQL")),
            ("SQL Server administration lab", 50, Some("SQL Server")),
        ],
        projects: &[(
            "Youth league database",
            "Designed a PostgreSQL schema and reports for a youth soccer league.",
        )],
        blurb: "keep our databases fast, backed up and secure",
    },
];

// Indexes into `TRACKS`, for the places that single out a track.
const IT_SUPPORT: usize = 0;
const NETWORKING: usize = 1;
const SYSADMIN_CLOUD: usize = 2;
const SOFTWARE: usize = 3;
const WEB: usize = 4;
const QA: usize = 5;
const SECURITY: usize = 6;
const DATA: usize = 7;
const SYSTEMS_ANALYSIS: usize = 8;

fn track_weights() -> Vec<(usize, u32)> {
    TRACKS
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.weight))
        .collect()
}

// ---------------------------------------------------------------------------------------
// People, places and organisations.
// ---------------------------------------------------------------------------------------

// One long list, kept compact on purpose (rustfmt would put each name on its own line).
#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Michael", "Jennifer", "David", "Linda", "Robert", "Patricia", "John",
    "Elizabeth", "William", "Barbara", "Christopher", "Jessica", "Daniel", "Sarah", "Matthew",
    "Karen", "Anthony", "Nancy", "Joshua", "Lisa", "Andrew", "Ashley", "Kevin", "Emily", "Brian",
    "Amanda", "Tyler", "Megan", "Jordan", "Taylor", "Morgan", "Casey", "Dustin", "Brittany",
    "Cody", "Crystal", "Jamal", "Aaliyah", "DeShawn", "Imani", "Tyrone", "Keisha", "Malik",
    "Ebony", "Darnell", "Latoya", "Terrell", "Jasmine", "Andre", "Tamika", "Marcus", "Shanice",
    "Kiara", "Darius", "Destiny", "Jalen", "José", "María", "Luis", "Ana", "Carlos", "Sofía",
    "Juan", "Guadalupe", "Miguel", "Camila", "Jorge", "Valeria", "Alejandro", "Daniela", "Diego",
    "Lucía", "Javier", "Ximena", "Ricardo", "Isabel", "Mateo", "Yesenia", "Minh", "Linh", "Thanh",
    "Huong", "Tuan", "Lan", "Duc", "Mai", "Quang", "Thu", "Wei", "Mei", "Jun", "Xiu", "Hao",
    "Ying", "Lei", "Jing", "Min-jun", "Ji-woo", "Seo-yeon", "Hyun", "Eun-ji", "Aarav", "Priya",
    "Rohan", "Ananya", "Vikram", "Deepa", "Arjun", "Kavya", "Sanjay", "Neha", "Omar", "Fatima",
    "Ahmed", "Aisha", "Yusuf", "Layla", "Khalid", "Noor", "Hassan", "Mariam", "Chinedu", "Ngozi",
    "Oluwaseun", "Adaeze", "Kwame", "Abena", "Tendai", "Amara", "Tesfaye", "Selam", "Abdi",
    "Hodan", "Jean", "Marie-Claire", "Wislande", "Fabiola", "Jomar", "Maricel", "Rodel", "Lorna",
    "Piotr", "Katarzyna", "Oleksandr", "Olena", "Dmitri", "Natalia", "Sean", "Siobhan", "Liam",
    "Nora", "Ethan", "Chloé", "Noah", "Zoe", "Elijah", "Hannah", "Isaiah", "Grace", "Caleb",
    "Renée", "Dakota", "Winona", "Tallulah", "Kai", "Leilani", "Mohammed", "Amina", "Samir",
    "Yasmin", "Gabriel", "Esperanza", "Rafael", "Paola", "Andrés", "Beatriz", "Tomás", "Rosa",
    "Ibrahim", "Zainab", "Emeka", "Chioma",
];

// One long list, kept compact on purpose (rustfmt would put each name on its own line).
#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Washington", "Jefferson", "Booker", "Mosley",
    "Freeman", "Banks", "Dawson", "Pham", "Tran", "Le", "Vo", "Huynh", "Chen", "Wang", "Li",
    "Zhang", "Liu", "Huang", "Kim", "Park", "Choi", "Patel", "Shah", "Singh", "Kumar", "Reddy",
    "Iyer", "Khan", "Hussein", "Ali", "Haddad", "Mansour", "Abdullah", "Okafor", "Adeyemi",
    "Mensah", "Osei", "Mwangi", "Haile", "Tadesse", "Warsame", "Jean-Baptiste", "Pierre", "Dubois",
    "Santos", "Reyes", "Cruz", "Bautista", "Mendoza", "Castillo", "Ortiz", "Morales", "Kowalski",
    "Nowak", "Shevchenko", "Petrov", "Ivanova", "O'Brien", "O'Connor", "Murphy", "Sullivan",
    "McCarthy", "Rossi", "Russo", "Romano", "Schmidt", "Müller", "Begay", "Yazzie", "Tsosie",
    "Fernández", "Peña", "Muñoz", "De la Cruz", "Van der Berg", "Gutierrez", "Jimenez", "Vasquez",
    "Alvarez", "Romero", "Herrera", "Medina", "Aguilar", "Vargas", "Guzman", "Salazar", "Brooks",
    "Gray", "James", "Bell", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Bennett",
    "Price", "Hughes", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins", "Perry",
    "Russell", "Sullivan", "Coleman", "Butler", "Simmons", "Fisher", "Henderson", "Patterson",
    "Hayes", "Graham", "Wallace", "Hamilton", "Cole", "Gibson", "Nakamura", "Tanaka", "Yamamoto",
    "Sato", "Ahmed", "Rahman", "Chowdhury", "Islam", "Mohamud", "Yusuf", "Obi", "Eze", "Boateng",
    "Asante", "Kariuki", "Otieno",
];

/// Towns of the community's service area; the first are the bigger ones.
const CITIES: &[(&str, u32)] = &[
    ("Fairview", 30),
    ("Riverside", 18),
    ("Georgetown", 12),
    ("Franklin", 10),
    ("Madison", 8),
    ("Clinton", 6),
    ("Greenville", 5),
    ("Salem", 4),
    ("Oak Grove", 3),
    ("Centerville", 2),
    ("Marion", 2),
];

const AREA_CODES: &[&str] = &[
    "205", "216", "313", "317", "404", "501", "601", "614", "704",
];

const NEARBY_REGIONS: &[&str] = &["AL", "GA", "TN", "MS", "FL", "OH", "MI", "TX", "NC", "SC"];

// One long list, kept compact on purpose (rustfmt would put each name on its own line).
#[rustfmt::skip]
const ORG_PREFIXES: &[&str] = &[
    "Riverside", "Magnolia", "Summit", "Ironwood", "Cedar", "Pioneer", "Keystone", "Harbor",
    "Liberty", "Granite", "Evergreen", "Red Oak", "Bluebird", "Northstar", "Silverline",
    "Crescent", "Heritage", "Frontier", "Prairie", "Canyon", "Beacon", "Sterling", "Union",
    "Lakeside", "Highland", "Meridian", "Cornerstone", "Bridgeway", "Copper", "Oakmont", "Sunrise",
    "Westbrook", "Eastgate", "Southern", "Midland", "Tri-County", "Valley", "Hillcrest", "Maple",
    "Willow", "Stonebridge", "Bayview", "Clearwater", "Foxglove", "Juniper", "Sequoia", "Redstone",
    "Blue Ridge", "Falcon", "Anchor", "Compass", "Lighthouse", "Benchmark", "Ridgeline",
    "Trailhead", "Parkside", "Horizon", "Crossroads", "Kingfisher", "Three Rivers",
];

#[derive(Clone, Copy)]
enum Industry {
    Healthcare,
    Finance,
    Logistics,
    Government,
    Retail,
    Manufacturing,
    Technology,
}

const INDUSTRIES: &[(Industry, u32)] = &[
    (Industry::Healthcare, 20),
    (Industry::Finance, 15),
    (Industry::Logistics, 12),
    (Industry::Government, 10),
    (Industry::Retail, 13),
    (Industry::Manufacturing, 12),
    (Industry::Technology, 18),
];

impl Industry {
    fn label(self) -> &'static str {
        match self {
            Industry::Healthcare => "Healthcare",
            Industry::Finance => "Finance and insurance",
            Industry::Logistics => "Transportation and logistics",
            Industry::Government => "Government",
            Industry::Retail => "Retail",
            Industry::Manufacturing => "Manufacturing",
            Industry::Technology => "Technology",
        }
    }

    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Industry::Healthcare => &[
                "Health System",
                "Medical Center",
                "Family Clinics",
                "Home Health",
                "Pharmacy",
                "Regional Hospital",
                "Senior Living",
                "Dental Group",
            ],
            Industry::Finance => &[
                "Credit Union",
                "Bank",
                "Insurance Group",
                "Financial",
                "Mortgage",
                "Savings & Loan",
                "Tax Services",
            ],
            Industry::Logistics => &[
                "Logistics",
                "Freight",
                "Distribution",
                "Transport",
                "Supply Chain",
                "Trucking",
                "Warehousing",
            ],
            Industry::Government => &[
                "County Government",
                "Public Schools",
                "Water Works",
                "Housing Authority",
                "Regional Transit Authority",
                "Public Library System",
                "Parks and Recreation",
            ],
            Industry::Retail => &[
                "Markets",
                "Grocers",
                "Outfitters",
                "Home & Garden",
                "Hardware",
                "Furniture",
                "Auto Parts",
            ],
            Industry::Manufacturing => &[
                "Manufacturing",
                "Industries",
                "Fabrication",
                "Plastics",
                "Steel Works",
                "Foods",
                "Components",
            ],
            Industry::Technology => &[
                "Software",
                "Technologies",
                "Digital",
                "Data Systems",
                "IT Services",
                "Cloud Solutions",
                "Labs",
            ],
        }
    }

    /// Which tracks this industry hires for most, as extra weight on top of the base mix.
    fn favours(self) -> &'static [usize] {
        match self {
            Industry::Healthcare => &[IT_SUPPORT, DATA, SECURITY],
            Industry::Finance => &[SECURITY, DATA, SYSTEMS_ANALYSIS],
            Industry::Logistics => &[IT_SUPPORT, NETWORKING, DATA],
            Industry::Government => &[IT_SUPPORT, NETWORKING, SYSTEMS_ANALYSIS],
            Industry::Retail => &[IT_SUPPORT, WEB, DATA],
            Industry::Manufacturing => &[IT_SUPPORT, NETWORKING, SYSADMIN_CLOUD],
            Industry::Technology => &[SOFTWARE, WEB, QA, SYSADMIN_CLOUD],
        }
    }
}

const SIZE_BANDS: &[(SizeBand, u32)] = &[
    (SizeBand::Micro, 10),
    (SizeBand::Small, 25),
    (SizeBand::Medium, 30),
    (SizeBand::Large, 20),
    (SizeBand::Enterprise, 15),
];

fn size_rank(s: SizeBand) -> u8 {
    match s {
        SizeBand::Micro => 0,
        SizeBand::Small => 1,
        SizeBand::Medium => 2,
        SizeBand::Large => 3,
        SizeBand::Enterprise => 4,
    }
}

const CONTACT_TITLES: &[&str] = &[
    "HR Manager",
    "Talent Acquisition Partner",
    "IT Director",
    "Recruiter",
    "Hiring Manager, IT",
    "VP of People",
    "Help Desk Manager",
    "Chief Information Officer",
    "Office Manager",
    "Workforce Development Lead",
];

/// What people did before: (title, typical local employers, things they might say about it).
const PRIOR_JOBS: &[(&str, &[&str], &[&str])] = &[
    (
        "Retail Sales Associate",
        &[
            "QuickStop Markets",
            "Bargain Barn",
            "Main Street Outfitters",
            "Value Mart",
        ],
        SHOP_FLOOR,
    ),
    (
        "Cashier",
        &["Value Mart", "Corner Pharmacy", "Sunny Day Grocers"],
        SHOP_FLOOR,
    ),
    (
        "Warehouse Associate",
        &[
            "County Distribution Center",
            "Prime Parcel Fulfillment",
            "Tri-State Freight",
        ],
        WAREHOUSE,
    ),
    (
        "Forklift Operator",
        &["Tri-State Freight", "Midland Warehousing"],
        WAREHOUSE,
    ),
    (
        "Call Center Agent",
        &[
            "Bayside Call Center",
            "Allied Customer Care",
            "StarLine Wireless",
        ],
        PHONES,
    ),
    (
        "Customer Service Representative",
        &[
            "StarLine Wireless",
            "Heartland Utilities",
            "First Community Bank",
        ],
        PHONES,
    ),
    (
        "Line Cook",
        &["Rosie's Diner", "Smokehouse BBQ", "The Blue Plate"],
        KITCHEN,
    ),
    (
        "Server",
        &["The Blue Plate", "Olive Branch Bistro", "Smokehouse BBQ"],
        KITCHEN,
    ),
    (
        "Barista",
        &["Daily Grind Coffee", "Bean There Cafe"],
        KITCHEN,
    ),
    (
        "Certified Nursing Assistant",
        &[
            "Sunrise Senior Living",
            "Riverside Medical Center",
            "Golden Years Care Home",
        ],
        CARE,
    ),
    (
        "Home Health Aide",
        &["Comfort Keepers of Fairview", "Caring Hands Home Health"],
        CARE,
    ),
    (
        "Delivery Driver",
        &[
            "Speedy Couriers",
            "Prime Parcel Fulfillment",
            "Pizza Palace",
        ],
        DRIVING,
    ),
    (
        "Security Officer",
        &["Guardian Security Services", "Allied Protection"],
        GENERAL,
    ),
    (
        "Administrative Assistant",
        &["Fairview Unified School District", "Law Office of M. Grant"],
        OFFICE,
    ),
    (
        "Data Entry Clerk",
        &["Heartland Insurance", "County Records Office"],
        OFFICE,
    ),
    (
        "Bank Teller",
        &["First Community Bank", "Magnolia Credit Union"],
        SHOP_FLOOR,
    ),
    (
        "Teacher's Aide",
        &["Fairview Unified School District", "Little Sprouts Daycare"],
        GENERAL,
    ),
    (
        "Auto Technician",
        &["Quick Lube Express", "Main Street Auto Repair"],
        GENERAL,
    ),
    (
        "Production Worker",
        &["Ironwood Manufacturing", "Southern Plastics"],
        WAREHOUSE,
    ),
    (
        "Hotel Front Desk Agent",
        &["Riverside Inn", "Lakeside Suites"],
        PHONES,
    ),
    ("Rideshare Driver", &["Self-employed"], DRIVING),
];

const SHOP_FLOOR: &[&str] = &[
    "Trained new hires on the point-of-sale system.",
    "Opened and closed the store; handled cash and deposits.",
    "Tracked inventory in Excel and cut stock-outs.",
    "The person coworkers asked when the card reader or the Wi-Fi broke.",
];
const WAREHOUSE: &[&str] = &[
    "Scanned and routed 300+ packages a shift with handheld scanners.",
    "Kept a perfect safety record for two years.",
    "Fixed the scanner sync problems that used to stop the line.",
];
const PHONES: &[&str] = &[
    "Resolved customer issues by phone and chat; kept a 95% satisfaction score.",
    "Answered 60+ calls a day about billing and service outages.",
    "Walked customers through resetting routers and phones.",
];
const KITCHEN: &[&str] = &[
    "Kept the kitchen running on double shifts during the holidays.",
    "Promoted to shift lead after eight months.",
    "Set up the online ordering tablet and trained the team on it.",
];
const CARE: &[&str] = &[
    "Charted patient vitals in the electronic health record.",
    "Helped coworkers with the new charting tablets.",
];
const DRIVING: &[&str] = &[
    "Planned my own routes with three delivery apps at once.",
    "Kept a 4.9 rating over 2,000 trips.",
];
const OFFICE: &[&str] = &[
    "Built a shared schedule spreadsheet that the whole team adopted.",
    "Moved the office's files to a shared drive and set up backups.",
    "Entered and checked 500+ records a day.",
];
const GENERAL: &[&str] = &["Promoted to shift lead after eight months."];
const MILITARY: &[&str] = &[
    "Held a Secret clearance.",
    "Led a team of six; responsible for equipment worth $2M.",
    "Maintained radios and field network equipment.",
];

/// (title, branch) for veterans' service.
const MILITARY_JOBS: &[(&str, &str)] = &[
    ("Information Technology Specialist (25B)", "U.S. Army"),
    ("Signal Support Systems Specialist (25U)", "U.S. Army"),
    ("Logistics Specialist", "U.S. Navy"),
    ("Information Systems Technician", "U.S. Navy"),
    ("Aircraft Maintenance Technician", "U.S. Air Force"),
    ("Cyber Transport Systems", "U.S. Air Force"),
    ("Motor Transport Operator", "U.S. Marine Corps"),
    ("Supply Administration Specialist", "U.S. Marine Corps"),
];

const ASSESSOR_KINDS: &[&str] = &[
    "TechHire assessment lab",
    "HackerRank (proctored online)",
    "Pearson VUE testing center",
    "Backbone staff",
];

const VETTING_NOTES: &[(Recommendation, &[&str])] = &[
    (
        Recommendation::StronglyRecommend,
        &[
            "Explained a recent project clearly and asked sharp questions about the team.",
            "Calm under pressure in the troubleshooting role-play; would hire on my own team.",
            "Outstanding communicator; already mentoring others in their cohort.",
        ],
    ),
    (
        Recommendation::Recommend,
        &[
            "Solid fundamentals and a good attitude; ready for an entry-level role.",
            "Reliable and curious; a little quiet at first but warmed up quickly.",
            "Good customer-service instincts from prior work.",
        ],
    ),
    (
        Recommendation::Maybe,
        &[
            "Promising, but answers were vague; suggest a mock interview first.",
            "Strong technically, needs practice explaining their work.",
        ],
    ),
    (
        Recommendation::NotYet,
        &[
            "Needs more hands-on practice; referred back to the training partner.",
            "Missed parts of the interview due to childcare; invited to reschedule.",
        ],
    ),
];

// ---------------------------------------------------------------------------------------
// The pipeline: how far each candidate is meant to get, and what ends their journey.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Still in the pipeline at the last stage reached.
    None,
    Withdrawn,
    NotHired,
    Placed,
}

/// Progress stages in order after `applied`.
const PROGRESS: [Stage; 4] = [
    Stage::Assessed,
    Stage::Vetted,
    Stage::Matched,
    Stage::Introduced,
];

/// (progress stages reached, ending, weight ‰). Shaped like a real funnel; recent
/// applicants are then cut short by the end of the window, which thickens the top further.
const PATHS: &[((usize, Ending), u32)] = &[
    ((0, Ending::None), 300),
    ((0, Ending::Withdrawn), 50),
    ((1, Ending::None), 220),
    ((1, Ending::Withdrawn), 40),
    ((2, Ending::None), 80),
    ((2, Ending::NotHired), 30),
    ((3, Ending::None), 60),
    ((3, Ending::Withdrawn), 20),
    ((4, Ending::None), 50),
    ((4, Ending::NotHired), 60),
    ((4, Ending::Placed), 90),
];

/// Days (min, max) from the previous stage to each progress stage.
const PROGRESS_GAPS: [(i64, i64); 4] = [(3, 30), (7, 35), (3, 28), (2, 21)];

const SEGMENTS: &[(Segment, f64)] = &[
    (Segment::Veteran, 0.06),
    (Segment::OpportunityYouth, 0.09),
    (Segment::LongTermUnemployed, 0.08),
    (Segment::Disability, 0.04),
    (Segment::JusticeInvolved, 0.03),
    (Segment::EnglishLearner, 0.04),
    (Segment::LowIncome, 0.07),
    (Segment::RuralResident, 0.03),
    (Segment::Other, 0.01),
];

fn stage_index(s: Stage) -> usize {
    match s {
        Stage::Applied => 0,
        Stage::Assessed => 1,
        Stage::Vetted => 2,
        Stage::Matched => 3,
        Stage::Introduced => 4,
        Stage::Placed => 5,
        Stage::Withdrawn => 6,
        Stage::NotHired => 7,
    }
}

const STAGE_LABELS: [&str; 8] = [
    "applied",
    "assessed",
    "vetted",
    "matched",
    "introduced",
    "placed",
    "withdrawn",
    "not hired",
];

// ---------------------------------------------------------------------------------------
// What the generator keeps in memory: the small reference tables candidates point at.
// ---------------------------------------------------------------------------------------

struct ProgramInfo {
    id: u64,
    credential: Option<(&'static str, &'static str)>,
    length_weeks: u16,
}

struct EmployerInfo {
    id: u64,
    created: i64,
    size: SizeBand,
    industry: Industry,
}

struct OpeningInfo {
    id: u64,
    employer_id: u64,
    created: i64,
    salary: Option<(u32, u32)>,
}

#[derive(Default)]
struct Counts {
    providers: u64,
    programs: u64,
    employers: u64,
    committed: u64,
    advocates: u64,
    openings: u64,
    open_openings: u64,
    outreach: u64,
    candidates: u64,
    stages: [u64; 8],
    with_program: u64,
    consented: u64,
    assessments: u64,
    vetting: u64,
    placements: u64,
    retention_checks: u64,
}

impl Counts {
    fn records(&self) -> u64 {
        self.providers
            + self.programs
            + self.employers
            + self.openings
            + self.outreach
            + self.candidates
            + self.assessments
            + self.vetting
            + self.placements
    }
}

struct World<'t> {
    /// The node's skills taxonomy, which every record's skills are normalised through.
    taxonomy: &'t Taxonomy,
    area_code: &'static str,
    programs: Vec<ProgramInfo>,
    /// Indexes into `programs`, per track.
    programs_by_track: Vec<Vec<usize>>,
    /// In creation (= time) order.
    employers: Vec<EmployerInfo>,
    /// Per track, in creation (= time) order.
    openings_by_track: Vec<Vec<OpeningInfo>>,
    /// Volunteer HR staff and hiring managers who run vetting interviews.
    reviewers: Vec<String>,
    /// `track_weights()`, computed once rather than per candidate.
    track_weights: Vec<(usize, u32)>,
    assessors: Vec<String>,
}

impl World<'_> {
    /// An employer that existed at `t`, biased towards bigger ones (they hire more).
    fn employer_at(&self, rng: &mut Rand, t: i64) -> Option<&EmployerInfo> {
        let known = self.employers.partition_point(|e| e.created <= t).max(1);
        let pool = self.employers.get(..known)?;
        if pool.is_empty() {
            return None;
        }
        let a = pick(rng, pool);
        let b = pick(rng, pool);
        Some(if size_rank(b.size) > size_rank(a.size) {
            b
        } else {
            a
        })
    }
}

/// Fills `store` with synthetic data. `progress` receives human-readable lines as work
/// goes on; the returned string summarises what was written.
pub fn seed(
    store: &Store,
    taxonomy: &Taxonomy,
    opts: &SeedOptions,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<String> {
    if opts.openings > 0 && opts.employers == 0 {
        bail!("--openings needs at least one employer (--employers)");
    }
    let started = Instant::now();
    let mut rng = Rand::seed_from_u64(opts.seed);
    let mut counts = Counts::default();
    // The community's own area code; a few candidates keep a number from elsewhere.
    let area_code = AREA_CODES[rng.gen_range(0..AREA_CODES.len())];
    let mut world = World {
        taxonomy,
        area_code,
        programs: Vec::new(),
        programs_by_track: vec![Vec::new(); TRACKS.len()],
        employers: Vec::new(),
        openings_by_track: (0..TRACKS.len()).map(|_| Vec::new()).collect(),
        reviewers: Vec::new(),
        track_weights: track_weights(),
        assessors: Vec::new(),
    };

    seed_training(store, opts, &mut rng, &mut world, &mut counts)?;
    progress(&format!(
        "training: {} providers, {} programs",
        counts.providers, counts.programs
    ));
    seed_employers(store, opts, &mut rng, &mut world, &mut counts)?;
    progress(&format!(
        "employers: {} ({} with a signed commitment, {} advocates)",
        counts.employers, counts.committed, counts.advocates
    ));
    seed_openings(store, opts, &mut rng, &mut world, &mut counts)?;
    progress(&format!(
        "openings: {} ({} open)",
        counts.openings, counts.open_openings
    ));
    seed_outreach(store, taxonomy, opts, &mut rng, &mut counts)?;
    progress(&format!("outreach: {} monthly records", counts.outreach));
    make_volunteers(&mut rng, &mut world);
    seed_candidates(
        store,
        opts,
        &mut rng,
        &world,
        &mut counts,
        started,
        &mut progress,
    )?;

    progress("flushing to disk");
    store.flush()?;
    let secs = started.elapsed().as_secs_f64();
    let stages = counts
        .stages
        .iter()
        .zip(STAGE_LABELS)
        .map(|(n, label)| format!("{n} {label}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!(
        "Seeded {} records in {secs:.1} s ({:.0} records/s), seed {}:\n  \
         {} training providers with {} programs\n  \
         {} employers ({} committed, {} advocates), {} openings ({} open)\n  \
         {} candidates: {stages}; {} from a training program, {} consent to share\n  \
         {} assessments, {} vetting interviews, {} placements ({} retention checks)\n  \
         {} outreach records",
        counts.records(),
        counts.records() as f64 / secs.max(1e-9),
        opts.seed,
        counts.providers,
        counts.programs,
        counts.employers,
        counts.committed,
        counts.advocates,
        counts.openings,
        counts.open_openings,
        counts.candidates,
        counts.with_program,
        counts.consented,
        counts.assessments,
        counts.vetting,
        counts.placements,
        counts.retention_checks,
        counts.outreach,
    ))
}

// ---------------------------------------------------------------------------------------
// Training supply.
// ---------------------------------------------------------------------------------------

const PROVIDER_KINDS: [ProviderKind; 6] = [
    ProviderKind::Bootcamp,
    ProviderKind::CommunityCollege,
    ProviderKind::Online,
    ProviderKind::Apprenticeship,
    ProviderKind::University,
    ProviderKind::NonProfit,
];

const PROVIDER_KIND_WEIGHTS: &[(ProviderKind, u32)] = &[
    (ProviderKind::Bootcamp, 25),
    (ProviderKind::CommunityCollege, 20),
    (ProviderKind::Online, 15),
    (ProviderKind::Apprenticeship, 10),
    (ProviderKind::University, 5),
    (ProviderKind::NonProfit, 25),
];

fn provider_name(rng: &mut Rand, kind: ProviderKind) -> String {
    let prefix = pick(rng, ORG_PREFIXES);
    let (city, _) = pick(rng, CITIES);
    match kind {
        ProviderKind::Bootcamp => match rng.gen_range(0..4) {
            0 => format!("{prefix} Code Academy"),
            1 => format!("{prefix} Tech Bootcamp"),
            2 => format!("Code {city}"),
            _ => format!("{prefix} Coding School"),
        },
        ProviderKind::CommunityCollege => match rng.gen_range(0..3) {
            0 => format!("{city} Community College"),
            1 => format!("{prefix} Technical College"),
            _ => format!("{prefix} State Community College"),
        },
        ProviderKind::Online => match rng.gen_range(0..3) {
            0 => format!("{prefix} Online Academy"),
            1 => format!("{}Learn", prefix.replace([' ', '-'], "")),
            _ => format!("{prefix} Digital Skills"),
        },
        ProviderKind::Apprenticeship => match rng.gen_range(0..2) {
            0 => format!("{prefix} IT Apprenticeship Program"),
            _ => format!("{city} Tech Apprenticeship Consortium"),
        },
        ProviderKind::University => match rng.gen_range(0..2) {
            0 => format!("{city} State University Continuing Education"),
            _ => format!("University of {city} Extension"),
        },
        ProviderKind::NonProfit | ProviderKind::Other => match rng.gen_range(0..4) {
            0 => format!("{city} Workforce Alliance"),
            1 => format!("{prefix} Opportunity Center"),
            2 => format!("{prefix} Youth Tech Collective"),
            _ => format!("{prefix} Works"),
        },
    }
}

fn unique_name(used: &mut BTreeSet<String>, name: String, qualifier: &str) -> String {
    let mut candidate = name.clone();
    if used.contains(&candidate) {
        candidate = format!("{name} ({qualifier})");
    }
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{name} ({qualifier} {n})");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

fn make_program(
    rng: &mut Rand,
    provider_id: u64,
    kind: ProviderKind,
    track: usize,
    used_names: &mut BTreeSet<&'static str>,
) -> (Program, Option<(&'static str, &'static str)>) {
    let t = &TRACKS[track];
    // A provider does not run two programs of the same name.
    let name = t
        .programs
        .iter()
        .copied()
        .filter(|n| !used_names.contains(n))
        .collect::<Vec<_>>()
        .choose(rng)
        .copied()
        .unwrap_or(t.programs[0]);
    used_names.insert(name);
    let n_skills = rng.gen_range(4..=t.skills.len().min(8));
    let skills_taught = t
        .skills
        .choose_multiple(rng, n_skills)
        .map(|s| SkillName::text(*s))
        .collect();
    let (enrol, completion, weeks, tuition, public, delivery, schedule) = match kind {
        ProviderKind::Bootcamp => {
            let free = rng.gen_bool(0.25);
            (
                rng.gen_range(20..=150),
                rng.gen_range(0.65..0.9),
                rng.gen_range(12..=24),
                if free {
                    0
                } else {
                    round_to(rng.gen_range(7_500..=16_500), 500)
                },
                free,
                Delivery::Live,
                if rng.gen_bool(0.7) {
                    Schedule::FullTime
                } else {
                    Schedule::PartTime
                },
            )
        }
        ProviderKind::CommunityCollege => {
            let free = rng.gen_bool(0.5);
            (
                rng.gen_range(40..=300),
                rng.gen_range(0.45..0.75),
                rng.gen_range(16..=52),
                if free {
                    0
                } else {
                    round_to(rng.gen_range(1_200..=4_500), 50)
                },
                true,
                if rng.gen_bool(0.8) {
                    Delivery::Live
                } else {
                    Delivery::SelfPaced
                },
                if rng.gen_bool(0.75) {
                    Schedule::PartTime
                } else {
                    Schedule::FullTime
                },
            )
        }
        ProviderKind::Online => (
            rng.gen_range(200..=3000),
            rng.gen_range(0.2..0.5),
            rng.gen_range(8..=26),
            if rng.gen_bool(0.3) {
                0
            } else {
                round_to(rng.gen_range(150..=600), 50)
            },
            false,
            if rng.gen_bool(0.85) {
                Delivery::SelfPaced
            } else {
                Delivery::Live
            },
            Schedule::PartTime,
        ),
        ProviderKind::Apprenticeship => (
            rng.gen_range(10..=40),
            rng.gen_range(0.75..0.95),
            rng.gen_range(26..=104),
            0,
            true,
            Delivery::Live,
            Schedule::FullTime,
        ),
        ProviderKind::University => (
            rng.gen_range(30..=150),
            rng.gen_range(0.6..0.85),
            rng.gen_range(12..=40),
            round_to(rng.gen_range(2_500..=9_000), 100),
            false,
            Delivery::Live,
            Schedule::PartTime,
        ),
        ProviderKind::NonProfit | ProviderKind::Other => (
            rng.gen_range(20..=120),
            rng.gen_range(0.6..0.85),
            rng.gen_range(8..=20),
            0,
            true,
            Delivery::Live,
            if rng.gen_bool(0.6) {
                Schedule::FullTime
            } else {
                Schedule::PartTime
            },
        ),
    };
    let yearly_enrolment: u32 = enrol;
    let yearly_completion = (yearly_enrolment as f64 * completion).round() as u32;
    let admissions = match kind {
        ProviderKind::Bootcamp => &[
            "Logic and reasoning assessment; no prior experience needed.",
            "Interview and a basic computer literacy test.",
        ][..],
        ProviderKind::CommunityCollege => &[
            "Open enrolment; high school diploma or GED.",
            "18+, high school diploma or GED; placement test for math.",
        ][..],
        ProviderKind::Online => &["Open enrolment."][..],
        ProviderKind::Apprenticeship => &[
            "18+, high school diploma or GED; hired by a partner employer before starting.",
            "Aptitude test and interview with the sponsoring employer.",
        ][..],
        ProviderKind::University => &["18+, high school diploma or GED."][..],
        ProviderKind::NonProfit | ProviderKind::Other => &[
            "Ages 18–24, not in school or working.",
            "Eligible for WIOA funding; income at or below 200% of the poverty line.",
            "Open to veterans and their spouses.",
            "Interview and a basic computer literacy test.",
        ][..],
    };
    let credential = if rng.gen_bool(0.85) {
        Some(*pick(rng, t.credentials))
    } else {
        None
    };
    let program = Program {
        provider_id,
        name: name.to_string(),
        skills_taught,
        yearly_enrolment,
        yearly_completion,
        admissions_criteria: Some(pick(rng, admissions).to_string()),
        delivery,
        length_weeks: weeks,
        schedule,
        tuition_usd: tuition,
        public_funding: public,
        scholarships: tuition > 0 && rng.gen_bool(0.6),
        credential: credential.map(|(c, _)| c.to_string()),
    };
    (program, credential)
}

fn seed_training(
    store: &Store,
    opts: &SeedOptions,
    rng: &mut Rand,
    world: &mut World,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let n_providers = (opts.candidates / 20_000).max(6);
    // The first programs cover every track once, so each track has training supply; the
    // rest follow demand.
    let mut first_tracks: Vec<usize> = (0..TRACKS.len()).collect();
    first_tracks.shuffle(rng);
    let weights = track_weights();
    let mut used = BTreeSet::new();
    let mut generated = Vec::new();
    for p in 0..n_providers {
        // Every kind appears at least once; then the usual mix.
        let kind = match PROVIDER_KINDS.get(p as usize) {
            Some(k) => *k,
            None => weighted(rng, PROVIDER_KIND_WEIGHTS),
        };
        let (city, _) = *pick(rng, CITIES);
        let name = unique_name(&mut used, provider_name(rng, kind), city);
        let mut provider = Provider {
            website: Some(format!("https://{}.example.org", host_slug(&name))),
            name,
            kind,
            city: Some(city.to_string()),
        };
        check(&mut provider, world.taxonomy)?;
        // The inventory is taken in the first three months.
        let created = WINDOW_START
            + ((p as f64 + rng.gen::<f64>()) / n_providers as f64 * 90.0 * DAY as f64) as i64;
        let n_programs = rng.gen_range(2..=4);
        let tracks: Vec<usize> = (0..n_programs)
            .map(|_| {
                first_tracks
                    .pop()
                    .unwrap_or_else(|| weighted(rng, &weights))
            })
            .collect();
        generated.push((provider, kind, created, tracks));
    }
    store.apply(|tx| {
        for (provider, kind, created, tracks) in generated {
            let rec = stage_create(tx, provider, at(created))?;
            counts.providers += 1;
            let mut used_names = BTreeSet::new();
            for (i, track) in tracks.into_iter().enumerate() {
                let (mut program, credential) =
                    make_program(rng, rec.id, kind, track, &mut used_names);
                check(&mut program, world.taxonomy)?;
                let length_weeks = program.length_weeks;
                let prog = stage_create(tx, program, at(created + (i as i64 + 1) * 600))?;
                counts.programs += 1;
                world.programs_by_track[track].push(world.programs.len());
                world.programs.push(ProgramInfo {
                    id: prog.id,
                    credential,
                    length_weeks,
                });
            }
        }
        Ok::<_, anyhow::Error>(())
    })
}

// ---------------------------------------------------------------------------------------
// Employers and their openings.
// ---------------------------------------------------------------------------------------

fn employer_name(rng: &mut Rand, industry: Industry) -> String {
    let suffix = pick(rng, industry.suffixes());
    let base = match industry {
        Industry::Government => {
            let (city, _) = pick(rng, CITIES);
            match rng.gen_range(0..3) {
                0 => format!("City of {city}"),
                1 => format!("{city} {suffix}"),
                _ => format!("{} {suffix}", pick(rng, ORG_PREFIXES)),
            }
        }
        _ if rng.gen_bool(0.2) => {
            let last = pick(rng, LAST_NAMES);
            if rng.gen_bool(0.4) {
                format!("{last} & {} {suffix}", pick(rng, LAST_NAMES))
            } else {
                format!("{last} {suffix}")
            }
        }
        _ => format!("{} {suffix}", pick(rng, ORG_PREFIXES)),
    };
    match industry {
        Industry::Government => base,
        _ => match rng.gen_range(0..10) {
            0 => format!("{base}, Inc."),
            1 => format!("{base} LLC"),
            _ => base,
        },
    }
}

fn person_name(rng: &mut Rand) -> (&'static str, &'static str) {
    (*pick(rng, FIRST_NAMES), *pick(rng, LAST_NAMES))
}

fn seed_employers(
    store: &Store,
    opts: &SeedOptions,
    rng: &mut Rand,
    world: &mut World,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let m = opts.employers;
    let mut used = BTreeSet::new();
    let mut batch: Vec<(Employer, i64, SizeBand, Industry)> = Vec::with_capacity(SMALL_BATCH);
    for j in 0..m {
        let industry = weighted(rng, INDUSTRIES);
        let size = weighted(rng, SIZE_BANDS);
        let (city, _) = *pick(rng, CITIES);
        let name = unique_name(&mut used, employer_name(rng, industry), city);
        // Employers are enlisted early: half of them in the first third of the window.
        let x = ((j as f64 + rng.gen::<f64>()) / m as f64).powf(1.6);
        let created = office_time(rng, in_window(x), 0..=0).min(WINDOW_END);
        let domain = format!("{}.example.com", host_slug(&name));
        let contacts = (0..rng.gen_range(1..=3))
            .map(|_| {
                let (first, last) = person_name(rng);
                Contact {
                    name: format!("{first} {last}"),
                    email: format!("{}.{}@{domain}", ascii_slug(first), ascii_slug(last)),
                    phone: rng
                        .gen_bool(0.7)
                        .then(|| phone_number(rng, world.area_code)),
                    title: Some(pick(rng, CONTACT_TITLES).to_string()),
                }
            })
            .collect();
        let commitment = rng.gen_bool(0.8).then(|| {
            let max_target = match size {
                SizeBand::Micro => 2,
                SizeBand::Small => 5,
                SizeBand::Medium => 10,
                SizeBand::Large => 25,
                SizeBand::Enterprise => 50,
            };
            // Signed at an enlistment event, entered into the node within three weeks.
            Commitment {
                signed_on: date((created - rng.gen_range(0..21) * DAY).max(WINDOW_START)),
                interview_non_traditional: rng.gen_bool(0.95),
                hiring_target: rng.gen_bool(0.7).then(|| rng.gen_range(1..=max_target)),
            }
        });
        let advocate =
            commitment.is_some() && rng.gen_bool(if size_rank(size) >= 2 { 0.06 } else { 0.02 });
        counts.committed += u64::from(commitment.is_some());
        counts.advocates += u64::from(advocate);
        let mut employer = Employer {
            name,
            industry: Some(industry.label().to_string()),
            size_band: size,
            contacts,
            commitment,
            advocate,
        };
        check(&mut employer, world.taxonomy)?;
        batch.push((employer, created, size, industry));
        if batch.len() == SMALL_BATCH || j + 1 == m {
            store.apply(|tx| {
                for (employer, created, size, industry) in batch.drain(..) {
                    let rec = stage_create(tx, employer, at(created))?;
                    counts.employers += 1;
                    world.employers.push(EmployerInfo {
                        id: rec.id,
                        created,
                        size,
                        industry,
                    });
                }
                Ok::<_, anyhow::Error>(())
            })?;
        }
    }
    // Creation times carry random office hours, so sort exactly by time for the binary
    // searches that pick "an employer that existed then".
    world.employers.sort_by_key(|e| (e.created, e.id));
    Ok(())
}

fn level(rng: &mut Rand, table: &[(Level, u32)]) -> Level {
    weighted(rng, table)
}

const REQUIRED_LEVELS: &[(Level, u32)] = &[
    (Level::Beginner, 45),
    (Level::Intermediate, 45),
    (Level::Advanced, 10),
];

fn seed_openings(
    store: &Store,
    opts: &SeedOptions,
    rng: &mut Rand,
    world: &mut World,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let k = opts.openings;
    let base = track_weights();
    let mut batch: Vec<(Opening, i64, usize)> = Vec::with_capacity(SMALL_BATCH);
    for i in 0..k {
        // Slightly more postings later on, as word of the programme spreads.
        let x = ((i as f64 + rng.gen::<f64>()) / k as f64).powf(0.9);
        let slot = office_time(rng, in_window(x), 0..=0);
        let Some(employer) = world.employer_at(rng, slot) else {
            bail!("no employer to post openings for");
        };
        let created = slot.max(employer.created + HOUR).min(WINDOW_END);
        // Industries lean towards some tracks.
        let mut weights = base.clone();
        for t in employer.industry.favours() {
            weights[*t].1 += 8;
        }
        let track = weighted(rng, &weights);
        let t = &TRACKS[track];
        let n_required = rng.gen_range(2..=5.min(t.skills.len()));
        let n_nice = rng.gen_range(0..=3);
        let chosen: Vec<&str> = t
            .skills
            .choose_multiple(rng, (n_required + n_nice).min(t.skills.len()))
            .copied()
            .collect();
        let required_skills = chosen
            .iter()
            .take(n_required)
            .map(|s| SkillRequirement {
                skill: s.to_string(),
                skill_id: None,
                min_level: level(rng, REQUIRED_LEVELS),
            })
            .collect();
        let nice_to_have_skills = chosen
            .iter()
            .skip(n_required)
            .map(|s| SkillRequirement {
                skill: s.to_string(),
                skill_id: None,
                min_level: if rng.gen_bool(0.7) {
                    Level::Beginner
                } else {
                    Level::Intermediate
                },
            })
            .collect();
        let remote = if rng.gen_bool(t.remote) {
            RemotePolicy::Remote
        } else if rng.gen_bool(0.35) {
            RemotePolicy::Hybrid
        } else {
            RemotePolicy::OnSite
        };
        let (city, _) = *pick(rng, CITIES);
        let location = match remote {
            RemotePolicy::Remote => "Remote (US)".to_string(),
            _ => city.to_string(),
        };
        let salary = rng.gen_bool(0.85).then(|| {
            let (lo, hi) = t.salary;
            let min = round_to(rng.gen_range(lo..=(lo + hi) / 2), 500);
            let max = round_to((min + rng.gen_range(6_000..=20_000)).min(hi), 500).max(min);
            (min, max)
        });
        let age = WINDOW_END - created;
        let status = if age > 90 * DAY {
            weighted(
                rng,
                &[
                    (OpeningStatus::Open, 50),
                    (OpeningStatus::Filled, 30),
                    (OpeningStatus::Closed, 14),
                    (OpeningStatus::Paused, 6),
                ],
            )
        } else {
            weighted(
                rng,
                &[
                    (OpeningStatus::Open, 88),
                    (OpeningStatus::Filled, 4),
                    (OpeningStatus::Closed, 4),
                    (OpeningStatus::Paused, 4),
                ],
            )
        };
        counts.open_openings += u64::from(status == OpeningStatus::Open);
        let title = *pick(rng, t.titles);
        let mut opening = Opening {
            employer_id: employer.id,
            title: title.to_string(),
            soc_code: t.soc.to_string(),
            description: Some(format!(
                "Join us as a {title} and help {}. We hire on demonstrated skills: \
                 bootcamp, community college, self-taught and military experience all count.",
                t.blurb
            )),
            required_skills,
            nice_to_have_skills,
            location: Some(location),
            remote,
            salary_min_usd: salary.map(|s| s.0),
            salary_max_usd: salary.map(|s| s.1),
            degree_required: rng.gen_bool(0.08),
            status,
            positions: if rng.gen_bool(0.8) {
                1
            } else {
                rng.gen_range(2..=5)
            },
        };
        check(&mut opening, world.taxonomy)?;
        batch.push((opening, created, track));
        if batch.len() == SMALL_BATCH || i + 1 == k {
            store.apply(|tx| {
                for (opening, created, track) in batch.drain(..) {
                    let salary = opening.salary_min_usd.zip(opening.salary_max_usd);
                    let employer_id = opening.employer_id;
                    let rec = stage_create(tx, opening, at(created))?;
                    counts.openings += 1;
                    world.openings_by_track[track].push(OpeningInfo {
                        id: rec.id,
                        employer_id,
                        created,
                        salary,
                    });
                }
                Ok::<_, anyhow::Error>(())
            })?;
        }
    }
    // Creation times are almost monotone; make the per-track lists exactly time-ordered
    // for the binary searches placements make.
    for list in &mut world.openings_by_track {
        list.sort_by_key(|o| (o.created, o.id));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Outreach: one record per channel and month.
// ---------------------------------------------------------------------------------------

const CHANNELS: &[(OutreachChannel, f64, f64, &[&str])] = &[
    // (channel, share of people reached, chance it ran that month, notes)
    (
        OutreachChannel::Event,
        0.22,
        0.95,
        &[
            "Tech career night at the public library.",
            "Job fair booth at the convention center.",
            "Info session at the community college.",
        ],
    ),
    (
        OutreachChannel::SocialMedia,
        0.25,
        1.0,
        &[
            "Facebook and Instagram ads in English and Spanish.",
            "Graduate success stories on social media.",
        ],
    ),
    (
        OutreachChannel::Referral,
        0.12,
        1.0,
        &["Referrals from program graduates."],
    ),
    (
        OutreachChannel::CommunityPartner,
        0.16,
        0.95,
        &[
            "Referrals from SNAP E&T caseworkers.",
            "Churches and mutual-aid groups shared the flyer.",
            "Re-entry program orientation.",
        ],
    ),
    (
        OutreachChannel::AmericanJobCenter,
        0.12,
        0.95,
        &["Orientation sessions at the American Job Center."],
    ),
    (
        OutreachChannel::Library,
        0.06,
        0.8,
        &["Flyers and digital-skills classes at branch libraries."],
    ),
    (
        OutreachChannel::Radio,
        0.04,
        0.35,
        &[
            "Spanish-language radio spots.",
            "Morning-show interview with a graduate.",
        ],
    ),
    (
        OutreachChannel::Other,
        0.03,
        0.25,
        &["Bus shelter posters.", "Door hangers in public housing."],
    ),
];

fn seed_outreach(
    store: &Store,
    taxonomy: &Taxonomy,
    opts: &SeedOptions,
    rng: &mut Rand,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let start = date(WINDOW_START);
    let monthly_applicants = (opts.candidates as f64 / 24.0).max(20.0);
    let mut records = Vec::new();
    for m in 0..24u32 {
        let months = start.month0() + m;
        let (year, month) = (start.year() + (months / 12) as i32, months % 12 + 1);
        let first = NaiveDate::from_ymd_opt(year, month, 1)
            .ok_or_else(|| anyhow!("no date {year}-{month}-01"))?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .ok_or_else(|| anyhow!("no month after {year}-{month}"))?;
        let last = next
            .pred_opt()
            .ok_or_else(|| anyhow!("no day before {next}"))?;
        // Outreach grows as the programme becomes known; about four people are reached for
        // every one who applies.
        let growth = 0.7 + 0.6 * f64::from(m) / 23.0;
        for (channel, share, chance, notes) in CHANNELS {
            if !rng.gen_bool(*chance) {
                continue;
            }
            let reached = monthly_applicants * 4.0 * share * growth * rng.gen_range(0.7..1.3);
            let mut outreach = Outreach {
                channel: *channel,
                period_start: first,
                period_end: last,
                job_seekers_reached: reached.round().min(f64::from(u32::MAX)) as u32,
                notes: rng.gen_bool(0.6).then(|| pick(rng, notes).to_string()),
            };
            check(&mut outreach, taxonomy)?;
            // Entered a few days after the month closes, once the numbers are in.
            let days_to_month_end = (last - start).num_days();
            let created = office_time(
                rng,
                WINDOW_START,
                days_to_month_end + 1..=days_to_month_end + 9,
            )
            .min(WINDOW_END);
            records.push((outreach, created));
        }
    }
    store.apply(|tx| {
        for (outreach, created) in records {
            stage_create(tx, outreach, at(created))?;
            counts.outreach += 1;
        }
        Ok::<_, anyhow::Error>(())
    })
}

/// The volunteer reviewers and assessors who recur across interviews, drawn from the
/// committed employers' staff.
fn make_volunteers(rng: &mut Rand, world: &mut World) {
    let n = (world.employers.len() / 10).clamp(12, 80);
    for _ in 0..n {
        let (first, last) = person_name(rng);
        let role = pick(
            rng,
            &[
                "HR volunteer",
                "hiring manager",
                "IT manager",
                "recruiter",
                "senior engineer",
            ],
        );
        world.reviewers.push(format!("{first} {last} ({role})"));
    }
    for kind in ASSESSOR_KINDS {
        world.assessors.push(kind.to_string());
    }
    for _ in 0..6 {
        let (first, last) = person_name(rng);
        world
            .assessors
            .push(format!("{first} {last} (volunteer assessor)"));
    }
}

// ---------------------------------------------------------------------------------------
// Candidates.
// ---------------------------------------------------------------------------------------

/// Everything about one candidate, generated before anything is staged.
struct Plan {
    personal: Personal,
    profile: Profile,
    consent: Option<Consent>,
    applied: i64,
    /// Stage changes after `applied`, excluding `placed` (the placement records that).
    history: Vec<(Stage, i64)>,
    assessments: Vec<(Assessment, i64)>,
    vetting: Option<(Vetting, i64)>,
    placement: Option<(Placement, i64, i64)>,
}

const CANDIDATE_LEVELS: &[(Level, u32)] = &[
    (Level::Beginner, 40),
    (Level::Intermediate, 40),
    (Level::Advanced, 16),
    (Level::Expert, 4),
];

/// splitmix64: a small, well-mixed hash for values that must not draw from the shared rng
/// stream (drawing more would shift every record generated after them).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// When candidate `number`, who applied at `applied`, started and completed `program`.
/// Derived from a hash of the number and the application time rather than the rng, so
/// that adding these dates left every other seeded value as it was. Training usually
/// precedes or overlaps the application: the start falls from two weeks after it to the
/// program's length plus about two months before it. About 80% complete, on the day the
/// program's length after the start, when that day falls inside the window.
fn training_dates(
    number: u64,
    applied: i64,
    program: &ProgramInfo,
) -> (NaiveDate, Option<NaiveDate>) {
    let h = splitmix64(number ^ (applied as u64).rotate_left(32));
    let length = i64::from(program.length_weeks) * 7 * DAY;
    let span_days = (length / DAY + 60 + 14).max(1) as u64;
    let before_days = (h % span_days) as i64 - 14;
    let started = applied - before_days * DAY;
    let completes = (h >> 32) % 100 < 80;
    let completed = started + length;
    (
        date(started),
        (completes && completed <= WINDOW_END).then(|| date(completed)),
    )
}

/// Plans candidate number `index` (0-based within this run) of `n`.
fn plan_candidate(rng: &mut Rand, world: &World, index: u64, n: u64) -> Plan {
    let number = index + 1;
    // Applications arrive in id order, slowly accelerating as outreach grows.
    let x = ((index as f64 + rng.gen::<f64>()) / n as f64).powf(0.85);
    let applied = in_window(x);

    // How far this candidate gets, cut short by the end of the window.
    let (reach, ending) = weighted(rng, PATHS);
    let mut history = Vec::new();
    let mut t = applied;
    let mut completed = true;
    for (stage, (lo, hi)) in PROGRESS.iter().zip(PROGRESS_GAPS).take(reach) {
        let next = office_time(rng, t, lo..=hi);
        if next > WINDOW_END {
            completed = false;
            break;
        }
        history.push((*stage, next));
        t = next;
    }
    let mut placed_at = None;
    if completed && ending != Ending::None {
        let (lo, hi) = match ending {
            Ending::Withdrawn => (5, 90),
            Ending::NotHired => (10, 45),
            Ending::Placed => (14, 50),
            Ending::None => (0, 0),
        };
        let next = office_time(rng, t, lo..=hi);
        if next <= WINDOW_END {
            match ending {
                Ending::Withdrawn => history.push((Stage::Withdrawn, next)),
                Ending::NotHired => history.push((Stage::NotHired, next)),
                Ending::Placed if !world.employers.is_empty() => placed_at = Some(next),
                Ending::Placed | Ending::None => {}
            }
        }
    }
    let at_stage = |s: Stage| history.iter().find(|(h, _)| *h == s).map(|(_, t)| *t);
    let assessed_at = at_stage(Stage::Assessed);
    let vetted_at = at_stage(Stage::Vetted);

    // Skills from one track, sometimes a second.
    let weights = &world.track_weights;
    let primary = weighted(rng, weights);
    let secondary = if rng.gen_bool(0.35) {
        Some(weighted(rng, weights)).filter(|s| *s != primary)
    } else {
        None
    };
    let pt = &TRACKS[primary];
    let n_primary = rng.gen_range(2..=6.min(pt.skills.len()));
    let mut skills: Vec<SkillClaim> = pt
        .skills
        .choose_multiple(rng, n_primary)
        .map(|s| SkillClaim {
            skill: s.to_string(),
            skill_id: None,
            level: level(rng, CANDIDATE_LEVELS),
            evidence: Evidence::SelfReported,
        })
        .collect();
    if let Some(st) = secondary.map(|s| &TRACKS[s]) {
        let k = rng.gen_range(1..=2);
        for s in st.skills.choose_multiple(rng, k) {
            if skills.len() < 8 && !skills.iter().any(|c| c.skill == *s) {
                skills.push(SkillClaim {
                    skill: s.to_string(),
                    skill_id: None,
                    level: level(rng, &CANDIDATE_LEVELS[..3]),
                    evidence: Evidence::SelfReported,
                });
            }
        }
    }

    // Training: most candidates come through a partner program, usually in their track.
    let program = if rng.gen_bool(0.6) && !world.programs.is_empty() {
        let own = &world.programs_by_track[primary];
        let idx = if !own.is_empty() && rng.gen_bool(0.85) {
            *pick(rng, own)
        } else {
            rng.gen_range(0..world.programs.len())
        };
        world.programs.get(idx)
    } else {
        None
    };
    let mut certificates = Vec::new();
    if let Some(p) = program {
        if let Some((name, issuer)) = p.credential.filter(|_| rng.gen_bool(0.7)) {
            certificates.push(Certificate {
                name: name.to_string(),
                issuer: issuer.to_string(),
                issued_on: Some(date(applied - rng.gen_range(0..120) * DAY)),
            });
        }
    }
    if rng.gen_bool(0.15) {
        let (name, issuer) = *pick(rng, pt.credentials);
        if !certificates.iter().any(|c| c.name == name) {
            certificates.push(Certificate {
                name: name.to_string(),
                issuer: issuer.to_string(),
                issued_on: Some(date(applied - rng.gen_range(10..700) * DAY)),
            });
        }
    }
    if !certificates.is_empty() {
        // The certificate backs one of the candidate's main skills.
        let i = rng.gen_range(0..n_primary);
        skills[i].evidence = Evidence::Certificate;
    }

    // Projects, more common in the build-things tracks.
    let project_chance = match primary {
        SOFTWARE | WEB | DATA => 0.55,
        _ => 0.25,
    };
    let (first, last) = person_name(rng);
    let first_slug = ascii_slug(first);
    let last_slug = ascii_slug(last);
    let mut projects = Vec::new();
    if rng.gen_bool(project_chance) {
        let k = rng.gen_range(1..=2);
        for (name, description) in pt.projects.choose_multiple(rng, k) {
            let k = rng.gen_range(1..=3.min(n_primary));
            let used: Vec<String> = skills[..n_primary]
                .choose_multiple(rng, k)
                .map(|c| c.skill.clone())
                .collect();
            for claim in skills.iter_mut() {
                if used.contains(&claim.skill) && claim.evidence == Evidence::SelfReported {
                    claim.evidence = Evidence::Project;
                }
            }
            projects.push(Project {
                name: name.to_string(),
                description: Some(description.to_string()),
                url: rng.gen_bool(0.6).then(|| {
                    format!(
                        "https://portfolio.example.org/{first_slug}{last_slug}{number}/{}",
                        host_slug(name)
                    )
                }),
                skills: used.into_iter().map(SkillName::text).collect(),
            });
        }
    }

    // Segments (self-identified).
    let segments: Vec<Segment> = SEGMENTS
        .iter()
        .filter(|(_, p)| rng.gen_bool(*p))
        .map(|(s, _)| *s)
        .collect();
    let youth = segments.contains(&Segment::OpportunityYouth);
    let veteran = segments.contains(&Segment::Veteran);

    // Work history, newest first, walking back from the application.
    let n_jobs = if youth { 1 } else { rng.gen_range(1..=3) };
    let mut work_history = Vec::with_capacity(n_jobs);
    let mut cursor = applied;
    for j in 0..n_jobs {
        let current = j == 0 && rng.gen_bool(0.4);
        let end = if current {
            None
        } else {
            cursor -= rng.gen_range(0..(if j == 0 { 540 } else { 240 })) * DAY;
            Some(cursor)
        };
        let months = if youth {
            rng.gen_range(3..=18)
        } else {
            rng.gen_range(4..=60)
        };
        let start = cursor - months * 30 * DAY;
        let (title, employer, summaries) = if veteran && j + 1 == n_jobs {
            let (t, e) = *pick(rng, MILITARY_JOBS);
            (t, e, MILITARY)
        } else {
            let (t, employers, summaries) = *pick(rng, PRIOR_JOBS);
            (t, *pick(rng, employers), summaries)
        };
        // IT work in the service counts as work experience for a skill.
        if title.contains("Information") || title.contains("Signal") || title.contains("Cyber") {
            if let Some(c) = skills
                .iter_mut()
                .find(|c| c.evidence == Evidence::SelfReported)
            {
                c.evidence = Evidence::WorkExperience;
            }
        }
        work_history.push(WorkEntry {
            title: title.to_string(),
            employer_name: Some(employer.to_string()),
            start: date(start),
            end: end.map(date),
            summary: rng.gen_bool(0.4).then(|| pick(rng, summaries).to_string()),
        });
        cursor = start - rng.gen_range(0..200) * DAY;
    }

    // Assessments, for everyone who reached `assessed`.
    let mut assessments = Vec::new();
    if let Some(assessed) = assessed_at {
        let strong = reach >= 2;
        let n = if rng.gen_bool(0.35) { 2 } else { 1 };
        let usable: Vec<&(&str, u32, Option<&str>)> = pt
            .instruments
            .iter()
            .filter(|(_, _, s)| s.is_none_or(|s| skills[..n_primary].iter().any(|c| c.skill == s)))
            .collect();
        for (instrument, max, skill) in usable.choose_multiple(rng, n).copied() {
            let skill = match skill {
                Some(s) => s.to_string(),
                None => pick(rng, &skills[..n_primary]).skill.clone(),
            };
            let frac: f64 = if strong {
                rng.gen_range(0.65..=1.0)
            } else {
                rng.gen_range(0.3..0.95)
            };
            let score = ((f64::from(*max) * frac).round() as u32).min(*max);
            if frac >= 0.6 {
                if let Some(c) = skills.iter_mut().find(|c| c.skill == skill) {
                    c.evidence = Evidence::Assessment;
                }
            }
            let taken = assessed - rng.gen_range(0..3) * DAY;
            assessments.push((
                Assessment {
                    candidate_id: 0,
                    skill,
                    skill_id: None,
                    instrument: instrument.to_string(),
                    score,
                    max_score: *max,
                    taken_on: date(taken.max(applied)),
                    assessor: pick(rng, &world.assessors).clone(),
                },
                assessed,
            ));
        }
    }

    // The vetting interview, for everyone who reached `vetted`.
    let vetting = vetted_at.map(|vetted| {
        let quality: f64 = match (reach, ending) {
            (2, Ending::NotHired) => rng.gen_range(1.4..2.6),
            (r, _) if r >= 3 => rng.gen_range(3.6..5.0),
            _ => rng.gen_range(2.6..4.4),
        };
        let mut score = || ((quality + rng.gen_range(-0.8..0.8)).round() as i64).clamp(1, 5) as u8;
        let rubric = Rubric {
            communication: score(),
            teamwork: score(),
            problem_solving: score(),
            reliability: score(),
            learning_agility: score(),
        };
        let mean = f64::from(
            u32::from(rubric.communication)
                + u32::from(rubric.teamwork)
                + u32::from(rubric.problem_solving)
                + u32::from(rubric.reliability)
                + u32::from(rubric.learning_agility),
        ) / 5.0;
        let recommendation = if reach >= 3 && mean >= 4.2 {
            Recommendation::StronglyRecommend
        } else if reach >= 3 || mean >= 3.4 {
            Recommendation::Recommend
        } else if mean >= 2.6 {
            Recommendation::Maybe
        } else {
            Recommendation::NotYet
        };
        let notes = VETTING_NOTES
            .iter()
            .find(|(r, _)| *r == recommendation)
            .map(|(_, notes)| *notes)
            .filter(|_| rng.gen_bool(0.5))
            .map(|notes| pick(rng, notes).to_string());
        (
            Vetting {
                candidate_id: 0,
                reviewer: pick(rng, &world.reviewers).clone(),
                interviewed_on: date(vetted),
                rubric,
                recommendation,
                notes,
            },
            vetted,
        )
    });

    // The placement, for those who were hired.
    let placement = placed_at.and_then(|placed| {
        let openings = &world.openings_by_track[primary];
        let from = openings.partition_point(|o| o.created < placed - 240 * DAY);
        let to = openings.partition_point(|o| o.created <= placed - 7 * DAY);
        let opening = openings
            .get(from..to)
            .filter(|o| !o.is_empty() && rng.gen_bool(0.75))
            .map(|o| pick(rng, o));
        let (employer_id, opening_id, salary) = match opening {
            Some(o) => (o.employer_id, Some(o.id), o.salary),
            None => (world.employer_at(rng, placed)?.id, None, None),
        };
        let (lo, hi) = salary.unwrap_or((pt.salary.0, (pt.salary.0 + pt.salary.1) / 2));
        let wage = round_to(rng.gen_range(lo..=hi.max(lo)), 500).max(lo.max(1));
        let start = placed + rng.gen_range(7..=28) * DAY;
        let mut retention = Vec::new();
        let mut last_check = placed;
        let q2 = start + rng.gen_range(183..=213) * DAY;
        if q2 <= WINDOW_END {
            last_check = q2;
            let employed = rng.gen_bool(0.88);
            let same = employed && rng.gen_bool(0.9);
            retention.push(RetentionCheck {
                quarter: RetentionQuarter::Q2,
                checked_on: date(q2),
                employed,
                same_employer: same,
            });
            let q4 = start + rng.gen_range(365..=395) * DAY;
            if q4 <= WINDOW_END {
                last_check = q4;
                let employed4 = rng.gen_bool(if employed { 0.9 } else { 0.45 });
                retention.push(RetentionCheck {
                    quarter: RetentionQuarter::Q4,
                    checked_on: date(q4),
                    employed: employed4,
                    same_employer: employed4 && same && rng.gen_bool(0.85),
                });
            }
        }
        Some((
            Placement {
                candidate_id: 0,
                employer_id,
                opening_id,
                start_date: date(start),
                starting_wage_annual_usd: wage,
                soc_code: pt.soc.to_string(),
                program_id: program.map(|p| p.id),
                retention,
                introduction_id: None,
            },
            placed,
            last_check,
        ))
    });
    // A candidate whose placement could not be made (no employer) stays introduced.

    let k = rng.gen_range(1..=2);
    let desired_roles = pt
        .titles
        .choose_multiple(rng, k)
        .map(|t| t.to_string())
        .collect();
    let remote_preference = weighted(
        rng,
        &[
            (RemotePreference::Any, 35),
            (RemotePreference::OnSite, 20),
            (RemotePreference::Hybrid, 25),
            (RemotePreference::Remote, 20),
        ],
    );
    let training = program.map(|p| training_dates(number, applied, p));
    let profile = Profile {
        skills,
        work_history,
        projects,
        certificates,
        program_id: program.map(|p| p.id),
        training_started_on: training.map(|(s, _)| s),
        training_completed_on: training.and_then(|(_, c)| c),
        desired_roles,
        remote_preference,
        willing_to_relocate: rng.gen_bool(0.12),
    };

    let city = weighted(rng, CITIES);
    let personal = Personal {
        name: format!("{first} {last}"),
        email: format!("{first_slug}.{last_slug}.{number}@example.net"),
        phone: rng.gen_bool(0.85).then(|| {
            // Most keep a local number; some a number from where they moved from.
            let area = if rng.gen_bool(0.9) {
                world.area_code
            } else {
                pick(rng, AREA_CODES)
            };
            phone_number(rng, area)
        }),
        city: Some(city.to_string()),
        segments,
    };

    // Consent under the 2026-01 policy: given on the form by later applicants, and by
    // earlier ones when the policy was introduced.
    let consent = rng.gen_bool(0.4).then(|| {
        let given = if applied >= POLICY_START {
            applied
        } else {
            office_time(rng, POLICY_START, 0..=74)
        };
        let scope = if rng.gen_bool(0.7) {
            ConsentScope::Federation
        } else {
            let k = rng.gen_range(1..=3);
            ConsentScope::Regions {
                regions: NEARBY_REGIONS
                    .choose_multiple(rng, k)
                    .map(|r| r.to_string())
                    .collect(),
            }
        };
        Consent {
            policy_version: POLICY_VERSION.to_string(),
            scope,
            given_at: at(given),
            withdrawn_at: None,
        }
    });

    Plan {
        personal,
        profile,
        consent,
        applied,
        history,
        assessments,
        vetting,
        placement,
    }
}

/// Normalises and checks a planned candidate the way the API does an application.
fn check_plan(plan: &mut Plan, taxonomy: &Taxonomy) -> anyhow::Result<()> {
    let invalid = |e: crate::model::FieldError| {
        anyhow!("generated candidate is invalid: {}: {}", e.field, e.reason)
    };
    plan.personal.validate().map_err(invalid)?;
    plan.profile.normalise(taxonomy).map_err(invalid)?;
    plan.profile.validate().map_err(invalid)?;
    if let Some(c) = &plan.consent {
        ConsentInput {
            policy_version: c.policy_version.clone(),
            scope: c.scope.clone(),
        }
        .validate("consent.")
        .map_err(invalid)?;
    }
    for (a, _) in &mut plan.assessments {
        check(a, taxonomy)?;
    }
    if let Some((v, _)) = &mut plan.vetting {
        check(v, taxonomy)?;
    }
    if let Some((p, _, _)) = &mut plan.placement {
        check(p, taxonomy)?;
    }
    Ok(())
}

fn seed_candidates(
    store: &Store,
    opts: &SeedOptions,
    rng: &mut Rand,
    world: &World,
    counts: &mut Counts,
    started: Instant,
    progress: &mut impl FnMut(&str),
) -> anyhow::Result<()> {
    let n = opts.candidates;
    if n == 0 {
        return Ok(());
    }
    let report_every = (n / 20).max(1);
    let mut next_report = report_every;
    let mut next_flush = FLUSH_EVERY;
    let (plan_tx, plan_rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<Plan>>>(PLAN_QUEUE);
    std::thread::scope(|scope| {
        // Generating and validating candidates needs no store, so it runs on a second core
        // while this thread writes. There is still exactly one generator drawing from the
        // RNG in a fixed order, so the output stays deterministic.
        scope.spawn(move || {
            let mut start = 0;
            while start < n {
                let size = CANDIDATE_BATCH.min(n - start);
                let batch = (start..start + size)
                    .map(|i| {
                        let mut plan = plan_candidate(rng, world, i, n);
                        check_plan(&mut plan, world.taxonomy)?;
                        Ok(plan)
                    })
                    .collect::<anyhow::Result<Vec<Plan>>>();
                let failed = batch.is_err();
                // A send fails only when the writer gave up; it reports its own error.
                if plan_tx.send(batch).is_err() || failed {
                    return;
                }
                start += size;
            }
        });

        let mut done = 0u64;
        // Returning early drops the receiver, which stops the generator.
        for batch in plan_rx {
            let plans = batch?;
            done += plans.len() as u64;
            store.apply(|tx| {
                for plan in plans {
                    stage_plan(tx, plan, counts)?;
                }
                Ok::<_, anyhow::Error>(())
            })?;
            if done >= next_flush {
                store.flush()?;
                next_flush += FLUSH_EVERY;
            }
            if done >= next_report || done == n {
                let secs = started.elapsed().as_secs_f64();
                progress(&format!(
                    "candidates: {done}/{n} ({}%), {} records in {secs:.1} s, {:.0} records/s",
                    done * 100 / n,
                    counts.records(),
                    counts.records() as f64 / secs.max(1e-9)
                ));
                while next_report <= done {
                    next_report += report_every;
                }
            }
        }
        if done != n {
            bail!("the candidate generator stopped after {done} of {n} candidates");
        }
        Ok(())
    })
}

/// Stages one planned candidate and the records that hang off it.
fn stage_plan(
    tx: &mut crate::store::WriteTx<'_>,
    plan: Plan,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let Plan {
        personal,
        profile,
        consent,
        applied,
        history,
        assessments,
        vetting,
        placement,
    } = plan;
    let with_program = profile.program_id.is_some();
    let consent_at = consent.as_ref().map(|c| c.given_at);
    let mut rec = stage_candidate(tx, &personal, profile, consent, at(applied))?;
    let id = rec.id;
    counts.candidates += 1;
    counts.with_program += u64::from(with_program);
    counts.consented += u64::from(consent_at.is_some());

    // Later pipeline stages: the same record rewritten in this batch, as the stage route
    // would have done over the following weeks.
    let mut updated = rec.updated_at;
    for (stage, t) in &history {
        rec.data.stage = *stage;
        rec.data.stage_history.push(StageChange {
            stage: *stage,
            at: at(*t),
            note: None,
        });
        updated = at(*t);
    }
    if let Some(c) = consent_at {
        updated = updated.max(c);
    }
    if !history.is_empty() || updated != rec.updated_at {
        rec.updated_at = updated;
        tx.put(Table::Candidate, id, &rec)?;
    }

    for (mut a, t) in assessments {
        a.candidate_id = id;
        stage_create(tx, a, at(t))?;
        counts.assessments += 1;
    }
    if let Some((mut v, t)) = vetting {
        v.candidate_id = id;
        stage_create(tx, v, at(t))?;
        counts.vetting += 1;
    }
    let final_stage = match placement {
        Some((mut p, placed, last_check)) => {
            p.candidate_id = id;
            counts.retention_checks += p.retention.len() as u64;
            let has_checks = !p.retention.is_empty();
            // Creating the placement moves the candidate to `placed` in this write.
            let mut prec = stage_create(tx, p, at(placed))?;
            if has_checks {
                prec.updated_at = at(last_check.max(placed));
                tx.put(Table::Placement, prec.id, &prec)?;
            }
            counts.placements += 1;
            Stage::Placed
        }
        None => rec.data.stage,
    };
    counts.stages[stage_index(final_stage)] += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Candidate;
    use crate::model::Record;
    use crate::store::StoreOptions;

    fn small_opts(seed: u64) -> SeedOptions {
        SeedOptions {
            candidates: 1500,
            employers: 40,
            openings: 120,
            seed,
        }
    }

    fn fresh() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("open");
        (dir, store)
    }

    fn all<T: serde::de::DeserializeOwned>(store: &Store, table: Table) -> Vec<T> {
        store
            .list::<T>(table, None, usize::MAX, |_| true)
            .expect("list")
            .items
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (_d1, a) = fresh();
        let (_d2, b) = fresh();
        let (_d3, c) = fresh();
        seed(&a, Taxonomy::builtin(), &small_opts(7), |_| {}).expect("seed a");
        seed(&b, Taxonomy::builtin(), &small_opts(7), |_| {}).expect("seed b");
        seed(&c, Taxonomy::builtin(), &small_opts(8), |_| {}).expect("seed c");
        let da = a.digest().expect("digest");
        assert_eq!(da, b.digest().expect("digest"));
        assert_ne!(da, c.digest().expect("digest"));
    }

    #[test]
    fn records_read_back_valid_and_consistent() {
        let (_d, store) = fresh();
        let opts = small_opts(3);
        let mut lines = Vec::new();
        let summary = seed(&store, Taxonomy::builtin(), &opts, |l| {
            lines.push(l.to_string())
        })
        .expect("seed");
        assert!(summary.contains("1500 candidates"), "{summary}");
        assert!(lines.iter().any(|l| l.contains("100%")), "{lines:?}");

        let window = at(WINDOW_START)..=at(WINDOW_END);
        let candidates: Vec<Record<Candidate>> = all(&store, Table::Candidate);
        assert_eq!(candidates.len(), 1500);
        let mut stages = [0usize; 8];
        for c in &candidates {
            stages[stage_index(c.data.stage)] += 1;
            assert!(window.contains(&c.created_at));
            let times: Vec<_> = c.data.stage_history.iter().map(|h| h.at).collect();
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
            assert_eq!(
                c.data.stage_history.last().map(|h| h.stage),
                Some(c.data.stage)
            );
            c.data.profile.validate().expect("profile");
            // Free text may hold newlines; generated text never should.
            let json = serde_json::to_string(&c.data).expect("json");
            assert!(!json.contains("\\n"), "{json}");
            let personal: Personal = store
                .get(Table::CandidatePersonal, c.id)
                .expect("get")
                .expect("personal data");
            personal.validate().expect("personal");
            assert!(personal.email.ends_with("@example.net"));
        }
        // The funnel narrows: most early, a few placed, some dropped out.
        let n = candidates.len();
        assert!(stages[0] + stages[1] > n / 2, "{stages:?}");
        assert!(
            stages[2] > 0 && stages[3] > 0 && stages[4] > 0,
            "{stages:?}"
        );
        assert!(
            (n * 3 / 100..=n * 10 / 100).contains(&stages[5]),
            "{stages:?}"
        );
        assert!(stages[6] > 0 && stages[7] > 0, "{stages:?}");
        let consented = candidates
            .iter()
            .filter(|c| c.data.consent.is_some())
            .count();
        assert!((n * 30 / 100..=n * 50 / 100).contains(&consented));

        let placements: Vec<Record<Placement>> = all(&store, Table::Placement);
        assert_eq!(placements.len(), stages[5]);
        assert!(placements.iter().any(|p| !p.data.retention.is_empty()));
        assert!(placements.iter().any(|p| p.data.opening_id.is_some()));
        for p in &placements {
            p.data.validate().expect("placement");
            let c: Record<Candidate> = store
                .get(Table::Candidate, p.data.candidate_id)
                .expect("get")
                .expect("candidate");
            assert_eq!(c.data.stage, Stage::Placed);
            assert_eq!(p.data.program_id, c.data.profile.program_id);
        }
        for a in all::<Record<Assessment>>(&store, Table::Assessment) {
            a.data.validate().expect("assessment");
        }
        assert!(!all::<Record<Vetting>>(&store, Table::Vetting).is_empty());
        let employers: Vec<Record<Employer>> = all(&store, Table::Employer);
        assert_eq!(employers.len(), 40);
        for e in &employers {
            e.data.validate().expect("employer");
        }
        let openings: Vec<Record<Opening>> = all(&store, Table::Opening);
        assert_eq!(openings.len(), 120);
        let providers: Vec<Record<Provider>> = all(&store, Table::Provider);
        for kind in PROVIDER_KINDS {
            assert!(providers.iter().any(|p| p.data.kind == kind), "{kind:?}");
        }
        let programs: Vec<Record<Program>> = all(&store, Table::Program);
        assert!(programs.len() >= 2 * providers.len());
        assert!(!all::<Record<Outreach>>(&store, Table::Outreach).is_empty());
        // Every record passes the same integrity check a serving node runs at start-up.
        store.verify_all().expect("verify");
    }

    /// Every skill name the generator uses is one the taxonomy knows, so seeded records
    /// carry skill ids (and matching over them compares ids, as it will for real data).
    #[test]
    fn every_seeded_skill_name_resolves_to_a_taxonomy_id() {
        let taxonomy = Taxonomy::builtin();
        let mut unknown = Vec::new();
        for t in TRACKS {
            let tested = t.instruments.iter().filter_map(|(_, _, s)| *s);
            for name in t.skills.iter().copied().chain(tested) {
                if let crate::skills::Match::Unknown(_) = taxonomy.normalise(name) {
                    unknown.push(name);
                }
            }
            // An opening draws several skills of one track: two names of one skill there
            // would be the same requirement twice, which validation refuses.
            let mut ids: Vec<String> = t
                .skills
                .iter()
                .map(|s| match taxonomy.normalise(s) {
                    crate::skills::Match::Known { id, .. } => id,
                    crate::skills::Match::Unknown(text) => text,
                })
                .collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "a skill named twice in the {} track", t.soc);
        }
        assert!(unknown.is_empty(), "not in the taxonomy: {unknown:?}");
    }

    #[test]
    fn seeded_records_carry_skill_ids() {
        let (_d, store) = fresh();
        let opts = SeedOptions {
            candidates: 200,
            employers: 10,
            openings: 30,
            seed: 5,
        };
        seed(&store, Taxonomy::builtin(), &opts, |_| {}).expect("seed");
        for c in all::<Record<Candidate>>(&store, Table::Candidate) {
            let p = &c.data.profile;
            assert!(p.skills.iter().all(|s| s.skill_id.is_some()), "{p:?}");
            let projects = p.projects.iter().flat_map(|p| &p.skills);
            assert!(projects.clone().all(|s| s.skill_id.is_some()), "{p:?}");
        }
        for o in all::<Record<Opening>>(&store, Table::Opening) {
            let skills = o
                .data
                .required_skills
                .iter()
                .chain(&o.data.nice_to_have_skills);
            assert!(skills.clone().all(|s| s.skill_id.is_some()), "{:?}", o.data);
        }
        for p in all::<Record<Program>>(&store, Table::Program) {
            assert!(p.data.skills_taught.iter().all(|s| s.skill_id.is_some()));
        }
        for a in all::<Record<Assessment>>(&store, Table::Assessment) {
            assert!(a.data.skill_id.is_some(), "{:?}", a.data);
        }
    }

    #[test]
    fn candidates_from_a_program_have_training_dates() {
        let (_d, store) = fresh();
        seed(&store, Taxonomy::builtin(), &small_opts(4), |_| {}).expect("seed");
        let programs: Vec<Record<Program>> = all(&store, Table::Program);
        let (mut trained, mut completed) = (0, 0);
        for c in all::<Record<Candidate>>(&store, Table::Candidate) {
            let p = &c.data.profile;
            let Some(program_id) = p.program_id else {
                assert!(p.training_started_on.is_none() && p.training_completed_on.is_none());
                continue;
            };
            trained += 1;
            let started = p.training_started_on.expect("a start date");
            let applied = c.created_at.date_naive();
            // Started up to two weeks after the application, or before it.
            assert!(
                started <= applied + chrono::Days::new(14),
                "{started} {applied}"
            );
            if let Some(done) = p.training_completed_on {
                completed += 1;
                let weeks = programs
                    .iter()
                    .find(|r| r.id == program_id)
                    .expect("program")
                    .data
                    .length_weeks;
                assert_eq!(done, started + chrono::Days::new(u64::from(weeks) * 7));
                assert!(done <= date(WINDOW_END));
            }
        }
        assert!(trained > 0);
        let share = completed as f64 / trained as f64;
        assert!((0.6..0.85).contains(&share), "{share}");
    }

    #[test]
    fn seeding_twice_continues_ids() {
        let (_d, store) = fresh();
        let opts = SeedOptions {
            candidates: 300,
            employers: 10,
            openings: 20,
            seed: 1,
        };
        seed(&store, Taxonomy::builtin(), &opts, |_| {}).expect("first");
        seed(&store, Taxonomy::builtin(), &opts, |_| {}).expect("second");
        let ids: Vec<u64> = all::<Record<Candidate>>(&store, Table::Candidate)
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, (1..=600).collect::<Vec<_>>());
        assert_eq!(all::<Record<Employer>>(&store, Table::Employer).len(), 20);
    }

    #[test]
    fn openings_without_employers_are_refused() {
        let (_d, store) = fresh();
        let opts = SeedOptions {
            candidates: 10,
            employers: 0,
            openings: 5,
            seed: 1,
        };
        assert!(seed(&store, Taxonomy::builtin(), &opts, |_| {}).is_err());
    }
}
