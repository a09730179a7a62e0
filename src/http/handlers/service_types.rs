super::registry_handlers!(
    crate::services::service_types,
    crate::services::service_types::ServiceTypeInput
);
super::simple_reads!();
