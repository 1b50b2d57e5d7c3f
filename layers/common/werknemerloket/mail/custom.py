"""Mail texts as untrusted jinja2: checked when saved, compiled and rendered only in the sandbox.

An employer's text may print the variables of `TEMPLATE_VARIABLES`, choose with `{% if %}` and use
a few harmless filters, and nothing else. That is enforced on the parsed template before it is
compiled (so that no attribute access, call, loop, arithmetic or include ever reaches the compiler,
which folds constants, let alone the renderer), and again by jinja2's `ImmutableSandboxedEnvironment`
with no globals and only those filters. The standard texts obey the same rules, so an employer can
start from them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from werknemerloket.errors import InvalidInputError
from werknemerloket.mail.message import MailTemplate

TEMPLATE_VARIABLES = ("employee_name", "employer_name", "activation_url", "expires_at", "valid_days")
REQUIRED_VARIABLE = "activation_url"
MAX_SUBJECT = 200
MAX_TEXT = 20_000
# Below the employer API's 64 KiB body limit, with room for the subject, the text and JSON escaping.
MAX_HTML = 40_000
MAX_PROBLEMS = 20
# The link the test render checks for: mixed case, so that a text changing it with a filter is caught.
_PROBE_LINK = "https://werknemerloket.example/activate?token=Probe-Link_0"

_FILTERS = ("capitalize", "default", "d", "e", "escape", "lower", "title", "trim", "upper")
_TESTS = ("defined", "undefined", "none", "eq", "ne", "equalto", "==", "!=")
_COMPARISONS = frozenset({"eq", "ne", "lt", "lteq", "gt", "gteq", "in", "notin"})
# Nodes an employer's text may contain; every other node is refused with `_REFUSALS`' reason.
_ALLOWED = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.If,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.CondExpr,
    nodes.Concat,
    nodes.Keyword,
)
_REFUSALS: tuple[tuple[tuple[type[nodes.Node], ...], str], ...] = (
    ((nodes.Getattr, nodes.Getitem), "attribute and item access ('.' and '[]') are not allowed"),
    ((nodes.Call,), "calling functions or methods is not allowed"),
    ((nodes.For,), "loops ({% for %}) are not allowed"),
    ((nodes.Macro, nodes.CallBlock), "macros are not allowed"),
    ((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block), "other templates cannot be used"),
    ((nodes.Assign, nodes.AssignBlock, nodes.With), "setting variables is not allowed"),
    ((nodes.BinExpr, nodes.UnaryExpr), "arithmetic is not allowed"),
    ((nodes.List, nodes.Tuple, nodes.Dict, nodes.Slice), "lists, tuples and dictionaries are not allowed"),
    ((nodes.Scope, nodes.EvalContextModifier, nodes.ScopedEvalContextModifier), "{% autoescape %} is not allowed"),
    ((nodes.FilterBlock,), "{% filter %} blocks are not allowed"),
)


@dataclass(frozen=True)
class TemplateProblem:
    """What is wrong with one part of a text, and where, for an employer's screen to show."""

    part: str  # "subject", "text" or "html"
    issue: str
    line: int | None = None
    variable: str | None = None

    def detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"field": f"body.{self.part}", "issue": self.issue}
        if self.line is not None:
            detail["line"] = self.line
        if self.variable is not None:
            detail["variable"] = self.variable
        return detail


def template_invalid(problems: list[TemplateProblem]) -> InvalidInputError:
    first = problems[0]
    where = f"{first.part}, line {first.line}" if first.line else first.part
    more = f" ({len(problems) - 1} more in details)" if len(problems) > 1 else ""
    return InvalidInputError(
        f"The mail text cannot be used: {where}: {first.issue.rstrip('.')}{more}.",
        code="TEMPLATE_INVALID",
        details=[problem.detail() for problem in problems],
    )


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in _FILTERS}
    env.tests = {name: env.tests[name] for name in _TESTS}
    return env


# Subject and text are plain text (nothing to escape); the HTML part escapes every value it prints.
_PLAIN = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def _refusal(node: nodes.Node) -> tuple[str, str | None] | None:
    """Why `node` may not be in an employer's text (and the variable concerned), or None."""
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name not in TEMPLATE_VARIABLES:
            return f"unknown variable '{node.name}'; the variables are {', '.join(TEMPLATE_VARIABLES)}", node.name
        return None
    if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
        return f"the filter '{node.name}' is not allowed; allowed filters are {', '.join(sorted(_FILTERS))}", None
    if isinstance(node, nodes.Filter | nodes.Test) and (node.dyn_args is not None or node.dyn_kwargs is not None):
        return "'*' and '**' arguments are not allowed", None
    if isinstance(node, nodes.Test) and node.name not in _TESTS:
        return f"the test '{node.name}' is not allowed", None
    if isinstance(node, nodes.Operand) and node.op not in _COMPARISONS:
        return f"the comparison '{node.op}' is not allowed", None
    if isinstance(node, _ALLOWED):
        return None
    for kinds, reason in _REFUSALS:
        if isinstance(node, kinds):
            if isinstance(node, nodes.Getattr):
                return f"{reason} (found '.{node.attr}')", None
            return reason, None
    return f"'{type(node).__name__}' is not allowed", None


