"""How many SMS segments a text takes (3GPP TS 23.038).

Text made only of GSM 03.38 characters is sent as GSM-7: 160 septets in one
segment, 153 per segment when concatenated; a character of the extension
table takes two septets and is never split across segments. Any other text
is sent as UCS-2: 70 UTF-16 code units in one segment, 67 when concatenated
(a surrogate pair is never split).
"""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> int:
    if not text:
        return 0
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return _count(sizes, single=160, multi=153)
    sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return _count(sizes, single=70, multi=67)


def _count(sizes: list[int], *, single: int, multi: int) -> int:
    if sum(sizes) <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments
