//! The WeChat server API (api.weixin.qq.com, or a stand-in at `HUYING_WECHAT_API_BASE`), shared
//! by every capability that talks to WeChat: subscription messages, and the mini-program sign-in
//! (`jscode2session`, `getuserphonenumber`). It keeps one access token per app, cached until shortly before it expires and fetched
//! again when WeChat says it is invalid.
//!
//! Tokens come from `stable_token` rather than `token`: asking `token` for a new one cuts off
//! the one every other instance holds, while `stable_token` hands every instance the same one
//! until it expires. It also takes the secret in its body, not in a URL that proxies log.
//!
//! Secrets and tokens are never logged, never put in an error's text, and never shown to a
//! client: errors carry no URL (the send URL holds the token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

/// WeChat's answers that say the token is not (or no longer) valid.
const TOKEN_INVALID: &[i64] = &[40001, 40014, 42001];
/// A token is renewed this long before WeChat says it expires, so none is used at its edge.
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A WeChat app's credentials. The secret is not `Debug`-printed.
#[derive(Clone)]
pub struct AppCredentials {
    pub app_id: String,
    pub secret: String,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppCredentials({}, secret: ***)", self.app_id)
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum WechatError {
    /// WeChat answered with a non-zero `errcode`.
    #[error("errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    /// An HTTP status other than 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    /// No answer: refused, reset, timed out.
    #[error("network: {0}")]
    Network(String),
    /// An answer that is not WeChat's JSON.
    #[error("unreadable answer: {0}")]
    Decode(String),
}

impl WechatError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    pub fn is_token_invalid(&self) -> bool {
        self.errcode().is_some_and(|c| TOKEN_INVALID.contains(&c))
    }
}

/// A subscription message (`subscribeMessage.send`).
#[derive(Debug, Clone, Serialize)]
pub struct SubscribeMessage<'a> {
    pub touser: &'a str,
    pub template_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub page: &'a str,
    pub data: &'a Value,
    pub miniprogram_state: &'a str,
    pub lang: &'a str,
}

#[derive(Clone)]
struct Token {
    value: String,
    renew_at: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// The client: cheap to clone, one token cache shared by the clones.
#[derive(Clone)]
pub struct WechatApi {
    base: String,
    http: reqwest::Client,
    /// One slot per app id; fetching a token holds the app's slot, so that concurrent senders
    /// wait for one fetch instead of each making their own.
    tokens: Arc<Mutex<HashMap<String, Slot>>>,
    /// Calls by kind and result, for `/metrics`.
    calls: prometheus::IntCounterVec,
}

impl std::fmt::Debug for WechatApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WechatApi({})", self.base)
    }
}

