//! The outer skin: how MCP messages reach [`crate::mcp::CommanderServer`].

pub mod stdio;
