//! `cargo xtask arch`: the architecture of docs/ARCHITECTURE.md as rules over each crate's direct
//! dependencies (from `cargo metadata`), the domain's transitive ones (from `cargo tree`), and the
//! analytics crate's sources. Every violation names the crate and what it must not use.

use std::path::Path;

use serde_json::Value;

/// Which workspace crates each workspace crate may depend on (normal and build edges).
const LAYERS: &[(&str, &[&str])] = &[
    ("pi-domain", &[]),
    ("pi-migration", &[]),
    ("pi-store", &["pi-domain", "pi-migration"]),
    ("pi-auth", &["pi-domain"]),
    ("pi-api", &["pi-domain"]),
    ("pi-places", &["pi-domain"]),
    ("pi-agent", &["pi-domain", "pi-places"]),
    ("pi-letta", &["pi-domain"]),
    ("pi-testkit", &["pi-domain", "pi-agent"]),
    ("pi-alloc", &[]),
    // Pure readers of customer files: no database, no HTTP, no analytics.
    ("pi-ingest", &["pi-domain"]),
    (
        "pi-server",
        &[
            "pi-domain",
            "pi-store",
            "pi-auth",
            "pi-api",
            "pi-places",
            "pi-agent",
            "pi-letta",
            "pi-alloc",
            "pi-ingest",
        ],
    ),
    ("xtask", &[]),
];

/// Infrastructure crates and the only crates that may use them directly.
const OWNERS: &[(&str, &[&str])] = &[
    // The testkit's fake OpenAI-compatible LLM streams over actix-web (dev-only, never shipped).
    ("actix-web", &["pi-api", "pi-server", "pi-testkit"]),
    ("actix-cors", &["pi-api"]),
    ("tracing-actix-web", &["pi-api"]),
    ("utoipa", &["pi-api"]),
    ("utoipa-swagger-ui", &["pi-api"]),
    ("sea-orm", &["pi-store"]),
    ("sea-orm-migration", &["pi-migration"]),
    ("sqlx", &["pi-store"]),
    // pi-server: only `pi-server health`, the container health check of its own server.
    ("reqwest", &["pi-letta", "pi-agent", "pi-server"]),
    ("jsonwebtoken", &["pi-auth"]),
    ("bcrypt", &["pi-auth"]),
    // File formats are read in one place; the rest of the house sees records.
    ("parquet", &["pi-ingest"]),
    ("wkb", &["pi-ingest"]),
];

/// The one crate that may contain `unsafe` code (one audited FFI call); every other crate takes
/// the workspace's lints, which forbid it.
pub const MAY_USE_UNSAFE: &str = "pi-alloc";

/// A violation unless `krate`'s manifest inherits the workspace's lints (`[lints]` with
/// `workspace = true`), which forbid `unsafe` code; [`MAY_USE_UNSAFE`] is exempt.
pub fn workspace_lints(krate: &str, manifest: &str) -> Option<String> {
    let inherits = table(manifest, "lints").contains(&"workspace=true".to_owned());
    (krate != MAY_USE_UNSAFE && !inherits).then(|| {
        format!(
            "{krate} must inherit the workspace's lints ([lints] workspace = true): only \
             {MAY_USE_UNSAFE} may use unsafe code"
        )
    })
}

/// A violation unless the root manifest's `[workspace.lints.rust]` forbids `unsafe` code.
pub fn workspace_forbids_unsafe(root_manifest: &str) -> Option<String> {
    let rules = table(root_manifest, "workspace.lints.rust");
    (!rules.contains(&"unsafe_code=\"forbid\"".to_owned()))
        .then(|| "the workspace's lints must set unsafe_code = \"forbid\"".to_owned())
}

/// The entries of TOML table `[name]` in `manifest`, without comments or spaces.
fn table(manifest: &str, name: &str) -> Vec<String> {
    let header = format!("[{name}]");
    let mut entries = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && !line.is_empty() {
            entries.push(line.split_whitespace().collect());
        }
    }
    entries
}

/// Crates the domain must not reach even transitively.
pub const FORBIDDEN_IN_DOMAIN: &[&str] = &[
    "sea-orm",
    "sqlx",
    "actix-web",
    "reqwest",
    "jsonwebtoken",
    "bcrypt",
];

