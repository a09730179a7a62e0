//! The mini-program sign-in against a stand-in WeChat: a `wx.login` code to tokens for someone
//! bound, a binding ticket for anyone else, binding by a WeChat-verified phone (creating a
//! registered resident's account) or by login and password, unbinding; every WeChat failure as a
//! problem document, replayed codes and tickets, and nothing stored when a request is refused.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Resp, TestApp, on_test_db, spawn_with};
use crate::wechat_stand_in::{APP_ID, Reply, SECRET, StandIn, free_port};

const RESIDENT_PHONE: &str = "13812340001";
const OPENID: &str = "oSunDaNiang00000000000000_01";

struct Wl {
    app: TestApp,
    wx: StandIn,
    /// The community the app serves.
    c: String,
    /// A community it does not serve.
    other: String,
}

async fn world_with(base: Option<String>) -> Wl {
    let wx = StandIn::start();
    let to = base.unwrap_or_else(|| wx.base.clone());
    let app = spawn_with(|c| c.wechat_api_base = to).await;
    let c = app.community("电力社区").await;
    let other = app.community("别的社区").await;
    app.post(
        "/api/v1/wechat-apps",
        &app.admin,
        json!({"app_id": APP_ID, "name": "呼应小程序", "secret": SECRET, "community_ids": [c]}),
    )
    .await
    .expect(201);
    Wl { app, wx, c, other }
}

async fn world() -> Wl {
    world_with(None).await
}

