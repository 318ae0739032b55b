"""The tokenizer: text to tokens with offsets, and offsets to spans."""

from __future__ import annotations

import re
from bisect import bisect_right
from types import MappingProxyType
from typing import Any, NamedTuple

from flowc.errors import Span
from flowc.runtime.expression.errors import (
    F_CHARACTER,
    F_NUMBER,
    F_STRING,
    F_UNSUPPORTED,
    ExpressionSyntaxError,
)
from flowc.runtime.expression.nodes import KEYWORDS, NOWHERE


class Token(NamedTuple):
    kind: str  # "name", "keyword", "number", "string", "op", "eof"
    text: str
    value: Any
    start: int
    end: int


_SPACE = re.compile(r"[ \t\r\n\f]*")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(
    r"(?:[0-9][0-9_]*(?:\.(?:[0-9][0-9_]*)?)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?"
)
_NUMBER_GLUE = re.compile(r"[\w.]*")
_PLAIN_CHARS = {'"': re.compile(r'[^\\\n"]+'), "'": re.compile(r"[^\\\n']+")}
_TWO_CHAR_OPS = frozenset({"//", "==", "!=", "<=", ">=", ":=", "**", "&&", "||", "<<", ">>"})
_ONE_CHAR_OPS = frozenset("+-*/%<>()[],.=!&|^~@:;{}")
_ESCAPES = MappingProxyType({"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"})
_STRING_PREFIXES = frozenset({"f", "r", "b", "u", "rb", "br", "fr", "rf"})
_CHARACTER_HINTS = MappingProxyType(
    {
        "#": "comments are not allowed inside an expression",
        "`": "quote strings with ' or \"",
        "$": "state keys are plain names: write `key`, not `$key`",
        "?": "use `x if condition else y`",
        "\\": "a backslash is only allowed inside a string",
    }
)


class Locator:
    """Turns offsets in ``text`` into spans, shifted to where ``text`` starts in its file."""

    def __init__(self, text: str, origin: Span | None) -> None:
        self.line_starts = [0]
        newline = text.find("\n")
        while newline >= 0:
            self.line_starts.append(newline + 1)
            newline = text.find("\n", newline + 1)
        self.origin = origin
        self.file = origin.file if origin is not None else NOWHERE.file
        self.first_line = origin.line if origin is not None else 1
        self.first_col = origin.col if origin is not None else 1

    def point(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.line_starts, offset) - 1
        if index == 0:
            return self.first_line, offset + self.first_col
        return self.first_line + index, offset - self.line_starts[index] + 1

    def span(self, start: int, end: int) -> Span:
        if len(self.line_starts) == 1:  # one line, as nearly every condition is
            line, col = self.first_line, self.first_col
            return Span(self.file, line, start + col, line, max(end, start) + col)
        line, col = self.point(start)
        end_line, end_col = self.point(max(end, start))
        return Span(self.file, line, col, end_line, end_col)


def syntax_error(
    code: str, message: str, locator: Locator, start: int, end: int, *hints: str
) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(
        message, code=code, span=locator.span(start, end), hints=[h for h in hints if h]
    )


# One match per token for the common cases; anything else (numbers, escapes, errors) is scanned
# by the functions below, which own every diagnostic.
_PLAIN_TOKEN = re.compile(
    r"""[ \t\r\n\f]*(?:(?P<name>[^\W\d]\w*)(?!["'])|(?P<integer>0|[1-9][0-9]*)(?![\w.])"""
    r"""|(?P<string>"[^"\\\n]+"|'[^'\\\n]+')"""
    r"|(?P<op>//|==|!=|<=|>=|:=|\*\*|&&|\|\||<<|>>|[-+*/%<>()\[\],=!&|^~@:;{}]|\.(?![0-9])))"
)


def tokenize(text: str, locator: Locator) -> list[Token]:
    tokens: list[Token] = []
    size = len(text)
    position = 0
    plain = _PLAIN_TOKEN.match
    while True:
        match = plain(text, position)
        if match is not None:
            kind = match.lastgroup
            start, end = match.span(kind)
            word = match.group(kind)
            if kind == "name":
                if word.isascii() or word.isidentifier():
                    tokens.append(
                        Token("keyword" if word in KEYWORDS else "name", word, None, start, end)
                    )
                    position = end
                    continue
            elif kind == "op":
                tokens.append(Token("op", word, None, start, end))
                position = end
                continue
            elif kind == "integer":
                try:
                    value = int(word)
                except ValueError:  # more digits than int() reads: _scan_number reports it
                    pass
                else:
                    tokens.append(Token("number", word, value, start, end))
                    position = end
                    continue
            else:
                tokens.append(Token("string", word, word[1:-1], start, end))
                position = end
                continue
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        if position >= size:
            tokens.append(Token("eof", "", None, size, size))
            return tokens
        token = _scan(text, position, locator)
        tokens.append(token)
        position = token.end


