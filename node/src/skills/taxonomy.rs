//! Reading skills files (the built-in `data/skills.toml` and a community's extension) into a
//! [`Taxonomy`], with every bad entry reported by file and line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::normalise::normal_key;
use super::{Category, Name, NameKind, Skill, Taxonomy, SOC_CODES};

/// The longest label or alias, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest skill id, in characters.
pub const MAX_ID_CHARS: usize = 64;

/// One bad entry of a skills file: `skills.local.toml:14: alias "js" already belongs to
/// javascript`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {problem}")]
pub struct ExtensionError {
    /// The file name as given to the loader.
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub problem: Problem,
}

/// What is wrong with an entry of a skills file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not TOML, or not the shape of a skills file (an unknown key, a wrong type).
    #[error("{0}")]
    Syntax(String),
    #[error("unknown category {0:?}; the categories are {list}", list = Category::list())]
    UnknownCategory(String),
    #[error("skill id {0:?} must be lowercase kebab-case (a-z, 0-9 and single hyphens, at most {MAX_ID_CHARS} characters)")]
    BadId(String),
    #[error("skill {0} already exists; to give it more names, list them under [aliases]")]
    DuplicateId(String),
    #[error("no skill {0} to add aliases to")]
    UnknownSkill(String),
    #[error("{what} {text:?} must have a letter or digit and at most {MAX_NAME_CHARS} characters")]
    BadName { what: &'static str, text: String },
    #[error("{what} {text:?} already belongs to {owner}")]
    NameTaken {
        what: &'static str,
        text: String,
        owner: String,
    },
    #[error("skill {0} needs at least one SOC code")]
    NoSoc(String),
    #[error("{0:?} is not one of the SOC 2018 computer occupations this taxonomy uses ({list})", list = SOC_CODES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "))]
    BadSoc(String),
}

/// The shape of a skills file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Category → id → skill.
    #[serde(default)]
    skills: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Entry>>>,
    /// Id → more names for an existing skill.
    #[serde(default)]
    aliases: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    label: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    soc: Vec<Spanned<String>>,
}

/// Reads one skills file on top of `taxonomy`. Entries are all-or-nothing: a skill with any
/// problem is left out, and so is a bad alias, so the taxonomy stays consistent whatever the
/// file holds. Returns every problem found, in line order.
pub(super) fn apply(taxonomy: &mut Taxonomy, text: &str, file: &str) -> Vec<ExtensionError> {
    let at = |offset: usize, problem: Problem| ExtensionError {
        file: file.to_string(),
        line: line_of(text, offset),
        problem,
    };
    let parsed: File = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            return vec![at(offset, Problem::Syntax(e.message().trim().to_string()))];
        }
    };
    let mut errors = Vec::new();

    // New skills first, in file order, so that of two entries claiming one name the later
    // line is the one reported.
    let mut entries = Vec::new();
    for (category, skills) in parsed.skills {
        let Some(cat) = Category::parse(category.get_ref()) else {
            errors.push(at(
                category.span().start,
                Problem::UnknownCategory(category.into_inner()),
            ));
            continue;
        };
        for (id, entry) in skills {
            entries.push((cat, id, entry));
        }
    }
    entries.sort_by_key(|(_, id, _)| id.span().start);
    for (category, id, entry) in entries {
        if let Err(e) = add_skill(taxonomy, category, &id, entry.into_inner()) {
            errors.push(at(e.0, e.1));
        }
    }

    let mut alias_lists: Vec<_> = parsed.aliases.into_iter().collect();
    alias_lists.sort_by_key(|(id, _)| id.span().start);
    for (id, aliases) in alias_lists {
        let Some(&skill) = taxonomy.by_id.get(id.get_ref()) else {
            errors.push(at(id.span().start, Problem::UnknownSkill(id.into_inner())));
            continue;
        };
        for alias in aliases {
            let start = alias.span().start;
            let text = alias.into_inner();
            match check_name(taxonomy, "alias", &text, Some(skill)) {
                Ok(key) => {
                    // A new spelling of a name the skill already has is listed, not indexed.
                    if let Some(key) = key {
                        taxonomy.insert_name(key, skill, text.clone(), NameKind::Alias);
                    }
                    let s = &mut taxonomy.skills[skill];
                    if s.label != text && !s.aliases.contains(&text) {
                        s.aliases.push(text);
                    }
                }
                Err(problem) => errors.push(at(start, problem)),
            }
        }
    }
    errors.sort_by_key(|e| e.line);
    errors
}

