//! The client's address behind reverse proxies: `X-Forwarded-For` is believed only when the
//! connection comes from a configured trusted proxy, and then read from the right, skipping
//! the trusted proxies, so a client cannot choose its own address by sending the header.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (none by default).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 127.0.0.1, ::1`: networks or single addresses, comma-separated.
    ///
    /// # Errors
    /// The entry that is neither, as written.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| e.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client of a connection from `peer` whose request says `forwarded_for`: the peer
    /// itself unless it is trusted; else the rightmost forwarded address that is not a trusted
    /// proxy (the leftmost one if every address is trusted). Unreadable entries end the walk.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for
            .iter()
            .flat_map(|h| h.split(','))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let Ok(addr) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// The address of the client that sent `req` (`None` without a peer address, as in tests).
pub(crate) fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let proxies = req
        .app_data::<TrustedProxies>()
        .cloned()
        .unwrap_or_default();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(proxies.client(peer, &forwarded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), &["203.0.113.9"]),
            ip("127.0.0.1")
        );
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // From an untrusted peer the header is the client's own claim.
        assert_eq!(
            proxies.client(ip("198.51.100.7"), &["203.0.113.9"]),
            ip("198.51.100.7")
        );
        // Through the proxy: the address it saw.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["203.0.113.9"]),
            ip("203.0.113.9")
        );
        // A spoofed address on the left is not believed; proxies on the right are skipped.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["1.2.3.4, 203.0.113.9, 10.1.2.3"]),
            ip("203.0.113.9")
        );
        // Several headers read as one list.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["1.2.3.4", "203.0.113.9"]),
            ip("203.0.113.9")
        );
        // No header, or garbage: the proxy itself, or the last readable address.
        assert_eq!(proxies.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["nonsense"]),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["10.0.0.5"]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn the_list_names_a_bad_entry() {
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        assert_eq!(TrustedProxies::parse("::1,fd00::/8").unwrap().0.len(), 2);
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err(),
            "proxy.local"
        );
    }
}
