//! A Postgres failover under load, through the real binary: a primary and a synchronous
//! standby of the test's own (`initdb`, `pg_basebackup`, `synchronous_standby_names`),
//! grantd pointed at both with libpq's multi-host URL and `target_session_attrs=read-write`,
//! refresh chains running, then `kill -9` of the primary and promotion of the standby.
//! During the gap every answer is 503 `temporarily_unavailable` with `Retry-After`, never
//! `invalid_grant`; grantd serves again through the new primary without a restart; the last
//! refresh token each chain received in a 200 works there; no consumed token works again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

const CHAINS: usize = 4;
const STANDBY: &str = "standby1";

/// What one refresh chain saw.
#[derive(Default)]
struct Chain {
    /// The refresh token of the last 200.
    live: String,
    /// Every token a 200 rotated away.
    consumed: Vec<String>,
    /// Answers that were neither a 200 nor a proper 503.
    wrong: Vec<String>,
    /// When the first 200 after the kill came.
    served_again_at: Option<Instant>,
}

fn wait_for_synchronous_standby(primary: &OwnPostgres) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = primary.psql("SELECT sync_state FROM pg_stat_replication");
        if state == "sync" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the standby never became synchronous: {state:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_failover_to_a_synchronous_standby_loses_no_refresh_token() {
    let _heavy = crate::support::heavy();
    let primary = OwnPostgres::start();
    let standby = OwnPostgres::standby_of(&primary, STANDBY);
    primary.require_synchronous_standby(STANDBY);
    wait_for_synchronous_standby(&primary);

    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
        primary.port, standby.port
    );
    let mut env = env(Some(url));
    env.set("GRANTD_DATABASE__CONNECT_TIMEOUT", "1")
        // A rotation whose commit reached the standby but whose answer was lost with the
        // primary is retried by the client: the grace period gives it the same answer.
        .set("GRANTD_TOKENS__REFRESH_TOKEN_REUSE_GRACE_PERIOD", "30");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let server = env.serve("failover");
    let client = (id.as_str(), secret.as_str());

    let killed = Arc::new(Mutex::new(None::<Instant>));
    let stop = Arc::new(AtomicBool::new(false));
    let chains: Vec<_> = (0..CHAINS)
        .map(|_| {
            let (base, client) = (
                server.base.clone(),
                (client.0.to_owned(), client.1.to_owned()),
            );
            let (killed, stop) = (killed.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = fresh_client();
                let client = (client.0.as_str(), client.1.as_str());
                // The password-check permits (one per core) turn concurrent logins away
                // with 503 rather than queueing them: try again, as a client would.
                let body = loop {
                    let (status, body) = login(&http, &base, client, ("alice", "wonderland"));
                    match status {
                        200 => break body,
                        503 => std::thread::sleep(Duration::from_millis(50)),
                        _ => panic!("login: {status} {body}"),
                    }
                };
                let mut chain = Chain {
                    live: body["refresh_token"].as_str().unwrap().to_owned(),
                    ..Chain::default()
                };
                while !stop.load(Ordering::SeqCst) {
                    let resp = post_form(
                        &http,
                        &format!("{base}/oauth/token"),
                        client,
                        &format!("grant_type=refresh_token&refresh_token={}", chain.live),
                    );
                    let status = resp.status().as_u16();
                    let retry_after = resp.headers().contains_key("retry-after");
                    let body: serde_json::Value = resp.json().unwrap_or_default();
                    match status {
                        200 => {
                            let next = body["refresh_token"].as_str().unwrap().to_owned();
                            chain
                                .consumed
                                .push(std::mem::replace(&mut chain.live, next));
                            let after_kill = killed.lock().unwrap().is_some();
                            if after_kill && chain.served_again_at.is_none() {
                                chain.served_again_at = Some(Instant::now());
                            }
                        }
                        503 if body["error"] == "temporarily_unavailable" && retry_after => {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        _ => chain.wrong.push(format!("{status} {body}")),
                    }
                }
                chain
            })
        })
        .collect();

    // Load first, then the primary dies as in a power cut, and the standby takes over.
    std::thread::sleep(Duration::from_secs(2));
    primary.kill_9();
    let kill_time = Instant::now();
    *killed.lock().unwrap() = Some(kill_time);
    std::thread::sleep(Duration::from_secs(1));
    standby.promote();
    // Run on through the new primary for a while.
    let deadline = kill_time + Duration::from_secs(20);
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::SeqCst);
    let chains: Vec<Chain> = chains.into_iter().map(|c| c.join().unwrap()).collect();

    let http = fresh_client();
    for (i, chain) in chains.iter().enumerate() {
        assert!(chain.wrong.is_empty(), "chain {i}: {:?}", chain.wrong);
        let back = chain
            .served_again_at
            .unwrap_or_else(|| panic!("chain {i} was never served after the kill"));
        assert!(
            back < deadline && back.duration_since(kill_time) < Duration::from_secs(15),
            "chain {i} served again only after {:?}",
            back.duration_since(kill_time)
        );
        assert!(chain.consumed.len() > 2, "chain {i} made too few refreshes");
    }
    println!(
        "failover: refreshes per chain {:?}; served again after {:?}",
        chains.iter().map(|c| c.consumed.len()).collect::<Vec<_>>(),
        chains
            .iter()
            .filter_map(|c| c.served_again_at)
            .map(|t| t.duration_since(kill_time))
            .max()
    );

    // The last token each chain received works on the new primary…
    for chain in &chains {
        let (status, body) = refresh(&http, &server.base, client, &chain.live);
        assert_eq!(status, 200, "a token from a 200 is lost: {body}");
    }
    // …and no consumed token works again: each one's successor is used by now, so not
    // even the grace period gives its answer back.
    for token in chains.iter().flat_map(|c| c.consumed.iter().rev().take(3)) {
        let (status, body) = refresh(&http, &server.base, client, token);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "a consumed token worked again: {body}"
        );
    }
}
