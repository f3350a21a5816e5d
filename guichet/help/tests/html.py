"""A tiny HTML reader for tests: elements with their attributes, found by tag or id."""

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str | bytes, tag: str | None = None) -> list[dict[str, str]]:
    collector = _Collector()
    collector.feed(html.decode() if isinstance(html, bytes) else html)
    return [attrs for name, attrs in collector.elements if tag is None or name == tag]


def element_by_id(html: str | bytes, element_id: str) -> dict[str, str]:
    [found] = [attrs for attrs in elements(html) if attrs.get("id") == element_id]
    return found
