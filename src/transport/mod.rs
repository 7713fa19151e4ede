//! The outer skin: how MCP messages reach [`crate::mcp::CommanderServer`].

pub mod http;
pub mod stdio;
