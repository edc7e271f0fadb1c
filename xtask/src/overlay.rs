//! The deliberate differences between our spec and UltraCart's, as data.
//!
//! `openapi/overlay.json` lists declarative rules, each with its reason.
//! `import` applies them in order after keeping the seven operations. Every
//! rule states an end state ("join has a success response") rather than an
//! edit ("add at /paths/..."), so applying the overlay to an already-overlaid
//! document changes nothing, and a rule that upstream has made unnecessary
//! says so in the import report instead of failing.
//!
//! Date-times need no rule: the crate maps `{type: string, format: date-time}`
//! to its own `Timestamp`, upstream writes them in exactly that form, and
//! `lint-spec` fails if one ever turns up nullable (which would silently miss
//! the mapping).

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::operations;
use crate::refs::{self, Component};
use crate::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// What the file is, for a reader who opens it cold.
    #[serde(default, rename = "about")]
    _about: Option<String>,
    /// Decisions that needed no rule, kept where reviewers look.
    #[serde(default, rename = "notes")]
    _notes: Vec<String>,
    pub rules: Vec<Rule>,
}

/// One deliberate difference. Every variant carries the `reason` a reviewer
/// reads; it is required so no difference is ever unexplained.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Rule {
    /// Sets `info.title` and `info.description`: upstream's name the whole
    /// REST API, ours only the part this crate covers.
    SetInfo {
        title: String,
        description: String,
        reason: String,
    },
    /// Gives each listed operation a `2XX` response when it declares no
    /// success response at all.
    #[serde(rename = "success-2xx")]
    Success2xx {
        operations: Vec<String>,
        description: String,
        reason: String,
    },
    /// Declares a JSON body of `schema` for `status` when the operation
    /// declares none, and appends `description_note` to the operation's
    /// description (the note explains the added body, so it goes with it).
    ResponseBodyIfAbsent {
        operation: String,
        status: String,
        schema: String,
        description: String,
        #[serde(default)]
        description_note: Option<String>,
        reason: String,
    },
    /// Adds a component schema when the spec lacks it and something refers to
    /// it (so a later upstream that names things differently gets no orphans).
    AddSchemaIfAbsent {
        name: String,
        schema: Value,
        reason: String,
    },
    /// Sets one property's description.
    SetPropertyDescription {
        schema: String,
        property: String,
        description: String,
        reason: String,
    },
    /// Marks every array-typed property of every component schema nullable.
    NullableArrays { reason: String },
    /// Sets keywords of one parameter's schema (such as `minimum`), leaving
    /// its other keywords as they are: what the service documents in prose
    /// but upstream's schema does not say.
    ParameterSchema {
        operation: String,
        parameter: String,
        schema: Map<String, Value>,
        reason: String,
    },
}

impl Rule {
    pub fn reason(&self) -> &str {
        match self {
            Rule::SetInfo { reason, .. }
            | Rule::Success2xx { reason, .. }
            | Rule::ResponseBodyIfAbsent { reason, .. }
            | Rule::AddSchemaIfAbsent { reason, .. }
            | Rule::SetPropertyDescription { reason, .. }
            | Rule::NullableArrays { reason }
            | Rule::ParameterSchema { reason, .. } => reason,
        }
    }
}

/// A short name for a rule in reports: its kind and its target.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::SetInfo { .. } => write!(f, "set-info"),
            Rule::Success2xx { operations, .. } => {
                write!(f, "success-2xx {}", operations.join(", "))
            }
            Rule::ResponseBodyIfAbsent {
                operation, status, ..
            } => write!(f, "response-body-if-absent {operation} {status}"),
            Rule::AddSchemaIfAbsent { name, .. } => write!(f, "add-schema-if-absent {name}"),
            Rule::SetPropertyDescription {
                schema, property, ..
            } => write!(f, "set-property-description {schema}.{property}"),
            Rule::NullableArrays { .. } => write!(f, "nullable-arrays"),
            Rule::ParameterSchema {
                operation,
                parameter,
                ..
            } => write!(f, "parameter-schema {operation} {parameter}"),
        }
    }
}

