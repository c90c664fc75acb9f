//! The OpenAPI 3.1 document served at `GET /api/openapi.json`.
//!
//! It is generated from [`crate::policy::RULES`], the table the router is
//! built from, and from the request types' own JSON schemas (derived with
//! `schemars`), so it lists exactly the routes that are served, with the
//! credential each one needs. Answer bodies are described in prose in
//! `docs/api.md`.

use crate::policy::{Body, Caller, RULES, Rule, Target};
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// `GET /api/openapi.json`: generated and serialized once, then each
/// answer shares the same bytes.
pub async fn serve() -> impl IntoResponse {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        Bytes::from(serde_json::to_vec(&document()).expect("a JSON value serializes"))
    });
    ([(header::CONTENT_TYPE, "application/json")], body.clone())
}

const SCHEMAS: &str = "#/components/schemas/";

/// The whole document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let mut paths = Map::new();
    for rule in RULES {
        let item = paths
            .entry(rule.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object");
        item.insert(
            rule.method.to_ascii_lowercase(),
            operation(rule, &mut generator),
        );
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "description": "Every error answer: a human-readable reason. Never contains a token.",
            "required": ["error"],
            "properties": { "error": { "type": "string" } },
        }),
    );
    let mut areas: Vec<&str> = Vec::new();
    for rule in RULES {
        if !areas.contains(&rule.area) {
            areas.push(rule.area);
        }
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ClickClack",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Realtime team chat where bots are first-class members. \
                Authenticate with `Authorization: Bearer <token>`: a bot token (`ccb_...`, \
                bound to one workspace, limited to its scopes) or a human session \
                (`sst_...`, every scope, every workspace its human belongs to). The web \
                app uses the session cookie instead. Errors are `{\"error\": \"...\"}`. \
                The prose reference is docs/api.md.",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "tags": areas.iter().map(|area| json!({ "name": area })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A bot token (ccb_) or a session (sst_). The names listed \
                        under an operation's security are the scopes a bot token needs.",
                },
                "session_cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "cc_session",
                    "description": "The web app's session. Writes also need the \
                        X-ClickClack-CSRF header and a same-origin Origin.",
                },
            },
            "responses": {
                "Error": {
                    "description": "The request was refused; the body says why.",
                    "content": { "application/json": { "schema": { "$ref": format!("{SCHEMAS}Error") } } },
                },
            },
        },
    });
    drop_null_defaults(&mut document);
    document
}

/// A field that defaults to "absent" gets `"default": null` from schemars;
/// this API never sends `null`, and the default says nothing, so it goes.
fn drop_null_defaults(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if fields.get("default") == Some(&Value::Null) {
                fields.remove("default");
            }
            fields.values_mut().for_each(drop_null_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_defaults),
        _ => {}
    }
}

fn operation(rule: &Rule, generator: &mut SchemaGenerator) -> Value {
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(operation_id(rule)));
    operation.insert("summary".into(), json!(rule.summary));
    operation.insert("tags".into(), json!([rule.area]));
    operation.insert(
        "description".into(),
        json!(format!(
            "Who may call it: {}. Workspace: {}.",
            rule.who,
            target_words(rule.target)
        )),
    );
    operation.insert("security".into(), security(rule.caller));
    operation.insert(
        "x-clickclack-caller".into(),
        json!(caller_words(rule.caller)),
    );
    let mut parameters: Vec<Value> = path_parameters(rule);
    if let Some(query) = rule.query {
        parameters.extend(query_parameters(query(generator), generator));
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), json!(parameters));
    }
    match rule.body {
        Body::None => {}
        Body::Json(schema) => {
            operation.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": schema(generator) } },
                }),
            );
        }
        Body::Multipart => {
            operation.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": { "multipart/form-data": { "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": { "file": { "type": "string", "contentMediaType": "application/octet-stream" } },
                    } } },
                }),
            );
        }
    }
    operation.insert(
        "responses".into(),
        json!({
            rule.status.to_string(): { "description": success_words(rule.status) },
            "4XX": { "$ref": "#/components/responses/Error" },
            "5XX": { "$ref": "#/components/responses/Error" },
        }),
    );
    Value::Object(operation)
}

/// `get_api_workspaces_id_channels` for `GET /api/workspaces/{id}/channels`.
fn operation_id(rule: &Rule) -> String {
    let path: String = rule
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = path
        .split('_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let path = if path.is_empty() { "index" } else { &path };
    format!("{}_{path}", rule.method.to_ascii_lowercase())
}

fn security(caller: Caller) -> Value {
    match caller {
        Caller::Anyone => json!([]),
        Caller::Person => json!([{ "bearer": [] }, { "session_cookie": [] }]),
        Caller::Scopes(scopes) | Caller::BotScopes(scopes) => {
            let names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
            json!([{ "bearer": names }, { "session_cookie": [] }])
        }
    }
}

fn caller_words(caller: Caller) -> &'static str {
    match caller {
        Caller::Anyone => "anyone",
        Caller::Person => "people (sessions) only; bot tokens get 403",
        Caller::Scopes(_) => "bot tokens with the listed scopes, and sessions",
        Caller::BotScopes(_) => {
            "bot tokens with the listed scopes, and sessions (whatever their scopes)"
        }
    }
}

