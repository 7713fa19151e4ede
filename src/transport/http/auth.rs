//! Token authentication for the MCP routes, and the caller identity it establishes.
//!
//! A token arrives as `Authorization: Bearer <t>` or `X-MCP-Auth-Token: <t>`. Tokens are
//! compared as SHA-256 digests with [`subtle`], against every configured token without
//! stopping at the first match, so neither the content nor the length of a token leaks
//! through timing. A refusal is `401` with `WWW-Authenticate: Bearer` and the contract's
//! JSON-RPC body, and an `AUTH_FAILED` audit line that names the reason, never the token.
//! An accepted request carries a [`CallContext`] in its extensions, which the tools read
//! for the `caller`, `transport` and `session` audit fields.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth_failures::{too_many_failures, AuthFailures, Source, Verdict};
use crate::audit::{self, caller_for_digest, CallContext};

/// The custom header go-mcp-commander clients send.
pub const TOKEN_HEADER: &str = "x-mcp-auth-token";

/// The body of every 401.
pub const UNAUTHORIZED_BODY: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Unauthorized: invalid or missing authentication token"}}"#;

/// The accepted tokens (as digests) or, with `--no-auth`, none needed.
#[derive(Clone)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
    required: bool,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The digest a configured token stands for: its own, or the one it gives as
/// `sha256:HEX` (so the process environment need not hold the token itself).
fn configured_digest(token: &str) -> [u8; 32] {
    crate::config::token_digest(token).unwrap_or_else(|| digest(token))
}

impl Tokens {
    /// Tokens from the configuration (a token or `sha256:` and its digest in hex);
    /// `required` is false only with `--no-auth`.
    pub fn new(tokens: &[String], required: bool) -> Tokens {
        Tokens {
            digests: tokens.iter().map(|t| configured_digest(t)).collect(),
            required,
        }
    }

    /// True when `presented` is one of the tokens; constant time over all of them.
    pub fn accepts(&self, presented: &str) -> bool {
        self.accepts_digest(&digest(presented))
    }

    /// True when `d` is the digest of one of the tokens; constant time over all of them.
    fn accepts_digest(&self, d: &[u8; 32]) -> bool {
        let mut ok = subtle::Choice::from(0u8);
        for known in &self.digests {
            ok |= known.ct_eq(d);
        }
        bool::from(ok)
    }

    /// Who is calling, or why the request is refused.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<String, &'static str> {
        self.identify(headers).map(|(caller, _)| caller)
    }

    /// The caller's name and [`Principal`], or why the request is refused.
    fn identify(&self, headers: &HeaderMap) -> Result<(String, Principal), &'static str> {
        let Presented { tokens, skipped } = presented_tokens(headers);
        if !self.required {
            return Ok(("anonymous".into(), Principal::ANONYMOUS));
        }
        if tokens.is_empty() {
            return Err(skipped.unwrap_or("missing token"));
        }
        // Try every presented token so a stale second header cannot mask a valid one. Each
        // is hashed once: the caller's name comes from the same digest.
        tokens
            .iter()
            .map(|t| digest(t))
            .find(|d| self.accepts_digest(d))
            .map(|d| (caller_for_digest(&d), Principal(d)))
            .ok_or("invalid token")
    }
}

/// Which token a request was accepted with: its whole SHA-256 digest (the `caller` audit
/// field shows only 8 hex digits of it), all zeros under `--no-auth`. In the request's
/// extensions on every authenticated route; MCP sessions are bound to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal([u8; 32]);

impl Principal {
    /// The one caller under `--no-auth`.
    pub const ANONYMOUS: Principal = Principal([0; 32]);
}

/// The tokens a request presents, and why a token header was passed over, if one was.
struct Presented<'a> {
    tokens: Vec<&'a str>,
    skipped: Option<&'static str>,
}

/// The tokens a request presents, from either header. A header that carries no token in a
/// form we read (`Authorization: Basic …` added by a proxy or an SSO layer, a value that is
/// not visible ASCII) is passed over rather than refusing the request: the other header may
/// carry a valid token. Without one the request is refused all the same, for that reason.
fn presented_tokens(headers: &HeaderMap) -> Presented<'_> {
    let mut out = Presented {
        tokens: Vec::new(),
        skipped: None,
    };
    for v in headers.get_all(header::AUTHORIZATION) {
        let Ok(s) = v.to_str() else {
            out.skipped.get_or_insert("malformed authorization header");
            continue;
        };
        let (scheme, rest) = s.trim().split_once(' ').unwrap_or((s.trim(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            out.skipped
                .get_or_insert("authorization scheme is not Bearer");
            continue;
        }
        let t = rest.trim();
        if !t.is_empty() {
            out.tokens.push(t);
        }
    }
    for v in headers.get_all(TOKEN_HEADER) {
        let Ok(s) = v.to_str() else {
            out.skipped
                .get_or_insert("malformed X-MCP-Auth-Token header");
            continue;
        };
        if !s.trim().is_empty() {
            out.tokens.push(s.trim());
        }
    }
    out
}

/// The 401 answer.
pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
            // The body may be unread: close, or the client's next request on this
            // connection would be read from the middle of it.
            (header::CONNECTION, HeaderValue::from_static("close")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        UNAUTHORIZED_BODY,
    )
        .into_response()
}

