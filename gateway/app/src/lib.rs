//! The composition root: builds every stage from the validated config and serves the
//! client-facing and admin listeners. It composes; the stages and engines do the work.
//!
//! Owns: the order of things. `stack.rs` holds the request-agnostic tower shell (request id,
//! sensitive headers, tracing); `pipeline.rs` the whole request lifecycle, both halves, in
//! order (resolve route → authenticate → read body → resolve policy → reserve → redact →
//! begin transcript → forward, the attempt loop in `attempts.rs` → the response chain → one
//! `Outcome` fanned out to quota, metrics and transcripts); `routes.rs` the route table and the one endpoint → API mapping;
//! `exchange.rs` the metered response body that produces the outcome; `body.rs` the response
//! body type and in-flight accounting; `policies.rs` the live policy set and its reload
//! (every stage prepares, then the set swaps); the one `gateway_metrics::Metrics` registry,
//! built here and handed to every stage, served at the admin listener's `/metrics`.
//!
//! Invariants:
//! - every route needs a credential except the probes named in `routes.rs`;
//! - the admin routes are served only on the admin listener;
//! - every refusal is a response in the envelope of the provider API called;
//! - on shutdown, both listeners stop accepting, readiness turns false, and in-flight requests
//!   run on up to the drain timeout.
//!
//! Not here: parsing config (gateway-config), sockets and TLS (gateway-server), provider I/O
//! (gateway-upstream), credentials (gateway-auth).

mod attempts;
mod auth_fetch;
mod body;
mod exchange;
mod pipeline;
mod policies;
mod redis_client;
mod route_meters;
mod routes;
mod runtime_records;
mod stack;
mod target_prices;

use std::sync::Arc;

use gateway_admin::{Admin, AdminState, Readiness};
use gateway_auth::Authenticator;
use gateway_capture::{TranscriptSetupError, Transcripts};
use gateway_config::Config;
use gateway_core::Provider;
use gateway_metering::Metering;
use gateway_metrics::Metrics;
use gateway_policy::PolicyErrors;
use gateway_redaction::{Redaction, RedactionSetupError};
use gateway_server::{Drained, ServeOptions};
use gateway_upstream::Upstreams;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use body::ResponseBody;
pub use policies::check as check_policies;
pub use stack::REQUEST_ID_HEADER;
pub use target_prices::TargetPriceErrors;

/// The admin listener drains quickly: its requests are short.
const ADMIN_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest the transcript writer may take to write its queue at shutdown.
const TRANSCRIPT_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Admin connections served at once.
const ADMIN_MAX_CONNECTIONS: usize = 64;

