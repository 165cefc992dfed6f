//! The registration use case over mockall doubles: what each refusal leaves unwritten.

use std::sync::Arc;

use grantd_ports::{
    ClientRegistration, GrantType, InitialAccessToken, MockRegistrationStore, PlainToken,
    SecretHash, TokenEndpointAuthMethod, TokenHash, TokenKind,
};

use super::*;
use crate::test_support::{registry, Doubles, NOW, SECRET};

fn token(kind: TokenKind, n: u8) -> PlainToken {
    kind.encode(&[n; 32])
}

fn initial() -> PlainToken {
    token(TokenKind::InitialAccess, 7)
}

/// `app`'s registration access token (the doubles know the client `app`).
fn app_token() -> PlainToken {
    token(TokenKind::RegistrationAccess, 9)
}

fn usable(store: &mut MockRegistrationStore) {
    let hash = initial().hash();
    store
        .expect_find_usable_initial_token()
        .withf(move |h, now| *h == hash && *now == NOW)
        .returning(|h, _| {
            Ok(Some(InitialAccessToken {
                id: "it_1".into(),
                token_hash: *h,
                created_at: 0,
                expires_at: NOW + 60,
                uses_left: 1,
                revoked_at: None,
            }))
        });
}

fn knows_app(store: &mut MockRegistrationStore, auth_method: TokenEndpointAuthMethod) {
    let hash = app_token().hash();
    store.expect_find_registration().returning(move |h| {
        Ok((*h == hash).then(|| ClientRegistration {
            client_id: ClientId::parse("app").unwrap(),
            access_token_hash: hash,
            auth_method,
            initial_token_id: "it_1".into(),
        }))
    });
}

fn endpoint(d: Doubles, store: MockRegistrationStore) -> RegistrationEndpoint {
    RegistrationEndpoint::new(
        d.ports(),
        Arc::new(store),
        RegistrationPolicy::default(),
        registry(),
    )
}

fn doubles_hashing() -> Doubles {
    let mut d = Doubles::new();
    d.hasher
        .expect_hash_client_secret()
        .returning(|s| SecretHash::from_stored(format!("hash:{s}")));
    d
}

fn web_app() -> ClientMetadata {
    ClientMetadata {
        redirect_uris: Some(vec!["https://app.example/cb".into()]),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        client_name: Some("Web app".into()),
        scope: Some("read".into()),
        ..Default::default()
    }
}

#[test]
fn a_malformed_initial_token_is_refused_before_any_store_is_asked() {
    // No expectation at all: any store call would panic.
    let e = endpoint(Doubles::new(), MockRegistrationStore::new());
    for bad in ["", "x", "gat_AAAA", token(TokenKind::Access, 1).expose()] {
        assert!(matches!(
            e.register(bad, &web_app()),
            Err(RegisterError::InvalidToken)
        ));
    }
}

#[test]
fn an_unknown_initial_token_costs_one_read_and_writes_nothing() {
    let mut store = MockRegistrationStore::new();
    store
        .expect_find_usable_initial_token()
        .times(1)
        .returning(|_, _| Ok(None));
    store.expect_register_client().never();
    let e = endpoint(Doubles::new(), store);
    assert!(matches!(
        e.register(initial().expose(), &web_app()),
        Err(RegisterError::InvalidToken)
    ));
}

#[test]
fn bad_metadata_takes_no_use_of_the_initial_token() {
    let mut store = MockRegistrationStore::new();
    usable(&mut store);
    store.expect_register_client().never();
    let mut d = Doubles::new();
    d.hasher.expect_hash_client_secret().never();
    let e = endpoint(d, store);
    let mut m = web_app();
    m.redirect_uris = Some(vec!["http://evil.example/cb".into()]);
    assert!(matches!(
        e.register(initial().expose(), &m),
        Err(RegisterError::Metadata(MetadataError::InvalidRedirectUri(
            _
        )))
    ));
}

#[test]
fn a_registration_takes_one_use_and_stores_only_hashes() {
    let mut store = MockRegistrationStore::new();
    usable(&mut store);
    let expected_initial = initial().hash();
    store
        .expect_register_client()
        .times(1)
        .withf(move |i, now, client, reg| {
            *i == expected_initial
                && *now == NOW
                && client.id == reg.client_id
                && client.id.as_str().starts_with("cl_")
                && client
                    .secret
                    .as_ref()
                    .is_some_and(|s| s.as_str().starts_with("hash:gcs_"))
                && client.grant_types == [GrantType::AuthorizationCode, GrantType::RefreshToken]
                && client.scopes.to_delimited() == "read"
                && !client.can_introspect
                && client.created_at == NOW
                && reg.auth_method == TokenEndpointAuthMethod::ClientSecretBasic
                && reg.initial_token_id == "it_1"
        })
        .returning(|_, _, _, _| Ok(true));
    let e = endpoint(doubles_hashing(), store);
    let r = e.register(initial().expose(), &web_app()).unwrap();
    assert_eq!(r.client.name, "Web app");
    let secret = r
        .client_secret
        .expect("a confidential client gets a secret");
    assert!(TokenKind::ClientSecret.is_well_formed(secret.expose()));
    assert!(TokenKind::RegistrationAccess.is_well_formed(r.registration_access_token.expose()));
}

