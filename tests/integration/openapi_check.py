"""The API's description (schemas/openapi.json) as the tests read it.

Standard library only. Two things:

- validate(schema, value, resolve): a small JSON Schema validator, the
  subset of 2020-12 the description uses: type (a name or a list of
  names), properties, required, additionalProperties, items, enum, const,
  oneOf / anyOf / allOf, $ref (into #/components/schemas, or to a file
  beside the description, such as job_spec.schema.json), minimum /
  maximum, minLength / maxLength, pattern, minItems. "format" and the annotation
  keywords are ignored.
- Document: the description loaded once; operation(method, path) finds
  the operation a concrete request path names, and check_response()
  tells how an answer differs from what the operation describes (an
  undescribed status, a content type, or the body against its schema).

harness.Client runs check_response on every answer from /api/v1, so
every integration test checks the description against the real server.
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS_DIR = os.path.join(HERE, "..", "..", "schemas")
DOC_PATH = os.path.join(SCHEMAS_DIR, "openapi.json")
JOBSPEC_REF = "job_spec.schema.json"

_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and
    not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or
    (isinstance(v, float) and v.is_integer()),
}


def _short(value):
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate(schema, value, resolve, where="$"):
    """The ways value breaks schema, as a list of "where: what" lines."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return ["%s: nothing is allowed here" % where]
    errs = []
    if "$ref" in schema:
        errs += validate(resolve(schema["$ref"]), value, resolve, where)
    t = schema.get("type")
    if t is not None:
        names = t if isinstance(t, list) else [t]
        if not any(_TYPES[n](value) for n in names):
            return errs + ["%s: %s is not of type %s" % (
                where, _short(value), " or ".join(names))]
    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %s is not one of %s" % (
            where, _short(value), _short(schema["enum"])))
    if "const" in schema and value != schema["const"]:
        errs.append("%s: %s is not %s" % (where, _short(value),
                                          _short(schema["const"])))
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append("%s: %s is less than %s" % (where, value,
                                                    schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errs.append("%s: %s is more than %s" % (where, value,
                                                    schema["maximum"]))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errs.append("%s: %s is shorter than %d" % (
                where, _short(value), schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append("%s: %s is longer than %d" % (
                where, _short(value), schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append("%s: %s does not match %s" % (
                where, _short(value), schema["pattern"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errs.append("%s: %r is required but missing" % (where, name))
        extra = schema.get("additionalProperties", True)
        for name, v in value.items():
            sub = "%s.%s" % (where, name)
            if name in props:
                errs += validate(props[name], v, resolve, sub)
            elif extra is False:
                errs.append("%s: %r is not a described property" % (
                    where, name))
            elif isinstance(extra, dict):
                errs += validate(extra, v, resolve, sub)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (where,
                                                     schema["minItems"]))
        if "items" in schema:
            for i, v in enumerate(value):
                errs += validate(schema["items"], v, resolve,
                                 "%s[%d]" % (where, i))
    for sub in schema.get("allOf", []):
        errs += validate(sub, value, resolve, where)
    if "anyOf" in schema:
        found = [validate(s, value, resolve, where) for s in schema["anyOf"]]
        if all(found):
            errs.append("%s: matches none of anyOf: %s" % (
                where, "; ".join(e[0] for e in found)))
    if "oneOf" in schema:
        found = [validate(s, value, resolve, where) for s in schema["oneOf"]]
        ok = sum(1 for e in found if not e)
        if ok == 0:
            errs.append("%s: matches none of oneOf: %s" % (
                where, "; ".join(e[0] for e in found)))
        elif ok > 1:
            errs.append("%s: matches %d of oneOf, not exactly one" % (
                where, ok))
    return errs


def _path_regex(template):
    """/api/v1/submissions/{id} -> a regex of the paths it names, as the
    router matches them: {name} a word of letters, digits and ._- not
    starting with a dot; any other {x} a positive integer of at most 15
    digits."""
    out = []
    for seg in template.strip("/").split("/"):
        if seg == "{name}":
            out.append("([A-Za-z0-9_-][A-Za-z0-9._-]*)")
        elif seg.startswith("{") and seg.endswith("}"):
            out.append("([1-9][0-9]{0,14})")
        else:
            out.append(re.escape(seg))
    return re.compile("^/" + "/".join(out) + "$")


def _media(ctype):
    return (ctype or "").split(";")[0].strip().lower()


class Document:
    """The description, parsed once; see the module's comment."""

    METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
               "trace")

    def __init__(self, doc, base_dir=SCHEMAS_DIR):
        self.doc = doc
        self.base_dir = base_dir
        self._files = {}
        self._paths = [(_path_regex(t), t, item)
                       for t, item in doc.get("paths", {}).items()]

    @classmethod
    def load(cls, path=DOC_PATH):
        with open(path) as f:
            return cls(json.load(f), os.path.dirname(os.path.abspath(path)))

    def resolve(self, ref):
        """A $ref: "#/a/b" inside the description, or "file#/a/b" (the
        file beside the description)."""
        target, _, pointer = ref.partition("#")
        if target:
            if target not in self._files:
                with open(os.path.join(self.base_dir, target)) as f:
                    self._files[target] = json.load(f)
            node = self._files[target]
        else:
            node = self.doc
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(part)]
            else:
                node = node[part]
        return node

    def operations(self):
        """Every (method in upper case, template, operation)."""
        for _, template, item in self._paths:
            for m in self.METHODS:
                if m in item:
                    yield m.upper(), template, item[m]

    def operation(self, method, path):
        """(template, operation) for a concrete path, or (template, None)
        when the path is described but not the method, or (None, None).
        HEAD falls back to GET, as the router does."""
        path = path.split("?", 1)[0]
        for rx, template, item in self._paths:
            if rx.match(path):
                op = item.get(method.lower())
                if op is None and method.upper() == "HEAD":
                    op = item.get("get")
                return template, op
        return None, None

    def _response(self, op, status):
        responses = op.get("responses", {})
        r = responses.get(str(status)) or \
            responses.get("%dXX" % (status // 100)) or \
            responses.get("default")
        while r is not None and "$ref" in r:
            r = self.resolve(r["$ref"])
        return r

    def error_schema(self):
        return {"$ref": "#/components/schemas/Error"}

    def check_response(self, method, path, status, ctype, body):
        """How an answer differs from the description: a list of
        problems, empty when it matches."""
        template, op = self.operation(method, path)
        media = _media(ctype)
        is_json = media == "application/json"
        if op is None:
            # Not an operation: the router's own 404/405 or the like.
            if status < 400:
                return ["%s %s is not described (status %d)" % (
                    method, template or path.split("?")[0], status)]
            if not is_json or not body:
                return []
            try:
                value = json.loads(body)
            except ValueError as e:
                return ["the answer is not JSON: %s" % e]
            return validate(self.error_schema(), value, self.resolve)
        resp = self._response(op, status)
        if resp is None:
            return ["status %d is not described (described: %s)" % (
                status, ", ".join(sorted(op.get("responses", {}))))]
        content = resp.get("content", {})
        if not body or method.upper() == "HEAD":
            return []
        if not content:
            return ["the answer has a %s body but the description says "
                    "none" % (media or "untyped")]
        entry = content.get(media)
        if entry is None:
            for k, v in content.items():
                if k == "*/*" or (k.endswith("/*") and
                                  media.startswith(k[:-1])):
                    entry = v
                    break
        if entry is None:
            return ["content type %r is not described (described: %s)" % (
                media, ", ".join(sorted(content)))]
        if not is_json or "schema" not in entry:
            return []
        try:
            value = json.loads(body)
        except ValueError as e:
            return ["the answer is not JSON: %s" % e]
        return validate(entry["schema"], value, self.resolve)


_loaded = None


def document():
    """The repository's description, loaded once per process."""
    global _loaded
    if _loaded is None:
        _loaded = Document.load()
    return _loaded


def coverage(seen_path, doc=None):
    """Lines saying which described operations and statuses the answers
    listed in seen_path (harness's INTROEVAL_OPENAPI_SEEN) reached."""
    doc = doc or document()
    seen = {}
    with open(seen_path) as f:
        for line in f:
            method, template, status = line.split()
            seen.setdefault((method, template), set()).add(status)
    out, reached = [], 0
    for method, template, op in sorted(doc.operations(),
                                       key=lambda x: (x[1], x[0])):
        got = seen.get((method, template), set())
        described = set(op.get("responses", {}))
        reached += bool(got)
        out.append("%-7s %-40s seen %-24s never %s" % (
            method, template, ",".join(sorted(got)) or "-",
            ",".join(sorted(described - got)) or "-"))
    out.append("%d of %d operations answered at least once" % (
        reached, len(out)))
    return out


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3 or sys.argv[1] != "--coverage":
        sys.exit("usage: openapi_check.py --coverage SEEN_FILE")
    print("\n".join(coverage(sys.argv[2])))
