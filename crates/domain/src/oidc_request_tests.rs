//! Tests of the OpenID Connect request rules: unsupported features, nonce, prompt and
//! max_age parsing, and the login / consent / code decision of every prompt and age.

#![allow(clippy::unwrap_used)]

use grantd_ports::{ClientId, GrantType, LifetimeOverrides, SecretHash};

use super::*;

fn client(public: bool) -> Client {
    Client {
        id: ClientId::parse("web").unwrap(),
        name: "Web".into(),
        secret: (!public).then(|| SecretHash::from_stored("h".into())),
        secret_version: 1,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: ScopeSet::parse("openid profile").unwrap(),
        default_scopes: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        access_token_format: None,
        created_at: 0,
        require_dpop: false,
        admin: false,
    }
}

fn openid() -> ScopeSet {
    ScopeSet::parse("openid profile").unwrap()
}

fn with(f: impl FnOnce(&mut AuthorizeParams)) -> AuthorizeParams {
    let mut p = AuthorizeParams::default();
    f(&mut p);
    p
}

#[test]
fn request_features_get_the_errors_core_names() {
    let cases: [(AuthorizeParams, &str); 6] = [
        (
            with(|p| p.request = Some("eyJ".into())),
            "request_not_supported",
        ),
        (
            with(|p| p.request_uri = Some("https://rp/r".into())),
            "request_uri_not_supported",
        ),
        (
            with(|p| p.registration = Some("{}".into())),
            "registration_not_supported",
        ),
        (with(|p| p.claims = Some("{}".into())), "invalid_request"),
        (
            with(|p| p.response_mode = Some("fragment".into())),
            "invalid_request",
        ),
        (
            with(|p| p.response_mode = Some("form_post".into())),
            "invalid_request",
        ),
    ];
    for (params, error) in cases {
        assert_eq!(unsupported_feature(&params).map(|r| r.0), Some(error));
    }
    assert_eq!(
        unsupported_feature(&with(|p| p.response_mode = Some("query".into()))),
        None
    );
    assert_eq!(unsupported_feature(&AuthorizeParams::default()), None);
}

#[test]
fn a_public_client_needs_a_nonce_with_openid_and_a_confidential_one_does_not() {
    let none = AuthorizeParams::default();
    assert_eq!(
        parse(&none, &client(true), &openid(), true).unwrap_err().0,
        "invalid_request"
    );
    assert!(parse(&none, &client(false), &openid(), true).is_ok());
    // Without openid there is no id token to bind.
    let plain = ScopeSet::parse("profile").unwrap();
    assert!(parse(&none, &client(true), &plain, true).is_ok());
    let sent = with(|p| p.nonce = Some("n-0S6_WzA2Mj".into()));
    let parsed = parse(&sent, &client(true), &openid(), true).unwrap();
    assert_eq!(parsed.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    let long = with(|p| p.nonce = Some("n".repeat(513)));
    assert!(parse(&long, &client(false), &openid(), true).is_err());
}

#[test]
fn openid_is_refused_where_no_id_token_can_be_signed() {
    let sent = with(|p| p.nonce = Some("n".into()));
    assert_eq!(
        parse(&sent, &client(false), &openid(), false)
            .unwrap_err()
            .0,
        "invalid_scope"
    );
    let plain = ScopeSet::parse("profile").unwrap();
    assert!(parse(&sent, &client(false), &plain, false).is_ok());
}

#[test]
fn prompt_max_age_and_login_hint_parse_strictly() {
    let c = client(false);
    let p = |v: &str| parse(&with(|p| p.prompt = Some(v.into())), &c, &openid(), true);
    assert_eq!(
        p("login consent").unwrap().prompt,
        Prompt {
            none: false,
            login: true,
            consent: true
        }
    );
    assert!(p("none").unwrap().prompt.none);
    assert!(p("select_account").unwrap().prompt.login);
    assert_eq!(p("none login").unwrap_err().0, "invalid_request");
    assert_eq!(p("sometimes").unwrap_err().0, "invalid_request");
    let age = |v: &str| parse(&with(|p| p.max_age = Some(v.into())), &c, &openid(), true);
    assert_eq!(age("0").unwrap().max_age, Some(0));
    assert_eq!(age("3600").unwrap().max_age, Some(3600));
    for bad in ["-1", "1.5", "soon", "99999999999"] {
        assert_eq!(age(bad).unwrap_err().0, "invalid_request", "{bad}");
    }
    let hint = |v: String| {
        parse(&with(|p| p.login_hint = Some(v)), &c, &openid(), true)
            .unwrap()
            .login_hint
    };
    assert_eq!(hint("alice".into()).as_deref(), Some("alice"));
    assert_eq!(hint("a".repeat(257)), None);
    assert_eq!(hint("al\nice".into()), None);
}

const NOW: UnixTime = 10_000;

fn session(auth_time: Option<UnixTime>) -> Option<SignedIn> {
    Some(SignedIn {
        auth_time,
        just_now: false,
    })
}

fn oidc(prompt: Prompt, max_age: Option<i64>) -> OidcParams {
    OidcParams {
        prompt,
        max_age,
        ..OidcParams::default()
    }
}

#[test]
fn the_next_step_follows_prompt_and_max_age() {
    use NextStep::*;
    let plain = Prompt::default();
    let none = Prompt {
        none: true,
        ..plain
    };
    let login = Prompt {
        login: true,
        ..plain
    };
    let consent = Prompt {
        consent: true,
        ..plain
    };
    let fresh = Some(SignedIn {
        auth_time: Some(NOW),
        just_now: true,
    });
    // (prompt, max_age, session, consent remembered) → step
    type Case = (Prompt, Option<i64>, Option<SignedIn>, bool, NextStep);
    let table: [Case; 16] = [
        (plain, None, None, true, Login),
        (plain, None, session(Some(1)), true, Approve),
        (plain, None, session(Some(1)), false, Consent),
        (none, None, None, true, Refuse("login_required")),
        (
            none,
            None,
            session(Some(1)),
            false,
            Refuse("consent_required"),
        ),
        (none, None, session(Some(1)), true, Approve),
        (login, None, session(Some(NOW)), true, Login),
        (login, None, fresh, true, Approve),
        (login, None, fresh, false, Consent),
        (consent, None, session(Some(1)), true, Consent),
        (plain, Some(60), session(Some(NOW - 60)), true, Approve),
        (plain, Some(60), session(Some(NOW - 61)), true, Login),
        (plain, Some(60), session(None), true, Login),
        (
            none,
            Some(60),
            session(Some(NOW - 61)),
            true,
            Refuse("login_required"),
        ),
        (plain, Some(0), session(Some(NOW)), true, Login),
        (plain, Some(0), fresh, true, Approve),
    ];
    for (i, (prompt, max_age, signed_in, remembered, step)) in table.into_iter().enumerate() {
        assert_eq!(
            next_step(&oidc(prompt, max_age), signed_in, remembered, NOW),
            step,
            "case {i}"
        );
    }
}
