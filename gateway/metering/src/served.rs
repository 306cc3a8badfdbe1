//! [`TargetPrices`]: what an exchange is charged when a target other than the primary served
//! it. The reservation is made at the main table's prices (the primary's); once the attempt
//! loop knows which target serves, [`Metering::served_by`] re-prices the [`Hold`] so the one
//! settlement uses the serving target's prices.
//!
//! Selection: a target with its own table (`prices_file`) is looked up with the model id the
//! target was sent (a Bedrock target's mapped id), then with the id the client named, then the
//! table's unknown-model default; a target without one, or a model its table does not price,
//! keeps the main table's price (logged: a served answer cannot be refused any more).

use gateway_meter::PriceTable;

use crate::{Hold, Metering};

/// Each target's own price table, by target index (0 is the primary); `None`: the main table.
#[derive(Debug, Default)]
pub struct TargetPrices {
    tables: Vec<Option<PriceTable>>,
}

impl TargetPrices {
    /// `tables[i]` is target `i`'s own table.
    pub fn new(tables: Vec<Option<PriceTable>>) -> Self {
        Self { tables }
    }
}

impl Metering {
    /// Puts the targets' own price tables in force for every later [`Metering::served_by`].
    #[must_use]
    pub fn with_target_prices(mut self, prices: TargetPrices) -> Self {
        self.target_prices = prices;
        self
    }

    /// Target `target` serves `hold`'s exchange, sent as `target_model` (its own id of the
    /// model, when it has one): the hold settles at that target's price for it.
    pub fn served_by(&self, hold: &mut Hold, target: usize, target_model: Option<&str>) {
        let Some(table) = self
            .target_prices
            .tables
            .get(target)
            .and_then(Option::as_ref)
        else {
            return;
        };
        let ids = target_model.into_iter().chain([hold.model.as_str()]);
        match table.price_of_first(ids) {
            Some(price) => hold.price = *price,
            None => tracing::warn!(
                model = %hold.model,
                target_model,
                target,
                "the serving target's price table has no price for this model; charged at the main table's"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use gateway_core::Api;
    use gateway_meter::Price;
    use gateway_metrics::Metrics;
    use gateway_quota::MemoryStore;

    use super::*;

    const RATES: &str = "cache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\noutput = 1\nmax_output_tokens = 1000\n";

    fn table(unknown: &str, models: &[(&str, u32, &str)]) -> PriceTable {
        let mut text = format!("[unknown_models]\nanswer = \"{unknown}\"\n");
        if unknown == "default" {
            text.push_str(&format!("[unknown_models.default]\ninput = 99\n{RATES}"));
        }
        for (id, input, aliases) in models {
            text.push_str(&format!(
                "[models.{id}]\ninput = {input}\n{RATES}aliases = [{aliases}]\n"
            ));
        }
        PriceTable::parse(&text).unwrap()
    }

    fn metering(targets: Vec<Option<PriceTable>>) -> Metering {
        let metrics = Arc::new(Metrics::new().unwrap());
        Metering::new(
            table("refuse", &[("claude-x", 3, "")]),
            Arc::new(MemoryStore::default()),
            false,
            Duration::from_secs(60),
            metrics,
        )
        .with_target_prices(TargetPrices::new(targets))
    }

    fn hold(input_rate: u64) -> Hold {
        Hold {
            reservation: None,
            api: Api::AnthropicMessages,
            model: "claude-x".to_owned(),
            model_label: "claude-x".to_owned(),
            price: Price {
                input: input_rate,
                ..Price::default()
            },
            input_estimate_tokens: 0,
            strip_usage_chunk: false,
            org: None,
            subject: "alice".to_owned(),
            ledger: None,
            metrics: Arc::new(Metrics::new().unwrap()),
        }
    }

    /// The input rate the hold settles at after `target` served as `target_model`.
    fn settled_rate(m: &Metering, target: usize, target_model: Option<&str>) -> u64 {
        let mut h = hold(3_000_000);
        m.served_by(&mut h, target, target_model);
        h.price.input
    }

    #[test]
    fn the_serving_targets_own_table_prices_its_model_id_first() {
        let bedrock = table(
            "refuse",
            &[
                ("claude-x", 5, "\"*anthropic.claude-x-v*\""),
                ("by-target-id", 7, "\"us.anthropic.other-v1:0\""),
            ],
        );
        let m = metering(vec![None, Some(bedrock)]);
        assert_eq!(
            settled_rate(&m, 1, Some("us.anthropic.claude-x-v1:0")),
            5_000_000
        );
        assert_eq!(
            settled_rate(&m, 1, Some("us.anthropic.other-v1:0")),
            7_000_000,
            "the id the target was sent wins over the client's"
        );
        assert_eq!(
            settled_rate(&m, 1, Some("unlisted")),
            5_000_000,
            "then the client's id"
        );
        assert_eq!(settled_rate(&m, 1, None), 5_000_000);
    }

    #[test]
    fn the_primary_a_target_without_a_table_and_an_unpriced_model_keep_the_main_price() {
        let other = table("refuse", &[("something-else", 8, "")]);
        let m = metering(vec![None, None, Some(other)]);
        assert_eq!(settled_rate(&m, 0, Some("claude-x")), 3_000_000);
        assert_eq!(settled_rate(&m, 1, Some("claude-x")), 3_000_000);
        assert_eq!(settled_rate(&m, 2, Some("claude-x")), 3_000_000);
        assert_eq!(settled_rate(&m, 9, None), 3_000_000, "no such target");
    }

    #[test]
    fn a_target_table_with_a_default_charges_it_for_models_it_does_not_list() {
        let m = metering(vec![None, Some(table("default", &[("other", 8, "")]))]);
        assert_eq!(settled_rate(&m, 1, Some("claude-x")), 99_000_000);
    }
}
