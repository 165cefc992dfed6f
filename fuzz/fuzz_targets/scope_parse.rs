//! `ScopeSet::parse` (RFC 6749 §3.3): never a panic, and a parsed set survives a round trip
//! through its delimited form unchanged.
#![no_main]

use grantd_ports::ScopeSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = ScopeSet::parse(text) {
        let again = ScopeSet::parse(&set.to_delimited()).expect("a rendered set parses");
        assert_eq!(set, again);
    }
});