#[test]
fn a_public_client_gets_no_secret_and_is_named_by_its_id_when_nameless() {
    let mut store = MockRegistrationStore::new();
    usable(&mut store);
    store
        .expect_register_client()
        .withf(|_, _, client, reg| {
            client.secret.is_none() && reg.auth_method == TokenEndpointAuthMethod::None
        })
        .returning(|_, _, _, _| Ok(true));
    let mut d = Doubles::new();
    d.hasher.expect_hash_client_secret().never();
    let e = endpoint(d, store);
    let mut m = web_app();
    m.token_endpoint_auth_method = Some("none".into());
    m.client_name = None;
    let r = e.register(initial().expose(), &m).unwrap();
    assert!(r.client_secret.is_none());
    assert_eq!(r.client.name, r.client.id.as_str());
}

#[test]
fn an_initial_token_spent_by_a_concurrent_registration_is_refused() {
    let mut store = MockRegistrationStore::new();
    usable(&mut store);
    store
        .expect_register_client()
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    let e = endpoint(doubles_hashing(), store);
    assert!(matches!(
        e.register(initial().expose(), &web_app()),
        Err(RegisterError::InvalidToken)
    ));
}

#[test]
fn a_registration_token_works_only_for_its_own_client() {
    let mut store = MockRegistrationStore::new();
    knows_app(&mut store, TokenEndpointAuthMethod::ClientSecretBasic);
    store.expect_update_registered_client().never();
    let e = endpoint(Doubles::new(), store);
    let other = token(TokenKind::RegistrationAccess, 1);
    assert!(matches!(
        e.read("app", other.expose()),
        Err(RegisterError::InvalidToken)
    ));
    assert!(matches!(
        e.read("public", app_token().expose()),
        Err(RegisterError::InvalidToken)
    ));
    assert!(matches!(
        e.delete("public", app_token().expose()),
        Err(RegisterError::InvalidToken)
    ));
    assert!(matches!(
        e.read("app", "gat_x"),
        Err(RegisterError::InvalidToken)
    ));
    let read = e.read("app", app_token().expose()).unwrap();
    assert_eq!(read.client.id.as_str(), "app");
    assert!(read.client_secret.is_none(), "never shown again");
    assert_eq!(read.registration_access_token, app_token());
}

fn update_of_app(metadata: ClientMetadata) -> UpdateRequest {
    UpdateRequest {
        client_id: Some("app".into()),
        client_secret: None,
        metadata,
    }
}

#[test]
fn an_update_must_name_the_client_and_may_not_change_its_type() {
    let mut store = MockRegistrationStore::new();
    knows_app(&mut store, TokenEndpointAuthMethod::ClientSecretBasic);
    store.expect_update_registered_client().never();
    let e = endpoint(Doubles::new(), store);
    let t = app_token();
    let mut wrong_id = update_of_app(web_app());
    wrong_id.client_id = Some("public".into());
    let mut no_id = update_of_app(web_app());
    no_id.client_id = None;
    let mut public = update_of_app(web_app());
    public.metadata.token_endpoint_auth_method = Some("none".into());
    let mut wrong_secret = update_of_app(web_app());
    wrong_secret.client_secret = Some("guess".into());
    for (request, field) in [
        (wrong_id, "client_id:"),
        (no_id, "client_id:"),
        (public, "token_endpoint_auth_method:"),
        (wrong_secret, "client_secret:"),
    ] {
        match e.update("app", t.expose(), &request) {
            Err(RegisterError::Metadata(MetadataError::InvalidClientMetadata(d))) => {
                assert!(d.starts_with(field), "{d}")
            }
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn an_update_replaces_the_metadata_and_keeps_id_secret_and_creation() {
    let mut store = MockRegistrationStore::new();
    knows_app(&mut store, TokenEndpointAuthMethod::ClientSecretBasic);
    let hash: TokenHash = app_token().hash();
    store
        .expect_update_registered_client()
        .times(1)
        .withf(move |h, client, method| {
            *h == hash
                && client.id.as_str() == "app"
                && client
                    .secret
                    .as_ref()
                    .is_some_and(|s| s.as_str() == format!("hash:{SECRET}"))
                && client.name == "Renamed"
                && client.redirect_uris == ["https://app.example/new"]
                && client.grant_types == [GrantType::AuthorizationCode]
                && *method == TokenEndpointAuthMethod::ClientSecretPost
        })
        .returning(|_, _, _| Ok(true));
    let e = endpoint(Doubles::new(), store);
    let mut request = update_of_app(ClientMetadata {
        redirect_uris: Some(vec!["https://app.example/new".into()]),
        client_name: Some("Renamed".into()),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        ..Default::default()
    });
    request.client_secret = Some(SECRET.into());
    let updated = e.update("app", app_token().expose(), &request).unwrap();
    assert_eq!(
        updated.auth_method,
        TokenEndpointAuthMethod::ClientSecretPost
    );
    assert!(updated.client_secret.is_none());
}

#[test]
fn a_delete_revokes_the_clients_grants_then_deletes_it() {
    let mut store = MockRegistrationStore::new();
    knows_app(&mut store, TokenEndpointAuthMethod::ClientSecretBasic);
    let mut d = Doubles::new();
    let mut seq = mockall::Sequence::new();
    d.tokens
        .expect_revoke_grants_of_client()
        .times(1)
        .in_sequence(&mut seq)
        .withf(|id, now| id.as_str() == "app" && *now == NOW)
        .returning(|_, _| Ok(2));
    d.clients
        .expect_delete_client()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(true));
    let e = endpoint(d, store);
    e.delete("app", app_token().expose()).unwrap();
}
