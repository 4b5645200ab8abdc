from __future__ import annotations

import jinja2
import pytest

from harness.templates import SecurityError, environment, render, unsafe_constructs

ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "{{ item|attr('__class__')|attr('__mro__') }}",
    "{{ (item|attr('\\x5f\\x5fclass\\x5f\\x5f')) }}",
    "{{ '{0.__class__.__mro__}'.format(item) }}",
    "{{ '{0.__init__.__globals__}'.format(lipsum) }}",
    "{{ '{x.__class__}'.format_map({'x': item}) }}",
    "{{ item.__class__.__base__.__subclasses__() }}",
    "{{ item['__class__'] }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK') }}",
    "{% set x = item.values.__self__ %}{{ x }}",
    "{{ 'a' * 100000000 }}",
    "{{ [1] * 100000000 }}",
    "{{ 9 ** 99999999 }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_known_escapes_are_refused_at_render(source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises((SecurityError, jinja2.UndefinedError)):
        render(source, {"item": {"input": "q"}, "sources": [], "task": "faq_reply"})
    assert not (tmp_path / "MARK").exists()


@pytest.mark.parametrize(
    "source",
    [s for s in ESCAPES if "__" in s or "attr" in s or "format" in s or "self" in s],
)
def test_known_escapes_are_refused_statically(source):
    assert unsafe_constructs(source), source


@pytest.mark.parametrize(
    "source",
    [
        "Question: {{ item.input }}",
        "{% for s in sources %}{{ s.title }}: {{ s['text'] }}\n{% endfor %}",
        "{{ item.required_facts | join(', ') }} {{ sources[0].id if sources else '' }}",
        "{% if task == 'faq_reply' %}Reply{% endif %} {{ '%s' | format(item.input) }}",
    ],
)
def test_ordinary_prompts_render_and_pass_the_static_check(source):
    out = render(
        source,
        {
            "item": {"input": "q?", "required_facts": ["a", "b"]},
            "sources": [{"id": "s", "title": "T", "text": "x"}],
            "task": "faq_reply",
        },
    )
    assert out
    assert unsafe_constructs(source) == []


@pytest.mark.parametrize(
    "text",
    [
        "{{ 7 * 7 }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% raw %}x{% endraw %}",
    ],
)
def test_dataset_text_is_printed_literally_never_rendered(text):
    assert render("Q: {{ item.input }}", {"item": {"input": text}}) == f"Q: {text}"


def test_environment_is_sandboxed_and_strict():
    env = environment()
    assert env.sandboxed
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.append(1) }}").render(x=[])  # immutable: no list mutation
