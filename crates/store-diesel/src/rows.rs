//! Row structs: the tables as diesel sees them, private to this crate, and their
//! conversions to and from the ports' records. Reading a row re-validates every value, so
//! corrupt data surfaces as an error instead of as a record that lies.

use diesel::prelude::*;
use grantd_ports::{
    AccessToken, AccessTokenFormat, AuthorizationCodeRecord, Client, ClientId, CodeChallenge,
    CodeChallengeMethod, Consent, GrantId, GrantRecord, GrantType, LifetimeOverrides,
    NewRefreshToken, RefreshToken, ResourceSet, ScopeSet, SecretHash, SessionStamp, Subject,
    TokenHash, User, UserId, UserProfile, Username,
};

use crate::errors::Failure;
use crate::schema::{
    access_tokens, authorization_codes, clients, consents, grants, refresh_tokens, users,
};

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients)]
// A changeset replaces every column: a `None` clears it (a removed secret, own defaults).
#[diesel(treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    secret_version: i64,
    /// Space-separated `grant_type` values.
    grant_types: String,
    /// Space-separated scope tokens.
    scopes: String,
    /// Newline-separated: a URI cannot contain a line break.
    redirect_uris: String,
    can_introspect: bool,
    access_token_lifetime: Option<i64>,
    refresh_token_lifetime: Option<i64>,
    refresh_token_max_lifetime: Option<i64>,
    created_at: i64,
    /// Space-separated scope tokens; NULL = the registry's defaults, '' = none.
    default_scopes: Option<String>,
    /// "opaque" or "jwt"; NULL = the global setting.
    access_token_format: Option<String>,
    /// Newline-separated, like `redirect_uris`.
    post_logout_redirect_uris: String,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`.
    require_dpop: bool,
    /// `client create --admin`: may be granted `grantd:admin`.
    admin: bool,
}

/// Newline-joined URIs; refused if one is empty or holds a line break.
fn join_uris(uris: &[String]) -> Result<String, Failure> {
    if uris
        .iter()
        .any(|uri| uri.is_empty() || uri.contains(['\n', '\r']))
    {
        return Err(Failure::Unrepresentable(
            "a redirect URI is empty or contains a line break".into(),
        ));
    }
    Ok(uris.join("\n"))
}

fn split_uris(joined: &str) -> Vec<String> {
    if joined.is_empty() {
        Vec::new()
    } else {
        joined.split('\n').map(str::to_owned).collect()
    }
}

/// The columns an administrator may change (`ClientStore::update_client`): all but the
/// id, the secret, its version and the creation time.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub(crate) struct ClientSettingsRow<'a> {
    name: &'a str,
    grant_types: &'a str,
    scopes: &'a str,
    redirect_uris: &'a str,
    can_introspect: bool,
    access_token_lifetime: Option<i64>,
    refresh_token_lifetime: Option<i64>,
    refresh_token_max_lifetime: Option<i64>,
    default_scopes: Option<&'a str>,
    access_token_format: Option<&'a str>,
    post_logout_redirect_uris: &'a str,
    require_dpop: bool,
    admin: bool,
}

impl ClientRow {
    pub(crate) fn settings(&self) -> ClientSettingsRow<'_> {
        ClientSettingsRow {
            name: &self.name,
            grant_types: &self.grant_types,
            scopes: &self.scopes,
            redirect_uris: &self.redirect_uris,
            can_introspect: self.can_introspect,
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            refresh_token_max_lifetime: self.refresh_token_max_lifetime,
            default_scopes: self.default_scopes.as_deref(),
            access_token_format: self.access_token_format.as_deref(),
            post_logout_redirect_uris: &self.post_logout_redirect_uris,
            require_dpop: self.require_dpop,
            admin: self.admin,
        }
    }

    pub(crate) fn from_record(client: &Client) -> Result<Self, Failure> {
        Ok(Self {
            id: client.id.as_str().to_owned(),
            name: client.name.clone(),
            secret_hash: client.secret.as_ref().map(|s| s.as_str().to_owned()),
            secret_version: client.secret_version,
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            scopes: client.scopes.to_delimited(),
            redirect_uris: join_uris(&client.redirect_uris)?,
            can_introspect: client.can_introspect,
            require_dpop: client.require_dpop,
            admin: client.admin,
            access_token_lifetime: client.lifetimes.access_token,
            refresh_token_lifetime: client.lifetimes.refresh_token,
            refresh_token_max_lifetime: client.lifetimes.refresh_token_max,
            created_at: client.created_at,
            default_scopes: client.default_scopes.as_ref().map(ScopeSet::to_delimited),
            access_token_format: client.access_token_format.map(|f| f.as_str().to_owned()),
            post_logout_redirect_uris: join_uris(&client.post_logout_redirect_uris)?,
        })
    }

    pub(crate) fn into_record(self) -> Result<Client, Failure> {
        let corrupt = |what: &str| Failure::Corrupt(format!("client {:?}: {what}", self.id));
        let grant_types = self
            .grant_types
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("unknown grant type")))
            .collect::<Result<Vec<_>, _>>()?;
        let scopes = ScopeSet::parse(&self.scopes).map_err(|e| corrupt(&e.0))?;
        let default_scopes = self
            .default_scopes
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| corrupt(&e.0))?;
        let id = ClientId::parse(&self.id).map_err(|e| corrupt(&e.0))?;
        let redirect_uris = split_uris(&self.redirect_uris);
        let post_logout_redirect_uris = split_uris(&self.post_logout_redirect_uris);
        Ok(Client {
            id,
            name: self.name,
            secret: self.secret_hash.map(SecretHash::from_stored),
            secret_version: self.secret_version,
            grant_types,
            scopes,
            default_scopes,
            redirect_uris,
            post_logout_redirect_uris,
            can_introspect: self.can_introspect,
            lifetimes: LifetimeOverrides {
                access_token: self.access_token_lifetime,
                refresh_token: self.refresh_token_lifetime,
                refresh_token_max: self.refresh_token_max_lifetime,
            },
            access_token_format: self
                .access_token_format
                .as_deref()
                .map(|f| {
                    AccessTokenFormat::parse(f).ok_or_else(|| {
                        Failure::Corrupt(format!("client {:?}: access_token_format", self.id))
                    })
                })
                .transpose()?,
            created_at: self.created_at,
            require_dpop: self.require_dpop,
            admin: self.admin,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    disabled: bool,
    created_at: i64,
    session_stamp: String,
    name: Option<String>,
    email: Option<String>,
    email_verified: bool,
}

impl UserRow {
    pub(crate) fn from_record(user: &User) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            password_hash: user.password.as_str().to_owned(),
            disabled: user.disabled,
            created_at: user.created_at,
            session_stamp: user.session_stamp.as_str().to_owned(),
            name: user.profile.name.clone(),
            email: user.profile.email.clone(),
            email_verified: user.profile.email_verified,
        }
    }

    pub(crate) fn into_record(self) -> Result<User, Failure> {
        let corrupt = |what: &str| Failure::Corrupt(format!("user {:?}: {what}", self.id));
        Ok(User {
            id: UserId::parse(&self.id).map_err(|e| corrupt(&e.0))?,
            username: Username::parse(&self.username).map_err(|e| corrupt(&e.0))?,
            password: SecretHash::from_stored(self.password_hash),
            disabled: self.disabled,
            session_stamp: SessionStamp::parse(&self.session_stamp).map_err(|e| corrupt(&e.0))?,
            profile: UserProfile {
                name: self.name,
                email: self.email,
                email_verified: self.email_verified,
            },
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct GrantRow {
    id: String,
    client_id: String,
    /// NULL (with `username`) for `Subject::Client`.
    user_id: Option<String>,
    username: Option<String>,
    scope: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    auth_time: Option<i64>,
    /// Space-separated resource URIs (RFC 8707); '' = none.
    resources: String,
    /// The DPoP key thumbprint the refresh tokens are bound to; NULL = not bound.
    dpop_jkt: Option<String>,
}

impl GrantRow {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn from_record(grant: &GrantRecord) -> Self {
        let (user_id, username) = match &grant.subject {
            Subject::User { id, username } => (
                Some(id.as_str().to_owned()),
                Some(username.as_str().to_owned()),
            ),
            Subject::Client => (None, None),
        };
        Self {
            id: grant.id.as_str().to_owned(),
            client_id: grant.client_id.as_str().to_owned(),
            user_id,
            username,
            scope: grant.scope.to_delimited(),
            created_at: grant.created_at,
            expires_at: grant.expires_at,
            revoked_at: grant.revoked_at,
            auth_time: grant.auth_time,
            resources: grant.resources.to_delimited(),
            dpop_jkt: grant.dpop_jkt.clone(),
        }
    }

    pub(crate) fn into_record(self) -> Result<GrantRecord, Failure> {
        let corrupt = |what: &str| Failure::Corrupt(format!("grant {:?}: {what}", self.id));
        let subject = match (&self.user_id, &self.username) {
            (Some(id), Some(username)) => Subject::User {
                id: UserId::parse(id).map_err(|e| corrupt(&e.0))?,
                username: Username::parse(username).map_err(|e| corrupt(&e.0))?,
            },
            (None, None) => Subject::Client,
            _ => {
                return Err(corrupt(
                    "user_id and username must be both set or both NULL",
                ))
            }
        };
        Ok(GrantRecord {
            id: GrantId::parse(&self.id).map_err(|e| corrupt(&e.0))?,
            client_id: ClientId::parse(&self.client_id).map_err(|e| corrupt(&e.0))?,
            subject,
            scope: ScopeSet::parse(&self.scope).map_err(|e| corrupt(&e.0))?,
            resources: ResourceSet::parse(&self.resources).map_err(|e| corrupt(&e.0))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            auth_time: self.auth_time,
            dpop_jkt: self.dpop_jkt,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct RefreshRow {
    token_hash: Vec<u8>,
    grant_id: String,
    issued_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
    sealed_response: Option<Vec<u8>>,
    consumed_at_ms: Option<i64>,
    successor_hash: Option<Vec<u8>>,
}

impl RefreshRow {
    pub(crate) fn from_new(token: &NewRefreshToken) -> Self {
        Self {
            token_hash: token.hash.as_bytes().to_vec(),
            grant_id: token.grant_id.as_str().to_owned(),
            issued_at: token.issued_at,
            expires_at: token.expires_at,
            consumed_at: None,
            sealed_response: None,
            consumed_at_ms: None,
            successor_hash: None,
        }
    }

    pub(crate) fn grant_id(&self) -> &str {
        &self.grant_id
    }

    pub(crate) fn into_record(self) -> Result<RefreshToken, Failure> {
        let corrupt = |what: &str| {
            Failure::Corrupt(format!(
                "refresh token of grant {:?}: {what}",
                self.grant_id
            ))
        };
        Ok(RefreshToken {
            hash: TokenHash::from_slice(&self.token_hash)
                .ok_or_else(|| corrupt("hash is not 32 bytes"))?,
            grant_id: GrantId::parse(&self.grant_id).map_err(|e| corrupt(&e.0))?,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            consumed_at: self.consumed_at,
            consumed_at_ms: self.consumed_at_ms,
            successor: self
                .successor_hash
                .as_deref()
                .map(|h| {
                    TokenHash::from_slice(h).ok_or_else(|| corrupt("successor is not 32 bytes"))
                })
                .transpose()?,
            sealed_response: self.sealed_response,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct AccessRow {
    token_hash: Vec<u8>,
    grant_id: String,
    scope: String,
    issued_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    /// Newline-separated audience values; '' = none.
    audience: String,
    /// The DPoP key thumbprint the token is bound to; NULL = a bearer token.
    dpop_jkt: Option<String>,
}

impl AccessRow {
    pub(crate) fn from_record(token: &AccessToken) -> Result<Self, Failure> {
        if token
            .audience
            .iter()
            .any(|aud| aud.is_empty() || aud.contains(['\n', '\r']))
        {
            return Err(Failure::Unrepresentable(
                "an audience is empty or contains a line break".into(),
            ));
        }
        Ok(Self {
            token_hash: token.hash.as_bytes().to_vec(),
            grant_id: token.grant_id.as_str().to_owned(),
            scope: token.scope.to_delimited(),
            issued_at: token.issued_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
            audience: token.audience.join("\n"),
            dpop_jkt: token.dpop_jkt.clone(),
        })
    }

    pub(crate) fn into_record(self) -> Result<AccessToken, Failure> {
        let corrupt = |what: &str| {
            Failure::Corrupt(format!("access token of grant {:?}: {what}", self.grant_id))
        };
        Ok(AccessToken {
            hash: TokenHash::from_slice(&self.token_hash)
                .ok_or_else(|| corrupt("hash is not 32 bytes"))?,
            grant_id: GrantId::parse(&self.grant_id).map_err(|e| corrupt(&e.0))?,
            scope: ScopeSet::parse(&self.scope).map_err(|e| corrupt(&e.0))?,
            audience: if self.audience.is_empty() {
                Vec::new()
            } else {
                self.audience.split('\n').map(str::to_owned).collect()
            },
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            dpop_jkt: self.dpop_jkt,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct CodeRow {
    code_hash: Vec<u8>,
    client_id: String,
    user_id: String,
    username: String,
    redirect_uri: Option<String>,
    scope: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    issued_at: i64,
    expires_at: i64,
    redeemed_at: Option<i64>,
    grant_id: Option<String>,
    nonce: Option<String>,
    auth_time: Option<i64>,
    /// Space-separated resource URIs (RFC 8707); '' = none.
    resources: String,
    /// RFC 9449 §10 `dpop_jkt`; NULL = not bound.
    dpop_jkt: Option<String>,
}

impl CodeRow {
    pub(crate) fn from_record(code: &AuthorizationCodeRecord) -> Self {
        Self {
            code_hash: code.hash.as_bytes().to_vec(),
            client_id: code.client_id.as_str().to_owned(),
            user_id: code.user_id.as_str().to_owned(),
            username: code.username.as_str().to_owned(),
            redirect_uri: code.redirect_uri.clone(),
            scope: code.scope.to_delimited(),
            code_challenge: code.challenge.as_ref().map(|c| c.challenge.clone()),
            code_challenge_method: code
                .challenge
                .as_ref()
                .map(|c| c.method.as_str().to_owned()),
            issued_at: code.issued_at,
            expires_at: code.expires_at,
            redeemed_at: code.redeemed_at,
            grant_id: code.grant_id.as_ref().map(|g| g.as_str().to_owned()),
            nonce: code.nonce.clone(),
            auth_time: code.auth_time,
            resources: code.resources.to_delimited(),
            dpop_jkt: code.dpop_jkt.clone(),
        }
    }

    pub(crate) fn into_record(self) -> Result<AuthorizationCodeRecord, Failure> {
        let corrupt = |what: &str| {
            Failure::Corrupt(format!(
                "authorization code of client {:?}: {what}",
                self.client_id
            ))
        };
        let challenge = match (self.code_challenge, self.code_challenge_method) {
            (Some(challenge), Some(method)) => Some(CodeChallenge {
                challenge,
                method: CodeChallengeMethod::parse(&method)
                    .ok_or_else(|| corrupt("unknown code_challenge_method"))?,
            }),
            (None, None) => None,
            _ => {
                return Err(corrupt(
                    "code_challenge and its method must be both set or both NULL",
                ))
            }
        };
        Ok(AuthorizationCodeRecord {
            hash: TokenHash::from_slice(&self.code_hash)
                .ok_or_else(|| corrupt("hash is not 32 bytes"))?,
            client_id: ClientId::parse(&self.client_id).map_err(|e| corrupt(&e.0))?,
            user_id: UserId::parse(&self.user_id).map_err(|e| corrupt(&e.0))?,
            username: Username::parse(&self.username).map_err(|e| corrupt(&e.0))?,
            redirect_uri: self.redirect_uri,
            scope: ScopeSet::parse(&self.scope).map_err(|e| corrupt(&e.0))?,
            resources: ResourceSet::parse(&self.resources).map_err(|e| corrupt(&e.0))?,
            challenge,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            redeemed_at: self.redeemed_at,
            grant_id: self
                .grant_id
                .as_deref()
                .map(GrantId::parse)
                .transpose()
                .map_err(|e| corrupt(&e.0))?,
            nonce: self.nonce,
            auth_time: self.auth_time,
            dpop_jkt: self.dpop_jkt,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct ConsentRow {
    user_id: String,
    client_id: String,
    scope: String,
    created_at: i64,
}

impl ConsentRow {
    pub(crate) fn from_record(consent: &Consent) -> Self {
        Self {
            user_id: consent.user_id.as_str().to_owned(),
            client_id: consent.client_id.as_str().to_owned(),
            scope: consent.scope.to_delimited(),
            created_at: consent.created_at,
        }
    }

    pub(crate) fn into_record(self) -> Result<Consent, Failure> {
        let corrupt = |what: &str| {
            Failure::Corrupt(format!(
                "consent of user {:?} to {:?}: {what}",
                self.user_id, self.client_id
            ))
        };
        Ok(Consent {
            user_id: UserId::parse(&self.user_id).map_err(|e| corrupt(&e.0))?,
            client_id: ClientId::parse(&self.client_id).map_err(|e| corrupt(&e.0))?,
            scope: ScopeSet::parse(&self.scope).map_err(|e| corrupt(&e.0))?,
            created_at: self.created_at,
        })
    }
}
