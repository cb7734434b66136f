//! The OpenAPI 3 document, generated from the route table and the types' `ToSchema` derives.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::Json;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};

use super::error::ErrorBody;
use super::extract::MAX_PAGE;
use super::{routes, Access, AppState, Route, MAX_BODY_BYTES};

/// Adds a type's schema (and those it refers to) and returns its name.
pub(super) type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> String;

pub(super) fn schema_of<T: utoipa::ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> String {
    let name = T::name().to_string();
    T::schemas(out);
    out.push((name.clone(), T::schema()));
    name
}

/// The query parameters of a filter type, as [`super::Route::query`] records them.
pub(super) type ParamsFn = fn() -> Vec<Parameter>;

pub(super) fn query_params<F: utoipa::IntoParams>() -> Vec<Parameter> {
    F::into_params(|| Some(ParameterIn::Query))
}

/// `limit` and `after`, taken by every list route.
fn paging_params() -> [Parameter; 2] {
    let limit = ParameterBuilder::new()
        .name("limit")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some("How many records to return"))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(MAX_PAGE as u64))
                .default(Some(serde_json::json!(50))),
        ))
        .build();
    let after = ParameterBuilder::new()
        .name("after")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(
            "The last id of the previous page (its `next_after`); omit for the first page",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .build();
    [limit, after]
}

fn success_description(status: StatusCode) -> &'static str {
    match status {
        StatusCode::CREATED => "Created",
        StatusCode::NO_CONTENT => "Done; no body",
        _ => "Success",
    }
}

fn http_method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

/// Builds the document for every route in [`routes`].
pub(super) fn document() -> OpenApi {
    build(routes())
}

