"""Name resolution over a repository's Python files, using the ``ast`` module.

Every call is resolved to a qualified name (imports, aliases, module globals,
``self`` attributes including base classes, annotated parameters, return values
of repository functions). Calls that create a Stripe Checkout Session are
recognised, every repository function that reaches one is promoted to a
"creator" (transitively, shortest chain kept), and session / session-URL values
are tracked through assignments, return values and stored attributes.
"""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from blastpay.scanner.calls import call_args, call_name
from blastpay.scanner.inventory import SkippedFile
from blastpay.scanner.scopes import ClassInfo, Module, Scope, defs_in, module_names, scope_nodes
from blastpay.scanner.walk import SourceFile

MAX_DEPTH = 30
LEGACY_SESSION_CLASSES = (("stripe", "checkout", "Session"), ("stripe", "checkout", "session", "Session"))
CLIENT_SESSION_SERVICES = (("v1", "checkout", "sessions"), ("checkout", "sessions"))
CREATE_METHODS = ("create", "create_async")
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"})
EVENT_PREFIX = "checkout.session."


def direct_creator(qualified: str | None) -> str | None:
    """Normalised Stripe name if ``qualified`` is a Checkout Session create call, else None."""
    if not qualified or not qualified.startswith("stripe"):
        return None
    parts = [p for p in qualified.split(".") if not p.startswith("_")]
    if len(parts) < 3 or parts[0] != "stripe" or parts[-1] not in CREATE_METHODS:
        return None
    owner = tuple(parts[:-1])
    if owner in LEGACY_SESSION_CLASSES:
        return "stripe.checkout.Session." + parts[-1]
    if "StripeClient()" in parts:
        rest = tuple(parts[parts.index("StripeClient()") + 1:-1])
        if rest in CLIENT_SESSION_SERVICES:
            return "StripeClient." + ".".join(rest) + "." + parts[-1]
    return None


def is_test_path(path: str) -> bool:
    p = PurePosixPath(path)
    if any(part in ("tests", "test", "testing") for part in p.parts[:-1]):
        return True
    return p.name.startswith("test_") or p.name.endswith("_test.py") or p.name == "conftest.py"


# --------------------------------------------------------------------------- analysis