/// How many rows `sql` (a `select count(*)`) counts.
async fn count(app: &TestApp, sql: &'static str) -> i64 {
    on_test_db!(app, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

const TICKETS: &str = "select count(*) from wechat_binding_tickets";
const IDENTITIES: &str = "select count(*) from wechat_identities";
const USERS: &str = "select count(*) from users";
const REFRESH_TOKENS: &str = "select count(*) from refresh_tokens";

impl Wl {
    async fn post(&self, path: &str, body: Value) -> Resp {
        self.app
            .send(self.app.req(Method::POST, path).json(&body))
            .await
    }

    async fn login(&self, code: &str) -> Resp {
        self.post(
            "/api/v1/auth/wechat/login",
            json!({"app_id": APP_ID, "code": code}),
        )
        .await
    }

    async fn bind(&self, body: Value) -> Resp {
        self.post("/api/v1/auth/wechat/bind", body).await
    }

    /// Signs in as `openid`, who is bound to nobody: the binding ticket.
    async fn ticket(&self, openid: &str) -> String {
        let r = self
            .login(&self.wx.login_code(openid, Some("uUnion-1")))
            .await
            .expect(200);
        assert_eq!(r.body["binding_required"], true, "{}", r.body);
        assert!(r.body.get("access_token").is_none());
        r.body["binding_ticket"].as_str().unwrap().to_string()
    }

    /// A registered resident without an account; their id.
    async fn resident(&self, community: &str, phone: &str) -> String {
        self.app
            .resident(community, json!({"name": "孙大娘", "phone": phone}))
            .await
            .expect(201)
            .id()
    }

    /// An account with a password (and a phone), holding `role` in `community`; its id.
    async fn account(&self, username: &str, phone: Option<&str>, community: &str) -> String {
        self.app
            .post(
                "/api/v1/users",
                &self.app.admin,
                json!({"username": username, "phone": phone, "display_name": "王志愿",
                       "password": PASSWORD,
                       "roles": [{"role": "volunteer", "community_id": community}]}),
            )
            .await
            .expect(201)
            .id()
    }

    async fn me(&self, tokens: &Resp) -> Value {
        let token = tokens.body["access_token"]
            .as_str()
            .expect("an access token");
        self.app.get("/api/v1/me", token).await.expect(200).body
    }

    async fn audit(&self, community: &str, action: &str) -> Vec<Value> {
        self.app
            .get(
                &format!("/api/v1/communities/{community}/audit-log?action={action}"),
                &self.app.admin,
            )
            .await
            .expect(200)
            .items()
    }

    async fn stored(&self) -> (i64, i64, i64, i64) {
        (
            count(&self.app, TICKETS).await,
            count(&self.app, IDENTITIES).await,
            count(&self.app, USERS).await,
            count(&self.app, REFRESH_TOKENS).await,
        )
    }
}

#[tokio::test]
async fn a_bound_person_signs_in_with_a_code_and_gets_the_tokens_of_a_password_login() {
    let w = world().await;
    let user = w.account("wangzy", None, &w.c).await;
    w.app
        .put(
            &format!("/api/v1/users/{user}/wechat"),
            &w.app.admin,
            json!({"app_id": APP_ID, "openid": OPENID}),
        )
        .await
        .expect(200);

    let r = w.login(&w.wx.login_code(OPENID, None)).await.expect(200);
    let mut keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(w.me(&r).await["id"], user.as_str());
    // The refresh token is a login's like any other.
    let refreshed = w
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": r.body["refresh_token"]}),
        )
        .await
        .expect(200);
    assert_eq!(w.me(&refreshed).await["id"], user.as_str());
    assert_eq!(count(&w.app, TICKETS).await, 0);
    w.login("0NeverIssuedCode").await.expect(401);
    let metrics = w.app.text("/metrics").await;
    for line in [
        r#"huying_wechat_calls_total{call="jscode2session",result="ok"} 1"#,
        r#"huying_wechat_calls_total{call="jscode2session",result="errcode"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn a_registered_residents_verified_phone_creates_their_account_and_binds_it() {
    let w = world().await;
    let resident = w.resident(&w.c, RESIDENT_PHONE).await;
    let users_before = count(&w.app, USERS).await;

    let ticket = w.ticket(OPENID).await;
    // Kept as a hash, with what WeChat said and never its session_key.
    for (key, stored) in [
        (ticket.clone(), 0),
        (huying::crypto::token_hash(&ticket), 1),
    ] {
        let n: i64 = on_test_db!(w.app, p => sqlx::query_scalar(
            "select count(*) from wechat_binding_tickets where hash = $1")
            .bind(&key).fetch_one(p).await)
        .unwrap();
        assert_eq!(n, stored);
    }
    let r = w
        .bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .expect(200);
    assert!(r.body["refresh_token"].is_string());
    let me = w.me(&r).await;
    let user = me["id"].as_str().unwrap().to_string();
    assert_eq!(me["phone"], RESIDENT_PHONE);
    assert_eq!(me["display_name"], "孙大娘");
    assert_eq!(me["roles"][0]["role"], "resident");
    assert_eq!(me["roles"][0]["community_id"], w.c.as_str());
    assert_eq!(me["records"][0]["resident_ids"][0], resident.as_str());
    assert_eq!(count(&w.app, USERS).await, users_before + 1);

    // The record is linked, the identity recorded, the ticket spent, and the audit log says so.
    let record = w
        .app
        .get(&format!("/api/v1/residents/{resident}"), &w.app.admin)
        .await
        .expect(200);
    assert_eq!(record.body["user_id"], user.as_str());
    assert_eq!(record.body["version"], 2);
    let identity = w
        .app
        .get(&format!("/api/v1/users/{user}/wechat"), &w.app.admin)
        .await
        .expect(200);
    assert_eq!(identity.body["openid"], OPENID);
    assert_eq!(
        count(
            &w.app,
            "select count(*) from wechat_identities where unionid = 'uUnion-1'"
        )
        .await,
        1
    );
    assert_eq!(count(&w.app, TICKETS).await, 0);
    let bound = w.audit(&w.c, "wechat.bind").await;
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0]["object_id"], user.as_str());
    assert_eq!(bound[0]["reason"], "by phone");
    let created = w.audit(&w.c, "resident.account_created").await;
    assert_eq!(created[0]["object_id"], resident.as_str());

    // The ticket was good once.
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .problem(401, "binding_ticket_invalid");
    // From now on a code signs her in at once.
    let again = w.login(&w.wx.login_code(OPENID, None)).await.expect(200);
    assert_eq!(w.me(&again).await["id"], user.as_str());
}

