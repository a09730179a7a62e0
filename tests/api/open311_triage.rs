//! 审单 over HTTP: staff list the Open311 requests that wait for a resident, link one (which
//! places the help request under the same id, followed through Open311 afterwards) or turn it
//! down (closed in Open311 with the reason), once only; who may; nothing written on a refusal.

use reqwest::Method;
use serde_json::{Value, json};

use crate::clients::{ALL_SCOPES, client_token, create_client};
use crate::help_requests::{World, world};
use crate::helpers::Resp;

async fn key(w: &World) -> String {
    let r = w
        .app
        .post(
            &format!("/api/v1/communities/{}/clients", w.c),
            &w.app.admin,
            json!({"name": "12345 热线", "scopes": ["open311"]}),
        )
        .await
        .expect(201);
    r.body["client_secret"].as_str().unwrap().to_string()
}

/// Posts an Open311 request over JSON; answers its `service_request_id`.
async fn post_open311(w: &World, key: &str, phone: &str, extra: &[(&str, &str)]) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.extend_pairs([
        ("api_key", key),
        ("service_code", "errands"),
        ("phone", phone),
    ]);
    f.extend_pairs(extra);
    let r = w
        .app
        .send(
            w.app
                .req(Method::POST, "/open311/v2/requests.json")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(f.finish()),
        )
        .await
        .expect(200);
    r.body[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A request from a caller no resident has the phone of: it waits in triage.
async fn pending(w: &World, key: &str) -> String {
    post_open311(
        w,
        key,
        "13900009999",
        &[
            ("last_name", "周"),
            ("first_name", "先生"),
            ("address_string", "电力小区5号楼"),
            ("lat", "36.0002"),
            ("long", "113.0003"),
            ("description", "邻居孙大娘需要买药"),
            ("attribute[urgency]", "urgent"),
        ],
    )
    .await
}

async fn followed(w: &World, id: &str) -> Value {
    let r = w
        .app
        .send(
            w.app
                .req(Method::GET, &format!("/open311/v2/requests/{id}.json")),
        )
        .await
        .expect(200);
    r.body[0].clone()
}

async fn state_of(w: &World, id: &str) -> Value {
    w.app
        .get(&format!("/api/v1/open311-requests/{id}"), &w.app.admin)
        .await
        .expect(200)
        .body["state"]
        .clone()
}

async fn count(w: &World, sql: &'static str) -> i64 {
    w.app.scalar(sql, &w.c).await
}

const REQUESTS: &str = "select count(*) from help_requests where community_id = $1";
const TRIAGE_AUDIT: &str = "select count(*) from audit_log where community_id = $1
    and action in ('open311_request.link', 'open311_request.reject')";

fn link(id: &str, token: &str, resident: &str) -> (String, String, Value) {
    (
        format!("/api/v1/open311-requests/{id}/link"),
        token.to_string(),
        json!({ "resident_id": resident }),
    )
}

async fn post(w: &World, (path, token, body): (String, String, Value)) -> Resp {
    w.app.post(&path, &token, body).await
}

#[tokio::test]
async fn staff_list_the_queue_in_pages_with_the_phone_masked() {
    let w = world(0, json!({})).await;
    let key = key(&w).await;
    let a = pending(&w, &key).await;
    let b = post_open311(
        &w,
        &key,
        "13700001111",
        &[("address_string", "电力小区7号楼")],
    )
    .await;
    let c = post_open311(
        &w,
        &key,
        "13700002222",
        &[("address_string", "电力小区8号楼")],
    )
    .await;
    // The resident's own phone: placed at once, not in the queue.
    let placed = post_open311(
        &w,
        &key,
        "13812345678",
        &[("address_string", "电力小区3号楼")],
    )
    .await;

    let list = format!("/api/v1/communities/{}/open311-requests", w.c);
    let first = w
        .app
        .get(&format!("{list}?state=pending&limit=2"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(first.item_ids(), [c.as_str(), b.as_str()], "newest first");
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = w
        .app
        .get(&format!("{list}?limit=2&cursor={cursor}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(second.item_ids(), [a.as_str()]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    assert!(!first.item_ids().contains(&placed));

    let one = &second.items()[0];
    assert_eq!(one["state"], "pending");
    assert_eq!(one["caller_name"], "周先生");
    assert_eq!(one["phone"], "139****9999");
    assert_eq!(one["address_string"], "电力小区5号楼");
    assert_eq!(one["location"], json!({"lat": 36.0002, "lng": 113.0003}));
    assert_eq!(one["service_code"], "errands");
    assert_eq!(one["service_name"], "代购");
    assert_eq!(one["description"], "邻居孙大娘需要买药");
    assert_eq!(one["urgency"], "urgent");
    assert!(one["requested_at"].is_string());

    let got = w
        .app
        .get(&format!("/api/v1/open311-requests/{a}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(got.body, *one);
    assert_eq!(got.etag(), "\"1\"");
    // The one placed at once is on record too, as placed.
    assert_eq!(state_of(&w, &placed).await, "placed");

    // Bad queries: 4xx problems.
    w.app
        .get(&format!("{list}?state=rejected"), &w.dispatcher)
        .await
        .expect(422);
    w.app
        .get(&format!("{list}?limit=0"), &w.dispatcher)
        .await
        .problem(422, "validation_failed");
    w.app
        .get(&format!("{list}?cursor=nonsense"), &w.dispatcher)
        .await
        .problem(422, "validation_failed");
    w.app
        .get("/api/v1/open311-requests/not-a-uuid", &w.dispatcher)
        .await
        .problem(400, "invalid_path");
    w.app
        .get(
            &format!("/api/v1/open311-requests/{}", uuid::Uuid::now_v7()),
            &w.dispatcher,
        )
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn linking_places_the_help_request_under_the_same_id_once() {
    let w = world(1, json!({})).await;
    let key = key(&w).await;
    let id = pending(&w, &key).await;
    assert!(
        followed(&w, &id).await["status_notes"]
            .as_str()
            .unwrap()
            .starts_with("待审单")
    );

    let r = post(&w, link(&id, &w.dispatcher, &w.resident))
        .await
        .expect(200);
    assert_eq!(r.body["state"], "placed");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.etag(), "\"2\"");

    // The help request carries the Open311 id, for the resident, as a third party's.
    let hr = w
        .app
        .get(&format!("/api/v1/help-requests/{id}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(hr.body["resident_id"], w.resident.as_str());
    assert_eq!(hr.body["channel"], "third_party");
    assert_eq!(hr.body["placed_as"], "third_party");
    assert_eq!(hr.body["urgency"], "urgent");
    assert_eq!(hr.body["description"], "邻居孙大娘需要买药");
    assert_eq!(count(&w, REQUESTS).await, 1);

    // Open311 follows it with our state now.
    let f = followed(&w, &id).await;
    assert_eq!(f["status"], "open");
    let notes = f["status_notes"].as_str().unwrap();
    assert!(!notes.starts_with("待审单"), "{notes}");
    assert!(f["expected_datetime"].is_string());
    let listed = w
        .app
        .send(w.app.req(Method::GET, "/open311/v2/requests.json"))
        .await
        .expect(200);
    let ids: Vec<_> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].clone())
        .collect();
    assert_eq!(ids, [json!(id)], "one row for it, not two");

    // Out of the queue; a second link or a reject is 409 and writes nothing.
    let list = format!("/api/v1/communities/{}/open311-requests", w.c);
    assert!(
        w.app
            .get(&list, &w.dispatcher)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
    post(&w, link(&id, &w.dispatcher, &w.resident))
        .await
        .problem(409, "open311_request_settled");
    w.app
        .post(
            &format!("/api/v1/open311-requests/{id}/reject"),
            &w.dispatcher,
            json!({"reason": "重复"}),
        )
        .await
        .problem(409, "open311_request_settled");
    assert_eq!(count(&w, REQUESTS).await, 1);
    assert_eq!(state_of(&w, &id).await, "placed");

    let audit = w
        .app
        .get(
            &format!("/api/v1/communities/{}/audit-log?object_id={id}", w.c),
            &w.app.admin,
        )
        .await
        .expect(200);
    let actions: Vec<_> = audit.items().iter().map(|a| a["action"].clone()).collect();
    assert_eq!(actions, [json!("open311_request.link")]);
}

#[tokio::test]
async fn a_rejected_request_is_closed_in_open311_with_the_reason() {
    let w = world(0, json!({})).await;
    let key = key(&w).await;
    let id = pending(&w, &key).await;
    let reject = format!("/api/v1/open311-requests/{id}/reject");
    // No reason, a blank one, an overlong one, an unknown field: 422, nothing written.
    for body in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "长".repeat(501)}),
        json!({"reason": "x", "note": "y"}),
    ] {
        w.app.post(&reject, &w.dispatcher, body).await.expect(422);
    }
    assert_eq!(state_of(&w, &id).await, "pending");
    assert_eq!(count(&w, TRIAGE_AUDIT).await, 0);

    let r = w
        .app
        .post(
            &reject,
            &w.dispatcher,
            json!({"reason": "非本社区居民，请拨打12345"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["state"], "rejected");
    assert_eq!(r.body["reject_reason"], "非本社区居民，请拨打12345");

    let f = followed(&w, &id).await;
    assert_eq!(f["status"], "closed");
    assert_eq!(f["status_notes"], "审单未受理：非本社区居民，请拨打12345");
    let xml = w
        .app
        .req(Method::GET, &format!("/open311/v2/requests/{id}.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let notes = doc
        .descendants()
        .find(|n| n.has_tag_name("status_notes"))
        .and_then(|n| n.text());
    assert_eq!(notes, Some("审单未受理：非本社区居民，请拨打12345"));

    w.app
        .post(&reject, &w.dispatcher, json!({"reason": "再拒"}))
        .await
        .problem(409, "open311_request_settled");
    post(&w, link(&id, &w.dispatcher, &w.resident))
        .await
        .problem(409, "open311_request_settled");
    assert_eq!(count(&w, REQUESTS).await, 0);
    let audit = w
        .app
        .get(
            &format!("/api/v1/communities/{}/audit-log?object_id={id}", w.c),
            &w.app.admin,
        )
        .await
        .expect(200);
    assert_eq!(audit.items().len(), 1);
    assert_eq!(audit.items()[0]["action"], "open311_request.reject");
    assert_eq!(audit.items()[0]["reason"], "非本社区居民，请拨打12345");
}

#[tokio::test]
async fn only_an_active_resident_of_the_community_can_be_linked() {
    let w = world(0, json!({})).await;
    let key = key(&w).await;
    let id = pending(&w, &key).await;

    let other = w.app.community("第二社区").await;
    let stranger = w
        .app
        .resident(
            &other,
            json!({"name": "外社区居民", "phone": "13900009999"}),
        )
        .await
        .expect(201)
        .id();
    let gone = w
        .app
        .resident(&w.c, json!({"name": "已迁出", "phone": "13900008888"}))
        .await
        .expect(201)
        .id();
    w.app
        .delete(&format!("/api/v1/residents/{gone}"), &w.app.admin)
        .await
        .expect(204);
    let unknown = uuid::Uuid::now_v7().to_string();
    for resident in [&stranger, &gone, &unknown] {
        let r = post(&w, link(&id, &w.dispatcher, resident))
            .await
            .expect(422);
        assert_eq!(
            r.field_codes(),
            [("resident_id".to_string(), "unknown_reference".to_string())]
        );
    }
    for body in [
        json!({}),
        json!({"resident_id": "nope"}),
        json!({"resident_id": w.resident, "x": 1}),
    ] {
        w.app
            .post(
                &format!("/api/v1/open311-requests/{id}/link"),
                &w.dispatcher,
                body,
            )
            .await
            .expect(422);
    }
    assert_eq!(count(&w, REQUESTS).await, 0);
    assert_eq!(count(&w, TRIAGE_AUDIT).await, 0);
    assert_eq!(state_of(&w, &id).await, "pending");

    // Registering the caller first, then linking: the usual way for a newcomer.
    let newcomer = w
        .app
        .resident(&w.c, json!({"name": "周先生", "phone": "13900009999"}))
        .await
        .expect(201)
        .id();
    post(&w, link(&id, &w.dispatcher, &newcomer))
        .await
        .expect(200);
    assert_eq!(count(&w, REQUESTS).await, 1);
}

#[tokio::test]
async fn only_staff_of_the_community_triage() {
    let w = world(1, json!({})).await;
    let key = key(&w).await;
    let id = pending(&w, &key).await;
    let app = &w.app;
    let (_, community_admin) = app.user("community_admin", Some(&w.c)).await;
    let other = app.community("第二社区").await;
    let (_, other_dispatcher) = app.user("dispatcher", Some(&other)).await;
    let (_, other_admin) = app.user("community_admin", Some(&other)).await;
    let created = create_client(app, &w.c, &ALL_SCOPES).await;
    let client = client_token(app, &created, None).await;

    let list = format!("/api/v1/communities/{}/open311-requests", w.c);
    let get = format!("/api/v1/open311-requests/{id}");
    let reject = format!("{get}/reject");
    let refused: [(&str, u16); 6] = [
        (&w.vols[0].1, 403),
        (&w.resident_token, 403),
        (&w.gw, 403),
        (&other_dispatcher, 404),
        (&other_admin, 404),
        (&client, 403),
    ];
    for (token, status) in refused {
        let r = app.get(&list, token).await;
        assert_eq!(r.status, status, "list: {}", r.body);
        let r = app.get(&get, token).await;
        assert_eq!(r.status, status, "get: {}", r.body);
        let r = post(&w, link(&id, token, &w.resident)).await;
        assert_eq!(r.status, status, "link: {}", r.body);
        let r = app.post(&reject, token, json!({"reason": "不受理"})).await;
        assert_eq!(r.status, status, "reject: {}", r.body);
    }
    app.get(&list, &client)
        .await
        .problem(403, "client_not_allowed");
    app.get(&list, "garbage").await.expect(401);
    assert_eq!(state_of(&w, &id).await, "pending");
    assert_eq!(count(&w, REQUESTS).await, 0);
    assert_eq!(count(&w, TRIAGE_AUDIT).await, 0);

    // The community's admins triage too, and so do deployment admins.
    assert_eq!(
        app.get(&list, &community_admin)
            .await
            .expect(200)
            .items()
            .len(),
        1
    );
    app.get(&get, &app.admin).await.expect(200);
    app.post(&reject, &community_admin, json!({"reason": "不受理"}))
        .await
        .expect(200);
}