/// What one rule did to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Changed,
    /// Nothing to do, and why: upstream may have caught up, or moved the
    /// thing the rule targets, either way a reviewer should look.
    Idle(String),
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub rule: Rule,
    pub effect: Effect,
}

impl Overlay {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(format!(
                "cannot read the overlay {}: {e} (every import applies it; an overlay with no differences is {{\"rules\": []}})",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let overlay: Overlay = serde_json::from_str(text)
            .map_err(|e| Error::new(format!("not a valid overlay: {e}")))?;
        if let Some(rule) = overlay.rules.iter().find(|r| r.reason().trim().is_empty()) {
            return Err(Error::new(format!(
                "overlay rule {rule} has no reason; every deliberate difference needs one"
            )));
        }
        Ok(overlay)
    }

    /// Applies every rule in order. Fails only when a rule names an operation
    /// the spec does not have: the seven are fixed, so that is a typo.
    pub fn apply(&self, spec: &mut Value) -> Result<Vec<Outcome>> {
        self.rules
            .iter()
            .map(|rule| {
                apply_rule(rule, spec).map(|effect| Outcome {
                    rule: rule.clone(),
                    effect,
                })
            })
            .collect()
    }
}

fn apply_rule(rule: &Rule, spec: &mut Value) -> Result<Effect> {
    match rule {
        Rule::SetInfo {
            title, description, ..
        } => Ok(set_info(spec, title, description)),
        Rule::Success2xx {
            operations,
            description,
            ..
        } => success_2xx(spec, operations, description),
        Rule::ResponseBodyIfAbsent {
            operation,
            status,
            schema,
            description,
            description_note,
            ..
        } => response_body_if_absent(
            spec,
            operation,
            status,
            schema,
            description,
            description_note.as_deref(),
        ),
        Rule::AddSchemaIfAbsent { name, schema, .. } => {
            Ok(add_schema_if_absent(spec, name, schema))
        }
        Rule::SetPropertyDescription {
            schema,
            property,
            description,
            ..
        } => Ok(set_property_description(
            spec,
            schema,
            property,
            description,
        )),
        Rule::NullableArrays { .. } => Ok(nullable_arrays(spec)),
        Rule::ParameterSchema {
            operation,
            parameter,
            schema,
            ..
        } => parameter_schema(spec, operation, parameter, schema),
    }
}

fn set_info(spec: &mut Value, title: &str, description: &str) -> Effect {
    let info = object_entry(spec, "info");
    let wanted = [("title", title), ("description", description)];
    if wanted
        .iter()
        .all(|(key, text)| info.get(*key).and_then(Value::as_str) == Some(*text))
    {
        return Effect::Idle("info already has this title and description".to_string());
    }
    for (key, text) in wanted {
        info.insert(key.to_string(), Value::String(text.to_string()));
    }
    Effect::Changed
}

fn success_2xx(spec: &mut Value, ids: &[String], description: &str) -> Result<Effect> {
    let mut already = Vec::new();
    for id in ids {
        let operation = operation_mut(spec, id)?;
        let responses = object_entry(operation, "responses");
        if responses.keys().any(|status| status.starts_with('2')) {
            already.push(id.as_str());
        } else {
            responses.insert("2XX".to_string(), json!({ "description": description }));
        }
    }
    Ok(if already.len() == ids.len() {
        Effect::Idle("every listed operation already declares a success response".to_string())
    } else {
        Effect::Changed
    })
}

fn response_body_if_absent(
    spec: &mut Value,
    id: &str,
    status: &str,
    schema: &str,
    description: &str,
    note: Option<&str>,
) -> Result<Effect> {
    let operation = operation_mut(spec, id)?;
    let responses = object_entry(operation, "responses");
    if let Some(existing) = responses.get(status).filter(|r| declares_body(r)) {
        return Ok(Effect::Idle(format!(
            "{id} already declares a {status} body ({}); upstream documents it now",
            body_name(existing)
        )));
    }
    let response = responses
        .entry(status.to_string())
        .or_insert_with(|| json!({}));
    if !response.is_object() {
        *response = json!({});
    }
    let response = object_entry_of(response);
    response
        .entry("description")
        .or_insert_with(|| Value::String(description.to_string()));
    response.insert(
        "content".to_string(),
        json!({ "application/json": { "schema": { "$ref": Component::new("schemas", schema).reference() } } }),
    );
    if let Some(note) = note {
        let text = operation
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !text.contains(note) {
            let joined = match text.trim_end() {
                "" => note.to_string(),
                t if t.ends_with('.') => format!("{t} {note}"),
                t => format!("{t}. {note}"),
            };
            object_entry_of(operation).insert("description".to_string(), Value::String(joined));
        }
    }
    Ok(Effect::Changed)
}

fn declares_body(response: &Value) -> bool {
    response.get("$ref").is_some()
        || response
            .get("content")
            .and_then(Value::as_object)
            .is_some_and(|content| !content.is_empty())
}

fn body_name(response: &Value) -> String {
    let target = response.get("$ref").or_else(|| {
        response
            .get("content")?
            .as_object()?
            .values()
            .next()?
            .get("schema")?
            .get("$ref")
    });
    target
        .and_then(Value::as_str)
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or("an inline schema")
        .to_string()
}

fn add_schema_if_absent(spec: &mut Value, name: &str, schema: &Value) -> Effect {
    let component = Component::new("schemas", name);
    if component.get(spec).is_some() {
        return Effect::Idle(format!("the spec defines {name} already"));
    }
    let target = component.reference();
    if !refs::references(spec, "")
        .iter()
        .any(|r| r.target == target)
    {
        return Effect::Idle(format!("nothing in the spec refers to {name}"));
    }
    let components = object_entry(spec, "components");
    let schemas = components.entry("schemas").or_insert_with(|| json!({}));
    object_entry_of(schemas).insert(name.to_string(), schema.clone());
    Effect::Changed
}

fn set_property_description(
    spec: &mut Value,
    schema: &str,
    property: &str,
    description: &str,
) -> Effect {
    let target = spec
        .pointer_mut(&format!(
            "/components/schemas/{}/properties/{}",
            refs::escape_pointer_token(schema),
            refs::escape_pointer_token(property)
        ))
        .and_then(Value::as_object_mut);
    let Some(target) = target else {
        return Effect::Idle(format!("the spec has no property {schema}.{property}"));
    };
    if target.get("description").and_then(Value::as_str) == Some(description) {
        return Effect::Idle(format!("{schema}.{property} already has this description"));
    }
    target.insert(
        "description".to_string(),
        Value::String(description.to_string()),
    );
    Effect::Changed
}

fn nullable_arrays(spec: &mut Value) -> Effect {
    let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return Effect::Idle("the spec has no component schemas".to_string());
    };
    let changed: usize = schemas.values_mut().map(mark_array_properties).sum();
    if changed == 0 {
        Effect::Idle("every array property is nullable already".to_string())
    } else {
        Effect::Changed
    }
}

