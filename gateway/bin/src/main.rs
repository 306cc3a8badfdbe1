//! `llm-gateway`: the command line. Thin on purpose: parse arguments, load the config, set up
//! logging, bind the listeners, hand over to `gateway_app::run`.

use std::{io::Write, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use gateway_config::{Config, LogFormat, ProcessEnvironment};
use tokio_util::sync::CancellationToken;

mod admin_cli;
mod transcripts_cli;

/// `EX_CONFIG` from sysexits.h: the configuration is wrong.
const EXIT_BAD_CONFIG: u8 = 78;
/// `EX_UNAVAILABLE`: a listener could not be bound or a component could not start.
const EXIT_CANNOT_START: u8 = 69;

#[derive(Parser)]
#[command(name = "llm-gateway", version, about = "LLM gateway reverse proxy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway until SIGTERM or SIGINT, then drain in-flight requests and exit 0.
    Serve {
        /// The config file.
        #[arg(long, default_value = "config/gateway.toml")]
        config: PathBuf,
    },
    /// Check a config file (with GATEWAY__* overrides applied) and print every problem.
    CheckConfig {
        /// The config file.
        #[arg(long, default_value = "config/gateway.toml")]
        config: PathBuf,
    },
    /// Check a policy directory and print every problem (file, line, key) at once.
    CheckPolicies {
        /// The directory (default: `policies`, relative to the working directory).
        dir: Option<PathBuf>,
    },
    /// Gateway tokens for operators and local testing.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Call a running gateway's admin API (token in $LLM_GATEWAY_ADMIN_TOKEN).
    Admin {
        #[command(flatten)]
        target: admin_cli::Target,
        #[command(subcommand)]
        command: admin_cli::AdminCommand,
    },
    /// Exit 0 when a running gateway's admin listener answers /healthz (for container health
    /// checks).
    Healthcheck {
        /// The admin listener's base URL.
        #[arg(
            long,
            default_value = "http://127.0.0.1:9090",
            env = "LLM_GATEWAY_ADMIN_URL"
        )]
        url: String,
    },
    /// Read recorded transcripts.
    Transcripts {
        #[command(subcommand)]
        command: TranscriptsCommand,
    },
}

