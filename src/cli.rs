//! Subcommands: `serve` (the default), `migrate`, `create-admin`, `seed-demo`,
//! `accept-jwt-secret`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::services::accounts;
use crate::startup::{Application, prepare};
use crate::store::redact_url;

#[derive(Parser)]
#[command(
    name = "huying",
    version,
    about = "Huying (呼应): the backend of a community service station.\n\nSettings come from HUYING_* environment variables; see README."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an admin account, or reset its password and re-enable it.
    CreateAdmin {
        /// Login name of the admin.
        #[arg(long, default_value = "admin")]
        username: String,
        /// Password (at least 8 characters); read from HUYING_ADMIN_PASSWORD when omitted, and
        /// generated and printed when that is unset too.
        #[arg(long, env = "HUYING_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Load the demo community 电力社区: grids, residents, volunteers and a service catalogue.
    SeedDemo,
    /// After rotating HUYING_JWT_SECRET on purpose, record the new one as this database's, so
    /// that instances started with it are accepted (and those with the old one refused).
    AcceptJwtSecret,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(config.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => {
                let url = redact_url(&config.database_url);
                prepare(config).await?;
                println!("migrations applied to {url}");
                Ok(())
            }
            Command::CreateAdmin { username, password } => {
                let ctx = prepare(config).await?;
                let generated = password
                    .is_none()
                    .then(|| crate::crypto::random_token()[..20].to_string());
                let pw = password.or_else(|| generated.clone()).unwrap_or_default();
                accounts::users::create_admin(&ctx, &username, &pw)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                match generated {
                    Some(pw) => {
                        println!("admin '{username}' is ready; password (shown once): {pw}")
                    }
                    None => println!("admin '{username}' is ready"),
                }
                Ok(())
            }
            Command::AcceptJwtSecret => {
                crate::startup::accept_jwt_secret(&config).await?;
                println!("HUYING_JWT_SECRET recorded; start every instance with it");
                Ok(())
            }
            Command::SeedDemo => {
                let ctx = prepare(config).await?;
                let report = crate::demo::seed(&ctx)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{report}");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let url = redact_url(&config.database_url);
    let app = Application::build(config).await?;
    let addr = format!("{}:{}", app.state().config.host, app.port());
    tracing::info!(address = %addr, database = %url, "huying is listening");
    println!("Huying is listening on http://{addr} (database: {url})");
    app.run_until_stopped().await?;
    Ok(())
}