def _walk(node: nodes.Node, part: str) -> Iterator[TemplateProblem]:
    """Problems of `node` and of everything under it; a refused node's inside is not looked at."""
    refusal = _refusal(node)
    if refusal is not None:
        issue, variable = refusal
        yield TemplateProblem(part, issue, line=getattr(node, "lineno", None), variable=variable)
        return
    for child in node.iter_child_nodes():
        yield from _walk(child, part)


def _problems_of(part: str, source: str, html: bool) -> tuple[list[TemplateProblem], nodes.Template | None]:
    env = _HTML if html else _PLAIN
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as error:
        return [TemplateProblem(part, f"syntax error: {error.message}", line=error.lineno)], None
    except RecursionError:
        return [TemplateProblem(part, "the template is nested too deeply")], None
    try:
        return list(_walk(tree, part)), tree
    except RecursionError:
        return [TemplateProblem(part, "the template is nested too deeply")], None


@lru_cache(maxsize=256)
def compile_part(part: str, source: str, html: bool) -> Template:
    """The sandboxed template of one part; raises `TEMPLATE_INVALID` when the source breaks the rules.

    Cached: a collective grant renders the same text thousands of times."""
    problems, _ = _problems_of(part, source, html)
    if problems:
        raise template_invalid(problems)
    env = _HTML if html else _PLAIN
    try:
        return env.from_string(source)
    except RecursionError:
        raise template_invalid([TemplateProblem(part, "the template is nested too deeply")]) from None


def normalize(template: MailTemplate) -> MailTemplate:
    """Line ends as \\n (browsers send \\r\\n from a textarea), no blank HTML, no stray spaces in the subject."""

    def lines(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n")

    html = lines(template.html) if template.html is not None and template.html.strip() else None
    return MailTemplate(subject=template.subject.strip(), text=lines(template.text), html=html)


def _size_problems(template: MailTemplate) -> list[TemplateProblem]:
    problems = []
    if not template.subject:
        problems.append(TemplateProblem("subject", "must not be empty"))
    if any(ch in template.subject for ch in "\r\n"):
        problems.append(TemplateProblem("subject", "must be one line"))
    if len(template.subject) > MAX_SUBJECT:
        problems.append(TemplateProblem("subject", f"may hold at most {MAX_SUBJECT} characters"))
    if not template.text.strip():
        problems.append(TemplateProblem("text", "must not be empty"))
    if len(template.text) > MAX_TEXT:
        problems.append(TemplateProblem("text", f"may hold at most {MAX_TEXT} characters"))
    if template.html is not None and len(template.html) > MAX_HTML:
        problems.append(TemplateProblem("html", f"may hold at most {MAX_HTML} characters"))
    return problems


def _uses(tree: nodes.Template, variable: str) -> bool:
    return any(name.name == variable for name in tree.find_all(nodes.Name))


def validate(template: MailTemplate, sample: Mapping[str, Any]) -> MailTemplate:
    """The normalized template, or `TEMPLATE_INVALID` with every problem found and where it is.

    Checks sizes, syntax and the allowed constructs of each part, that the text (and the HTML, when
    given) carries the activation link, and renders each part once with `sample` in the sandbox."""
    template = normalize(template)
    sample = {**sample, REQUIRED_VARIABLE: _PROBE_LINK}
    problems = _size_problems(template)
    if problems:  # not worth parsing
        raise template_invalid(problems)
    parts = [("subject", template.subject, False), ("text", template.text, False)]
    if template.html is not None:
        parts.append(("html", template.html, True))
    for part, source, html in parts:
        found, tree = _problems_of(part, source, html)
        problems += found
        if tree is None or found:
            continue
        if part != "subject" and not _uses(tree, REQUIRED_VARIABLE):
            problems.append(
                TemplateProblem(
                    part,
                    "must contain {{ activation_url }}, the link with which the employee activates access",
                    variable=REQUIRED_VARIABLE,
                )
            )
            continue
        # Twice, with other values the second time, so that a link shown only for the sample's own
        # values ({% if employee_name == "..." %}) is refused too.
        problems += _test_render(part, source, html, sample) or _test_render(part, source, html, _variant(sample))
    if problems:
        raise template_invalid(problems[:MAX_PROBLEMS])
    return template


def _variant(sample: Mapping[str, Any]) -> dict[str, Any]:
    """Other values for every variable but the link."""
    return {
        name: value if name == REQUIRED_VARIABLE else value + 1 if isinstance(value, int) else f"{value} (2)"
        for name, value in sample.items()
    }


def _test_render(part: str, source: str, html: bool, sample: Mapping[str, Any]) -> list[TemplateProblem]:
    try:
        rendered = compile_part(part, source, html).render(sample)
    except InvalidInputError:
        raise
    except Exception as error:  # untrusted input: whatever it does wrong is the text's problem
        return [TemplateProblem(part, f"cannot be rendered: {error}")]
    if part != "subject" and _PROBE_LINK not in rendered:
        return [
            TemplateProblem(
                part,
                "the activation link must appear as it is: outside {% if %} and without filters",
                variable=REQUIRED_VARIABLE,
            )
        ]
    return []
