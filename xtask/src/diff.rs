//! What an import changed, in API terms a reviewer cares about: operations,
//! the types they take and return, schemas and their fields. Text-only edits
//! (descriptions) are left to the file diff.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::operations;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    OperationAdded {
        id: String,
        route: String,
    },
    OperationRemoved {
        id: String,
        route: String,
    },
    OperationMoved {
        id: String,
        from: String,
        to: String,
    },
    /// `None` on either side: no JSON request body.
    RequestBodyChanged {
        id: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// `None` on either side: that status is not declared.
    ResponseChanged {
        id: String,
        status: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// `None` on either side: no such parameter.
    ParameterChanged {
        id: String,
        name: String,
        from: Option<String>,
        to: Option<String>,
    },
    SchemaAdded {
        name: String,
    },
    SchemaRemoved {
        name: String,
    },
    SchemaRetyped {
        name: String,
        from: String,
        to: String,
    },
    FieldAdded {
        schema: String,
        field: String,
        ty: String,
    },
    FieldRemoved {
        schema: String,
        field: String,
        ty: String,
    },
    FieldRetyped {
        schema: String,
        field: String,
        from: String,
        to: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_none = |side: &Option<String>, none: &'static str| -> String {
            side.clone().unwrap_or_else(|| none.to_string())
        };
        match self {
            Change::OperationAdded { id, route } => write!(f, "operation added: {id} ({route})"),
            Change::OperationRemoved { id, route } => {
                write!(f, "operation removed: {id} ({route})")
            }
            Change::OperationMoved { id, from, to } => {
                write!(f, "operation {id} moved: {from} -> {to}")
            }
            Change::RequestBodyChanged { id, from, to } => write!(
                f,
                "operation {id}: request body {} -> {}",
                or_none(from, "none"),
                or_none(to, "none")
            ),
            Change::ResponseChanged {
                id,
                status,
                from,
                to,
            } => write!(
                f,
                "operation {id}: response {status} {} -> {}",
                or_none(from, "not declared"),
                or_none(to, "not declared")
            ),
            Change::ParameterChanged { id, name, from, to } => write!(
                f,
                "operation {id}: parameter {name} {} -> {}",
                or_none(from, "absent"),
                or_none(to, "absent")
            ),
            Change::SchemaAdded { name } => write!(f, "schema added: {name}"),
            Change::SchemaRemoved { name } => write!(f, "schema removed: {name}"),
            Change::SchemaRetyped { name, from, to } => {
                write!(f, "schema {name} retyped: {from} -> {to}")
            }
            Change::FieldAdded { schema, field, ty } => {
                write!(f, "schema {schema}: field added: {field}: {ty}")
            }
            Change::FieldRemoved { schema, field, ty } => {
                write!(f, "schema {schema}: field removed: {field}: {ty}")
            }
            Change::FieldRetyped {
                schema,
                field,
                from,
                to,
            } => {
                write!(f, "schema {schema}: field retyped: {field}: {from} -> {to}")
            }
        }
    }
}

/// The API-level differences from `old` to `new`, operations first.
pub fn compare(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = compare_operations(old, new);
    changes.extend(compare_schemas(old, new));
    changes
}

/// An operation reduced to what a caller of the generated client sees.
#[derive(Debug, PartialEq)]
struct Signature {
    route: String,
    request: Option<String>,
    responses: BTreeMap<String, String>,
    parameters: BTreeMap<String, String>,
}

