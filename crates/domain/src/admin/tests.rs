//! The admin use cases over mockall doubles: who may use the API, pagination, and that an
//! update is checked as a registration.

use grantd_ports::{ClientId, ScopeSet, Subject, TokenKind};

use super::*;
use crate::test_support::*;

fn admin_token_state(
    client_id: &str,
    subject: Subject,
    scope: &str,
    presented: &grantd_ports::PlainToken,
) -> grantd_ports::AccessTokenState {
    let mut s = access_state(client_id, presented);
    s.grant.subject = subject;
    s.token.scope = ScopeSet::parse(scope).unwrap();
    s
}

/// (client is admin, subject, scope) → outcome, over the bearer check.
#[test]
fn only_an_admin_clients_own_admin_scoped_token_opens_the_api() {
    let user = || Subject::User {
        id: grantd_ports::UserId::parse("u1").unwrap(),
        username: grantd_ports::Username::parse("alice").unwrap(),
    };
    let cases: [(bool, Subject, &str, &str); 5] = [
        (true, Subject::Client, "grantd:admin", "ok"),
        (false, Subject::Client, "grantd:admin", "invalid_token"),
        (true, Subject::Client, "read", "insufficient_scope"),
        (true, user(), "grantd:admin", "insufficient_scope"),
        (true, user(), "read", "insufficient_scope"),
    ];
    for (is_admin, subject, scope, expected) in cases {
        let presented = TokenKind::Access.encode(&[7; 32]);
        let state = admin_token_state("app", subject.clone(), scope, &presented);
        let mut d = Doubles::new();
        d.clients.checkpoint();
        d.clients.expect_find_client().returning(move |id| {
            let mut c = client(id.as_str(), true);
            c.admin = is_admin;
            Ok(Some(c))
        });
        d.tokens
            .expect_find_access_token()
            .returning(move |_| Ok(Some(state.clone())));
        let use_cases = d.use_cases(Default::default());
        let got = authenticate(&use_cases.bearer, use_cases.ports(), presented.expose());
        let got = match got {
            Ok(id) => {
                assert_eq!(id.as_str(), "app");
                "ok"
            }
            Err(AdminAuthError::InvalidToken) => "invalid_token",
            Err(AdminAuthError::InsufficientScope) => "insufficient_scope",
            Err(e) => panic!("{e}"),
        };
        assert_eq!(got, expected, "{is_admin} {subject:?} {scope}");
    }
}

#[test]
fn an_unknown_token_is_invalid_and_touches_no_client() {
    let mut d = Doubles::new();
    d.clients.checkpoint();
    d.clients.expect_find_client().never();
    d.tokens.expect_find_access_token().returning(|_| Ok(None));
    let use_cases = d.use_cases(Default::default());
    let presented = TokenKind::Access.encode(&[1; 32]);
    assert!(matches!(
        authenticate(&use_cases.bearer, use_cases.ports(), presented.expose()),
        Err(AdminAuthError::InvalidToken)
    ));
}

#[test]
fn client_pages_follow_the_cursor_by_id() {
    let mut d = Doubles::new();
    d.clients.expect_list_clients().returning(|| {
        Ok(["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| client(id, true))
            .collect())
    });
    let ports = d.ports();
    let ids = |p: &ClientPage| {
        p.clients
            .iter()
            .map(|c| c.id.to_string())
            .collect::<Vec<_>>()
    };
    let first = list_clients(&ports, None, 2).unwrap();
    assert_eq!(ids(&first), ["a", "b"]);
    assert_eq!(first.next, Some(ClientId::parse("b").unwrap()));
    let second = list_clients(&ports, Some("b"), 2).unwrap();
    assert_eq!(ids(&second), ["c", "d"]);
    let last = list_clients(&ports, Some("d"), 2).unwrap();
    assert_eq!(ids(&last), ["e"]);
    assert_eq!(last.next, None, "no cursor after the last page");
    for bad in [0, MAX_PAGE_SIZE + 1] {
        assert!(matches!(
            list_clients(&ports, None, bad),
            Err(AdminError::Invalid { field: "limit", .. })
        ));
    }
}

fn settings_of(c: &grantd_ports::Client) -> ClientUpdate {
    ClientUpdate {
        name: c.name.clone(),
        grant_types: c.grant_types.clone(),
        scopes: c.scopes.clone(),
        default_scopes: c.default_scopes.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        can_introspect: c.can_introspect,
        lifetimes: c.lifetimes,
        access_token_format: c.access_token_format,
        require_dpop: c.require_dpop,
    }
}

#[test]
fn an_update_is_checked_as_a_registration_and_stores_nothing_when_refused() {
    let mut d = Doubles::new();
    d.clients.expect_update_client().never();
    let ports = d.ports();
    let base = settings_of(&client("app", true));
    let cases: [(ClientUpdate, &str); 5] = [
        (
            ClientUpdate {
                name: " ".into(),
                ..base.clone()
            },
            "name",
        ),
        (
            ClientUpdate {
                scopes: ScopeSet::parse("read nope").unwrap(),
                ..base.clone()
            },
            "scope",
        ),
        (
            ClientUpdate {
                scopes: ScopeSet::parse("read grantd:admin").unwrap(),
                ..base.clone()
            },
            "scope",
        ),
        (
            ClientUpdate {
                redirect_uris: vec!["/cb".into()],
                ..base.clone()
            },
            "redirect_uris",
        ),
        (
            ClientUpdate {
                grant_types: vec![],
                ..base.clone()
            },
            "grant_types",
        ),
    ];
    for (update, expected) in cases {
        match update_client(&ports, &registry(), "app", update) {
            Err(AdminError::Invalid { field, .. }) => assert_eq!(field, expected),
            other => panic!("{expected}: {other:?}"),
        }
    }
}

#[test]
fn an_admin_client_keeps_its_admin_scope_through_an_update() {
    let mut d = Doubles::new();
    d.clients.checkpoint();
    d.clients.expect_find_client().returning(|id| {
        let mut c = client(id.as_str(), true);
        c.admin = true;
        c.scopes = ScopeSet::parse("read grantd:admin").unwrap();
        Ok(Some(c))
    });
    d.clients
        .expect_update_client()
        .withf(|c| c.scopes.contains("grantd:admin") && c.admin && c.name == "renamed")
        .times(1)
        .returning(|_| Ok(true));
    let ports = d.ports();
    let mut update = settings_of(&client("app", true));
    update.name = "renamed".into();
    update.scopes = ScopeSet::parse("read").unwrap();
    let mut scopes = registry();
    scopes = crate::ScopeRegistry::new(
        scopes
            .names()
            .map(|n| crate::ScopeDefinition {
                name: n.into(),
                description: "d".into(),
                default: false,
            })
            .chain([crate::ScopeDefinition {
                name: "grantd:admin".into(),
                description: "d".into(),
                default: false,
            }])
            .collect::<Vec<_>>(),
    )
    .unwrap();
    update_client(&ports, &scopes, "app", update).unwrap();
}
