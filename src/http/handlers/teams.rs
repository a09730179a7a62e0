super::registry_handlers!(crate::services::teams, crate::services::teams::TeamInput);
super::simple_reads!();
