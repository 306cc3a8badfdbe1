//! Recall tallies: hits and cases per family, context, encoding and line form, printed as
//! tables (`cargo test -p gateway-redact recall -- --nocapture`) and checked against targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One axis of a recall table (family, context, encoding, line form).
#[derive(Debug, Default)]
pub(crate) struct Axis {
    name: &'static str,
    cells: BTreeMap<String, (usize, usize)>,
}

impl Axis {
    fn add(&mut self, key: &str, hit: bool) {
        let c = self.cells.entry(key.to_owned()).or_default();
        c.0 += usize::from(hit);
        c.1 += 1;
    }

    /// Recall of one key in percent (0 when it has no cases).
    pub(crate) fn recall(&self, key: &str) -> f64 {
        self.cells
            .get(key)
            .map_or(0.0, |&(h, n)| 100.0 * h as f64 / n as f64)
    }

    /// The keys whose recall is below `target` percent, with their recall.
    pub(crate) fn below(&self, target: f64) -> Vec<(String, f64)> {
        self.cells
            .iter()
            .map(|(k, &(h, n))| (k.clone(), 100.0 * h as f64 / n as f64))
            .filter(|&(_, r)| r < target)
            .collect()
    }
}

/// Recall along four axes at once.
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) family: Axis,
    pub(crate) context: Axis,
    pub(crate) encoding: Axis,
    pub(crate) form: Axis,
    /// A few misses, for the report (never the value: family, context, encoding, form).
    pub(crate) misses: Vec<String>,
}

impl Tally {
    pub(crate) fn new() -> Self {
        let axis = |name| Axis {
            name,
            cells: BTreeMap::new(),
        };
        Self {
            family: axis("family"),
            context: axis("context"),
            encoding: axis("encoding"),
            form: axis("line form"),
            misses: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, family: &str, ctx: &str, enc: &str, form: &str, hit: bool) {
        self.family.add(family, hit);
        self.context.add(ctx, hit);
        self.encoding.add(enc, hit);
        self.form.add(form, hit);
        if !hit && self.misses.len() < 40 {
            self.misses.push(format!("{family} in {ctx}/{enc}/{form}"));
        }
    }

    /// Every axis as a Markdown table, then the first misses.
    pub(crate) fn render(&self, title: &str) -> String {
        let mut s = format!("## {title}\n");
        for axis in [&self.family, &self.context, &self.encoding, &self.form] {
            let _ = writeln!(s, "\n| {} | recall | cases |\n|---|---|---|", axis.name);
            for (k, &(h, n)) in &axis.cells {
                let r = 100.0 * h as f64 / n as f64;
                let _ = writeln!(s, "| {k} | {r:.1} % | {n} |");
            }
        }
        for m in &self.misses {
            let _ = writeln!(s, "  missed: {m}");
        }
        s
    }
}
