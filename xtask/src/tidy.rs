//! `cargo xtask tidy`: the structure rules checked as text, with no dependency. The crate
//! dependency table of docs/ARCHITECTURE.md against every manifest, a `//!` line opening
//! every module, and the Postgres and SQLite migrations in pairs. Every offender is listed
//! at once, so that one run shows all there is to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The heading of the section of docs/ARCHITECTURE.md that holds the dependency table.
pub const TABLE_HEADING: &str = "## Crate dependencies";

/// What one row of the table allows a crate to depend on, among the workspace's crates.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Allowed {
    /// In `[dependencies]` (and `[build-dependencies]`).
    pub normal: BTreeSet<String>,
    /// In `[dev-dependencies]`, on top of `normal`.
    pub dev: BTreeSet<String>,
}

/// Which table of a manifest a dependency sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Build,
    Dev,
}

/// What tidy needs from a Cargo.toml: the package name and every dependency's name (the
/// `package = "..."` it stands for, when it is renamed).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub name: Option<String>,
    pub deps: Vec<(String, Kind)>,
}

/// Runs every check on the tree at `root`; the error lists every offence found.
pub fn run(root: &Path) -> Result<(), String> {
    let mut problems = check_dependencies(root)?;
    for file in rust_files(root)? {
        let text = read(&file)?;
        if !opens_with_module_doc(&text) {
            problems.push(format!(
                "{}: does not open with a `//!` line saying what the module owns",
                relative(root, &file)
            ));
        }
    }
    problems.extend(check_migrations(
        &migration_listing(&root.join("migrations/postgres"))?,
        &migration_listing(&root.join("migrations/sqlite"))?,
    ));
    if problems.is_empty() {
        eprintln!("xtask: tidy passed");
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

// ---- the crate dependency table -------------------------------------------------------

/// Parses the table under `TABLE_HEADING`: a row per crate, its name in the first cell,
/// the workspace crates it may depend on in the second, and those its dev-dependencies may
/// add in the optional third (comma-separated, in backticks or not; "—", "-" or "none" for
/// none; a remark in parentheses is ignored).
pub fn parse_table(markdown: &str) -> Result<BTreeMap<String, Allowed>, String> {
    let section = markdown
        .lines()
        .skip_while(|line| line.trim() != TABLE_HEADING)
        .skip(1)
        .take_while(|line| !line.starts_with("## "));
    let rows: Vec<&str> = section
        .skip_while(|line| !line.trim_start().starts_with('|'))
        .take_while(|line| line.trim_start().starts_with('|'))
        .collect();
    if rows.len() < 2 {
        return Err(format!(
            "no table under the heading {TABLE_HEADING:?} in docs/ARCHITECTURE.md"
        ));
    }
    let mut table = BTreeMap::new();
    // The first row is the header and the second its `|---|` separator.
    for row in &rows[2..] {
        let cells: Vec<&str> = row.trim().trim_matches('|').split('|').collect();
        let crate_name = unquote(cells[0]);
        if crate_name.is_empty() {
            return Err(format!("dependency table: a row without a crate: {row}"));
        }
        let allowed = Allowed {
            normal: names(cells.get(1).copied().unwrap_or("")),
            dev: names(cells.get(2).copied().unwrap_or("")),
        };
        if table.insert(crate_name.clone(), allowed).is_some() {
            return Err(format!("dependency table: {crate_name} has two rows"));
        }
    }
    Ok(table)
}

fn unquote(cell: &str) -> String {
    cell.trim().trim_matches('`').trim().to_owned()
}

/// The crate names of a cell; a remark in parentheses is prose, not a name.
fn names(cell: &str) -> BTreeSet<String> {
    let mut text = String::new();
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => text.push(c),
            _ => {}
        }
    }
    text.split(',')
        .map(unquote)
        .filter(|n| !n.is_empty() && !matches!(n.as_str(), "-" | "—" | "none"))
        .collect()
}

