//! Settings from `HUYING_*` environment variables, each with a default that works on a bare
//! machine.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub data_dir: PathBuf,
    /// Base64 of 32 bytes; when unset a development key is kept in `data_dir`.
    pub data_key: Option<String>,
    /// HS256 secret; when unset one is derived from the data key.
    pub jwt_secret: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long an integration client's token (client credentials grant) lasts.
    pub client_token_ttl: Duration,
    /// Unauthenticated requests one address may make a minute where they are limited (Open311
    /// reads without a key); zero turns the limit off.
    pub address_rate_per_minute: u32,
    /// How many of those may come at once.
    pub address_rate_burst: u32,
    /// Buckets (clients, addresses) one instance keeps before dropping the idle ones.
    pub rate_limit_max_keys: usize,
    pub login_max_failures_per_account: i64,
    pub login_max_failures_per_address: i64,
    pub login_lockout: Duration,
    /// Argon2 computations (19 MiB each) running at once.
    pub password_hash_concurrency: usize,
    /// How long a login or password change waits for a turn before 503 `server_busy`.
    pub password_hash_wait: Duration,
    pub body_limit_bytes: usize,
    pub db_max_connections: u32,
    /// A pool of its own for the relay, the webhook worker and the WeChat sender (0: they share
    /// the requests' pool), so that under full load they do not queue behind every request for a
    /// connection and events still go out within a second.
    pub db_delivery_connections: u32,
    /// How long a request waits for a database connection before answering 503.
    pub db_acquire_timeout: Duration,
    /// API requests worked on at once; the rest wait their turn (`crate::http::admission`).
    pub request_concurrency: usize,
    /// How long a request waits for its turn before 503 `server_busy`.
    pub request_queue_wait: Duration,
    /// How long a starting instance keeps trying to reach the database.
    pub db_connect_wait: Duration,
    pub admin_password: Option<String>,
    pub log_json: bool,
    /// How often the sweeper looks for due timers; zero turns it off in this instance.
    pub sweep_interval: Duration,
    /// Browser origins (`https://console.example.org`) allowed to call the API; none: no CORS.
    pub cors_origins: Vec<String>,
    /// How long a request holds its `Idempotency-Key` before a retry may take it over (the
    /// holder crashed or lost the database); longer than any request runs.
    pub idempotency_lease: Duration,
    /// How long a key and its stored answer are kept; a key older than this is new again.
    pub idempotency_ttl: Duration,
    /// How often the relay hands new outbox events to the channels; zero turns it off in this
    /// instance. Any number of instances may run it.
    pub relay_interval: Duration,
    /// How long delivered outbox events are kept (for webhook replays) before they are pruned.
    pub outbox_retention: Duration,
    /// Due timers (offer expiry, dispatch rounds, deadlines, auto close) one lease takes. Small,
    /// so that a burst is shared by every instance instead of queued behind one.
    pub timer_batch: u32,
    /// Timer steps one instance runs at once. Steps mostly wait for the database, so this is
    /// several per core; but never more than half of `db_max_connections`, whatever this says:
    /// the rest is left for requests.
    pub timer_concurrency: usize,
    /// How long a lease on timers lasts: a holder that crashed gives its timers back after this.
    /// A leased timer not started within half of it is handed back rather than run late.
    pub timer_lease: Duration,
    /// Webhook receivers may be at private, loopback, link-local or other non-public addresses
    /// (a closed network; tests). Off: refused at registration and again at connection time.
    pub webhook_allow_private: bool,
    /// Webhook URLs may be plain `http` (else `https` only).
    pub webhook_allow_http: bool,
    /// How often the webhook worker looks for due deliveries when it has nothing in hand; zero
    /// turns it off in this instance. Any number of instances may run it.
    pub webhook_interval: Duration,
    /// Deliveries one instance sends at once; one endpoint takes at most a quarter of them.
    pub webhook_concurrency: usize,
    /// How long a receiver has to answer a delivery.
    pub webhook_timeout: Duration,
    /// Where the WeChat server API is (`HUYING_WECHAT_API_BASE`): WeChat's own in production, a
    /// stand-in in tests.
    pub wechat_api_base: String,
    /// `miniprogram_state` of subscription messages: `formal`, `trial` or `developer` (which
    /// build of the mini-program a message opens).
    pub wechat_miniprogram_state: String,
    /// How often the sender looks for due WeChat messages; zero turns it off in this instance.
    /// Any number of instances may run it.
    pub wechat_send_interval: Duration,
    /// How often a live stream (`/me/events`) sends a heartbeat comment, so that proxies and
    /// clients see the connection is alive.
    pub stream_heartbeat: Duration,
    /// How long a stream ticket (`/me/events/ticket`) may be redeemed.
    pub stream_ticket_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            problem: format!("{v:?} is not valid ({e})"),
        }),
    }
}

