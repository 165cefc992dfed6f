//! A protected API in front of grantd: `GET /hello` needs a token with scope `read`.
//! `GRANTD_ISSUER` (default `http://127.0.0.1:8080`) is the issuer; with
//! `INTROSPECT_CLIENT_ID`/`INTROSPECT_CLIENT_SECRET`, opaque tokens are accepted too.
//! `cargo run -p grantd-resource-server --example protected_api` listens on `LISTEN`
//! (default `127.0.0.1:3000`); `PUBLIC_BASE_URL` (default `http://` + `LISTEN`) is its URL as
//! clients call it, which DPoP proofs name.

use actix_web::{get, web, App, HttpServer};
use grantd_resource_server::{Authenticated, Verifier};

#[get("/hello")]
async fn hello(who: Authenticated) -> actix_web::Result<String> {
    who.require(&["read"])?;
    Ok(format!(
        "hello {} (client {}, scope {})\n",
        who.sub, who.client_id, who.scope
    ))
}

/// The API's routes (the tests mount them in-process).
pub fn api(config: &mut web::ServiceConfig) {
    config.service(hello);
}

/// The verifier for `issuer` (grantd's tokens are for its issuer unless
/// `tokens.default_audience` says otherwise), introspecting as `client` if given, for DPoP
/// proofs naming `public_base_url`.
pub fn verifier(
    issuer: &str,
    client: Option<(String, String)>,
    public_base_url: &str,
) -> anyhow::Result<Verifier> {
    let mut builder = Verifier::builder(issuer, issuer).public_base_url(public_base_url);
    if let Some((id, secret)) = client {
        builder = builder.introspection(id, secret);
    }
    Ok(builder.build()?)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let issuer = std::env::var("GRANTD_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let client = std::env::var("INTROSPECT_CLIENT_ID")
        .ok()
        .zip(std::env::var("INTROSPECT_CLIENT_SECRET").ok());
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let public = std::env::var("PUBLIC_BASE_URL").unwrap_or_else(|_| format!("http://{listen}"));
    let verifier = web::Data::new(verifier(&issuer, client, &public)?);
    HttpServer::new(move || App::new().app_data(verifier.clone()).configure(api))
        .bind(listen)?
        .run()
        .await?;
    Ok(())
}
