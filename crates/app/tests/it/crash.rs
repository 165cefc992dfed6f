//! Crash safety through the real binary on a PostgreSQL server of the test's own: grantd
//! is killed with SIGKILL in the middle of refresh load and started again. Every refresh
//! token a client received in a 200 still works (a response is written only after its
//! commit), unless a later 200 legitimately rotated it; no consumed token works again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::*;

/// One client's view of its refresh chain.
#[derive(Debug, Default)]
struct Chain {
    /// Tokens this client presented and got a 200 for: consumed, for good.
    consumed: Vec<String>,
    /// The newest refresh token received in a 200.
    latest: String,
    /// Set while a request with `latest` is on the wire: if grantd dies then, the
    /// rotation may have committed with its response lost (the documented edge).
    in_flight: bool,
}

#[test]
fn kill_9_under_refresh_load_loses_no_issued_token() {
    let _heavy = crate::support::heavy();
    const CHAINS: usize = 6;
    let pg = OwnPostgres::start();
    let env = env(Some(pg.url()));
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let client = (id.as_str(), secret.as_str());
    let mut server = env.serve("before-crash");
    let base = server.base.clone();

    let chains: Vec<Mutex<Chain>> = (0..CHAINS)
        .map(|_| {
            let (status, body) = login(
                &fresh_client(),
                &server.base,
                client,
                ("alice", "wonderland"),
            );
            assert_eq!(status, 200, "{body}");
            Mutex::new(Chain {
                latest: body["refresh_token"].as_str().unwrap().to_owned(),
                ..Chain::default()
            })
        })
        .collect();

    let stop = AtomicBool::new(false);
    let mut refreshed = 0usize;
    std::thread::scope(|scope| {
        let workers: Vec<_> = chains
            .iter()
            .map(|chain| {
                let stop = &stop;
                let base = &base;
                scope.spawn(move || {
                    let http = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap();
                    let mut done = 0usize;
                    while !stop.load(Ordering::SeqCst) {
                        let token = {
                            let mut c = chain.lock().unwrap();
                            c.in_flight = true;
                            c.latest.clone()
                        };
                        let response = http
                            .post(format!("{base}/oauth/token"))
                            .basic_auth(client.0, Some(client.1))
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(format!("grant_type=refresh_token&refresh_token={token}"))
                            .send();
                        let Ok(response) = response else {
                            // grantd died under us: this request stays in flight.
                            return done;
                        };
                        let status = response.status().as_u16();
                        let Ok(body) = response.json::<serde_json::Value>() else {
                            return done;
                        };
                        assert_eq!(status, 200, "{body}");
                        let mut c = chain.lock().unwrap();
                        c.consumed.push(token);
                        c.latest = body["refresh_token"].as_str().unwrap().to_owned();
                        c.in_flight = false;
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        server.kill_9();
        stop.store(true, Ordering::SeqCst);
        refreshed = workers.into_iter().map(|w| w.join().unwrap()).sum();
    });
    assert!(
        refreshed >= CHAINS,
        "the load did not get going: {refreshed} refreshes"
    );

    let server = env.serve("after-crash");
    let http = fresh_client();
    for chain in &chains {
        let chain = chain.lock().unwrap();
        let (status, body) = refresh(&http, &server.base, client, &chain.latest);
        if chain.in_flight && status == 400 {
            // Committed, then the process died before the response went out: the client
            // only ever had this token, and a retry looks like reuse (SECURITY.md §2.3;
            // the grace period exists for this). Anything but invalid_grant is a bug.
            assert_eq!(body["error"], "invalid_grant", "{body}");
        } else {
            assert_eq!(
                status, 200,
                "the newest token of a chain must survive: {body}"
            );
        }
    }
    for chain in &chains {
        let chain = chain.lock().unwrap();
        for old in &chain.consumed {
            let (status, body) = refresh(&http, &server.base, client, old);
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "a consumed token worked again"
            );
        }
    }
}
