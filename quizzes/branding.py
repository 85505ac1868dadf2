"""A quiz's look: colours checked against WCAG AA, a bundled font, a corner style.

Contrast follows WCAG 2.2 (success criterion 1.4.3): the ratio of the relative luminances of
two sRGB colours, (L1 + 0.05) / (L2 + 0.05); body text and buttons need 4.5:1.
"""

from __future__ import annotations

from dataclasses import dataclass

AA_TEXT = 4.5

# Bundled open fonts (SIL OFL, static/fonts/<key>/), each with a fallback stack.
FONTS: dict[str, tuple[str, str]] = {
    "system": ("System (the visitor's own)", ""),
    "inter": ("Inter", '"Inter", system-ui, sans-serif'),
    "atkinson-hyperlegible": (
        "Atkinson Hyperlegible",
        '"Atkinson Hyperlegible", system-ui, sans-serif',
    ),
    "nunito": ("Nunito", '"Nunito", system-ui, sans-serif'),
    "lora": ("Lora (serif)", '"Lora", Georgia, serif'),
}
SYSTEM_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
CORNERS = {"square": ("Square", 0), "rounded": ("Rounded", 14), "pill": ("Round", 28)}


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ink_on(colour: str) -> str:
    """Black or white text, whichever reads better on `colour` (tier badges)."""
    try:
        white, ink = contrast("#ffffff", colour), contrast("#111827", colour)
    except (TypeError, ValueError, IndexError):
        return "#ffffff"
    return "#ffffff" if white >= ink else "#111827"


def mix(a: str, b: str, share_of_a: float) -> str:
    """`a` and `b` mixed in sRGB, as CSS color-mix() would."""
    parts = []
    for i in (1, 3, 5):
        x, y = int(a[i : i + 2], 16), int(b[i : i + 2], 16)
        parts.append(round(x * share_of_a + y * (1 - share_of_a)))
    return "#" + "".join(f"{p:02x}" for p in parts)


@dataclass(frozen=True)
class Look:
    """The colours, font and corners a visitor page is drawn with."""

    background: str = "#f4f6f9"
    card: str = "#ffffff"
    text: str = "#1f2937"
    primary: str = "#1d4ed8"
    button_text: str = "#ffffff"
    font: str = "system"
    corners: str = "rounded"

    # Each pair a visitor reads, with the words that name it.
    def pairs(self) -> list[tuple[str, str, str, str, str]]:
        return [
            ("Text colour", self.text, "card colour", self.card, "the questions and answers"),
            ("Button text colour", self.button_text, "primary colour", self.primary, "buttons"),
            ("Primary colour", self.primary, "card colour", self.card, "links and the Back button"),
        ]

    def problems(self) -> list[str]:
        found = []
        for name, fg, base_name, bg, where in self.pairs():
            ratio = contrast(fg, bg)
            if ratio < AA_TEXT:
                found.append(
                    f"{name} {fg} on the {base_name} {bg} has a contrast of {ratio:.1f}:1, "
                    f"below the 4.5:1 that WCAG AA asks for {where}."
                )
        return found

    @property
    def muted(self) -> str:
        """Secondary text: the text colour softened towards the card while it still reads."""
        for share in (0.72, 0.8, 0.88):
            candidate = mix(self.text, self.card, share)
            if contrast(candidate, self.card) >= AA_TEXT:
                return candidate
        return self.text

    @property
    def font_stack(self) -> str:
        return FONTS.get(self.font, FONTS["system"])[1] or SYSTEM_STACK

    @property
    def radius(self) -> int:
        return CORNERS.get(self.corners, CORNERS["rounded"])[1]

    def css_variables(self) -> dict[str, str]:
        return {
            "--bg": self.background,
            "--card": self.card,
            "--ink": self.text,
            "--muted": self.muted,
            "--line": mix(self.text, self.card, 0.2),
            "--brand": self.primary,
            "--brand-ink": self.button_text,
            "--brand-soft": mix(self.primary, self.card, 0.1),
            "--radius": f"{self.radius}px",
            "--control-radius": f"{min(self.radius, 10) if self.radius < 28 else 24}px",
            "--font": self.font_stack,
        }


DEFAULT_LOOK = Look()
