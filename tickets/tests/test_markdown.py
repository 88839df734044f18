"""Ticket texts rendered from Markdown keep formatting and lose anything active."""

import pytest
from django.utils.safestring import SafeString

from tickets.markdown import render_markdown
from tickets.tests.helpers import active_markup, text_of


def render(text: str) -> str:
    return str(render_markdown(text))


def test_render_returns_safe_string():
    assert isinstance(render_markdown("hello"), SafeString)


def test_bold_kept():
    assert "<strong>urgent</strong>" in render("This is **urgent**.")


def test_link_kept():
    html = render("See [the status page](https://status.example.com/).")
    assert '<a href="https://status.example.com/"' in html
    assert ">the status page</a>" in html


def test_mailto_link_kept():
    assert 'href="mailto:support@example.com"' in render("[write to us](mailto:support@example.com)")


def test_inline_code_kept():
    assert "<code>systemctl restart nginx</code>" in render("Run `systemctl restart nginx`.")


def test_fenced_code_kept_and_escaped():
    html = render("```\n<script>alert(1)</script>\n```")
    assert "<pre><code>" in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html


def test_table_kept():
    html = render("| Server | State |\n|---|---|\n| web1 | down |")
    assert "<table>" in html
    assert "<td>web1</td>" in html


def test_links_get_rel_noopener():
    html = render("[panel](https://panel.example.com)")
    assert 'rel="noopener noreferrer nofollow"' in html


def test_raw_html_link_is_shown_as_text():
    typed = '<a href="https://example.com" rel="opener" target="_blank">x</a>'
    html = render(typed)
    assert "<a" not in html
    assert typed in text_of(html)


def test_script_is_shown_as_text_and_never_runs():
    html = render("<script>alert(document.cookie)</script>\n\nHello")
    assert active_markup(html) == []
    assert "<script" not in html
    assert "<script>alert(document.cookie)</script>" in text_of(html)
    assert "Hello" in html


def test_event_handlers_are_shown_as_text():
    typed = '<b onmouseover="steal()">hover</b> <img src=x onerror=alert(1)>'
    html = render(typed)
    assert active_markup(html) == []
    assert "<b" not in html and "<img" not in html
    assert typed in text_of(html)


def test_a_config_snippet_keeps_every_line():
    typed = "<VirtualHost *:80>\n    ServerName example.com\n</VirtualHost>"
    text = text_of(render(typed))
    assert "<VirtualHost *:80>" in text and "</VirtualHost>" in text and "ServerName example.com" in text


@pytest.mark.parametrize(
    "text",
    ["[click](javascript:alert(1))", "[click](JaVaScRiPt:alert(1))"],
    ids=["markdown", "mixed-case"],
)
def test_javascript_link_removed(text):
    html = render(text).lower()
    assert "javascript" not in html
    assert "click" in html


@pytest.mark.parametrize(
    "text",
    [
        '<a href="javascript:alert(1)">click</a>',
        '<a href="  javascript:alert(1)">click</a>',
        '<a href="&#106;avascript:alert(1)">click</a>',
    ],
    ids=["html", "leading-space", "entity"],
)
def test_javascript_link_in_html_is_text(text):
    html = render(text)
    assert active_markup(html) == []
    assert "<a" not in html
    assert "click" in text_of(html)


@pytest.mark.parametrize(
    "text",
    [
        "[open](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    ],
    ids=["markdown-link", "markdown-img"],
)
def test_data_url_removed(text):
    assert "data:" not in render(text)


@pytest.mark.parametrize(
    "text",
    [
        '<a href="data:text/html,<script>alert(1)</script>">open</a>',
        '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    ],
    ids=["html-link", "html-img"],
)
def test_data_url_in_html_is_text(text):
    html = render(text)
    assert active_markup(html) == []
    assert "<a" not in html and "<img" not in html


def test_style_attribute_is_text():
    html = render('<p style="position:fixed;top:0;left:0;width:100%">Pay here</p>')
    assert active_markup(html) == []
    assert "<p style" not in html


def test_style_element_is_text():
    html = render("<style>body { display: none }</style>\n\nText")
    assert "<style" not in html
    assert "<style>body { display: none }</style>" in text_of(html)


def test_iframe_is_text():
    html = render('<iframe src="https://evil.example.com/login"></iframe>')
    assert "<iframe" not in html
    assert active_markup(html) == []


@pytest.mark.parametrize("tag", ["object", "embed", "form", "svg", "math"])
def test_other_active_elements_removed(tag):
    html = render(f'<{tag} data="https://evil.example.com/x" action="https://evil.example.com/x"></{tag}>')
    assert f"<{tag}" not in html


def test_html_comment_removed():
    assert "<!--" not in render("text <!-- hidden --> more")


def test_empty_text_renders_empty():
    assert render("") == ""
    assert render(None) == ""
