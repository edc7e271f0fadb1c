//! `lint-spec`: the rules the checked-in spec must follow, beyond being
//! parseable. Each check returns readable problems instead of stopping at the
//! first, so one run lists everything to fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::operations::{self, Operation};
use crate::refs::{self, REF_SECTIONS};
use crate::{Error, Layout, Result, document};

/// What every operation may answer besides success, each with an
/// ErrorResponse body; the facade's error mapping relies on them.
pub const ERROR_STATUSES: [&str; 5] = ["400", "401", "410", "429", "500"];

/// `Err` says why the document is not OpenAPI 3.0.x (what progenitor reads).
pub fn check_version(doc: &Value) -> std::result::Result<(), String> {
    if !doc.is_object() {
        return Err("it is not an OpenAPI document: the top level is not an object".to_string());
    }
    if let Some(swagger) = doc.get("swagger") {
        return Err(format!(
            "it is a Swagger {} document, not OpenAPI 3.0.x; convert it to OpenAPI 3.0 first",
            scalar_text(swagger)
        ));
    }
    match doc.get("openapi") {
        None => Err("it has no `openapi` version field; expected OpenAPI 3.0.x".to_string()),
        Some(Value::String(version)) if version.starts_with("3.0.") => {
            if doc.get("paths").is_some_and(Value::is_object) {
                Ok(())
            } else {
                Err("it has no `paths` object".to_string())
            }
        }
        Some(version) => Err(format!(
            "it is OpenAPI {}; only 3.0.x is supported (progenitor reads 3.0)",
            scalar_text(version)
        )),
    }
}

fn scalar_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// Lints the layout's spec; the error lists every problem.
pub fn check_spec(layout: &Layout) -> Result<()> {
    let spec = layout.spec();
    let mut problems = lint(&document::read_any(&spec)?);
    let spec_text = crate::regen::read(layout, &spec)?;
    let classification = crate::regen::read(layout, &layout.operations())?;
    if let Err(problem) = crate::classification::rows(&spec_text, &classification) {
        problems.push(problem);
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::new(format!(
        "{} has {} problem(s):\n  {}",
        layout.display(&spec),
        problems.len(),
        problems.join("\n  ")
    )))
}

/// Every problem found, sorted; empty means the spec passes.
pub fn lint(doc: &Value) -> Vec<String> {
    if let Err(problem) = check_version(doc) {
        return vec![format!("the spec is not usable: {problem}")];
    }
    let mut problems = Vec::new();
    problems.extend(dangling_references(doc));
    let operations = operations::all(doc);
    problems.extend(operation_ids(&operations));
    for operation in &operations {
        problems.extend(operation_problems(doc, operation));
    }
    problems.extend(unused_components(doc, &operations));
    problems.extend(date_time_problems(doc));
    problems.sort();
    problems.dedup();
    problems
}

fn dangling_references(doc: &Value) -> Vec<String> {
    refs::references(doc, "")
        .into_iter()
        .filter(|reference| {
            reference
                .target
                .strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .map(|reference| {
            format!(
                "$ref {} at {} does not resolve",
                reference.target, reference.at
            )
        })
        .collect()
}

fn operation_ids(operations: &[Operation<'_>]) -> Vec<String> {
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for operation in operations {
        match operation.id() {
            Some(id) if !id.is_empty() => seen.entry(id).or_default().push(operation.route()),
            _ => problems.push(format!("{} has no operationId", operation.route())),
        }
    }
    for (id, routes) in seen {
        if routes.len() > 1 {
            problems.push(format!(
                "operationId {id} is used by {}",
                routes.join(" and ")
            ));
        }
    }
    problems
}

fn operation_problems(doc: &Value, operation: &Operation<'_>) -> Vec<String> {
    let name = match operation.id() {
        Some(id) => format!("{id} ({})", operation.route()),
        None => operation.route(),
    };
    let mut problems = Vec::new();

    let requirements = operation
        .value
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array);
    match requirements {
        Some(list) if !list.is_empty() => {
            for scheme in list
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|r| r.keys())
            {
                if doc
                    .pointer(&format!(
                        "/components/securitySchemes/{}",
                        refs::escape_pointer_token(scheme)
                    ))
                    .is_none()
                {
                    problems.push(format!("{name} requires security scheme {scheme}, which components.securitySchemes does not define"));
                }
            }
        }
        _ => problems.push(format!("{name} has no security requirement")),
    }

    let responses = operation.value.get("responses").and_then(Value::as_object);
    let declared: BTreeSet<&str> = responses
        .into_iter()
        .flatten()
        .map(|(status, _)| status.as_str())
        .collect();
    let missing: Vec<&str> = ERROR_STATUSES
        .into_iter()
        .filter(|status| !declared.contains(status))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{name} does not declare error response(s) {}",
            missing.join(", ")
        ));
    }
    if !declared.iter().any(|status| status.starts_with('2')) {
        problems.push(format!("{name} declares no success (2xx) response"));
    }
    problems
}

/// Components nothing outside `components` uses, directly or through other
/// used components: dead weight that would still become generated types.
fn unused_components(doc: &Value, operations: &[Operation<'_>]) -> Vec<String> {
    let roots = doc
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.as_str() != "components")
        .map(|(key, value)| (value, format!("/{}", refs::escape_pointer_token(key))));
    let reached = refs::closure(doc, roots).reached;
    let components = doc.get("components");
    let mut problems = Vec::new();
    for section in REF_SECTIONS {
        let defined = components
            .and_then(|c| c.get(section))
            .and_then(Value::as_object);
        for name in defined.into_iter().flatten().map(|(name, _)| name) {
            if !reached.contains(&refs::Component::new(section, name)) {
                problems.push(format!("components.{section}.{name} is unused"));
            }
        }
    }

    let required: BTreeSet<&str> = operations
        .iter()
        .filter_map(|operation| operation.value.get("security"))
        .chain(doc.get("security"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().map(String::as_str))
        .collect();
    let schemes = components
        .and_then(|c| c.get("securitySchemes"))
        .and_then(Value::as_object);
    for name in schemes.into_iter().flatten().map(|(name, _)| name) {
        if !required.contains(name.as_str()) {
            problems.push(format!("components.securitySchemes.{name} is unused"));
        }
    }
    problems
}

/// The crate maps exactly `{type: string, format: date-time}` to its own
/// Timestamp (progenitor matches the schema ignoring descriptions). A
/// nullable or differently typed date-time would silently miss that mapping.
fn date_time_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for (name, schema) in schemas.into_iter().flatten() {
        check_date_times(schema, &format!("components.schemas.{name}"), &mut problems);
    }
    problems
}

fn check_date_times(schema: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if object.get("format").and_then(Value::as_str) == Some("date-time") {
        let plain_string = object.get("type").and_then(Value::as_str) == Some("string");
        let nullable = object.get("nullable") == Some(&Value::Bool(true));
        if !plain_string || nullable {
            problems.push(format!(
                "{at} is a date-time but not a plain {{type: string, format: date-time}}, so it would not become crate::Timestamp; add an overlay rule to make it plain"
            ));
        }
    }
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            check_date_times(property, &format!("{at}.{name}"), problems);
        }
    }
    if let Some(items) = object.get("items") {
        check_date_times(items, &format!("{at}[]"), problems);
    }
}