/// The gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The upstream client could not be built.
    #[error(transparent)]
    Client(#[from] gateway_upstream::ClientError),
    /// The server certificate or key is unusable.
    #[error("server.tls: {0}")]
    Tls(#[from] gateway_server::tls::TlsError),
    /// The price table is invalid.
    #[error("quota.prices_file: {0}")]
    Prices(#[source] gateway_meter::PriceErrors),
    /// A fallback target's own price table is invalid.
    #[error("{0}")]
    TargetPrices(#[source] target_prices::TargetPriceErrors),
    /// The policy directory is invalid.
    #[error("quota.policies_dir:\n{0}")]
    Policies(#[source] PolicyErrors),
    /// The redaction engine could not start.
    #[error(transparent)]
    Redaction(#[from] RedactionSetupError),
    /// The transcript sink could not start.
    #[error(transparent)]
    Transcripts(#[from] TranscriptSetupError),
    /// The shared quota store cannot be reached.
    #[error(transparent)]
    Store(gateway_quota::StoreError),
    /// The admins' runtime records cannot be loaded.
    #[error("admin runtime records: {0}")]
    RuntimeState(#[source] gateway_runtime_state::StateError),
    /// A metric family could not be registered (a bug: names are fixed).
    #[error("metrics: {0}")]
    Metrics(#[from] gateway_metrics::Error),
}

impl StartError {
    /// Whether this is a configuration problem (exit code 78) rather than an unavailable
    /// dependency.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Self::Tls(_)
                | Self::Prices(_)
                | Self::TargetPrices(_)
                | Self::Policies(_)
                | Self::Redaction(_)
        )
    }
}

/// Everything a request needs, built once from the config.
#[derive(Debug)]
pub struct Gateway {
    auth: Arc<Authenticator>,
    policies: Arc<policies::LivePolicies>,
    metering: Metering,
    redaction: Option<Arc<Redaction>>,
    transcripts: Option<Transcripts>,
    admin_tokens: Vec<gateway_config::AdminToken>,
    upstreams: Upstreams,
    /// Retry, key-pool and fallback decisions for the Anthropic upstream (others get one
    /// attempt).
    resilience: Option<gateway_resilience::Resilience>,
    /// The same for the OpenAI upstream (its key pool and OpenAI-compatible fallbacks).
    resilience_openai: Option<gateway_resilience::Resilience>,
    /// Declared upstreams without their key, for the 503 that says which variable to set.
    keyless: Vec<gateway_config::Keyless>,
    prefixes: Vec<String>,
    intake: gateway_intake::Intake,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    /// Per-route metric handles, so the request path looks no label up.
    route_meters: Arc<route_meters::RouteMeters>,
    /// The admins' runtime overrides, blocks and virtual keys, shared by replicas.
    runtime: Arc<gateway_runtime_state::RuntimeState>,
    /// `[admin] audit_path`.
    audit_path: std::path::PathBuf,
    /// The last metered exchanges, for the admin API.
    recent: Arc<gateway_admin::RecentRequests>,
    /// `transcripts.session_header`: the agent session of a recent request (`None`: not a
    /// valid header name, so no request carries it). Parsed once, not per request.
    session_header: Option<http::HeaderName>,
}

impl Gateway {
    /// The retry, key-pool and fallback decisions of `provider`'s upstream.
    pub(crate) fn resilience(&self, provider: Provider) -> Option<&gateway_resilience::Resilience> {
        match provider {
            Provider::Anthropic => self.resilience.as_ref(),
            Provider::OpenAi => self.resilience_openai.as_ref(),
        }
    }

    /// Builds every stage: loads prices and policies, connects the quota store.
    pub async fn new(config: &Config) -> Result<Self, StartError> {
        // One registry for every stage, served at the admin listener's /metrics.
        let metrics = Arc::new(Metrics::new()?);
        if let Some(max) = config.metrics.org_label_max_values {
            metrics.enable_org_label(max)?;
        }
        let upstreams = Upstreams::new(config, metrics.clone())?;
        let served = Provider::ALL
            .into_iter()
            .filter(|p| upstreams.has(*p))
            .map(Provider::as_label)
            .collect();
        // Said once: which declared upstreams have no key, and what their routes answer.
        for k in &config.upstreams.keyless {
            tracing::warn!(
                upstream = %k.name,
                key_env = %k.key_env,
                "upstream not configured: its key variable is unset; its routes answer 503 until it is set"
            );
        }
        let unconfigured = config
            .upstreams
            .keyless
            .iter()
            .map(|k| (k.name.clone(), format!("{} is not set", k.key_env)))
            .collect();
        let fetch = Arc::new(auth_fetch::AuthFetch(upstreams.fetcher()));
        let q = &config.quota;
        let prices = gateway_meter::PriceTable::load(&q.prices_file).map_err(StartError::Prices)?;
        // Every fallback's own table too: a bad one stops the start, all problems at once.
        let target_prices = target_prices::load(config.upstreams.anthropic.as_ref())
            .map_err(StartError::TargetPrices)?;
        let policies =
            gateway_policy::PolicySet::load_dir(&q.policies_dir).map_err(StartError::Policies)?;
        // Every policy's engine is built now: a rule the engine refuses stops the start.
        let redaction = Redaction::new(&config.redaction, &policies)?.map(Arc::new);
        let mut redis = None;
        let (store, shared): (Arc<dyn gateway_quota::Store>, bool) = match &q.store {
            gateway_config::QuotaStore::Memory => {
                (Arc::new(gateway_quota::MemoryStore::default()), false)
            }
            gateway_config::QuotaStore::Redis {
                url,
                ca_pem,
                cluster,
            } => {
                let connection = redis_client::connect(
                    url.expose(),
                    ca_pem.as_deref(),
                    *cluster,
                    q.redis_timeout,
                )
                .await
                .map_err(StartError::Store)?;
                redis = Some(connection.clone());
                (
                    Arc::new(gateway_quota::RedisStore::with_connection(
                        connection,
                        q.redis_timeout,
                    )),
                    true,
                )
            }
        };
        let runtime = runtime_records::start(redis, q.redis_timeout).await?;
        let metering = Metering::new(prices, store, shared, q.lease, metrics.clone())
            .with_overrides(runtime.clone())
            .with_target_prices(target_prices);
        let policies = Arc::new(policies::LivePolicies::new(policies));
        // The reload task prepares every stage for a new set before it swaps.
        policies::spawn_reload(
            &policies,
            redaction.clone(),
            metrics.clone(),
            q.policies_dir.clone(),
            q.policies_reload,
        );
        Ok(Self {
            policies,
            metering,
            redaction,
            transcripts: Transcripts::new(&config.transcripts)?,
            admin_tokens: config.admin.tokens.clone(),
            auth: Arc::new(
                Authenticator::new(&config.auth, fetch)
                    .with_runtime_keys(Arc::new(runtime_records::VirtualKeys(runtime.clone()))),
            ),
            upstreams,
            resilience: config.upstreams.anthropic.as_ref().map(|u| {
                gateway_resilience::Resilience::new(u, &config.forwarding.retry, metrics.clone())
            }),
            resilience_openai: config.upstreams.openai.as_ref().map(|u| {
                gateway_resilience::Resilience::new(u, &config.forwarding.retry, metrics.clone())
            }),
            keyless: config.upstreams.keyless.clone(),
            prefixes: config.server.path_prefixes.clone(),
            intake: gateway_intake::Intake::new(
                config.server.request_body_max_bytes,
                gateway_intake::BodyBudget::new(
                    config.server.inflight_body_max_bytes,
                    config.server.inflight_body_wait,
                ),
            ),
            readiness: Readiness::new(served, unconfigured),
            route_meters: Arc::new(route_meters::RouteMeters::new(metrics.clone())),
            metrics,
            runtime,
            audit_path: config.admin.audit_path.clone(),
            recent: Arc::new(gateway_admin::RecentRequests::default()),
            session_header: http::HeaderName::try_from(config.transcripts.session_header.as_str())
                .ok(),
        })
    }
}

/// Pre-bound listeners: the binary binds the configured addresses, tests bind port 0.
#[derive(Debug)]
pub struct Listeners {
    /// Client-facing.
    pub proxy: TcpListener,
    /// Admin.
    pub admin: TcpListener,
}

/// Serves both listeners until `shutdown` is cancelled, then drains. Returns how the proxy
/// listener's drain ended.
pub async fn run(
    config: &Config,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<Drained, StartError> {
    let (proxy_addr, admin_addr) = (listeners.proxy.local_addr(), listeners.admin.local_addr());
    let gw = Arc::new(Gateway::new(config).await?);
    gw.auth.start().await;
    let tls = match &config.server.tls {
        Some(files) => Some(gateway_server::tls::acceptor(
            &files.cert_file,
            &files.key_file,
        )?),
        None => None,
    };
    let proxy_options = ServeOptions {
        tls,
        max_connections: config.server.max_connections,
        drain_timeout: config.server.drain_timeout,
        name: "proxy",
    };
    let admin_options = ServeOptions {
        tls: None,
        max_connections: ADMIN_MAX_CONNECTIONS,
        drain_timeout: ADMIN_DRAIN_TIMEOUT,
        name: "admin",
    };
    let readiness = gw.readiness.clone();
    let stopping = {
        let shutdown = shutdown.clone();
        let readiness = readiness.clone();
        async move {
            shutdown.cancelled().await;
            readiness.set_draining();
        }
    };
    let proxy_gw = gw.clone();
    let proxy = gateway_server::serve(
        listeners.proxy,
        move |peer| stack::proxy_service(proxy_gw.clone(), peer),
        proxy_options,
        stopping,
    );
    let admin = Arc::new(Admin {
        state: gw.clone(),
        readiness,
        metrics: gw.metrics.clone(),
        tokens: gw.admin_tokens.clone(),
        runtime: gw.runtime.clone(),
        audit: gateway_admin::AuditLog::open(&gw.audit_path),
        recent: gw.recent.clone(),
        stale: gateway_admin::StaleOverrides::default(),
        transcripts_dir: match (&config.transcripts.enabled, &config.transcripts.sink) {
            (true, gateway_config::TranscriptSink::File(files)) => Some(files.dir.clone()),
            _ => None,
        },
    });
    // An applied policy reload may leave overrides stale: the admin side flags them.
    let mut reloads = gw.policies.applied_reloads();
    let weak_admin = Arc::downgrade(&admin);
    // Ends when the admin state is dropped or the policies are.
    tokio::spawn(async move {
        while reloads.changed().await.is_ok() {
            let Some(admin) = weak_admin.upgrade() else {
                break;
            };
            admin.note_policy_reload();
        }
    });
    let admin = gateway_server::serve(
        listeners.admin,
        move |_peer| gateway_admin::service(admin.clone()),
        admin_options,
        shutdown.cancelled_owned(),
    );
    // Every stage is built: only now is the gateway announced as listening (tests and
    // orchestrators wait for this line).
    if let (Ok(proxy), Ok(admin)) = (proxy_addr, admin_addr) {
        tracing::info!(
            target: "llm_gateway",
            proxy = %proxy,
            admin = %admin,
            tls = config.server.tls.is_some(),
            version = env!("CARGO_PKG_VERSION"),
            "listening"
        );
    }
    let (drained, _) = tokio::join!(proxy, admin);
    // Every response has ended or been dropped: write what the transcript queue holds.
    let writer_gw = gw.clone();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(t) = &writer_gw.transcripts {
            t.shutdown(TRANSCRIPT_DRAIN_TIMEOUT);
        }
    })
    .await;
    Ok(drained)
}

/// What the admin listener reads from the running gateway.
impl AdminState for Gateway {
    fn problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if self.metering.degraded() {
            problems
                .push("quota store unreachable: running on the policies' on_store_error fallback");
        }
        if let Some(t) = &self.transcripts
            && !t.recorder().health().healthy
        {
            problems.push(
                "transcript sink failing: records are retained and retried, then dropped (see llm_gateway_transcript_records_total and the log)",
            );
        }
        problems
    }

    fn before_scrape(&self) {
        self.metrics.sync_auth_failures(&self.auth.failure_counts());
        for r in [&self.resilience, &self.resilience_openai]
            .into_iter()
            .flatten()
        {
            r.sync_breaker_gauges(std::time::Instant::now());
        }
        let budget = self.intake.budget();
        self.metrics
            .sync_body_budget(budget.in_use(), budget.max_bytes(), budget.refusals());
        let counts = self
            .runtime
            .snapshot()
            .counts(gateway_runtime_state::now_ms());
        let admin = &self.metrics.admin;
        admin.overrides_active.set(gauge(counts.overrides_active));
        admin.blocks_active.set(gauge(counts.blocks_active));
        admin.virtual_keys.set(gauge(counts.virtual_keys));
        if let Some(t) = &self.transcripts {
            let counts = t.recorder().counters().snapshot();
            self.metrics.sync_transcripts(
                &counts.records_total(),
                counts.queue_depth + counts.retained,
            );
        }
    }

    fn breakers(&self) -> Vec<(String, &'static str)> {
        [&self.resilience, &self.resilience_openai]
            .into_iter()
            .flatten()
            .flat_map(|r| r.breakers(std::time::Instant::now()))
            .map(|b| (format!("{}/{}", b.target, b.model), b.state.as_label()))
            .collect()
    }

    fn quota_store(&self) -> &Arc<dyn gateway_quota::Store> {
        self.metering.store()
    }

    fn store_errors(&self) -> u64 {
        self.metering.store_errors()
    }

    fn policy_for(&self, who: &gateway_core::Principal) -> Option<Arc<gateway_policy::Policy>> {
        self.policies.select(who)
    }

    fn policies(
        &self,
    ) -> (
        Arc<gateway_policy::PolicySet>,
        Option<gateway_admin::RefusedReload>,
    ) {
        self.policies.report()
    }
}

/// A count as a gauge value (saturating; counts of records never come near).
fn gauge(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
