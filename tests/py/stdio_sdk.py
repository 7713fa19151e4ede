"""End-to-end check with the official Python MCP SDK (PyPI `mcp` 2.x) over stdio.

Runs the real binary (MCP_COMMANDER_BIN) as a subprocess, once per negotiation mode:
'legacy' (the initialize handshake), 'auto' (server/discover first) and the pinned stateless
2026-07-28 revision. Exits non-zero with a message on the first failed expectation.
"""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters

BIN = os.environ["MCP_COMMANDER_BIN"]


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


async def session(mode):
    params = StdioServerParameters(
        command=BIN,
        args=["--allowed-commands", "echo,sh,false,ls"],
        env={"MCP_LOG_LEVEL": "warn", "HOME": "/nonexistent"},
    )
    async with Client(params, mode=mode, raise_exceptions=True) as client:
        tools = await client.list_tools()
        names = sorted(t.name for t in tools.tools)
        check(
            names == sorted(["execute_command", "list_allowed_commands", "list_blocked_commands", "get_shell_info", "check_command"]),
            f"{mode}: tools {names}",
        )
        ex = next(t for t in tools.tools if t.name == "execute_command")
        check(ex.output_schema is not None and "stdout" in ex.output_schema["properties"], f"{mode}: output schema")
        check(ex.annotations is not None and ex.annotations.destructive_hint is True, f"{mode}: annotations")

        r = await client.call_tool("execute_command", {"command": "echo hello"})
        check(not r.is_error, f"{mode}: echo is_error {r}")
        body = json.loads(r.content[0].text)
        check(body["stdout"] == "hello\n" and body["exit_code"] == 0, f"{mode}: echo body {body}")
        check(r.structured_content == body, f"{mode}: structuredContent equals text")

        r = await client.call_tool("execute_command", {"command": "false"})
        check(r.is_error and json.loads(r.content[0].text)["exit_code"] == 1, f"{mode}: false {r}")

        r = await client.call_tool("execute_command", {"command": "rm -rf /tmp/whatever"})
        check(r.is_error and r.content[0].text.startswith("Command validation failed: "), f"{mode}: refusal {r}")

        r = await client.call_tool("list_allowed_commands", {})
        check(r.structured_content == {"allowed_commands": ["echo", "sh", "false", "ls"], "allow_all": False}, f"{mode}: allowed {r}")

        r = await client.call_tool("check_command", {"command": "ls -la"})
        check(r.structured_content["decision"] == "allow", f"{mode}: check {r}")
    print(f"ok: stdio session in mode {mode}")


async def main():
    for mode in ["legacy", "auto", "2026-07-28"]:
        await session(mode)


asyncio.run(main())
