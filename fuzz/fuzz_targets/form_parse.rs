//! The token endpoint's form body parser: any bytes give a form or an error, never a panic;
//! a parsed form answers lookups for every name it holds.
#![no_main]

use grantd_http_actix::Form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = Form::parse(data) {
        for name in ["grant_type", "refresh_token", "scope", "client_id", "password"] {
            let _ = form.get(name);
            let _ = form.require(name);
        }
        let _ = form.all("resource");
    }
});