/// Source text that means I/O, which the analytics crate never does.
const IO_IN_PLACES: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "tokio::fs",
    "tokio::net",
    "tokio::process",
    "File::open",
    "File::create",
];

/// Source text without comments and without `#[cfg(test)]` modules (`mod x;` or `mod x {…}`).
fn production(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        if !after.starts_with("mod ") {
            // Some other test-only item: keep scanning after the attribute.
            rest = after;
            continue;
        }
        let semi = after.find(';');
        let brace = after.find('{');
        rest = match (semi, brace) {
            (Some(s), b) if b.is_none_or(|b| s < b) => &after[s + 1..],
            (_, Some(b)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                &after[end..]
            }
            _ => "",
        };
    }
    out.push_str(rest);
    out.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One dependency edge of a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// A dev-dependency (tests, benches, examples only).
    pub dev: bool,
}

/// The direct dependency edges of every workspace crate, from `cargo metadata --no-deps` JSON.
pub fn edges(metadata: &Value) -> Vec<Edge> {
    let mut out = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let from = package["name"].as_str().unwrap_or_default();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            out.push(Edge {
                from: from.to_owned(),
                to: dep["name"].as_str().unwrap_or_default().to_owned(),
                dev: dep["kind"].as_str() == Some("dev"),
            });
        }
    }
    out
}

/// Every rule `edges` break, one sentence each.
pub fn violations(edges: &[Edge]) -> Vec<String> {
    let mut out = Vec::new();
    for e in edges {
        if e.to == "pi-testkit" && !e.dev {
            out.push(format!(
                "{} depends on pi-testkit outside [dev-dependencies]: test fakes must not ship",
                e.from
            ));
        }
        if e.dev {
            continue;
        }
        if e.to.starts_with("pi-") {
            match LAYERS.iter().find(|(name, _)| *name == e.from) {
                Some((_, allowed)) if allowed.contains(&e.to.as_str()) => {}
                Some((_, allowed)) => out.push(format!(
                    "{} depends on {}: it may use only {:?} (dependencies point inward)",
                    e.from, e.to, allowed
                )),
                None => out.push(format!(
                    "{} is not in xtask/src/arch.rs LAYERS: say which crates it may use",
                    e.from
                )),
            }
        }
        if let Some((_, owners)) = OWNERS.iter().find(|(name, _)| *name == e.to)
            && !owners.contains(&e.from.as_str())
        {
            out.push(format!(
                "{} depends on {}: only {:?} may use it",
                e.from, e.to, owners
            ));
        }
    }
    out
}

/// I/O found in the analytics crate's sources under `dir`, as `file: text` lines.
pub fn io_in_places(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = production(&std::fs::read_to_string(&p).unwrap_or_default());
                let mut found: Vec<String> = IO_IN_PLACES
                    .iter()
                    .filter(|needle| text.contains(**needle))
                    .map(|needle| (*needle).to_owned())
                    .collect();
                // `use std::{fs, …}` / `tokio::{net, …}`
                for root in ["std", "tokio"] {
                    let open = format!("{root}::{{");
                    for (at, _) in text.match_indices(&open) {
                        let group = &text[at + open.len()..];
                        let group = &group[..group.find('}').unwrap_or(group.len())];
                        for item in group.split(',') {
                            let head = item.trim().split("::").next().unwrap_or_default();
                            if matches!(head, "fs" | "net" | "process") {
                                found.push(format!("{root}::{head}"));
                            }
                        }
                    }
                }
                for what in found {
                    out.push(format!(
                        "pi-places does I/O ({what} in {}): it must stay pure",
                        p.display()
                    ));
                }
            }
        }
    }
    out
}

/// A crate's source files as modules: `tools/mod.rs` is `tools`, `tools/search.rs` is
/// `tools::search`, `lib.rs` and `main.rs` are the root (empty path).
fn modules(src: &Path) -> Vec<(Vec<String>, std::path::PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let Ok(rel) = p.strip_prefix(src) else {
                continue;
            };
            let mut path: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                path.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                path.pop();
            }
            // `bin/*.rs` are crates of their own; `tests.rs` files are test modules.
            if path.first().is_some_and(|f| f == "bin") || path.last().is_some_and(|f| f == "tests")
            {
                continue;
            }
            out.push((path, p));
        }
    }
    out
}

