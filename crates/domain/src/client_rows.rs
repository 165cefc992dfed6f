//! The client rows a process holds in memory for the refresh's common path: a row read by
//! a successful client authentication, kept for the secret cache's TTL and bounded by its
//! capacity. A held row is only ever used together with a condition of the refresh's one
//! statement that the stored row still has its `secret_version` (bumped on every change
//! to the row) and secret hash, so a stale row can decide nothing that commits.

use std::collections::HashMap;
use std::sync::RwLock;

use grantd_ports::{Client, ClientId, UnixTime};

use crate::SecretCacheLimits;

pub(crate) struct ClientRows {
    limits: SecretCacheLimits,
    rows: RwLock<HashMap<String, (Client, UnixTime)>>,
}

impl ClientRows {
    pub(crate) fn new(limits: SecretCacheLimits) -> Self {
        Self {
            limits,
            rows: RwLock::new(HashMap::new()),
        }
    }

    /// The row held for `id`, read less than the TTL ago.
    pub(crate) fn get(&self, id: &ClientId, now: UnixTime) -> Option<Client> {
        let rows = self.rows.read().ok()?;
        let (client, read_at) = rows.get(id.as_str())?;
        (now >= *read_at && now - read_at < self.limits.ttl_secs).then(|| client.clone())
    }

    /// Holds `client`'s row as read at `now`.
    pub(crate) fn put(&self, client: &Client, now: UnixTime) {
        if self.limits.capacity == 0 {
            return;
        }
        let Ok(mut rows) = self.rows.write() else {
            return;
        };
        if rows.len() >= self.limits.capacity && !rows.contains_key(client.id.as_str()) {
            let ttl = self.limits.ttl_secs;
            rows.retain(|_, (_, at)| now >= *at && now - *at < ttl);
            if rows.len() >= self.limits.capacity {
                if let Some(victim) = rows.keys().next().cloned() {
                    rows.remove(&victim);
                }
            }
        }
        rows.insert(client.id.as_str().to_owned(), (client.clone(), now));
    }

    pub(crate) fn forget(&self, id: &ClientId) {
        if let Ok(mut rows) = self.rows.write() {
            rows.remove(id.as_str());
        }
    }
}