def _scan(text: str, position: int, locator: Locator) -> Token:
    """The token at ``position`` (not a space), or the error it makes."""
    char = text[position]
    pair = text[position : position + 2]
    if char in "\"'":
        return _scan_string(text, position, locator)
    if "0" <= char <= "9" or (char == "." and "0" <= pair[1:] <= "9" and len(pair) == 2):
        return _scan_number(text, position, locator)
    if identifier := _IDENTIFIER.match(text, position):
        return _scan_word(text, identifier.group(), position, locator)
    if pair in _TWO_CHAR_OPS:
        return Token("op", pair, None, position, position + 2)
    if char in _ONE_CHAR_OPS:
        return Token("op", char, None, position, position + 1)
    shown = char if char.isprintable() else f"U+{ord(char):04X}"
    raise syntax_error(
        F_CHARACTER,
        f"unexpected character '{shown}'",
        locator,
        position,
        position + 1,
        _CHARACTER_HINTS.get(char, ""),
    )


def _scan_word(text: str, word: str, start: int, locator: Locator) -> Token:
    end = start + len(word)
    if end < len(text) and text[end] in "\"'" and word.lower() in _STRING_PREFIXES:
        raise syntax_error(
            F_UNSUPPORTED,
            f"string prefix '{word}' is not supported (no f-strings, raw or byte strings)",
            locator,
            start,
            end + 1,
            "write a plain string; join values with `+` and `str(…)`",
        )
    if not word.isidentifier():
        raise syntax_error(F_CHARACTER, f"'{word}' is not a valid name", locator, start, end)
    return Token("keyword" if word in KEYWORDS else "name", word, None, start, end)


def _scan_number(text: str, start: int, locator: Locator) -> Token:
    match = _NUMBER.match(text, start)
    end = match.end()  # type: ignore[union-attr]
    glued = _NUMBER_GLUE.match(text, end).end()  # type: ignore[union-attr]
    literal = text[start:end]
    if glued > end:
        bad = text[start:glued]
        prefixed = bad[:2].lower() in ("0x", "0o", "0b")
        hint = (
            "only decimal numbers are supported" if prefixed else "put an operator after a number"
        )
        raise syntax_error(F_NUMBER, f"invalid number '{bad}'", locator, start, glued, hint)
    is_float = any(c in literal for c in ".eE")
    digits = literal.replace("_", "")
    if not is_float and len(digits) > 1 and digits[0] == "0" and digits.strip("0"):
        raise syntax_error(
            F_NUMBER,
            f"invalid number '{literal}': leading zeros are not allowed",
            locator,
            start,
            end,
            f"write {int(digits)}",
        )
    try:
        value: int | float = float(literal) if is_float else int(literal)
    except ValueError:  # more digits than int() will read (sys.get_int_max_str_digits)
        shown = literal if len(literal) <= 20 else f"{literal[:17]}..."
        raise syntax_error(
            F_NUMBER,
            f"invalid number '{shown}': {len(digits)} digits is longer than flowc reads",
            locator,
            start,
            end,
            "keep numbers short; compute big values in an action",
        ) from None
    return Token("number", literal, value, start, end)


def _scan_string(text: str, start: int, locator: Locator) -> Token:
    quote = text[start]
    if text.startswith(quote * 3, start):
        raise syntax_error(
            F_STRING,
            "triple-quoted strings are not supported",
            locator,
            start,
            start + 3,
            "use one pair of quotes; write \\n for a line break",
        )
    plain = _PLAIN_CHARS[quote]
    parts: list[str] = []
    position = start + 1
    size = len(text)
    while True:
        if run := plain.match(text, position):
            parts.append(run.group())
            position = run.end()
        if position >= size or text[position] == "\n":
            raise syntax_error(
                F_STRING,
                "unterminated string",
                locator,
                start,
                position,
                f"close it with {quote}",
            )
        char = text[position]
        if char == quote:
            return Token("string", text[start : position + 1], "".join(parts), start, position + 1)
        char, length = _scan_escape(text, position, locator)
        parts.append(char)
        position += length


def _scan_escape(text: str, position: int, locator: Locator) -> tuple[str, int]:
    """The character an escape at ``position`` (a backslash) stands for, and its length."""
    letter = text[position + 1 : position + 2]
    if letter in _ESCAPES:
        return _ESCAPES[letter], 2
    if letter in ("u", "U"):
        width = 4 if letter == "u" else 8
        digits = text[position + 2 : position + 2 + width]
        if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            code_point = int(digits, 16)
            if code_point <= 0x10FFFF:
                return chr(code_point), 2 + width
        raise syntax_error(
            F_STRING,
            f"invalid escape '\\{letter}{digits}': expected {width} hex digits",
            locator,
            position,
            position + 2 + len(digits),
            f"write \\{letter}{'0' * (width - 3)}e9 for 'é'",
        )
    shown = "\\" + letter if letter and letter != "\n" else "\\ at the end of a line"
    raise syntax_error(
        F_STRING,
        f"unknown escape '{shown}' in string",
        locator,
        position,
        position + 2,
        "known escapes: \\n \\t \\r \\\\ \\\" \\' \\uXXXX \\UXXXXXXXX; write \\\\ for a backslash",
    )