/// Reads a Cargo.toml as text: the `[package]` name, and the entries of `[dependencies]`,
/// `[dev-dependencies]` and `[build-dependencies]` (also under `[target.'cfg'.…]` and as
/// `[dependencies.NAME]` tables).
pub fn parse_manifest(toml: &str) -> Manifest {
    let mut manifest = Manifest::default();
    let mut section = String::new();
    // Open brackets of a value that goes on over the next lines (a multi-line array).
    let mut depth = 0i32;
    for raw in toml.lines() {
        let line = strip_comment(raw);
        let line = line.trim();
        if depth > 0 {
            depth += bracket_balance(line);
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).trim().to_owned();
            if let Some((kind, Some(name))) = dependency_section(&section) {
                manifest.deps.push((name, kind));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        depth = bracket_balance(value);
        let key = key.trim();
        match dependency_section(&section) {
            Some((kind, None)) => {
                let name = package_of(value).unwrap_or_else(|| key_head(key));
                manifest.deps.push((name, kind));
            }
            // A `package = "..."` inside `[dependencies.NAME]` renames the entry just read.
            Some((_, Some(_))) if key == "package" => {
                if let (Some(last), Some(real)) = (manifest.deps.last_mut(), string_value(value)) {
                    last.0 = real;
                }
            }
            _ if section == "package" && key == "name" => manifest.name = string_value(value),
            _ => {}
        }
    }
    manifest
}

/// `dependencies` → (Normal, None); `dev-dependencies.foo` → (Dev, Some("foo")); the same
/// under `target.<cfg>.`; anything else → None.
fn dependency_section(section: &str) -> Option<(Kind, Option<String>)> {
    let section = match section.strip_prefix("target.") {
        // The cfg may hold dots (`'cfg(target_os = "linux")'`): the kind follows its end.
        Some(rest) => {
            let after_cfg = if let Some(quoted) = rest.strip_prefix(['\'', '"']) {
                let end = quoted.find(['\'', '"'])?;
                &quoted[end + 1..]
            } else {
                rest.find('.').map(|i| &rest[i..])?
            };
            after_cfg.strip_prefix('.')?
        }
        None => section,
    };
    let (head, name) = match section.split_once('.') {
        Some((head, name)) => (head, Some(name.trim().trim_matches('"').to_owned())),
        None => (section, None),
    };
    let kind = match head.trim() {
        "dependencies" => Kind::Normal,
        "build-dependencies" => Kind::Build,
        "dev-dependencies" => Kind::Dev,
        _ => return None,
    };
    Some((kind, name))
}

/// `grantd-ports.workspace` → `grantd-ports`; `"grantd-ports"` → `grantd-ports`.
fn key_head(key: &str) -> String {
    let key = key.trim();
    if let Some(quoted) = key.strip_prefix('"') {
        return quoted.split('"').next().unwrap_or("").to_owned();
    }
    key.split('.').next().unwrap_or("").trim().to_owned()
}

/// The `package = "..."` of an inline table, if any.
fn package_of(value: &str) -> Option<String> {
    let inline = value.trim().strip_prefix('{')?;
    inline.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "package").then(|| string_value(value))?
    })
}

fn string_value(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('}').trim();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    value[1..].split(quote).next().map(str::to_owned)
}

/// The line up to a `#` that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Opened minus closed `[` and `{` outside strings.
fn bracket_balance(text: &str) -> i32 {
    let mut quote = None;
    let mut balance = 0;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '[' | '{') => balance += 1,
            (None, ']' | '}') => balance -= 1,
            _ => {}
        }
    }
    balance
}

/// The manifests tidy reads: `crates/*/Cargo.toml` and `xtask/Cargo.toml`.
fn manifest_paths(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut paths: Vec<PathBuf> = sorted_entries(&root.join("crates"))?
        .into_iter()
        .map(|dir| dir.join("Cargo.toml"))
        .filter(|path| path.is_file())
        .collect();
    paths.push(root.join("xtask/Cargo.toml"));
    Ok(paths)
}

fn check_dependencies(root: &Path) -> Result<Vec<String>, String> {
    let table = parse_table(&read(&root.join("docs/ARCHITECTURE.md"))?)?;
    let mut manifests = Vec::new();
    for path in manifest_paths(root)? {
        manifests.push((relative(root, &path), parse_manifest(&read(&path)?)));
    }
    Ok(dependency_problems(&table, &manifests))
}

