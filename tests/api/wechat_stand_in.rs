//! A stand-in for WeChat's server API on 127.0.0.1: it issues access tokens (`stable_token`)
//! for one app, takes subscription messages, checks every payload, and fails on demand. For the
//! mini-program sign-in it answers `jscode2session` for the `wx.login` codes it issued (each
//! once: 40029 for a code it never issued, 40163 for one used) and `getuserphonenumber` for the
//! phone codes it issued (each once), each with scripted failures first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

pub const APP_ID: &str = "wx0123456789abcdef";
/// Secrets and tokens carry `wechat-leak-`, which no log line may hold.
pub const SECRET: &str = "wechat-leak-secret-7f3a";

/// What the stand-in answers to the next message.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `errcode` 0.
    Ok,
    Errcode(i64),
    /// This HTTP status, no body.
    Status(u16),
    /// The token the message came with is no longer valid: a new one is current (40001).
    ExpireToken,
}

#[derive(Default)]
pub struct Seen {
    /// Every message body received, taken or not.
    pub messages: Vec<Value>,
    /// The bodies of messages taken (`errcode` 0).
    pub taken: Vec<Value>,
    /// `force_refresh` of every token request.
    pub token_requests: Vec<bool>,
    /// What was wrong with a payload.
    pub problems: Vec<String>,
    /// `jscode2session` calls answered (scripted or not).
    pub session_calls: usize,
    /// `getuserphonenumber` calls answered (scripted or not).
    pub phone_calls: usize,
}

#[derive(Default)]
struct State {
    seen: Seen,
    script: VecDeque<Reply>,
    issued: u32,
    current: Option<String>,
    /// `wx.login` codes issued: the openid and unionid each stands for.
    login_codes: HashMap<String, (String, Option<String>)>,
    /// Phone codes issued: the phone each stands for.
    phone_codes: HashMap<String, String>,
    used_codes: HashSet<String>,
    session_script: VecDeque<Reply>,
    phone_script: VecDeque<Reply>,
    codes_issued: u32,
}

impl State {
    fn new_token(&mut self) -> String {
        self.issued += 1;
        let t = format!("wechat-leak-token-{}", self.issued);
        self.current = Some(t.clone());
        t
    }
}

#[derive(Clone)]
pub struct StandIn {
    pub base: String,
    state: Arc<Mutex<State>>,
}

/// A port nobody listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl StandIn {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// On `port` (0: any).
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("a port for the stand-in");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state: Arc<Mutex<State>> = Default::default();
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/cgi-bin/stable_token", web::post().to(stable_token))
                .route("/cgi-bin/message/subscribe/send", web::post().to(send))
                .route("/sns/jscode2session", web::get().to(jscode2session))
                .route(
                    "/wxa/business/getuserphonenumber",
                    web::post().to(phone_number),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { base, state }
    }

    /// Answers to the next messages, in order; after them every message is taken.
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().cloned());
    }

    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.state.lock().unwrap().seen)
    }

    /// A `wx.login` code of the person with `openid` (and `unionid`), good once.
    pub fn login_code(&self, openid: &str, unionid: Option<&str>) -> String {
        let mut s = self.state.lock().unwrap();
        s.codes_issued += 1;
        let code = format!("0{}LoginCode{}", s.codes_issued, "x".repeat(8));
        s.login_codes.insert(
            code.clone(),
            (openid.to_string(), unionid.map(str::to_string)),
        );
        code
    }

    /// A `getPhoneNumber` code for `phone` (as WeChat gives mainland numbers: 11 digits), good once.
    pub fn phone_code(&self, phone: &str) -> String {
        let mut s = self.state.lock().unwrap();
        s.codes_issued += 1;
        let code = format!("phone{}code{}", s.codes_issued, "y".repeat(20));
        s.phone_codes.insert(code.clone(), phone.to_string());
        code
    }

    /// Answers to the next `jscode2session` calls, before any code is looked at.
    pub fn script_sessions(&self, replies: &[Reply]) {
        let mut s = self.state.lock().unwrap();
        s.session_script.extend(replies.iter().cloned());
    }

    /// Answers to the next `getuserphonenumber` calls (with a valid token), before any code is
    /// looked at.
    pub fn script_phones(&self, replies: &[Reply]) {
        let mut s = self.state.lock().unwrap();
        s.phone_script.extend(replies.iter().cloned());
    }
}

fn scripted(reply: Reply) -> HttpResponse {
    match reply {
        Reply::Errcode(c) => HttpResponse::Ok().json(json!({"errcode": c, "errmsg": "scripted"})),
        Reply::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).finish()
        }
        Reply::Ok | Reply::ExpireToken => {
            HttpResponse::Ok().json(json!({"errcode": -1, "errmsg": "system error"}))
        }
    }
}

#[derive(serde::Deserialize)]
struct SessionQuery {
    appid: String,
    secret: String,
    js_code: String,
    grant_type: String,
}

