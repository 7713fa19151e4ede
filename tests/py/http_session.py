"""The official MCP Python SDK against mcp-commander over Streamable HTTP.

usage: http_session.py URL[,URL2] TOKEN HEADER MODE

HEADER is "bearer" (Authorization: Bearer) or "x-mcp" (X-MCP-Auth-Token); MODE is
"legacy" (the 2025 initialize handshake), "auto" (probe server/discover) or a modern
revision such as "2026-07-28" (stateless, no handshake). With two URLs the requests
alternate between them (two replicas behind a load balancer).

Runs a full tool session: list the tools, echo, a non-zero exit, a refusal, and a
dangerous command that is blocked. Prints one "ok: ..." line per step and the negotiated
protocol version; exits non-zero with the failing assertion otherwise.
"""

import asyncio
import itertools
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


class Alternating(httpx2.AsyncBaseTransport):
    """Sends each request to the next URL in turn (a round-robin load balancer)."""

    def __init__(self, urls):
        self.inner = httpx2.AsyncHTTPTransport()
        self.targets = itertools.cycle([httpx2.URL(u) for u in urls])
        self.seen = []

    async def handle_async_request(self, request):
        target = next(self.targets)
        request.url = request.url.copy_with(host=target.host, port=target.port)
        request.headers["host"] = f"{target.host}:{target.port}"
        self.seen.append(target.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self):
        await self.inner.aclose()


def payload(result):
    assert result.content, f"no content: {result}"
    text = result.content[0].text
    return text, result.structured_content


async def main():
    urls, token, header, mode = sys.argv[1].split(","), sys.argv[2], sys.argv[3], sys.argv[4]
    headers = {"Authorization": f"Bearer {token}"} if header == "bearer" else {"X-MCP-Auth-Token": token}
    http = create_mcp_http_client(headers=headers)
    balancer = None
    if len(urls) > 1:
        balancer = Alternating(urls)
        http = httpx2.AsyncClient(headers=headers, transport=balancer, timeout=httpx2.Timeout(30, read=300))
    async with http:
        transport = streamable_http_client(urls[0], http_client=http)
        async with Client(transport, mode=mode) as client:
            print(f"protocol: {client.protocol_version}")
            if mode == "legacy":
                assert client.protocol_version.startswith("2025-"), client.protocol_version
                assert client.server_info.name == "mcp-commander", client.server_info
            elif mode != "auto":
                assert client.protocol_version == mode, client.protocol_version

            tools = await client.list_tools()
            names = sorted(t.name for t in tools.tools)
            assert "execute_command" in names and "check_command" in names, names
            print(f"ok: tools {names}")

            r = await client.call_tool("execute_command", {"command": "echo hello-http"})
            text, structured = payload(r)
            assert not r.is_error, r
            assert json.loads(text)["stdout"] == "hello-http\n", text
            assert structured["exit_code"] == 0, structured
            print("ok: echo")

            r = await client.call_tool("execute_command", {"command": "echo oops >&2; exit 3"})
            text, structured = payload(r)
            assert r.is_error, r
            assert structured["exit_code"] == 3 and structured["stderr"] == "oops\n", structured
            print("ok: non-zero exit")

            r = await client.call_tool("execute_command", {"command": "rm -rf /"})
            text, _ = payload(r)
            assert r.is_error and text.startswith("Command validation failed: "), text
            print("ok: refusal")

            r = await client.call_tool("check_command", {"command": "ls -la"})
            _, structured = payload(r)
            assert structured["decision"] == "allow", structured
            print("ok: check_command")

    if balancer is not None:
        ports = set(balancer.seen)
        assert len(ports) == 2, f"requests did not alternate: {balancer.seen}"
        print(f"ok: alternated over {sorted(ports)} in {len(balancer.seen)} requests")
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
