//! The id token's claims as they travel (OpenID Connect Core §2, §5.1): optional claims
//! are left out rather than sent as null, and a received `aud` may be one string or an
//! array (Core §2), of which grantd's own tokens use the first form.

use grantd_ports::{IdTokenClaims, JwtRejected};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct IdTokenWire {
    pub(crate) iss: String,
    sub: String,
    aud: Audience,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

impl From<&IdTokenClaims> for IdTokenWire {
    fn from(c: &IdTokenClaims) -> Self {
        Self {
            iss: c.iss.clone(),
            sub: c.sub.clone(),
            aud: Audience::One(c.aud.clone()),
            iat: c.iat,
            exp: c.exp,
            auth_time: c.auth_time,
            nonce: c.nonce.clone(),
            at_hash: c.at_hash.clone(),
            amr: c.amr.clone(),
            name: c.name.clone(),
            preferred_username: c.preferred_username.clone(),
            email: c.email.clone(),
            email_verified: c.email_verified,
        }
    }
}

impl IdTokenWire {
    /// The claims, with the audience narrowed to one: an id token for several audiences
    /// was not issued by grantd, so it names no session here.
    pub(crate) fn into_claims(self) -> Result<IdTokenClaims, JwtRejected> {
        let aud = match self.aud {
            Audience::One(aud) => aud,
            Audience::Many(mut many) if many.len() == 1 => many.remove(0),
            Audience::Many(_) => return Err(JwtRejected::Malformed),
        };
        Ok(IdTokenClaims {
            iss: self.iss,
            sub: self.sub,
            aud,
            iat: self.iat,
            exp: self.exp,
            auth_time: self.auth_time,
            nonce: self.nonce,
            at_hash: self.at_hash,
            amr: self.amr,
            name: self.name,
            preferred_username: self.preferred_username,
            email: self.email,
            email_verified: self.email_verified,
        })
    }
}
