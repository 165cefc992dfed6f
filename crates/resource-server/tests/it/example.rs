//! The example API (`examples/protected_api.rs`, its routes mounted in-process) and the
//! `RequireScope` guard, answering requests with real grantd tokens.

use actix_web::http::header;
use actix_web::test as actix_test;
use actix_web::{web, App, HttpMessage, HttpResponse};
use grantd_resource_server::{Authenticated, RequireScope};

use crate::support::Harness;

#[allow(dead_code)]
#[path = "../../examples/protected_api.rs"]
pub mod protected_api;

/// A request with these `Authorization` values.
pub fn request(path: &str, authorization: &[&str]) -> actix_test::TestRequest {
    let mut req = actix_test::TestRequest::get().uri(path);
    for value in authorization {
        req = req.append_header((header::AUTHORIZATION, *value));
    }
    req
}

/// The status, `WWW-Authenticate` and body of a response.
pub async fn read<B: actix_web::body::MessageBody>(
    response: actix_web::dev::ServiceResponse<B>,
) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8(actix_test::read_body(response).await.to_vec()).unwrap();
    (status, challenge, body)
}

/// `GET path` with these `Authorization` values: (status, challenge, body).
macro_rules! get {
    ($app:expr, $path:expr, $auth:expr) => {
        read(actix_test::call_service(&$app, request($path, $auth).to_request()).await).await
    };
}

#[test]
fn the_example_api_answers_real_tokens_and_refuses_the_rest() {
    let h = Harness::start(true);
    let read_write = h.token(None);
    let write_only = h.token(Some("write"));
    let verifier = protected_api::verifier(h.issuer(), None, "http://127.0.0.1:3000").unwrap();
    actix_web::rt::System::new().block_on(async move {
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(verifier))
                .configure(protected_api::api),
        )
        .await;
        let bearer = |t: &str| format!("Bearer {t}");

        let (status, _, body) = get!(app, "/hello", &[&bearer(&read_write)]);
        assert_eq!(
            (status, body.as_str()),
            (200, "hello user-alice (client app, scope read write)\n")
        );

        let (status, challenge, body) = get!(app, "/hello", &[]);
        assert_eq!(
            (status, challenge.as_deref(), body.as_str()),
            (401, Some(r#"Bearer, DPoP algs="ES256 EdDSA RS256 PS256""#), "")
        );

        let (status, challenge, body) = get!(app, "/hello", &[&bearer(&write_only)]);
        assert_eq!(status, 403);
        assert!(challenge.unwrap().contains(r#"error="insufficient_scope""#));
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "insufficient_scope");

        let (status, challenge, _) = get!(app, "/hello", &["Bearer gat_not_a_token"]);
        assert_eq!(
            status, 401,
            "opaque, and the example has no introspection credentials"
        );
        assert!(challenge.unwrap().contains(r#"error="invalid_token""#));

        // grantd's token is a bearer token: as DPoP, without a proof, then with one.
        let dpop = format!("DPoP {read_write}");
        let (status, challenge, _) = get!(app, "/hello", &[&dpop]);
        assert_eq!(status, 401);
        assert_eq!(
            challenge.unwrap(),
            r#"DPoP error="invalid_dpop_proof", error_description="Exactly one DPoP proof header is required", algs="ES256 EdDSA RS256 PS256", Bearer"#
        );
        let proof = crate::dpop::ProofKey::es256().proof("GET", "http://127.0.0.1:3000/hello", &read_write);
        let req = request("/hello", &[&dpop]).append_header(("DPoP", proof));
        let (status, challenge, _) = read(actix_test::call_service(&app, req.to_request()).await).await;
        assert_eq!(status, 401);
        assert!(
            challenge.unwrap().starts_with(r#"DPoP error="invalid_token""#),
            "an unbound token is refused with a good proof"
        );

        let (status, challenge, body) =
            get!(app, "/hello", &[&bearer(&read_write), &bearer(&read_write)]);
        assert_eq!(status, 400);
        assert!(challenge.unwrap().contains(r#"error="invalid_request""#));
        assert!(body.contains("More than one Authorization header"));
    });
}

#[test]
fn the_example_api_takes_opaque_tokens_with_introspection() {
    let h = Harness::start(false);
    let token = h.token(None);
    let rs = Some(("rs".to_owned(), grantd_testkit::fixtures::SECRET.to_owned()));
    let verifier = protected_api::verifier(h.issuer(), rs, "http://127.0.0.1:3000").unwrap();
    actix_web::rt::System::new().block_on(async move {
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(verifier))
                .configure(protected_api::api),
        )
        .await;
        for _ in 0..3 {
            let (status, _, body) = get!(app, "/hello", &[&format!("Bearer {token}")]);
            assert_eq!(
                (status, body.as_str()),
                (200, "hello user-alice (client app, scope read write)\n")
            );
        }
    });
    assert_eq!(h.served("/oauth/introspect"), 1);
}

#[test]
fn require_scope_guards_a_whole_scope_and_verifies_once() {
    let h = Harness::start(true);
    let read_write = h.token(None);
    let read_only = h.token(Some("read"));
    let verifier = h.builder().realm("admin-api").build().unwrap();
    let shared = verifier.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = actix_test::init_service(
            App::new().app_data(web::Data::new(verifier)).service(
                web::scope("/admin")
                    .wrap(RequireScope::new(["write"]))
                    .wrap(RequireScope::new(["read"]))
                    .route(
                        "/who",
                        web::get().to(|who: Authenticated, req: actix_web::HttpRequest| async move {
                            assert!(req.extensions().get::<Authenticated>().is_some());
                            HttpResponse::Ok().body(who.sub)
                        }),
                    ),
            ),
        )
        .await;
        let (status, _, body) = get!(app, "/admin/who", &[&format!("Bearer {read_write}")]);
        assert_eq!((status, body.as_str()), (200, "user-alice"));
        let (status, challenge, _) = get!(app, "/admin/who", &[&format!("Bearer {read_only}")]);
        assert_eq!(status, 403);
        assert_eq!(
            challenge.unwrap(),
            r#"Bearer realm="admin-api", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="write", DPoP realm="admin-api", algs="ES256 EdDSA RS256 PS256""#
        );
        let (status, challenge, _) = get!(app, "/admin/who", &[]);
        assert_eq!((status, challenge.as_deref()), (
                401,
                Some(r#"Bearer realm="admin-api", DPoP realm="admin-api", algs="ES256 EdDSA RS256 PS256""#)
            ));
    });
    // Two guards and an extractor, one discovery and one JWKS fetch in all.
    let stats = shared.stats();
    assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 1));
}

/// A verifier in app data is required; without one the extractor fails closed.
#[test]
fn without_a_verifier_in_app_data_nothing_gets_through() {
    actix_web::rt::System::new().block_on(async {
        let app = actix_test::init_service(App::new().configure(protected_api::api)).await;
        let (status, _, _) = get!(app, "/hello", &["Bearer x"]);
        assert_eq!(status, 500);
    });
}