fn signatures(doc: &Value) -> BTreeMap<String, Signature> {
    operations::all(doc)
        .into_iter()
        .filter_map(|operation| {
            let id = operation.id()?.to_string();
            let value = operation.value;
            let request = value
                .get("requestBody")
                .map(|body| resolve(doc, body))
                .and_then(body_type);
            let responses = value
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(status, response)| {
                    let ty =
                        body_type(resolve(doc, response)).unwrap_or_else(|| "no body".to_string());
                    (status.clone(), ty)
                })
                .collect();
            let path_parameters = doc
                .get("paths")
                .and_then(|paths| paths.get(operation.path))
                .and_then(|item| item.get("parameters"));
            let parameters = path_parameters
                .into_iter()
                .chain(value.get("parameters"))
                .filter_map(Value::as_array)
                .flatten()
                .map(|parameter| resolve(doc, parameter))
                .filter_map(|parameter| {
                    let name = parameter.get("name")?.as_str()?;
                    let place = parameter.get("in").and_then(Value::as_str).unwrap_or("?");
                    let required = parameter.get("required") == Some(&Value::Bool(true));
                    let ty = parameter
                        .get("schema")
                        .map(type_label)
                        .unwrap_or_else(|| "any".to_string());
                    let ty = if required {
                        ty
                    } else {
                        format!("optional {ty}")
                    };
                    Some((format!("{name} (in {place})"), ty))
                })
                .collect();
            Some((
                id,
                Signature {
                    route: operation.route(),
                    request,
                    responses,
                    parameters,
                },
            ))
        })
        .collect()
}

fn compare_operations(old: &Value, new: &Value) -> Vec<Change> {
    let old = signatures(old);
    let new = signatures(new);
    let mut changes = Vec::new();
    for (id, before) in &old {
        let Some(after) = new.get(id) else {
            changes.push(Change::OperationRemoved {
                id: id.clone(),
                route: before.route.clone(),
            });
            continue;
        };
        if before.route != after.route {
            changes.push(Change::OperationMoved {
                id: id.clone(),
                from: before.route.clone(),
                to: after.route.clone(),
            });
        }
        if before.request != after.request {
            changes.push(Change::RequestBodyChanged {
                id: id.clone(),
                from: before.request.clone(),
                to: after.request.clone(),
            });
        }
        for (status, from, to) in changed_entries(&before.responses, &after.responses) {
            changes.push(Change::ResponseChanged {
                id: id.clone(),
                status,
                from,
                to,
            });
        }
        for (name, from, to) in changed_entries(&before.parameters, &after.parameters) {
            changes.push(Change::ParameterChanged {
                id: id.clone(),
                name,
                from,
                to,
            });
        }
    }
    for (id, after) in &new {
        if !old.contains_key(id) {
            changes.push(Change::OperationAdded {
                id: id.clone(),
                route: after.route.clone(),
            });
        }
    }
    changes
}

fn compare_schemas(old: &Value, new: &Value) -> Vec<Change> {
    let empty = Map::new();
    let old = schemas(old).unwrap_or(&empty);
    let new = schemas(new).unwrap_or(&empty);
    let mut changes = Vec::new();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        match (old.get(name), new.get(name)) {
            (Some(_), None) => changes.push(Change::SchemaRemoved { name: name.clone() }),
            (None, Some(_)) => changes.push(Change::SchemaAdded { name: name.clone() }),
            (Some(before), Some(after)) => {
                let (from, to) = (type_label(before), type_label(after));
                if from != to {
                    changes.push(Change::SchemaRetyped {
                        name: name.clone(),
                        from,
                        to,
                    });
                }
                changes.extend(compare_fields(name, before, after));
            }
            (None, None) => {}
        }
    }
    changes
}

fn compare_fields(schema: &str, before: &Value, after: &Value) -> Vec<Change> {
    let fields = |value: &Value| -> BTreeMap<String, String> {
        value
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, property)| (name.clone(), type_label(property)))
            .collect()
    };
    changed_entries(&fields(before), &fields(after))
        .into_iter()
        .map(|(field, from, to)| {
            let schema = schema.to_string();
            match (from, to) {
                (None, Some(ty)) => Change::FieldAdded { schema, field, ty },
                (Some(ty), None) => Change::FieldRemoved { schema, field, ty },
                (from, to) => Change::FieldRetyped {
                    schema,
                    field,
                    from: from.unwrap_or_default(),
                    to: to.unwrap_or_default(),
                },
            }
        })
        .collect()
}

