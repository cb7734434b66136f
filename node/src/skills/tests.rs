//! Tests of the shipped taxonomy data, normalisation and autocomplete.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;

fn builtin() -> &'static Taxonomy {
    Taxonomy::builtin()
}

/// Every (skill id, name as written) of the built-in taxonomy: labels and aliases.
fn all_names() -> Vec<(String, String)> {
    builtin()
        .skills()
        .iter()
        .flat_map(|s| {
            std::iter::once(s.label.clone())
                .chain(s.aliases.iter().cloned())
                .map(move |n| (s.id.clone(), n))
        })
        .collect()
}

// The shipped data.

#[test]
fn the_builtin_file_has_no_problems() {
    let (t, errors) = Taxonomy::load_builtin();
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        errors.is_empty(),
        "data/skills.toml:\n{}",
        errors.join("\n")
    );
    assert_eq!(t.len(), builtin().len());
}

/// Read straight from the TOML, independently of the loader: the loader would leave a bad
/// entry out rather than fail, so these checks must not trust it.
#[test]
fn the_builtin_data_follows_the_rules() {
    let doc: toml::Table = toml::from_str(BUILTIN_TEXT).expect("data/skills.toml is TOML");
    let categories = doc["skills"].as_table().expect("[skills]");
    let valid_soc: HashSet<&str> = SOC_CODES.iter().map(|(c, _)| *c).collect();
    let mut ids = HashSet::new();
    let mut owner_of: HashMap<String, String> = HashMap::new();
    let mut problems = Vec::new();
    let mut count = 0;
    for (category, skills) in categories {
        assert!(Category::parse(category).is_some(), "category {category}");
        for (id, entry) in skills.as_table().expect("a table of skills") {
            count += 1;
            if !is_kebab_id(id) {
                problems.push(format!("{id}: not kebab-case"));
            }
            if !ids.insert(id.clone()) {
                problems.push(format!("{id}: id used twice"));
            }
            let soc = entry["soc"].as_array().expect("soc list");
            if soc.is_empty() {
                problems.push(format!("{id}: no SOC code"));
            }
            for code in soc {
                let code = code.as_str().expect("a SOC code string");
                if !valid_soc.contains(code) {
                    problems.push(format!("{id}: SOC code {code} is not in the list"));
                }
            }
            let label = entry["label"].as_str().expect("label");
            let aliases = entry
                .get("aliases")
                .and_then(|a| a.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>())
                .unwrap_or_default();
            for name in std::iter::once(label)
                .chain(aliases)
                .chain(std::iter::once(id.as_str()))
            {
                let key = normal_key(name);
                if key.is_empty() {
                    problems.push(format!("{id}: name {name:?} normalises to nothing"));
                }
                if let Some(other) = owner_of.insert(key.clone(), id.clone()) {
                    if other != *id {
                        problems.push(format!(
                            "{id}: name {name:?} ({key}) also belongs to {other}"
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(count >= 300, "only {count} skills");
    assert_eq!(count, builtin().len());
}

#[test]
fn every_category_is_stocked_and_soft_skills_are_flagged() {
    let mut per: HashMap<Category, usize> = HashMap::new();
    for s in builtin().skills() {
        *per.entry(s.category).or_default() += 1;
        assert_eq!(s.is_soft(), s.category == Category::Soft, "{}", s.id);
    }
    for c in Category::ALL {
        let n = per.get(&c).copied().unwrap_or_default();
        assert!(n >= 25, "{}: only {n} skills", c.as_str());
    }
    assert!(builtin().get("communication").is_some_and(Skill::is_soft));
    assert!(!builtin().get("javascript").is_some_and(Skill::is_soft));
}

#[test]
fn the_examples_of_the_issue_are_there() {
    let has = |id: &str, alias: &str| {
        let s = builtin().get(id).unwrap_or_else(|| panic!("no skill {id}"));
        assert!(
            s.aliases.iter().any(|a| a == alias),
            "{id} lacks the alias {alias}"
        );
    };
    has("javascript", "JS");
    has("javascript", "ECMAScript");
    has("react", "ReactJS");
    has("react", "React.js");
    has("kubernetes", "k8s");
    has("active-directory", "AD");
    has("excel", "MS Excel");
}

#[test]
fn categories_round_trip() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
        assert!(!c.title().is_empty());
    }
    assert_eq!(Category::parse("Languages"), None);
}

// Normalisation.

fn known(id: &str, how: How) -> Match {
    Match::Known {
        id: id.to_string(),
        how,
    }
}

fn unknown(text: &str) -> Match {
    Match::Unknown(text.to_string())
}

#[test]
fn normalisation_cases() {
    use How::{Alias, Exact, Typo};
    let cases = [
        // Case, punctuation and whitespace.
        ("JavaScript", known("javascript", Exact)),
        ("javascript", known("javascript", Exact)),
        ("  JAVASCRIPT\t", known("javascript", Exact)),
        ("Node.js", known("node-js", Exact)),
        ("nodejs", known("node-js", Exact)),
        ("NODE JS", known("node-js", Exact)),
        ("node-js", known("node-js", Exact)),
        ("Node", known("node-js", Alias)),
        // The punctuation that is part of a name.
        ("C#", known("csharp", Exact)),
        ("c #", known("csharp", Exact)),
        ("C Sharp", known("csharp", Exact)),
        ("C++", known("cpp", Exact)),
        ("cpp", known("cpp", Exact)),
        ("C", known("c", Exact)),
        ("c.", known("c", Exact)),
        ("F#", known("fsharp", Exact)),
        (".NET", known("dotnet", Exact)),
        ("dotnet", known("dotnet", Exact)),
        (".net core", known("dotnet", Alias)),
        ("ASP.NET", known("asp-net", Exact)),
        ("asp net", known("asp-net", Exact)),
        ("ASP.NET Core", known("asp-net", Alias)),
        ("VB.NET", known("vb-net", Exact)),
        // Aliases.
        ("JS", known("javascript", Alias)),
        ("ECMAScript", known("javascript", Alias)),
        ("ReactJS", known("react", Alias)),
        ("React.js", known("react", Alias)),
        ("k8s", known("kubernetes", Alias)),
        ("K8S", known("kubernetes", Alias)),
        ("AD", known("active-directory", Alias)),
        ("active-directory", known("active-directory", Exact)),
        ("MS Excel", known("excel", Alias)),
        ("golang", known("go", Alias)),
        ("Postgres", known("postgresql", Alias)),
        ("Wi-Fi", known("wireless-networking", Alias)),
        ("A/B testing", known("a-b-testing", Exact)),
        ("TCP/IP", known("tcp-ip", Exact)),
        ("Team player", known("teamwork", Alias)),
        // Short names match only exactly.
        ("Go", known("go", Exact)),
        ("R", known("r", Exact)),
        ("r", known("r", Exact)),
        ("Gp", unknown("Gp")),
        ("Rr", unknown("Rr")),
        ("Goo", unknown("Goo")),
        ("CSS", known("css", Exact)),
        ("CSX", unknown("CSX")),
        // Small typos: one edit from 4 to 7 characters, two from 8.
        ("Pyhton", known("python", Typo)),
        ("Pythn", known("python", Typo)),
        ("Javscript", known("javascript", Typo)),
        ("Javasrcipt", known("javascript", Typo)),
        ("Kubernets", known("kubernetes", Typo)),
        ("Kuberentes", known("kubernetes", Typo)),
        ("Postgress", known("postgresql", Typo)),
        ("Djagno", known("django", Typo)),
        ("Typscript", known("typescript", Typo)),
        ("Linxu", known("linux", Typo)),
        // Too far for its length.
        ("Pyhtno", unknown("Pyhtno")),
        ("Jxvx", unknown("Jxvx")),
        ("Jvaa", known("java", Typo)),
        // Common words that are not typos of short skills.
        ("cash", unknown("cash")),
        ("Trust", unknown("Trust")),
        // Unknown text is kept, whitespace tidied, never dropped.
        (
            "  Underwater   basket weaving ",
            unknown("Underwater basket weaving"),
        ),
        ("Forklift licence", unknown("Forklift licence")),
        ("", unknown("")),
        ("!!!", unknown("!!!")),
        ("#", unknown("#")),
    ];
    let mut failures = Vec::new();
    for (text, expected) in cases {
        let got = builtin().normalise(text);
        if got != expected {
            failures.push(format!("{text:?}: got {got:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn c_csharp_cpp_and_dotnet_stay_apart() {
    let ids: Vec<Match> = ["C", "C#", "C++", ".NET", "F#"]
        .iter()
        .map(|t| builtin().normalise(t))
        .collect();
    let distinct: HashSet<String> = ids
        .iter()
        .map(|m| match m {
            Match::Known { id, .. } => id.clone(),
            Match::Unknown(t) => panic!("{t} is unknown"),
        })
        .collect();
    assert_eq!(distinct.len(), 5, "{ids:?}");
}

#[test]
fn a_typo_between_two_skills_is_not_guessed() {
    // Two skills one edit apart: text one edit from both is not given to either.
    let t = Taxonomy::with_extension(
        "[skills.tools-practices]\n\
         alpha-tool = { label = \"Abcdef\", soc = [\"15-1299\"] }\n\
         beta-tool = { label = \"Abcdeg\", soc = [\"15-1299\"] }\n",
        "tie.toml",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(t.normalise("Abcdex"), unknown("Abcdex"));
    // A unique nearest skill is still found.
    assert_eq!(t.normalise("Abcdefx"), known("alpha-tool", How::Typo));
}

#[test]
fn every_id_label_and_alias_normalises_to_its_skill() {
    let mut failures = Vec::new();
    for s in builtin().skills() {
        for name in std::iter::once(&s.id)
            .chain(std::iter::once(&s.label))
            .chain(&s.aliases)
        {
            match builtin().normalise(name) {
                Match::Known { id, how } if id == s.id && how != How::Typo => {}
                other => failures.push(format!("{name:?} of {}: {other:?}", s.id)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Writes `name` the way people might: any case, words split by other separators, padded.
fn respell(name: &str, upper: &[bool], separators: &[&str], pad: (&str, &str)) -> String {
    let mut out = String::from(pad.0);
    let mut word = 0;
    for (i, c) in name.chars().enumerate() {
        if c == ' ' {
            out.push_str(separators[word % separators.len()]);
            word += 1;
        } else if upper.get(i % upper.len().max(1)).copied().unwrap_or(false) {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.push_str(pad.1);
    out
}

proptest! {
    #[test]
    fn any_spelling_of_a_known_name_finds_its_skill(
        pick in any::<prop::sample::Index>(),
        upper in prop::collection::vec(any::<bool>(), 1..16),
        separators in prop::collection::vec(prop::sample::select(vec![" ", "  ", "-", "_", "\t", ""]), 1..4),
        pad in (prop::sample::select(vec!["", " ", "  ", "\t"]), prop::sample::select(vec!["", " ", ".", ",", ";"])),
    ) {
        let names = all_names();
        let (id, name) = &names[pick.index(names.len())];
        let text = respell(name, &upper, &separators, pad);
        match builtin().normalise(&text) {
            Match::Known { id: got, how } => {
                prop_assert_eq!(&got, id, "{:?} (from {:?})", text, name);
                prop_assert_ne!(how, How::Typo);
            }
            Match::Unknown(t) => prop_assert!(false, "{:?} (from {:?}) is unknown: {:?}", text, name, t),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), limit in 0usize..60) {
        let _ = builtin().normalise(&text);
        let s = builtin().suggest(&text, limit);
        prop_assert!(s.len() <= limit);
    }

    #[test]
    fn arbitrary_near_names_never_panic(text in "[a-zA-Z0-9 .#+/-]{0,40}") {
        if let Match::Unknown(kept) = builtin().normalise(&text) {
            prop_assert_eq!(kept, text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        let _ = builtin().suggest(&text, 50);
    }

    #[test]
    fn a_typo_is_within_its_allowance(text in "[a-z]{4,12}") {
        if let Match::Known { id, how: How::Typo } = builtin().normalise(&text) {
            let skill = builtin().get(&id).expect("a known id");
            let query: Vec<char> = text.chars().collect();
            let near = std::iter::once(&skill.label).chain(&skill.aliases).any(|n| {
                let key: Vec<char> = normal_key(n).chars().collect();
                let max = max_typo_distance(key.len().min(query.len()));
                max > 0 && bounded_distance(&query, &key, max).is_some()
            });
            prop_assert!(near, "{} -> {}", text, id);
        }
    }
}

// Autocomplete.

fn suggest_ids(query: &str, limit: usize) -> Vec<&'static str> {
    builtin()
        .suggest(query, limit)
        .into_iter()
        .map(|s| s.skill.id.as_str())
        .collect()
}

#[test]
fn autocomplete_ranks_prefixes_before_substrings_before_typos() {
    let jav = builtin().suggest("jav", 10);
    assert_eq!(jav[0].skill.id, "java");
    assert_eq!(jav[1].skill.id, "javascript");
    assert!(jav.iter().all(|s| s.kind <= SuggestionKind::Substring));
    let kinds: Vec<SuggestionKind> = jav.iter().map(|s| s.kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);

    let k8s = builtin().suggest("k8s", 10);
    assert_eq!(k8s[0].skill.id, "kubernetes");
    assert_eq!(k8s[0].matched, "k8s");
    assert_eq!(k8s[0].kind, SuggestionKind::Exact);

    let react = builtin().suggest("reactjs", 10);
    assert_eq!(react[0].skill.id, "react");
    assert_eq!(react[0].matched, "ReactJS");

    // "script" is inside JavaScript and TypeScript, and starts "Shell scripts".
    let script = suggest_ids("script", 20);
    assert!(script.contains(&"javascript") && script.contains(&"typescript"));
    assert!(
        script.iter().position(|i| *i == "scripting")
            < script.iter().position(|i| *i == "javascript")
    );

    // A misspelling still finds the skill, after everything that matched better.
    let typo = builtin().suggest("kubrenetes", 10);
    assert_eq!(typo[0].skill.id, "kubernetes");
    assert_eq!(typo[0].kind, SuggestionKind::Typo);
    // And while still typing.
    assert_eq!(suggest_ids("kubrenet", 3).first(), Some(&"kubernetes"));
    // A misspelt whole name comes before a misspelt beginning ("exel" and "Expl…").
    assert_eq!(suggest_ids("exel", 3).first(), Some(&"excel"));
}

#[test]
fn autocomplete_includes_soft_skills_and_respects_the_limit() {
    let comm = builtin().suggest("communi", 10);
    assert!(comm
        .iter()
        .any(|s| s.skill.id == "communication" && s.skill.is_soft()));
    assert_eq!(builtin().suggest("a", 5).len(), 5);
    assert!(builtin().suggest("a", 0).is_empty());
    assert!(builtin().suggest("!!!", 10).is_empty());
    assert!(builtin().suggest("zzzzqqqq", 10).is_empty());
}

#[test]
fn autocomplete_puts_every_exact_name_first() {
    let mut failures = Vec::new();
    for (id, name) in all_names() {
        match builtin().suggest(&name, 1).first() {
            Some(s) if s.skill.id == id && s.kind == SuggestionKind::Exact => {}
            other => failures.push(format!("{name:?} of {id}: {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn autocomplete_is_deterministic() {
    for q in ["a", "sql", "data", "net", "test", "cloud"] {
        assert_eq!(suggest_ids(q, 50), suggest_ids(q, 50), "{q}");
    }
}

/// docs/skills.md states how many skills each category has; it must match the data.
#[test]
fn the_documented_counts_match_the_data() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/skills.md");
    let doc = std::fs::read_to_string(path).expect("docs/skills.md exists");
    let total = format!("The built-in file holds {} skills.", builtin().len());
    assert!(doc.contains(&total), "docs/skills.md should say: {total}");
    for c in Category::ALL {
        let n = builtin()
            .skills()
            .iter()
            .filter(|s| s.category == c)
            .count();
        let row = format!("| `{}` | {} | {n} |", c.as_str(), c.title());
        assert!(
            doc.contains(&row),
            "docs/skills.md should have the row: {row}"
        );
    }
}
