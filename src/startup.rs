//! Builds the application from a `Config`: database, keys, first admin, and an HTTP server on
//! its own listener (port 0 in tests).

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};

use crate::auth::{JwtKeys, PasswordHashing};
use crate::config::Config;
use crate::crypto::{Vault, key_fingerprint};
use crate::http::error::ApiError;
use crate::http::idempotency::idempotency;
use crate::http::metrics::Metrics;
use crate::http::middleware::{cors, created_location, request_context};
use crate::http::routes;
use crate::services::accounts;
use crate::state::AppState;
use crate::store::Db;

/// Connects, migrates and derives keys: everything but the listener.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    if let Some(parent) = config
        .database_url
        .strip_prefix("sqlite://")
        .and_then(|p| std::path::Path::new(p.split('?').next().unwrap_or(p)).parent())
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let db = connect(&config).await?;
    db.migrate().await?;
    let vault = match &config.data_key {
        Some(k) => Vault::from_base64(k)?,
        None => Vault::load_or_create_dev(&config.data_dir)?,
    };
    let jwt_secret: Vec<u8> = match &config.jwt_secret {
        Some(s) => s.as_bytes().to_vec(),
        None => vault.jwt_key().to_vec(),
    };
    check_keys(&db, &vault, &jwt_secret).await?;
    let jwt = JwtKeys::new(
        &jwt_secret,
        &config.jwt_issuer,
        &config.jwt_audience,
        config.access_token_ttl,
    );
    let passwords =
        PasswordHashing::new(config.password_hash_concurrency, config.password_hash_wait);
    let webhooks = crate::services::delivery::webhooks::sender::Sender::new(&config)?;
    let wechat = crate::wechat::WechatApi::new(&config.wechat_api_base);
    let rate_limits = crate::rate_limit::RateLimiters::new(
        config.address_rate_per_minute,
        config.address_rate_burst,
        config.rate_limit_max_keys,
    );
    Ok(AppState {
        db,
        jwt,
        passwords,
        vault,
        config,
        resident_hooks: std::sync::Arc::new(crate::services::visits::records::VisitsOnResidents),
        inbox_signal: Default::default(),
        webhooks,
        wechat,
        rate_limits,
    })
}

/// The state the delivery workers run with: its own pool of `db_delivery_connections` (none for
/// an in-memory SQLite database, which a second pool would not see).
async fn delivery_state(state: &AppState) -> anyhow::Result<AppState> {
    let c = &state.config;
    let url = &c.database_url;
    if c.db_delivery_connections == 0 || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(state.clone());
    }
    let db = Db::connect(url, c.db_delivery_connections, c.db_acquire_timeout)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the delivery workers' pool: {e}"))?;
    Ok(AppState {
        db,
        ..state.clone()
    })
}

/// Connects, waiting for a database that is not up yet (a container starting beside it) up to
/// `db_connect_wait`, with back-off, saying where it tries and why it failed.
async fn connect(config: &Config) -> anyhow::Result<Db> {
    let url = crate::store::redact_url(&config.database_url);
    let deadline = std::time::Instant::now() + config.db_connect_wait;
    let mut pause = std::time::Duration::from_millis(250);
    loop {
        let tried = Db::connect(
            &config.database_url,
            config.db_max_connections,
            config.db_acquire_timeout,
        )
        .await;
        match tried {
            Ok(db) => return Ok(db),
            Err(crate::store::StoreError::Unavailable(e))
                if std::time::Instant::now() + pause < deadline =>
            {
                tracing::warn!(database = %url, error = %e, retry_in_ms = pause.as_millis() as u64,
                    "the database is not reachable yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(5));
            }
            Err(e) => anyhow::bail!(
                "cannot reach the database at {url}: {e} (gave up after HUYING_DB_CONNECT_WAIT_SECS={}s)",
                config.db_connect_wait.as_secs()
            ),
        }
    }
}

/// The keys name what belongs to this database: the first instance records their fingerprints,
/// and one with another key refuses to start rather than encrypt with a key no other instance
/// has or issue tokens the others refuse.
async fn check_keys(db: &Db, vault: &Vault, jwt_secret: &[u8]) -> anyhow::Result<()> {
    let keys = [
        ("data_key", vault.fingerprint(), "HUYING_DATA_KEY"),
        (
            "jwt_secret",
            key_fingerprint(jwt_secret),
            "HUYING_JWT_SECRET",
        ),
    ];
    for (name, fingerprint, var) in keys {
        let recorded = crate::store::key_checks::record_or_get(db, name, &fingerprint).await?;
        if recorded != fingerprint {
            anyhow::bail!(
                "{var} is not the one this database was set up with: every instance must share \
                 the same {var} (see README, PostgreSQL). Refusing to start."
            );
        }
    }
    Ok(())
}

/// After rotating `HUYING_JWT_SECRET` on purpose: record the new one as this database's.
pub async fn accept_jwt_secret(config: &Config) -> anyhow::Result<()> {
    let secret = config
        .jwt_secret
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("HUYING_JWT_SECRET is not set"))?;
    let db = connect(config).await?;
    db.migrate().await?;
    crate::store::key_checks::replace(&db, "jwt_secret", &key_fingerprint(secret.as_bytes()))
        .await?;
    db.close().await;
    Ok(())
}