#[tokio::test]
async fn a_phone_of_an_existing_account_binds_that_account() {
    let w = world().await;
    let phone = "13812340002";
    let user = w.account("wangzy", Some(phone), &w.c).await;
    let users_before = count(&w.app, USERS).await;
    let ticket = w.ticket(OPENID).await;
    let r = w
        .bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(phone)}))
        .await
        .expect(200);
    assert_eq!(w.me(&r).await["id"], user.as_str());
    assert_eq!(count(&w.app, USERS).await, users_before);

    // A resident record linked to an account binds that account by the record's phone, and the
    // account's WeChat identity becomes the new one (one per account).
    let linked_phone = "13812340003";
    w.app
        .resident(
            &w.c,
            json!({"name": "李大爷", "phone": linked_phone, "user_id": user}),
        )
        .await
        .expect(201);
    let ticket = w.ticket("oLiDaYe000000000000000000_02").await;
    let r = w
        .bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(linked_phone)}))
        .await
        .expect(200);
    assert_eq!(w.me(&r).await["id"], user.as_str());
    assert_eq!(count(&w.app, USERS).await, users_before);
    let identity = w
        .app
        .get(&format!("/api/v1/users/{user}/wechat"), &w.app.admin)
        .await
        .expect(200);
    assert_eq!(identity.body["openid"], "oLiDaYe000000000000000000_02");
    assert_eq!(count(&w.app, IDENTITIES).await, 1);
}

#[tokio::test]
async fn binding_by_login_and_password_checks_them_as_a_login_does() {
    let w = world().await;
    let user = w.account("wangzy", None, &w.c).await;
    let ticket = w.ticket(OPENID).await;
    let before = w.stored().await;

    let wrong = json!({"binding_ticket": ticket, "login": "wangzy", "password": "wrong-password"});
    w.bind(wrong.clone())
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(w.stored().await, before, "a refused bind stores nothing");

    let r = w
        .bind(json!({"binding_ticket": ticket, "login": "wangzy", "password": PASSWORD}))
        .await
        .expect(200);
    assert_eq!(w.me(&r).await["id"], user.as_str());
    let bound = w.audit(&w.c, "wechat.bind").await;
    assert_eq!(bound[0]["reason"], "by password");

    // The same lockout as the login: five failures lock the account, for the login too.
    let ticket = w.ticket("oOther0000000000000000000_03").await;
    for _ in 0..5 {
        w.bind(json!({"binding_ticket": ticket, "login": "wangzy", "password": "wrong-password"}))
            .await
            .problem(401, "invalid_credentials");
    }
    let locked = w
        .bind(json!({"binding_ticket": ticket, "login": "wangzy", "password": PASSWORD}))
        .await
        .problem(429, "too_many_attempts");
    assert!(locked.header("retry-after").is_some());
    w.app
        .login_resp("wangzy", PASSWORD)
        .await
        .problem(429, "too_many_attempts");
}

#[tokio::test]
async fn an_unknown_phone_and_a_community_the_app_does_not_serve_are_refused_storing_nothing() {
    let w = world().await;
    w.resident(&w.other, "13812340009").await;
    w.account("elsewhere", None, &w.other).await;
    let ticket = w.ticket(OPENID).await;
    let before = w.stored().await;

    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code("13899990000")}))
        .await
        .problem(422, "phone_not_registered");
    // Another country's number is nobody's here either.
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code("+1 2025550123")}))
        .await
        .problem(422, "phone_not_registered");
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code("13812340009")}))
        .await
        .problem(403, "wechat_app_not_serving");
    w.bind(json!({"binding_ticket": ticket, "login": "elsewhere", "password": PASSWORD}))
        .await
        .problem(403, "wechat_app_not_serving");
    assert_eq!(w.stored().await, before);
    assert!(w.audit(&w.other, "wechat.bind").await.is_empty());

    // Two residents sharing one phone: which one is signing in is not for us to guess.
    w.resident(&w.c, "13812340010").await;
    w.resident(&w.c, "13812340010").await;
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code("13812340010")}))
        .await
        .problem(409, "phone_ambiguous");
    assert_eq!(w.stored().await, before);

    // The ticket is still good for a proof that works.
    w.resident(&w.c, RESIDENT_PHONE).await;
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .expect(200);
}

