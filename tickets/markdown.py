"""Markdown for ticket texts, sanitised on output with an allow-list (nh3).

HTML typed into a text is text: `<VirtualHost *:80>` from an Apache config or a
`<script>` a customer pastes shows as written, never as markup and never dropped. On top,
whatever reaches the page gets only these tags and attributes: no scripts, no event
handlers, no style, and links only to http(s) and mailto.
"""

import threading

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


class HtmlAsText(Extension):
    """Raw HTML blocks and inline tags are not passed through: they are escaped like any text."""

    def extendMarkdown(self, md):  # Python-Markdown's name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


_converters = threading.local()


def _converter() -> markdown_lib.Markdown:
    """This thread's converter, made once: building one (its extensions, its patterns) costs
    several times what converting a short text does. Reset before each text."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown_lib.Markdown(extensions=[HtmlAsText(), "fenced_code", "tables", "sane_lists", "nl2br"])
        _converters.markdown = converter
    return converter.reset()


def render_markdown(text: str) -> SafeString:
    html = _converter().convert(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 with the allow-list above
