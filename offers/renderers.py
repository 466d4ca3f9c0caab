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

    def html(self, template_name: str, context: dict, *, preview: bool = False) -> str:
        ctx = {**context, "preview": preview, "document_css": "" if preview else document_css()}
        with translation.override(context.get("language") or settings.LANGUAGE_CODE):
            return render_to_string(template_name, ctx)

    def pdf_from_html(self, html: str) -> bytes:  # pragma: no cover - interface
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
    """A4 PDFs with WeasyPrint; fonts (DejaVu) come from fontconfig, nothing from the network."""

    def __init__(self):
        import weasyprint  # noqa: F401 - imported once, lazily (it is slow to import)
        from weasyprint.text.fonts import FontConfiguration

        self._font_config = FontConfiguration()
        self._fetcher = _fetcher_class()(allowed_protocols=["data", "file"], timeout=2)

    def pdf_from_html(self, html: str) -> bytes:
        import weasyprint

        base_url = Path(settings.BASE_DIR / "static").resolve().as_uri() + "/"
        # One render at a time per process: WeasyPrint's Pango/fontconfig layer and the shared font
        # configuration are not safe across threads (two renders in threads hung in a test). Celery's
        # prefork workers render in separate processes, so the lock only serialises threaded servers
        # such as `make run` with eager tasks.
        with _render_lock, gc_paused():
            return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=self._fetcher).write_pdf(
                font_config=self._font_config)


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


@lru_cache(maxsize=1)
def get_renderer() -> Renderer:
    return WeasyPrintRenderer()


@lru_cache(maxsize=1)
def document_css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")
