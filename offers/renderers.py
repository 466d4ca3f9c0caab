"""The renderer: one interface turning a document's HTML template and context into the on-screen
preview (HTML) and the PDF (WeasyPrint). Which document uses which template and context is declared in
`offers/documents.py`."""

from __future__ import annotations

import contextlib
import gc
import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

CSS_PATH = Path(settings.BASE_DIR) / "templates" / "documents" / "document.css"


# --- the renderer interface ---------------------------------------------------------------------


class Renderer:
    """Turns a document template + context into HTML (the preview) and PDF bytes (the evidence)."""

    def html(self, template_name: str, context: dict, *, preview: bool = False,
             inline_css: bool = True) -> str:
        """The document's HTML. Self-contained (document.css inline) unless `preview` (the page links
        the stylesheet) or `inline_css=False` (the renderer adds it itself)."""
        css = document_css() if inline_css and not preview else ""
        ctx = {**context, "preview": preview, "document_css": css}
        with translation.override(context.get("language") or settings.LANGUAGE_CODE):
            return render_to_string(template_name, ctx)

    def pdf_from_html(self, html: str, *, document_stylesheet: bool = False) -> bytes:  # pragma: no cover
        """PDF bytes of `html`; with `document_stylesheet`, document.css is applied as if it were inline."""
        raise NotImplementedError

    def pdf(self, template_name: str, context: dict) -> bytes:
        return self.pdf_from_html(self.html(template_name, context))


def _allowed_roots() -> list[Path]:
    # Not MEDIA_ROOT: stored files may live in an object store; a document inlines what it needs (the logo).
    roots = [Path(settings.STATIC_ROOT)]
    roots += [Path(p) for p in settings.STATICFILES_DIRS]
    return [r.resolve() for r in roots]


@lru_cache(maxsize=1)
def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class LocalOnlyURLFetcher(URLFetcher):
        """Serves data: URIs and static files only; everything else is refused, so a
        document never reaches the network."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file://"):
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in _allowed_roots()) and path.is_file():
                    return super().fetch(url, headers)
            raise ValueError(f"external resource refused in documents: {url[:100]}")

    return LocalOnlyURLFetcher


class WeasyPrintRenderer(Renderer):
    """A4 PDFs with WeasyPrint; fonts (DejaVu) come from fontconfig, nothing from the network.

    document.css is parsed once per process and handed to WeasyPrint with each document, instead of
    being parsed again from every document's `<style>` (about 25 ms a document); the PDF is the same,
    byte for byte."""

    def __init__(self):
        import weasyprint  # noqa: F401 - imported once, lazily (it is slow to import)
        from weasyprint.text.fonts import FontConfiguration

        self._font_config = FontConfiguration()
        self._fetcher = _fetcher_class()(allowed_protocols=["data", "file"], timeout=2)
        self._stylesheet = None

    @staticmethod
    def _base_url() -> str:
        return Path(settings.BASE_DIR / "static").resolve().as_uri() + "/"

    def _document_stylesheet(self):
        """document.css, parsed on first use (call with the render lock held)."""
        if self._stylesheet is None:
            import weasyprint

            self._stylesheet = weasyprint.CSS(string=document_css(), base_url=self._base_url(),
                                              url_fetcher=self._fetcher, font_config=self._font_config)
        return self._stylesheet

    def pdf(self, template_name: str, context: dict) -> bytes:
        return self.pdf_from_html(self.html(template_name, context, inline_css=False), document_stylesheet=True)

    def pdf_from_html(self, html: str, *, document_stylesheet: bool = False) -> bytes:
        import weasyprint

        # One render at a time per process: WeasyPrint's Pango/fontconfig layer and the shared font
        # configuration are not safe across threads (two renders in threads hung in a test). Celery's
        # prefork workers render in separate processes, so the lock only serialises threaded servers
        # such as `make run` with eager tasks.
        with _render_lock, gc_paused():
            stylesheets = [self._document_stylesheet()] if document_stylesheet else None
            return weasyprint.HTML(string=html, base_url=self._base_url(), url_fetcher=self._fetcher).write_pdf(
                font_config=self._font_config, stylesheets=stylesheets)


_render_lock = threading.Lock()


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a document is laid out.

    WeasyPrint allocates hundreds of thousands of small objects per document; each allocation burst
    triggers collections that scan the whole heap of a Django process (measured: a third of a 50-line
    offer's render time). The pause lasts one render (well under a second); the collector is switched
    back on afterwards — reference counting frees most objects during the render anyway, and the next
    regular collection takes the cycles. Nested and concurrent renders (threads) share one counter, so
    the collector is restored only when the last render leaves, and only if it was on before."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


class TextRenderer(Renderer):
    """A one-page PDF holding the document's text without layout, in milliseconds instead of WeasyPrint's
    tenths of a second. For load tests and the multi-process topology test (`DOCUMENT_RENDERER=text`);
    never for customers: a stored PDF is evidence and must look like the document."""

    def pdf_from_html(self, html: str, *, document_stylesheet: bool = False) -> bytes:
        return text_pdf(_html_text(html))


def _html_text(html: str) -> list[str]:
    import re
    from html import unescape

    html = re.sub(r"(?is)<(style|script|head)\b.*?</\1>", " ", html)
    text = unescape(re.sub(r"(?s)<[^>]+>", "\n", html))
    return [line for line in (" ".join(part.split()) for part in text.splitlines()) if line]


def text_pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF (Helvetica, WinAnsi: æøå work) showing the first 70 lines."""

    def esc(s: str) -> bytes:
        raw = s[:110].encode("cp1252", "replace")
        return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    stream = b"BT /F1 9 Tf 11 TL 40 800 Td " + b"".join(b"(" + esc(s) + b") ' " for s in lines[:70]) + b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


RENDERERS = {"weasyprint": WeasyPrintRenderer, "text": TextRenderer}


@lru_cache(maxsize=1)
def get_renderer() -> Renderer:
    """The renderer chosen by settings.DOCUMENT_RENDERER (WeasyPrint unless told otherwise)."""
    return RENDERERS[getattr(settings, "DOCUMENT_RENDERER", "weasyprint")]()


@lru_cache(maxsize=1)
def document_css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")
