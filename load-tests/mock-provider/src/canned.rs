//! Everything of the answers that depends only on the config, computed once per mock.

use crate::config::MockConfig;
use crate::reply::Reply;
use crate::{anthropic, openai};

#[derive(Debug)]
pub(crate) struct Canned {
    pub(crate) anthropic: anthropic::Canned,
    pub(crate) chat: openai::chat::Canned,
    pub(crate) responses: openai::responses::Canned,
}

impl Canned {
    pub(crate) fn new(config: &MockConfig) -> Self {
        let reply = Reply::new(&config.reply, config.deltas);
        Self {
            anthropic: anthropic::Canned::new(&reply, &config.usage),
            chat: openai::chat::Canned::new(&reply, &config.usage),
            responses: openai::responses::Canned::new(&reply, &config.usage),
        }
    }
}
