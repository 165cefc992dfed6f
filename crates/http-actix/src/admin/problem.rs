//! RFC 9457 problem details, the admin API's one error format
//! (`application/problem+json`): `type` (a stable URI per kind), `title`, `status`,
//! `detail`, and `field` (an extension member, §3.2) naming the request field at fault.
//! Each `AdminError`, `AdminAuthError` and `InitialTokenError` is mapped here once;
//! internal text never reaches a body. Authentication failures carry RFC 6750 §3's
//! `WWW-Authenticate` challenge.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use grantd_domain::admin::{AdminAuthError, AdminError};
use grantd_domain::dynamic_registration::{InitialTokenError, MAX_EXPIRES_IN, MAX_USES};
use grantd_domain::KeyError;
use grantd_ports::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ops::Busy;

/// The realm of the admin API's challenges.
const REALM: &str = "grantd-admin";

/// `type`: every kind is a URI under one base (RFC 9457 §3.1.1).
fn type_uri<S: serde::Serializer>(kind: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("https://grantd.dev/problems/{kind}"))
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://grantd.dev/problems/validation",
    "title": "A field is invalid",
    "status": 422,
    "detail": "name: the client name must not be empty",
    "field": "name"
}))]
pub struct Problem {
    /// A URI naming the kind of problem (held as its last segment).
    #[serde(rename = "type", serialize_with = "type_uri")]
    #[schema(value_type = String)]
    kind: &'static str,
    #[schema(value_type = String)]
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The request field at fault (validation problems only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    challenge: Option<String>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            challenge: None,
        }
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "A field is invalid",
            detail,
        );
        p.field = Some(field.to_owned());
        p
    }

    /// A body that is not the JSON the route expects.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "The request is malformed",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// RFC 6750 §3.1: no credentials (a bare challenge, no error code).
    pub fn unauthenticated() -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            "send an admin access token as Authorization: Bearer",
        );
        p.challenge = Some(format!("Bearer realm=\"{REALM}\""));
        p
    }

    pub fn invalid_token() -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-token",
            "The access token is not valid",
            "the access token is missing, invalid, expired or revoked",
        );
        p.challenge = Some(format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", \
             error_description=\"the access token is invalid, expired or revoked\""
        ));
        p
    }

    pub fn insufficient_scope() -> Self {
        let mut p = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient-scope",
            "The access token does not open the admin API",
            "an admin client's client_credentials token with scope grantd:admin is required",
        );
        p.challenge = Some(format!(
            "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"grantd:admin\""
        ));
        p
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily-unavailable",
            "Temporarily unavailable",
            "the service is temporarily unavailable, retry later",
        )
    }

    fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server could not complete the request",
        )
    }

    /// A short name of the kind, for the audit line.
    pub fn kind_name(&self) -> &str {
        self.kind
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CONTENT_TYPE, "application/problem+json"))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if self.status == 503 {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Some(challenge) = &self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        response.body(serde_json::to_string(self).unwrap_or_default())
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::unavailable(),
            other => {
                tracing::error!(error = %other, "admin API: storage failure");
                Self::internal()
            }
        }
    }
}

impl From<AdminError> for Problem {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(detail) => Self::not_found(detail),
            AdminError::Invalid { field, message } => {
                Self::invalid(field, format!("{field}: {message}"))
            }
            AdminError::Conflict(detail) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Already exists", detail)
            }
            AdminError::NoSigningKeys => Self::new(
                StatusCode::CONFLICT,
                "no-signing-keys",
                "Signing keys are not configured",
                "set keys.encryption_key to manage signing keys",
            ),
            AdminError::Keys(other) => {
                tracing::error!(error = %other, "admin API: signing key failure");
                Self::internal()
            }
            AdminError::Store(e) => e.into(),
        }
    }
}

impl From<AdminAuthError> for Problem {
    fn from(e: AdminAuthError) -> Self {
        match e {
            AdminAuthError::InvalidToken => Self::invalid_token(),
            AdminAuthError::InsufficientScope => Self::insufficient_scope(),
            AdminAuthError::Store(e) => e.into(),
        }
    }
}

impl From<InitialTokenError> for Problem {
    fn from(e: InitialTokenError) -> Self {
        match e {
            InitialTokenError::BadExpiry => Problem::invalid(
                "expires_in",
                format!("expires_in: must be between 1 and {MAX_EXPIRES_IN} seconds"),
            ),
            InitialTokenError::BadUses => {
                Problem::invalid("uses", format!("uses: must be between 1 and {MAX_USES}"))
            }
            InitialTokenError::Store(e) => e.into(),
        }
    }
}

impl From<KeyError> for Problem {
    fn from(e: KeyError) -> Self {
        AdminError::from(e).into()
    }
}

impl From<Busy> for Problem {
    fn from(_: Busy) -> Self {
        Self::unavailable()
    }
}
