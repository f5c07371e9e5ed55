"""Eligibility rules (政策找人) in JSON Logic: validated when saved, evaluated without eval.

A rule is a JSON Logic expression (https://jsonlogic.com) over a resident's facts:

    age                 integer years today (missing when the birth date is unknown)
    gender              "male" | "female"
    residency_status    "registered" | "permanent" | "floating" | "away"
    tags                codes of the resident's open care tags, e.g. ["disabled", "dibao"]
    <tag>.<attribute>   an attribute of an open care tag, e.g. severe_mental_disorder.risk_level

Examples: {">=": [{"var": "age"}, 80]} (高龄津贴);
{">=": [{"var": "severe_mental_disorder.risk_level"}, 3]} (以奖代补);
{"in": ["dibao_marginal", {"var": "tags"}]} (低保边缘 → 最低生活保障).

Evaluation is `json_logic.jsonLogic` from maykin-json-logic-py: a tree walk over a fixed table of
Python functions, no eval. `validate_rule` admits only the operators listed in OPERATORS (no
`today`, `log`, `map`/`reduce`, string or date helpers), only the variables above, literals that
fit the variable (a known tag code, a valid choice, a number for a number), and bounded size, and
answers in Chinese. It also says which care tags the rule reads: the most sensitive of them decides
who may see the rule's matches (a match on 以奖代补 betrays a mental-health tag).
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from json_logic import jsonLogic

from gridgov.core.errors import ValidationFailed

log = logging.getLogger("gridgov.egov.rules")

OPERATORS = {
    "==": "等于", "!=": "不等于", "===": "严格等于", "!==": "严格不等于", ">": "大于", ">=": "大于等于",
    "<": "小于", "<=": "小于等于", "!": "非", "!!": "为真", "and": "并且", "or": "或者", "if": "如果",
    "in": "包含于", "var": "变量", "missing": "缺少", "+": "加", "-": "减", "*": "乘", "/": "除", "%": "取余",
    "min": "最小值", "max": "最大值",
}
COMPARISONS = {"==", "!=", "===", "!==", ">", ">=", "<", "<="}
MAX_DEPTH = 12
MAX_NODES = 200
MAX_CHARS = 4000

BASE_VARIABLES = {
    "age": {"label": "年龄", "type": "int"},
    "gender": {"label": "性别", "type": "choice"},
    "residency_status": {"label": "人口类型", "type": "choice"},
    "tags": {"label": "关爱对象标签（代码列表）", "type": "tags"},
}


@dataclass
class Vocabulary:
    """What a rule may name: variables with their types, and the care tag types."""

    variables: dict[str, dict[str, Any]]
    tags: dict[str, dict[str, Any]]  # code → {"name", "sensitivity"}

    def sensitivity_of(self, codes: set[str]) -> int:
        return max([self.tags[c]["sensitivity"] for c in codes if c in self.tags] or [1])


def vocabulary() -> Vocabulary:
    """The variables of the current registry: the base facts and every attribute of every tag type."""
    from gridgov.people.choices import Gender, ResidencyStatus
    from gridgov.people.models import CareTagType

    variables = {k: dict(v) for k, v in BASE_VARIABLES.items()}
    variables["gender"]["choices"] = {c: str(label) for c, label in Gender.choices}
    variables["residency_status"]["choices"] = {c: str(label) for c, label in ResidencyStatus.choices}
    tags: dict[str, dict[str, Any]] = {}
    for tag_type in CareTagType.objects.filter(is_active=True).only("code", "name", "sensitivity",
                                                                    "attribute_schema"):
        tags[tag_type.code] = {"name": tag_type.name, "sensitivity": tag_type.sensitivity}
        for spec in tag_type.attribute_schema or []:
            key = spec.get("key")
            if not key:
                continue
            entry = {"label": f"{tag_type.name}·{spec.get('label', key)}", "type": spec.get("type", "text"),
                     "tag": tag_type.code}
            if spec.get("choices"):
                entry["choices"] = {c: c for c in spec["choices"]}
            variables[f"{tag_type.code}.{key}"] = entry
    return Vocabulary(variables=variables, tags=tags)


@dataclass
class RuleInfo:
    tag_codes: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    sensitivity: int = 1


class _Checker:
    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.errors: list[str] = []
        self.info = RuleInfo()
        self.nodes = 0

    def fail(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def var_name(self, node: Any) -> str | None:
        """The variable a {"var": …} node names, or None when it is not a var node."""
        if not (isinstance(node, dict) and list(node) == ["var"]):
            return None
        args = node["var"]
        if isinstance(args, list):
            args = args[0] if args else ""
        return args if isinstance(args, str) else ""

    def walk(self, node: Any, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(f"规则过于复杂（超过 {MAX_NODES} 个节点）")
            return
        if depth > MAX_DEPTH:
            self.fail(f"规则嵌套过深（超过 {MAX_DEPTH} 层）")
            return
        if isinstance(node, list):
            for child in node:
                self.walk(child, depth + 1)
            return
        if not isinstance(node, dict):
            if not (node is None or isinstance(node, bool | int | float | str)):
                self.fail(f"不支持的值：{node!r}"[:80])
            return
        if len(node) != 1:
            self.fail("每个条件只能有一个运算符，如 {\">=\": [{\"var\": \"age\"}, 80]}")
            return
        op, args = next(iter(node.items()))
        if op not in OPERATORS:
            allowed = "、".join(OPERATORS)
            self.fail(f"不支持的运算符“{str(op)[:20]}”，可用：{allowed}")
            return
        if op == "var":
            self.check_var(args)
            return
        items = args if isinstance(args, list) else [args]
        if op == "in":
            self.check_in(items)
        elif op in COMPARISONS:
            self.check_comparison(op, items)
        for child in items:
            self.walk(child, depth + 1)

    def check_var(self, args: Any) -> None:
        default = None
        if isinstance(args, list):
            if not args or len(args) > 2:
                self.fail("变量写法应为 {\"var\": \"age\"} 或 {\"var\": [\"age\", 默认值]}")
                return
            name = args[0]
            default = args[1] if len(args) == 2 else None
        else:
            name = args
        if not isinstance(name, str) or not name:
            self.fail("变量名应为非空文本，如 {\"var\": \"age\"}")
            return
        if name not in self.vocab.variables:
            self.fail(f"未知变量“{name[:40]}”。可用变量：age（年龄）、gender（性别）、residency_status（人口类型）、"
                      f"tags（关爱对象标签），以及“标签代码.属性”，如 severe_mental_disorder.risk_level")
            return
        if isinstance(default, dict | list):
            self.fail("变量的默认值只能是数字、文本或布尔值")
        self.info.variables.add(name)
        tag = self.vocab.variables[name].get("tag")
        if tag:
            self.info.tag_codes.add(tag)

    def check_in(self, items: list) -> None:
        if len(items) != 2:
            self.fail("“in”需要两个参数：[值, 列表]")
            return
        needle, haystack = items
        if self.var_name(haystack) == "tags":
            if not isinstance(needle, str):
                self.fail("判断是否有某个标签时，请写标签代码，如 {\"in\": [\"disabled\", {\"var\": \"tags\"}]}")
            elif needle not in self.vocab.tags:
                known = "、".join(f"{c}（{t['name']}）" for c, t in self.vocab.tags.items())
                self.fail(f"未知的关爱对象标签“{needle[:40]}”，可用：{known}")
            else:
                self.info.tag_codes.add(needle)
        name = self.var_name(needle)
        if name and isinstance(haystack, list):
            for value in haystack:
                self.check_literal(name, value)

    def check_comparison(self, op: str, items: list) -> None:
        if len(items) < 2:
            self.fail(f"“{op}”需要两个参数")
            return
        names = [self.var_name(i) for i in items[:2]]
        for name, other in ((names[0], items[1]), (names[1], items[0])):
            if name:
                self.check_literal(name, other, ordered=op in {">", ">=", "<", "<="})

    def check_literal(self, name: str, value: Any, *, ordered: bool = False) -> None:
        spec = self.vocab.variables.get(name)
        if spec is None or isinstance(value, dict | list) or value is None:
            return
        kind = spec.get("type")
        label = spec.get("label", name)
        if kind == "tags":
            self.fail("tags 是标签列表，请用 {\"in\": [\"标签代码\", {\"var\": \"tags\"}]} 判断")
        elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int | float)):
            self.fail(f"{label}（{name}）是数字，不能与“{str(value)[:20]}”比较")
        elif kind == "choice" and spec.get("choices"):
            if ordered:
                self.fail(f"{label}（{name}）是选项，不能比较大小")
            elif str(value) not in spec["choices"]:
                options = "、".join(f"{c}（{label_}）" if c != label_ else c
                                   for c, label_ in spec["choices"].items())
                self.fail(f"{label}（{name}）没有取值“{str(value)[:20]}”，可选：{options}")
        elif kind == "bool" and not isinstance(value, bool):
            self.fail(f"{label}（{name}）是是/否，请与 true 或 false 比较")


def validate_rule(rule: Any, vocab: Vocabulary | None = None) -> RuleInfo:
    """Checks a rule before it is saved; raises ValidationFailed (400, code invalid_rule) with every
    problem in Chinese. Returns the variables and tags it reads and the sensitivity of its matches."""
    if isinstance(rule, str):
        try:
            rule = json.loads(rule)
        except ValueError:
            raise _invalid(["规则不是有效的 JSON"]) from None
    if not isinstance(rule, dict):
        raise _invalid(["规则应为一个 JSON Logic 条件对象，如 {\">=\": [{\"var\": \"age\"}, 80]}"])
    if len(json.dumps(rule, ensure_ascii=False)) > MAX_CHARS:
        raise _invalid([f"规则过长（超过 {MAX_CHARS} 个字符）"])
    checker = _Checker(vocab or vocabulary())
    checker.walk(rule, 0)
    if not checker.errors and not checker.info.variables:
        checker.fail("规则没有用到任何居民信息（变量），对所有人结果都一样")
    if checker.errors:
        raise _invalid(checker.errors)
    checker.info.sensitivity = checker.vocab.sensitivity_of(checker.info.tag_codes)
    return checker.info


def _invalid(errors: list[str]) -> ValidationFailed:
    return ValidationFailed("资格规则有误：" + "；".join(errors), code="invalid_rule",
                            extra={"errors": {"eligibility_rule": "；".join(errors)}, "problems": errors})


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def facts(*, birth_date: date | None, gender: str, residency_status: str, tags: dict[str, dict[str, Any]],
          today: date) -> dict[str, Any]:
    """The data a rule sees for one resident: `tags` maps each open tag code to its attributes."""
    data: dict[str, Any] = {"gender": gender, "residency_status": residency_status, "tags": sorted(tags)}
    age = age_on(birth_date, today)
    if age is not None:
        data["age"] = age
    for code, attributes in tags.items():
        data[code] = dict(attributes or {})
    return data


def evaluate(rule: dict, data: dict[str, Any]) -> bool:
    """True when the resident's facts satisfy the rule. A rule that fails on odd data (a text where a
    number was expected) matches nobody rather than stopping the batch."""
    try:
        return bool(jsonLogic(rule, data))
    except Exception:  # noqa: BLE001 - one resident's odd data must not stop a grid's scan
        log.warning("eligibility rule failed on one resident's facts", exc_info=True)
        return False