#[tokio::test]
async fn wechats_failures_on_sign_in_are_problem_documents_and_store_nothing() {
    let w = world().await;
    let before = w.stored().await;
    // A code WeChat never issued, and one used already.
    w.login("0NeverIssuedCode")
        .await
        .problem(401, "wechat_code_invalid");
    let code = w.wx.login_code(OPENID, None);
    w.login(&code).await.expect(200);
    let after_ticket = w.stored().await;
    w.login(&code).await.problem(401, "wechat_code_invalid");
    assert_eq!(w.stored().await, after_ticket);

    w.wx.script_sessions(&[Reply::Errcode(45011)]);
    let limited = w
        .login(&w.wx.login_code(OPENID, None))
        .await
        .problem(429, "wechat_rate_limited");
    assert_eq!(limited.header("retry-after"), Some("60"));
    for reply in [Reply::Status(502), Reply::Errcode(-1)] {
        w.wx.script_sessions(&[reply]);
        let r = w
            .login(&w.wx.login_code(OPENID, None))
            .await
            .problem(503, "wechat_unavailable");
        assert!(r.header("retry-after").is_some());
    }
    assert_eq!(w.stored().await, after_ticket);
    assert_eq!(after_ticket.0, before.0 + 1);

    // Unknown, malformed and deactivated apps are refused before WeChat is asked.
    let calls = w.wx.seen(|s| s.session_calls);
    w.post(
        "/api/v1/auth/wechat/login",
        json!({"app_id": "wx00000000000000ff", "code": "abc"}),
    )
    .await
    .problem(422, "unknown_wechat_app");
    let bad = w
        .post(
            "/api/v1/auth/wechat/login",
            json!({"app_id": "not-an-app", "code": ""}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [
            ("app_id".to_string(), "invalid_value".to_string()),
            ("code".to_string(), "required".to_string())
        ]
    );
    w.post(
        "/api/v1/auth/wechat/login",
        json!({"app_id": APP_ID, "code": "x".repeat(129)}),
    )
    .await
    .problem(422, "validation_failed");
    w.post(
        "/api/v1/auth/wechat/login",
        json!({"app_id": APP_ID, "code": "abc", "session_key": "x"}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(w.wx.seen(|s| s.session_calls), calls);
    assert_eq!(w.stored().await, after_ticket);

    // A deactivated app signs nobody in, and its tickets bind nobody.
    w.resident(&w.c, RESIDENT_PHONE).await;
    let ticket = w.ticket(OPENID).await;
    let app_row = w
        .app
        .get("/api/v1/wechat-apps", &w.app.admin)
        .await
        .expect(200)
        .item_ids()[0]
        .clone();
    w.app
        .delete(&format!("/api/v1/wechat-apps/{app_row}"), &w.app.admin)
        .await
        .expect(204);
    let code = w.wx.login_code(OPENID, None);
    w.login(&code).await.problem(422, "unknown_wechat_app");
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .problem(401, "binding_ticket_invalid");
    assert_eq!(w.wx.seen(|s| s.session_calls), calls + 1);
    assert_eq!(count(&w.app, IDENTITIES).await, 0);
}

#[tokio::test]
async fn an_unreachable_wechat_is_503() {
    let w = world_with(Some(format!("http://127.0.0.1:{}", free_port()))).await;
    w.login("0SomeCode")
        .await
        .problem(503, "wechat_unavailable");
    assert_eq!(count(&w.app, TICKETS).await, 0);
}

#[tokio::test]
async fn wechats_failures_on_the_phone_code_are_problem_documents_and_keep_the_ticket() {
    let w = world().await;
    w.resident(&w.c, RESIDENT_PHONE).await;
    let ticket = w.ticket(OPENID).await;
    let before = w.stored().await;
    w.bind(json!({"binding_ticket": ticket, "phone_code": "neverIssuedPhoneCode"}))
        .await
        .problem(401, "wechat_code_invalid");
    let used = w.wx.phone_code("13899990000");
    w.bind(json!({"binding_ticket": ticket, "phone_code": used}))
        .await
        .problem(422, "phone_not_registered");
    w.bind(json!({"binding_ticket": ticket, "phone_code": used}))
        .await
        .problem(401, "wechat_code_invalid");
    w.wx.script_phones(&[Reply::Errcode(45011)]);
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .problem(429, "wechat_rate_limited");
    w.wx.script_phones(&[Reply::Status(500)]);
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .problem(503, "wechat_unavailable");
    assert_eq!(w.stored().await, before);
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .expect(200);
}

#[tokio::test]
async fn expired_unknown_and_malformed_tickets_and_requests_are_refused() {
    let w = world().await;
    w.resident(&w.c, RESIDENT_PHONE).await;
    let ticket = w.ticket(OPENID).await;
    let before = w.stored().await;
    let phone_calls = w.wx.seen(|s| s.phone_calls);

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"binding_ticket": ticket}), 422, "validation_failed"),
        (
            json!({"binding_ticket": ticket, "phone_code": "abc", "login": "a", "password": "b"}),
            422,
            "validation_failed",
        ),
        (
            json!({"binding_ticket": ticket, "login": "a"}),
            422,
            "validation_failed",
        ),
        (
            json!({"binding_ticket": ticket, "password": "a"}),
            422,
            "validation_failed",
        ),
        (
            json!({"binding_ticket": ticket, "phone_code": "x".repeat(129)}),
            422,
            "validation_failed",
        ),
        (
            json!({"binding_ticket": ticket, "phone_code": "abc", "openid": OPENID}),
            422,
            "validation_failed",
        ),
        (json!({"phone_code": "abc"}), 422, "validation_failed"),
        (
            json!({"binding_ticket": "", "phone_code": "abc"}),
            422,
            "validation_failed",
        ),
        (
            json!({"binding_ticket": "not-a-ticket", "phone_code": "abc"}),
            401,
            "binding_ticket_invalid",
        ),
        (
            json!({"binding_ticket": "A".repeat(43), "phone_code": "abc"}),
            401,
            "binding_ticket_invalid",
        ),
    ];
    for (body, status, code) in cases {
        let r = w.bind(body.clone()).await;
        assert_eq!((r.status, r.code()), (status, code), "{body}");
    }
    assert_eq!(w.wx.seen(|s| s.phone_calls), phone_calls);
    assert_eq!(w.stored().await, before);

    // Ten minutes later the ticket is no good, and the sweeper prunes it.
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    on_test_db!(w.app, p => sqlx::query("update wechat_binding_tickets set expires_at = $1")
        .bind(past).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .problem(401, "binding_ticket_invalid");
    huying::services::retention::prune(&w.app.state, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(count(&w.app, TICKETS).await, 0);
    assert_eq!(count(&w.app, IDENTITIES).await, 0);
}

#[tokio::test]
async fn two_binds_with_one_ticket_have_one_winner() {
    let w = world().await;
    w.account("wangzy", None, &w.c).await;
    let ticket = w.ticket(OPENID).await;
    let body = json!({"binding_ticket": ticket, "login": "wangzy", "password": PASSWORD});
    let (a, b) = tokio::join!(w.bind(body.clone()), w.bind(body.clone()));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 401], "{} {}", a.body, b.body);
    assert_eq!(count(&w.app, IDENTITIES).await, 1);
    assert_eq!(count(&w.app, TICKETS).await, 0);
}

