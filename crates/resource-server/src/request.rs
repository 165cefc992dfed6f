//! `Request`: what a DPoP check needs of an HTTP request besides its `Authorization`
//! header (RFC 9449 §4.3): the method, the full URL as the client called it, and the
//! `DPoP` header values.

/// The parts of an HTTP request the verifier reads. Build it with [`Request::new`]; a
/// request without `DPoP` values can still be a Bearer request.
#[derive(Clone, Default)]
pub struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: Option<&'a str>,
    pub(crate) authorization: Vec<&'a [u8]>,
    pub(crate) dpop: Vec<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// `method` exactly as sent (`GET`), and the absolute URL the client called
    /// (`https://api.example/v1/items?page=2`; query and fragment are ignored). Take the
    /// URL's scheme and host from configuration, not from the `Host` header.
    pub fn new(method: &'a str, url: &'a str) -> Self {
        Self {
            method,
            url: Some(url),
            ..Self::default()
        }
    }

    /// A request whose URL is not known: DPoP is refused for it.
    pub(crate) fn without_url(method: &'a str) -> Self {
        Self {
            method,
            ..Self::default()
        }
    }

    /// The values of its `Authorization` headers (all of them: two are refused).
    pub fn authorization(mut self, values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.authorization = values.into_iter().collect();
        self
    }

    /// The values of its `DPoP` headers (all of them: exactly one is required for DPoP).
    pub fn dpop(mut self, values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.dpop = values.into_iter().collect();
        self
    }
}

/// Tokens and proofs never reach a log through `Debug`.
impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("authorization", &self.authorization.len())
            .field("dpop", &self.dpop.len())
            .finish()
    }
}
