"""Checkout call sites found in Python sources.

Builds on :mod:`blastpay.scanner.resolve`: session-creating calls (direct and
through wrappers, with the chain), ``expires_at`` arguments, session URLs
flowing into emails, templates and responses, webhook handlers, and tests.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from blastpay.scanner.calls import call_args, call_name, make_site, source_text
from blastpay.scanner.expiry import ExpiryClassifier
from blastpay.scanner.inventory import EXPIRES_AT, SESSION_CREATE, TEST, URL_FLOW, Site, SkippedFile
from blastpay.scanner.resolve import Analysis, direct_creator
from blastpay.scanner.scopes import Scope
from blastpay.scanner.walk import SourceFile
from blastpay.scanner.webhooks import event_literal, webhook_sites

SINK_WORDS = ("send", "email", "mail", "render", "template", "notify", "response", "redirect")


def session_sites(a: Analysis) -> tuple[list[Site], list[Site]]:
    creates: list[Site] = []
    expiries: dict[tuple, Site] = {}
    classifier = ExpiryClassifier(a)

    def add_expiry(scope: Scope, value: ast.expr, via: str) -> None:
        detail = {"source": source_text(value), "argument_of": via}
        detail.update(classifier.classify(value, scope))
        site = make_site(EXPIRES_AT, scope, value.lineno, detail)
        expiries.setdefault(site.key(), site)

    for scope in a.scope_list:
        if scope.module.is_test:
            continue
        for call, q in scope.calls:
            chain = a.creator_chain(q)
            if chain is None:
                continue
            detail = {"calls": chain[0], "chain": chain, "via_wrapper": len(chain) > 1}
            if scope.is_route:
                detail["route"] = scope.route
            creates.append(make_site(SESSION_CREATE, scope, call.lineno, detail))
            for kw in call.keywords:
                if kw.arg == "expires_at":
                    add_expiry(scope, kw.value, chain[0])
            for arg in call_args(call):
                candidates = [arg]
                if isinstance(arg, ast.Name):
                    candidates += [v for v in scope.locals.get(arg.id, []) if isinstance(v, ast.Dict)]
                for d in candidates:
                    if isinstance(d, ast.Dict):
                        for k, v in zip(d.keys, d.values):
                            if isinstance(k, ast.Constant) and k.value == "expires_at":
                                add_expiry(scope, v, chain[0])
        if scope.qname in a.creators:
            for target, value in scope.assigns:
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) and target.slice.value == "expires_at":
                    add_expiry(scope, value, a.creators[scope.qname][0])
    return creates, list(expiries.values())


def url_flow_sites(a: Analysis) -> list[Site]:
    sites: dict[tuple, Site] = {}
    for scope in a.scope_list:
        if scope.module.is_test or not a.may_hold_urls(scope):
            continue
        calls = {id(c): q for c, q in scope.calls}
        env = a.scope_env(scope, calls)
        for node in scope.nodes:
            if isinstance(node, ast.Call):
                name = call_name(node)
                lower = name.lower()
                if not any(w in lower for w in SINK_WORDS) or a.creator_chain(calls.get(id(node))):
                    continue
                for arg in call_args(node):
                    if a.kind_of(arg, scope, env, calls) != "url":
                        continue
                    keys = a.url_keys(arg, scope, env, calls)
                    for kw in node.keywords:
                        if kw.arg and kw.value is arg:
                            keys.add(kw.arg)
                    if any(w in lower for w in ("render", "template", "mail", "send", "notify")):
                        a.template_vars.update(keys)
                    sink = "redirect" if "redirect" in lower else "response" if "response" in lower and "template" not in lower else "passed to"
                    site = make_site(URL_FLOW, scope, node.lineno, {
                        "sink": f"{sink} {name}()", "source": source_text(arg), "keys": sorted(keys)})
                    sites.setdefault(site.key(), site)
                    break
            elif isinstance(node, ast.Return) and scope.is_route and node.value is not None:
                if a.kind_of(node.value, scope, env, calls) == "url":
                    site = make_site(URL_FLOW, scope, node.lineno, {
                        "sink": f"returned from route handler {scope.route}".strip(), "source": source_text(node.value),
                        "keys": sorted(a.url_keys(node.value, scope, env, calls))})
                    sites.setdefault(site.key(), site)
    return list(sites.values())


URL_NAME_HINTS = ("checkout_url", "session_url", "payment_url", "pay_url", "payment_link", "checkout_link")


def sites_in_tests(a: Analysis, handler_qnames: set[str]) -> list[Site]:
    interesting = set(a.creators) | set(a.returns) | handler_qnames
    sites = []
    for scope in a.scope_list:
        if not scope.module.is_test or not scope.is_function:
            continue
        name = scope.qualname.rsplit(".", 1)[-1]
        if not name.startswith("test"):
            continue
        refs: set[str] = set()
        inner_attrs = {id(n.value) for n in scope.nodes if isinstance(n, ast.Attribute)}
        for node in scope.nodes:
            if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in inner_attrs:
                q = a.resolve(node, scope)
                if q in interesting:
                    refs.add(f"uses {q}")
                elif direct_creator(q):
                    refs.add(f"uses {direct_creator(q)}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                v = node.value
                if event_literal(node):
                    refs.add(f"uses event {v}")
                elif direct_creator(v) or v in interesting or a.canonical(v) in interesting:
                    refs.add(f"patches {v}")
            if isinstance(node, ast.Assert) or (isinstance(node, ast.Call) and call_name(node).startswith("assert")):
                for inner in ast.walk(node):
                    ident = (inner.id if isinstance(inner, ast.Name) else inner.attr if isinstance(inner, ast.Attribute)
                             else inner.value if isinstance(inner, ast.Constant) and isinstance(inner.value, str)
                             else inner.arg if isinstance(inner, ast.keyword) else None)
                    if not ident:
                        continue
                    if ident == "expires_at":
                        refs.add("asserts expires_at")
                    elif ident == "url" or any(h in ident for h in URL_NAME_HINTS) or ident in a.url_attrs:
                        refs.add("asserts session URL")
        if refs:
            sites.append(make_site(TEST, scope, scope.node.lineno, {"references": sorted(refs)}))
    return sites


@dataclass
class PythonScan:
    sites: list[Site]
    skipped: list[SkippedFile]
    template_vars: set[str]
    parsed_files: int


def scan_python(files: list[SourceFile]) -> PythonScan:
    """All Python-derived sites of a repository."""
    a = Analysis(files)
    a.find_creators()
    a.propagate_urls()
    creates, expiries = session_sites(a)
    flows = url_flow_sites(a)
    hooks = webhook_sites(a)
    hook_keys = {(h.file, h.symbol) for h in hooks}
    handler_qnames = {q for q, sc in a.scopes.items() if (sc.module.path, sc.qualname) in hook_keys}
    tests = sites_in_tests(a, handler_qnames)
    return PythonScan(creates + expiries + flows + hooks + tests, a.skipped, a.template_vars | set(URL_NAME_HINTS), len(a.modules))