#[tokio::test]
async fn unbinding_forgets_the_callers_identity_only() {
    let w = world().await;
    w.resident(&w.c, RESIDENT_PHONE).await;
    let ticket = w.ticket(OPENID).await;
    let sun = w
        .bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
        .await
        .expect(200);
    let sun_token = sun.body["access_token"].as_str().unwrap().to_string();
    let (other, other_token) = w.app.user("volunteer", Some(&w.c)).await;
    w.app
        .put(
            &format!("/api/v1/users/{other}/wechat"),
            &w.app.admin,
            json!({"app_id": APP_ID, "openid": "oOtherPerson0000000000000_04"}),
        )
        .await
        .expect(200);

    w.app
        .send(w.app.req(Method::DELETE, "/api/v1/me/wechat"))
        .await
        .problem(401, "missing_token");
    w.app
        .delete("/api/v1/me/wechat", &sun_token)
        .await
        .expect(204);
    w.app
        .delete("/api/v1/me/wechat", &sun_token)
        .await
        .problem(404, "not_found");
    assert_eq!(count(&w.app, IDENTITIES).await, 1, "the other's stays");
    let unbound = w.audit(&w.c, "wechat.unbind").await;
    assert_eq!(unbound.len(), 1);
    assert_eq!(unbound[0]["actor_id"], w.me(&sun).await["id"]);
    // The next sign-in asks to bind again; the other person still signs in at once.
    w.ticket(OPENID).await;
    let r = w
        .login(&w.wx.login_code("oOtherPerson0000000000000_04", None))
        .await
        .expect(200);
    assert_eq!(w.me(&r).await["id"], other.as_str());
    w.app
        .delete("/api/v1/me/wechat", &other_token)
        .await
        .expect(204);
}

