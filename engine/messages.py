"""Sentences the engine writes for people (errors, progress lines), translatable by the app.

The engine is pure torch and knows no language but English; `msg` gives a sentence as an
English str that also remembers its template and values, so that the app can show it in
the session's language (ui.i18n.tr) while logs, the CLI and the tests read plain English.

    raise ConfigError(msg("Train for at least {n} steps.", n=10))
"""

from __future__ import annotations


class Text(str):
    """An English sentence (the str itself) with the template and values it was made from."""

    template: str
    values: dict

    def __new__(cls, template: str, values: dict):
        self = super().__new__(cls, template.format(**values) if values else template)
        self.template, self.values = template, values
        return self

    def __reduce__(self):  # through pickle (a worker's error, the run cache) as itself
        return Text, (self.template, self.values)


def msg(template: str, /, **values) -> Text:
    """`template` with its {placeholders} filled from `values`: English, translatable."""
    return Text(template, values)
