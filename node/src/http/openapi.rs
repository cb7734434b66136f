//! The OpenAPI 3 document, generated from the route table and the types' `ToSchema` derives.

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};

use super::error::ErrorBody;
use super::{routes, Access, AppState};

/// Adds a type's schema (and those it refers to) and returns its name.
pub(super) type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> String;

pub(super) fn schema_of<T: utoipa::ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> String {
    let name = T::name().to_string();
    T::schemas(out);
    out.push((name.clone(), T::schema()));
    name
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
    for route in routes() {
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary.clone()))
            .tag(route.tag)
            .response(
                "200",
                ResponseBuilder::new()
                    .description("Success (201 for creation, 204 when there is no body)")
                    .build(),
            )
            .response("400", error_response("Malformed body or query"))
            .response("404", error_response("No such record"))
            .response("422", error_response("A field breaks a rule"));
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
        if route.path.contains("{id}") {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        utoipa::openapi::schema::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::Integer),
                    )),
            );
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
