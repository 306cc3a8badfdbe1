//! `loadgen`: the HTTP/1.1 load generator of the gateway's load tests (`load-tests/run.sh`).
//!
//! Sends a realistic Anthropic Messages request (`POST`, `--body-bytes` of JSON,
//! `authorization: Bearer gw-dev-token`, `anthropic-version`; `"stream": false`, or `true`
//! with `--stream`) to `--url` in one of three shapes:
//! - **fixed rate** (`--rate R`): open loop. Requests are scheduled every `1/R` s whatever the
//!   server does, and each latency counts from the request's *scheduled* send time, so a
//!   stall is charged to every request it delayed (no coordinated omission). The `service`
//!   line gives the time from the actual send, for comparison.
//! - **max throughput** (`--max`): closed loop. Each connection sends its next request as
//!   soon as the previous answer is read.
//! - **idle-stream soak** (`--stream --hold N`): N connections, one streaming request on
//!   each, all read to their ends; reports the most streams open at once and how many
//!   finished OK (see `hold.rs`).
//!
//! Latency is to the answer's last byte; `first byte` is to its first body byte, from the
//! same start. With `--stream` a 2xx answer must end with `message_stop` (else it is a
//! `stream cut` error). Prints p50/p90/p99/p99.9/max, the achieved rate and errors by kind
//! (any non-2xx status, `timeout`, `connect`, …), as text or, with `--json`, one JSON object.
//!
//! Bounds: `--connections` keep-alive connections, each with at most one request in flight
//! (HTTP/1.1, no pipelining); at most 65,536 scheduled requests queued; answers read up to
//! 16 MiB; each request `--timeout`; the whole run `--warmup` + `--duration` + `--timeout`
//! (`--hold`: the whole soak `--timeout`).
//!
//! Not here: TLS, HTTP/2, parsing SSE events (a stream is read as bytes).

mod body;
mod hold;
mod run;
mod tally;
mod target;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::json;

use hold::Held;
use run::{Measured, Window};
use target::Target;

/// HTTP/1.1 load generator: open-loop fixed rate, closed-loop max throughput or an
/// idle-stream soak.
#[derive(Debug, Parser)]
#[command(version)]
#[command(group(clap::ArgGroup::new("shape").required(true).args(["rate", "max", "hold"])))]
struct Args {
    /// Where to send the requests (plain http://).
    #[arg(long, default_value = "http://127.0.0.1:8080/v1/messages")]
    url: String,
    /// Open loop: requests per second, on a fixed schedule.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    rate: Option<u32>,
    /// Closed loop: every connection sends back to back.
    #[arg(long)]
    max: bool,
    /// Soak: this many connections, one streaming request each, all open at once and read
    /// to their ends (needs `--stream`; `--timeout` bounds the whole soak).
    #[arg(
        long,
        value_name = "STREAMS",
        requires = "stream",
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    hold: Option<u32>,
    /// Ask for streamed answers (`"stream": true`) and check each ends with `message_stop`.
    #[arg(long)]
    stream: bool,
    /// How long to measure (e.g. `10s`, `500ms`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load sent before measuring, not recorded.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Keep-alive connections, each with at most one request in flight.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
    connections: u16,
    /// Size of the JSON request body, in bytes.
    #[arg(long, default_value_t = 10_240, value_parser = clap::value_parser!(u32).range(1..=33_554_432))]
    body_bytes: u32,
    /// An extra request header, `name: value` (repeatable; replaces a default of that name).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Longest wait for one answer; a request taking longer counts as a `timeout` error.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Runtime worker threads (1: a single-threaded runtime, plus the schedule thread).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
    /// A name for this run in the report (e.g. `direct`, `gateway`).
    #[arg(long, default_value = "loadgen")]
    label: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.threads))
            .enable_all()
            .build()?
    };
    if let Some(streams) = args.hold {
        let held = runtime
            .block_on(async { hold::hold(target(&args).await?, streams, args.timeout).await })?;
        return report_hold(&args, &held);
    }
    let measured = runtime.block_on(run(&args))?;
    report(&args, &measured)
}

async fn target(args: &Args) -> anyhow::Result<Arc<Target>> {
    let body = body::anthropic_messages(usize::try_from(args.body_bytes)?, args.stream)
        .context("cannot build the request body")?;
    Ok(Arc::new(
        Target::new(&args.url, &args.headers, body, args.stream).await?,
    ))
}

async fn run(args: &Args) -> anyhow::Result<Measured> {
    let target = target(args).await?;
    let window = Window {
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
    };
    let connections = usize::from(args.connections);
    match args.rate {
        Some(rate) => run::fixed_rate(target, connections, rate, window).await,
        None => run::max_throughput(target, connections, window).await,
    }
}

