//! The `Authorization` header parser (Basic, RFC 6749 §2.3.1 with form-urlencoded id and
//! secret): any bytes give credentials or an error, never a panic.
#![no_main]

use grantd_http_actix::parse_authorization_header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_authorization_header(data);
    // The same bytes behind the scheme, which is where real attacks live.
    let mut basic = b"Basic ".to_vec();
    basic.extend_from_slice(data);
    let _ = parse_authorization_header(&basic);
});
