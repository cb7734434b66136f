//! Keeps the README and the docs true: every command the README's "Commands" section shows
//! exists in the real binary with every flag it shows (and every command the binary has is
//! shown there), and every relative link in README.md and docs/*.md leads to a file that
//! exists, and to a heading in it when the link names one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::run;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the node crate sits in the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `techhire …` lines of the README's "Commands" section.
fn readme_commands() -> Vec<String> {
    let readme = read(&root().join("README.md"));
    let section = readme
        .split("\n## Commands\n")
        .nth(1)
        .expect("README.md has a \"## Commands\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let commands: Vec<String> = section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("techhire "))
        .map(str::to_string)
        .collect();
    assert!(
        commands.len() > 10,
        "the Commands section looks truncated: {commands:?}"
    );
    commands
}

/// The subcommand words of a README line: up to the first flag or placeholder
/// (`--data-dir`, `FILE`, `[--region AL]`).
fn subcommand(line: &str) -> Vec<&str> {
    line.split_whitespace()
        .skip(1)
        .take_while(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
                && !w.starts_with('-')
        })
        .collect()
}

/// The flags a README line shows (`--data-dir`, `--steward-pubkey`).
fn flags(line: &str) -> BTreeSet<String> {
    line.split(|c: char| c.is_whitespace() || "[]|…=".contains(c))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_string)
        .collect()
}

/// The subcommands `techhire <path> --help` lists (without `help`).
fn listed_subcommands(help: &str) -> Vec<String> {
    let Some(section) = help.split("Commands:\n").nth(1) else {
        return Vec::new();
    };
    section
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

fn help_of(words: &[&str]) -> String {
    let mut args: Vec<&str> = words.to_vec();
    args.push("--help");
    let out = run(&args);
    assert!(
        out.status.success(),
        "`techhire {}` is in the README but not in the binary\n{}",
        args.join(" "),
        out.describe()
    );
    out.stdout
}

#[test]
fn every_command_in_the_readme_exists_with_its_flags_and_every_command_is_in_it() {
    let mut problems = Vec::new();
    let mut shown = BTreeSet::new();
    for line in readme_commands() {
        let words = subcommand(&line);
        assert!(!words.is_empty(), "no subcommand in README line {line:?}");
        let help = help_of(&words);
        for flag in flags(&line) {
            if !help.contains(&format!("{flag} ")) && !help.contains(&format!("{flag}\n")) {
                problems.push(format!(
                    "README: `{line}` shows {flag}, which `techhire {} --help` does not list",
                    words.join(" ")
                ));
            }
        }
        shown.insert(words.join(" "));
        // `federation issue` shows that `federation` exists too.
        for n in 1..words.len() {
            shown.insert(words[..n].join(" "));
        }
    }
    // The other way: every command the binary has is in the README.
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in listed_subcommands(&help_of(&words)) {
            let mut deeper = path.clone();
            deeper.push(sub);
            if !shown.contains(&deeper.join(" ")) {
                problems.push(format!(
                    "`techhire {}` exists but README's Commands section does not show it",
                    deeper.join(" ")
                ));
            }
            queue.push(deeper);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    prose_lines(markdown)
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor_of(l.trim_start_matches('#')))
        .collect()
}

/// Lines outside code blocks (indented or fenced), where links are links.
fn prose_lines(markdown: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    markdown.lines().filter(move |l| {
        if l.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced && !l.starts_with("    ") && !l.starts_with('\t')
    })
}

/// The targets of `[text](target)` links on a line, code spans left out.
fn link_targets(line: &str) -> Vec<String> {
    let prose: String = line
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join(" ");
    prose
        .match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &prose[at + 2..];
            rest.find(')').map(|end| rest[..end].trim().to_string())
        })
        .collect()
}

#[test]
fn every_relative_link_in_the_readme_and_docs_leads_somewhere() {
    let root = root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("a docs folder")
        .map(|e| e.expect("a docs entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = read(file);
        let here = file.parent().expect("a file in a folder");
        for line in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    here.join(path)
                };
                let name = file.strip_prefix(&root).unwrap_or(file).display();
                if !dest.exists() {
                    problems.push(format!("{name}: link to {target}: no such file"));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let is_md = dest.extension().is_some_and(|e| e == "md");
                    if is_md && !anchors(&read(&dest)).contains(anchor) {
                        problems.push(format!("{name}: link to {target}: no such heading"));
                    }
                }
            }
        }
    }
    assert!(
        checked > 10,
        "only {checked} relative links found: is the link parser broken?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_link_parsers_read_what_markdown_means() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x), `[b](c)` and [d](https://e)"),
        ["docs/a.md#x", "https://e"]
    );
    assert_eq!(anchor_of(" Web interface "), "web-interface");
    assert_eq!(anchor_of("People and tokens"), "people-and-tokens");
    assert_eq!(
        anchor_of("`node/src/store/` — the only"),
        "nodesrcstore--the-only"
    );
    assert_eq!(
        subcommand("techhire federation issue  --steward-key FILE"),
        ["federation", "issue"]
    );
    assert_eq!(
        subcommand("techhire metrics verify  FILE"),
        ["metrics", "verify"]
    );
    assert_eq!(
        flags("techhire token create --data-dir DIR [--employer ID] --role a|b"),
        BTreeSet::from(["--data-dir".into(), "--employer".into(), "--role".into()])
    );
}

/// Every Rust source file of the workspace starts with a `//!` line saying what it is for
/// (a tidy check, as rust-analyzer has).
#[test]
fn every_source_file_says_what_it_is_for() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for top in ["protocol", "node", "tests"] {
        walk(&root().join(top), &mut files);
    }
    assert!(files.len() > 100, "found only {} source files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.strip_prefix(root()).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:?}"
    );
}
