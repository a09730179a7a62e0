//! The API reference in a browser: `/docs` renders `openapi.yaml` with Redoc, whose bundle the
//! binary carries (`assets/redoc/`), so the page needs no CDN and works offline.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};

/// The bundle's path names its version: a new version is a new URL, so browsers may keep the
/// old one forever.
pub const REDOC_PATH: &str = "/docs/redoc-2.5.4.standalone.js";
const REDOC_JS: &[u8] = include_bytes!("../../../assets/redoc/redoc.standalone.js");

// The `<redoc>` element starts Redoc by itself: no inline script, so the policy can forbid
// every script but ours. Redoc writes its styles inline and renders the schema samples in a
// worker it makes from a blob.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Huying (呼应) API</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/openapi.yaml" hide-download-button="false"></redoc>
<script src="/docs/redoc-2.5.4.standalone.js"></script>
</body>
</html>
"#;

const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The docs page.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// Redoc's bundle.
pub async fn redoc() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(REDOC_JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_bundle_it_serves() {
        assert!(PAGE.contains(&format!("src=\"{REDOC_PATH}\"")));
        assert!(REDOC_JS.len() > 1_000_000, "the bundle is vendored whole");
    }
}