class Analysis:
    def __init__(self, files: list[SourceFile]):
        self.skipped: list[SkippedFile] = []
        self.modules: list[Module] = []
        self.module_by_name: dict[str, Module] = {}
        self.scopes: dict[str, Scope] = {}
        self.scope_list: list[Scope] = []
        self.classes: dict[str, ClassInfo] = {}
        self._return_types: dict[str, str | None] = {}
        self._name_cache: dict[tuple, str | None] = {}
        self.creators: dict[str, list[str]] = {}
        self.returns: dict[str, str] = {}
        self.url_attrs: set[str] = set()
        self.template_vars: set[str] = set()
        self._parse(files)
        for module in self.modules:
            self._index(module)
        for scope in self.scope_list:
            self._collect(scope)
        for scope in self.scope_list:
            scope.calls = [(n, self.resolve(n.func, scope)) for n in scope.nodes if isinstance(n, ast.Call)]
            scope.call_targets = {q for _, q in scope.calls if q}

    # ---- parsing and indexing

    def _parse(self, files: list[SourceFile]) -> None:
        python = [f for f in files if f.kind == "python"]
        package_dirs = {PurePosixPath(f.path).parent.as_posix() for f in python if PurePosixPath(f.path).name == "__init__.py"}
        for f in python:
            try:
                tree = ast.parse(f.text, filename=f.path)
            except SyntaxError as exc:
                self.skipped.append(SkippedFile(f.path, f"Python syntax error at line {exc.lineno}: {exc.msg}"))
                continue
            except RecursionError:
                self.skipped.append(SkippedFile(f.path, "Python file too deeply nested to parse"))
                continue
            except (ValueError, MemoryError) as exc:
                self.skipped.append(SkippedFile(f.path, f"Python file cannot be parsed ({type(exc).__name__})"))
                continue
            name, names, is_package = module_names(f.path, package_dirs)
            module = Module(f.path, name, names, is_package, tree, is_test_path(f.path))
            self.modules.append(module)
            for n in names:
                self.module_by_name.setdefault(n, module)

    def _package_of(self, module: Module, level: int) -> list[str]:
        parts = module.name.split(".")
        if not module.is_package:
            parts = parts[:-1]
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        return parts

    def _index(self, module: Module) -> None:
        top = Scope(f"{module.name}.<module>", "<module>", module, module.tree, module.tree.body)
        module.scope = top
        self._add_scope(top)
        for stmt in defs_in(module.tree.body):
            module.defs.setdefault(stmt.name, f"{module.name}.{stmt.name}")
        self._index_defs(module, module.tree.body, prefix="", parent=top, cls=None)

    def _index_defs(self, module: Module, body: list[ast.stmt], prefix: str, parent: Scope, cls: ClassInfo | None) -> None:
        for stmt in defs_in(body):
            if isinstance(stmt, ast.ClassDef):
                info = ClassInfo(f"{module.name}.{prefix}{stmt.name}", module, stmt, bases=list(stmt.bases))
                self.classes[info.qname] = info
                for item in stmt.body:
                    if isinstance(item, ast.Assign):
                        for t in item.targets:
                            if isinstance(t, ast.Name):
                                info.attrs.setdefault(t.id, []).append((item.value, parent))
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value is not None:
                        info.attrs.setdefault(item.target.id, []).append((item.value, parent))
                for item in defs_in(stmt.body):
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        info.methods[item.name] = f"{info.qname}.{item.name}"
                self._index_defs(module, stmt.body, f"{prefix}{stmt.name}.", parent, info)
            else:
                qualname = f"{prefix}{stmt.name}"
                scope = Scope(f"{module.name}.{qualname}", qualname, module, stmt, stmt.body, cls=cls, parent=parent)
                self._setup_params(scope, stmt)
                self._add_scope(scope)
                self._index_defs(module, stmt.body, f"{qualname}.", scope, None)

    def _setup_params(self, scope: Scope, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
        for a in args:
            scope.params[a.arg] = a.annotation
        if node.args.vararg:
            scope.params[node.args.vararg.arg] = None
        if node.args.kwarg:
            scope.params[node.args.kwarg.arg] = None
        if scope.cls is not None and args and not static:
            scope.self_name = args[0].arg
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr in ROUTE_DECORATORS:
                scope.is_route = True
                path = deco.args[0].value if deco.args and isinstance(deco.args[0], ast.Constant) else ""
                scope.route = f"{deco.func.attr.upper()} {path}".strip()

    def _add_scope(self, scope: Scope) -> None:
        self.scopes[scope.qname] = scope
        self.scope_list.append(scope)

    def _add_import(self, module: Module, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    module.imports.setdefault(alias.asname, alias.name)
                else:
                    top = alias.name.split(".")[0]
                    module.imports.setdefault(top, top)
            return
        base = node.module.split(".") if node.module else []
        if node.level:
            base = self._package_of(module, node.level) + base
        for alias in node.names:
            if alias.name != "*":
                module.imports.setdefault(alias.asname or alias.name, ".".join(base + [alias.name]))

    def _collect(self, scope: Scope) -> None:
        scope.nodes = scope_nodes(scope.body)
        module = scope.module
        attr_names, name_ids = scope.attr_names, scope.name_ids
        for node in scope.nodes:
            t = type(node)
            if t is ast.Name:
                name_ids.add(node.id)
                continue
            if t is ast.Attribute:
                attr_names.add(node.attr)
                continue
            if t is ast.Constant:
                if type(node.value) is str and node.value.startswith(EVENT_PREFIX):
                    scope.has_event_literal = True
                continue
            if t is ast.Call or t is ast.keyword or t is ast.arguments or t is ast.arg or t is ast.Expr:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._add_import(module, node)
                continue
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets, value = [node.target], node.value
            elif isinstance(node, ast.NamedExpr):
                targets, value = [node.target], node.value
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        scope.assigns.append((item.optional_vars, item.context_expr))
                        if isinstance(item.optional_vars, ast.Name):
                            scope.locals.setdefault(item.optional_vars.id, []).append(item.context_expr)
                continue
            if value is None:
                continue
            for target in targets:
                scope.assigns.append((target, value))
                if isinstance(target, ast.Name):
                    scope.locals.setdefault(target.id, []).append(value)
                    if not scope.is_function:
                        module.globals.setdefault(target.id, []).append(value)
                elif (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                      and scope.cls is not None and target.value.id == scope.self_name):
                    scope.cls.attrs.setdefault(target.attr, []).append((value, scope))

    # ---- name resolution

    def canonical(self, dotted: str, depth: int = 0) -> str:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            module = self.module_by_name.get(".".join(parts[:i]))
            if module is None:
                continue
            rest = parts[i:]
            if not rest:
                return module.name
            first = rest[0]
            if first in module.defs:
                return ".".join([module.defs[first]] + rest[1:])
            if first in module.imports and depth < MAX_DEPTH and module.imports[first] != dotted:
                return ".".join([self.canonical(module.imports[first], depth + 1)] + rest[1:])
            return ".".join([module.name] + rest)
        return dotted

    def _module_global(self, qualified: str) -> tuple[Module, str] | None:
        head, _, name = qualified.rpartition(".")
        module = self.module_by_name.get(head)
        if module is not None and module.name == head and name in module.globals and name not in module.defs:
            return module, name
        return None

    def resolve(self, expr: ast.AST | None, scope: Scope, depth: int = 0) -> str | None:
        """Qualified name of what ``expr`` denotes; ``X()`` means an instance of X."""
        if expr is None or depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name):
            return self._resolve_name(expr.id, scope, depth)
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value, scope, depth + 1)
            return None if base is None else self._resolve_attr(base, expr.attr, depth)
        if isinstance(expr, ast.Call):
            func = self.resolve(expr.func, scope, depth + 1)
            return None if func is None else self._call_result(func, depth)
        if isinstance(expr, ast.Await):
            return self.resolve(expr.value, scope, depth + 1)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):  # "X | None" annotations
            return self.resolve(expr.left, scope, depth + 1) or self.resolve(expr.right, scope, depth + 1)
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id == "Optional":
            return self.resolve(expr.slice, scope, depth + 1)
        return None

    def _resolve_name(self, name: str, scope: Scope, depth: int) -> str | None:
        """Memoised per (scope, name); a name met again while being resolved (a cycle) is unknown."""
        key = (id(scope), name)
        if key in self._name_cache:
            return self._name_cache[key]
        self._name_cache[key] = None
        result = self._resolve_name_uncached(name, scope, depth)
        self._name_cache[key] = result
        return result

    def _resolve_name_uncached(self, name: str, scope: Scope, depth: int) -> str | None:
        s: Scope | None = scope
        while s is not None and s.is_function:
            if name == s.self_name and s.cls is not None:
                is_cls = any(isinstance(d, ast.Name) and d.id == "classmethod" for d in s.node.decorator_list)
                return s.cls.qname if is_cls else s.cls.qname + "()"
            if name in s.locals:
                for value in s.locals[name]:
                    r = self.resolve(value, s, depth + 1)
                    if r:
                        return r
                return None
            if name in s.params:
                annotation = s.params[name]
                if annotation is None:
                    return None
                t = self.resolve(annotation, s, depth + 1)
                return t + "()" if t else None
            s = s.parent
        return self._resolve_global(scope.module, name, depth)

    def _resolve_global(self, module: Module, name: str, depth: int) -> str | None:
        key = (id(module), "global", name)
        if key in self._name_cache:
            return self._name_cache[key]
        self._name_cache[key] = None
        result = self._resolve_global_uncached(module, name, depth)
        self._name_cache[key] = result
        return result

    def _resolve_global_uncached(self, module: Module, name: str, depth: int) -> str | None:
        if name in module.defs:
            return module.defs[name]
        if name in module.globals and module.scope is not None:
            for value in module.globals[name]:
                r = self.resolve(value, module.scope, depth + 1)
                if r:
                    return r
            return None
        if name in module.imports:
            return self._deref(self.canonical(module.imports[name]), depth)
        return None

    def _deref(self, qualified: str, depth: int) -> str | None:
        found = self._module_global(qualified)
        if found is not None and depth < MAX_DEPTH:
            return self._resolve_global(found[0], found[1], depth + 1)
        return qualified

    def _class_chain(self, cls: ClassInfo) -> list[ClassInfo]:
        """The class followed by its repository base classes, depth first, each once."""
        out: list[ClassInfo] = []
        stack = [cls]
        while stack and len(out) < 20:
            c = stack.pop(0)
            if c in out:
                continue
            out.append(c)
            for base in c.bases:
                q = self.resolve(base, c.module.scope) if c.module.scope else None
                if q in self.classes:
                    stack.append(self.classes[q])
        return out

    def _find_method(self, cls: ClassInfo, attr: str) -> str | None:
        for c in self._class_chain(cls):
            if attr in c.methods:
                return c.methods[attr]
        return None

    def _resolve_attr(self, base: str, attr: str, depth: int) -> str | None:
        if base.endswith("()") and base[:-2] in self.classes:
            cls = self.classes[base[:-2]]
            method = self._find_method(cls, attr)
            if method:
                return method
            key = (id(cls), "attr", attr)
            if key not in self._name_cache:
                self._name_cache[key] = None
                found = None
                for c in self._class_chain(cls):
                    for value, scope in c.attrs.get(attr, []):
                        found = self.resolve(value, scope, depth + 1)
                        if found:
                            break
                    if found:
                        break
                self._name_cache[key] = found
            return self._name_cache[key] or f"{base}.{attr}"
        if base in self.classes:
            method = self._find_method(self.classes[base], attr)
            if method:
                return method
        if base in self.module_by_name and self.module_by_name[base].name == base:
            return self._deref(self.canonical(f"{base}.{attr}"), depth + 1)
        return f"{base}.{attr}"

    def _call_result(self, func: str, depth: int) -> str | None:
        if func in self.classes:
            return func + "()"
        if func in self.scopes:
            return self._return_type(func, depth)
        last = func.rsplit(".", 1)[-1]
        if last[:1].isupper() and not last.endswith("()"):
            return func + "()"
        return None

    def _return_type(self, qname: str, depth: int) -> str | None:
        if qname in self._return_types:
            return self._return_types[qname]
        self._return_types[qname] = None  # recursion guard
        scope = self.scopes[qname]
        result = None
        for node in scope.nodes:
            if isinstance(node, ast.Return) and node.value is not None:
                result = self.resolve(node.value, scope, depth + 1)
                if result:
                    break
        self._return_types[qname] = result
        return result

    # ---- creators

    def find_creators(self) -> None:
        chains: dict[str, list[str]] = {}
        for scope in self.scope_list:
            if scope.is_function and not scope.module.is_test:
                for _, q in scope.calls:
                    d = direct_creator(q)
                    if d and (scope.qname not in chains or len(chains[scope.qname]) > 1):
                        chains[scope.qname] = [d]
        changed = True
        while changed:
            changed = False
            for scope in self.scope_list:
                if not scope.is_function or scope.module.is_test:
                    continue
                best = chains.get(scope.qname)
                for _, q in scope.calls:
                    if q in chains and q != scope.qname:
                        candidate = [q] + chains[q]
                        if scope.qname in candidate:
                            continue
                        if best is None or (len(candidate), candidate) < (len(best), best):
                            best = candidate
                if best is not None and chains.get(scope.qname) != best:
                    chains[scope.qname] = best
                    changed = True
        self.creators = chains

    def creator_chain(self, q: str | None) -> list[str] | None:
        d = direct_creator(q)
        if d:
            return [d]
        if q in self.creators:
            return [q] + self.creators[q]
        return None

    # ---- value kinds (session / url) for URL flow

    def kind_of(self, expr: ast.AST | None, scope: Scope, env: dict[str, str], calls: dict[int, str | None], depth: int = 0) -> str | None:
        if expr is None or depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Call):
            q = calls.get(id(expr), None) if id(expr) in calls else self.resolve(expr.func, scope)
            if direct_creator(q):
                return "session"
            if q in self.returns:
                return self.returns[q]
            name = call_name(expr)
            if name in ("dict", "str", "format", "urljoin", "quote", "join"):
                if any(self.kind_of(a, scope, env, calls, depth + 1) == "url" for a in call_args(expr)):
                    return "url"
            if isinstance(expr.func, ast.Attribute) and expr.func.attr in ("format", "join"):
                if self.kind_of(expr.func.value, scope, env, calls, depth + 1) == "url":
                    return "url"
            return None
        if isinstance(expr, ast.Attribute):
            if expr.attr == "url" and self.kind_of(expr.value, scope, env, calls, depth + 1) == "session":
                return "url"
            if expr.attr in self.url_attrs:
                return "url"
            return None
        if isinstance(expr, ast.Subscript):
            key = expr.slice.value if isinstance(expr.slice, ast.Constant) else None
            base = self.kind_of(expr.value, scope, env, calls, depth + 1)
            if key == "url" and base == "session":
                return "url"
            if base == "url" and isinstance(key, str):
                return "url"
            return None
        if isinstance(expr, ast.Name):
            return env.get(expr.id)
        if isinstance(expr, ast.Await):
            return self.kind_of(expr.value, scope, env, calls, depth + 1)
        if isinstance(expr, ast.Dict):
            values = [v for v in expr.values if v is not None] + [k for k, _ in zip(expr.keys, expr.values) if k is None]
            return "url" if any(self.kind_of(v, scope, env, calls, depth + 1) == "url" for v in values) else None
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set, ast.JoinedStr, ast.FormattedValue, ast.BinOp, ast.IfExp, ast.Starred, ast.BoolOp)):
            for child in ast.iter_child_nodes(expr):
                if isinstance(child, ast.expr) and self.kind_of(child, scope, env, calls, depth + 1) == "url":
                    return "url"
        return None

    def may_hold_urls(self, scope: Scope) -> bool:
        """False when no value in the scope can be a session or session URL (nothing to track)."""
        if scope.attr_names & self.url_attrs:
            return True
        return any(q in self.returns or direct_creator(q) for q in scope.call_targets)

    def scope_env(self, scope: Scope, calls: dict[int, str | None]) -> dict[str, str]:
        env: dict[str, str] = {}
        for _ in range(2):
            for target, value in scope.assigns:
                kind = self.kind_of(value, scope, env, calls)
                if kind is None:
                    continue
                if isinstance(target, ast.Name):
                    env[target.id] = kind
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and kind == "url":
                    env[target.value.id] = "url"
                elif isinstance(target, ast.Attribute) and kind == "url" and target.attr != "url":
                    self.url_attrs.add(target.attr)
        return env

    def propagate_urls(self) -> None:
        for _ in range(12):
            before = (dict(self.returns), set(self.url_attrs))
            for scope in self.scope_list:
                if scope.module.is_test or not self.may_hold_urls(scope):
                    continue
                calls = {id(c): q for c, q in scope.calls}
                env = self.scope_env(scope, calls)
                if not scope.is_function:
                    continue
                kinds = {self.kind_of(n.value, scope, env, calls) for n in scope.nodes if isinstance(n, ast.Return)}
                kind = "url" if "url" in kinds else "session" if "session" in kinds else None
                if kind and self.returns.get(scope.qname) != kind:
                    self.returns[scope.qname] = kind
            if (self.returns, self.url_attrs) == before:
                break

    def url_keys(self, expr: ast.AST, scope: Scope, env: dict[str, str], calls: dict[int, str | None]) -> set[str]:
        keys: set[str] = set()
        dicts: list[ast.Dict] = []
        if isinstance(expr, ast.Dict):
            dicts.append(expr)
        elif isinstance(expr, ast.Name):
            dicts += [v for v in scope.locals.get(expr.id, []) if isinstance(v, ast.Dict)]
            for target, value in scope.assigns:
                if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == expr.id
                        and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)
                        and self.kind_of(value, scope, env, calls) == "url"):
                    keys.add(target.slice.value)
        for d in dicts:
            for k, v in zip(d.keys, d.values):
                if isinstance(k, ast.Constant) and isinstance(k.value, str) and self.kind_of(v, scope, env, calls) == "url":
                    keys.add(k.value)
        return keys