pub struct Application {
    server: Server,
    port: u16,
    state: AppState,
    /// Background work of this instance (sweeper, relay, WeChat sender), each stopped by its
    /// sender.
    workers: Vec<(
        &'static str,
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let state = prepare(config).await?;
        if let Some((user, generated)) =
            accounts::users::bootstrap_admin(&state, state.config.admin_password.as_deref()).await?
        {
            match generated {
                Some(pw) => println!(
                    "Created the first admin account.\n  username: {user}\n  password: {pw}\nThis password is shown once; change it after logging in."
                ),
                None => {
                    tracing::info!(username = %user, "created the first admin account with HUYING_ADMIN_PASSWORD")
                }
            }
        }
        let listener = TcpListener::bind((state.config.host.as_str(), state.config.port))?;
        let port = listener.local_addr()?.port();
        let metrics = Metrics::new();
        let sweeper_metrics = crate::services::sweeper::SweeperMetrics::new();
        metrics.register(sweeper_metrics.collectors());
        metrics.register(state.wechat.collectors());
        let server = build_server(listener, state.clone(), metrics)?;
        let mut workers = Vec::new();
        if !state.config.sweep_interval.is_zero() {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = crate::services::sweeper::spawn(
                state.clone(),
                state.config.sweep_interval,
                stopped,
                sweeper_metrics,
            );
            workers.push(("sweeper", stop, task));
        }
        let delivery = delivery_state(&state).await?;
        if !state.config.relay_interval.is_zero() {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = crate::services::delivery::relay::spawn(
                delivery.clone(),
                state.config.relay_interval,
                stopped,
            );
            workers.push(("relay", stop, task));
        }
        if !state.config.webhook_interval.is_zero() {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = crate::services::delivery::webhooks::worker::spawn(
                delivery.clone(),
                state.config.webhook_interval,
                stopped,
            );
            workers.push(("webhooks", stop, task));
        }
        if !state.config.wechat_send_interval.is_zero() {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = crate::services::delivery::wechat::sender::spawn(
                delivery.clone(),
                state.config.wechat_send_interval,
                stopped,
            );
            workers.push(("wechat_sender", stop, task));
        }
        if matches!(state.db, Db::Postgres(_)) {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = crate::services::delivery::listener::spawn(state.clone(), stopped);
            workers.push(("inbox listener", stop, task));
        }
        Ok(Self {
            server,
            port,
            state,
            workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// To stop the server from within (tests, embedding); SIGTERM and SIGINT stop it too. Live
    /// streams end on those signals; before a `stop` through this handle, end them with
    /// `state().inbox_signal.close_all()`, or the stop waits for them (up to actix's 30 s).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; then, in order: live streams ended, no new connections, in-flight
    /// requests finished (up to actix's 30 s), the background workers' current steps finished,
    /// the database pool closed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        for (_, stop, _) in &self.workers {
            let _ = stop.send(true);
        }
        for (name, _, task) in self.workers {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, worker = name, "a background worker ended abnormally");
            }
        }
        self.state.db.close().await;
        tracing::info!("stopped");
        served
    }
}

fn build_server(
    listener: TcpListener,
    state: AppState,
    metrics: Metrics,
) -> std::io::Result<Server> {
    let workers = state.config.workers.max(1);
    let state = web::Data::new(state);
    let metrics = web::Data::new(metrics);
    let admission = web::Data::new(crate::http::admission::Admission::new(
        state.config.request_concurrency,
        state.config.request_queue_wait,
    ));
    let cors_origins = state.config.cors_origins.clone();
    let streams = state.inbox_signal.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(admission.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError::bad_request("invalid_path").into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::BadRequest {
                    code: "invalid_query",
                    detail: Some(e.to_string()),
                }
                .into()
            }))
            .wrap(from_fn(idempotency))
            .wrap(from_fn(created_location))
            .wrap(from_fn(crate::http::admission::admit))
            // Inside `request_context`, so that a refused preflight is a problem document too.
            .wrap(Condition::new(
                !cors_origins.is_empty(),
                cors(&cors_origins),
            ))
            .wrap(from_fn(request_context))
            .configure(routes::configure)
            .default_service(web::to(routes::route_not_found))
    })
    .workers(workers)
    .shutdown_signal(stop_signal(streams))
    .listen(listener)?
    .run();
    Ok(server)
}

/// SIGTERM or SIGINT. Live streams are ended first, so that their clients reconnect to another
/// instance at once; actix would otherwise wait for them as for requests in flight.
async fn stop_signal(streams: crate::services::delivery::signal::InboxSignal) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("stopping");
    streams.close_all();
}
