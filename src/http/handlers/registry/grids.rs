crate::http::handlers::registry_handlers!(
    crate::services::registry::grids,
    crate::services::registry::grids::GridInput
);
crate::http::handlers::simple_reads!();
