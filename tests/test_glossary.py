"""The glossary holds every term, and every notebook explains a term where it first uses it.

The glossary is ``sources/notebooks/glossary.md`` (built to ``notebooks/glossary.ipynb``): one
``### term`` heading per term, so each has an anchor (``glossary.ipynb#event-loop``: the heading
with spaces as ``-``, as JupyterLab and nbconvert make them), then an optional HTML comment that
readers do not see and this test reads::

    ### busy polling
    <!-- aliases: busy-polling; spinning | match: code -->

``aliases`` are other spellings (the plural of the term itself is added: ``-s``, ``-es``, ``-ies``);
``match: code`` means the term counts only inside `code` spans (``select``, ``send``: ordinary
English words too). A form with a capital letter matches case-sensitively (``GIL``, ``OS``), one
without ignores case. A form matches as a whole word, where ``-`` belongs to the word: ``event``
does not match inside ``event-driven``. Where terms overlap, the longest wins: ``I/O`` inside
``I/O multiplexing`` is an occurrence of the longer term only. Inside a `code` span a form counts
only where the span names it: the span is the form, ends in ``.form`` or starts with ``form ``,
once a call's arguments are dropped (``sock.recv(5)`` names recv; ``acquire(timeout=1)`` does
not name timeout). The course's own name, "Event-Driven Python", is not a use of a term.

**The rule**, for each notebook of ``notebooks/`` and ``solutions/`` (``exercises/`` is made from
``solutions/``) and each term: the FIRST occurrence of the term (or an alias) in its markdown is
either a definition, the term in bold in that sentence (``a **socket** is ...``), or a link to
the term's entry (``[socket](glossary.ipynb#socket)``; from ``solutions/``,
``../notebooks/glossary.ipynb#socket``). Code cells, fenced code blocks, headings (the sentence
under a heading is where a term is introduced), link targets and HTML comments are not read.

Today's chapters break the rule in many places. ``tests/glossary_todo.txt`` lists each known
violation (``notebook: term``); the list may only shrink: a new violation fails, and so does a
listed one that is gone (delete its line). ``python tests/test_glossary.py`` prints every violation
with its sentence; ``--todo`` prints them in the list's format.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY_SOURCE = ROOT / "sources" / "notebooks" / "glossary.md"
GLOSSARY = ROOT / "notebooks" / "glossary.ipynb"
TODO = Path(__file__).with_name("glossary_todo.txt")


@dataclass(frozen=True)
class Term:
    name: str
    forms: tuple  # the term, its plural and its aliases
    code_only: bool
    text: str

    @property
    def anchor(self) -> str:
        return self.name.replace(" ", "-")


def _plural(word: str) -> str:
    if re.search(r"(s|x|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


@lru_cache(maxsize=None)
def terms() -> tuple[Term, ...]:
    """Every term of the glossary source, in its order."""
    found = []
    parts = re.split(r"^### (.+)$", GLOSSARY_SOURCE.read_text(), flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        name = name.strip()
        comment = re.search(r"<!--(.*?)-->", body, re.S)
        meta = dict(part.split(":", 1) for part in comment.group(1).split(" | ")) if comment else {}
        meta = {k.strip(): v.strip() for k, v in meta.items()}
        aliases = [a.strip() for a in meta.get("aliases", "").split(";") if a.strip()]
        text = re.sub(r"<!--.*?-->", "", body, flags=re.S).split("\n+++")[0].split("\n## ")[0].strip()
        found.append(Term(name, tuple(dict.fromkeys([name, _plural(name), *aliases])),
                          meta.get("match") == "code", text))
    return tuple(found)


def notebooks() -> list[Path]:
    return [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if p != GLOSSARY] + \
        sorted((ROOT / "solutions").glob("*.ipynb"))


# -- reading a notebook's markdown ---------------------------------------------------------------
_TOKEN = re.compile(r"(?P<fence>^\s*(```|~~~).*?^\s*\2[^\n]*$)|(?P<comment><!--.*?-->)|(?P<code>`[^`\n]+`)"
                    r"|(?P<image>!\[[^\]]*\]\([^)]*\))|(?P<link>\[(?P<ltext>[^\]]*)\]\((?P<target>[^)\s]*)[^)]*\))"
                    r"|(?P<bold>\*\*)", re.S | re.M)


@dataclass
class Text:
    """A notebook's markdown as plain text, with where its bold spans, links and code spans are."""
    text: str
    bold: list      # (start, end)
    links: list     # (start, end, target)
    code: list      # (start, end)