/// Every dependency between workspace crates that the table does not allow, every crate
/// the table lacks, and every row or allowed name that is not a workspace crate.
pub fn dependency_problems(
    table: &BTreeMap<String, Allowed>,
    manifests: &[(String, Manifest)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let ours: BTreeSet<&str> = manifests
        .iter()
        .filter_map(|(_, m)| m.name.as_deref())
        .collect();
    for (path, manifest) in manifests {
        let Some(name) = manifest.name.as_deref() else {
            problems.push(format!("{path}: no [package] name"));
            continue;
        };
        let Some(allowed) = table.get(name) else {
            problems.push(format!(
                "{name} ({path}) is missing from the dependency table in docs/ARCHITECTURE.md"
            ));
            continue;
        };
        for (dep, kind) in &manifest.deps {
            let ok =
                allowed.normal.contains(dep) || (*kind == Kind::Dev && allowed.dev.contains(dep));
            if ours.contains(dep.as_str()) && !ok {
                let table_name = match kind {
                    Kind::Normal => "dependencies",
                    Kind::Build => "build-dependencies",
                    Kind::Dev => "dev-dependencies",
                };
                problems.push(format!(
                    "{name} ({path}) has {dep} in [{table_name}], which the dependency table \
                     in docs/ARCHITECTURE.md does not allow"
                ));
            }
        }
    }
    for (name, allowed) in table {
        if !ours.contains(name.as_str()) {
            problems.push(format!(
                "the dependency table lists {name}, which is not a workspace crate"
            ));
        }
        for dep in allowed.normal.iter().chain(&allowed.dev) {
            if !ours.contains(dep.as_str()) {
                problems.push(format!(
                    "the dependency table lets {name} depend on {dep}, which is not a \
                     workspace crate"
                ));
            }
        }
    }
    problems
}

// ---- module docs ----------------------------------------------------------------------

/// True when the first non-blank line starts with `//!`.
pub fn opens_with_module_doc(text: &str) -> bool {
    text.lines()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| line.starts_with("//!"))
}

