//! Open311 GeoReport v2 over HTTP, parsed as a client would: JSON with serde, XML with an XML
//! parser. Placing (a known caller, and triage), the feed and its filters and paging, the
//! personal-data rule, keys, every bad parameter, and nothing stored on any refusal.

use reqwest::Method;
use serde_json::json;

use crate::help_requests::{World, world};
use crate::helpers::Resp;

const BASE: &str = "/open311/v2";

async fn client_secret(w: &World, scopes: &[&str]) -> String {
    let r = w
        .app
        .post(
            &format!("/api/v1/communities/{}/clients", w.c),
            &w.app.admin,
            json!({"name": "12345 热线", "scopes": scopes}),
        )
        .await
        .expect(201);
    r.body["client_secret"].as_str().unwrap().to_string()
}

async fn get(w: &World, path: &str) -> Resp {
    w.app
        .send(w.app.req(Method::GET, &format!("{BASE}/{path}")))
        .await
}

async fn xml(w: &World, path: &str) -> (u16, String) {
    let res = w
        .app
        .req(Method::GET, &format!("{BASE}/{path}"))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml"),
        "{path}"
    );
    (status, res.text().await.unwrap())
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.extend_pairs(pairs);
    f.finish()
}

fn form_request(w: &World, format: &str, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
    w.app
        .req(Method::POST, &format!("{BASE}/requests.{format}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
}

async fn post(w: &World, format: &str, pairs: &[(&str, &str)]) -> Resp {
    w.app.send(form_request(w, format, pairs)).await
}

async fn send_owned(w: &World, f: Vec<(&'static str, String)>) -> Resp {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(w, "json", &pairs).await
}

/// The text of each `name` child of every `item` under the root.
fn xml_items(doc: &str, item: &str, name: &str) -> Vec<String> {
    let d = roxmltree::Document::parse(doc).expect("well-formed XML");
    d.root_element()
        .children()
        .filter(|n| n.has_tag_name(item))
        .map(|n| {
            n.children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn errors_of(r: &Resp, status: u16) -> Vec<String> {
    assert_eq!(r.status, status, "{}", r.body);
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("an error list: {}", r.body))
        .iter()
        .map(|e| {
            assert_eq!(e["code"].as_u64(), Some(status as u64));
            e["description"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn count(w: &World, sql: &'static str) -> i64 {
    w.app.scalar(sql, &w.c).await
}

const INTAKES: &str = "select count(*) from open311_requests where community_id = $1";
const REQUESTS: &str = "select count(*) from help_requests where community_id = $1";

#[tokio::test]
async fn discovery_services_and_definitions_in_json_and_xml() {
    let w = world(0, json!({})).await;
    let d = get(&w, "discovery.json").await.expect(200);
    assert!(
        d.body["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/open311/v2")
    );
    let (s, doc) = xml(&w, "discovery.xml").await;
    assert_eq!(s, 200);
    let parsed = roxmltree::Document::parse(&doc).unwrap();
    let formats: Vec<_> = parsed
        .descendants()
        .filter(|n| n.has_tag_name("format"))
        .map(|n| n.text().unwrap().to_string())
        .collect();
    assert_eq!(formats, ["application/json", "text/xml"]);

    let s = get(&w, "services.json").await.expect(200);
    assert_eq!(s.body[0]["service_code"], "errands");
    assert_eq!(s.body[0]["service_name"], "代购");
    assert_eq!(s.body[0]["metadata"], true);
    let (_, doc) = xml(&w, "services.xml").await;
    assert_eq!(xml_items(&doc, "service", "service_code"), ["errands"]);

    let def = get(&w, "services/errands.json").await.expect(200);
    let codes: Vec<_> = def.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["urgency", "window_start", "window_end"]);
    let (_, doc) = xml(&w, "services/errands.xml").await;
    let d = roxmltree::Document::parse(&doc).unwrap();
    assert_eq!(d.root_element().tag_name().name(), "service_definition");
    let keys: Vec<_> = d
        .descendants()
        .filter(|n| n.has_tag_name("key"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(keys, ["emergency", "urgent", "normal"]);

    // Unknown service: 404 as an Open311 error list, in both formats.
    let e = errors_of(&get(&w, "services/nothing.json").await, 404);
    assert!(e[0].starts_with("service_code"));
    let (s, doc) = xml(&w, "services/nothing.xml").await;
    assert_eq!(s, 404);
    assert_eq!(xml_items(&doc, "error", "code"), ["404"]);
    // Several communities: the jurisdiction must be named, and an unknown one is 404.
    w.app.community("第二社区").await;
    let e = errors_of(&get(&w, "services.json").await, 400);
    assert!(e[0].starts_with("jurisdiction_id"), "{e:?}");
    errors_of(&get(&w, "services.json?jurisdiction_id=nowhere").await, 404);
    let code = w
        .app
        .get(&format!("/api/v1/communities/{}", w.c), &w.app.admin)
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_string();
    get(&w, &format!("services.json?jurisdiction_id={code}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_known_callers_request_is_placed_for_the_resident_and_followed_in_both_formats() {
    let w = world(1, json!({})).await;
    let key = client_secret(&w, &["open311"]).await;
    let r = post(
        &w,
        "json",
        &[
            ("api_key", &key),
            ("service_code", "errands"),
            ("lat", "39.90923"),
            ("long", "116.39742"),
            ("phone", "13812345678"),
            ("last_name", "孙"),
            ("first_name", "大娘"),
            ("description", "帮忙买药，家住3号楼"),
            ("email", "sun@example.org"),
            ("media_url", "https://img.example.org/1.jpg"),
            ("attribute[urgency]", "urgent"),
        ],
    )
    .await
    .expect(200);
    let id = r.body[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r.body[0]["service_notice"], "已受理，正在派单");
    // Our request, for the resident, by the third party, dispatched at once.
    let hr = w
        .app
        .get(&format!("/api/v1/help-requests/{id}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(hr.body["resident_id"], w.resident);
    assert_eq!(hr.body["channel"], "third_party");
    assert_eq!(hr.body["placed_as"], "third_party");
    assert_eq!(hr.body["urgency"], "urgent");
    assert_eq!(hr.body["caller_name"], "孙大娘");

    // Without a key: no free text, no media, the place coarse.
    let one = get(&w, &format!("requests/{id}.json")).await.expect(200);
    let v = &one.body[0];
    assert_eq!(v["status"], "open");
    assert!(!v["status_notes"].as_str().unwrap().is_empty());
    assert!(
        v.get("description").is_none() && v.get("media_url").is_none(),
        "{v}"
    );
    assert_eq!(
        (v["lat"].as_f64(), v["long"].as_f64()),
        (Some(39.91), Some(116.4))
    );
    assert_eq!(v["agency_responsible"], "电力社区");
    assert_eq!(v["expected_datetime"], hr.body["resolve_by"]);
    let text = one.body.to_string();
    // The caller's phone in full, masked or in part (ids are hex: "138" alone may be in one).
    for personal in ["孙", "12345678", "138****", "3号楼", "example.org"] {
        assert!(!text.contains(personal), "{personal} shown: {text}");
    }
    // With the key: the description and media too.
    let keyed = get(&w, &format!("requests/{id}.json?api_key={key}"))
        .await
        .expect(200);
    assert_eq!(keyed.body[0]["description"], "帮忙买药，家住3号楼");
    assert_eq!(keyed.body[0]["media_url"], "https://img.example.org/1.jpg");
    // XML, parsed.
    let (_, doc) = xml(&w, &format!("requests/{id}.xml")).await;
    assert_eq!(
        xml_items(&doc, "request", "service_request_id"),
        std::slice::from_ref(&id)
    );
    assert_eq!(xml_items(&doc, "request", "status"), ["open"]);
    assert_eq!(xml_items(&doc, "request", "description"), [""]);
    // The token is the id.
    let t = get(&w, &format!("tokens/{id}.json")).await.expect(200);
    assert_eq!(t.body[0]["service_request_id"], id.as_str());
    let (_, doc) = xml(&w, &format!("tokens/{id}.xml")).await;
    assert_eq!(
        xml_items(&doc, "request", "token"),
        std::slice::from_ref(&id)
    );
    errors_of(
        &get(&w, &format!("tokens/{}.json", uuid::Uuid::now_v7())).await,
        404,
    );
    errors_of(&get(&w, "requests/not-an-id.json").await, 404);
    // Cancelled: closed.
    w.app
        .post(
            &format!("/api/v1/help-requests/{id}/cancel"),
            &w.dispatcher,
            json!({"reason": "居民已自行解决"}),
        )
        .await
        .expect(200);
    let v = get(&w, &format!("requests/{id}.json")).await.expect(200);
    assert_eq!(
        (
            v.body[0]["status"].as_str(),
            v.body[0]["status_notes"].as_str()
        ),
        (Some("closed"), Some("已取消"))
    );
}

#[tokio::test]
async fn an_unknown_caller_waits_in_triage_and_xml_posts_work() {
    let w = world(0, json!({})).await;
    let key = client_secret(&w, &["open311"]).await;
    let res = form_request(
        &w,
        "xml",
        &[
            ("api_key", key.as_str()),
            ("service_code", "errands"),
            ("address_string", "电力小区5号楼"),
            ("phone", "13900009999"),
            ("description", "楼道灯坏了"),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let doc = res.text().await.unwrap();
    let id = xml_items(&doc, "request", "service_request_id").remove(0);
    assert_eq!(
        xml_items(&doc, "request", "service_notice"),
        ["已收到，待工作人员审单"]
    );
    assert_eq!(
        count(&w, REQUESTS).await,
        0,
        "no help request without a resident"
    );
    assert_eq!(count(&w, INTAKES).await, 1);
    let v = get(&w, &format!("requests/{id}.json")).await.expect(200);
    assert_eq!(v.body[0]["status"], "open");
    assert!(
        v.body[0]["status_notes"]
            .as_str()
            .unwrap()
            .starts_with("待审单")
    );
    assert!(v.body[0].get("expected_datetime").is_none());
    assert!(
        v.body[0].get("lat").is_none(),
        "an address only: no point at all"
    );
    let listed = get(&w, "requests.json?status=open").await.expect(200);
    assert_eq!(listed.body[0]["service_request_id"], id.as_str());
    assert_eq!(
        get(&w, "requests.json?status=closed")
            .await
            .expect(200)
            .body,
        json!([])
    );
}

#[tokio::test]
async fn the_list_filters_pages_and_keeps_to_90_days() {
    let w = world(0, json!({})).await;
    let key = client_secret(&w, &["open311"]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let phone = format!("1390000{i:04}");
        let r = post(
            &w,
            "json",
            &[
                ("api_key", &key),
                ("service_code", "errands"),
                ("address_string", "x"),
                ("phone", &phone),
            ],
        )
        .await
        .expect(200);
        ids.push(
            r.body[0]["service_request_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let all = get(&w, "requests.json").await.expect(200);
    let got: Vec<_> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["service_request_id"].as_str().unwrap())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(got, newest_first);
    let p2 = get(&w, "requests.json?page=2&page_size=2")
        .await
        .expect(200);
    let got: Vec<_> = p2
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, &newest_first[2..4]);
    let (_, doc) = xml(&w, "requests.xml?page=3&page_size=2").await;
    assert_eq!(
        xml_items(&doc, "request", "service_request_id"),
        &newest_first[4..]
    );
    let by_id = get(
        &w,
        &format!("requests.json?service_request_id={},{}", ids[0], ids[3]),
    )
    .await
    .expect(200);
    assert_eq!(by_id.body.as_array().unwrap().len(), 2);
    assert_eq!(
        get(&w, "requests.json?service_code=errands")
            .await
            .expect(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        5
    );
    errors_of(&get(&w, "requests.json?service_code=nothing").await, 404);
    let old = get(&w, "requests.json?start_date=2020-01-01T00:00:00Z")
        .await
        .expect(200);
    assert_eq!(old.body, json!([]));
    let future = get(&w, "requests.json?updated_after=2999-01-01T00:00:00Z")
        .await
        .expect(200);
    assert_eq!(future.body, json!([]));

    for (query, param) in [
        (
            "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z",
            "end_date",
        ),
        (
            "end_date=2026-01-01T00:00:00Z&start_date=2026-02-01T00:00:00Z",
            "end_date",
        ),
        ("start_date=yesterday", "start_date"),
        ("page_size=101", "page_size"),
        ("page=0", "page"),
        ("status=done", "status"),
        ("service_request_id=abc", "service_request_id"),
        ("service_code=A%20B", "service_code"),
        (
            "updated_before=2026-01-01T00:00:00Z&updated_after=2026-02-01T00:00:00Z",
            "updated_before",
        ),
        ("page=1&page=2", "page"),
    ] {
        let e = errors_of(&get(&w, &format!("requests.json?{query}")).await, 400);
        assert!(e[0].starts_with(param), "{query}: {e:?}");
        let (s, doc) = xml(&w, &format!("requests.xml?{query}")).await;
        assert_eq!(s, 400, "{query}");
        assert!(
            xml_items(&doc, "error", "description")[0].starts_with(param),
            "{doc}"
        );
    }
}

#[tokio::test]
async fn bad_posts_and_keys_are_refused_and_store_nothing() {
    let w = world(0, json!({})).await;
    let key = client_secret(&w, &["open311"]).await;
    let other = client_secret(&w, &["requests:read"]).await;
    let good = |extra: &[(&'static str, String)]| {
        let mut f: Vec<(&'static str, String)> = vec![
            ("api_key", key.clone()),
            ("service_code", "errands".into()),
            ("address_string", "电力小区".into()),
        ];
        for (k, v) in extra {
            f.retain(|(n, _)| n != k);
            f.push((k, v.clone()));
        }
        f
    };
    for (extra, status, param) in [
        (vec![("api_key", "wrong".to_string())], 401, "api_key"),
        (vec![("api_key", other.clone())], 403, "api_key"),
        (
            vec![("service_code", "nothing".into())],
            404,
            "service_code",
        ),
        (
            vec![("jurisdiction_id", "nowhere".into())],
            404,
            "jurisdiction_id",
        ),
        (
            vec![("lat", "91".into()), ("long", "116".into())],
            400,
            "lat",
        ),
        (vec![("lat", "x".into())], 400, "lat"),
        (vec![("long", "116".into())], 400, "lat"),
        (vec![("phone", "12".into())], 400, "phone"),
        (vec![("email", "nobody".into())], 400, "email"),
        (
            vec![("media_url", "javascript:alert(1)".into())],
            400,
            "media_url",
        ),
        (vec![("description", "长".repeat(2001))], 400, "description"),
        (vec![("first_name", "名".repeat(65))], 400, "first_name"),
        (
            vec![("address_string", "址".repeat(201))],
            400,
            "address_string",
        ),
        (vec![("device_id", "d".repeat(129))], 400, "device_id"),
        (
            vec![("attribute[urgency]", "soon".into())],
            400,
            "attribute[urgency]",
        ),
        (
            vec![("attribute[colour]", "red".into())],
            400,
            "attribute[colour]",
        ),
        (
            vec![("attribute[window_end]", "2020-01-01T00:00:00Z".into())],
            400,
            "attribute[window_start]",
        ),
        (vec![("address_id", "7".into())], 400, "address_id"),
        (vec![("surprise", "1".into())], 400, "surprise"),
    ] {
        let r = send_owned(&w, good(&extra)).await;
        let e = errors_of(&r, status);
        assert!(e.iter().any(|e| e.starts_with(param)), "{extra:?}: {e:?}");
    }
    // No key at all, a place missing, a body not form-encoded.
    let e = errors_of(
        &post(
            &w,
            "json",
            &[("service_code", "errands"), ("address_string", "x")],
        )
        .await,
        401,
    );
    assert!(e[0].starts_with("api_key"));
    let e = errors_of(
        &post(
            &w,
            "json",
            &[("api_key", &key), ("service_code", "errands")],
        )
        .await,
        400,
    );
    assert!(e[0].contains("address_string"));
    let r = w
        .app
        .send(
            w.app
                .req(Method::POST, &format!("{BASE}/requests.json"))
                .json(&json!({"api_key": key})),
        )
        .await;
    errors_of(&r, 415);
    // A revoked key stops at once, for writes and reads.
    let clients = w
        .app
        .get(
            &format!("/api/v1/communities/{}/clients", w.c),
            &w.app.admin,
        )
        .await
        .expect(200);
    for c in clients.items() {
        w.app
            .delete(
                &format!("/api/v1/clients/{}", c["id"].as_str().unwrap()),
                &w.app.admin,
            )
            .await
            .expect(204);
    }
    errors_of(&send_owned(&w, good(&[])).await, 401);
    errors_of(&get(&w, &format!("requests.json?api_key={key}")).await, 401);
    assert_eq!(count(&w, INTAKES).await, 0);
    assert_eq!(count(&w, REQUESTS).await, 0);
}

#[tokio::test]
async fn a_key_is_good_for_its_own_jurisdiction_only() {
    let w = world(0, json!({})).await;
    let key = client_secret(&w, &["open311"]).await;
    let c2 = w.app.community("第二社区").await;
    let code2 = w
        .app
        .get(&format!("/api/v1/communities/{c2}"), &w.app.admin)
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_string();
    // The key names its community: no jurisdiction_id needed, another one refused.
    get(&w, &format!("requests.json?api_key={key}"))
        .await
        .expect(200);
    let e = errors_of(
        &get(
            &w,
            &format!("requests.json?api_key={key}&jurisdiction_id={code2}"),
        )
        .await,
        403,
    );
    assert!(e[0].starts_with("api_key"));
    let r = post(
        &w,
        "json",
        &[
            ("api_key", &key),
            ("jurisdiction_id", &code2),
            ("service_code", "errands"),
            ("address_string", "x"),
        ],
    )
    .await;
    errors_of(&r, 403);
}

#[tokio::test]
async fn reads_without_a_key_are_limited_per_address() {
    let w = world(0, json!({})).await;
    let mut limited = None;
    for i in 0..200 {
        let r = get(&w, "discovery.json").await;
        if r.status == 429 {
            limited = Some((i, r));
            break;
        }
        assert_eq!(r.status, 200);
    }
    let (i, r) = limited.expect("limited within 200 reads");
    // HUYING_ADDRESS_RATE_BURST: 30 reads at once.
    assert!(i >= 25, "after the burst: {i}");
    assert!(r.header("retry-after").is_some());
    errors_of(&r, 429);
    // A key holder is not limited as an address.
    let key = client_secret(&w, &["open311"]).await;
    get(&w, &format!("services.json?api_key={key}"))
        .await
        .expect(200);
}