/// Marks array properties nullable in `schema` and in the inline schemas
/// nested in it; returns how many it marked.
fn mark_array_properties(schema: &mut Value) -> usize {
    let Some(object) = schema.as_object_mut() else {
        return 0;
    };
    let mut changed = 0;
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for property in properties.values_mut() {
            if let Some(property) = property.as_object_mut() {
                let is_array = property.get("type").and_then(Value::as_str) == Some("array");
                if is_array && property.get("nullable") != Some(&Value::Bool(true)) {
                    property.insert("nullable".to_string(), Value::Bool(true));
                    changed += 1;
                }
            }
        }
        changed += properties
            .values_mut()
            .map(mark_array_properties)
            .sum::<usize>();
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get_mut(key) {
            changed += mark_array_properties(child);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(children) = object.get_mut(key).and_then(Value::as_array_mut) {
            changed += children
                .iter_mut()
                .map(mark_array_properties)
                .sum::<usize>();
        }
    }
    changed
}

fn parameter_schema(
    spec: &mut Value,
    id: &str,
    name: &str,
    keywords: &Map<String, Value>,
) -> Result<Effect> {
    let operation = operation_mut(spec, id)?;
    let parameter = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .and_then(|parameters| {
            parameters
                .iter_mut()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        });
    let Some(parameter) = parameter else {
        return Ok(Effect::Idle(format!(
            "{id} has no inline parameter named {name}"
        )));
    };
    let schema = object_entry(parameter, "schema");
    if keywords
        .iter()
        .all(|(key, value)| schema.get(key) == Some(value))
    {
        return Ok(Effect::Idle(format!("{id} {name} already has this schema")));
    }
    for (key, value) in keywords {
        schema.insert(key.clone(), value.clone());
    }
    Ok(Effect::Changed)
}

