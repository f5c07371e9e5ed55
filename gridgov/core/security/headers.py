"""Security headers on every response: a content security policy without inline scripts.

Scripts come only from our own origin (every asset is vendored under /static/), so an injected
<script> or on*= handler does not run even if an escaping bug lets it into a page. Inline style
*attributes* stay allowed (style-src-attr): the progress bars set their width that way, and a
style attribute cannot run code; <style> elements are not allowed. Map tiles may come from the
configured tile server (MAP_TILE_URL).
"""

from urllib.parse import urlsplit

from django.conf import settings


def build_policy() -> str:
    img = ["'self'", "data:", "blob:"]
    tiles = urlsplit(getattr(settings, "MAP_TILE_URL", "") or "")
    if tiles.scheme and tiles.netloc:
        img.append(f"{tiles.scheme}://{tiles.netloc}")
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": img,
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        # Camera streams play through MediaSource (blob: URLs) from our own HLS endpoints.
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


# Phones record positions and photos in the field; nothing else may use the devices.
PERMISSIONS_POLICY = "geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), interest-cohort=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = build_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            # Pages with personal data must not sit in shared caches or the browser's back cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
