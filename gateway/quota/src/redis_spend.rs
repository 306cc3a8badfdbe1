//! The spend ledger in Redis: one sorted set per (scope, period) ranking subjects or
//! organisations by micro-USD (`ZINCRBY`), one hash per day of totals (`HINCRBY`), each with
//! its retention (`EXPIRE`), written in one round trip per settled request (key by key on a
//! cluster, where the keys sit in different slots). Reads are one `ZREVRANGE … WITHSCORES`
//! plus `ZCARD` per page, whatever the number of subjects.

use crate::spend::{by_model_key, last_days, ranking_key, total_key};
use crate::{
    DayTotal, RedisStore, SPEND_DAY_RETENTION, SPEND_MONTH_RETENTION, Spend, SpendPage, SpendScope,
    SpendWindow, StoreError,
};

impl RedisStore {
    async fn query<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        command: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection();
        tokio::time::timeout(self.timeout(), command.query_async(&mut connection))
            .await
            .map_err(|_| StoreError::Timeout {
                what,
                within: self.timeout(),
            })?
            .map_err(StoreError::Redis)
    }

    pub(crate) async fn record_spend_now(&self, spend: Spend<'_>) -> Result<(), StoreError> {
        // One small pipeline per key (a write and its retention): one round trip to a server,
        // key by key (all at once) to a cluster, where the keys sit in different slots.
        let mut pipes = Vec::new();
        let mut add = |key: String, member: &str, retention: std::time::Duration| {
            let mut pipe = redis::pipe();
            pipe.cmd("ZINCRBY")
                .arg(&key)
                .arg(spend.micro_usd)
                .arg(member)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(retention.as_secs())
                .ignore();
            pipes.push(pipe);
        };
        for (window, retention) in [
            (SpendWindow::Day, SPEND_DAY_RETENTION),
            (SpendWindow::Month, SPEND_MONTH_RETENTION),
        ] {
            let period = window.period(spend.at_ms);
            let ids = std::iter::once((SpendScope::Subject, spend.subject))
                .chain(spend.org.map(|o| (SpendScope::Org, o)));
            for (scope, id) in ids {
                add(ranking_key(scope, window, &period), id, retention);
                add(
                    by_model_key(scope, id, window, &period),
                    spend.model,
                    retention,
                );
            }
        }
        let total = total_key(&SpendWindow::Day.period(spend.at_ms));
        let mut pipe = redis::pipe();
        pipe.cmd("HINCRBY")
            .arg(&total)
            .arg("micro_usd")
            .arg(spend.micro_usd)
            .ignore()
            .cmd("HINCRBY")
            .arg(&total)
            .arg("requests")
            .arg(1)
            .ignore()
            .cmd("EXPIRE")
            .arg(&total)
            .arg(SPEND_DAY_RETENTION.as_secs())
            .ignore();
        pipes.push(pipe);
        tokio::time::timeout(self.timeout(), self.connection().write_groups(&pipes))
            .await
            .map_err(|_| StoreError::Timeout {
                what: "the spend ledger write",
                within: self.timeout(),
            })?
            .map_err(StoreError::Redis)
    }

    pub(crate) async fn top_spenders_now(
        &self,
        scope: SpendScope,
        window: SpendWindow,
        at_ms: u64,
        offset: usize,
        limit: usize,
    ) -> Result<SpendPage, StoreError> {
        let key = ranking_key(scope, window, &window.period(at_ms));
        let stop = offset.saturating_add(limit).saturating_sub(1);
        let mut pipe = redis::pipe();
        pipe.cmd("ZREVRANGE")
            .arg(&key)
            .arg(offset)
            .arg(stop)
            .arg("WITHSCORES")
            .cmd("ZCARD")
            .arg(&key);
        let (entries, total): (Vec<(String, f64)>, u64) =
            self.query("the spend ranking", &pipe).await?;
        Ok(SpendPage {
            entries: entries
                .into_iter()
                // Scores are whole micro-USD, exact in a double up to 2^53.
                .map(|(id, score)| (id, score.max(0.0) as u64))
                .collect(),
            total,
        })
    }

    pub(crate) async fn by_model_now(
        &self,
        scope: SpendScope,
        window: SpendWindow,
        id: &str,
        at_ms: u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZREVRANGE")
            .arg(by_model_key(scope, id, window, &window.period(at_ms)))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES");
        let (entries,): (Vec<(String, f64)>,) = self.query("the spend by model", &pipe).await?;
        Ok(entries
            .into_iter()
            .map(|(model, score)| (model, score.max(0.0) as u64))
            .collect())
    }

    pub(crate) async fn spent_now(
        &self,
        scope: SpendScope,
        window: SpendWindow,
        id: &str,
        at_ms: u64,
    ) -> Result<u64, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZSCORE")
            .arg(ranking_key(scope, window, &window.period(at_ms)))
            .arg(id);
        let (score,): (Option<f64>,) = self.query("the spend ranking", &pipe).await?;
        Ok(score.map_or(0, |s| s.max(0.0) as u64))
    }

    pub(crate) async fn spend_history_now(
        &self,
        days: usize,
        at_ms: u64,
    ) -> Result<Vec<DayTotal>, StoreError> {
        let days = last_days(days, at_ms);
        // One read per day: the days' keys sit in different slots of a cluster.
        let pipes: Vec<redis::Pipeline> = days
            .iter()
            .map(|day| {
                let mut pipe = redis::pipe();
                pipe.cmd("HMGET")
                    .arg(total_key(day))
                    .arg("micro_usd")
                    .arg("requests");
                pipe
            })
            .collect();
        let rows: Vec<((Option<u64>, Option<u64>),)> = futures_util::future::try_join_all(
            pipes.iter().map(|p| self.query("the spend totals", p)),
        )
        .await?;
        let rows = rows.into_iter().map(|(r,)| r);
        Ok(days
            .into_iter()
            .zip(rows)
            .map(|(day, (micro_usd, requests))| DayTotal {
                day,
                micro_usd: micro_usd.unwrap_or(0),
                requests: requests.unwrap_or(0),
            })
            .collect())
    }
}