/// Builds the document for the routes of `table`.
fn build(table: Vec<Route>) -> OpenApi {
    let mut schemas = Vec::new();
    let error = schema_of::<ErrorBody>(&mut schemas);
    let error_response = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(error.clone())))
                    .build(),
            )
            .build()
    };
    let mut paths = utoipa::openapi::Paths::new();
    for route in table {
        let has_id = route.path.contains("{id}");
        let is_list = route.is_list();
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary.clone()))
            .tag(route.tag)
            .response(
                route.success.as_str(),
                ResponseBuilder::new()
                    .description(success_description(route.success))
                    .build(),
            )
            .response(
                "500",
                error_response("The node failed; details are in its log"),
            );
        let mut malformed = Vec::new();
        if route.body.is_some() {
            malformed.push("body (`invalid_body`, `unreadable_body`)");
        }
        if is_list || route.params.is_some() {
            malformed.push("query (`invalid_query`)");
        }
        if has_id {
            malformed.push("`{id}` (`invalid_path`)");
        }
        if !malformed.is_empty() {
            op = op.response(
                "400",
                error_response(&format!("A malformed {}", malformed.join(" or "))),
            );
        }
        if has_id {
            op = op.response("404", error_response("No such record"));
        }
        if let Some(when) = route.conflict {
            op = op.response("409", error_response(when));
        }
        if route.body.is_some() {
            op = op
                .response(
                    "413",
                    error_response(&format!(
                        "The body is larger than {} KiB",
                        MAX_BODY_BYTES / 1024
                    )),
                )
                .response(
                    "415",
                    error_response("The body is not sent as `application/json`"),
                )
                .response("422", error_response("A field breaks a rule"));
        }
        if let Access::Roles(roles) = route.access {
            let names: Vec<String> = roles
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect();
            op = op
                .description(Some(format!("Roles: {}.", names.join(", "))))
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .response("401", error_response("No valid token"))
                .response(
                    "403",
                    error_response("The token's role may not use this route"),
                );
        }
        if has_id {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer))),
            );
        }
        if is_list {
            op = op.parameters(Some(paging_params()));
        }
        if let Some(params) = route.params {
            op = op.parameters(Some(params()));
        }
        if let Some(body) = route.body {
            let name = body(&mut schemas);
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(name)))
                            .build(),
                    )
                    .build(),
            ));
        }
        paths.add_path_operation(&route.path, vec![http_method(&route.method)], op.build());
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("TechHire community node API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Records are returned with `id`, `created_at` and `updated_at` beside the fields of their input type. \
                     Lists take `limit` (1-500) and `after` (last id seen) and return `{items, next_after}`.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

pub(super) async fn serve(State(_): State<AppState>) -> Json<OpenApi> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn as_json(doc: &OpenApi) -> Value {
        serde_json::to_value(doc).expect("the document serializes")
    }

    fn operation<'a>(doc: &'a Value, route: &Route) -> &'a Value {
        &doc["paths"][&route.path][route.method.as_str().to_lowercase()]
    }

    fn param_names(op: &Value) -> Vec<(String, String)> {
        op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap_or_default().to_string(),
                            p["in"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every `$ref` anywhere in `v`.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    fn assert_refs_resolve(doc: &Value) {
        let mut all = Vec::new();
        refs(doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "$ref {r} names no schema in components"
            );
        }
    }

    #[test]
    fn list_routes_document_paging_and_filters() {
        let doc = as_json(&document());
        let mut lists = Vec::new();
        for route in routes() {
            let names = param_names(operation(&doc, &route));
            let paged = names.iter().any(|(n, at)| n == "limit" && at == "query")
                && names.iter().any(|(n, at)| n == "after" && at == "query");
            assert_eq!(
                paged,
                route.is_list(),
                "{} {}: paging documented {paged}",
                route.method,
                route.path
            );
            if route.is_list() {
                lists.push(route.path.clone());
                // Tokens and accounts take only paging; every other list has filters.
                let filtered =
                    !route.path.ends_with("/tokens") && !route.path.ends_with("/accounts");
                assert_eq!(route.params.is_some(), filtered, "{}: filters", route.path);
            }
        }
        for collection in [
            "employers",
            "providers",
            "programs",
            "openings",
            "assessments",
            "vetting",
            "placements",
            "outreach",
            "candidates",
            "tokens",
            "accounts",
        ] {
            assert!(
                lists.contains(&format!("/api/v1/{collection}")),
                "{collection} should be a list route"
            );
        }
        let limit = &doc["paths"]["/api/v1/employers"]["get"]["parameters"][0]["schema"];
        assert_eq!(limit["minimum"], 1);
        assert_eq!(limit["maximum"], 500);
        assert_eq!(limit["default"], 50);
        let candidates = param_names(&doc["paths"]["/api/v1/candidates"]["get"]);
        for name in ["stage", "skill", "program_id"] {
            assert!(
                candidates.contains(&(name.to_string(), "query".to_string())),
                "candidate filter {name} missing: {candidates:?}"
            );
        }
        let employers = param_names(&doc["paths"]["/api/v1/employers"]["get"]);
        assert!(employers.contains(&("committed".to_string(), "query".to_string())));
        // Filters on enums refer to schemas the bodies register.
        assert_refs_resolve(&doc);
    }

    #[test]
    fn every_ref_resolves() {
        assert_refs_resolve(&as_json(&document()));
    }

    #[test]
    fn responses_follow_the_route_table() {
        let doc = as_json(&document());
        for route in routes() {
            let what = format!("{} {}", route.method, route.path);
            let responses = &operation(&doc, &route)["responses"];
            let codes: Vec<&str> = responses
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let success: Vec<&str> = codes
                .iter()
                .copied()
                .filter(|c| c.starts_with('2'))
                .collect();
            assert_eq!(success, [route.success.as_str()], "{what}");
            // The handlers that answer otherwise than the rule of `Route::new` say so.
            let expected = match (&route.method, route.path.as_str()) {
                (&Method::POST, "/api/v1/auth/login") => Some("200"),
                // A session, like login's: nothing is created at a new address.
                (&Method::POST, "/api/v1/auth/first-sign-in") => Some("200"),
                (&Method::PUT, "/api/v1/accounts/{id}/password") => Some("204"),
                // Answers 200 with the candidate; candidates.rs declares it with `.success`.
                (&Method::DELETE, "/api/v1/candidates/{id}/consent") => None,
                // An action, not a record created: 200 with what was published.
                (&Method::POST, "/api/v1/federation/metrics/publish") => Some("200"),
                // A snapshot streamed back, not a record created.
                (&Method::POST, "/api/v1/backup") => Some("200"),
                (&Method::POST, p) if !p.contains('{') => Some("201"),
                (&Method::DELETE, _) => Some("204"),
                _ => Some("200"),
            };
            if let Some(expected) = expected {
                assert_eq!(route.success.as_str(), expected, "{what}");
            }
            assert!(codes.contains(&"500"), "{what}: no 500");
            let body = route.body.is_some();
            assert_eq!(codes.contains(&"413"), body, "{what}: 413");
            assert_eq!(codes.contains(&"415"), body, "{what}: 415");
            assert_eq!(codes.contains(&"422"), body, "{what}: 422");
            assert_eq!(codes.contains(&"409"), route.conflict.is_some(), "{what}");
            for code in codes.iter().filter(|c| !c.starts_with('2')) {
                assert_eq!(
                    responses[*code]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what}: {code}"
                );
            }
        }
        let retention = &doc["paths"]["/api/v1/placements/{id}/retention"]["post"];
        assert!(retention["responses"]["409"].is_object());
    }
}
