//! The registry's things (部件), organisations (组织) and households (户) over HTTP
//! (docs/registry.md): scoped lists and pages, registration and version-checked changes. Every
//! rule, scope and mask is the `linli_app::registry::{things, households}` use cases'.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use linli_app::registry::households::{self, HouseholdDetail, HouseholdFilter, HouseholdItem};
use linli_app::registry::things::{
    self, ComponentChange, ComponentDetail, ComponentFilter, ComponentView, NewComponent,
    NewOrganisation, OrganisationChange, OrganisationContact, OrganisationDetail,
    OrganisationFilter, OrganisationView,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use axum::response::Response;

use super::registry::{ReasonBody, download};
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentPage {
    pub items: Vec<ComponentView>,
    /// Pass as `before` for the next page; absent on the last.
    pub next: Option<Uuid>,
}

/// Components (部件) within the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/components", tag = "registry", params(ComponentFilter),
    responses((status = 200, body = ComponentPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn components(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<ComponentFilter>,
) -> Result<Json<ComponentPage>, ApiError> {
    let (items, next) = things::list_components(&s.app, &p, &f).await?;
    Ok(Json(ComponentPage { items, next }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedComponent {
    pub component: ComponentDetail,
    /// Things to check that did not stop registration (a local minor class).
    pub warnings: Vec<String>,
}

/// Register a component: the 16-digit code (GB/T 30428) validated and unique in the district;
/// the grid from the point when not given.
#[utoipa::path(post, path = "/api/v1/components", tag = "registry", request_body = NewComponent,
    responses((status = 201, body = CreatedComponent), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_component(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(n): ApiJson<NewComponent>,
) -> Result<(StatusCode, Json<CreatedComponent>), ApiError> {
    let (component, warnings) = things::create_component(&s.app, &p, n).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedComponent {
            component,
            warnings,
        }),
    ))
}

/// One component with its grid and owner department.
#[utoipa::path(get, path = "/api/v1/components/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = ComponentDetail), (status = 404, body = ErrorBody)))]
pub async fn component(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ComponentDetail>, ApiError> {
    Ok(Json(things::get_component(&s.app, &p, id).await?))
}

/// Change a component (state 完好/损坏/丢失/占用…, name, address, point, grid, owner) with the
/// version read; a stale version gets 409.
#[utoipa::path(patch, path = "/api/v1/components/{id}", tag = "registry", params(("id" = Uuid, Path)),
    request_body = ComponentChange,
    responses((status = 200, body = ComponentDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_component(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(c): ApiJson<ComponentChange>,
) -> Result<Json<ComponentDetail>, ApiError> {
    Ok(Json(things::update_component(&s.app, &p, id, c).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationPage {
    pub items: Vec<OrganisationView>,
    pub next: Option<Uuid>,
}

/// Organisations (驻区单位, 社会组织, 物业公司, 业主委员会, 党组织) within scope; phones masked.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "registry", params(OrganisationFilter),
    responses((status = 200, body = OrganisationPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn organisations(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<OrganisationFilter>,
) -> Result<Json<OrganisationPage>, ApiError> {
    let (items, next) = things::list_organisations(&s.app, &p, &f).await?;
    Ok(Json(OrganisationPage { items, next }))
}

/// Register an organisation; the contact phone is sealed at rest and returned masked.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "registry", request_body = NewOrganisation,
    responses((status = 201, body = OrganisationDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_organisation(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(n): ApiJson<NewOrganisation>,
) -> Result<(StatusCode, Json<OrganisationDetail>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(things::create_organisation(&s.app, &p, n).await?),
    ))
}

/// One organisation with the buildings and grids it serves.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganisationDetail), (status = 404, body = ErrorBody)))]
pub async fn organisation(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OrganisationDetail>, ApiError> {
    Ok(Json(things::get_organisation(&s.app, &p, id).await?))
}

/// Change an organisation with the version read; `building_ids` replaces the served buildings.
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "registry", params(("id" = Uuid, Path)),
    request_body = OrganisationChange,
    responses((status = 200, body = OrganisationDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_organisation(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(c): ApiJson<OrganisationChange>,
) -> Result<Json<OrganisationDetail>, ApiError> {
    Ok(Json(things::update_organisation(&s.app, &p, id, c).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdPage {
    pub items: Vec<HouseholdItem>,
    pub next: Option<Uuid>,
}

/// Households of a unit or a building within scope: house, head (masked), active members.
#[utoipa::path(get, path = "/api/v1/households", tag = "registry", params(HouseholdFilter),
    responses((status = 200, body = HouseholdPage), (status = 404, body = ErrorBody)))]
pub async fn households(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<HouseholdFilter>,
) -> Result<Json<HouseholdPage>, ApiError> {
    let (items, next) = households::list(&s.app, &p, &f).await?;
    Ok(Json(HouseholdPage { items, next }))
}

/// The household page: head, members (masked), house and building, history.
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = HouseholdDetail), (status = 404, body = ErrorBody)))]
pub async fn household(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<HouseholdDetail>, ApiError> {
    Ok(Json(households::get(&s.app, &p, id).await?))
}

/// The components of a filtered list (the list's filters) as an .xlsx workbook (at most
/// 100,000 rows). Needs `registry.export`; audited (`component.export`).
#[utoipa::path(get, path = "/api/v1/components/export", tag = "registry", params(ComponentFilter),
    responses((status = 200, description = "xlsx 文件"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_components(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<ComponentFilter>,
) -> Result<Response, ApiError> {
    Ok(download(
        linli_app::registry::export::components(&s.app, &p, &f).await?,
    ))
}

/// The organisations of a filtered list as an .xlsx workbook, contacts masked as in the list
/// (at most 100,000 rows). Needs `registry.export`; audited (`organisation.export`).
#[utoipa::path(get, path = "/api/v1/organisations/export", tag = "registry", params(OrganisationFilter),
    responses((status = 200, description = "xlsx 文件（脱敏）"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_organisations(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<OrganisationFilter>,
) -> Result<Response, ApiError> {
    Ok(download(
        linli_app::registry::export::organisations(&s.app, &p, &f).await?,
    ))
}

/// The contact's full name and phone — `registry.unmask` over the organisation's unit and a
/// reason; audited (`organisation.unmask`, with the reason, never the values).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/unmask", tag = "registry", params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = OrganisationContact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unmask_organisation(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let c = things::unmask_contact(&s.app, &p, id, &b.reason).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(c)).into_response())
}