fn operation_mut<'a>(spec: &'a mut Value, id: &str) -> Result<&'a mut Value> {
    operations::find_mut(spec, id).ok_or_else(|| {
        Error::new(format!(
            "an overlay rule names operation {id}, which the spec does not have"
        ))
    })
}

/// `value[key]` as an object, made one if it is missing or not an object.
fn object_entry<'a>(value: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let map = object_entry_of(value);
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    object_entry_of(entry)
}

/// `value` as an object, replaced by an empty one if it is anything else.
fn object_entry_of(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("the value was made an object just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing_spec() -> Value {
        json!({
            "paths": {
                "/conversation/conversations": {
                    "get": {
                        "operationId": "getConversations",
                        "parameters": [
                            {"name": "_limit", "in": "query",
                             "schema": {"type": "integer", "format": "int32", "maximum": 200}},
                            {"name": "_offset", "in": "query",
                             "schema": {"type": "integer", "format": "int32"}}
                        ]
                    }
                }
            }
        })
    }

    fn rule(parameter: &str, schema: Value) -> Rule {
        serde_json::from_value(json!({
            "rule": "parameter-schema",
            "operation": "getConversations",
            "parameter": parameter,
            "schema": schema,
            "reason": "documented in prose",
        }))
        .expect("a valid rule")
    }

    #[test]
    fn parameter_schema_sets_its_keywords_and_keeps_the_others() {
        let mut spec = listing_spec();
        let effect = apply_rule(&rule("_offset", json!({"minimum": 0})), &mut spec).unwrap();
        assert_eq!(effect, Effect::Changed);
        assert_eq!(
            spec.pointer("/paths/~1conversation~1conversations/get/parameters/1/schema"),
            Some(&json!({"type": "integer", "format": "int32", "minimum": 0}))
        );
        assert_eq!(
            spec.pointer("/paths/~1conversation~1conversations/get/parameters/0/schema/maximum"),
            Some(&json!(200)),
            "the other parameter is untouched"
        );
    }

    #[test]
    fn parameter_schema_applied_twice_has_nothing_to_do_the_second_time() {
        let mut spec = listing_spec();
        let limit = rule("_limit", json!({"minimum": 0, "maximum": 200}));
        assert_eq!(apply_rule(&limit, &mut spec).unwrap(), Effect::Changed);
        let once = spec.clone();
        assert!(matches!(
            apply_rule(&limit, &mut spec).unwrap(),
            Effect::Idle(_)
        ));
        assert_eq!(spec, once);
        assert_eq!(
            limit.to_string(),
            "parameter-schema getConversations _limit"
        );
    }

    #[test]
    fn parameter_schema_names_a_missing_parameter_and_fails_on_a_missing_operation() {
        let mut spec = listing_spec();
        let Effect::Idle(why) =
            apply_rule(&rule("_page", json!({"minimum": 1})), &mut spec).unwrap()
        else {
            panic!("a missing parameter is nothing to do");
        };
        assert!(why.contains("_page"), "{why}");
        let mut other = rule("_limit", json!({"minimum": 0}));
        if let Rule::ParameterSchema { operation, .. } = &mut other {
            *operation = "getConversationz".to_string();
        }
        let error = apply_rule(&other, &mut spec).unwrap_err();
        assert!(error.to_string().contains("getConversationz"), "{error}");
    }

    #[test]
    fn parameter_schema_needs_an_object_of_keywords() {
        let parsed = Overlay::parse(
            r#"{"rules": [{"rule": "parameter-schema", "operation": "getConversations",
                "parameter": "_offset", "schema": 0, "reason": "r"}]}"#,
        );
        assert!(parsed.is_err());
    }
}