def flatten(markdown: str) -> Text:
    markdown = re.sub(r"^ {0,3}#{1,6} .*$", "", markdown, flags=re.M)  # headings are not read
    out, bold, links, code, opened, pos = [], [], [], [], None, 0
    length = 0

    def put(s: str) -> tuple[int, int]:
        nonlocal length
        out.append(s)
        length += len(s)
        return length - len(s), length

    for m in _TOKEN.finditer(markdown):
        put(markdown[pos:m.start()])
        pos = m.end()
        if m.group("fence") or m.group("comment") or m.group("image"):
            put("\n\n")
        elif m.group("code"):
            code.append(put(m.group("code")))
        elif m.group("link"):
            inner = flatten(m.group("ltext"))
            start, end = put(inner.text)
            links.append((start, end, m.group("target")))
            code += [(start + a, start + b) for a, b in inner.code]
            bold += [(start + a, start + b) for a, b in inner.bold]
        elif opened is None:
            opened = length
        else:
            bold.append((opened, length))
            opened = None
    put(markdown[pos:])
    return Text("".join(out), bold, links, code)


NOT_TERMS = ["Event-Driven Python"]  # the course's name: not a use of "event-driven"


def _pattern(form: str) -> re.Pattern:
    lead = r"(?<![\w-])" if re.match(r"\w", form) else ""
    lead = r"(?<![\w\"'-])" if form[-1] in "\"'" else lead  # b" starts a bytes literal, but not in "b": 1
    trail = r"(?![\w-])" if re.search(r"\w$", form) else ""
    return re.compile(lead + re.escape(form) + trail, 0 if re.search(r"[A-Z]", form) else re.I)


@lru_cache(maxsize=None)
def _patterns(term: Term) -> tuple:
    return tuple((f, _pattern(f)) for f in term.forms)


def _code_names(code: str, form: str) -> bool:
    """Does a code span name the term? ``select``, ``select.select(...)``, ``sock.recv(5)``, ``await x`` do;
    ``acquire(timeout=1)`` or ``threaded[i]`` use the word for something else."""
    code = re.sub(r"\(.*\)$", "", code.strip("`").strip())
    if re.search(r"[A-Z]", form):
        return code == form or code.endswith("." + form) or code.startswith(form + " ")
    code, form = code.casefold(), form.casefold()
    return code == form or code.endswith("." + form) or code.startswith(form + " ") or \
        (not re.search(r"\w$", form) and code.startswith(form))


def occurrences(doc: Text) -> dict[str, tuple[int, int]]:
    """The first occurrence of every term in ``doc``: term name -> (start, end). Longest match wins."""
    found = []
    names = [(m.start(), m.end()) for name in NOT_TERMS for m in re.finditer(re.escape(name), doc.text)]
    for term in terms():
        for form, pattern in _patterns(term):
            for m in pattern.finditer(doc.text):
                if any(a <= m.start() < b for a, b in names):
                    continue
                span = next(((a, b) for a, b in doc.code if a <= m.start() and m.end() <= b), None)
                if span is None and term.code_only:
                    continue  # "select" in prose is the verb
                if span is not None and not _code_names(doc.text[span[0]:span[1]], form):
                    continue  # `acquire(timeout=0.5)` is not about timeouts
                found.append((m.start(), -(m.end() - m.start()), m.end(), term.name))
    first, taken_until = {}, -1
    for start, _, end, name in sorted(found):
        if start < taken_until:
            continue  # inside a longer match
        taken_until = end
        first.setdefault(name, (start, end))
    return first


def sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around ``text[start:end]``: from after the last . ! ? or blank line, to the next."""
    stops = [m.end() for m in re.finditer(r"[.!?](?=\s)|\n\s*\n|\n\s*[-*|] |\n\s*\d+\. ", text[:start])]
    begin = stops[-1] if stops else 0
    after = re.search(r"[.!?](?=\s|$)|\n\s*\n|\n\s*[-*|] |\n\s*\d+\. ", text[end:])
    return begin, end + after.end() if after else len(text)


def _bold_forms(doc: Text, begin: int, end: int) -> set[str]:
    return {doc.text[a:b].replace("`", "").replace("*", "").strip(" .,:;") for a, b in doc.bold
            if begin <= a and b <= end}


def _is_defined(term: Term, doc: Text, start: int, end: int) -> bool:
    begin, stop = sentence(doc.text, start, end)
    for said in _bold_forms(doc, begin, stop):
        for form in term.forms:
            if said == form or (not re.search(r"[A-Z]", form) and said.casefold() == form.casefold()):
                return True
    return False


def _is_linked(term: Term, doc: Text, start: int, end: int) -> bool:
    return any(a <= start and end <= b and target.endswith(f"glossary.ipynb#{term.anchor}")
               for a, b, target in doc.links)


@dataclass(frozen=True)
class Violation:
    notebook: str
    term: str
    sentence: str

    @property
    def key(self) -> str:
        return f"{self.notebook}: {self.term}"


def markdown_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def violations(path: Path) -> list[Violation]:
    doc = flatten(markdown_of(path))
    by_name = {t.name: t for t in terms()}
    found = []
    for name, (start, end) in sorted(occurrences(doc).items(), key=lambda kv: kv[1]):
        term = by_name[name]
        if not (_is_defined(term, doc, start, end) or _is_linked(term, doc, start, end)):
            begin, stop = sentence(doc.text, start, end)
            said = " ".join(doc.text[begin:stop].split())
            found.append(Violation(str(path.relative_to(ROOT)), name, said if len(said) < 240 else said[:237] + "..."))
    return found


def todo() -> set[str]:
    lines = TODO.read_text().splitlines() if TODO.exists() else []
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def report(found: list[Violation]) -> str:
    lines, current = [], None
    for v in found:
        if v.notebook != current:
            current = v.notebook
            lines.append(f"\n{current}")
        lines.append(f"  - {v.term!r} first appears, neither in bold nor linked to the glossary, in: {v.sentence}")
    return "\n".join(lines)


@lru_cache(maxsize=None)
def all_violations() -> tuple[Violation, ...]:
    return tuple(v for path in notebooks() for v in violations(path))


# -- the tests ------------------------------------------------------------------------------------
def test_the_glossary_has_enough_terms_each_with_a_short_definition():
    found = terms()
    assert len(found) >= 100
    for term in found:
        assert re.fullmatch(r"[A-Za-z0-9_/ -]+", term.name), f"{term.name!r}: a heading that makes a plain anchor"
        sentences = re.findall(r"[.!?](?:\s|$)", term.text)
        assert term.text and 1 <= len(sentences) <= 3, f"{term.name!r}: one or two plain sentences, got {term.text!r}"
    names = [t.name.casefold() for t in found]
    assert len(set(names)) == len(names), "a term appears twice"


def test_no_form_belongs_to_two_terms():
    owner = {}
    for term in terms():
        for form in term.forms:
            assert owner.setdefault(form.casefold(), term.name) == term.name, \
                f"{form!r} is a form of both {owner[form.casefold()]!r} and {term.name!r}"


@pytest.mark.parametrize("name", ["coroutine", "future", "task", "await", "asyncio", "TaskGroup", "cancellation",
                                  "timeout", "RESP", "pipelining", "backpressure", "reactor", "SO_REUSEPORT",
                                  "event loop", "callback", "file descriptor", "GIL", "epoll", "edge-triggered"])
def test_the_glossary_has_the_terms_the_course_needs(name):
    assert name in {t.name for t in terms()}


def test_the_stored_glossary_is_markdown_only_with_an_anchor_per_term():
    nb = nbformat.read(GLOSSARY, as_version=4)
    assert {c.cell_type for c in nb.cells} == {"markdown"}
    headings = re.findall(r"^### (.+)$", "\n".join(c.source for c in nb.cells), re.M)
    assert [h.strip() for h in headings] == [t.name for t in terms()]


def test_every_glossary_link_points_at_an_entry():
    anchors = {t.anchor for t in terms()}
    wrong = []
    for path in notebooks() + [ROOT / "README.md"]:
        text = path.read_text()
        for target in re.findall(r"glossary\.ipynb#([^)\s\"'\\]+)", text):
            if target not in anchors:
                wrong.append(f"{path.relative_to(ROOT)}: #{target}")
    assert not wrong, "links to glossary entries that do not exist: " + ", ".join(wrong)


def test_chapter_00_and_the_readme_link_the_glossary():
    assert "(glossary.ipynb)" in markdown_of(ROOT / "notebooks" / "00_start_here.ipynb")
    assert "(notebooks/glossary.ipynb)" in (ROOT / "README.md").read_text()


def test_the_rule_on_examples():
    """What counts as defined, linked, or neither (the rule in the docstring, on small texts)."""
    def names(md):
        doc = flatten(md)
        by_name = {t.name: t for t in terms()}
        return {n: ("defined" if _is_defined(by_name[n], doc, *se) else "linked" if _is_linked(by_name[n], doc, *se)
                    else "bare") for n, se in occurrences(doc).items()}

    assert names("A **socket** is one end. A socket again.") == {"socket": "defined"}
    assert names("Each socket is one end of a **socket** pair? No: a **socket** is.")["socket"] == "defined"
    assert names("Open a socket. Then a **socket** is defined too late.") == {"socket": "bare"}
    assert names("Open a [socket](glossary.ipynb#socket).") == {"socket": "linked"}
    assert names("Open a [socket](glossary.ipynb#thread).") == {"socket": "bare"}
    assert names("The **event loop** runs.") == {"event loop": "defined"}  # no separate 'event'
    assert names("An event-driven program.") == {"event-driven": "bare"}
    assert names("We select a cell; `select` waits.") == {"select": "bare"}  # the verb is not the call
    assert names("## Sockets\nA **socket** is an end.") == {"socket": "defined"}  # headings are not read
    assert names("```\nsocket\n```\n<!-- socket -->\nThen **sockets** come.") == {"socket": "defined"}
    assert names("The GIL and the gil.")["GIL"] == "bare" and names("the gil") == {}
    assert names("**`epoll`** is Linux's.") == {"epoll": "defined"}


def test_no_new_violations():
    new = [v for v in all_violations() if v.key not in todo()]
    assert not new, ("terms used before they are explained (bold them where they are defined, or link "
                     "[term](glossary.ipynb#anchor); see tests/test_glossary.py):" + report(new))


def test_the_todo_list_only_shrinks():
    gone = sorted(todo() - {v.key for v in all_violations()})
    assert not gone, f"fixed, so delete these lines from {TODO.relative_to(ROOT)}: " + "; ".join(gone)


if __name__ == "__main__":
    found = list(all_violations())
    if "--todo" in sys.argv:
        print("\n".join(v.key for v in found))
    else:
        print(report(found) or "no violations")
        counts: dict = {}
        for v in found:
            counts[v.notebook] = counts.get(v.notebook, 0) + 1
        print("\n" + "\n".join(f"{n:4d}  {nb}" for nb, n in sorted(counts.items())))
