crate::http::handlers::registry_handlers!(
    crate::services::registry::volunteers,
    crate::services::registry::volunteers::VolunteerInput
);
crate::http::handlers::get_handler!();

use serde::Deserialize;

use crate::http::extract::page_request;
use crate::services::registry::volunteers::ListQuery;

#[derive(Deserialize)]
pub struct VolunteerListQuery {
    pub status: Option<String>,
    pub skill: Option<String>,
    pub team_id: Option<Uuid>,
    pub home_grid_id: Option<Uuid>,
    pub party_member: Option<bool>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<VolunteerListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let q = q.into_inner();
    let query = ListQuery {
        status: q.status,
        skill: q.skill,
        team_id: q.team_id,
        home_grid_id: q.home_grid_id,
        party_member: q.party_member,
        q: q.q,
    };
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, query, page).await?,
    ))
}
