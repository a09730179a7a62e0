//! Volunteer records (志愿服务记录) and certificates: reads over the service-hours ledger, which
//! any capability appends to with its own `source_type`, and the certificates issued from it.
//! Depends on the ledger's table only, never on the capabilities that write it.

pub mod certificates;
pub mod hours_entries;
pub mod ledger;
pub mod points;