/// What [`require_token`] checks against: the tokens, and the failed-authentication
/// budgets of client addresses.
#[derive(Clone)]
pub struct Gate {
    pub tokens: Tokens,
    pub failures: AuthFailures,
    /// Whether `/mcp` keeps sessions (not `--stateless`). Only then is `Mcp-Session-Id`
    /// recorded as the call's `session`: a request naming a session the caller does not
    /// hold is refused before it runs anything ([`sessions`](super::sessions)), while
    /// without sessions the header names nothing the server knows, and any text a client
    /// sent would be written into the audit trail as its session.
    pub sessions: bool,
}

/// Middleware: authenticate, then attach the caller's [`CallContext`]. A request without a
/// valid token gets 401, or 429 once its address is past its failed-authentication budget
/// (see [`auth_failures`](super::auth_failures); a valid token is never held back by it).
pub async fn require_token(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    match gate.tokens.identify(req.headers()) {
        Ok((caller, principal)) => {
            req.extensions_mut().insert(principal);
            let session = req
                .headers()
                .get("mcp-session-id")
                .filter(|_| gate.sessions)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            req.extensions_mut().insert(CallContext {
                caller,
                transport: "http",
                session,
                request: None,
            });
            next.run(req).await
        }
        Err(reason) => {
            let addr = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            crate::metrics::global().auth_failure();
            match gate.failures.failed(Source::of(addr)) {
                Verdict::Unauthorized => {
                    let remote = addr.map_or_else(|| "unknown".into(), |a| a.to_string());
                    audit::auth_failed(&remote, reason);
                    unauthorized()
                }
                Verdict::Throttled(retry_after) => too_many_failures(retry_after),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::caller_for_token;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn either_header_and_any_rotated_token() {
        let t = Tokens::new(&["old-token".into(), "new-token".into()], true);
        let old = t.authenticate(&headers(&[("authorization", "Bearer old-token")]));
        assert_eq!(old, Ok(caller_for_token("old-token")));
        let new = t.authenticate(&headers(&[("x-mcp-auth-token", "new-token")]));
        assert_eq!(new, Ok(caller_for_token("new-token")));
        assert_eq!(t.authenticate(&headers(&[])), Err("missing token"));
        assert_eq!(
            t.authenticate(&headers(&[("authorization", "Bearer nope")])),
            Err("invalid token")
        );
        assert_eq!(
            t.authenticate(&headers(&[("authorization", "Basic old-token")])),
            Err("authorization scheme is not Bearer")
        );
        assert_eq!(
            t.authenticate(&headers(&[
                ("authorization", "Bearer stale"),
                ("x-mcp-auth-token", "new-token")
            ])),
            Ok(caller_for_token("new-token"))
        );
    }

    #[test]
    fn a_header_we_cannot_read_does_not_mask_a_valid_token_in_the_other() {
        let t = Tokens::new(&["good".into()], true);
        assert_eq!(
            t.authenticate(&headers(&[
                ("authorization", "Basic dXNlcjpwYXNz"),
                ("x-mcp-auth-token", "good")
            ])),
            Ok(caller_for_token("good"))
        );
        let mut h = headers(&[("authorization", "Bearer good")]);
        h.append(
            TOKEN_HEADER,
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert_eq!(t.authenticate(&h), Ok(caller_for_token("good")));
        h.remove(header::AUTHORIZATION);
        assert_eq!(t.authenticate(&h), Err("malformed X-MCP-Auth-Token header"));
        assert_eq!(
            t.authenticate(&headers(&[
                ("authorization", "Basic dXNlcjpwYXNz"),
                ("x-mcp-auth-token", "bad")
            ])),
            Err("invalid token")
        );
    }

    #[test]
    fn a_token_given_by_its_digest() {
        let hex: String = digest("rotated-token-0123456789")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let t = Tokens::new(
            &[format!("sha256:{hex}"), "plain-token-0123456789".into()],
            true,
        );
        assert!(t.accepts("rotated-token-0123456789"));
        assert!(t.accepts("plain-token-0123456789"));
        assert!(!t.accepts(&hex));
        assert!(!t.accepts(&format!("sha256:{hex}")));
        let upper = Tokens::new(&[format!("SHA256:{}", hex.to_uppercase())], true);
        assert!(upper.accepts("rotated-token-0123456789"));
        // The caller is named by the same digest either way.
        let bearer = headers(&[("authorization", "Bearer rotated-token-0123456789")]);
        assert_eq!(
            t.authenticate(&bearer).unwrap(),
            format!("token:{}", &hex[..8])
        );
    }

    #[test]
    fn no_auth_is_anonymous() {
        let t = Tokens::new(&[], false);
        assert_eq!(t.authenticate(&headers(&[])), Ok("anonymous".into()));
    }
}
