//! The fixtures every HTTP test starts from: a confidential client `app` (password,
//! refresh_token, client_credentials; scopes "read write"), a confidential client `other`,
//! a public client `spa`, a client `cc-only` with only client_credentials, the code-flow
//! clients `web` (confidential) and `native` (public), a resource server `rs` allowed to
//! introspect, and the user `alice`.

use grantd_ports::{
    Client, ClientId, ClientStore, GrantType, LifetimeOverrides, ScopeSet, SecretHasher,
    SessionStamp, User, UserId, UserProfile, UserStore, Username,
};
use grantd_store_diesel::Database;

pub const SECRET: &str = "app-secret";
pub const OTHER_SECRET: &str = "other-secret";
pub const PASSWORD: &str = "alice-password";
/// Alice's OpenID Connect profile claims.
pub const ALICE_NAME: &str = "Alice Liddell";
pub const ALICE_EMAIL: &str = "alice@example.com";
/// Redirect URIs of the code-flow clients `web` (confidential) and `native` (public).
pub const WEB_CB: &str = "https://web.example/cb";
pub const WEB_CB_OTHER: &str = "https://web.example/other?x=1";
pub const NATIVE_CB: &str = "http://127.0.0.1:9/native-cb";

fn client(
    id: &str,
    secret: Option<&str>,
    grant_types: &[GrantType],
    hasher: &dyn SecretHasher,
) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: id.to_owned(),
        secret: secret.map(|s| hasher.hash_client_secret(s)),
        secret_version: 1,
        grant_types: grant_types.to_vec(),
        scopes: ScopeSet::parse("read write").unwrap(),
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

pub fn seed(db: &Database, hasher: &dyn SecretHasher) {
    use GrantType::*;
    let all = [Password, RefreshToken, ClientCredentials];
    db.insert_client(&client("app", Some(SECRET), &all, hasher))
        .unwrap();
    db.insert_client(&client("other", Some(OTHER_SECRET), &all, hasher))
        .unwrap();
    db.insert_client(&client("spa", None, &[Password, RefreshToken], hasher))
        .unwrap();
    db.insert_client(&client(
        "cc-only",
        Some(SECRET),
        &[ClientCredentials],
        hasher,
    ))
    .unwrap();
    // The code flow: a confidential client with two redirect URIs, a public one with one.
    let mut web = client(
        "web",
        Some(SECRET),
        &[AuthorizationCode, RefreshToken],
        hasher,
    );
    web.name = "Web App".into();
    web.redirect_uris = vec![WEB_CB.into(), WEB_CB_OTHER.into()];
    db.insert_client(&web).unwrap();
    let mut native = client("native", None, &[AuthorizationCode, RefreshToken], hasher);
    native.redirect_uris = vec![NATIVE_CB.into()];
    db.insert_client(&native).unwrap();
    let mut rs = client("rs", Some(SECRET), &[ClientCredentials], hasher);
    rs.can_introspect = true;
    db.insert_client(&rs).unwrap();
    db.insert_user(&User {
        id: UserId::parse("user-alice").unwrap(),
        username: Username::parse("alice").unwrap(),
        password: hasher.hash_password(PASSWORD),
        disabled: false,
        session_stamp: SessionStamp::parse("alice-stamp").unwrap(),
        profile: UserProfile {
            name: Some(ALICE_NAME.into()),
            email: Some(ALICE_EMAIL.into()),
            email_verified: true,
        },
        created_at: 0,
    })
    .unwrap();
}

/// A public client with nothing but the client_credentials grant: for tests that need
/// some client row and care about none of its fields.
pub fn minimal_client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: id.into(),
        secret: None,
        secret_version: 0,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: ScopeSet::empty(),
        default_scopes: None,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        access_token_format: None,
        created_at: 0,
        require_dpop: false,
        admin: false,
    }
}