#[derive(Subcommand)]
enum TranscriptsCommand {
    /// Print one agent session's conversation: turns, tool calls, usage and cost per turn.
    Show {
        /// The session id (the `x-claude-code-session-id` header of its requests).
        #[arg(long)]
        session: String,
        /// The transcript directory (default: `transcripts.dir` of the config).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The config file, read only for `transcripts.dir`.
        #[arg(long, default_value = "config/gateway.toml")]
        config: PathBuf,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint an HS256 token with `[auth.jwt] hs256_secret_env` (needs the gateway's environment).
    Mint {
        /// The config file.
        #[arg(long, default_value = "config/gateway.toml")]
        config: PathBuf,
        /// Subject (`sub`).
        #[arg(long)]
        sub: String,
        /// Organisation.
        #[arg(long)]
        org: Option<String>,
        /// Plan.
        #[arg(long)]
        plan: Option<String>,
        /// Lifetime, e.g. `30m`, `1h`, `7d`.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: std::time::Duration,
        /// Spending cap in USD for one agent run: makes a run-scoped token.
        #[arg(long)]
        max_usd: Option<f64>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::CheckConfig { config } => match Config::load(&config, &ProcessEnvironment) {
            Ok(_) => {
                let _ = writeln!(
                    std::io::stdout(),
                    "{}: configuration is valid",
                    config.display()
                );
                ExitCode::SUCCESS
            }
            Err(problems) => {
                let _ = write!(std::io::stderr(), "{}: {problems}", config.display());
                ExitCode::from(EXIT_BAD_CONFIG)
            }
        },
        Command::CheckPolicies { dir } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("policies"));
            // The same preparation as `serve`: the policy files, then every stage's
            // per-policy parts (the redaction engines).
            match gateway_app::check_policies(&dir) {
                Ok(set) => {
                    let _ = writeln!(
                        std::io::stdout(),
                        "{}: {} valid polic{}",
                        dir.display(),
                        set.policies().len(),
                        if set.policies().len() == 1 {
                            "y"
                        } else {
                            "ies"
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    let _ = write!(std::io::stderr(), "{}", gateway_policy::report(&errors));
                    ExitCode::from(EXIT_BAD_CONFIG)
                }
            }
        }
        Command::Token {
            command:
                TokenCommand::Mint {
                    config,
                    sub,
                    org,
                    plan,
                    ttl,
                    max_usd,
                },
        } => {
            let cfg = match Config::load(&config, &ProcessEnvironment) {
                Ok(cfg) => cfg,
                Err(problems) => {
                    let _ = write!(std::io::stderr(), "{}: {problems}", config.display());
                    return ExitCode::from(EXIT_BAD_CONFIG);
                }
            };
            let Some((secret, jwt)) = cfg
                .auth
                .jwt
                .as_ref()
                .and_then(|j| j.hs256_secret.as_ref().map(|s| (s, j)))
            else {
                let _ = writeln!(
                    std::io::stderr(),
                    "{}: [auth.jwt] hs256_secret_env is not configured; tokens can only be minted with the shared secret",
                    config.display()
                );
                return ExitCode::from(EXIT_BAD_CONFIG);
            };
            let request = gateway_auth::MintRequest {
                subject: sub,
                org,
                plan,
                ttl,
                max_usd,
                issuer: jwt.issuer.clone(),
                audience: jwt.audience.clone(),
                claims: jwt.claims.clone(),
            };
            match gateway_auth::mint_hs256(secret, &request) {
                Ok(token) => {
                    let _ = writeln!(std::io::stdout(), "{token}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Transcripts {
            command:
                TranscriptsCommand::Show {
                    session,
                    dir,
                    config,
                    json,
                },
        } => match transcripts_cli::resolve_dir(dir, &config) {
            Ok(dir) => transcripts_cli::show(&dir, &session, json),
            Err(code) => code,
        },
        Command::Admin { target, command } => admin_cli::run(target, command),
        Command::Healthcheck { url } => admin_cli::healthcheck(&url),
        Command::Serve { config } => match Config::load(&config, &ProcessEnvironment) {
            Ok(cfg) => serve(cfg),
            Err(problems) => {
                let _ = write!(std::io::stderr(), "{}: {problems}", config.display());
                ExitCode::from(EXIT_BAD_CONFIG)
            }
        },
    }
}

fn init_logging(config: &Config) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level).map_err(|e| {
        format!(
            "log.level: `{}` is not a valid filter: {e}",
            config.log.level
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| e.to_string())
}

fn serve(config: Config) -> ExitCode {
    if let Err(e) = init_logging(&config) {
        let _ = writeln!(std::io::stderr(), "{e}");
        return ExitCode::from(EXIT_BAD_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(
                error = %gateway_core::ErrorChain(&e),
                "cannot start the async runtime"
            );
            return ExitCode::from(EXIT_CANNOT_START);
        }
    };
    runtime.block_on(async move {
        let bind = |addr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| BindError { addr, source })
        };
        let listeners = match (
            bind(config.server.listen).await,
            bind(config.admin.listen).await,
        ) {
            (Ok(proxy), Ok(admin)) => gateway_app::Listeners { proxy, admin },
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %gateway_core::ErrorChain(&e), "cannot start");
                return ExitCode::from(EXIT_CANNOT_START);
            }
        };
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            signals.cancel();
        });
        match gateway_app::run(&config, listeners, shutdown).await {
            Ok(drained) => {
                tracing::info!(?drained, "stopped");
                ExitCode::SUCCESS
            }
            Err(e) if e.is_config() => {
                tracing::error!(
                    error = %gateway_core::ErrorChain(&e),
                    "cannot start: bad configuration"
                );
                ExitCode::from(EXIT_BAD_CONFIG)
            }
            Err(e) => {
                tracing::error!(error = %gateway_core::ErrorChain(&e), "cannot start");
                ExitCode::from(EXIT_CANNOT_START)
            }
        }
    })
}

/// A listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}")]
struct BindError {
    addr: std::net::SocketAddr,
    #[source]
    source: std::io::Error,
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
