//! The shared language of skills: a curated IT skills taxonomy (`data/skills.toml`, built into
//! the binary), a community's own extension of it, normalisation of free text to skill ids,
//! and autocomplete.
//!
//! *Invariant:* no normalised name belongs to two skills, so a name never silently picks one
//! of several; a skill id never changes once published. This module knows nothing about HTTP
//! or the store: [`crate::http`] serves [`Taxonomy::suggest`], and the models will store ids
//! from [`Taxonomy::normalise`].
//!
//! The data's sources, licence and the extension format are in `docs/skills.md`.

mod normalise;
mod search;
mod taxonomy;

use std::collections::HashMap;
use std::sync::LazyLock;

pub use normalise::{
    bounded_distance, max_typo_distance, normal_key, How, Match, EXACT_ONLY_MAX_CHARS,
};
pub use search::{Suggestion, SuggestionKind};
pub use taxonomy::{is_kebab_id, ExtensionError, Problem, MAX_ID_CHARS, MAX_NAME_CHARS};

/// The built-in taxonomy, as shipped.
const BUILTIN_TEXT: &str = include_str!("../../data/skills.toml");
/// The name errors in the built-in file are reported under.
const BUILTIN_FILE: &str = "skills.toml";

/// The SOC 2018 computer occupations skills map to, with their titles (US Bureau of Labor
/// Statistics, Standard Occupational Classification 2018).
pub const SOC_CODES: [(&str, &str); 14] = [
    ("15-1211", "Computer Systems Analysts"),
    ("15-1212", "Information Security Analysts"),
    ("15-1231", "Computer Network Support Specialists"),
    ("15-1232", "Computer User Support Specialists"),
    ("15-1241", "Computer Network Architects"),
    ("15-1242", "Database Administrators"),
    ("15-1244", "Network and Computer Systems Administrators"),
    ("15-1251", "Computer Programmers"),
    ("15-1252", "Software Developers"),
    ("15-1253", "Software Quality Assurance Analysts and Testers"),
    ("15-1254", "Web Developers"),
    ("15-1255", "Web and Digital Interface Designers"),
    ("15-1299", "Computer Occupations, All Other"),
    ("15-2051", "Data Scientists"),
];

/// The category of a skill. Soft skills are one category of their own, flagged by
/// [`Category::is_soft`], so that matching can weigh them apart from technical skills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Languages,
    Web,
    Data,
    Cloud,
    Networking,
    Security,
    ItSupport,
    QaTesting,
    ToolsPractices,
    Soft,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Languages,
        Category::Web,
        Category::Data,
        Category::Cloud,
        Category::Networking,
        Category::Security,
        Category::ItSupport,
        Category::QaTesting,
        Category::ToolsPractices,
        Category::Soft,
    ];

    /// The stable name used in skills files and the API: `it-support`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Languages => "languages",
            Category::Web => "web",
            Category::Data => "data",
            Category::Cloud => "cloud",
            Category::Networking => "networking",
            Category::Security => "security",
            Category::ItSupport => "it-support",
            Category::QaTesting => "qa-testing",
            Category::ToolsPractices => "tools-practices",
            Category::Soft => "soft",
        }
    }

    /// A title for people: "IT support".
    pub fn title(self) -> &'static str {
        match self {
            Category::Languages => "Programming languages",
            Category::Web => "Web, mobile and design",
            Category::Data => "Data, databases and analytics",
            Category::Cloud => "Cloud, infrastructure and systems",
            Category::Networking => "Networking",
            Category::Security => "Security",
            Category::ItSupport => "IT support",
            Category::QaTesting => "QA and testing",
            Category::ToolsPractices => "Tools and practices",
            Category::Soft => "Soft skills",
        }
    }

    pub fn is_soft(self) -> bool {
        self == Category::Soft
    }

    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The names of every category, comma-separated, for error messages.
    fn list() -> String {
        Category::ALL.map(Category::as_str).join(", ")
    }
}

/// One skill of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// Stable, lowercase kebab-case: `active-directory`.
    pub id: String,
    /// How people usually write it: "Active Directory".
    pub label: String,
    pub category: Category,
    /// Other names for it ("AD"), in the order the files give them.
    pub aliases: Vec<String>,
    /// The SOC 2018 codes of the occupations it belongs to, all from [`SOC_CODES`].
    pub soc: Vec<&'static str>,
}

impl Skill {
    pub fn is_soft(&self) -> bool {
        self.category.is_soft()
    }
}

/// Which kind of name a normalised key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Label,
    Alias,
    Id,
}

/// One name of a skill, by its normalised key.
#[derive(Debug, Clone)]
struct Name {
    key: String,
    /// `key` as characters, for the edit distance.
    chars: Vec<char>,
    /// Index into `Taxonomy::skills`.
    skill: usize,
    /// As written in the file.
    text: String,
    kind: NameKind,
}

/// A set of skills with every name indexed by its normalised form.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    skills: Vec<Skill>,
    by_id: HashMap<String, usize>,
    /// Every distinct name; the first skill to claim a key keeps it.
    names: Vec<Name>,
    /// Normalised key → index into `names`.
    by_key: HashMap<String, usize>,
}

static BUILTIN: LazyLock<Taxonomy> = LazyLock::new(|| {
    let (taxonomy, errors) = Taxonomy::load_builtin();
    // The tests hold the shipped file to zero problems; should one slip through anyway,
    // the node still starts with every good entry, and the log says what was left out.
    for e in errors {
        tracing::error!(problem = %e, "built-in skills taxonomy: entry left out");
    }
    taxonomy
});

impl Taxonomy {
    /// A taxonomy with no skills.
    pub fn empty() -> Taxonomy {
        Taxonomy {
            skills: Vec::new(),
            by_id: HashMap::new(),
            names: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    /// The taxonomy shipped with the node (`data/skills.toml`), read once.
    pub fn builtin() -> &'static Taxonomy {
        &BUILTIN
    }

    fn load_builtin() -> (Taxonomy, Vec<ExtensionError>) {
        let mut t = Taxonomy::empty();
        let errors = taxonomy::apply(&mut t, BUILTIN_TEXT, BUILTIN_FILE);
        (t, errors)
    }

    /// The built-in taxonomy extended with a community's own file (format in
    /// `docs/skills.md`). `file_name` is used in the errors, which list every bad entry with
    /// its line.
    pub fn with_extension(text: &str, file_name: &str) -> Result<Taxonomy, Vec<ExtensionError>> {
        Taxonomy::builtin().extend(text, file_name)
    }

    /// This taxonomy extended with another skills file; errors as for
    /// [`Taxonomy::with_extension`]. `self` is left as it was.
    pub fn extend(&self, text: &str, file_name: &str) -> Result<Taxonomy, Vec<ExtensionError>> {
        let mut t = self.clone();
        let errors = taxonomy::apply(&mut t, text, file_name);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// The skill with this id.
    pub fn get(&self, id: &str) -> Option<&Skill> {
        self.by_id.get(id).map(|&i| &self.skills[i])
    }

    /// Every skill, in file order.
    pub fn skills(&self) -> &[Skill] {
        &self.skills
    }

    pub fn len(&self) -> usize {
        self.skills.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skills.is_empty()
    }
}

#[cfg(test)]
mod tests;