#[tokio::test]
async fn a_disabled_account_bound_to_wechat_cannot_sign_in() {
    let w = world().await;
    let user = w.account("wangzy", None, &w.c).await;
    w.app
        .put(
            &format!("/api/v1/users/{user}/wechat"),
            &w.app.admin,
            json!({"app_id": APP_ID, "openid": OPENID}),
        )
        .await
        .expect(200);
    let u = w
        .app
        .get(&format!("/api/v1/users/{user}"), &w.app.admin)
        .await
        .expect(200);
    w.app
        .patch(
            &format!("/api/v1/users/{user}"),
            &w.app.admin,
            &u.etag(),
            json!({"active": false}),
        )
        .await
        .expect(200);
    w.login(&w.wx.login_code(OPENID, None))
        .await
        .problem(401, "user_disabled");
}

#[tokio::test]
async fn no_secret_or_session_key_reaches_an_answer_or_the_logs() {
    crate::logging::capture_logs();
    let w = world().await;
    w.resident(&w.c, RESIDENT_PHONE).await;
    let ticket = w.ticket(OPENID).await;
    let mut bodies = vec![];
    w.wx.script_sessions(&[Reply::Errcode(-1), Reply::Status(500)]);
    for _ in 0..2 {
        bodies.push(w.login(&w.wx.login_code(OPENID, None)).await.body);
    }
    w.wx.script_phones(&[Reply::Errcode(40013)]);
    bodies.push(
        w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
            .await
            .body,
    );
    bodies.push(
        w.bind(json!({"binding_ticket": ticket, "phone_code": w.wx.phone_code(RESIDENT_PHONE)}))
            .await
            .expect(200)
            .body,
    );
    let unreachable = world_with(Some(format!("http://127.0.0.1:{}", free_port()))).await;
    bodies.push(unreachable.login("0SomeCode").await.body);
    for b in &bodies {
        assert!(!b.to_string().contains("wechat-leak-"), "{b}");
    }
    let leaked: Vec<String> = crate::logging::LOGS
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("wechat-leak-"))
        .cloned()
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    // Nothing of WeChat's session is kept: the tickets keep the openid and unionid only.
    assert_eq!(
        count(&w.app, "select count(*) from wechat_identities where openid like '%leak%' or unionid like '%leak%'").await,
        0
    );
}
