//! MCP sessions on `/mcp` (2025 revisions, without `--stateless`): how many may be open,
//! and who may use each.
//!
//! rmcp keeps the sessions; this module watches the requests that name one:
//!
//! * at most [`MAX_SESSIONS`] are open at once (an `initialize` past it gets 503);
//! * a session belongs to the token that opened it ([`Principal`]): a request naming a
//!   session opened under another token is answered exactly as one naming no session that
//!   exists (404), so a session id seen in a log or a proxy does not let another token
//!   holder into that conversation, and whether the id exists is not revealed. A rotated
//!   token therefore means a new session: the client initializes again;
//! * `DELETE` of a session that does not exist is 404 (rmcp accepts any id);
//! * a request with more than one `Mcp-Session-Id` header is 400 (which one it meant is
//!   unknowable).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use super::auth::Principal;
use super::rpc_error;
use crate::audit::CallContext;

/// Most MCP sessions (2025 revisions) alive at once. Each holds ~50 KB until it is deleted
/// or idle for longer than [`super::session_keep_alive`]; without a cap one token could open
/// them until the task runs out of memory. Past it, `initialize` answers 503 with
/// `Retry-After` while the sessions already open go on.
pub const MAX_SESSIONS: usize = 2048;

/// The header naming a session.
const SESSION_HEADER: &str = "mcp-session-id";

/// The session store of the stateful `/mcp` service (`None` with `--stateless`) and the
/// token each of its sessions was opened with.
#[derive(Clone)]
pub struct Sessions {
    manager: Option<Arc<LocalSessionManager>>,
    owners: Arc<Mutex<HashMap<Arc<str>, Principal>>>,
}

impl Sessions {
    /// Watches `manager`'s sessions; `None` under `--stateless`.
    pub fn new(manager: Option<Arc<LocalSessionManager>>) -> Sessions {
        Sessions {
            manager,
            owners: Arc::default(),
        }
    }

    /// True when no further session may be opened.
    pub async fn full(&self) -> bool {
        match &self.manager {
            Some(m) => m.sessions.read().await.len() >= MAX_SESSIONS,
            None => false,
        }
    }

    /// `Err` with the answer when the request (its head) may not go on to rmcp: a repeated
    /// `Mcp-Session-Id`, a session opened under another token, or a `DELETE` of a session
    /// that does not exist.
    pub async fn admit(&self, parts: &Parts) -> Result<(), Response> {
        let mut ids = parts.headers.get_all(SESSION_HEADER).iter();
        let (Some(id), None) = (ids.next(), ids.next()) else {
            return match parts.headers.contains_key(SESSION_HEADER) {
                true => Err(rpc_error(
                    StatusCode::BAD_REQUEST,
                    -32600,
                    "Bad Request: more than one Mcp-Session-Id header; send the session id once",
                )),
                false => Ok(()),
            };
        };
        let Some(manager) = &self.manager else {
            return Ok(());
        };
        // An id that is not text names no session rmcp could have made: rmcp answers it.
        let Ok(id) = id.to_str() else {
            return Ok(());
        };
        let caller = parts.extensions.get::<Principal>();
        let owner = self
            .owners
            .lock()
            .map(|o| o.get(id).copied())
            .ok()
            .flatten();
        if owner.is_none() || owner.as_ref() != caller {
            if owner.is_some() {
                foreign_session(parts, id);
            }
            return Err(session_not_found());
        }
        if parts.method == Method::DELETE {
            let open = manager.sessions.read().await.contains_key(id);
            self.forget(id);
            if !open {
                return Err(session_not_found());
            }
        }
        Ok(())
    }

    /// Notes `owner` as the owner of the session rmcp has just opened, if `answer` (to an
    /// `initialize` that named no session) names one.
    pub async fn opened(&self, owner: Principal, answer: &HeaderMap) {
        if self.manager.is_none() {
            return;
        }
        let Some(id) = answer.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) else {
            return;
        };
        let open = self.open_ids().await;
        if let Ok(mut owners) = self.owners.lock() {
            // Sessions rmcp has closed (idle past the keep-alive) leave their owner behind:
            // drop those whenever the table is as large as the sessions could be.
            if owners.len() >= MAX_SESSIONS {
                owners.retain(|k, _| open.contains(k));
            }
            owners.insert(Arc::from(id), owner);
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(id);
        }
    }

    /// The ids of the sessions rmcp has open.
    async fn open_ids(&self) -> HashSet<Arc<str>> {
        match &self.manager {
            Some(m) => m.sessions.read().await.keys().cloned().collect(),
            None => HashSet::new(),
        }
    }
}

/// rmcp's own answer for a session it does not have, as a JSON-RPC error.
fn session_not_found() -> Response {
    rpc_error(
        StatusCode::NOT_FOUND,
        -32600,
        "Not Found: Session not found",
    )
}

/// The warning for a request naming a session another token opened: the caller and the
/// address it came from, and the start of the session id (enough to find it in the trail).
fn foreign_session(parts: &Parts, id: &str) {
    let caller = parts
        .extensions
        .get::<CallContext>()
        .map(|c| c.caller.as_str())
        .unwrap_or("unknown");
    let remote = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into());
    let session: String = id.chars().take(8).collect();
    tracing::warn!(
        caller,
        remote_addr = remote.as_str(),
        session = session.as_str(),
        "SESSION refused: the request names an MCP session opened with another token; answered as an unknown session"
    );
}