/// Module paths a source file names through `crate::…` and `super::…` (first segments of
/// `{…}` groups included), outside comments and test modules.
fn references(text: &str, module: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let text = production(text);
    let text = text.as_str();
    let mut out = Vec::new();
    let ident = |s: &str| -> Vec<String> {
        let mut path = Vec::new();
        for seg in s.split("::") {
            let name: String = seg
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() || name != seg.trim_end_matches([';', ',', ')', '}', ' ']) {
                if !name.is_empty() {
                    path.push(name);
                }
                break;
            }
            path.push(name);
        }
        path
    };
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        if start > 0
            && text[..start]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let rest = &text[start..];
        let (base, after): (Vec<String>, &str) = if let Some(r) = rest.strip_prefix("crate::") {
            (Vec::new(), r)
        } else {
            let mut base = module.to_vec();
            // In `x.rs`, `super` is x's parent; in `x/mod.rs` as well.
            let _ = is_mod_file;
            base.pop();
            let mut r = &rest["super::".len()..];
            while let Some(more) = r.strip_prefix("super::") {
                base.pop();
                r = more;
            }
            (base, r)
        };
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let mut path = base.clone();
                        path.extend(ident(item.trim()));
                        out.push(path);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            let mut path = base.clone();
            path.extend(ident(item.trim()));
            out.push(path);
        } else {
            let mut path = base;
            path.extend(ident(after));
            out.push(path);
        }
    }
    out
}

