//! [`S3Reader`]: list the objects of a day range (optionally one org) and fetch them
//! decompressed, for tests (feature `reader`). Async: call it from the caller's runtime.
//!
//! A record's blocks may be in an earlier object of its day/org prefix: load every object of
//! a prefix (e.g. into `gateway_transcript::read::Library`) before resolving references.

use std::{fmt, io::Read as _, sync::Arc, time::Duration};

use futures_util::TryStreamExt as _;
use object_store::{ObjectStore, ObjectStoreExt as _, path::Path};

use crate::{S3Error, S3SinkConfig, key, store};

/// Default bound on one object's decompressed size (objects are cut near
/// `object_max_bytes`; this leaves room for a large last batch).
pub const READ_OBJECT_MAX_BYTES: usize = 256 << 20;
/// Most objects one listing returns.
pub const LIST_MAX_OBJECTS: usize = 100_000;

/// Which organisations' objects to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgFilter<'a> {
    /// Every organisation, and records without one.
    All,
    /// One organisation, by name (not encoded).
    Named(&'a str),
    /// Records without an organisation.
    NoOrg,
}

/// One transcript object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The full key.
    pub key: String,
    /// `YYYY-MM-DD` (or `unknown-day`).
    pub day: String,
    /// The org segment as stored (percent-encoded, `_none` without an org).
    pub org: String,
    /// The replica that wrote it.
    pub replica: String,
    /// Its place in the replica's upload order.
    pub seq: u64,
    /// Compressed size.
    pub size: u64,
}

/// Reads transcript objects back.
pub struct S3Reader {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    request_timeout: Duration,
    max_object_bytes: usize,
}

impl S3Reader {
    /// A reader for the objects an [`crate::S3Sink`] with `config` writes.
    pub fn new(config: &S3SinkConfig) -> Result<Self, S3Error> {
        Ok(Self {
            store: store::build(config)?,
            prefix: config.prefix.clone(),
            request_timeout: config.request_timeout,
            max_object_bytes: READ_OBJECT_MAX_BYTES,
        })
    }

    /// Changes the bound on one object's decompressed size.
    pub fn with_max_object_bytes(mut self, max: usize) -> Self {
        self.max_object_bytes = max;
        self
    }

    /// The objects of days `from..=to` (`YYYY-MM-DD`, compared as strings: records whose day
    /// was unreadable are under [`key::UNKNOWN_DAY`], after every date) and `orgs`, sorted by
    /// day, org, replica and upload order (the order in which blocks precede the records
    /// using them).
    pub async fn list(
        &self,
        from: &str,
        to: &str,
        orgs: OrgFilter<'_>,
    ) -> Result<Vec<ObjectInfo>, S3Error> {
        let root = self.path(&self.prefix)?;
        let days = store::bounded(
            "list",
            &self.prefix,
            self.request_timeout,
            self.store.list_with_delimiter(Some(&root)),
        )
        .await?;
        let mut out = Vec::new();
        for day_prefix in days.common_prefixes {
            let Some(day) = day_prefix.filename() else {
                continue;
            };
            if day < from || day > to {
                continue;
            }
            let under = match orgs {
                OrgFilter::All => format!("{}/{day}", self.prefix),
                OrgFilter::Named(org) => {
                    format!("{}/{day}/org={}", self.prefix, key::encode_org(org))
                }
                OrgFilter::NoOrg => format!("{}/{day}/org={}", self.prefix, key::NO_ORG),
            };
            self.list_under(&under, &mut out).await?;
        }
        out.sort_by(|a, b| {
            (&a.day, &a.org, &a.replica, a.seq).cmp(&(&b.day, &b.org, &b.replica, b.seq))
        });
        Ok(out)
    }

    async fn list_under(&self, under: &str, out: &mut Vec<ObjectInfo>) -> Result<(), S3Error> {
        let path = self.path(under)?;
        let mut stream = self.store.list(Some(&path));
        while let Some(meta) =
            store::bounded("list", under, self.request_timeout, stream.try_next()).await?
        {
            let key = meta.location.to_string();
            let Some(parsed) = key::parse_object_key(&self.prefix, &key) else {
                continue;
            };
            if out.len() >= LIST_MAX_OBJECTS {
                return Err(S3Error::TooMany {
                    prefix: under.to_owned(),
                    max: LIST_MAX_OBJECTS,
                });
            }
            out.push(ObjectInfo {
                day: parsed.day.to_owned(),
                org: parsed.org.to_owned(),
                replica: parsed.replica.to_owned(),
                seq: parsed.seq,
                size: meta.size,
                key,
            });
        }
        Ok(())
    }

    /// One object's JSON Lines, decompressed.
    pub async fn fetch(&self, object: &ObjectInfo) -> Result<Vec<u8>, S3Error> {
        let too_large = || S3Error::TooLarge {
            key: object.key.clone(),
            max: self.max_object_bytes,
        };
        if object.size > self.max_object_bytes as u64 {
            return Err(too_large());
        }
        let path = self.path(&object.key)?;
        let body = store::bounded("get", &object.key, self.request_timeout, async {
            self.store.get(&path).await?.bytes().await
        })
        .await?;
        let codec = |source| S3Error::Codec {
            key: object.key.clone(),
            source,
        };
        let decoder = zstd::stream::read::Decoder::new(&body[..]).map_err(codec)?;
        let mut lines = Vec::new();
        decoder
            .take(self.max_object_bytes as u64 + 1)
            .read_to_end(&mut lines)
            .map_err(codec)?;
        if lines.len() > self.max_object_bytes {
            return Err(too_large());
        }
        Ok(lines)
    }

    /// Lists the objects of days `from..=to` and `orgs` and hands each one's
    /// decompressed lines to `consume` in [`Self::list`] order (`&[u8]` is a `BufRead`). Returns how many
    /// objects were read.
    pub async fn read<E>(
        &self,
        from: &str,
        to: &str,
        orgs: OrgFilter<'_>,
        mut consume: impl FnMut(&ObjectInfo, &[u8]) -> Result<(), E>,
    ) -> Result<usize, S3Error>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let objects = self.list(from, to, orgs).await?;
        for object in &objects {
            let lines = self.fetch(object).await?;
            consume(object, &lines).map_err(|e| S3Error::Consumer {
                key: object.key.clone(),
                source: Box::new(e),
            })?;
        }
        Ok(objects.len())
    }

    fn path(&self, key: &str) -> Result<Path, S3Error> {
        Path::parse(key).map_err(|e| S3Error::Request {
            op: "parse",
            key: key.to_owned(),
            source: e.into(),
        })
    }
}

impl fmt::Debug for S3Reader {
    // Not the client: its debug output shows the access key id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Reader")
            .field("prefix", &self.prefix)
            .field("request_timeout", &self.request_timeout)
            .field("max_object_bytes", &self.max_object_bytes)
            .finish_non_exhaustive()
    }
}
