//! A stand-in for a third-party system: an HTTP server on 127.0.0.1 that records every webhook
//! it is sent and answers as the test says (up, failing, gone, slow); and a community with a
//! way to make events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, spawn_with};
use huying::config::Config;
use huying::services::delivery::relay;
use huying::services::delivery::webhooks::worker;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Up,
    Failing,
    Gone,
    Slow(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    mode: Arc<Mutex<Mode>>,
    got: Arc<Mutex<Vec<Got>>>,
}

/// A port nobody listens on (yet): connections to it are refused.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Receiver {
    pub fn start(mode: Mode) -> Self {
        Self::start_on(0, mode)
    }

    /// On `port` (0: any).
    pub fn start_on(port: u16, mode: Mode) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            mode: Arc::new(Mutex::new(mode)),
            got: Arc::default(),
        };
        let shared = web::Data::new(r.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(answer))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        r
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

async fn answer(req: HttpRequest, body: web::Bytes, r: web::Data<Receiver>) -> HttpResponse {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mode = *r.mode.lock().unwrap();
    let answered = match mode {
        Mode::Up | Mode::Slow(_) => 200,
        Mode::Failing => 500,
        Mode::Gone => 410,
    };
    r.got.lock().unwrap().push(Got {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
        answered,
    });
    if let Mode::Slow(d) = mode {
        tokio::time::sleep(d).await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}

/// Whether `g` carries a valid Standard Webhooks signature by `secret`, checked the way a
/// receiver would, with nothing of the server's code.
pub fn signed_by(secret: &str, g: &Got) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", g.id, g.timestamp, g.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    g.signature.split(' ').any(|s| s == expected)
}

/// A community with its own admin, a resident and a service; nobody volunteers, so each request
/// placed is escalated (two events: placed, escalated).
pub struct Site {
    pub app: TestApp,
    pub c: String,
    /// A community admin of `c`.
    pub admin: String,
    resident: String,
    service_type: String,
}

pub async fn site(tweak: impl FnOnce(&mut Config)) -> Site {
    let app = spawn_with(tweak).await;
    let c = app.community("电力社区").await;
    let (_, admin) = app.user("community_admin", Some(&c)).await;
    let resident = app
        .resident(&c, json!({"name": "孙大娘"}))
        .await
        .expect(201)
        .id();
    let service_type = app.service_type(&c, "errands", "代购", &["errands"]).await;
    Site {
        app,
        c,
        admin,
        resident,
        service_type,
    }
}

impl Site {
    /// Places a request for the resident; its id.
    pub async fn place(&self) -> String {
        self.app
            .post(
                "/api/v1/help-requests",
                &self.app.admin,
                json!({"resident_id": self.resident, "service_type_id": self.service_type,
                       "description": "帮忙买药"}),
            )
            .await
            .expect(201)
            .id()
    }

    /// Registers a webhook as the community's admin; the answer (with the secret).
    pub async fn webhook(&self, url: &str, kinds: &[&str]) -> Value {
        self.app
            .post(
                &format!("/api/v1/communities/{}/webhooks", self.c),
                &self.admin,
                json!({"url": url, "event_kinds": kinds, "description": "12345 平台"}),
            )
            .await
            .expect(201)
            .body
    }

    pub async fn relay(&self) -> usize {
        relay::relay(&self.app.state, Utc::now()).await.unwrap()
    }

    /// Sends what is due at `at`; how many attempts were recorded.
    pub async fn deliver(&self, at: DateTime<Utc>) -> usize {
        worker::deliver(&self.app.state, at).await.unwrap()
    }

    pub async fn deliveries(&self, webhook: &str) -> Vec<Value> {
        self.app
            .get(
                &format!("/api/v1/webhooks/{webhook}/deliveries?limit=200"),
                &self.admin,
            )
            .await
            .expect(200)
            .items()
    }

    pub async fn webhook_now(&self, webhook: &str) -> Value {
        self.app
            .get(&format!("/api/v1/webhooks/{webhook}"), &self.admin)
            .await
            .expect(200)
            .body
    }

    /// The kinds of the admin's inbox, newest first.
    pub async fn admin_told(&self) -> Vec<Value> {
        self.app
            .get("/api/v1/me/notifications", &self.admin)
            .await
            .expect(200)
            .items()
    }

    /// A count the database holds about the community (`$1` in `sql`).
    pub async fn count(&self, sql: &'static str) -> i64 {
        self.app.scalar(sql, &self.c).await
    }
}
