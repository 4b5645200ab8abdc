"""Drafts shown as plain text, the way a family would receive them, and placeholders found."""

from __future__ import annotations

import pytest

from harness.review.text import placeholders, plain_text, same_text_key


@pytest.mark.parametrize(
    "markdown,plain",
    [
        ("Plain reply.\nSecond line.", "Plain reply.\nSecond line."),
        ("## Bus passes\n\nA pass is **$10**.", "Bus passes\n\nA pass is $10."),
        ("Call *today* or _tomorrow_.", "Call today or tomorrow."),
        ("- one\n- two\n* three", "• one\n• two\n• three"),
        (
            "See [the fees page](https://x.example/fees).",
            "See the fees page (https://x.example/fees).",
        ),
        ("Use `Form A`.", "Use Form A."),
        ("> quoted policy\n\n---\nend", "quoted policy\n\nend"),
        (
            "| Item | Fee |\n|---|---:|\n| Bus pass | $10 |\n| Lunch | $3.25 |",
            "Item: Bus pass; Fee: $10\nItem: Lunch; Fee: $3.25",
        ),
        ("```\ncode\n```", "code"),
        ("a\r\n\r\n\r\n\r\nb  ", "a\n\nb"),
        ("2 * 3 = 6 and snake_case_name", "2 * 3 = 6 and snake_case_name"),
    ],
)
def test_markdown_becomes_the_plain_text_a_family_receives(markdown, plain):
    assert plain_text(markdown) == plain


@pytest.mark.parametrize(
    "text,found",
    [
        ("Dear [Parent's Name],\nThe pass is $10.", ["[Parent's Name]"]),
        ("Hi {first_name}, see you on [insert date].", ["{first_name}", "[insert date]"]),
        ("Dear <Parent Name>, the office opens at 8.", ["<Parent Name>"]),
        ("Regards, [Your Name] [Your Name]", ["[Your Name]"]),
        ("Call 555-0100 by 3 pm. Fees [see page 2] apply.", []),
        ("Dear Ms. Ruiz, the pass costs $10.", []),
    ],
)
def test_placeholders_are_found(text, found):
    assert placeholders(text) == found


def test_same_text_key_ignores_case_and_spacing_only():
    assert same_text_key("Hello  there\n") == same_text_key("hello there")
    assert same_text_key("Hello there.") != same_text_key("Hello there")
