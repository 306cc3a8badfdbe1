//! Behaviour of the mock provider as its clients see it, over real sockets.

// `cfg(test)` marks the helpers as test code for clippy (unwrap and panic allowed there).
#[cfg(test)]
mod bedrock;
#[cfg(test)]
mod bedrock_stream;
#[cfg(test)]
mod client;
#[cfg(test)]
mod scripts;
#[cfg(test)]
mod wire;
