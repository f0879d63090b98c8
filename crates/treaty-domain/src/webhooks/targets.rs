//! Which targets a webhook may call: the policy (schemes, methods, hosts)
//! and the addresses no webhook reaches unless its host is listed, so a
//! webhook cannot be used to make requests inside the network Treaty runs in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use iprfc::{RFC2765, RFC4291, RFC6890};

/// Which targets webhooks may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    pub schemes: Vec<String>,
    pub methods: Vec<String>,
    /// Empty: any host (that is not internal, unless listed here).
    pub hosts: Vec<String>,
}

impl Default for TargetPolicy {
    fn default() -> Self {
        Self {
            schemes: vec!["https".to_owned()],
            methods: vec!["POST".to_owned()],
            hosts: Vec::new(),
        }
    }
}

impl TargetPolicy {
    pub fn host_listed(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Why a (rendered) target may not be called, if it may not.
    pub fn refuse(&self, method: &str, url: &str) -> Option<String> {
        let Ok(parsed) = url::Url::parse(url) else {
            return Some(format!("'{url}' is not a URL"));
        };
        if !self
            .schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(parsed.scheme()))
        {
            return Some(format!(
                "scheme {} is not allowed (allowed: {}; see --webhook-allowed-schemes)",
                parsed.scheme(),
                self.schemes.join(", ")
            ));
        }
        if !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            return Some(format!(
                "method {method} is not allowed (allowed: {}; see --webhook-allowed-methods)",
                self.methods.join(", ")
            ));
        }
        let host = parsed.host_str().unwrap_or_default();
        if !self.hosts.is_empty() && !self.host_listed(host) {
            return Some(format!(
                "host {host} is not allowed (allowed: {}; see --webhook-allowed-hosts)",
                self.hosts.join(", ")
            ));
        }
        None
    }
}

/// Whether a webhook must not reach this address unless its host is
/// explicitly allowed: every range of IANA's IPv4 and IPv6 Special-Purpose
/// Address registries (loopback, private, shared, link-local, "this
/// network", benchmarking, documentation, reserved, protocol assignments,
/// 6to4, Teredo, ORCHID, discard-only, ...), as the `iprfc` crate keeps them,
/// plus what those registries leave to others: multicast, the deprecated
/// IPv4-compatible (`::/96`) and site-local (`fec0::/10`) IPv6 ranges, and
/// SIIT's IPv4-translated addresses (`::ffff:0:0:0/96`).
///
/// An IPv6 address that is only a way to write an IPv4 one is judged by the
/// IPv4 address it carries: IPv4-mapped (`::ffff:a.b.c.d`, what a dual-stack
/// socket sees) and NAT64's well-known prefix (`64:ff9b::/96`, what DNS64
/// answers on an IPv6-only network), so a public IPv4 target stays reachable
/// there and a private one does not.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match carried_ipv4(v6) {
            Some(v4) => is_internal_v4(v4),
            None => {
                let ip = IpAddr::V6(v6);
                RFC6890.contains(&ip) || RFC4291.contains(&ip) || RFC2765.contains(&ip)
            }
        },
    }
}

fn is_internal_v4(v4: Ipv4Addr) -> bool {
    RFC6890.contains(&IpAddr::V4(v4)) || v4.is_multicast()
}

/// The IPv4 address an IPv6 address stands for, when it is IPv4-mapped or in
/// NAT64's well-known prefix (RFC 6052).
fn carried_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let well_known_nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
    well_known_nat64.then(|| {
        let [.., a, b, c, d] = v6.octets();
        Ipv4Addr::new(a, b, c, d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked_against_the_policy() {
        let policy = TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec!["127.0.0.1".into()],
        };
        assert_eq!(policy.refuse("POST", "http://127.0.0.1:9/x"), None);
        assert!(
            policy
                .refuse("POST", "http://10.0.0.1/")
                .unwrap()
                .contains("host 10.0.0.1 is not allowed")
        );
        assert!(
            policy
                .refuse("PUT", "http://127.0.0.1/")
                .unwrap()
                .contains("method PUT")
        );
    }

    #[test]
    fn every_special_purpose_range_is_internal() {
        for internal in [
            // IPv4 special-purpose registry
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "240.0.0.1",
            "255.255.255.255",
            // multicast
            "224.0.0.1",
            "239.255.255.250",
            // IPv6 special-purpose registry
            "::",
            "::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "2001:20::1",
            "2002:a00:1::1",
            "2002:5db8:d822::1",
            "64:ff9b:1::a00:1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd00::1",
            "fe80::1",
            // left to other registries and RFCs
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "::a00:1",
            "::5db8:d822",
            "::ffff:0:a00:1",
            // IPv4 written as IPv6, judged by the IPv4 address
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(is_internal(ip), "{internal} should be internal");
        }
    }

    #[test]
    fn public_addresses_stay_reachable() {
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_internal(ip), "{public} should be reachable");
        }
    }
}
