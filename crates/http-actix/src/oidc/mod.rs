//! OpenID Connect's JSON endpoints: userinfo (Core §5.3) and the provider's discovery
//! document (Discovery 1.0 §4). RP-initiated logout is a page of the authorization
//! endpoint's session and lives with it (`authorize::rp_logout`).

pub(crate) mod discovery;
pub(crate) mod userinfo;
