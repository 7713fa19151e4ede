"""A small CloudWatch Logs Insights evaluator for the queries ECS.md documents, and the
metric filter patterns of the CloudFormation template, run over real log lines of the
server. It implements only the part of the language the docs use (and refuses anything
else, so a query the evaluator cannot read fails the test instead of passing untested):

    # comment
    fields a, b
    filter @message like /regex/ | filter f = "x" | filter f != 0 and g = "y"
    stats count() [as name] by f1, f2
    sort f|name asc|desc
    limit N

Log events are what the awslogs driver makes of stderr lines: `@message` is the raw line,
`@timestamp` the time, and JSON lines have their top-level keys as discovered fields.
"""

import json
import re

from deploy_common import Block

BUILTIN = {"@message", "@timestamp", "@logStream", "@log"}


class Query:
    def __init__(self, text, where="query"):
        self.where = where
        self.text = text
        self.comment = " ".join(l.strip()[1:].strip() for l in text.splitlines() if l.strip().startswith("#"))
        body = " ".join(l for l in text.splitlines() if l.strip() and not l.strip().startswith("#"))
        self.commands = [c.strip() for c in _split_pipes(body) if c.strip()]
        if not self.commands:
            raise AssertionError(f"{where}: empty query")
        self.fields, self.filters, self.stats, self.sort, self.limit = [], [], None, None, None
        for c in self.commands:
            word, _, rest = c.partition(" ")
            if word == "fields":
                self.fields += [f.strip() for f in rest.split(",")]
            elif word == "filter":
                self.filters.append(_parse_filter(rest, where))
            elif word == "stats":
                m = re.fullmatch(r"count\(\)(?:\s+as\s+(\w+))?(?:\s+by\s+(.+))?", rest.strip())
                if not m:
                    raise AssertionError(f"{where}: unsupported stats {rest!r}")
                self.stats = (m.group(1) or "count()", [f.strip() for f in (m.group(2) or "").split(",") if f.strip()])
            elif word == "sort":
                m = re.fullmatch(r"(\S+(?:\(\))?)\s*(asc|desc)?", rest.strip())
                if not m:
                    raise AssertionError(f"{where}: unsupported sort {rest!r}")
                self.sort = (m.group(1), m.group(2) or "asc")
            elif word == "limit":
                self.limit = int(rest)
            else:
                raise AssertionError(f"{where}: unsupported command {word!r} in {c!r}")

    def event(self):
        """The event a query is for, from its `# … (EVENT)` comment."""
        m = re.search(r"\(([A-Z_]+)\)\s*$", self.comment)
        if not m:
            raise AssertionError(f"{self.where}: the comment must name the event: '# what it finds (EVENT)'")
        return m.group(1)

    def field_names(self):
        """Fields the query reads (not stats aliases or builtins)."""
        names = [f for f in self.fields]
        for clauses in self.filters:
            names += [c[0] for c in clauses]
        if self.stats:
            names += self.stats[1]
        if self.sort and (not self.stats or self.sort[0] not in (self.stats[0],)):
            names.append(self.sort[0])
        return [n for n in names if n not in BUILTIN]

    def matches(self, rec):
        return all(all(_test(rec, c) for c in clauses) for clauses in self.filters)

    def run(self, records):
        rows = [r for r in records if self.matches(r)]
        if self.stats:
            name, by = self.stats
            groups = {}
            for r in rows:
                key = tuple(r.get(b) for b in by)
                groups[key] = groups.get(key, 0) + 1
            rows = [dict(zip(by, k), **{name: n}) for k, n in groups.items()]
        if self.sort:
            key, order = self.sort
            rows.sort(key=lambda r: (r.get(key) is None, str(r.get(key)) if not isinstance(r.get(key), int) else r.get(key)),
                      reverse=order == "desc")
        if self.limit is not None:
            rows = rows[: self.limit]
        return rows


def _split_pipes(body):
    out, cur, in_re, in_str = [], "", False, False
    for ch in body:
        if ch == "/" and not in_str:
            in_re = not in_re
        elif ch == '"' and not in_re:
            in_str = not in_str
        if ch == "|" and not in_re and not in_str:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


CLAUSE = re.compile(r'^\s*(@?\w+)\s+(like|=|!=)\s+(/(?:[^/\\]|\\.)*/|"[^"]*"|-?\d+)\s*$')