#[expect(clippy::print_stdout, reason = "a CLI report")]
fn report(args: &Args, measured: &Measured) -> anyhow::Result<()> {
    let tally = &measured.tally;
    let unfinished = measured.scheduled.saturating_sub(tally.completed());
    let latency = tally.latency_ms();
    let service = tally.service_ms();
    let first_byte = tally.first_byte_ms();
    if args.json {
        let report = json!({
            "label": args.label,
            "mode": if args.max { "max" } else { "rate" },
            "url": args.url,
            "connections": args.connections,
            "body_bytes": args.body_bytes,
            "stream": args.stream,
            "duration_s": args.duration.as_secs_f64(),
            "warmup_s": args.warmup.as_secs_f64(),
            "target_rate": args.rate,
            "scheduled": measured.scheduled,
            "completed": tally.completed(),
            "ok": tally.ok(),
            "errors": tally.error_count(),
            "errors_by_kind": tally.errors(),
            "unfinished": unfinished,
            "requests_total": tally.total(),
            "cpu_s": cpu_seconds(),
            "achieved_rate": measured.achieved_rate,
            "latency_ms": latency.json(),
            "service_ms": service.json(),
            "first_byte_ms": first_byte.json(),
        });
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let shape = match args.rate {
        Some(rate) => format!("fixed rate {rate} req/s"),
        None => "max throughput".to_owned(),
    };
    let kind = if args.stream {
        "streaming"
    } else {
        "non-streaming"
    };
    println!(
        "{}: {shape}, {:?} (+{:?} warm-up), {} connections, {}-byte {kind} POST {}",
        args.label, args.duration, args.warmup, args.connections, args.body_bytes, args.url
    );
    println!(
        "  requests  {} scheduled, {} completed, {} ok, {} errors, {unfinished} unfinished",
        measured.scheduled,
        tally.completed(),
        tally.ok(),
        tally.error_count()
    );
    println!("  rate      {:.1} req/s achieved", measured.achieved_rate);
    let from = if args.max { "send" } else { "scheduled send" };
    println!("  latency   {}  (from the {from})", latency.line());
    if !args.max {
        println!("  service   {}  (from the actual send)", service.line());
    }
    println!("  first byte {}  (from the {from})", first_byte.line());
    print_errors(tally);
    Ok(())
}

#[expect(clippy::print_stdout, reason = "a CLI report")]
fn report_hold(args: &Args, held: &Held) -> anyhow::Result<()> {
    let tally = &held.tally;
    if args.json {
        let report = json!({
            "label": args.label,
            "mode": "hold",
            "url": args.url,
            "streams": args.hold,
            "body_bytes": args.body_bytes,
            "stream": args.stream,
            "opened": held.opened,
            "open_peak": held.open_peak,
            "heads_after_s": held.heads_after.as_secs_f64(),
            "completed": tally.completed(),
            "ok": tally.ok(),
            "errors": tally.error_count(),
            "errors_by_kind": tally.errors(),
            "requests_total": tally.total(),
            "cpu_s": cpu_seconds(),
            "lifetime_ms": tally.latency_ms().json(),
            "first_byte_ms": tally.first_byte_ms().json(),
        });
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{}: soak, {} streams, {}-byte streaming POST {}",
        args.label,
        args.hold.unwrap_or_default(),
        args.body_bytes,
        args.url
    );
    println!(
        "  streams   {} opened ({} open at once at most, all heads after {:.3} s), {} ok, {} errors",
        held.opened,
        held.open_peak,
        held.heads_after.as_secs_f64(),
        tally.ok(),
        tally.error_count()
    );
    println!("  lifetime  {}  (from the send)", tally.latency_ms().line());
    println!(
        "  first byte {}  (from the send)",
        tally.first_byte_ms().line()
    );
    print_errors(tally);
    Ok(())
}

#[expect(clippy::print_stdout, reason = "a CLI report")]
fn print_errors(tally: &tally::Tally) {
    if !tally.errors().is_empty() {
        let kinds: Vec<String> = tally
            .errors()
            .iter()
            .map(|(kind, count)| format!("{kind}: {count}"))
            .collect();
        println!("  errors    {}", kinds.join(", "));
    }
}

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`: 100 on every Linux ABI).
const USER_HZ: f64 = 100.0;

/// CPU time (user + system, all threads) this process has used so far; `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the `(command)` field: state is field 0, utime 11, stime 12.
    let (_, fields) = stat.rsplit_once(") ")?;
    let mut fields = fields.split_ascii_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// `10s`, `250ms`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a duration such as 10s or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        other => return Err(format!("`{text}`: unknown unit `{other}` (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn cpu_time_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
        }
    }

    #[test]
    fn a_shape_is_required() {
        assert!(Args::try_parse_from(["loadgen"]).is_err());
        assert!(Args::try_parse_from(["loadgen", "--rate", "10", "--max"]).is_err());
        assert!(Args::try_parse_from(["loadgen", "--max"]).is_ok());
        assert!(Args::try_parse_from(["loadgen", "--max", "--hold", "10", "--stream"]).is_err());
    }

    #[test]
    fn hold_needs_stream() {
        assert!(Args::try_parse_from(["loadgen", "--hold", "10"]).is_err());
        let args = Args::try_parse_from(["loadgen", "--hold", "10", "--stream"]).unwrap();
        assert_eq!(args.hold, Some(10));
        assert!(args.stream);
    }
}
