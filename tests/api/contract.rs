//! `openapi.yaml` and the router name the same operations.

use std::collections::BTreeSet;

use crate::spec::spec;

#[test]
fn the_spec_and_the_router_name_the_same_routes() {
    let router: BTreeSet<(String, String)> = huying::http::routes::table()
        .into_iter()
        .map(|r| (r.method.to_uppercase(), r.path.to_string()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in spec()["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = router.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&router).collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "openapi.yaml names routes the server lacks: {extra:?}"
    );
}

#[test]
fn the_served_spec_is_the_file() {
    assert_eq!(
        huying::http::handlers::health::OPENAPI,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap()
    );
    assert_eq!(spec()["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
}