/// A comma-separated list of origins: `scheme://host[:port]`, lowercased as browsers send them.
fn parse_origins(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let host = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .unwrap_or("");
            let valid = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
            if valid {
                Ok(o.to_ascii_lowercase())
            } else {
                Err(format!(
                    "{o:?} is not an origin like https://console.example.org"
                ))
            }
        })
        .collect()
}

/// `http(s)://host[:port][/path]`, without a trailing slash.
fn parse_base_url(url: &str) -> Result<String, String> {
    let u = url.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || u.contains(['?', '#', ' ']) {
        return Err(format!(
            "{url:?} is not a base URL like https://api.weixin.qq.com"
        ));
    }
    Ok(u.to_string())
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(var("HUYING_DATA_DIR").unwrap_or_else(|| "data".into()));
        let default_db = format!("sqlite://{}/huying.db", data_dir.display());
        let database_url = var("HUYING_DATABASE_URL")
            .or_else(|| var("DATABASE_URL"))
            .unwrap_or(default_db);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = parsed("HUYING_WORKERS", cores)?;
        let password_hash_concurrency = parsed("HUYING_PASSWORD_HASH_CONCURRENCY", cores)?;
        let db_max_connections: u32 = parsed("HUYING_DB_MAX_CONNECTIONS", 16)?;
        if password_hash_concurrency == 0 {
            return Err(ConfigError {
                name: "HUYING_PASSWORD_HASH_CONCURRENCY",
                problem: "must be at least 1".into(),
            });
        }
        Ok(Self {
            database_url,
            host: var("HUYING_HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: parsed("HUYING_PORT", 8080)?,
            workers,
            data_dir,
            data_key: var("HUYING_DATA_KEY"),
            jwt_secret: var("HUYING_JWT_SECRET"),
            jwt_issuer: var("HUYING_JWT_ISSUER").unwrap_or_else(|| "huying".into()),
            jwt_audience: var("HUYING_JWT_AUDIENCE").unwrap_or_else(|| "huying-api".into()),
            access_token_ttl: Duration::from_secs(
                60 * parsed("HUYING_ACCESS_TOKEN_MINUTES", 15u64)?,
            ),
            refresh_token_ttl: Duration::from_secs(
                86_400 * parsed("HUYING_REFRESH_TOKEN_DAYS", 30u64)?,
            ),
            client_token_ttl: Duration::from_secs(
                60 * parsed("HUYING_CLIENT_TOKEN_MINUTES", 10u64)?,
            ),
            address_rate_per_minute: parsed("HUYING_ADDRESS_RATE_PER_MINUTE", 120u32)?,
            address_rate_burst: parsed("HUYING_ADDRESS_RATE_BURST", 30u32)?,
            rate_limit_max_keys: parsed("HUYING_RATE_LIMIT_MAX_KEYS", 100_000usize)?,
            login_max_failures_per_account: parsed("HUYING_LOGIN_MAX_FAILURES", 5)?,
            login_max_failures_per_address: parsed("HUYING_LOGIN_MAX_FAILURES_PER_ADDRESS", 30)?,
            login_lockout: Duration::from_secs(60 * parsed("HUYING_LOGIN_LOCKOUT_MINUTES", 15u64)?),
            password_hash_concurrency,
            password_hash_wait: Duration::from_millis(parsed(
                "HUYING_PASSWORD_HASH_WAIT_MS",
                3000u64,
            )?),
            body_limit_bytes: parsed("HUYING_BODY_LIMIT_BYTES", 64 * 1024)?,
            db_max_connections,
            request_concurrency: parsed(
                "HUYING_REQUEST_CONCURRENCY",
                4 * db_max_connections as usize,
            )?,
            request_queue_wait: Duration::from_millis(parsed(
                "HUYING_REQUEST_QUEUE_WAIT_MS",
                10_000u64,
            )?),
            db_delivery_connections: parsed("HUYING_DB_DELIVERY_CONNECTIONS", 8)?,
            db_acquire_timeout: Duration::from_millis(parsed(
                "HUYING_DB_ACQUIRE_TIMEOUT_MS",
                1000u64,
            )?),
            db_connect_wait: Duration::from_secs(parsed("HUYING_DB_CONNECT_WAIT_SECS", 30u64)?),
            admin_password: var("HUYING_ADMIN_PASSWORD"),
            log_json: var("HUYING_LOG_FORMAT").is_none_or(|f| f != "text"),
            sweep_interval: Duration::from_millis(parsed("HUYING_SWEEP_INTERVAL_MS", 1000u64)?),
            cors_origins: parse_origins(&var("HUYING_CORS_ORIGINS").unwrap_or_default()).map_err(
                |problem| ConfigError {
                    name: "HUYING_CORS_ORIGINS",
                    problem,
                },
            )?,
            idempotency_lease: Duration::from_secs(parsed("HUYING_IDEMPOTENCY_LEASE_SECS", 30u64)?),
            idempotency_ttl: Duration::from_secs(
                3600 * parsed("HUYING_IDEMPOTENCY_TTL_HOURS", 24u64)?,
            ),
            relay_interval: Duration::from_millis(parsed("HUYING_RELAY_INTERVAL_MS", 200u64)?),
            outbox_retention: Duration::from_secs(
                86_400 * parsed("HUYING_OUTBOX_RETENTION_DAYS", 30u64)?,
            ),
            timer_batch: positive("HUYING_TIMER_BATCH", 32)?,
            timer_concurrency: positive("HUYING_TIMER_CONCURRENCY", 4 * cores)?,
            timer_lease: Duration::from_secs(positive("HUYING_TIMER_LEASE_SECS", 20)?),
            webhook_allow_private: parsed("HUYING_WEBHOOK_ALLOW_PRIVATE", false)?,
            webhook_allow_http: parsed("HUYING_WEBHOOK_ALLOW_HTTP", false)?,
            webhook_interval: Duration::from_millis(parsed("HUYING_WEBHOOK_INTERVAL_MS", 200u64)?),
            webhook_concurrency: parsed("HUYING_WEBHOOK_CONCURRENCY", 64usize)?.max(1),
            webhook_timeout: Duration::from_millis(parsed("HUYING_WEBHOOK_TIMEOUT_MS", 10_000u64)?),
            wechat_api_base: parse_base_url(
                &var("HUYING_WECHAT_API_BASE")
                    .unwrap_or_else(|| "https://api.weixin.qq.com".into()),
            )
            .map_err(|problem| ConfigError {
                name: "HUYING_WECHAT_API_BASE",
                problem,
            })?,
            wechat_miniprogram_state: match var("HUYING_WECHAT_MINIPROGRAM_STATE") {
                None => "formal".into(),
                Some(s) if ["formal", "trial", "developer"].contains(&s.trim()) => {
                    s.trim().to_string()
                }
                Some(s) => {
                    return Err(ConfigError {
                        name: "HUYING_WECHAT_MINIPROGRAM_STATE",
                        problem: format!("{s:?} is not formal, trial or developer"),
                    });
                }
            },
            wechat_send_interval: Duration::from_millis(parsed(
                "HUYING_WECHAT_SEND_INTERVAL_MS",
                1000u64,
            )?),
            stream_heartbeat: Duration::from_millis(
                parsed("HUYING_STREAM_HEARTBEAT_MS", 15_000u64)?.max(1),
            ),
            stream_ticket_ttl: Duration::from_secs(parsed("HUYING_STREAM_TICKET_SECS", 60u64)?),
        })
    }
}

/// A setting where zero would stop the work it sizes.
fn positive<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
    T::Err: std::fmt::Display,
{
    let v = parsed(name, default)?;
    if v < T::from(1) {
        return Err(ConfigError {
            name,
            problem: "must be at least 1".into(),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_lose_their_trailing_slash() {
        assert_eq!(
            parse_base_url("https://api.weixin.qq.com/").unwrap(),
            "https://api.weixin.qq.com"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:9/wx").unwrap(),
            "http://127.0.0.1:9/wx"
        );
        for bad in ["", "api.weixin.qq.com", "https://", "http://x?a=1"] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cors_origins_are_a_list_of_origins() {
        assert_eq!(
            parse_origins(" https://Console.example.org, http://127.0.0.1:5173 ,").unwrap(),
            ["https://console.example.org", "http://127.0.0.1:5173"]
        );
        assert_eq!(parse_origins("").unwrap(), Vec::<String>::new());
        for bad in [
            "*",
            "console.example.org",
            "https://x.org/",
            "https://x.org/app",
            "ftp://x.org",
            "https://",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
