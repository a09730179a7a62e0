crate::http::handlers::registry_handlers!(
    crate::services::registry::teams,
    crate::services::registry::teams::TeamInput
);
crate::http::handlers::simple_reads!();
