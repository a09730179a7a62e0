//! Discovery and the services of a jurisdiction (the community's service types), with their
//! definitions: every service takes the same attributes, urgency and a preferred time window.

use serde::Serialize;

use super::{Open311Result, jurisdiction};
use crate::domain::open311::{Open311Error, Params};
use crate::state::AppState;
use crate::store::open311 as store_open311;
use crate::store::registry::service_types::ServiceTypeRow;

/// When this implementation's discovery last changed.
pub const CHANGESET: &str = "2026-12-02T00:00:00Z";

#[derive(Debug, Serialize)]
pub struct Endpoint {
    pub specification: &'static str,
    pub url: String,
    pub changeset: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub formats: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Discovery {
    pub changeset: &'static str,
    pub contact: &'static str,
    pub key_service: &'static str,
    pub endpoints: Vec<Endpoint>,
}

/// Discovery for a server reached at `base` (scheme and host as the caller used them).
pub fn discovery(base: &str) -> Discovery {
    Discovery {
        changeset: CHANGESET,
        contact: "请联系社区服务站获取接入帮助",
        key_service: "api_key 为社区管理员登记的第三方客户端密钥（需 open311 权限）",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: format!("{base}/open311/v2"),
            changeset: CHANGESET,
            kind: "production",
            formats: vec!["application/json", "text/xml"],
        }],
    }
}

#[derive(Debug, Serialize)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    pub metadata: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub keywords: String,
    pub group: String,
}

fn service(st: ServiceTypeRow) -> Service {
    Service {
        description: st.description.unwrap_or_else(|| st.name.clone()),
        service_code: st.code,
        service_name: st.name,
        metadata: true,
        kind: "realtime",
        keywords: String::new(),
        group: String::new(),
    }
}

/// The jurisdiction's active services.
pub async fn services(ctx: &AppState, p: &Params) -> Open311Result<Vec<Service>> {
    let j = jurisdiction(ctx, p.get("jurisdiction_id"), None).await?;
    Ok(store_open311::services(&ctx.db, j.id)
        .await?
        .into_iter()
        .map(service)
        .collect())
}

#[derive(Debug, Serialize)]
pub struct Value {
    pub key: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Attribute {
    pub variable: bool,
    pub code: &'static str,
    pub datatype: &'static str,
    pub required: bool,
    pub datatype_description: &'static str,
    pub order: u32,
    pub description: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct Definition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

fn attributes() -> Vec<Attribute> {
    vec![
        Attribute {
            variable: true,
            code: "urgency",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: "默认按服务项目",
            order: 1,
            description: "紧急程度",
            values: vec![
                Value {
                    key: "emergency",
                    name: "紧急",
                },
                Value {
                    key: "urgent",
                    name: "较急",
                },
                Value {
                    key: "normal",
                    name: "一般",
                },
            ],
        },
        Attribute {
            variable: true,
            code: "window_start",
            datatype: "datetime",
            required: false,
            datatype_description: "ISO 8601，如 2026-12-01T09:00:00+08:00",
            order: 2,
            description: "希望服务的开始时间",
            values: vec![],
        },
        Attribute {
            variable: true,
            code: "window_end",
            datatype: "datetime",
            required: false,
            datatype_description: "ISO 8601，晚于开始时间，最多 31 天",
            order: 3,
            description: "希望服务的结束时间",
            values: vec![],
        },
    ]
}

/// The definition of `code`: 404 for a code the jurisdiction does not offer.
pub async fn definition(ctx: &AppState, p: &Params, code: &str) -> Open311Result<Definition> {
    let j = jurisdiction(ctx, p.get("jurisdiction_id"), None).await?;
    let st = store_open311::service(&ctx.db, j.id, code)
        .await?
        .ok_or_else(|| Open311Error::new(404, "service_code: no such service"))?;
    Ok(Definition {
        service_code: st.code,
        attributes: attributes(),
    })
}
