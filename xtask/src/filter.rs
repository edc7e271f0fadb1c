//! Cutting UltraCart's whole API down to the operations this crate covers,
//! with exactly the components, security schemes, scopes and tags they use.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::operations::{self, HTTP_METHODS, Operation};
use crate::refs::{self, escape_pointer_token};
use crate::{Error, Result};

/// Top-level fields that describe the API as a whole and so stay as they
/// are. Anything else (vendor extensions, a previous import header) is
/// dropped because it may describe the parts that were cut away.
const KEPT_TOP_LEVEL: [&str; 5] = ["openapi", "info", "servers", "security", "externalDocs"];

/// The document with only the `wanted` operations and what they reference.
/// Fails, naming them, if any wanted operation is missing or appears twice, or
/// if a reference the kept part needs leads nowhere.
pub fn keep_operations(doc: &Value, wanted: &[&str]) -> Result<Value> {
    let kept = find_wanted(doc, wanted)?;

    let mut paths = Map::new();
    for operation in &kept {
        let item = paths
            .entry(operation.path.to_string())
            .or_insert_with(|| Value::Object(path_level_fields(doc, operation.path)));
        if let Value::Object(item) = item {
            item.insert(operation.method.to_string(), operation.value.clone());
        }
    }

    let roots = paths
        .iter()
        .map(|(path, item)| (item, format!("/paths/{}", escape_pointer_token(path))));
    let closure = refs::closure(doc, roots);
    if !closure.dangling.is_empty() {
        return Err(Error::new(format!(
            "the operations to keep use references that lead nowhere:\n  {}",
            closure.dangling.join("\n  ")
        )));
    }
    let mut sections: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for component in closure.reached {
        if let Some(value) = component.get(doc) {
            sections
                .entry(component.section)
                .or_default()
                .insert(component.name, value.clone());
        }
    }
    let schemes = used_security_schemes(doc, &kept);
    if !schemes.is_empty() {
        sections.insert("securitySchemes".to_string(), schemes);
    }
    let components: Map<String, Value> = sections
        .into_iter()
        .map(|(name, entries)| (name, Value::Object(entries)))
        .collect();

    let mut out = Map::new();
    for key in KEPT_TOP_LEVEL {
        if let Some(value) = doc.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    if let Some(tags) = used_tags(doc, &kept) {
        out.insert("tags".to_string(), tags);
    }
    out.insert("paths".to_string(), Value::Object(paths));
    if !components.is_empty() {
        out.insert("components".to_string(), Value::Object(components));
    }
    Ok(Value::Object(out))
}

fn find_wanted<'a>(doc: &'a Value, wanted: &[&str]) -> Result<Vec<Operation<'a>>> {
    let mut found: BTreeMap<&str, Operation<'a>> = BTreeMap::new();
    for operation in operations::all(doc) {
        let Some(id) = operation.id().filter(|id| wanted.contains(id)) else {
            continue;
        };
        if let Some(earlier) = found.insert(id, operation) {
            return Err(Error::new(format!(
                "operationId {id} appears twice, at {} and {}; cannot tell which to keep",
                earlier.route(),
                operation.route()
            )));
        }
    }
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|id| !found.contains_key(id))
        .collect();
    if !missing.is_empty() {
        return Err(Error::new(format!(
            "the document lacks {} of the {} operations this crate covers: {}",
            missing.len(),
            wanted.len(),
            missing.join(", ")
        )));
    }
    Ok(found.into_values().collect())
}

/// A path item's fields that apply to all its operations (`parameters`,
/// `summary`, ...), without the operations themselves.
fn path_level_fields(doc: &Value, path: &str) -> Map<String, Value> {
    doc.get("paths")
        .and_then(|paths| paths.get(path))
        .and_then(Value::as_object)
        .map(|item| {
            item.iter()
                .filter(|(key, _)| !HTTP_METHODS.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The security schemes the kept operations (or the document's default
/// requirement) name, each OAuth flow cut down to the scopes they require:
/// upstream's flows list the scopes of the whole API.
fn used_security_schemes(doc: &Value, kept: &[Operation<'_>]) -> Map<String, Value> {
    let requirements = kept
        .iter()
        .filter_map(|operation| operation.value.get("security"))
        .chain(doc.get("security"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object);
    let mut scopes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for requirement in requirements {
        for (scheme, required) in requirement {
            let entry = scopes.entry(scheme).or_default();
            entry.extend(
                required
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
    }
    let defined = doc
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .and_then(Value::as_object);
    let mut out = Map::new();
    for (name, used_scopes) in scopes {
        // An undefined scheme is left for lint to report with its location.
        let Some(scheme) = defined.and_then(|d| d.get(name)) else {
            continue;
        };
        let mut scheme = scheme.clone();
        if let Some(flows) = scheme.get_mut("flows").and_then(Value::as_object_mut) {
            for flow in flows.values_mut() {
                if let Some(flow_scopes) = flow.get_mut("scopes").and_then(Value::as_object_mut) {
                    flow_scopes.retain(|scope, _| used_scopes.contains(scope.as_str()));
                }
            }
        }
        out.insert(name.to_string(), scheme);
    }
    out
}

/// The document's tag list cut down to tags the kept operations carry.
fn used_tags(doc: &Value, kept: &[Operation<'_>]) -> Option<Value> {
    let used: BTreeSet<&str> = kept
        .iter()
        .filter_map(|operation| operation.value.get("tags").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let tags: Vec<Value> = doc
        .get("tags")?
        .as_array()?
        .iter()
        .filter(|tag| {
            tag.get("name")
                .and_then(Value::as_str)
                .is_some_and(|name| used.contains(name))
        })
        .cloned()
        .collect();
    (!tags.is_empty()).then_some(Value::Array(tags))
}
