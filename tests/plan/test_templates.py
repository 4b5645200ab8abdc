from __future__ import annotations

import jinja2
import pytest

from harness.plan.templates import SecurityError, environment, render, unsafe_constructs

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


# -- every render is bounded: widths, sizes, range steps, output, wall time ----------------------
CTX = {"item": {"input": "q?\nline two", "required_facts": ["a"]}, "sources": [], "task": "t"}
NESTED = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
HUGE = [
    "{{ 'x'|center(999999999) }}",
    "{{ item.input|center(width=999999999) }}",
    "{{ '%999999999s'|format('x') }}",
    "{{ '%.999999999f'|format(1.5) }}",
    "{{ '%*s'|format(999999999, 'x') }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ '%(a)999999999s' % {'a': 'x'} }}",
    "{{ item.input|indent(999999999) }}",
    "{{ item.input|indent('x' * 999999) }}",
    "{{ item.input|wordwrap(999999999) }}",
    "{{ item.input|wordwrap(1, wrapstring='x' * 999999) }}",
    "{{ item.input.center(999999999) }}",
    "{{ item.input.ljust(999999999) }}",
    "{{ item.input.zfill(999999999) }}",
    "{{ item.input.expandtabs(999999999) }}",
    "{{ '{:999999999}'.format(item.input) }}",
    "{{ '{:{}}'.format(item.input, 999999999) }}",
    "{{ range(999999999)|length }}",
    NESTED,
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ 'x' * 1000 }}{% endfor %}{% endfor %}",
    "{{ ('x' * 900000) + ('y' * 900000) }}",
    "{{ ('x' * 900000) ~ ('y' * 900000) }}",
    "{% macro m(s) %}{{ m(s ~ s) }}{% endmacro %}{{ m('ab') }}",
    "{{ item.input|replace('', 'x' * 999999) }}",
    "{{ item.input.replace('', 'x' * 999999) }}",
    "{{ [1, 2]|slice(999999999)|list }}",
    "{{ [1, 2]|batch(999999999)|list }}",
]


@pytest.mark.parametrize("source", HUGE)
def test_huge_widths_sizes_and_loops_stop_with_a_clear_error(source):
    import time

    t0 = time.monotonic()
    with pytest.raises(SecurityError, match=r"a template|render may"):
        render(source, CTX)
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("source", [s for s in HUGE if "999999999" in s or s == NESTED])
def test_huge_constants_are_refused_at_plan_load(source):
    assert unsafe_constructs(source), source


def test_a_loop_without_range_or_output_stops_at_the_time_limit(monkeypatch):
    """Loops over a long value never call range and print nothing: the watchdog stops them."""
    import time

    from harness.plan import limits as template_limits

    monkeypatch.setattr(template_limits, "MAX_SECONDS", 0.5)
    loops = "{% for a in item.input %}{% for b in item.input %}{% for c in item.input %}"
    source = loops + "{% endfor %}{% endfor %}{% endfor %}done"
    t0 = time.monotonic()
    with pytest.raises(SecurityError, match=r"render may take at most 0.5 s"):
        render(source, {"item": {"input": "x" * 5000}})
    assert time.monotonic() - t0 < 5
    # the thread carries on normally afterwards: no interrupt is left pending
    time.sleep(0.3)
    assert render("{{ item.input }}", {"item": {"input": "ok"}}) == "ok"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'ab'|center(6) }}", "  ab  "),
        ("{{ '%5s|%-3d|%.2f'|format('a', 7, 1.234) }}", "    a|7  |1.23"),
        ("{{ '%(n)s' % {'n': 1} }}", "1"),
        ("{{ 'a\nb'|indent(2, true) }}", "  a\n  b"),
        ("{{ range(3)|list }} {{ range(3)|length }} {{ 2 in range(3) }}", "[0, 1, 2] 3 True"),
        ("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}x", "x"),
        ("{{ 'a' ~ 1 ~ none }}", "a1None"),
        ("{{ 'a' + 'b' }} {{ 1 + 2 }}", "ab 3"),
        ("{{ 'x'.ljust(3) }}|{{ 'aXb'|replace('X', '-') }}", "x  |a-b"),
        ("{% macro m(s) %}[{{ s }}]{% endmacro %}{{ m('a') }}", "[a]"),
    ],
)
def test_ordinary_uses_of_the_bounded_constructs_still_render(source, expected):
    assert render(source, CTX) == expected
    assert unsafe_constructs(source) == []


def test_a_prompt_past_a_bound_stops_the_run_naming_the_template(
    tmp_path, mini, loopback, monkeypatch
):
    """A bound the static check cannot see (a loop over the item's own text) stops the run with
    exit 2 naming the template and the item, before any request."""
    from harness.errors import RunError
    from harness.plan import limits as template_limits
    from harness.run.runner import RunOptions, run_plan
    from tests.conftest import model_candidate, write_plan

    monkeypatch.setattr(template_limits, "MAX_SECONDS", 0.3)
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    loops = "{% for a in item.input * 40 %}{% for b in item.input * 40 %}{% for c in item.input %}"
    (tmp_path / "prompt.j2").write_text(loops + "{% endfor %}{% endfor %}{% endfor %}Q")
    with pytest.raises(RunError, match=r"prompt templates \(prompt.j2\) failed on item .+ 0.3 s"):
        run_plan(plan, results_dir=tmp_path / "results", options=RunOptions(progress=False))
    assert srv.request_count == 0
