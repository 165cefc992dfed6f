//! The JSON of dynamic registration: the request body read into the domain's
//! `ClientMetadata` with each type error naming its field (RFC 7591 §3.2.2
//! `invalid_client_metadata`), unknown fields ignored (§2), and the client information
//! response (RFC 7591 §3.2.1, RFC 7592 §3).

use grantd_domain::dynamic_registration::{
    response_types, ClientMetadata, MetadataError, RegisteredClient, UpdateRequest,
};
use serde_json::{json, Map, Value};

/// RFC 7592 §2.2: "The client MUST NOT include the registration_access_token,
/// registration_client_uri, client_secret_expires_at, or client_id_issued_at fields".
const SERVER_FIELDS: [&str; 4] = [
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
];

fn bad(field: &str, why: &str) -> MetadataError {
    MetadataError::InvalidClientMetadata(format!("{field}: {why}"))
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>, MetadataError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(MetadataError::InvalidClientMetadata(
            "the body must be a JSON object of client metadata (RFC 7591 §2)".into(),
        )),
    }
}

/// A field's value; JSON `null` counts as omitted.
fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).filter(|v| !v.is_null())
}

fn string(map: &Map<String, Value>, name: &str) -> Result<Option<String>, MetadataError> {
    field(map, name)
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(name, "must be a string"))
        })
        .transpose()
}

fn strings(map: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, MetadataError> {
    field(map, name)
        .map(|v| {
            v.as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| bad(name, "must be an array of strings"))
        })
        .transpose()
}

fn boolean(map: &Map<String, Value>, name: &str) -> Result<Option<bool>, MetadataError> {
    field(map, name)
        .map(|v| {
            v.as_bool()
                .ok_or_else(|| bad(name, "must be true or false"))
        })
        .transpose()
}

fn metadata_of(map: &Map<String, Value>) -> Result<ClientMetadata, MetadataError> {
    Ok(ClientMetadata {
        redirect_uris: strings(map, "redirect_uris")?,
        token_endpoint_auth_method: string(map, "token_endpoint_auth_method")?,
        grant_types: strings(map, "grant_types")?,
        response_types: strings(map, "response_types")?,
        client_name: string(map, "client_name")?,
        scope: string(map, "scope")?,
        post_logout_redirect_uris: strings(map, "post_logout_redirect_uris")?,
        dpop_bound_access_tokens: boolean(map, "dpop_bound_access_tokens")?,
    })
}

/// RFC 7591 §3.1: a registration request's metadata.
pub(crate) fn registration_request(body: &[u8]) -> Result<ClientMetadata, MetadataError> {
    metadata_of(&object(body)?)
}

/// RFC 7592 §2.2: an update request: the metadata with `client_id` (and optionally
/// `client_secret`), without the fields only the server sets.
pub(crate) fn update_request(body: &[u8]) -> Result<UpdateRequest, MetadataError> {
    let map = object(body)?;
    if let Some(name) = SERVER_FIELDS.iter().find(|f| field(&map, f).is_some()) {
        return Err(bad(
            name,
            "is set by the server and must not be sent (RFC 7592 §2.2)",
        ));
    }
    Ok(UpdateRequest {
        client_id: string(&map, "client_id")?,
        client_secret: string(&map, "client_secret")?,
        metadata: metadata_of(&map)?,
    })
}

/// RFC 7591 §3.2.1 / RFC 7592 §3: the client information response.
/// `client_secret_expires_at` is 0 (never) for every confidential client, and is left
/// out for public ones, which have no secret.
pub(crate) fn client_information(r: &RegisteredClient, configuration_uri: &str) -> Value {
    let c = &r.client;
    let mut doc = json!({
        "client_id": c.id.as_str(),
        "client_id_issued_at": c.created_at,
        "registration_access_token": r.registration_access_token.expose(),
        "registration_client_uri": configuration_uri,
        "client_name": c.name,
        "redirect_uris": c.redirect_uris,
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": response_types(&c.grant_types),
        "token_endpoint_auth_method": r.auth_method.as_str(),
        "scope": c.scopes.to_delimited(),
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "dpop_bound_access_tokens": c.require_dpop,
    });
    if let Some(map) = doc.as_object_mut() {
        if let Some(secret) = &r.client_secret {
            map.insert("client_secret".into(), json!(secret.expose()));
        }
        if !c.is_public() {
            map.insert("client_secret_expires_at".into(), json!(0));
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(result: Result<impl std::fmt::Debug, MetadataError>) -> String {
        match result {
            Err(MetadataError::InvalidClientMetadata(d)) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn types_are_checked_per_field_and_unknown_fields_ignored() {
        let m = registration_request(
            br#"{"redirect_uris":["https://a.example/cb"],"client_name":"A","logo_uri":"x",
                 "scope":null,"dpop_bound_access_tokens":true,"client_name#fr":"B"}"#,
        )
        .unwrap();
        assert_eq!(m.redirect_uris.unwrap(), ["https://a.example/cb"]);
        assert_eq!(m.client_name.as_deref(), Some("A"));
        assert_eq!(m.scope, None);
        assert_eq!(m.dpop_bound_access_tokens, Some(true));
        for (body, expected) in [
            (
                &br#"{"redirect_uris":"https://a.example/cb"}"#[..],
                "redirect_uris: must be an array",
            ),
            (
                br#"{"redirect_uris":[1]}"#,
                "redirect_uris: must be an array",
            ),
            (br#"{"client_name":7}"#, "client_name: must be a string"),
            (
                br#"{"dpop_bound_access_tokens":"yes"}"#,
                "dpop_bound_access_tokens: must be true",
            ),
            (br#"[]"#, "the body must be a JSON object"),
            (br#"{"#, "the body must be a JSON object"),
        ] {
            let got = err(registration_request(body));
            assert!(got.starts_with(expected), "{got}");
        }
    }

    #[test]
    fn an_update_may_not_carry_the_servers_fields() {
        let u = update_request(br#"{"client_id":"cl_1","client_secret":"s"}"#).unwrap();
        assert_eq!(u.client_id.as_deref(), Some("cl_1"));
        assert_eq!(u.client_secret.as_deref(), Some("s"));
        let got = err(update_request(
            br#"{"client_id":"cl_1","registration_access_token":"x"}"#,
        ));
        assert!(
            got.starts_with("registration_access_token: is set by the server"),
            "{got}"
        );
    }
}
