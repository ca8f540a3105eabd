"""A small, safe XML reader shared by the CIN census and SSDA903 XML readers.

Returns made by case-management systems are read into a light tree that keeps the line of
each element, so problems can be reported against the line a council can open. Element names
are compared case-insensitively and namespaces are dropped (``<cin:Child>`` and ``<child>``
are the same element).

Only Python's own expat parser is used. It never fetches external entities (no handler is
installed for them) and parameter entities are not parsed; a document that declares its own
entities is refused outright, which also rules out entity-expansion ("billion laughs")
attacks.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from care_demand.data.problems import Problem, ValidationReport

__all__ = ["XmlElement", "XmlFileError", "load_xml", "parse_xml"]


@dataclass
class XmlElement:
    """One element: its local name (namespace dropped), starting line, text and children."""

    tag: str
    line: int
    text: str = ""
    children: list[XmlElement] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The local name in lower case, for case-insensitive comparison."""
        return self.tag.lower()

    def find(self, tag: str) -> XmlElement | None:
        """The first child named ``tag`` (case-insensitive), or ``None``."""
        wanted = tag.lower()
        return next((c for c in self.children if c.name == wanted), None)

    def findall(self, tag: str) -> list[XmlElement]:
        """Every child named ``tag`` (case-insensitive), in document order."""
        wanted = tag.lower()
        return [c for c in self.children if c.name == wanted]

    def value(self, tag: str) -> str:
        """The stripped text of the first child named ``tag``; ``""`` when there is none."""
        child = self.find(tag)
        return child.text.strip() if child is not None else ""

    def iter(self, tag: str) -> Iterator[XmlElement]:
        """Every descendant named ``tag`` (case-insensitive), depth first, in document order."""
        wanted = tag.lower()
        for child in self.children:
            if child.name == wanted:
                yield child
            yield from child.iter(tag)

    def path(self, *tags: str) -> XmlElement | None:
        """The element reached by following ``tags`` through first children, or ``None``."""
        node: XmlElement | None = self
        for tag in tags:
            if node is None:
                return None
            node = node.find(tag)
        return node


class XmlFileError(ValueError):
    """A file that is not usable XML: ``line`` (or ``None``) and a plain-words ``reason``."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def parse_xml(data: bytes) -> XmlElement:
    """Parse XML into a tree of :class:`XmlElement` under a ``#document`` root.

    Raises :class:`XmlFileError` for a document that is not well-formed or that declares
    entities (refused for safety).
    """
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[XmlElement] = [XmlElement("#document", 0)]
    parts: list[list[str]] = [[]]

    def start(name: str, _attrs: dict[str, str]) -> None:
        element = XmlElement(name.rsplit(":", 1)[-1], parser.CurrentLineNumber)
        stack[-1].children.append(element)
        stack.append(element)
        parts.append([])

    def end(_name: str) -> None:
        element = stack.pop()
        element.text = "".join(parts.pop())

    def chars(text: str) -> None:
        parts[-1].append(text)

    def entity(*_args: object) -> None:
        raise XmlFileError(
            parser.CurrentLineNumber,
            "the XML declares entities, which are not accepted: export the file again "
            "without a DOCTYPE",
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        message = xml.parsers.expat.errors.messages[exc.code]
        reason = f"not well-formed XML at line {exc.lineno} ({message})"
        raise XmlFileError(exc.lineno, reason) from None
    return stack[0]


def load_xml(path: Path, name: str, report: ValidationReport) -> XmlElement | None:
    """Parse the XML file at ``path`` (reported as ``name``); ``None`` after reporting
    ``empty_file`` or ``unreadable_file`` when it cannot be used.

    A file is parsed once per change (the tree is cached by path, size and modification
    time), so discovery and the readers can each ask for it.
    """
    try:
        stat = path.stat()
        root = _parse_cached(path, stat.st_size, stat.st_mtime_ns)
    except XmlFileError as exc:
        report.add(Problem(name, exc.line, None, None, "unreadable_file", exc.reason))
        return None
    if root is None:
        report.add_file_problem(name, "empty_file", "the file is empty")
    return root


@lru_cache(maxsize=2)
def _parse_cached(path: Path, _size: int, _mtime: int) -> XmlElement | None:
    data = path.read_bytes()
    if not data.strip():
        return None
    return parse_xml(data)