async fn jscode2session(
    state: web::Data<Mutex<State>>,
    q: web::Query<SessionQuery>,
) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.seen.session_calls += 1;
    if let Some(reply) = s.session_script.pop_front() {
        return scripted(reply);
    }
    if q.appid != APP_ID || q.grant_type != "authorization_code" {
        return HttpResponse::Ok().json(json!({"errcode": 40013, "errmsg": "invalid appid"}));
    }
    if q.secret != SECRET {
        return HttpResponse::Ok().json(json!({"errcode": 40125, "errmsg": "invalid appsecret"}));
    }
    if s.used_codes.contains(&q.js_code) {
        return HttpResponse::Ok().json(json!({"errcode": 40163, "errmsg": "code been used"}));
    }
    let Some((openid, unionid)) = s.login_codes.get(&q.js_code).cloned() else {
        return HttpResponse::Ok().json(json!({"errcode": 40029, "errmsg": "invalid code"}));
    };
    s.used_codes.insert(q.js_code.clone());
    let n = s.seen.session_calls;
    let mut answer = json!({"openid": openid, "session_key": format!("wechat-leak-session-{n}")});
    if let Some(u) = unionid {
        answer["unionid"] = json!(u);
    }
    HttpResponse::Ok().json(answer)
}

async fn phone_number(
    state: web::Data<Mutex<State>>,
    q: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut s = state.lock().unwrap();
    if s.current.as_deref() != Some(q.access_token.as_str()) {
        return HttpResponse::Ok().json(json!({"errcode": 40001, "errmsg": "invalid credential"}));
    }
    s.seen.phone_calls += 1;
    if let Some(reply) = s.phone_script.pop_front() {
        return scripted(reply);
    }
    let code = body["code"].as_str().unwrap_or("").to_string();
    if s.used_codes.contains(&code) {
        return HttpResponse::Ok().json(json!({"errcode": 40029, "errmsg": "invalid code"}));
    }
    let Some(phone) = s.phone_codes.get(&code).cloned() else {
        return HttpResponse::Ok().json(json!({"errcode": 40029, "errmsg": "invalid code"}));
    };
    s.used_codes.insert(code);
    HttpResponse::Ok().json(json!({"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
        "watermark": {"timestamp": 1_700_000_000, "appid": APP_ID}}}))
}

async fn stable_token(state: web::Data<Mutex<State>>, body: web::Json<Value>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    if body["grant_type"] != "client_credential" || body["appid"] != APP_ID {
        return HttpResponse::Ok().json(json!({"errcode": 40013, "errmsg": "invalid appid"}));
    }
    if body["secret"] != SECRET {
        return HttpResponse::Ok().json(json!({"errcode": 40125, "errmsg": "invalid appsecret"}));
    }
    let force = body["force_refresh"].as_bool().unwrap_or(false);
    s.seen.token_requests.push(force);
    let token = match (&s.current, force) {
        (Some(t), false) => t.clone(),
        _ => s.new_token(),
    };
    HttpResponse::Ok().json(json!({"access_token": token, "expires_in": 7200}))
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    access_token: String,
}

/// What is wrong with a `subscribeMessage.send` body, if anything.
fn check(body: &Value) -> Result<(), String> {
    let o = body.as_object().ok_or("not an object")?;
    let allowed = [
        "touser",
        "template_id",
        "page",
        "data",
        "miniprogram_state",
        "lang",
    ];
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unknown key {k}"));
    }
    for k in ["touser", "template_id"] {
        if o.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(format!("{k} missing"));
        }
    }
    if o.get("page").is_some_and(|p| !p.is_string()) {
        return Err("page is not text".into());
    }
    let data = o
        .get("data")
        .and_then(Value::as_object)
        .filter(|d| !d.is_empty())
        .ok_or("data missing")?;
    for (k, v) in data {
        let value = v["value"].as_str().unwrap_or("");
        if value.is_empty() || v.as_object().map(|m| m.len()) != Some(1) {
            return Err(format!("data.{k} is not {{value}}"));
        }
        let limit = if k.starts_with("thing") {
            20
        } else if k.starts_with("phrase") {
            5
        } else {
            32
        };
        if value.chars().count() > limit {
            return Err(format!("data.{k} is too long"));
        }
    }
    match o.get("miniprogram_state").and_then(Value::as_str) {
        Some("formal" | "trial" | "developer") => {}
        _ => return Err("miniprogram_state".into()),
    }
    if o.get("lang").and_then(Value::as_str) != Some("zh_CN") {
        return Err("lang".into());
    }
    Ok(())
}

async fn send(
    state: web::Data<Mutex<State>>,
    q: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let body = body.into_inner();
    s.seen.messages.push(body.clone());
    if s.current.as_deref() != Some(q.access_token.as_str()) {
        return HttpResponse::Ok().json(json!({"errcode": 40001, "errmsg": "invalid credential"}));
    }
    if let Err(p) = check(&body) {
        s.seen.problems.push(p);
        return HttpResponse::Ok().json(json!({"errcode": 47003, "errmsg": "argument invalid"}));
    }
    match s.script.pop_front().unwrap_or(Reply::Ok) {
        Reply::Ok => {
            s.seen.taken.push(body);
            HttpResponse::Ok().json(json!({"errcode": 0, "errmsg": "ok"}))
        }
        Reply::Errcode(c) => HttpResponse::Ok().json(json!({"errcode": c, "errmsg": "scripted"})),
        Reply::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).finish()
        }
        Reply::ExpireToken => {
            s.new_token();
            HttpResponse::Ok().json(json!({"errcode": 40001, "errmsg": "invalid credential"}))
        }
    }
}
