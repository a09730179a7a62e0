//! WeChat subscription messages end to end: the relay queues one per person told who has a
//! WeChat identity in an app serving the community, when the community maps the event kind to a
//! template; the sender sends it to a stand-in WeChat, renewing the token when WeChat says it
//! expired, retrying what may succeed later, and giving up on what cannot.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::help_requests::{World, world_on};
use crate::helpers::spawn_with;
use crate::wechat_stand_in::{APP_ID, Reply, SECRET, StandIn, free_port};
use huying::services::delivery::relay;
use huying::services::delivery::wechat::sender;

pub const OPENID: &str = "oRes1dent-0000000000000000_1";

/// The community maps acceptance (for the resident) to a template; offers are not mapped.
pub fn wechat_policy() -> Value {
    json!({"wechat": {"templates": {
        "help_request.accepted": {
            "template_id": "TPL_accepted-1",
            "page": "pages/request/detail?id={object_id}",
            "fields": {
                "thing1": {"kind": "thing", "from": "service"},
                "phrase2": {"kind": "phrase", "from": "text", "text": "志愿者已经接单"},
                "time3": {"kind": "time", "from": "event_time"},
                "thing4": {"kind": "thing", "from": "title"}
            }
        }
    }}})
}

pub struct Wx {
    pub w: World,
    pub stand_in: Option<StandIn>,
    pub resident_user: String,
}

/// A world whose WeChat is at `base`, with the app registered for the community and the
/// resident's identity recorded by a dispatcher.
/// `live`: the relay and the sender run in the background, as in production.
pub async fn wx_world_at(base: String, stand_in: Option<StandIn>, live: bool) -> Wx {
    let app = spawn_with(|c| {
        c.wechat_api_base = base;
        if live {
            c.relay_interval = std::time::Duration::from_millis(50);
            c.wechat_send_interval = std::time::Duration::from_millis(50);
        }
    })
    .await;
    let w = world_on(app, 1, wechat_policy()).await;
    let app = &w.app;
    let created = app
        .post(
            "/api/v1/wechat-apps",
            &app.admin,
            json!({"app_id": APP_ID, "name": "呼应小程序", "secret": SECRET, "community_ids": [w.c]}),
        )
        .await
        .expect(201);
    assert!(!created.body.to_string().contains(SECRET));
    let resident_user = app
        .get("/api/v1/me", &w.resident_token)
        .await
        .expect(200)
        .id();
    app.put(
        &format!("/api/v1/users/{resident_user}/wechat"),
        &w.dispatcher,
        json!({"app_id": APP_ID, "openid": OPENID}),
    )
    .await
    .expect(200);
    Wx {
        w,
        stand_in,
        resident_user,
    }
}

pub async fn wx_world() -> Wx {
    let s = StandIn::start();
    wx_world_at(s.base.clone(), Some(s), false).await
}

impl Wx {
    fn stand_in(&self) -> &StandIn {
        self.stand_in.as_ref().expect("a stand-in")
    }

    /// A request placed by the dispatcher and accepted by the volunteer, handed over.
    pub async fn accepted(&self) -> String {
        let id = self
            .w
            .place(&self.w.dispatcher, json!({}))
            .await
            .expect(201)
            .id();
        let offer = self.w.open_offers(&id).await.remove(0);
        self.w.accept(&offer).await.expect(200);
        relay::relay(&self.w.app.state, Utc::now()).await.unwrap();
        id
    }

    pub async fn send(&self, at: DateTime<Utc>) -> usize {
        sender::send_due(&self.w.app.state, at).await.unwrap()
    }

    pub async fn messages(&self, query: &str) -> Vec<Value> {
        self.w
            .app
            .get(
                &format!("/api/v1/communities/{}/wechat-messages{query}", self.w.c),
                &self.w.dispatcher,
            )
            .await
            .expect(200)
            .items()
    }

    async fn only_message(&self) -> Value {
        let mut all = self.messages("").await;
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }
}

#[tokio::test]
async fn an_accepted_request_reaches_the_residents_wechat_with_the_templates_fields() {
    let wx = wx_world().await;
    let id = wx.accepted().await;
    // Queued for the resident only: the volunteer's offer is not mapped, and the dispatcher who
    // placed it has no WeChat identity (the inbox still tells both).
    let queued = wx.only_message().await;
    assert_eq!(queued["status"], "pending");
    assert_eq!(queued["kind"], "help_request.accepted");
    assert_eq!(queued["user_id"], wx.resident_user.as_str());
    assert_eq!(queued["app_id"], APP_ID);
    assert_eq!(queued["object"]["id"], id.as_str());
    assert_eq!(queued["attempts"], 0);

    assert_eq!(wx.send(Utc::now()).await, 1);
    let (taken, problems) = wx
        .stand_in()
        .seen(|s| (s.taken.clone(), s.problems.clone()));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(taken.len(), 1);
    let m = &taken[0];
    assert_eq!(m["touser"], OPENID);
    assert_eq!(m["template_id"], "TPL_accepted-1");
    assert_eq!(m["page"], format!("pages/request/detail?id={id}"));
    assert_eq!(m["miniprogram_state"], "formal");
    assert_eq!(m["lang"], "zh_CN");
    assert_eq!(m["data"]["thing1"]["value"], "代购");
    assert_eq!(
        m["data"]["phrase2"]["value"], "志愿者已经",
        "cut to a phrase's 5 characters"
    );
    assert_eq!(m["data"]["thing4"]["value"], "已有志愿者接单");
    let time = m["data"]["time3"]["value"].as_str().unwrap();
    assert!(
        time.starts_with(&Utc::now().format("%Y年").to_string()) && time.contains(':'),
        "{time}"
    );

    let sent = wx.only_message().await;
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["attempts"], 1);
    assert!(sent["sent_at"].is_string() && sent["last_error"].is_null());
    // Sent once: nothing is due any more, and the relay queues nothing twice.
    assert_eq!(wx.send(Utc::now() + Duration::hours(2)).await, 0);
    relay::relay(&wx.w.app.state, Utc::now()).await.unwrap();
    assert_eq!(wx.messages("").await.len(), 1);
    assert_eq!(wx.stand_in().seen(|s| s.token_requests.len()), 1);
}