/// Keys whose values differ, with each side (`None` where the key is absent).
fn changed_entries(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<(String, Option<String>, Option<String>)> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            (
                key.clone(),
                before.get(key).cloned(),
                after.get(key).cloned(),
            )
        })
        .collect()
}

fn schemas(doc: &Value) -> Option<&Map<String, Value>> {
    doc.get("components")?.get("schemas")?.as_object()
}

/// Follows a `$ref` to a component response, parameter or request body.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|target| target.strip_prefix('#'))
        .and_then(|pointer| doc.pointer(pointer))
        .unwrap_or(value)
}

/// The type of a response's or request body's JSON content, if it has any.
fn body_type(body: &Value) -> Option<String> {
    let content = body.get("content")?.as_object()?;
    let media = content
        .get("application/json")
        .or_else(|| content.values().next())?;
    Some(
        media
            .get("schema")
            .map(type_label)
            .unwrap_or_else(|| "any".to_string()),
    )
}

/// A one-line type such as `Conversation`, `string(date-time)`,
/// `ConversationMessage[] | null` or `object`.
pub fn type_label(schema: &Value) -> String {
    let base = if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        target.rsplit('/').next().unwrap_or(target).to_string()
    } else if let Some(kind) = ["allOf", "oneOf", "anyOf"]
        .into_iter()
        .find(|kind| schema.get(*kind).is_some())
    {
        let parts: Vec<String> = schema
            .get(kind)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(type_label)
            .collect();
        format!("{kind}({})", parts.join(", "))
    } else {
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => format!(
                "{}[]",
                schema
                    .get("items")
                    .map(type_label)
                    .unwrap_or_else(|| "any".to_string())
            ),
            Some("object") | None
                if schema
                    .get("additionalProperties")
                    .is_some_and(Value::is_object) =>
            {
                format!(
                    "map<string, {}>",
                    schema
                        .get("additionalProperties")
                        .map(type_label)
                        .unwrap_or_default()
                )
            }
            Some(kind) => match schema.get("format").and_then(Value::as_str) {
                Some(format) => format!("{kind}({format})"),
                None => kind.to_string(),
            },
            None if schema.get("properties").is_some() => "object".to_string(),
            None => "any".to_string(),
        }
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        format!("{base} | null")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn type_labels_read_like_types() {
        let cases = [
            (
                json!({ "$ref": "#/components/schemas/Conversation" }),
                "Conversation",
            ),
            (
                json!({ "type": "string", "format": "date-time" }),
                "string(date-time)",
            ),
            (
                json!({ "type": "array", "nullable": true, "items": { "$ref": "#/components/schemas/M" } }),
                "M[] | null",
            ),
            (
                json!({ "type": "object", "additionalProperties": { "type": "integer" } }),
                "map<string, integer>",
            ),
            (json!({ "properties": {} }), "object"),
            (json!({}), "any"),
        ];
        for (schema, label) in cases {
            assert_eq!(type_label(&schema), label, "{schema}");
        }
    }

    #[test]
    fn a_retyped_field_and_a_moved_operation_are_reported() {
        let old = json!({
            "paths": { "/a": { "get": { "operationId": "op", "responses": {} } } },
            "components": { "schemas": { "S": { "properties": { "f": { "type": "string" } } } } }
        });
        let new = json!({
            "paths": { "/b": { "get": { "operationId": "op", "responses": {} } } },
            "components": { "schemas": { "S": { "properties": { "f": { "type": "integer", "format": "int32" } } } } }
        });
        assert_eq!(
            compare(&old, &new),
            [
                Change::OperationMoved {
                    id: "op".into(),
                    from: "GET /a".into(),
                    to: "GET /b".into()
                },
                Change::FieldRetyped {
                    schema: "S".into(),
                    field: "f".into(),
                    from: "string".into(),
                    to: "integer(int32)".into()
                },
            ]
        );
    }
}
