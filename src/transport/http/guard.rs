//! DNS-rebinding protection: the `Origin` and `Host` checks every route goes through.
//!
//! A web page the user visits can make the browser POST to `http://127.0.0.1:3000`; the
//! browser then sends the page's `Origin`, so any `Origin` outside `--allowed-origins`
//! (default: loopback origins) gets 403. A rebinding attack points a foreign name at
//! 127.0.0.1, which shows in `Host`, so on a loopback bind `Host` must be a loopback name
//! too. Requests without `Origin` (curl, SDK clients) pass the first check.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::is_loopback_host;

/// Which `Origin` and `Host` values are accepted.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

struct GuardInner {
    /// Normalised allowed origins; empty = loopback origins only.
    origins: Vec<String>,
    /// Require a loopback `Host` (the server is bound to a loopback address).
    loopback_host: bool,
}

fn normalise(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Splits `scheme://host[:port]` into (scheme, host, port).
fn parse_origin(origin: &str) -> Option<(String, String, Option<String>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let (host, port) = split_authority(rest)?;
    Some((scheme.to_ascii_lowercase(), host, port))
}

/// Splits `host[:port]` (IPv6 in brackets) into host and port.
fn split_authority(a: &str) -> Option<(String, Option<String>)> {
    if a.is_empty() || a.contains(['/', '@', ' ']) {
        return None;
    }
    if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.to_string()),
        };
        return Some((format!("[{}]", h.to_ascii_lowercase()), port));
    }
    match a.rsplit_once(':') {
        Some((h, p))
            if !h.is_empty() && (p.is_empty() || p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            Some((h.to_ascii_lowercase(), Some(p.to_string())))
        }
        Some(_) => None,
        None => Some((a.to_ascii_lowercase(), None)),
    }
}

impl Guard {
    /// `origins` from `--allowed-origins`; `loopback_host` when bound to a loopback address.
    pub fn new(origins: &[String], loopback_host: bool) -> Guard {
        Guard {
            inner: Arc::new(GuardInner {
                origins: origins.iter().map(|o| normalise(o)).collect(),
                loopback_host,
            }),
        }
    }

    /// True when a request with this `Origin` may proceed.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let o = normalise(origin);
        if self.inner.origins.is_empty() {
            return match parse_origin(&o) {
                Some((scheme, host, _)) => {
                    (scheme == "http" || scheme == "https") && is_loopback_host(&host)
                }
                None => false,
            };
        }
        self.inner.origins.iter().any(|allowed| {
            allowed == "*"
                || *allowed == o
                || allowed
                    .strip_suffix(":*")
                    .is_some_and(|prefix| match parse_origin(&o) {
                        Some((scheme, host, _)) => format!("{scheme}://{host}") == prefix,
                        None => false,
                    })
        })
    }

    /// True when a request with this `Host` may proceed.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        if !self.inner.loopback_host {
            return true;
        }
        match host.and_then(split_authority) {
            // `localhost.` is the fully qualified form of `localhost`: one trailing dot.
            Some((h, _)) => is_loopback_host(h.strip_suffix('.').unwrap_or(&h)),
            None => false,
        }
    }
}

fn forbidden(what: &str) -> Response {
    super::errors::refusal(
        StatusCode::FORBIDDEN,
        -32000,
        &format!("Forbidden: {what} is not allowed"),
    )
}

/// Middleware: 403 for a foreign `Origin`, or a foreign `Host` on a loopback bind.
pub async fn check(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    // Every Origin header counts: a request carrying a good one and a foreign one is foreign.
    let foreign = req
        .headers()
        .get_all(header::ORIGIN)
        .iter()
        .any(|origin| !origin.to_str().is_ok_and(|o| guard.origin_allowed(o)));
    if foreign {
        return forbidden("Origin");
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !guard.host_allowed(host) {
        return forbidden("Host");
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_loopback_origins_only() {
        let g = Guard::new(&[], true);
        assert!(g.origin_allowed("http://localhost:3000"));
        assert!(g.origin_allowed("http://127.0.0.1"));
        assert!(g.origin_allowed("https://[::1]:8443"));
        assert!(!g.origin_allowed("http://evil.example"));
        assert!(!g.origin_allowed("http://localhost.evil.example"));
        assert!(!g.origin_allowed("null"));
        assert!(!g.origin_allowed("file://localhost"));
    }

    #[test]
    fn configured_origins() {
        let g = Guard::new(
            &[
                "https://app.example.com".into(),
                "http://dev.local:*".into(),
            ],
            false,
        );
        assert!(g.origin_allowed("https://app.example.com"));
        assert!(g.origin_allowed("https://APP.example.com/"));
        assert!(g.origin_allowed("http://dev.local:5173"));
        assert!(!g.origin_allowed("http://localhost:3000"));
        assert!(!g.origin_allowed("https://app.example.com.evil"));
    }

    #[test]
    fn host_check_only_on_loopback_binds() {
        let g = Guard::new(&[], true);
        assert!(g.host_allowed(Some("127.0.0.1:3000")));
        assert!(g.host_allowed(Some("localhost")));
        assert!(g.host_allowed(Some("[::1]:3000")));
        assert!(!g.host_allowed(Some("evil.example:3000")));
        assert!(g.host_allowed(Some("localhost.")));
        assert!(g.host_allowed(Some("127.0.0.1.:3000")));
        assert!(!g.host_allowed(Some("localhost..")));
        assert!(!g.host_allowed(Some("evil.example.")));
        assert!(!g.host_allowed(None));
        assert!(Guard::new(&[], false).host_allowed(Some("mcp.internal:3000")));
    }
}