impl WechatApi {
    pub fn new(base: &str) -> Self {
        crate::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("an HTTP client with the default TLS settings");
        let calls = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "huying_wechat_calls_total",
                "Calls to WeChat's server API by call and result",
            ),
            &["call", "result"],
        )
        .expect("valid metric");
        Self {
            base: base.trim_end_matches('/').to_string(),
            http,
            tokens: Default::default(),
            calls,
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.calls.clone())]
    }

    /// Counts a call's result: `ok`, `errcode` (WeChat refused), `http_status`, `network` or
    /// `unreadable`.
    fn count<T>(&self, call: &str, r: &Result<T, WechatError>) {
        let result = match r {
            Ok(_) => "ok",
            Err(WechatError::Api { .. }) => "errcode",
            Err(WechatError::Status(_)) => "http_status",
            Err(WechatError::Network(_)) => "network",
            Err(WechatError::Decode(_)) => "unreadable",
        };
        self.calls.with_label_values(&[call, result]).inc();
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn slot(&self, app_id: &str) -> Slot {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.entry(app_id.to_string()).or_default().clone()
    }

    /// The app's access token: the cached one while it is good, else a fetched one.
    pub async fn access_token(&self, app: &AppCredentials) -> Result<String, WechatError> {
        let slot = self.slot(&app.app_id);
        let mut held = slot.lock().await;
        if let Some(t) = held.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.value.clone());
        }
        let t = self.fetch_token(app, false).await?;
        *held = Some(t.clone());
        Ok(t.value)
    }

    /// After WeChat refused `stale`: a token other than it. `stable_token` may still hand out
    /// the refused one (another instance forced a new one meanwhile, or it was revoked); then a
    /// new one is forced.
    async fn renew_token(&self, app: &AppCredentials, stale: &str) -> Result<String, WechatError> {
        let slot = self.slot(&app.app_id);
        let mut held = slot.lock().await;
        if let Some(t) = held.as_ref().filter(|t| t.value != stale) {
            // Another sender renewed it while this one waited.
            return Ok(t.value.clone());
        }
        let mut t = self.fetch_token(app, false).await?;
        if t.value == stale {
            t = self.fetch_token(app, true).await?;
        }
        *held = Some(t.clone());
        Ok(t.value)
    }

    async fn fetch_token(&self, app: &AppCredentials, force: bool) -> Result<Token, WechatError> {
        let url = format!("{}/cgi-bin/stable_token", self.base);
        let body = json!({"grant_type": "client_credential", "appid": app.app_id,
                          "secret": app.secret, "force_refresh": force});
        let answer = self.post_json(&url, &body).await;
        self.count("stable_token", &answer);
        let answer = answer?;
        let value = answer["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WechatError::Decode("no access_token".into()))?;
        let lifetime = Duration::from_secs(answer["expires_in"].as_u64().unwrap_or(7200));
        let usable = lifetime.saturating_sub(EXPIRY_MARGIN).max(lifetime / 2);
        Ok(Token {
            value: value.to_string(),
            renew_at: Instant::now() + usable,
        })
    }

    /// Calls `path` (under the base, with `?access_token=`) with the app's token; when WeChat
    /// says the token is invalid, renews it and calls once more.
    pub async fn post_with_token(
        &self,
        app: &AppCredentials,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Value, WechatError> {
        let token = self.access_token(app).await?;
        match self.post_json(&self.token_url(path, &token), body).await {
            Err(e) if e.is_token_invalid() => {
                let token = self.renew_token(app, &token).await?;
                self.post_json(&self.token_url(path, &token), body).await
            }
            other => other,
        }
    }

    fn token_url(&self, path: &str, token: &str) -> String {
        format!("{}{path}?access_token={token}", self.base)
    }

    /// `subscribeMessage.send`.
    pub async fn send_subscribe_message(
        &self,
        app: &AppCredentials,
        msg: &SubscribeMessage<'_>,
    ) -> Result<(), WechatError> {
        let r = self
            .post_with_token(app, "/cgi-bin/message/subscribe/send", msg)
            .await
            .map(|_| ());
        self.count("subscribe_send", &r);
        r
    }

    /// `code2Session`: who signed in, for a `wx.login` code. The `session_key` WeChat also gives
    /// is dropped here: nothing of ours needs it, so it is never kept or logged.
    pub async fn jscode2session(
        &self,
        app: &AppCredentials,
        js_code: &str,
    ) -> Result<WechatSession, WechatError> {
        let r = self.code2session(app, js_code).await;
        self.count("jscode2session", &r);
        r
    }

    async fn code2session(
        &self,
        app: &AppCredentials,
        js_code: &str,
    ) -> Result<WechatSession, WechatError> {
        let url = format!("{}/sns/jscode2session", self.base);
        let query = [
            ("appid", app.app_id.as_str()),
            ("secret", app.secret.as_str()),
            ("js_code", js_code),
            ("grant_type", "authorization_code"),
        ];
        // The URL holds the secret: it goes nowhere but the request (errors drop it).
        let url = reqwest::Url::parse_with_params(&url, &query)
            .map_err(|_| WechatError::Network("an unusable base URL".into()))?;
        let res = self.http.get(url).send().await.map_err(network)?;
        let answer = read_answer(res).await?;
        let text = |k: &str| {
            answer[k]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        Ok(WechatSession {
            openid: text("openid").ok_or_else(|| WechatError::Decode("no openid".into()))?,
            unionid: text("unionid"),
        })
    }

    /// `getPhoneNumber`: the phone WeChat verified for a `getPhoneNumber` button's code, as
    /// `phoneNumber` (with the country code for numbers outside the mainland).
    pub async fn phone_number(
        &self,
        app: &AppCredentials,
        code: &str,
    ) -> Result<VerifiedPhone, WechatError> {
        let r = self.verified_phone(app, code).await;
        self.count("getuserphonenumber", &r);
        r
    }

    async fn verified_phone(
        &self,
        app: &AppCredentials,
        code: &str,
    ) -> Result<VerifiedPhone, WechatError> {
        let answer = self
            .post_with_token(
                app,
                "/wxa/business/getuserphonenumber",
                &json!({"code": code}),
            )
            .await?;
        let info = &answer["phone_info"];
        let text = |k: &str| info[k].as_str().unwrap_or("").to_string();
        let phone = VerifiedPhone {
            phone_number: text("phoneNumber"),
            country_code: text("countryCode"),
        };
        if phone.phone_number.is_empty() {
            return Err(WechatError::Decode("no phone_info.phoneNumber".into()));
        }
        if info["watermark"]["appid"]
            .as_str()
            .is_some_and(|a| a != app.app_id)
        {
            return Err(WechatError::Decode("phone_info of another app".into()));
        }
        Ok(phone)
    }

    /// POSTs JSON and reads WeChat's answer.
    async fn post_json(&self, url: &str, body: &impl Serialize) -> Result<Value, WechatError> {
        let res = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(network)?;
        read_answer(res).await
    }
}

/// Who signed in: `jscode2session`'s answer without its `session_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct WechatSession {
    pub openid: String,
    /// Only for apps bound to a WeChat Open Platform account.
    pub unionid: Option<String>,
}

/// `getuserphonenumber`'s `phone_info`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedPhone {
    pub phone_number: String,
    pub country_code: String,
}

/// WeChat's answer: an object whose `errcode`, when present, is 0.
async fn read_answer(res: reqwest::Response) -> Result<Value, WechatError> {
    let status = res.status();
    if !status.is_success() {
        return Err(WechatError::Status(status.as_u16()));
    }
    let bytes = res.bytes().await.map_err(network)?;
    let answer: Value =
        serde_json::from_slice(&bytes).map_err(|e| WechatError::Decode(e.to_string()))?;
    if !answer.is_object() {
        return Err(WechatError::Decode("not an object".into()));
    }
    match answer["errcode"].as_i64() {
        None | Some(0) => Ok(answer),
        Some(errcode) => Err(WechatError::Api {
            errcode,
            errmsg: answer["errmsg"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
        }),
    }
}

/// The error's causes without its URL (which may hold a token or a secret).
fn network(e: reqwest::Error) -> WechatError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "no answer"
    };
    let mut text = kind.to_string();
    let e = e.without_url();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    WechatError::Network(text.chars().take(300).collect())
}
