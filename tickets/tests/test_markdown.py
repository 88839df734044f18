"""Ticket texts rendered from Markdown keep formatting and lose anything active."""

import pytest
from django.utils.safestring import SafeString

from tickets.markdown import render_markdown


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


def test_raw_html_link_gets_rel_noopener():
    html = render('<a href="https://example.com" rel="opener" target="_blank">x</a>')
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "target" not in html
    assert 'rel="opener"' not in html


def test_script_removed_with_its_content():
    html = render("<script>alert(document.cookie)</script>\n\nHello")
    assert "<script" not in html
    assert "alert" not in html
    assert "Hello" in html


def test_event_handler_removed():
    html = render('<b onmouseover="steal()">hover</b> <img src=x onerror=alert(1)>')
    assert "onmouseover" not in html
    assert "onerror" not in html
    assert "<b>hover</b>" in html


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="  javascript:alert(1)">click</a>',
        '<a href="&#106;avascript:alert(1)">click</a>',
    ],
    ids=["markdown", "mixed-case", "html", "leading-space", "entity"],
)
def test_javascript_link_removed(text):
    html = render(text).lower()
    assert "javascript" not in html
    assert "click" in html


@pytest.mark.parametrize(
    "text",
    [
        "[open](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="data:text/html,<script>alert(1)</script>">open</a>',
        '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
        "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    ],
    ids=["markdown-link", "html-link", "html-img", "markdown-img"],
)
def test_data_url_removed(text):
    assert "data:" not in render(text)


def test_style_attribute_removed():
    html = render('<p style="position:fixed;top:0;left:0;width:100%">Pay here</p>')
    assert "style" not in html
    assert "<p>Pay here</p>" in html


def test_style_element_removed():
    html = render("<style>body { display: none }</style>\n\nText")
    assert "<style" not in html
    assert "display" not in html


def test_iframe_removed():
    html = render('<iframe src="https://evil.example.com/login"></iframe>')
    assert "iframe" not in html
    assert "evil.example.com" not in html


@pytest.mark.parametrize("tag", ["object", "embed", "form", "svg", "math"])
def test_other_active_elements_removed(tag):
    html = render(f'<{tag} data="https://evil.example.com/x" action="https://evil.example.com/x"></{tag}>')
    assert f"<{tag}" not in html


def test_html_comment_removed():
    assert "<!--" not in render("text <!-- hidden --> more")


def test_empty_text_renders_empty():
    assert render("") == ""
    assert render(None) == ""
