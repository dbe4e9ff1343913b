//! User task files: a task spec in the embedded specs' TOML format where only `id`, `family` (or
//! `task`) and `dataset` are required. Every other field, and every key of `[split]` left out,
//! is taken from the family's template: the embedded spec of that family on the simulator (or its
//! first embedded spec), so a minimal file behaves like the arena's own task of that family. The
//! spec's sha256 is that of the file's exact bytes, as for embedded specs.

use crate::error::TaskError;
use crate::spec::{LoadedSpec, embedded_specs, parse_spec};

/// The embedded spec a family's task files start from: its spec on a simulator dataset, else its
/// first embedded spec.
pub fn family_template(family: &str) -> Result<LoadedSpec, TaskError> {
    let specs = embedded_specs()?;
    let of_family = || specs.iter().filter(|s| s.spec.task == family);
    of_family().find(|s| s.spec.dataset.starts_with("simulator")).or_else(|| of_family().next()).cloned().ok_or_else(
        || {
            let mut families: Vec<&str> = specs.iter().map(|s| s.spec.task.as_str()).collect();
            families.sort();
            families.dedup();
            TaskError::InvalidSpec {
                source_name: family.to_string(),
                reason: format!("unknown family '{family}'; known: {}", families.join(", ")),
            }
        },
    )
}

/// Parses a user task file, filling what it leaves out from its family's template.
pub fn parse_task_file(source_name: &str, text: &str) -> Result<LoadedSpec, TaskError> {
    let invalid = |reason: String| TaskError::InvalidSpec { source_name: source_name.to_string(), reason };
    let mut table: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if let Some(family) = table.remove("family") {
        if table.contains_key("task") {
            return Err(invalid("give the family once: `family` or `task`, not both".into()));
        }
        table.insert("task".into(), family);
    }
    for key in ["id", "task", "dataset"] {
        if table.get(key).is_none_or(|v| v.as_str().is_none_or(|s| s.trim().is_empty())) {
            let name = if key == "task" { "family" } else { key };
            return Err(invalid(format!(
                "`{name}` is missing (a task file needs at least id, family and dataset; \
                 `arena tasks new --family F --dataset D` writes a complete one)"
            )));
        }
    }
    let family = table["task"].as_str().unwrap_or_default().to_string();
    let id = table["id"].as_str().unwrap_or_default().to_string();
    let template = family_template(&family).map_err(|e| invalid(e.to_string()))?;
    let template: toml::Table =
        toml::Table::try_from(&template.spec).map_err(|e| invalid(format!("family template: {e}")))?;
    for (key, value) in template {
        match (key.as_str(), table.get_mut(&key)) {
            ("split", Some(toml::Value::Table(split))) => {
                let toml::Value::Table(defaults) = value else { continue };
                let same_rule = split.get("rule").is_none_or(|r| Some(r) == defaults.get("rule"));
                if same_rule {
                    for (k, v) in defaults {
                        split.entry(k).or_insert(v);
                    }
                }
            }
            (_, Some(_)) => {}
            ("version", None) => {
                table.insert(key, toml::Value::Integer(1));
            }
            ("title", None) => {
                table.insert(key, toml::Value::String(format!("{id} (task file, family {family})")));
            }
            ("description", None) => {
                table.insert(key, toml::Value::String(format!("User task file {source_name}.")));
            }
            (_, None) => {
                table.insert(key, value);
            }
        }
    }
    let full = toml::to_string(&table).map_err(|e| invalid(e.to_string()))?;
    let mut spec = parse_spec(source_name, &full)?;
    spec.sha256 = crate::spec::sha256_hex(text.as_bytes());
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SplitRule;

    #[test]
    fn a_minimal_file_takes_everything_else_from_its_family() {
        let text = "id = \"my-screen\"\nfamily = \"combinatorial\"\ndataset = \"screen.npz\"\n";
        let spec = parse_task_file("task.toml", text).unwrap();
        let template = family_template("combinatorial").unwrap();
        assert_eq!(spec.spec.id, "my-screen");
        assert_eq!(spec.spec.task, "combinatorial");
        assert_eq!(spec.spec.dataset, "screen.npz");
        assert_eq!(spec.spec.version, 1);
        assert_eq!(spec.spec.metrics, template.spec.metrics);
        assert_eq!(spec.spec.baselines, template.spec.baselines);
        assert_eq!(spec.spec.split, template.spec.split);
        assert_eq!(spec.sha256, crate::spec::sha256_hex(text.as_bytes()));
    }

    #[test]
    fn split_keys_left_out_come_from_the_template_and_errors_name_the_field() {
        let text = "id = \"a\"\ntask = \"unseen-single\"\ndataset = \"d\"\nseed = 7\n[split]\ntest_fraction = 0.5\n";
        let spec = parse_task_file("t.toml", text).unwrap();
        assert_eq!(spec.spec.seed, 7);
        match spec.spec.split {
            SplitRule::UnseenSingle { test_fraction, .. } => assert_eq!(test_fraction, 0.5),
            other => panic!("{other:?}"),
        }
        let err = parse_task_file("t.toml", "id = \"a\"\ndataset = \"d\"\n").unwrap_err().to_string();
        assert!(err.contains("t.toml") && err.contains("`family` is missing"), "{err}");
        let err =
            parse_task_file("t.toml", "id = \"a\"\nfamily = \"nope\"\ndataset = \"d\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown family 'nope'") && err.contains("combinatorial"), "{err}");
    }
}
