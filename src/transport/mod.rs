//! The outer skin: how MCP messages reach [`crate::mcp::CommanderServer`] — over
//! [`stdio`] from a local client, or over [`http`] from remote ones.

pub mod http;
pub mod stdio;