def _parse_filter(text, where):
    if " or " in text or "(" in text:
        raise AssertionError(f"{where}: unsupported filter {text!r}")
    clauses = []
    for part in re.split(r"\s+and\s+", text):
        m = CLAUSE.match(part)
        if not m:
            raise AssertionError(f"{where}: unsupported filter clause {part!r}")
        field, op, value = m.groups()
        if op == "like":
            if not value.startswith("/"):
                raise AssertionError(f"{where}: like needs /regex/")
            value = re.compile(value[1:-1])
        elif value.startswith('"'):
            value = value[1:-1]
        else:
            value = int(value)
        clauses.append((field, op, value))
    return clauses


def _test(rec, clause):
    field, op, value = clause
    v = rec.get(field)
    if op == "like":
        return v is not None and value.search(str(v)) is not None
    if v is None:
        return False
    if isinstance(value, int) and isinstance(v, bool):
        v = int(v)
    eq = v == value if not isinstance(value, int) else (isinstance(v, (int, float)) and v == value)
    return eq if op == "=" else not eq


def records(lines):
    """Log events from stderr lines: @message always; JSON fields when the line is JSON."""
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        rec = {"@message": line, "@timestamp": i}
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            for k, v in obj.items():
                rec.setdefault(k, v)
        out.append(rec)
    return out


def doc_queries(path):
    """The ```logs-insights blocks of a markdown file, parsed."""
    from deploy_common import code_blocks

    return [Query(b.text, b.where()) for b in code_blocks(path) if b.lang == "logs-insights"]


def verify(query, recs, events_present):
    """Checks one documented query against real log events.

    A query whose only filter is `@message like /…/` or `event = "…"` must return exactly
    the events it names; one with more conditions must return a non-empty subset of them;
    every field it reads must exist on those events; a stats query's counts add up to the
    matching events."""
    ev = query.event()
    if ev not in events_present:
        return False
    wanted = [r for r in recs if r.get("event") == ev]
    assert wanted, f"{query.where}: the log sample has no {ev} events"
    for name in query.field_names():
        missing = [r["@message"] for r in wanted if name not in r]
        assert not missing, f"{query.where}: field {name!r} is not on {ev} lines, e.g. {missing[0]}"
    matched = [r for r in recs if query.matches(r)]
    simple = len(query.filters) == 1 and len(query.filters[0]) == 1
    if simple:
        extra = [r["@message"] for r in matched if r.get("event") != ev and query.matches(fixed_text(r))]
        lost = [r["@message"] for r in wanted if r not in matched]
        assert not extra, f"{query.where}: also matches other lines:\n" + "\n".join(extra)
        assert not lost, f"{query.where}: misses {ev} lines:\n" + "\n".join(lost)
    else:
        assert matched, f"{query.where}: matched nothing in\n" + "\n".join(r["@message"] for r in wanted)
        assert all(r.get("event") == ev for r in matched), f"{query.where}: matched other events"
    rows = query.run(recs)
    assert rows, f"{query.where}: no result rows"
    if query.stats:
        name = query.stats[0]
        assert sum(r[name] for r in rows) == len(matched)
    return True


# Values that change from line to line; what remains of a line is its fixed text, the part
# CONTRACT §8 promises never contains CMD_EXEC, blocked or 401 except on those events.
VARIABLE = {"timestamp", "remote_addr", "session", "request", "caller", "command", "workdir", "duration", "version"}


def fixed_text(rec):
    """The event with variable values blanked (numbers to 0, ids/times/commands to "")."""

    def mask(key, v):
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            return 0
        if isinstance(v, str):
            return "" if key in VARIABLE else v
        if isinstance(v, list):
            return [mask(key, x) for x in v]
        if isinstance(v, dict):
            return {k: mask(k, x) for k, x in v.items()}
        return v

    try:
        obj = json.loads(rec["@message"])
    except json.JSONDecodeError:
        return {"@message": re.sub(r"\d", "0", rec["@message"])}
    masked = mask("", obj)
    out = dict(masked) if isinstance(masked, dict) else {}
    out["@message"] = json.dumps(masked)
    return out


def metric_filter_matches(pattern, rec):
    """CloudWatch JSON metric filter `{ $.field = "value" }` on one event."""
    m = re.fullmatch(r'\{\s*\$\.(\w+)\s*=\s*"([^"]*)"\s*\}', pattern)
    assert m, f"unsupported metric filter pattern {pattern!r}"
    try:
        obj = json.loads(rec["@message"])
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and obj.get(m.group(1)) == m.group(2)


__all__ = ["Block", "Query", "doc_queries", "metric_filter_matches", "records", "verify"]
