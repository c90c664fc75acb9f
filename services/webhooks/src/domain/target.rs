//! Where deliveries may go.
//!
//! A URL is checked twice: when it is registered (its shape), and at every
//! connection (the addresses its host resolves to then, so a name that
//! later resolves to an internal address, DNS rebinding, is still refused).
//! Public unicast addresses are allowed; private, loopback, link-local,
//! CGNAT, documentation, multicast, reserved and cloud metadata addresses
//! only when the operator allows private networks or lists the host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Longest callback URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// What the operator allows beyond public HTTPS endpoints.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    /// Deliver to private and loopback addresses too (a deployment whose
    /// receivers live on its own network, and tests).
    pub allow_private_networks: bool,
    /// Hosts (lower case) that may be reached over plain http and at any
    /// address, e.g. an internal service behind the firewall.
    pub allowed_hosts: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("callback_url must be an absolute http(s) URL of at most 2048 bytes")]
    NotAUrl,
    #[error("callback_url must not carry a user name or password")]
    Credentials,
    #[error("callback_url must use https (http only for loopback or a host the operator allows)")]
    PlainHttp,
    #[error(
        "callback_url names a private, loopback or metadata address, which this deployment does not deliver to"
    )]
    PrivateAddress,
}

impl TargetPolicy {
    fn host_is_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_hosts.contains(&host)
    }

    /// Checks a URL someone registers; answers it normalised.
    pub fn check_url(&self, text: &str) -> Result<Url, TargetError> {
        if text.len() > MAX_URL_LEN {
            return Err(TargetError::NotAUrl);
        }
        let url = Url::parse(text.trim()).map_err(|_| TargetError::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetError::NotAUrl);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        let host = url.host().ok_or(TargetError::NotAUrl)?;
        let listed = url
            .host_str()
            .is_some_and(|host| self.host_is_allowed(host));
        let ip = match &host {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(_) => None,
        };
        let loopback = match (&host, ip) {
            (_, Some(ip)) => ip.is_loopback(),
            (Host::Domain(name), None) => is_local_name(name),
            _ => false,
        };
        if url.scheme() == "http" && !loopback && !listed {
            return Err(TargetError::PlainHttp);
        }
        let private_name =
            matches!(&host, Host::Domain(name) if is_local_name(name) || is_metadata_name(name));
        let private_ip = ip.is_some_and(|ip| !is_public(ip));
        if (private_name || private_ip) && !listed && !self.allow_private_networks {
            return Err(TargetError::PrivateAddress);
        }
        // Cloud metadata is never reached by allowing private networks:
        // only by naming the host.
        if !listed
            && (ip.is_some_and(is_metadata_ip)
                || matches!(&host, Host::Domain(name) if is_metadata_name(name)))
        {
            return Err(TargetError::PrivateAddress);
        }
        Ok(url)
    }

    /// Whether a connection to `ip`, resolved from `host`, may be made.
    pub fn may_connect(&self, host: &str, ip: IpAddr) -> bool {
        if self.host_is_allowed(host) {
            return true;
        }
        is_public(ip) || (self.allow_private_networks && !is_metadata_ip(ip))
    }
}

/// `localhost` and names under it.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Cloud metadata endpoints reachable by name.
fn is_metadata_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    matches!(
        name.as_str(),
        "metadata" | "metadata.google.internal" | "metadata.azure.com" | "instance-data"
    ) || name.ends_with(".internal")
}

/// The instance-metadata addresses of the big clouds (AWS, GCP, Azure,
/// OpenStack: 169.254.169.254; AWS ECS: 169.254.170.2; Alibaba:
/// 100.100.100.200; AWS over IPv6: fd00:ec2::254), with IPv4 also in its
/// IPv6-mapped form.
pub fn is_metadata_ip(ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    };
    match v4 {
        Some(ip) => matches!(
            ip.octets(),
            [169, 254, 169, 254] | [169, 254, 170, 2] | [100, 100, 100, 200]
        ),
        None => ip == IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    }
}

