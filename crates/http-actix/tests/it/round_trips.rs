//! The refresh's common path costs ONE round trip to Postgres: every statement the app
//! sends is counted per database (diesel's default instrumentation, installed for this
//! test binary), and a known client's rotation sends exactly one, with no `BEGIN`/`COMMIT`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use grantd_domain::TokenSettings;
use grantd_testkit::app::{login, refresh};
use grantd_testkit::{Backend, TestApp};

/// Statements started, per database name.
static STATEMENTS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// One per connection: learns its database from the URL it connects to.
struct Counting {
    database: Option<String>,
}

fn database_of(url: &str) -> String {
    let path = url.rsplit('/').next().unwrap_or_default();
    path.split('?').next().unwrap_or_default().to_owned()
}

impl Instrumentation for Counting {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.database = Some(database_of(url));
            }
            InstrumentationEvent::StartQuery { .. } => {
                if let Some(db) = &self.database {
                    *STATEMENTS.lock().unwrap().entry(db.clone()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

fn statements(db: &str) -> u64 {
    STATEMENTS.lock().unwrap().get(db).copied().unwrap_or(0)
}

#[test]
fn a_known_clients_refresh_is_one_round_trip_to_postgres() {
    diesel::connection::set_default_instrumentation(|| Some(Box::new(Counting { database: None })))
        .unwrap();
    let app = TestApp::start(Backend::Postgres, TokenSettings::default());
    let db = database_of(app.database_url());
    // The first authentication reads the client row (and bcrypts the secret) as always.
    let (_, mut token) = login(&app);
    let (status, body) = refresh(&app, &token);
    assert_eq!(status, 200, "{body}");
    token = body["refresh_token"].as_str().unwrap().to_owned();
    let rotated = token.clone();
    let rounds = 5;
    let before = statements(&db);
    for _ in 0..rounds {
        let (status, body) = refresh(&app, &token);
        assert_eq!(status, 200, "{body}");
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    assert_eq!(
        statements(&db) - before,
        rounds,
        "one statement per refresh"
    );
    // A rotated token presented again matches nothing: the full path answers (reuse).
    let (status, body) = refresh(&app, &rotated);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(&app, &token);
    assert_eq!(status, 400, "the grant was revoked");
}
