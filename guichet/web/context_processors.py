from django.conf import settings
from django.http import HttpRequest


def branding(request: HttpRequest) -> dict[str, object]:
    return {
        "institution_name": settings.GUICHET_INSTITUTION_NAME,
        "brand_colour": settings.GUICHET_BRAND_COLOUR,
        "brand_accent": settings.GUICHET_BRAND_ACCENT,
        "brand_logo": settings.GUICHET_LOGO,
    }