/// What a module re-exports: `(name, path of the item)`, paths made absolute.
fn reexports(text: &str, module: &[String]) -> Vec<(String, Vec<String>)> {
    let absolute = |path: &str| -> Vec<String> {
        let mut segs: Vec<&str> = path.split("::").map(str::trim).collect();
        let mut base: Vec<String> = match segs.first() {
            Some(&"crate") => {
                segs.remove(0);
                Vec::new()
            }
            Some(&"self") => {
                segs.remove(0);
                module.to_vec()
            }
            _ => module.to_vec(),
        };
        while segs.first() == Some(&"super") {
            segs.remove(0);
            base.pop();
        }
        base.extend(
            segs.into_iter()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        base
    };
    let mut out = Vec::new();
    for keyword in ["pub use ", "pub(crate) use ", "pub(super) use "] {
        for (at, _) in text.match_indices(keyword) {
            let stmt = &text[at + keyword.len()..];
            let stmt = &stmt[..stmt.find(';').unwrap_or(stmt.len())];
            let (prefix, items): (&str, Vec<&str>) = match stmt.find('{') {
                Some(open) => (
                    stmt[..open].trim_end_matches("::"),
                    stmt[open + 1..stmt.rfind('}').unwrap_or(stmt.len())]
                        .split(',')
                        .collect(),
                ),
                None => ("", vec![stmt]),
            };
            for item in items {
                let item = item.trim();
                if item.is_empty() || item.contains('{') || item.ends_with('*') {
                    continue;
                }
                let (path, name) = match item.split_once(" as ") {
                    Some((path, alias)) => (path.trim(), alias.trim()),
                    None => (item, item.rsplit("::").next().unwrap_or(item)),
                };
                let full = if prefix.is_empty() {
                    path.to_owned()
                } else {
                    format!("{prefix}::{path}")
                };
                out.push((name.to_owned(), absolute(&full)));
            }
        }
    }
    out
}

/// Import cycles between a crate's files (a module and its own ancestors or descendants may
/// name each other: a parent re-exports its children, children use their parent's items).
pub fn file_cycles(krate: &str, src: &Path) -> Vec<String> {
    let mods = modules(src);
    let names: Vec<&Vec<String>> = mods.iter().map(|(m, _)| m).collect();
    let owner = |path: &[String]| -> Option<usize> {
        (0..=path.len())
            .rev()
            .find_map(|n| names.iter().position(|m| m.as_slice() == &path[..n]))
    };
    let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
    let texts: Vec<String> = mods
        .iter()
        .map(|(_, file)| production(&std::fs::read_to_string(file).unwrap_or_default()))
        .collect();
    let exported: Vec<Vec<(String, Vec<String>)>> = mods
        .iter()
        .zip(&texts)
        .map(|((module, _), text)| reexports(text, module))
        .collect();
    // The module that defines what `path` names, following re-exports.
    let resolve = |mut path: Vec<String>| -> Option<usize> {
        for _ in 0..8 {
            let j = owner(&path)?;
            let depth = mods[j].0.len();
            let Some(item) = path.get(depth) else {
                return Some(j);
            };
            match exported[j].iter().find(|(name, _)| name == item) {
                Some((_, target)) if *target != path[..=depth] => {
                    let mut next = target.clone();
                    next.extend(path[depth + 1..].iter().cloned());
                    path = next;
                }
                _ => return Some(j),
            }
        }
        owner(&path)
    };
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); mods.len()];
    for (i, (module, file)) in mods.iter().enumerate() {
        let is_mod = file.file_name().is_some_and(|f| f == "mod.rs");
        for path in references(&texts[i], module, is_mod) {
            if let Some(j) = resolve(path)
                && j != i
                && !related(module, &mods[j].0)
                && !edges[i].contains(&j)
            {
                edges[i].push(j);
            }
        }
    }
    // A cycle exists where a module reaches itself again.
    let mut out = Vec::new();
    for start in 0..mods.len() {
        let mut seen = vec![false; mods.len()];
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, vec![start])];
        while let Some((at, trail)) = stack.pop() {
            for &next in &edges[at] {
                if next == start {
                    // Report each cycle once, from its smallest module.
                    if trail.iter().all(|&m| m >= start) {
                        let shown: Vec<String> = trail
                            .iter()
                            .chain([&start])
                            .map(|&m| display(&mods[m].0))
                            .collect();
                        out.push(format!(
                            "{krate} has an import cycle between files: {}",
                            shown.join(" -> ")
                        ));
                    }
                } else if !seen[next] {
                    seen[next] = true;
                    let mut t = trail.clone();
                    t.push(next);
                    stack.push((next, t));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn display(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metadata(extra: (&str, &str, Option<&str>)) -> Value {
        let (from, to, kind) = extra;
        json!({"packages": [
            {"name": "pi-domain", "dependencies": [{"name": "serde", "kind": null}]},
            {"name": "pi-api", "dependencies": [
                {"name": "pi-domain", "kind": null},
                {"name": "actix-web", "kind": null}
            ]},
            {"name": "pi-server", "dependencies": [
                {"name": "pi-testkit", "kind": "dev"},
                {"name": "reqwest", "kind": "dev"}
            ]},
            {"name": from, "dependencies": [{"name": to, "kind": kind}]}
        ]})
    }

    #[test]
    fn the_real_shape_passes() {
        assert!(violations(&edges(&metadata(("pi-agent", "pi-places", None)))).is_empty());
    }

    #[test]
    fn each_wrong_dependency_is_named() {
        for (from, to, kind, says) in [
            ("pi-domain", "sea-orm", None, "pi-domain depends on sea-orm"),
            ("pi-places", "reqwest", None, "pi-places depends on reqwest"),
            (
                "pi-agent",
                "actix-web",
                None,
                "pi-agent depends on actix-web",
            ),
            ("pi-letta", "sqlx", None, "pi-letta depends on sqlx"),
            ("pi-api", "pi-store", None, "pi-api depends on pi-store"),
            (
                "pi-domain",
                "pi-places",
                None,
                "pi-domain depends on pi-places",
            ),
            (
                "pi-server",
                "pi-testkit",
                Some("normal"),
                "pi-server depends on pi-testkit outside",
            ),
            ("pi-new", "pi-domain", None, "pi-new is not in"),
        ] {
            let found = violations(&edges(&metadata((from, to, kind))));
            assert!(
                found.iter().any(|v| v.starts_with(says)),
                "{from} -> {to}: {found:?}"
            );
        }
    }

    #[test]
    fn a_cycle_between_sibling_files_is_found_and_parent_child_links_are_not() {
        let dir = std::env::temp_dir().join(format!("xtask-cycles-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tools")).unwrap();
        std::fs::write(dir.join("lib.rs"), "mod model;\nmod dataset;\nmod tools;").unwrap();
        std::fs::write(dir.join("model.rs"), "use crate::dataset::Poi;").unwrap();
        std::fs::write(dir.join("dataset.rs"), "pub struct Poi;").unwrap();
        std::fs::write(
            dir.join("tools/mod.rs"),
            "mod a;\npub use a::Run;\npub struct Args;",
        )
        .unwrap();
        std::fs::write(
            dir.join("tools/a.rs"),
            "use super::Args;\nuse crate::{model, dataset::Poi};",
        )
        .unwrap();
        assert!(file_cycles("demo", &dir).is_empty());
        std::fs::write(
            dir.join("dataset.rs"),
            "use crate::{tools::a::Run, model::visits};\npub struct Poi;",
        )
        .unwrap();
        let found = file_cycles("demo", &dir);
        // Through a re-export of the crate root: `crate::Visits` is `model::Visits`.
        std::fs::write(
            dir.join("lib.rs"),
            "mod model;\nmod dataset;\nmod tools;\npub use model::Visits;",
        )
        .unwrap();
        std::fs::write(
            dir.join("dataset.rs"),
            "use crate::Visits;\npub struct Poi;",
        )
        .unwrap();
        let through_root = file_cycles("demo", &dir);
        // A test module may use anything.
        std::fs::write(
            dir.join("dataset.rs"),
            "pub struct Poi;\n#[cfg(test)]\nmod tests {\n    use crate::model::Visits;\n}\n// crate::model::x in a comment",
        )
        .unwrap();
        let only_tests = file_cycles("demo", &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(through_root.len(), 1, "{through_root:?}");
        assert!(only_tests.is_empty(), "{only_tests:?}");
        assert!(
            found.iter().any(|c| c.contains("model -> dataset -> model")
                || c.contains("dataset -> model -> dataset")),
            "{found:?}"
        );
        assert!(
            found.iter().all(|c| !c.contains("tools ->")),
            "a parent and its child may name each other: {found:?}"
        );
    }

    #[test]
    fn a_crate_that_does_not_take_the_workspace_lints_is_named() {
        let inherits = "[package]\nname = \"x\"\n\n[lints]\nworkspace = true # all of them\n";
        let own = "[package]\nname = \"x\"\n\n[lints.rust]\nunsafe_code = \"allow\"\n";
        let commented = "[lints]\n# workspace = true\n[dependencies]\nworkspace = true\n";
        assert_eq!(workspace_lints("pi-store", inherits), None);
        for manifest in [own, commented] {
            let v = workspace_lints("pi-store", manifest).unwrap();
            assert!(
                v.contains("pi-store") && v.contains("workspace = true"),
                "{v}"
            );
        }
        assert_eq!(workspace_lints("pi-alloc", own), None);
        let root = "[workspace.lints.rust]\nunsafe_code = \"forbid\"\n";
        assert_eq!(workspace_forbids_unsafe(root), None);
        assert!(workspace_forbids_unsafe(&root.replace("forbid", "deny")).is_some());
    }

    #[test]
    fn io_in_the_analytics_sources_is_found() {
        let dir = std::env::temp_dir().join(format!("xtask-arch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tools")).unwrap();
        std::fs::write(dir.join("lib.rs"), "pub fn pure() {}").unwrap();
        assert!(io_in_places(&dir).is_empty());
        std::fs::write(
            dir.join("lib.rs"),
            "// std::fs is not for us\npub fn pure() {}",
        )
        .unwrap();
        assert!(io_in_places(&dir).is_empty(), "a comment is not I/O");
        std::fs::write(
            dir.join("tools/load.rs"),
            "fn f() { std::fs::read(\"x\"); }",
        )
        .unwrap();
        std::fs::write(dir.join("tools/net.rs"), "use std::{io, net::TcpStream};").unwrap();
        let found = io_in_places(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|f| f.contains("std::fs")));
        assert!(found.iter().any(|f| f.contains("std::net")));
    }
}