#[tokio::test]
async fn the_background_sender_sends_what_the_background_relay_queued() {
    let s = StandIn::start();
    let wx = wx_world_at(s.base.clone(), Some(s), true).await;
    let id =
        wx.w.place(&wx.w.dispatcher, json!({}))
            .await
            .expect(201)
            .id();
    let offer = wx.w.open_offers(&id).await.remove(0);
    wx.w.accept(&offer).await.expect(200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let sent = wx.messages("?status=sent").await;
        if sent.len() == 1 {
            assert_eq!(sent[0]["object"]["id"], id.as_str());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not sent in time");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(wx.stand_in().seen(|s| s.taken.len()), 1);
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_message_sent_again_in_the_same_attempt() {
    let wx = wx_world().await;
    wx.accepted().await;
    // A first message caches the token; then WeChat expires it.
    wx.send(Utc::now()).await;
    wx.accepted().await;
    wx.stand_in().script(&[Reply::ExpireToken]);
    assert_eq!(wx.send(Utc::now()).await, 1);
    let (messages, taken, tokens) = wx
        .stand_in()
        .seen(|s| (s.messages.len(), s.taken.len(), s.token_requests.clone()));
    assert_eq!((messages, taken), (3, 2), "refused once, then resent");
    assert_eq!(tokens, [false, false], "fetched once, renewed once");
    let statuses: Vec<_> = wx
        .messages("")
        .await
        .iter()
        .map(|m| (m["status"].clone(), m["attempts"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [(json!("sent"), json!(1)), (json!("sent"), json!(1))]
    );
}

#[tokio::test]
async fn a_person_who_has_not_subscribed_is_refused_for_good() {
    let wx = wx_world().await;
    wx.accepted().await;
    wx.stand_in().script(&[Reply::Errcode(43101)]);
    wx.send(Utc::now()).await;
    let m = wx.only_message().await;
    assert_eq!(m["status"], "refused");
    assert!(m["last_error"].as_str().unwrap().contains("43101"));
    assert!(m["next_attempt_at"].is_null());
    assert_eq!(wx.send(Utc::now() + Duration::days(1)).await, 0);
    assert_eq!(wx.stand_in().seen(|s| s.messages.len()), 1);
    assert_eq!(wx.messages("?status=refused").await.len(), 1);
    assert!(wx.messages("?status=pending").await.is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_with_back_off_until_wechat_takes_the_message() {
    let wx = wx_world().await;
    wx.accepted().await;
    wx.stand_in()
        .script(&[Reply::Status(500), Reply::Errcode(-1)]);
    let t0 = Utc::now();
    wx.send(t0).await;
    let m = wx.only_message().await;
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(m["last_error"], "HTTP 500");
    let next: DateTime<Utc> = m["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (next - t0 - Duration::seconds(5)).num_milliseconds().abs() < 1000,
        "{next}"
    );
    // Not due before its time.
    assert_eq!(wx.send(t0 + Duration::seconds(3)).await, 0);

    let t1 = t0 + Duration::seconds(6);
    assert_eq!(wx.send(t1).await, 1);
    let m = wx.only_message().await;
    assert_eq!(m["attempts"], 2);
    assert!(m["last_error"].as_str().unwrap().contains("errcode -1"));
    assert_eq!(
        wx.send(t1 + Duration::seconds(20)).await,
        0,
        "30 s later, not 20"
    );

    assert_eq!(wx.send(t1 + Duration::seconds(31)).await, 1);
    let m = wx.only_message().await;
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("sent"), Some(3))
    );
    assert_eq!(wx.stand_in().seen(|s| s.taken.len()), 1);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_given_up_after_the_last_retry() {
    let wx = wx_world().await;
    wx.accepted().await;
    wx.stand_in().script(&[
        Reply::Errcode(-1),
        Reply::Errcode(45009),
        Reply::Status(503),
        Reply::Errcode(-1),
        Reply::Errcode(-1),
        Reply::Status(502),
    ]);
    let mut t = Utc::now();
    for attempt in 1..=6 {
        assert_eq!(wx.send(t).await, 1, "attempt {attempt}");
        t += Duration::hours(2);
    }
    let m = wx.only_message().await;
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("failed"), Some(6))
    );
    assert_eq!(m["last_error"], "HTTP 502");
    assert_eq!(wx.send(t + Duration::days(1)).await, 0);
    assert_eq!(wx.stand_in().seen(|s| s.taken.len()), 0);
}

#[tokio::test]
async fn an_unreachable_wechat_is_tried_again_and_no_secret_reaches_a_log_or_an_answer() {
    crate::logging::capture_logs();
    let port = free_port();
    let wx = wx_world_at(format!("http://127.0.0.1:{port}"), None, false).await;
    wx.accepted().await;
    let t0 = Utc::now();
    wx.send(t0).await;
    let m = wx.only_message().await;
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("pending"), Some(1))
    );
    let error = m["last_error"].as_str().unwrap();
    assert!(error.starts_with("network: "), "{error}");

    // WeChat comes back where it was.
    let stand_in = StandIn::start_on(port);
    assert_eq!(wx.send(t0 + Duration::seconds(6)).await, 1);
    let m = wx.only_message().await;
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("sent"), Some(2))
    );
    assert_eq!(stand_in.seen(|s| s.taken.len()), 1);

    // Neither the secret nor a token appears in an answer or a log line.
    let app = &wx.w.app;
    let apps = app.get("/api/v1/wechat-apps", &app.admin).await.expect(200);
    for body in [
        apps.body.to_string(),
        json!(wx.messages("").await).to_string(),
    ] {
        assert!(!body.contains("wechat-leak-"), "{body}");
    }
    let leaked: Vec<String> = crate::logging::LOGS
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("wechat-leak-"))
        .cloned()
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

