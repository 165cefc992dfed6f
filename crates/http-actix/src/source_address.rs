//! Where a request comes from, as the domain's brute-force budgets count it: the TCP peer,
//! unless the peer is a configured trusted proxy, in which case the proxy's forwarding
//! header says (`X-Forwarded-For`, or RFC 7239 `Forwarded`, whichever the operator chose:
//! the other is whatever the client sent). The domain gets a parsed IP address, never a
//! header string.
//!
//! A forwarding header is a list that each proxy appends its peer to, so only its right end
//! is trustworthy: walking from the right, every address that is itself a trusted proxy is
//! skipped, and the first one that is not is the source. What lies left of it was written
//! by the client and is ignored.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

/// An IP address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for AddressRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or CIDR range (such as 10.0.0.0/8)");
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let network = canonical(address.trim().parse::<IpAddr>().map_err(|_| bad())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// The proxies whose forwarding header is believed. Empty (the default): every request's
/// source is its TCP peer, and no header is read.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    ranges: Vec<AddressRange>,
    header: ProxyHeader,
}

impl TrustedProxies {
    pub fn new(ranges: Vec<AddressRange>, header: ProxyHeader) -> Self {
        Self { ranges, header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(ip))
    }

    /// The source of a request from `peer` with these headers.
    pub fn source(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Every line of the header, in order, as one list (RFC 7230 §3.2.2).
        let lines = |name| headers.get_all(name).filter_map(|v| v.to_str().ok());
        let hops: Vec<Option<IpAddr>> = match self.header {
            ProxyHeader::XForwardedFor => {
                lines("x-forwarded-for").flat_map(x_forwarded_for).collect()
            }
            ProxyHeader::Forwarded => lines("forwarded").flat_map(forwarded).collect(),
        };
        self.walk(peer, &hops)
    }

    /// From the right: the first hop that is not a trusted proxy. A hop that cannot be read
    /// stops the walk at the trusted proxy that wrote it (nothing left of it is believed),
    /// and a chain of trusted proxies only ends at its left-most one.
    fn walk(&self, peer: IpAddr, hops: &[Option<IpAddr>]) -> IpAddr {
        let mut source = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop.map(canonical) else {
                return source;
            };
            source = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        source
    }
}

/// The source address of `req` (the peer, or what a trusted proxy says). A request without
/// a peer address (not over TCP: only in-process tests) counts as `0.0.0.0`.
pub(crate) fn of(req: &HttpRequest, proxies: &TrustedProxies) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    proxies.source(peer, req.headers())
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports for an
/// IPv4 peer) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// `X-Forwarded-For: 203.0.113.7, 10.0.0.2` (entries may carry a port: `1.2.3.4:80`,
/// `[2001:db8::1]:80`).
fn x_forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value.split(',').map(|hop| node(hop.trim())).collect()
}

/// RFC 7239 §4: `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"`. An
/// element without `for`, or with an obfuscated or `unknown` node (§6), is an unreadable hop.
fn forwarded(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node(value.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .collect()
}

/// A node: an IP address, optionally with a port (IPv6 then in brackets).
fn node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, _port) = rest.split_once(']')?;
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (v4, _port) = s.split_once(':')?;
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn proxies(ranges: &[&str], header: ProxyHeader) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|r| r.parse().unwrap()).collect(), header)
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: AddressRange = "10.0.0.0/8".parse().unwrap();
        assert!(r.contains(ip("10.1.2.3")) && !r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.9.9.9")), "an IPv4-mapped peer");
        let one: AddressRange = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: AddressRange = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: AddressRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "localhost",
            "10.0.0.0/x",
            "10.0.0/8",
        ] {
            assert!(bad.parse::<AddressRange>().is_err(), "{bad}");
        }
        assert_eq!(r.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_source_whatever_the_headers_say() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        let none = TrustedProxies::default();
        assert_eq!(none.source(ip("192.0.2.1"), &h), ip("192.0.2.1"));
        // Nor from a peer that is not one of them.
        let some = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        assert_eq!(some.source(ip("192.0.2.1"), &h), ip("192.0.2.1"));
        assert_eq!(none.source(ip("::ffff:192.0.2.1"), &h), ip("192.0.2.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_source() {
        let p = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let cases: &[(&[(&str, &str)], &str)] = &[
            // The client's own claim (left) is ignored; the proxy appended the real peer.
            (
                &[("x-forwarded-for", "198.51.100.1, 203.0.113.9")],
                "203.0.113.9",
            ),
            // Two trusted proxies: skip the inner one.
            (
                &[("x-forwarded-for", "203.0.113.9, 10.0.0.3")],
                "203.0.113.9",
            ),
            // Several header lines are one list.
            (
                &[
                    ("x-forwarded-for", "198.51.100.1"),
                    ("x-forwarded-for", "203.0.113.9:4711, 10.0.0.3"),
                ],
                "203.0.113.9",
            ),
            (&[("x-forwarded-for", "[2001:db8::9]:80")], "2001:db8::9"),
            // No header: the proxy itself.
            (&[], "10.0.0.1"),
            // Only trusted hops: the left-most.
            (&[("x-forwarded-for", "10.0.0.7, 10.0.0.3")], "10.0.0.7"),
            // An unreadable hop: the trusted proxy that wrote it.
            (
                &[("x-forwarded-for", "203.0.113.9, garbage, 10.0.0.3")],
                "10.0.0.3",
            ),
            // The other header is the client's, and ignored.
            (&[("forwarded", "for=203.0.113.9")], "10.0.0.1"),
        ];
        for (pairs, expected) in cases {
            let mut map = HeaderMap::new();
            for (name, value) in *pairs {
                map.append(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            assert_eq!(p.source(ip("10.0.0.1"), &map), ip(expected), "{pairs:?}");
        }
    }

    #[test]
    fn the_forwarded_header_is_read_when_chosen() {
        let p = proxies(&["10.0.0.0/8"], ProxyHeader::Forwarded);
        let h = headers(&[
            (
                "forwarded",
                "for=198.51.100.1, for=\"[2001:db8:cafe::17]:4711\";proto=https, For=10.0.0.3",
            ),
            ("x-forwarded-for", "192.0.2.99"),
        ]);
        assert_eq!(p.source(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let hidden = headers(&[("forwarded", "for=203.0.113.9, for=_hidden")]);
        assert_eq!(p.source(ip("10.0.0.1"), &hidden), ip("10.0.0.1"));
        let unknown = headers(&[("forwarded", "for=unknown;by=10.0.0.1")]);
        assert_eq!(p.source(ip("10.0.0.1"), &unknown), ip("10.0.0.1"));
    }
}
