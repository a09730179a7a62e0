pub async fn seed(_ctx: &crate::state::AppState) -> Result<String, crate::services::ServiceError> {
    Ok(String::new())
}
