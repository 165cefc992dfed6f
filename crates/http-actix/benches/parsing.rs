//! The HTTP edge's strict parsing: the token request's form body and the Basic
//! `Authorization` header, on every token request. `cargo bench -p grantd-http-actix`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use grantd_http_actix::{parse_authorization_header, Form};

fn parsing(c: &mut Criterion) {
    let refresh = b"grant_type=refresh_token&refresh_token=grt_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG&scope=read+write";
    c.bench_function("Form::parse refresh request", |b| {
        b.iter(|| Form::parse(black_box(refresh)))
    });
    let password = b"grant_type=password&username=alice%40example.com&password=s3cret%21%20pass";
    c.bench_function("Form::parse password request (percent-encoded)", |b| {
        b.iter(|| Form::parse(black_box(password)))
    });
    let header =
        b"Basic Y2xfQUJDREVGR0hJSktMTU5PUDpnY3NfMDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6";
    c.bench_function("parse_authorization_header Basic", |b| {
        b.iter(|| parse_authorization_header(black_box(header)))
    });
}

criterion_group!(benches, parsing);
criterion_main!(benches);
