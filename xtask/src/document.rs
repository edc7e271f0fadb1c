//! Reading OpenAPI documents (JSON or YAML) and writing them in the one
//! normalized form the repository keeps: sorted keys, 2-space indentation,
//! a trailing newline, written atomically.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Number, Value};

use crate::{Error, Result};

/// Reads a JSON or YAML document. `.json`/`.yaml`/`.yml` decide the format;
/// otherwise a leading `{` means JSON. Malformed JSON is never retried as
/// YAML, so its error message stays the JSON parser's, with line and column.
pub fn read_any(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let yaml = match extension.as_deref() {
        Some("yaml" | "yml") => true,
        Some("json") => false,
        _ => !text.trim_start().starts_with('{'),
    };
    if yaml {
        parse_yaml(&text)
            .map_err(|e| Error::new(format!("{} is not valid YAML: {e}", path.display())))
    } else {
        parse_json(&text)
            .map_err(|e| Error::new(format!("{} is not valid JSON: {e}", path.display())))
    }
}

pub fn parse_json(text: &str) -> std::result::Result<Value, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// YAML goes through serde_norway's own value type first: YAML allows keys
/// such as an unquoted `200:` (an integer) and merge keys (`<<`), which a
/// direct deserialization into JSON values would reject.
pub fn parse_yaml(text: &str) -> std::result::Result<Value, String> {
    let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    value.apply_merge().map_err(|e| e.to_string())?;
    yaml_to_json(value)
}

fn yaml_to_json(value: serde_norway::Value) -> std::result::Result<Value, String> {
    use serde_norway::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => Value::Number(yaml_number(&n)?),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<std::result::Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                object.insert(yaml_key(key)?, yaml_to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

fn yaml_number(n: &serde_norway::Number) -> std::result::Result<Number, String> {
    if let Some(u) = n.as_u64() {
        Ok(u.into())
    } else if let Some(i) = n.as_i64() {
        Ok(i.into())
    } else {
        n.as_f64()
            .and_then(Number::from_f64)
            .ok_or_else(|| format!("the number {n} has no JSON form"))
    }
}

fn yaml_key(key: serde_norway::Value) -> std::result::Result<String, String> {
    use serde_norway::Value as Yaml;
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Null => Ok("null".to_string()),
        other => Err(format!("a mapping key must be a scalar, found {other:?}")),
    }
}

/// The repository's one JSON form (what `python3 -m json.tool --sort-keys
/// --indent 2` prints). Keys are sorted explicitly rather than trusting
/// `serde_json::Map` to be a BTreeMap: another crate in the build enabling
/// serde_json's `preserve_order` would silently change the output.
pub fn to_pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(value))
        .unwrap_or_else(|e| unreachable!("a serde_json::Value always serializes: {e}"));
    text.push('\n');
    text
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Replaces `path` with `contents` so that a reader (or a crash) sees either
/// the old file or the new one, never half of it: write a sibling temporary
/// file, then rename it over the target.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", parent.display())))?;
    let name = path
        .file_name()
        .ok_or_else(|| Error::new(format!("{} is not a file path", path.display())))?;
    let temp = parent.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    // A leftover from a crashed run with the same process id would make
    // `create_new` fail; it is ours to remove.
    let _ = fs::remove_file(&temp);
    let written = write_new(&temp, contents).and_then(|()| fs::rename(&temp, path));
    written.map_err(|e| {
        // Best effort: the temp file is ours, and leaving it would litter the
        // spec directory; the original error is the one worth reporting.
        let _ = fs::remove_file(&temp);
        Error::new(format!("cannot write {}: {e}", path.display()))
    })
}

fn write_new(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_integer_keys_and_merges_become_json() {
        let yaml = "base: &base\n  description: Error\nresponses:\n  200:\n    description: ok\n  400:\n    <<: *base\n";
        let value = parse_yaml(yaml).expect("parses");
        assert_eq!(value["responses"]["200"], json!({ "description": "ok" }));
        assert_eq!(value["responses"]["400"], json!({ "description": "Error" }));
    }

    #[test]
    fn pretty_output_sorts_keys_with_two_space_indent_and_a_newline() {
        let text = to_pretty(&json!({ "b": [1, { "d": 1, "c": 2 }], "a": {} }));
        assert_eq!(
            text,
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"c\": 2,\n      \"d\": 1\n    }\n  ]\n}\n"
        );
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("xtask-write-{}", std::process::id()));
        let path = dir.join("nested/spec.json");
        write_atomic(&path, "one").expect("first write");
        write_atomic(&path, "two").expect("second write");
        assert_eq!(fs::read_to_string(&path).expect("reads"), "two");
        let entries = fs::read_dir(dir.join("nested")).expect("lists").count();
        assert_eq!(entries, 1, "only the target remains");
        fs::remove_dir_all(&dir).expect("cleans up");
    }
}