#[tokio::test]
async fn senders_running_at_once_send_each_message_once() {
    let wx = wx_world().await;
    // As many as the volunteer may hold at once.
    for _ in 0..3 {
        wx.accepted().await;
    }
    let state = &wx.w.app.state;
    let now = Utc::now();
    let (a, b, c) = tokio::join!(
        sender::send_due(state, now),
        sender::send_due(state, now),
        sender::send_due(state, now)
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 3);
    let taken = wx.stand_in().seen(|s| s.taken.clone());
    assert_eq!(taken.len(), 3);
    let mut pages: Vec<_> = taken.iter().map(|m| m["page"].to_string()).collect();
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), 3, "three requests, one message each");
    assert_eq!(wx.messages("?status=sent").await.len(), 3);
}

#[tokio::test]
async fn nothing_is_queued_without_a_template_an_identity_or_an_app_serving_the_community() {
    let wx = wx_world().await;
    let app = &wx.w.app;
    // The volunteer's offer kind is not mapped; started is not mapped either.
    let id = wx.accepted().await;
    wx.w.act(&id, "start", &wx.w.vols[0].1, json!({}))
        .await
        .expect(200);
    relay::relay(&app.state, Utc::now()).await.unwrap();
    assert_eq!(wx.messages("").await.len(), 1, "only the acceptance");

    // The app stops serving the community: nothing more is queued.
    let apps = app.get("/api/v1/wechat-apps", &app.admin).await.expect(200);
    let app_row = &apps.items()[0];
    let path = format!("/api/v1/wechat-apps/{}", app_row["id"].as_str().unwrap());
    let etag = format!("\"{}\"", app_row["version"]);
    app.patch(&path, &app.admin, &etag, json!({"community_ids": []}))
        .await
        .expect(200);
    wx.accepted().await;
    assert_eq!(wx.messages("").await.len(), 1);

    // Back in service, but the resident's identity is forgotten: nothing either.
    let current = app.get(&path, &app.admin).await.expect(200);
    app.patch(
        &path,
        &app.admin,
        &current.etag(),
        json!({"community_ids": [wx.w.c]}),
    )
    .await
    .expect(200);
    app.delete(
        &format!("/api/v1/users/{}/wechat", wx.resident_user),
        &wx.w.dispatcher,
    )
    .await
    .expect(204);
    wx.accepted().await;
    assert_eq!(wx.messages("").await.len(), 1);
}

#[tokio::test]
async fn only_the_communitys_staff_see_its_wechat_messages() {
    let wx = wx_world().await;
    wx.accepted().await;
    let app = &wx.w.app;
    let path = format!("/api/v1/communities/{}/wechat-messages", wx.w.c);
    app.get(&path, &wx.w.vols[0].1)
        .await
        .problem(403, "forbidden");
    app.get(&path, &wx.w.resident_token)
        .await
        .problem(403, "forbidden");
    let other = app.community("另一个社区").await;
    let (_, outsider) = app.user("dispatcher", Some(&other)).await;
    app.get(&path, &outsider).await.problem(404, "not_found");
    app.get(&format!("{path}?status=lost"), &wx.w.dispatcher)
        .await
        .problem(400, "invalid_query");
    assert_eq!(
        app.get(&path, &app.admin).await.expect(200).items().len(),
        1
    );
}