fn target_words(target: Target) -> &'static str {
    match target {
        Target::Own => "none named; the caller's own",
        Target::WorkspaceInPath => "the {id} in the path (id or slug)",
        Target::ResourceInPath => "the one the {id} in the path belongs to",
        Target::WorkspaceInQuery => "the workspace_id query parameter (id or slug)",
        Target::WorkspaceInBody => "the workspace_id in the body (id or slug)",
    }
}

fn success_words(status: u16) -> &'static str {
    match status {
        101 => "Switching to the WebSocket protocol",
        201 => "Created (200 when the nonce or key had already created it)",
        202 => "Accepted",
        204 => "Done; no body",
        _ => "OK",
    }
}

fn path_parameters(rule: &Rule) -> Vec<Value> {
    rule.path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let description = match (name, rule.target) {
                ("id", Target::WorkspaceInPath) => "A workspace id (wsp_...) or slug",
                ("id", Target::ResourceInPath) => "The resource's id",
                ("bot_id", _) => "The bot's user id (usr_...)",
                ("token_id", _) => "The bot token's id (btok_...)",
                ("token", _) => "The invite token from the link",
                ("emoji", _) => "The reaction, URL-encoded",
                _ => "An id",
            };
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": description,
                "schema": { "type": "string" },
            })
        })
        .collect()
}

/// One query parameter per property of a query type's schema.
fn query_parameters(schema: schemars::Schema, generator: &SchemaGenerator) -> Vec<Value> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix(SCHEMAS)
            .and_then(|name| generator.definitions().get(name))
            .cloned()
            .unwrap_or_default(),
        None => schema.to_value(),
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(description) = property.get("description") {
                parameter["description"] = description.clone();
            }
            parameter
        })
        .collect()
}

/// The route table of `docs/api.md`, made from the same rules.
pub fn routes_markdown() -> String {
    let mut text =
        String::from("| Route | Needs | Workspace | Who may act | What |\n|---|---|---|---|---|\n");
    for rule in RULES {
        let needs = match rule.caller {
            Caller::Anyone => "anyone".to_owned(),
            Caller::Person => "people".to_owned(),
            Caller::Scopes([]) => "signed in".to_owned(),
            Caller::Scopes(scopes) | Caller::BotScopes(scopes) => scopes
                .iter()
                .map(|scope| format!("`{}`", scope.as_str()))
                .collect::<Vec<_>>()
                .join(" + "),
        };
        let workspace = match rule.target {
            Target::Own => "-",
            Target::WorkspaceInPath => "path `{id}`",
            Target::ResourceInPath => "of the `{id}`",
            Target::WorkspaceInQuery => "`?workspace_id=`",
            Target::WorkspaceInBody => "body `workspace_id`",
        };
        text.push_str(&format!(
            "| `{} {}` → {} | {needs} | {workspace} | {} | {} |\n",
            rule.method, rule.path, rule.status, rule.who, rule.summary
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- routes:begin -->\n";
    const END: &str = "<!-- routes:end -->";

    /// `docs/api.md` carries the route table; `CLICKCLACK_UPDATE_DOCS=1`
    /// rewrites it after a change to the rules.
    #[test]
    fn the_api_reference_lists_every_route_as_enforced() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
        let doc = std::fs::read_to_string(path).expect("docs/api.md");
        let start = doc.find(BEGIN).expect("routes:begin marker") + BEGIN.len();
        let end = doc.find(END).expect("routes:end marker");
        let expected = routes_markdown();
        if std::env::var_os("CLICKCLACK_UPDATE_DOCS").is_some() {
            let updated = format!("{}{expected}{}", &doc[..start], &doc[end..]);
            std::fs::write(path, updated).expect("write docs/api.md");
            return;
        }
        assert_eq!(
            &doc[start..end],
            expected,
            "docs/api.md's route table is out of date: run CLICKCLACK_UPDATE_DOCS=1 cargo test -p clickclack-gateway --lib openapi"
        );
    }

    #[test]
    fn operation_ids_are_unique_and_readable() {
        let document = document();
        let mut seen = std::collections::BTreeSet::new();
        for rule in RULES {
            let id = operation_id(rule);
            assert!(seen.insert(id.clone()), "{id} repeats");
        }
        assert_eq!(operation_id(&RULES[0]), "get_api_me");
        assert!(document["paths"]["/"]["get"]["operationId"] == "get_index");
    }
}