/// A globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0                                   // this network
        || a == 10                                         // private
        || (a == 100 && (64..128).contains(&b))            // CGNAT
        || a == 127                                        // loopback
        || (a == 169 && b == 254)                          // link-local, metadata
        || (a == 172 && (16..32).contains(&b))             // private
        || (a == 192 && b == 0 && c == 0)                  // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // documentation
        || (a == 192 && b == 88 && c == 99)                // 6to4 relay
        || (a == 192 && b == 168)                          // private
        || (a == 198 && (18..20).contains(&b))             // benchmarking
        || (a == 198 && b == 51 && c == 100)               // documentation
        || (a == 203 && b == 0 && c == 113)                // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    // Global unicast is 2000::/3, less documentation (2001:db8::/32) and
    // the ORCHID and benchmarking blocks under 2001::/23 and 2001:2::/48.
    let global = (segments[0] & 0xe000) == 0x2000;
    let documentation = segments[0] == 0x2001 && segments[1] == 0x0db8;
    let protocol_block = segments[0] == 0x2001 && segments[1] < 0x0200;
    global && !documentation && !protocol_block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_urls_are_accepted_and_normalised() {
        let policy = TargetPolicy::default();
        let url = policy
            .check_url(" https://Hooks.Example.com/ci?x=1 ")
            .unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com/ci?x=1");
        assert!(policy.check_url("https://203.0.114.7/hook").is_ok());
    }

    #[test]
    fn what_no_deployment_delivers_to_by_default() {
        let policy = TargetPolicy::default();
        let refused = [
            ("ftp://example.com/", TargetError::NotAUrl),
            ("example.com/hook", TargetError::NotAUrl),
            ("https://user:pw@example.com/", TargetError::Credentials),
            ("http://example.com/hook", TargetError::PlainHttp),
            ("https://127.0.0.1/", TargetError::PrivateAddress),
            ("http://localhost:8080/", TargetError::PrivateAddress),
            ("https://10.1.2.3/", TargetError::PrivateAddress),
            (
                "https://169.254.169.254/latest/meta-data",
                TargetError::PrivateAddress,
            ),
            (
                "https://metadata.google.internal/",
                TargetError::PrivateAddress,
            ),
            ("https://[::1]/", TargetError::PrivateAddress),
            ("https://[fd00::1]/", TargetError::PrivateAddress),
            ("https://[::ffff:192.168.1.1]/", TargetError::PrivateAddress),
        ];
        for (url, why) in refused {
            assert_eq!(policy.check_url(url).err(), Some(why), "{url}");
        }
        assert_eq!(
            policy
                .check_url(&format!("https://example.com/{}", "a".repeat(2100)))
                .err(),
            Some(TargetError::NotAUrl)
        );
    }

    #[test]
    fn the_operator_may_allow_private_networks_or_name_hosts() {
        let private = TargetPolicy {
            allow_private_networks: true,
            ..TargetPolicy::default()
        };
        assert!(private.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(private.check_url("https://10.1.2.3/").is_ok());
        assert_eq!(
            private.check_url("http://10.1.2.3/").err(),
            Some(TargetError::PlainHttp),
            "plain http only for loopback or a listed host"
        );
        // Cloud metadata stays out of reach: allowing private networks
        // does not reach it, only naming the host does.
        for metadata in [
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00:ec2::254]/",
            "https://[::ffff:169.254.169.254]/",
            "https://100.100.100.200/",
            "https://metadata.google.internal/",
        ] {
            assert_eq!(
                private.check_url(metadata).err(),
                Some(TargetError::PrivateAddress),
                "{metadata}"
            );
        }
        assert!(!private.may_connect("evil.example", "169.254.169.254".parse().unwrap()));
        assert!(!private.may_connect("evil.example", "169.254.170.2".parse().unwrap()));
        assert!(private.may_connect("evil.example", "10.0.0.5".parse().unwrap()));
        let listed = TargetPolicy {
            allowed_hosts: vec!["ci.internal".into()],
            ..TargetPolicy::default()
        };
        assert!(listed.check_url("http://ci.internal:8080/hook").is_ok());
        assert!(listed.may_connect("ci.internal", "10.0.0.5".parse().unwrap()));
        assert!(!listed.may_connect("other.example", "10.0.0.5".parse().unwrap()));
    }

    #[test]
    fn addresses_are_classified() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "192.168.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }
}