/// Checks a new skill whole, then adds it; on a problem, adds nothing and says where.
fn add_skill(
    taxonomy: &mut Taxonomy,
    category: Category,
    id: &Spanned<String>,
    entry: Entry,
) -> Result<(), (usize, Problem)> {
    let id_at = id.span().start;
    let id = id.get_ref();
    if !is_kebab_id(id) {
        return Err((id_at, Problem::BadId(id.clone())));
    }
    if taxonomy.by_id.contains_key(id) {
        return Err((id_at, Problem::DuplicateId(id.clone())));
    }
    if entry.soc.is_empty() {
        return Err((id_at, Problem::NoSoc(id.clone())));
    }
    let mut soc = Vec::with_capacity(entry.soc.len());
    for code in &entry.soc {
        let Some(&(known, _)) = SOC_CODES.iter().find(|(c, _)| c == code.get_ref()) else {
            return Err((code.span().start, Problem::BadSoc(code.get_ref().clone())));
        };
        if !soc.contains(&known) {
            soc.push(known);
        }
    }
    // Every name must be free, or already taken by another name of this same skill.
    let mut names: Vec<(String, String, NameKind)> = Vec::new();
    let mut aliases: Vec<String> = Vec::new();
    let label_at = entry.label.span().start;
    let label = entry.label.into_inner();
    let mut candidates = vec![(label_at, "label", label.clone(), NameKind::Label)];
    candidates.extend(
        entry
            .aliases
            .into_iter()
            .map(|a| (a.span().start, "alias", a.into_inner(), NameKind::Alias)),
    );
    for (at, what, text, kind) in candidates {
        let key = check_name(taxonomy, what, &text, None).map_err(|p| (at, p))?;
        // Every spelling is listed ("ReactJS" and "React.js"); each key is indexed once.
        if kind == NameKind::Alias && text != label && !aliases.contains(&text) {
            aliases.push(text.clone());
        }
        if let Some(key) = key.filter(|k| !names.iter().any(|(n, _, _)| n == k)) {
            names.push((key, text, kind));
        }
    }
    // The id is a name too (`active-directory` finds Active Directory), usually the same
    // as the label's.
    let id_key = normal_key(id);
    if !names.iter().any(|(k, _, _)| *k == id_key) {
        if let Some(owner) = taxonomy.owner_of(&id_key) {
            return Err((
                id_at,
                Problem::NameTaken {
                    what: "id",
                    text: id.clone(),
                    owner: owner.to_string(),
                },
            ));
        }
        names.push((id_key, id.clone(), NameKind::Id));
    }
    let skill = taxonomy.skills.len();
    taxonomy.skills.push(Skill {
        id: id.clone(),
        label,
        category,
        aliases,
        soc,
    });
    taxonomy.by_id.insert(id.clone(), skill);
    for (key, text, kind) in names {
        taxonomy.insert_name(key, skill, text, kind);
    }
    Ok(())
}

/// The key of a new name, `None` if it is already a name of `own` (nothing to add), or the
/// problem with it.
fn check_name(
    taxonomy: &Taxonomy,
    what: &'static str,
    text: &str,
    own: Option<usize>,
) -> Result<Option<String>, Problem> {
    let key = normal_key(text);
    if key.is_empty() || text.chars().count() > MAX_NAME_CHARS {
        return Err(Problem::BadName {
            what,
            text: text.to_string(),
        });
    }
    match taxonomy.by_key.get(&key).map(|&n| taxonomy.names[n].skill) {
        None => Ok(Some(key)),
        Some(s) if Some(s) == own => Ok(None),
        Some(s) => Err(Problem::NameTaken {
            what,
            text: text.to_string(),
            owner: taxonomy.skills[s].id.clone(),
        }),
    }
}

