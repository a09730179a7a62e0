crate::http::handlers::registry_handlers!(
    crate::services::registry::service_types,
    crate::services::registry::service_types::ServiceTypeInput
);
crate::http::handlers::simple_reads!();