/// Every `.rs` file under `crates/` and `xtask/`, outside `target/` and `fuzz/` folders.
fn rust_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut dirs = vec![root.join("crates"), root.join("xtask")];
    while let Some(dir) = dirs.pop() {
        for path in sorted_entries(&dir)? {
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(file_name, "target" | "fuzz") && !file_name.starts_with('.') {
                    dirs.push(path);
                }
            } else if file_name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

// ---- migrations -----------------------------------------------------------------------

/// Each migration folder of `dir` with the names of the files in it.
fn migration_listing(dir: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut listing = BTreeMap::new();
    for path in sorted_entries(dir)? {
        if !path.is_dir() {
            continue;
        }
        let files = sorted_entries(&path)?
            .iter()
            .filter_map(|f| f.file_name()?.to_str().map(str::to_owned))
            .collect();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        listing.insert(name.to_owned(), files);
    }
    Ok(listing)
}

/// The same migration names on both backends, each with `up.sql` and `down.sql`.
pub fn check_migrations(
    postgres: &BTreeMap<String, BTreeSet<String>>,
    sqlite: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (backend, this, other, other_backend) in [
        ("postgres", postgres, sqlite, "sqlite"),
        ("sqlite", sqlite, postgres, "postgres"),
    ] {
        for (name, files) in this {
            if !other.contains_key(name) {
                problems.push(format!(
                    "migrations/{backend}/{name} has no twin in migrations/{other_backend}"
                ));
            }
            for needed in ["up.sql", "down.sql"] {
                if !files.contains(needed) {
                    problems.push(format!("migrations/{backend}/{name} lacks {needed}"));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    const DOC: &str = "\
# map

## Crate dependencies

Some prose.

| crate | may depend on | dev-dependencies may add |
|---|---|---|
| `a` | — (nothing of ours, a, b) | |
| `b` | `a` | `c` (tests only) |
| c | a, b | none |

## Next section

| x | y |
|---|---|
| not | ours |
";

    #[test]
    fn table_rows_come_from_the_section_only() {
        let table = parse_table(DOC).unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(table["a"], Allowed::default());
        assert_eq!(table["b"].normal, set(&["a"]));
        assert_eq!(table["b"].dev, set(&["c"]));
        assert_eq!(table["c"].normal, set(&["a", "b"]));
    }

    #[test]
    fn table_without_the_heading_or_with_a_duplicate_row_is_an_error() {
        assert!(parse_table("# map\n| a | b |\n|---|---|\n| c | d |\n").is_err());
        let twice = "## Crate dependencies\n| c | d |\n|---|---|\n| a | |\n| a | |\n";
        assert!(parse_table(twice).unwrap_err().contains("two rows"));
    }

    #[test]
    fn manifest_entries_in_every_form() {
        let toml = r#"
[package]
name = "grantd-app" # the binary
version.workspace = true

[[bin]]
name = "grantd"

[dependencies]
grantd-domain.workspace = true
grantd-ports = { workspace = true, features = [
    "mock",
] }
store = { package = "grantd-store-diesel", path = "../store-diesel" }
serde = { workspace = true }

[dev-dependencies]
"grantd-crypto" = { path = "../crypto" }

[build-dependencies.grantd-bench]
path = "../bench"

[dependencies.renamed]
package = "grantd-http-actix"

[target.'cfg(unix)'.dev-dependencies]
xtask = { path = "../../xtask" }

[lints]
workspace = true
"#;
        let manifest = parse_manifest(toml);
        assert_eq!(manifest.name.as_deref(), Some("grantd-app"));
        let deps: Vec<(&str, Kind)> = manifest
            .deps
            .iter()
            .map(|(name, kind)| (name.as_str(), *kind))
            .collect();
        assert_eq!(
            deps,
            [
                ("grantd-domain", Kind::Normal),
                ("grantd-ports", Kind::Normal),
                ("grantd-store-diesel", Kind::Normal),
                ("serde", Kind::Normal),
                ("grantd-crypto", Kind::Dev),
                ("grantd-bench", Kind::Build),
                ("grantd-http-actix", Kind::Normal),
                ("xtask", Kind::Dev),
            ]
        );
    }

    fn manifest(name: &str, deps: &[(&str, Kind)]) -> (String, Manifest) {
        let manifest = Manifest {
            name: Some(name.to_owned()),
            deps: deps.iter().map(|(d, k)| (d.to_string(), *k)).collect(),
        };
        (format!("crates/{name}/Cargo.toml"), manifest)
    }

    #[test]
    fn dependencies_the_table_allows_pass() {
        let table = parse_table(DOC).unwrap();
        let manifests = [
            manifest("a", &[("serde", Kind::Normal)]),
            manifest("b", &[("a", Kind::Normal), ("c", Kind::Dev)]),
            manifest(
                "c",
                &[("a", Kind::Build), ("b", Kind::Normal), ("b", Kind::Dev)],
            ),
        ];
        assert_eq!(
            dependency_problems(&table, &manifests),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_forbidden_dependency_is_named() {
        let table = parse_table(DOC).unwrap();
        let manifests = [
            manifest("a", &[("b", Kind::Normal)]),
            // A dev-only permission does not extend to normal dependencies.
            manifest("b", &[("c", Kind::Normal)]),
            manifest("c", &[]),
        ];
        let problems = dependency_problems(&table, &manifests);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("a (crates/a/Cargo.toml) has b in [dependencies]"));
        assert!(problems[1].starts_with("b (crates/b/Cargo.toml) has c in [dependencies]"));
    }

    #[test]
    fn crates_missing_from_the_table_and_stale_rows_are_named() {
        let table = parse_table(DOC).unwrap();
        let manifests = [
            manifest("a", &[]),
            manifest("b", &[]),
            manifest("d", &[("a", Kind::Normal)]),
        ];
        let problems = dependency_problems(&table, &manifests);
        assert_eq!(
            problems,
            [
                "d (crates/d/Cargo.toml) is missing from the dependency table in \
                 docs/ARCHITECTURE.md",
                "the dependency table lets b depend on c, which is not a workspace crate",
                "the dependency table lists c, which is not a workspace crate",
            ]
        );
    }

    #[test]
    fn module_doc_is_the_first_non_blank_line() {
        assert!(opens_with_module_doc("//! Owns this.\nfn f() {}\n"));
        assert!(opens_with_module_doc("\n  \n//! Owns this.\n"));
        assert!(!opens_with_module_doc("// a comment\n//! late\n"));
        assert!(!opens_with_module_doc("#![allow(dead_code)]\n//! late\n"));
        assert!(!opens_with_module_doc("/// item doc\nfn f() {}\n"));
        assert!(!opens_with_module_doc("  //! indented\n"));
        assert!(!opens_with_module_doc(""));
    }

    fn listing(entries: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        entries
            .iter()
            .map(|(name, files)| (name.to_string(), set(files)))
            .collect()
    }

    #[test]
    fn paired_migrations_pass() {
        let both = listing(&[("0001_a", &["up.sql", "down.sql"])]);
        assert_eq!(check_migrations(&both, &both), Vec::<String>::new());
    }

    #[test]
    fn unpaired_or_incomplete_migrations_are_named() {
        let postgres = listing(&[
            ("0001_a", &["up.sql", "down.sql"]),
            ("0002_b", &["up.sql", "down.sql"]),
        ]);
        let sqlite = listing(&[("0001_a", &["up.sql"]), ("0003_c", &["down.sql"])]);
        assert_eq!(
            check_migrations(&postgres, &sqlite),
            [
                "migrations/postgres/0002_b has no twin in migrations/sqlite",
                "migrations/sqlite/0001_a lacks down.sql",
                "migrations/sqlite/0003_c has no twin in migrations/postgres",
                "migrations/sqlite/0003_c lacks up.sql",
            ]
        );
    }
}