/// `javascript`, `active-directory`, `c`, `k8s-operators`: lowercase ASCII letters and
/// digits in groups joined by single hyphens.
pub fn is_kebab_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

impl Taxonomy {
    fn insert_name(&mut self, key: String, skill: usize, text: String, kind: NameKind) {
        let index = self.names.len();
        self.names.push(Name {
            chars: key.chars().collect(),
            key: key.clone(),
            skill,
            text,
            kind,
        });
        self.by_key.insert(key, index);
    }

    /// The id of the skill a normalised key names, if any.
    fn owner_of(&self, key: &str) -> Option<&str> {
        self.by_key
            .get(key)
            .map(|&n| self.skills[self.names[n].skill].id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extend(text: &str) -> Result<Taxonomy, Vec<String>> {
        Taxonomy::with_extension(text, "skills.local.toml")
            .map_err(|errs| errs.iter().map(ToString::to_string).collect())
    }

    fn problems(text: &str) -> Vec<String> {
        match extend(text) {
            Ok(_) => panic!("expected problems with:\n{text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn ids_are_kebab_case() {
        for good in [
            "c",
            "javascript",
            "active-directory",
            "k8s",
            "a-b-testing",
            "web3",
        ] {
            assert!(is_kebab_id(good), "{good}");
        }
        for bad in [
            "",
            "JavaScript",
            "java script",
            "-java",
            "java-",
            "a--b",
            "c#",
            "node_js",
            "é",
            &"a".repeat(MAX_ID_CHARS + 1),
        ] {
            assert!(!is_kebab_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_extension_adds_skills_and_aliases() {
        let t = extend(
            "[skills.cloud]\n\
             hashicorp-nomad = { label = \"Nomad\", aliases = [\"HashiCorp Nomad\"], soc = [\"15-1244\"] }\n\
             \n\
             [aliases]\n\
             javascript = [\"Javascript ES2024\", \"JS\"]\n\
             hashicorp-nomad = [\"nomad jobs\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let nomad = t.get("hashicorp-nomad").expect("added");
        assert_eq!(nomad.category, Category::Cloud);
        assert_eq!(nomad.soc, ["15-1244"]);
        assert_eq!(t.len(), Taxonomy::builtin().len() + 1);
        for (text, id) in [
            ("nomad", "hashicorp-nomad"),
            ("Nomad Jobs", "hashicorp-nomad"),
            ("javascript es2024", "javascript"),
        ] {
            match t.normalise(text) {
                super::super::Match::Known { id: got, .. } => assert_eq!(got, id, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // The alias lists name every alias, old and new.
        let js = t.get("javascript").expect("javascript");
        assert!(js.aliases.iter().any(|a| a == "Javascript ES2024"));
        // The built-in taxonomy itself is untouched.
        assert!(Taxonomy::builtin().get("hashicorp-nomad").is_none());
    }

    #[test]
    fn bad_entries_are_reported_with_file_and_line() {
        let text = "\
# A community's own skills.
[skills.languages]
gleam = { label = \"Gleam\", soc = [\"15-1252\"] }
javascript = { label = \"JavaScript again\", soc = [\"15-1252\"] }
my-js = { label = \"My JS\", aliases = [\"js\"], soc = [\"15-1252\"] }
Bad_Id = { label = \"Bad\", soc = [\"15-1252\"] }
nosoc = { label = \"No SOC\", soc = [] }
wrongsoc = { label = \"Wrong SOC\", soc = [\"15-1252\",
  \"11-1021\"] }
punct = { label = \"!!!\", soc = [\"15-1252\"] }

[skills.cooking]
knife-skills = { label = \"Knife skills\", soc = [\"15-1299\"] }

[aliases]
no-such-skill = [\"x\"]
python = [\"Gleam\", \"Snake language\"]
";
        let got = problems(text);
        let expected = [
            "skills.local.toml:4: skill javascript already exists; to give it more names, list them under [aliases]",
            "skills.local.toml:5: alias \"js\" already belongs to javascript",
            "skills.local.toml:6: skill id \"Bad_Id\" must be lowercase kebab-case (a-z, 0-9 and single hyphens, at most 64 characters)",
            "skills.local.toml:7: skill nosoc needs at least one SOC code",
            "skills.local.toml:9: \"11-1021\" is not one of the SOC 2018 computer occupations",
            "skills.local.toml:10: label \"!!!\" must have a letter or digit and at most 100 characters",
            "skills.local.toml:12: unknown category \"cooking\"; the categories are languages, web, data, cloud, networking, security, it-support, qa-testing, tools-practices, soft",
            "skills.local.toml:16: no skill no-such-skill to add aliases to",
            "skills.local.toml:17: alias \"Gleam\" already belongs to gleam",
        ];
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expected) {
            assert!(g.starts_with(e), "got {g:?}\nwant {e:?}");
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let got = problems("[skills.web]\nreact2 = { label = \"React 2\", soc = [\"15-1254\"] }\nbroken = { label = \n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("skills.local.toml:3: "), "{got:?}");
        let got = problems("[skills.web]\nreact2 = { label = \"React 2\", soc = [\"15-1254\"], alias = [\"R2\"] }\n");
        assert!(
            got[0].starts_with("skills.local.toml:2: unknown field `alias`"),
            "{got:?}"
        );
        let got = problems("[skill.web]\n");
        assert!(
            got[0].starts_with("skills.local.toml:1: unknown field `skill`"),
            "{got:?}"
        );
    }

    #[test]
    fn two_new_skills_cannot_share_a_name() {
        let got = problems(
            "[skills.tools-practices]\n\
             zed-editor = { label = \"Zed\", soc = [\"15-1252\"] }\n\
             zed-attack-proxy = { label = \"ZAP\", aliases = [\"Zed\"], soc = [\"15-1212\"] }\n",
        );
        assert_eq!(
            got,
            ["skills.local.toml:3: alias \"Zed\" already belongs to zed-editor"]
        );
    }

    #[test]
    fn an_alias_a_skill_already_has_is_accepted() {
        let t = extend("[aliases]\njavascript = [\"JS\", \"js\", \"J.S.\"]\n")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.len(), Taxonomy::builtin().len());
    }

    #[test]
    fn an_empty_extension_is_the_builtin_taxonomy() {
        let t = extend("# nothing yet\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.len(), Taxonomy::builtin().len());
    }

    /// The example in docs/skills.md is a valid extension and does what it says.
    #[test]
    fn the_documented_example_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/skills.md");
        let doc = std::fs::read_to_string(path).expect("docs/skills.md exists");
        let (begin, end) = (
            "<!-- extension-example:begin -->",
            "<!-- extension-example:end -->",
        );
        let start = doc.find(begin).expect("begin marker") + begin.len();
        let stop = doc.find(end).expect("end marker");
        let example = doc[start..stop]
            .trim()
            .strip_prefix("```toml")
            .and_then(|e| e.strip_suffix("```"))
            .expect("a toml block between the markers");
        let t = extend(example).unwrap_or_else(|e| panic!("docs/skills.md example: {e:?}"));
        assert_eq!(t.len(), Taxonomy::builtin().len() + 3);
        for (text, id) in [
            ("Epic Hyperspace", "epic-ehr"),
            ("epic willow", "epic-ehr"),
            ("Cerner", "cerner"),
            ("Mesa de ayuda", "help-desk"),
            ("hojas de calculo", "excel"), // one edit from "cálculo"
        ] {
            match t.normalise(text) {
                super::super::Match::Known { id: got, .. } => assert_eq!(got, id, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn line_numbers_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
