super::registry_handlers!(crate::services::grids, crate::services::grids::GridInput);
super::simple_reads!();
